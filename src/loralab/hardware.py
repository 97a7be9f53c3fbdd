"""What the machine can do, and the precision a run therefore uses.

Precision is always decided here, never left to library defaults: TRL's SFTConfig defaults to
bf16 even on CPUs that only emulate it (measured 18x slower on AVX2-only CPUs)."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .errors import ConfigError, Problem


@dataclass(frozen=True)
class Hardware:
    device: str  # "cuda" | "cpu"
    device_name: str
    cuda_capability: tuple[int, int] | None
    cuda_bf16: bool
    cpu_native_bf16: bool
    cpu_count: int
    total_memory_gb: float | None  # of the accelerator, when there is one

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """An auto switch as decided for this run, and why: the start-of-run summary and the manifest
    show both."""

    on: bool
    reason: str

    def describe(self) -> str:
        return f"{'on' if self.on else 'off'} ({self.reason})"


@dataclass(frozen=True)
class Precision:
    """The resolved precision: model weights dtype and the trainer's autocast flags."""

    name: str  # "fp32" | "fp16" | "bf16"
    torch_dtype: torch.dtype
    fp16: bool
    bf16: bool
    tf32: bool | None
    reason: str

    def to_dict(self) -> dict:
        return {"name": self.name, "torch_dtype": str(self.torch_dtype).removeprefix("torch."),
                "fp16": self.fp16, "bf16": self.bf16, "tf32": self.tf32, "reason": self.reason}


def cpu_model_and_flags() -> tuple[str | None, set[str]]:
    """The CPU's model name and feature flags, from /proc/cpuinfo (None and none elsewhere)."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model is None:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


# Environment variables that make torch use less of the CPU than it has: ATen's kernels, oneDNN
# (bf16 matmuls) and MKL (fp32 BLAS). Setting all three to AVX2 makes an AVX512-BF16 machine
# compute as an AVX2-only one does, e.g. to measure what such a machine's users will see.
ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def isa_limits() -> dict[str, str]:
    """The ISA limits set in this process's environment (see ISA_LIMITS)."""
    return {name: os.environ[name] for name in ISA_LIMITS if os.environ.get(name)}


def native_bf16(flags: set[str], aten_capability: str, onednn_max_isa: str | None) -> bool:
    """Whether bf16 arithmetic runs natively: the CPU has AVX512-BF16 or AMX, ATen's kernels are its
    AVX-512 ones (``torch.backends.cpu.get_cpu_capability()``) and oneDNN is not limited below
    bf16. Otherwise torch emulates bf16, slower than fp32."""
    onednn = (onednn_max_isa or "ALL").upper()
    return (bool(flags & {"avx512_bf16", "amx_bf16"}) and aten_capability.upper().startswith("AVX512")
            and (onednn in ("ALL", "DEFAULT") or any(isa in onednn for isa in ("BF16", "AMX", "AVX10"))))


@lru_cache(maxsize=1)
def detect() -> Hardware:
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability(0)
        props = torch.cuda.get_device_properties(0)
        return Hardware("cuda", torch.cuda.get_device_name(0), (major, minor), torch.cuda.is_bf16_supported(),
                        False, os.cpu_count() or 1, round(props.total_memory / 2**30, 2))
    _, flags = cpu_model_and_flags()
    return Hardware("cpu", platform.processor() or platform.machine(), None, False,
                    native_bf16(flags, torch.backends.cpu.get_cpu_capability(), os.environ.get("ONEDNN_MAX_CPU_ISA")),
                    os.cpu_count() or 1, None)


def attention_implementation(requested: str, hw: Hardware) -> tuple[str, str | None]:
    """The attention a model is built with, and why it is not the one requested (None when it is):
    flash_attention_2 needs CUDA and the flash-attn package; sdpa replaces it otherwise."""
    if requested != "flash_attention_2":
        return requested, None
    if hw.device != "cuda":
        return "sdpa", "flash_attention_2 needs CUDA: using sdpa"
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        return "sdpa", "flash-attn is not installed: using sdpa instead of flash_attention_2 (pip install flash-attn)"
    return requested, None


def cuda_only_by_default(setting: bool | None, hw: Hardware) -> bool:
    """An auto/on/off switch: null (auto) means on for CUDA, off on CPU (where it only costs time);
    used for TRL's fused LM head, the OOM ladder and pinned memory."""
    return hw.device == "cuda" if setting is None else bool(setting)


def resolve_precision(requested: str, tf32: bool | None, hw: Hardware) -> Precision:
    """Map the precision group's dtype (auto/fp32/fp16/bf16) onto what this hardware supports."""
    if requested == "auto":
        if hw.device == "cuda":
            if hw.cuda_bf16:
                return Precision("bf16", torch.bfloat16, False, True, tf32 if tf32 is not None else True,
                                 f"auto: {hw.device_name} supports bf16")
            return Precision("fp16", torch.float16, True, False, tf32, f"auto: {hw.device_name} lacks bf16")
        if hw.cpu_native_bf16:
            return Precision("bf16", torch.bfloat16, False, True, None, "auto: CPU has native bf16 (AVX512-BF16/AMX)")
        return Precision("fp32", torch.float32, False, False, None, "auto: CPU without native bf16")
    if requested == "fp32":
        return Precision("fp32", torch.float32, False, False, tf32 if hw.device == "cuda" else None, "requested")
    if requested == "bf16":
        if hw.device == "cuda" and not hw.cuda_bf16:
            raise ConfigError([Problem("precision.dtype", "bf16",
                                       f"{hw.device_name} (sm_{hw.cuda_capability[0]}{hw.cuda_capability[1]}) has no bf16; "
                                       "use precision=fp16-3060 or precision=auto")])
        if hw.device == "cpu" and not hw.cpu_native_bf16:
            raise ConfigError([Problem("precision.dtype", "bf16",
                                       "this CPU has no native bf16 (no AVX512-BF16/AMX, or torch limited below it by "
                                       f"{'/'.join(ISA_LIMITS[:2])}): torch would emulate it, ~18x "
                                       "slower; use precision=auto or precision=fp32")])
        return Precision("bf16", torch.bfloat16, False, True, tf32 if hw.device == "cuda" else None, "requested")
    if requested == "fp16":
        if hw.device != "cuda":
            raise ConfigError([Problem("precision.dtype", "fp16",
                                       "fp16 mixed precision needs a CUDA GPU; use precision=auto or precision=fp32 on CPU")])
        return Precision("fp16", torch.float16, True, False, tf32, "requested")
    raise ConfigError([Problem("precision.dtype", requested, "must be one of auto, fp32, fp16, bf16")])
