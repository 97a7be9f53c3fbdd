"""Model-side helpers for loralab.

``arch/`` ships the Hugging Face ``config.json`` of the supported base models so that
architecture-level code (target-module discovery, parameter counts, meta-device
instantiation) can be tested offline without downloading weights. See ``arch/README.md``
for where each file came from.
"""
