"""Sweeps: Optuna storage, the trial side of pruning, and multirun summaries."""
