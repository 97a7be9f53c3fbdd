"""What the machine can do, and the precision a run therefore uses.

Precision is always decided here, never left to library defaults: TRL's SFTConfig defaults to
bf16 even on CPUs that only emulate it (measured 18x slower on AVX2-only CPUs)."""

from __future__ import annotations

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


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@lru_cache(maxsize=1)
def detect() -> Hardware:
    import os

    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability(0)
        props = torch.cuda.get_device_properties(0)
        return Hardware("cuda", torch.cuda.get_device_name(0), (major, minor), torch.cuda.is_bf16_supported(),
                        False, os.cpu_count() or 1, round(props.total_memory / 2**30, 2))
    flags = _cpu_flags()
    # Native bf16 arithmetic needs AVX512-BF16 or AMX; without it torch emulates bf16 and is slower than fp32.
    native_bf16 = bool(flags & {"avx512_bf16", "amx_bf16"})
    return Hardware("cpu", platform.processor() or platform.machine(), None, False, native_bf16,
                    os.cpu_count() or 1, None)


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
                                       "this CPU has no native bf16 (no AVX512-BF16/AMX): torch would emulate it, ~18x "
                                       "slower; use precision=auto or precision=fp32")])
        return Precision("bf16", torch.bfloat16, False, True, tf32 if hw.device == "cuda" else None, "requested")
    if requested == "fp16":
        if hw.device != "cuda":
            raise ConfigError([Problem("precision.dtype", "fp16",
                                       "fp16 mixed precision needs a CUDA GPU; use precision=auto or precision=fp32 on CPU")])
        return Precision("fp16", torch.float16, True, False, tf32, "requested")
    raise ConfigError([Problem("precision.dtype", requested, "must be one of auto, fp32, fp16, bf16")])
