"""Peak GPU memory of a composed run, from arithmetic on the shipped architecture (no model loads).

Where the bytes come from (GiB = 2**30 bytes, as torch and ``hardware.detect`` count):

- Base weights. NF4/FP4: 4 bits per linear weight, plus bitsandbytes' per-block scales
  (``quant_state.absmax``) for blocks of ``model.quantization.block_size`` (64): fp32, or with
  double quantisation one uint8 per block plus an fp32 scale per 256 blocks and a 256-entry fp32
  code per layer (measured on bitsandbytes 0.50.2). int8: 1 byte + an fp32 scale per output row.
  Embeddings, the output head (once when tied), norms and biases are not quantised, and
  ``prepare_model_for_kbit_training`` (modeling.build_model) then casts them to fp32 for training.
  Unquantised models keep every weight in the precision's dtype.
- The adapter: LoRA weights are fp32 (peft upcasts adapters), except on a quantised model, whose
  LoRA weights TRL's SFTTrainer casts to bf16 (the QLoRA recipe; DoRA's magnitude vectors stay fp32,
  a few MB counted as bf16). Plus the copies autocast makes of them in another compute dtype (kept
  for backward), gradients in the weights' dtype, and the optimizer's states (PyTorch's AdamW keeps
  its two in the weights' dtype too).
- Activations kept for backward, bytes per token per decoder layer (h hidden, q/kv the query and
  key/value widths, i intermediate, c the compute dtype's bytes, s the residual stream's: 4 under
  QLoRA, whose fp32 embeddings make the stream fp32):
      8h            the two RMSNorms' fp32 inputs
    + c(2q + 2kv)   q, k, v and the attention output (sdpa repeats k/v to q under a padding mask)
    + 3si           the gated MLP's gate, activation and up outputs (bitsandbytes casts a 4-bit
                    layer's output back to its input's dtype); 2si with Liger's SwiGLU kernel
                    (trainer.liger_kernels), which keeps gate and up and recomputes the activation
    + per adapted projection: c x in (its input's compute-dtype copy) + dropout's mask (1 byte on
      CUDA; CPU keeps an fp32 noise tensor) + c x r (lora_A's output)
  and nothing for the 4-bit base layers (MatMul4Bit keeps only the packed weight). Qwen2.5-1.5B,
  r=8 all-linear, bf16 on CUDA: 186,792 B (~122 x h). Where it comes from: the tensors autograd
  saves, counted with torch.autograd.graph.saved_tensors_hooks (and every allocation, with glibc's
  mallinfo2 after each dispatched op) on a CPU run of Qwen2.5-1.5B-shaped layers in NF4 with
  LoRA: 163,496 B/token/layer with the adapters in eval mode and no mask, which the formula gives
  exactly. Liger's SwiGLU (the H200 runs of bench/gpu.py) removes one fp32 tensor of the
  MLP's width. With gradient checkpointing a layer keeps only its input (s x h) and backward
  recomputes one layer at a time; a layer's backward adds ~3 x s x i of the MLP's gradients.
  The same CPU harness's peaks (Qwen2.5-1.5B-shaped, 1-8 layers, with and without checkpointing,
  150k and 512 vocabularies) are within 10 % of this arithmetic.
- The loss: without TRL's fused head the logits are batch x seq x vocab, upcast to fp32; at the
  backward of the log-softmax three fp32 copies are alive (its output, the incoming gradient
  and the result), and under autocast the fp32 head is cast to a compute-dtype copy kept for
  backward. TRL's fused head instead projects 4096-token x 32768-vocab tiles. An evaluation batch
  keeps no activations but may be larger (eval_batch_size): it counts where it exceeds training.
- CUDA context (0.5 GiB: what nvidia-smi shows for a process that has initialised CUDA, cuBLAS and
  bitsandbytes with lazy module loading) and the caching allocator's reserve above what it hands
  out (5 % with ``expandable_segments``, 10 % without): neither is in torch.cuda.max_memory_allocated.

Assumed: every row is max_length tokens long (the worst micro-batch; short rows need less) and one
device holds the whole run (DDP's case; ZeRO/FSDP sharding is not modelled). Checked against real
peaks (tests/test_estimate.py): a bare peft loop on an H100 (bench/results/gpu_qlora_h100.json) and
`loralab-train` itself on an H200 (bench/results/gpu_nvidia-h200.json).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field

from omegaconf import DictConfig

from ..hardware import Decision, Hardware, cuda_only_by_default, detect, resolve_precision
from .geometry import Geometry, geometry

GiB = 2**30
CUDA_CONTEXT_BYTES = GiB // 2
# A bf16-capable CUDA GPU of unknown size: what `loralab-estimate` plans for on a machine without one.
PLANNED_GPU = Hardware("cuda", "planned CUDA GPU", (8, 6), True, False, 1, None)
# TRL's fused LM head (trl.kernels.chunked_logprob): token and vocabulary tile sizes
FUSED_TOKENS, FUSED_VOCAB = 4096, 32768
# optimizer state bytes per trainable parameter; "paged" states live in CUDA managed memory
# (bitsandbytes), outside PyTorch's allocator, and page out to CPU RAM under pressure
OPTIMIZER_STATE = {
    "adamw_torch": (8, False), "adamw_torch_fused": (8, False), "adamw_hf": (8, False),
    "adamw_bnb_8bit": (2, False), "adamw_8bit": (2, False), "paged_adamw_8bit": (2, True),
    "paged_adamw_32bit": (8, True), "paged_adamw": (8, True), "sgd": (0, False),
}
# PyTorch's AdamW makes its states like the weights they update (bf16 LoRA weights: bf16 states)
STATES_IN_WEIGHT_DTYPE = ("adamw_torch", "adamw_torch_fused")
# 8-bit optimizer states carry one fp32 scale per 256-value block for each of Adam's two states
BNB_8BIT_BLOCK = 256
# gradient checkpointing stays off (no recomputation in the backward pass) when the run without it is predicted
# to take at most this share of the GPU's memory: the estimate's error where measured is within 10 %
CHECKPOINTING_HEADROOM = 0.9


@dataclass(frozen=True)
class Component:
    name: str
    bytes: int
    note: str = ""
    # counted by torch.cuda.max_memory_allocated (False: paged optimizer states, CUDA context, reserve)
    allocator: bool = True
    # "weights" | "adapter" | "activations" | "backward" | "overhead": the groups of summary_line
    kind: str = "weights"

    @property
    def gb(self) -> float:
        return self.bytes / GiB


@dataclass(frozen=True)
class MemoryEstimate:
    parts: tuple[Component, ...]
    setup: dict = field(default_factory=dict)
    weights_at_load_bytes: int = 0  # what from_pretrained allocates, before prepare_model_for_kbit_training

    @property
    def components(self) -> dict[str, float]:
        return {p.name: p.gb for p in self.parts}

    @property
    def total_gb(self) -> float:
        return sum(p.bytes for p in self.parts) / GiB

    @property
    def allocated_gb(self) -> float:
        """The prediction of torch.cuda.max_memory_allocated()."""
        return sum(p.bytes for p in self.parts if p.allocator) / GiB

    def fits(self, capacity_gb: float) -> bool:
        return self.total_gb <= capacity_gb

    def summary_line(self, capacity_gb: float | None = None) -> str:
        s = self.setup
        sums: dict[str, float] = {}
        for p in self.parts:
            sums[p.kind] = sums.get(p.kind, 0.0) + p.gb
        parts = ", ".join(f"{kind} {gb:.2f}" for kind, gb in sums.items() if gb > 0.005)
        weights = s["quantization"].upper() if s["quantization"] != "none" else s["precision"]
        where = "GPU" if s["cuda"] else "CPU RAM, tensors only"
        line = (f"memory estimate ({where}): {self.total_gb:.2f} GiB peak ({parts}) for {s['model']} "
                f"({weights} weights), LoRA r={s['r']} on {s['lora_modules']} modules, "
                f"{s['micro_batch_size']} x {s['max_length']} tokens, {s['precision']}, "
                f"gradient checkpointing {'on' if s['gradient_checkpointing'] else 'off'}")
        if capacity_gb:
            verdict = "fits" if self.fits(capacity_gb) else "does NOT fit"
            line += f"; {verdict} in {capacity_gb:.1f} GiB"
        return line


def target_hardware(hw: Hardware | None = None) -> Hardware:
    """The machine to plan for: the given one, this one when it has CUDA, else a CUDA GPU of unknown size."""
    if hw is not None:
        return hw
    here = detect()
    return here if here.device == "cuda" else PLANNED_GPU


def _weights(g: Geometry, q, load_bytes: int) -> tuple[list[Component], int]:
    """(components after prepare_model_for_kbit_training, bytes right after from_pretrained)."""
    unquantised = g.embedding_params + g.head_params
    small = g.other_params + g.linear_bias_params
    tied = " (tied: once)" if g.head_params == 0 else ""
    if q.mode == "none":
        parts = [Component("base linear weights", g.linear_params * load_bytes, f"{g.linear_params:,} params"),
                 Component("embeddings + lm_head", unquantised * load_bytes, f"{unquantised:,} params{tied}"),
                 Component("norms + biases", small * load_bytes)]
        return parts, sum(p.bytes for p in parts)
    if q.mode == "int8":
        packed, scales, scale_note = g.linear_params, 4 * g.linear_out_features, "fp32 per output row"
        label = "base linear weights (int8)"
    else:
        block = q.block_size
        blocks = [-(-n // block) for n in g.linear_numels]
        packed = (g.linear_params + 1) // 2
        if q.double_quant:
            scales = sum(b + 4 * -(-b // 256) + 256 * 4 + 4 + 64 for b in blocks)
            scale_note = f"uint8 per {block}-weight block + fp32 per 256 blocks (double quant)"
        else:
            scales = sum(4 * b + 64 for b in blocks)
            scale_note = f"fp32 per {block}-weight block"
        label = f"base linear weights ({q.mode.upper()}, 4-bit)"
    at_load = packed + scales + (unquantised + small) * load_bytes
    parts = [Component(label, packed, f"{g.linear_params:,} params in {len(g.linear_numels)} layers"),
             Component("quantisation scales", scales, scale_note),
             Component("embeddings + lm_head", unquantised * 4,
                       f"{unquantised:,} params{tied}, not quantised; fp32 after prepare_model_for_kbit_training"),
             Component("norms + biases", small * 4, "fp32 after prepare_model_for_kbit_training")]
    return parts, at_load


def _optimizer(g: Geometry, optim: str, weight_bytes: int) -> Component:
    if optim == "adafactor":
        return Component("optimizer states (adafactor)", 4 * g.adafactor_state, "factored second moments, fp32",
                         kind="adapter")
    per_param, paged = OPTIMIZER_STATE.get(optim, (8, False))
    if optim in STATES_IN_WEIGHT_DTYPE:
        per_param = 2 * weight_bytes
    note = {8: "2 x fp32 per param", 4: "2 x bf16 per param (the weights' dtype)",
            2: "2 x 8-bit per param + fp32 block scales"}.get(per_param, "")
    extra = 2 * 4 * -(-g.trainable // BNB_8BIT_BLOCK) if per_param == 2 else 0
    if optim not in OPTIMIZER_STATE:
        note = f"unknown optimizer {optim!r}: assumed AdamW's 2 x fp32"
    if paged:
        note += "; paged (CUDA managed memory, can spill to CPU)"
    return Component(f"optimizer states ({optim})", per_param * g.trainable + extra, note, allocator=not paged,
                     kind="adapter")


@dataclass(frozen=True)
class _Dtypes:
    load: int  # bytes per weight as from_pretrained loads them (the precision's dtype)
    residual: int  # the residual stream: fp32 under QLoRA (prepare_model_for_kbit_training upcasts embeddings)
    compute: int  # autocast's dtype (fp16/bf16), or the weights' own without autocast


def _activations(g: Geometry, cfg: DictConfig, d: _Dtypes, cuda: bool, liger: bool) -> int:
    """Bytes per token per layer kept for backward without checkpointing: the tensors autograd saves
    in a Llama/Qwen2 decoder layer (see the module docstring)."""
    s, c, L = d.residual, d.compute, g.layers
    attn = cfg.model.attn_implementation
    # sdpa with a padding mask repeats k/v to every head; flash-attn 2 works on the key/value heads
    kv_kept = g.kv_dim if attn == "flash_attention_2" else g.q_dim
    attention = c * (2 * g.q_dim + 2 * kv_kept) + 4 * g.heads  # q, k, v, output + fp32 log-sum-exp
    if attn == "eager":
        attention += g.heads * cfg.trainer.max_length * (4 + c)  # the fp32 softmax and its compute-dtype copy
    mlp_kept = 2 if liger else 3  # Liger's SwiGLU recomputes the activation in backward
    per_layer = 2 * (4 * g.hidden + 4) + attention + mlp_kept * s * g.intermediate  # 2 RMSNorms, gated MLP
    if cfg.model.quantization.mode == "int8":
        per_layer += s * g.linear_in_features // L  # LLM.int8's MatMul8bitLt keeps its input
    dropout = (1 if cuda else 4) if cfg.lora.dropout > 0 else 0  # CUDA: a bool mask; CPU: an fp32 noise tensor
    return per_layer + (g.lora_in_features * (c + dropout) + g.lora_rank_sum * c) // L


def _loss_bytes(g: Geometry, tokens: int, fused: bool, d: _Dtypes, quantised: bool, training: bool) -> tuple[int, str]:
    """Memory of the loss at its peak: the backward of the log-softmax when training, the
    cross-entropy's forward in evaluation (no gradients, no LM-head copy kept)."""
    c = d.compute
    if fused:
        tiles = min(tokens, FUSED_TOKENS) * min(g.vocab, FUSED_VOCAB) * c + FUSED_VOCAB * g.hidden * c
        note = f"TRL's fused LM head, {FUSED_TOKENS} x {FUSED_VOCAB} tiles"
        return tokens * g.hidden * (d.residual + 4) + tiles, note
    if not training:
        return tokens * g.vocab * (c + 8), f"logits {tokens:,} x {g.vocab:,}: {c}-byte, fp32 copy, fp32 log-softmax"
    head_copy = g.vocab * g.hidden * c if c < (4 if quantised else d.load) else 0
    note = f"logits {tokens:,} x {g.vocab:,} fp32, 3 copies at the log-softmax backward"
    return 12 * tokens * g.vocab + head_copy, note + (f" + {c}-byte LM-head copy" if head_copy else "")


def _liger(cfg: DictConfig, hw: Hardware) -> Decision:
    """Whether the run computes with Liger's kernels, as the recipe decides it (loralab.liger), on CUDA
    only: a forced ``true`` counts as on also where this machine (planning for another) lacks the
    package. Liger has kernels for every family the estimator knows (FAMILIES), so the family is not
    checked, which would import Liger, transformers and Triton."""
    from ..liger import liger_kernels

    if hw.device != "cuda":
        return Decision(False, f"Triton GPU kernels, and this is planned for {hw.device}")
    if cfg.trainer.liger_kernels is not None:
        return Decision(bool(cfg.trainer.liger_kernels), f"trainer.liger_kernels={cfg.trainer.liger_kernels}")
    return liger_kernels(cfg, hw)


def estimate(cfg: DictConfig, hw: Hardware | None = None) -> MemoryEstimate:
    """Predicted peak memory of training ``cfg`` on ``hw`` (default: target_hardware()), evaluation included."""
    hw = target_hardware(hw)
    g = geometry(cfg.model.get("arch_config"), cfg.lora)
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    q, t = cfg.model.quantization, cfg.trainer
    cuda, quantised = hw.device == "cuda", q.mode != "none"
    load = precision.torch_dtype.itemsize
    d = _Dtypes(load, 4 if quantised else load, 2 if (precision.bf16 or precision.fp16) else load)
    checkpointing = gradient_checkpointing(cfg, hw).on
    fused = cuda_only_by_default(t.fused_lm_head, hw)
    tokens, L, s = t.micro_batch_size * t.max_length, g.layers, d.residual

    parts, at_load = _weights(g, q, load)
    # TRL's SFTTrainer casts a quantised model's LoRA weights to bf16; peft keeps them fp32 otherwise
    adapter_dtype = "bf16" if quantised else "fp32"
    a = 2 if quantised else 4
    autocast = "bf16" if precision.bf16 else "fp16" if precision.fp16 else None
    copies = g.trainable * 2 if autocast not in (None, adapter_dtype) else 0
    parts.append(Component("LoRA weights", a * g.trainable + copies, f"{g.trainable:,} params {adapter_dtype}"
                           + (f" + {autocast} autocast copies" if copies else ""), kind="adapter"))
    parts.append(Component("LoRA gradients", a * g.trainable, adapter_dtype, kind="adapter"))
    parts.append(_optimizer(g, cfg.optimizer.optim, a))

    liger = _liger(cfg, hw)
    per_layer = _activations(g, cfg, d, cuda, liger.on)
    scratch = 3 * s * g.intermediate  # gradients of the MLP's intermediates, alive together in a layer's backward
    if checkpointing:
        kept, layer_peak = tokens * L * s * g.hidden, tokens * (per_layer + scratch)
        kept_note = f"layer inputs only (checkpointing): {L} layers x {tokens:,} tokens x {s * g.hidden:,} B"
    else:
        kept, layer_peak = tokens * L * per_layer, tokens * scratch
        kept_note = f"{L} layers x {tokens:,} tokens x {per_layer:,} B/token/layer"
    parts.append(Component("activations kept for backward", kept, kept_note, kind="activations"))
    loss, loss_note = _loss_bytes(g, tokens, fused, d, quantised, training=True)
    if loss >= layer_peak:
        parts.append(Component("logits at the loss (backward peak)", loss, loss_note, kind="backward"))
    else:
        what = "one layer recomputed + its gradients" if checkpointing else "MLP gradients"
        parts.append(Component(f"{what} (backward peak)", layer_peak,
                               f"more than the loss's {loss / GiB:.2f} GiB ({loss_note})", kind="backward"))
    if t.eval_strategy != "no":  # evaluation keeps no activations but its batch may be larger
        evaluation, eval_note = _loss_bytes(g, t.eval_batch_size * t.max_length, fused, d, quantised, training=False)
        extra = evaluation - kept - parts[-1].bytes
        if extra > 0:
            parts.append(Component("evaluation batch, beyond training", extra,
                                   f"eval_batch_size {t.eval_batch_size}: {eval_note}", kind="backward"))

    if cuda:
        allocated = sum(p.bytes for p in parts if p.allocator)
        from ..runtime.environment import allocator_settings

        share = 0.05 if "expandable_segments:True" in allocator_settings(cfg.get("env") or {}) else 0.10
        parts.append(Component("CUDA context", CUDA_CONTEXT_BYTES, "CUDA, cuBLAS and bitsandbytes kernels", False,
                               "overhead"))
        parts.append(Component("allocator reserve", int(share * allocated), f"{share:.0%} of allocated "
                               f"({'with' if share < 0.1 else 'without'} expandable_segments)", False, "overhead"))
    setup = {"model": cfg.model.name, "quantization": q.mode, "precision": precision.name, "device": hw.device_name,
             "cuda": cuda,
             "r": cfg.lora.r, "lora_modules": g.lora_modules, "trainable": g.trainable,
             "micro_batch_size": t.micro_batch_size, "max_length": t.max_length, "tokens": tokens,
             "gradient_checkpointing": checkpointing, "fused_lm_head": fused, "liger_kernels": liger.on,
             "liger_kernels_why": liger.reason,
             "optimizer": cfg.optimizer.optim, "adapter_dtype": adapter_dtype,
             "activation_bytes_per_token_per_layer": per_layer, "checkpoint_bytes_per_token_per_layer": s * g.hidden}
    return MemoryEstimate(tuple(parts), setup, at_load)


Checkpointing = Decision  # gradient checkpointing as decided for a run


def gradient_checkpointing(cfg: DictConfig, hw: Hardware) -> Checkpointing:
    """``trainer.gradient_checkpointing``: true or false as set. Null (auto): off on a CPU, where
    memory is rarely the limit and recomputation only costs time; on a GPU, off when the run
    without it is predicted to fit in CHECKPOINTING_HEADROOM of the GPU's memory, and on when it
    is not, or when nothing can be predicted (no shipped architecture, or the GPU's size unknown)."""
    setting = cfg.trainer.gradient_checkpointing
    if setting is not None:
        return Checkpointing(bool(setting), "trainer.gradient_checkpointing")
    if hw.device != "cuda":
        return Checkpointing(False, "auto: a CPU, where it only costs time")
    if not cfg.model.get("arch_config") or not hw.total_memory_gb:
        return Checkpointing(True, "auto: no memory estimate to decide by")
    without = copy.deepcopy(cfg)
    without.trainer.gradient_checkpointing = False
    need, room = estimate(without, hw).total_gb, CHECKPOINTING_HEADROOM * hw.total_memory_gb
    if need <= room:
        return Checkpointing(False, f"auto: the run is predicted to fit without it, {need:.1f} of "
                                    f"{hw.total_memory_gb:.1f} GiB")
    return Checkpointing(True, f"auto: without it the run is predicted to need {need:.1f} GiB, more than "
                               f"{CHECKPOINTING_HEADROOM:.0%} of {hw.total_memory_gb:.1f} GiB")


def fits(cfg: DictConfig, capacity_gb: float | None = None, hw: Hardware | None = None) -> bool:
    """Whether ``cfg`` is predicted to fit in ``capacity_gb`` (default: this GPU's memory). True when
    nothing can be predicted: no capacity known (no GPU) or no shipped architecture (model.arch_config)."""
    hw = target_hardware(hw)
    capacity_gb = capacity_gb if capacity_gb is not None else hw.total_memory_gb
    if capacity_gb is None or not cfg.model.get("arch_config"):
        return True
    return estimate(cfg, hw).fits(capacity_gb)


def summary_for_run(cfg: DictConfig, hw: Hardware) -> str:
    """The one line a run prints at its start: the estimate against ``hw``'s memory, or why there is none."""
    if not cfg.model.get("arch_config"):
        return "memory estimate: none (model.arch_config is not set: no shipped architecture to count from)"
    return estimate(cfg, hw).summary_line(hw.total_memory_gb)


def refuse_far_beyond_memory(cfg: DictConfig, hw: Hardware, factor: float = 2.0) -> None:
    """Stop before anything is written when the predicted peak is more than ``factor`` x this
    machine's memory (the GPU's, or RAM on a CPU): such a run can only crash or swap for hours.
    The estimate is within ~10 % where measured, so ``factor`` leaves room for its error;
    ``trainer.ignore_memory_estimate=true`` starts anyway."""
    if cfg.trainer.get("ignore_memory_estimate") or not cfg.model.get("arch_config"):
        return
    capacity = hw.total_memory_gb if hw.device == "cuda" else _system_memory_gb()
    if not capacity:
        return
    est = estimate(cfg, hw)
    if est.total_gb > factor * capacity:
        from ..errors import ConfigError, Problem

        t = cfg.trainer
        raise ConfigError([Problem("trainer.micro_batch_size x trainer.max_length",
                                   f"{t.micro_batch_size} x {t.max_length}",
                                   f"the predicted peak is {est.total_gb:,.1f} GiB, {est.total_gb / capacity:,.0f}x "
                                   f"this machine's {capacity:.1f} GiB ({'GPU' if hw.device == 'cuda' else 'RAM'}): "
                                   "lower them (`loralab-estimate <overrides>` shows what fits), or set "
                                   "trainer.ignore_memory_estimate=true to start anyway")])


def _system_memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GiB
    except (ValueError, OSError, AttributeError):
        return None
