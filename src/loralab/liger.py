"""``trainer.liger_kernels``: Liger's Triton kernels for the layers between the matmuls (RMSNorm,
the gated MLP's activation, RoPE: those Liger has for the model's family), patched in before LoRA
wraps the model. They save the activation memory those layers keep for the backward pass and a
share of a step's time on a GPU.

Liger patches the family's modules and functions for the whole process, not one model: a later
run of the same family in this process (a multirun sweep) computes with them too, and says so.

Liger's fused linear cross-entropy is not used: TRL's SFTTrainer already routes the loss through
its own fused, chunked LM head (the logits of a whole micro-batch are never materialised), and it
refuses Liger's, which would replace the model's forward. transformers' ``use_liger_kernel`` is
deprecated there in favour of kernels fetched from the Hub, which a machine without the hub cannot
load; Liger's own API works offline.

Nothing here imports torch or liger_kernel at module level, and the check before the model loads
only looks for the package: importing Liger imports transformers and Triton."""

from __future__ import annotations

import importlib.util
from omegaconf import DictConfig

from .errors import ConfigError, Problem
from .hardware import Decision, Hardware

INSTALL_HINT = "pip install 'loralab[gpu]' (or pip install liger-kernel)"
# the layers patched; the cross-entropy stays TRL's fused LM head (see the module docstring)
LAYERS = {"rms_norm": True, "swiglu": True, "rope": True, "cross_entropy": False,
          "fused_linear_cross_entropy": False}
PATCHED: set[str] = set()  # the model families this process has patched (for good: see the docstring)


LigerKernels = Decision  # whether the run computes with Liger's kernels


def supported_model_types() -> frozenset[str]:
    """The model families (config.model_type) Liger has kernels for; ImportError when liger-kernel
    is missing or cannot be imported (e.g. a Triton or transformers it does not work with)."""
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    return frozenset(MODEL_TYPE_TO_APPLY_LIGER_FN)


def _why_not(cfg: DictConfig, hw: Hardware, model_type: str | None) -> str | None:
    if hw.device != "cuda":
        return f"Liger's kernels are Triton GPU kernels, and this run is on {hw.device}"
    if cfg.model.trust_remote_code:
        return "the model runs its own code (model.trust_remote_code), whose layers Liger does not patch"
    if importlib.util.find_spec("liger_kernel") is None:
        return f"liger-kernel is not installed: {INSTALL_HINT}"
    if model_type is None:  # before the model loads: the family is checked once it has
        return None
    try:
        types = supported_model_types()
    except ImportError as exc:
        return f"liger-kernel does not import here ({exc}): reinstall it, {INSTALL_HINT}"
    if model_type not in types:
        return f"Liger has no kernels for model type '{model_type}'"
    return None


def liger_kernels(cfg: DictConfig, hw: Hardware, model_type: str | None = None) -> LigerKernels:
    """Whether the run computes with Liger's kernels, and why. ``model_type`` None: before the model
    is loaded, every condition but the family's (so that a forced ``true`` fails before the load).
    ConfigError when ``trainer.liger_kernels=true`` cannot be honoured."""
    if model_type in PATCHED:
        return LigerKernels(True, f"an earlier run in this process patched {model_type}'s layers, process-wide")
    requested = cfg.trainer.liger_kernels
    if requested is False:
        return LigerKernels(False, "trainer.liger_kernels=false")
    why_not = _why_not(cfg, hw, model_type)
    if why_not is None:
        return LigerKernels(True, "trainer.liger_kernels=true" if requested else
                            f"auto: CUDA, and Liger has kernels for {model_type or 'this model'}")
    if requested:
        raise ConfigError([Problem("trainer.liger_kernels", True, f"{why_not}. Set trainer.liger_kernels=null to "
                                   "use them only where they apply, or false")])
    return LigerKernels(False, f"auto: {why_not}")


def apply_liger_kernels(model) -> None:
    """Patch ``model`` (a transformers causal LM, before LoRA wraps it) and its family's layers."""
    import inspect

    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    family = model.config.model_type
    if family in PATCHED:
        return
    apply = MODEL_TYPE_TO_APPLY_LIGER_FN[family]
    accepted = inspect.signature(apply).parameters  # a family may lack a switch (no SwiGLU, say)
    apply(model=model, **{name: on for name, on in LAYERS.items() if name in accepted})
    PATCHED.add(family)
