"""Data: the bundled GEN NX tool-calling task, user-data loaders and the tokenization pipeline."""
