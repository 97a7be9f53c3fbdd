"""Data: where a run's rows come from (data.source: files, or a registered task), reading and
checking them, chat prompts, and the tokenization pipeline."""
