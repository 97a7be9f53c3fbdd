"""Apply the config's environment block before torch allocates anything or spawns threads."""

from __future__ import annotations

import logging
import os
import sys

from omegaconf import DictConfig

log = logging.getLogger(__name__)

# Variables that only have an effect (or are only accepted) on some platforms.
LINUX_ONLY = {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments"}


def apply_environment(env: DictConfig) -> dict[str, str]:
    """Set env variables (user-set values win) and the torch thread count; return what was applied."""
    applied: dict[str, str] = {}
    for key, value in (env.variables or {}).items():
        value = str(value)
        marker = LINUX_ONLY.get(key)
        if marker and marker in value and not sys.platform.startswith("linux"):
            log.info("not setting %s=%s: only supported on Linux", key, value)
            continue
        if key in os.environ:
            applied[key] = os.environ[key]
            continue
        os.environ[key] = value
        applied[key] = value
    if env.torch_num_threads:
        import torch

        torch.set_num_threads(int(env.torch_num_threads))
    return applied
