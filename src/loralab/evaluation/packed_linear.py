"""Linear layers run from weights packed once for oneDNN while a CPU model generates, and the
modules exactly as they were after.

``nn.Linear`` on a CPU hands its weight to the BLAS on every call, which lays it out again for its
kernel each time: at the few dozen rows of a decode step, that per-call work is a large share of
the multiplication. Packed once into oneDNN's blocked layout, chosen for the batch's row count,
the same weights multiply faster at those rows (bench/eval_speed.py times the whole evaluation
with and without).

The packing and the packed multiplication are the operators torch's own CPU compiler (inductor's
weight freezing) emits, ``torch.ops.mkldnn._reorder_linear_weight`` and ``_linear_pointwise``.
They are not a public API, so they are checked against ``F.linear`` before any module uses them;
where they are missing or disagree, nothing is packed and generation runs as before.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from .adapter_merge import lora_layers, room_for_a_copy, whole_fp32


@functools.cache
def packing_works() -> bool:
    """oneDNN's packed linear exists in this torch build and computes ``F.linear``'s result."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        generator = torch.Generator().manual_seed(0)
        x, weight, bias = (torch.randn(shape, generator=generator) for shape in ((4, 3, 64), (48, 64), (48,)))
        with torch.no_grad():
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, 4)
            out = torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")
        return out.shape == (4, 3, 48) and torch.allclose(out, torch.nn.functional.linear(x, weight, bias),
                                                          rtol=1e-4, atol=1e-4)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _adapter_matrices(model) -> set[int]:
    """The ids of LoRA's own small matrices (lora_A, lora_B, ...): too small for packing to pay, and
    fp32 beside bf16 base weights, where a rounding change in them reaches the bf16 sums."""
    layers = lora_layers(model)
    return {id(m) for layer in layers for m in layer.modules()} - {id(layer.get_base_layer()) for layer in layers}


def packable(model) -> list[torch.nn.Linear]:
    """The linear layers to pack, or none: off the CPU, without oneDNN, or when a copy of their
    weights would not fit beside the model. A layer is left as it is when its weight is not a whole
    fp32 tensor (bf16, quantized, sharded), when it is a LoRA adapter's own matrix, or when its
    forward is already replaced (accelerate's device hooks)."""
    adapters = _adapter_matrices(model)
    layers = [m for m in model.modules()
              if type(m) is torch.nn.Linear and id(m) not in adapters and "forward" not in vars(m)
              and whole_fp32(m.weight) and whole_fp32(m.bias) and m.weight.device.type == "cpu"]
    if not layers or not packing_works():
        return []
    return layers if room_for_a_copy([m.weight for m in layers]) else []


def _packed_forward(layer: torch.nn.Linear, packed: torch.Tensor):
    linear = type(layer).forward.__get__(layer)

    def forward(x: torch.Tensor) -> torch.Tensor:
        # the packed operator has no backward, and knows nothing of autocast or other input dtypes
        if torch.is_grad_enabled() or torch.is_autocast_enabled("cpu") or x.dtype != packed.dtype:
            return linear(x)
        return torch.ops.mkldnn._linear_pointwise(x, packed, layer.bias, "none", [], "")

    return forward


@contextlib.contextmanager
def packed_for_generation(model, rows: int):
    """Within the block, each linear layer of :func:`packable` multiplies by a copy of its weight
    packed for inputs of about ``rows`` rows (the generation's batch size); after it, the layers
    run their own forward on their own weights again. Yields how many layers were packed."""
    layers = packable(model)
    try:
        with torch.no_grad():
            for layer in layers:
                packed = torch.ops.mkldnn._reorder_linear_weight(layer.weight.detach(), max(1, rows))
                layer.forward = _packed_forward(layer, packed)
        yield len(layers)
    finally:
        for layer in layers:
            vars(layer).pop("forward", None)
