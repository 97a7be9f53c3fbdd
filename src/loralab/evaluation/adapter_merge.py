"""The LoRA adapter folded into fp32 base weights while the model generates, and the exact base
weights put back after.

A LoRA layer left unmerged runs its base matmul plus two small ones, a scaling and an add, for each
targeted module of each layer on every forward pass; on a CPU, where decoding runs a few rows per
pass, they weigh on every step. Folding the adapter in removes them.

Only fp32 weights are merged: there the sum W + BA keeps the adapter to within float rounding. In
bf16 or fp16 an update below a few thousandths of its weight rounds away, and the merged model
answers differently from the one trained, so there the adapter stays beside the weights.
``unmerge`` alone would subtract the adapter again and leave the base weights a rounding step away
from where they were, so they are copied first and restored bit for bit: the base model's answers,
training after an in-training evaluation and anything else that uses the model afterwards see the
very weights they saw before.
"""

from __future__ import annotations

import contextlib
import os

import torch


def lora_layers(model) -> list:
    from peft.tuners.lora import LoraLayer

    return [m for m in model.modules() if isinstance(m, LoraLayer)]


def whole_fp32(tensor: torch.Tensor | None) -> bool:
    """A whole fp32 weight in this process: not bf16/fp16 (see the module's docstring), not 4/8-bit
    (bitsandbytes stores integers), not a ZeRO-3 partition (empty here) or an FSDP shard (a DTensor
    subclass)."""
    return tensor is None or (type(tensor.data) is torch.Tensor and tensor.dtype == torch.float32
                              and tensor.numel() > 0)


def _tied(model, weights: list) -> bool:
    """Whether a weight is shared with another module (an LM head tied to the embeddings): merging
    into it would change the other module too, which the adapter does not."""
    uses: dict[int, int] = {}
    for _, p in model.named_parameters(remove_duplicate=False):
        uses[id(p)] = uses.get(id(p), 0) + 1
    return any(uses.get(id(w), 0) > 1 for w in weights)


def _free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu":
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return 0  # another accelerator: no cheap way to know, so no copy is risked


def room_for_a_copy(tensors: list[torch.Tensor]) -> bool:
    """Whether a copy of ``tensors`` fits on their device with as much again left for the generation."""
    copy_bytes = sum(t.numel() * t.element_size() for t in tensors)
    return copy_bytes * 2 <= _free_bytes(tensors[0].device)


def mergeable(model) -> list:
    """The LoRA layers to fold in, or none when any of them can't be (disabled adapters, as for the
    base model's answers; already merged; weights not in fp32, quantized or sharded) or when a copy
    of their base weights would not fit beside the model on its device."""
    layers = lora_layers(model)
    if not layers:
        return []
    for layer in layers:
        base = layer.get_base_layer()
        if (layer.disable_adapters or layer.merged or not layer.active_adapters
                or not whole_fp32(getattr(base, "weight", None)) or not whole_fp32(getattr(base, "bias", None))):
            return []
    weights = [p for layer in layers for p in (layer.get_base_layer().weight, layer.get_base_layer().bias)
               if p is not None]
    if _tied(model, weights):
        return []
    return layers if room_for_a_copy(weights) else []


@contextlib.contextmanager
def merged_for_generation(model):
    """Within the block, each LoRA layer's adapter is merged into its base weights (see
    :func:`mergeable` for when it is not); after it, the base weights and biases are the originals."""
    layers = mergeable(model)
    # Outside inference mode even when called in it: a weight restored from an inference tensor could
    # no longer be saved for backward, and training goes on after an in-training evaluation.
    with torch.inference_mode(False), torch.no_grad():
        saved = []
        for layer in layers:
            base = layer.get_base_layer()
            saved.append((base, base.weight.detach().clone(),
                          None if base.bias is None else base.bias.detach().clone()))
    try:
        with torch.inference_mode(False), torch.no_grad():
            for layer in layers:
                layer.merge()
        yield bool(layers)
    finally:
        with torch.inference_mode(False), torch.no_grad():
            for layer in layers:
                if layer.merged:
                    layer.unmerge()  # peft's bookkeeping; the subtraction's rounding is undone below
            for base, weight, bias in saved:
                base.weight.data = weight
                if bias is not None:
                    base.bias.data = bias
