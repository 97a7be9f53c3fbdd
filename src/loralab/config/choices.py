"""The allowed values of the schema's enumerated fields, each listed once. OmegaConf enforces them
when a config is composed: a value outside the list fails there, naming the field and the list.

Each is a ``StrEnum``, so a member is the string it stands for: code compares it with ``==`` and
``in`` against plain strings, and f-strings, JSON and interpolations see the value. OmegaConf looks
members up by name, so every name is its value (which is why they are built from the values)."""

from __future__ import annotations

from enum import StrEnum


def _choices(name: str, *values: str) -> type[StrEnum]:
    return StrEnum(name, [(v, v) for v in values], module=__name__)


# model
ModelSource = _choices("ModelSource", "embedded", "hub")
ModelInit = _choices("ModelInit", "pretrained", "random")
AttnImplementation = _choices("AttnImplementation", "eager", "sdpa", "flash_attention_2")
ToolCallFormat = _choices("ToolCallFormat", "hermes", "llama-json")
QuantMode = _choices("QuantMode", "none", "nf4", "fp4", "int8")
ComputeDtype = _choices("ComputeDtype", "auto", "float16", "bfloat16", "float32")

# lora, precision, optimizer
LoraBias = _choices("LoraBias", "none", "all", "lora_only")
Dtype = _choices("Dtype", "auto", "fp32", "fp16", "bf16")
Optim = _choices("Optim", "adamw_torch", "adamw_torch_fused", "adamw_bnb_8bit", "paged_adamw_8bit",
                 "paged_adamw_32bit", "adafactor")
Scheduler = _choices("Scheduler", "cosine", "linear", "constant", "constant_with_warmup", "cosine_with_min_lr")

# data
DataSplit = _choices("DataSplit", "files", "ratios")
TemplateFormat = _choices("TemplateFormat", "text", "chat")
ToolsInPrompt = _choices("ToolsInPrompt", "none", "compact", "full")

# trainer
LrScaling = _choices("LrScaling", "none", "linear", "sqrt")
Strategy = _choices("Strategy", "steps", "epoch", "no")

# distributed
DistributedStrategy = _choices("DistributedStrategy", "none", "ddp", "deepspeed", "fsdp")
Backend = _choices("Backend", "nccl", "gloo", "mpi", "ccl")
Offload = _choices("Offload", "none", "cpu")


def values(choices: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in choices)
