"""What the estimator needs to know about a model and its adapter, from the shipped architecture
config (loralab/models/arch/<name>.json) alone: no transformers, no peft, no weights, offline.

Pure arithmetic on purpose: importing transformers and peft to count on the meta device costs
more time (5-10 s on 2 cores) than a sweep can spend per trial. The numbers are the ones the
meta-device count gives: tests/models/test_arch_counts.py checks peft's counts (modeling.apply_lora
on the meta device) against the same r x (in + out) per adapted projection for every shipped
architecture and LoRA option, and tests/test_estimate.py checks these totals against it, against
models/arch/README.md and against the trainable counts peft reported on the H100."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from omegaconf import DictConfig

from ..config.schema import ALL_LINEAR
from ..errors import ConfigError, Problem

# Decoder layouts this arithmetic knows: the projections of a Llama-style layer.
FAMILIES = ("llama", "qwen2", "mistral")
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Geometry:
    layers: int
    hidden: int
    q_dim: int  # attention heads x head dim
    kv_dim: int  # key/value heads x head dim
    heads: int
    intermediate: int
    vocab: int
    # the linear layers bitsandbytes quantises: every projection of every layer (not the output head)
    linear_numels: tuple[int, ...]
    linear_in_features: int  # summed over those layers (LLM.int8 keeps each input for backward)
    linear_out_features: int  # summed (LLM.int8 keeps an fp32 scale per output row)
    linear_bias_params: int
    embedding_params: int  # input embedding; the output head too when tied (counted once)
    head_params: int  # untied output head; 0 when tied
    other_params: int  # the RMSNorms
    # the adapter, as peft builds it
    trainable: int
    lora_modules: int
    lora_in_features: int  # summed over the adapted layers: each one keeps its input for backward
    lora_rank_sum: int  # r summed over the adapted layers: lora_A's output, kept for lora_B
    adafactor_state: int  # elements of Adafactor's factored second moments (rows + columns per matrix)

    @property
    def linear_params(self) -> int:
        return sum(self.linear_numels)

    @property
    def total_params(self) -> int:
        return (self.linear_params + self.linear_bias_params + self.embedding_params + self.head_params
                + self.other_params)


def arch_json(name: str | None) -> dict:
    arch_dir = resources.files("loralab.models") / "arch"
    shipped = sorted(p.name.removesuffix(".json") for p in arch_dir.iterdir() if p.name.endswith(".json"))
    if not name or not (arch_dir / f"{name}.json").is_file():
        raise ConfigError([Problem("model.arch_config", name, "the memory estimate counts from a shipped architecture "
                                   f"config: one of {shipped} (add the model's hub config.json there for a new one)")])
    return json.loads((arch_dir / f"{name}.json").read_text(encoding="utf-8"))


def projection_shapes(c: dict) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of each projection of one decoder layer."""
    h, heads = c["hidden_size"], c["num_attention_heads"]
    head_dim = c.get("head_dim") or h // heads
    q, kv, i = heads * head_dim, c.get("num_key_value_heads", heads) * head_dim, c["intermediate_size"]
    return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}


def _biased(c: dict) -> set[str]:
    if c["model_type"] == "qwen2":  # Qwen2's attention has q/k/v biases, whatever the config says
        return {"q_proj", "k_proj", "v_proj"}
    return ({"q_proj", "k_proj", "v_proj", "o_proj"} if c.get("attention_bias") else set()) | (
        {"gate_proj", "up_proj", "down_proj"} if c.get("mlp_bias") else set())


def geometry(arch_config: str | None, lora: DictConfig) -> Geometry:
    c = arch_json(arch_config)
    if c.get("model_type") not in FAMILIES:
        raise ConfigError([Problem("model.arch_config", arch_config, f"model_type {c.get('model_type')!r}: the "
                                   f"estimator knows the {'/'.join(FAMILIES)} decoder layout only")])
    shapes, biased = projection_shapes(c), _biased(c)
    L, h, V = c["num_hidden_layers"], c["hidden_size"], c["vocab_size"]
    tied = bool(c.get("tie_word_embeddings", False))
    targets = set(PROJECTIONS) if list(lora.target_modules) == [ALL_LINEAR] else set(lora.target_modules) & set(shapes)
    adapted = [shapes[name] for name in PROJECTIONS if name in targets]
    r = lora.r
    per_layer = sum(r * (i + o) + (o if lora.use_dora else 0) for i, o in adapted)  # DoRA: a magnitude per output
    bias = {"none": set(), "all": biased, "lora_only": biased & targets}[lora.bias]
    full_copies = {"lm_head": V * h, "embed_tokens": V * h}  # modules_to_save: trained (and kept) in full
    # lora.top_layers adapts the top layers only (activations are still estimated for all: an upper
    # bound); bias="all" trains every layer's biases, "lora_only" the adapted layers' ones
    A = min(lora.get("top_layers") or L, L)
    B = L if lora.bias == "all" else A
    trainable = (A * per_layer + B * sum(shapes[name][1] for name in bias)
                 + sum(full_copies.get(name, 0) for name in lora.modules_to_save))
    # Adafactor keeps rows + columns for a matrix, the whole of a vector
    factored = (A * sum((r + i) + (o + r) + (o if lora.use_dora else 0) for i, o in adapted)
                + B * sum(shapes[name][1] for name in bias)
                + sum(V + h for name in lora.modules_to_save if name in full_copies))
    return Geometry(
        layers=L, hidden=h, q_dim=shapes["q_proj"][1], kv_dim=shapes["k_proj"][1], heads=c["num_attention_heads"],
        intermediate=c["intermediate_size"], vocab=V,
        linear_numels=tuple(i * o for _ in range(L) for i, o in shapes.values()),
        linear_in_features=L * sum(i for i, _ in shapes.values()),
        linear_out_features=L * sum(o for _, o in shapes.values()),
        linear_bias_params=L * sum(shapes[name][1] for name in biased),
        embedding_params=V * h, head_params=0 if tied else V * h, other_params=(2 * L + 1) * h,
        trainable=trainable, lora_modules=L * len(adapted), lora_in_features=L * sum(i for i, _ in adapted),
        lora_rank_sum=L * r * len(adapted), adafactor_state=factored,
    )
