"""Apply the config's environment block before torch allocates anything or spawns threads."""

from __future__ import annotations

import logging
import os
import sys

from omegaconf import DictConfig

log = logging.getLogger(__name__)

# Variables that only have an effect (or are only accepted) on some platforms.
LINUX_ONLY = {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments"}
# The CUDA caching allocator's settings: PyTorch reads them once, by the time CUDA starts, and the
# run has imported torch and asked for the device before its config is known.
ALLOCATOR_SETTINGS = ("PYTORCH_ALLOC_CONF", "PYTORCH_CUDA_ALLOC_CONF")


def _users_name(key: str, environ) -> str | None:
    """The name under which the user set ``key`` in ``environ`` (the allocator's settings go by two
    names: either counts), or None."""
    names = ALLOCATOR_SETTINGS if key in ALLOCATOR_SETTINGS else (key,)
    return next((name for name in names if name in environ), None)


def allocator_settings(env: DictConfig) -> str:
    """The CUDA allocator settings a run gets: the user's, under either name, else the config's."""
    given = _users_name(ALLOCATOR_SETTINGS[0], os.environ)
    if given:
        return os.environ[given]
    variables = env.get("variables") or {}
    return str(next((variables[name] for name in ALLOCATOR_SETTINGS if name in variables), ""))


def apply_environment(env: DictConfig) -> dict[str, str]:
    """Set env variables (user-set values win) and the torch thread count; return what was applied."""
    applied: dict[str, str] = {}
    users = dict(os.environ)
    for key, value in (env.variables or {}).items():
        value = str(value)
        marker = LINUX_ONLY.get(key)
        if marker and marker in value and not sys.platform.startswith("linux"):
            log.info("not setting %s=%s: only supported on Linux", key, value)
            continue
        given = _users_name(key, users)
        if given:
            applied[given] = users[given]
            continue
        os.environ[key] = value
        applied[key] = value
        if key in ALLOCATOR_SETTINGS and not _hand_to_torch(key, value):
            applied[key] = f"{value} (child processes only: this process's torch refused it)"
    if env.torch_num_threads:
        import torch

        torch.set_num_threads(int(env.torch_num_threads))
    return applied


def _hand_to_torch(key: str, settings: str) -> bool:
    """Give the allocator settings to a torch already loaded with CUDA (it would not read them from
    the environment again); a later torch import or a child process reads the variable itself.
    False when torch refused them."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return True
    setter = getattr(torch._C, "_accelerator_setAllocatorSettings", None)
    if setter is None:  # an older torch, where this was the only call
        setter = torch.cuda.memory._set_allocator_settings
    try:
        setter(settings)
    except (RuntimeError, ValueError) as exc:  # a setting this torch refuses: the run goes on without it
        log.warning("torch did not take the CUDA allocator settings env.variables.%s=%r (%s): this process "
                    "runs without them, child processes get them. Set a value this torch accepts there, or "
                    "export %s before starting", key, settings, exc, key)
        return False
    return True
