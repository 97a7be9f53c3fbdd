"""Precision resolution on hand-built machines: the library never decides."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from loralab.errors import ConfigError
from loralab.hardware import Hardware, detect, native_bf16, resolve_precision

CPU = Hardware("cpu", "AVX2-only CPU", None, False, False, 2, None)
CPU_BF16 = Hardware("cpu", "Sapphire Rapids", None, False, True, 16, None)
A100 = Hardware("cuda", "NVIDIA A100-SXM4-80GB", (8, 0), True, False, 16, 79.2)
T4 = Hardware("cuda", "Tesla T4", (7, 5), False, False, 8, 14.6)
ALL = [CPU, CPU_BF16, A100, T4]


def test_auto_on_cpu_without_native_bf16_is_fp32():
    p = resolve_precision("auto", None, CPU)
    assert (p.name, p.torch_dtype, p.bf16, p.fp16, p.tf32) == ("fp32", torch.float32, False, False, None)


def test_auto_on_cpu_with_native_bf16_is_bf16():
    p = resolve_precision("auto", None, CPU_BF16)
    assert (p.name, p.torch_dtype, p.bf16, p.fp16, p.tf32) == ("bf16", torch.bfloat16, True, False, None)


def test_auto_on_cuda_with_bf16_is_bf16_with_tf32_on():
    p = resolve_precision("auto", None, A100)
    assert (p.name, p.torch_dtype, p.bf16, p.fp16, p.tf32) == ("bf16", torch.bfloat16, True, False, True)
    assert "A100" in p.reason


def test_auto_keeps_an_explicit_tf32_choice():
    assert resolve_precision("auto", False, A100).tf32 is False


def test_auto_on_cuda_without_bf16_is_fp16():
    p = resolve_precision("auto", None, T4)
    assert (p.name, p.torch_dtype, p.bf16, p.fp16) == ("fp16", torch.float16, False, True)


def test_bf16_forced_on_cpu_without_native_bf16_is_an_error():
    with pytest.raises(ConfigError) as err:
        resolve_precision("bf16", None, CPU)
    assert [p.field for p in err.value.problems] == ["precision.dtype"]
    assert "precision.dtype = 'bf16'" in str(err.value)


def test_bf16_forced_on_cpu_with_native_bf16_is_allowed():
    p = resolve_precision("bf16", True, CPU_BF16)
    assert p.bf16 and not p.fp16 and p.tf32 is None  # tf32 means nothing on a CPU


def test_bf16_forced_on_cuda_without_bf16_names_the_architecture():
    with pytest.raises(ConfigError) as err:
        resolve_precision("bf16", None, T4)
    assert [p.field for p in err.value.problems] == ["precision.dtype"]
    assert "sm_75" in str(err.value) and "Tesla T4" in str(err.value)


def test_bf16_on_cuda_with_bf16():
    p = resolve_precision("bf16", True, A100)
    assert (p.name, p.bf16, p.fp16, p.tf32) == ("bf16", True, False, True)


@pytest.mark.parametrize("hw", [CPU, CPU_BF16], ids=["cpu", "cpu-bf16"])
def test_fp16_on_cpu_is_an_error(hw):
    with pytest.raises(ConfigError) as err:
        resolve_precision("fp16", None, hw)
    assert [p.field for p in err.value.problems] == ["precision.dtype"]
    assert "precision.dtype = 'fp16'" in str(err.value)


@pytest.mark.parametrize("hw", [A100, T4], ids=["a100", "t4"])
def test_fp16_on_cuda(hw):
    p = resolve_precision("fp16", True, hw)
    assert (p.name, p.torch_dtype, p.fp16, p.bf16, p.tf32) == ("fp16", torch.float16, True, False, True)


@pytest.mark.parametrize("hw", ALL, ids=["cpu", "cpu-bf16", "a100", "t4"])
def test_fp32_is_always_allowed(hw):
    p = resolve_precision("fp32", True, hw)
    assert (p.name, p.torch_dtype, p.fp16, p.bf16) == ("fp32", torch.float32, False, False)
    assert p.tf32 == (True if hw.device == "cuda" else None)


def test_unknown_dtype_is_an_error():
    with pytest.raises(ConfigError, match="precision.dtype = 'int4'"):
        resolve_precision("int4", None, CPU)


def test_precision_to_dict_is_serialisable():
    d = resolve_precision("auto", None, A100).to_dict()
    assert d["name"] == "bf16" and d["torch_dtype"] == "bfloat16" and d["bf16"] is True


def test_detect_describes_this_machine():
    hw = detect()
    assert hw.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert hw.cpu_count >= 1
    # whatever the machine, auto resolves without error
    assert resolve_precision("auto", None, hw).name in {"fp32", "bf16", "fp16"}


@pytest.mark.parametrize("flags, aten, onednn, native", [
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX512", None, True),
    ({"avx2", "amx_bf16"}, "AVX512", "AVX512_CORE_AMX", True),
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX512", "AVX512_CORE_BF16", True),
    ({"avx2", "avx512f"}, "AVX512", None, False),                         # AVX-512 without bf16
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX2", None, False),            # ATEN_CPU_CAPABILITY=avx2
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX512", "AVX2", False),        # ONEDNN_MAX_CPU_ISA=AVX2
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX512", "AVX512_CORE", False),
    ({"avx2"}, "AVX2", None, False),
])
def test_native_bf16_needs_the_cpu_and_an_unlimited_torch(flags, aten, onednn, native):
    assert native_bf16(flags, aten, onednn) is native


def _in_subprocess(code: str, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_torch_limited_to_avx2_trains_in_fp32_and_the_record_says_so():
    """What an AVX2-only machine does, on any machine: torch limited by the environment (ATen read
    it at start, so a fresh process) resolves precision=auto to fp32, and the run record names the
    limit, so a figure measured this way is not mistaken for the unlimited CPU's."""
    code = ("import json; from loralab.hardware import detect, resolve_precision; "
            "from loralab.run_record import machine; hw = detect(); "
            "print(json.dumps({'native': hw.cpu_native_bf16, 'precision': resolve_precision('auto', None, hw).name, "
            "'machine': machine()}))")
    limited = _in_subprocess(code, ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2",
                             MKL_ENABLE_INSTRUCTIONS="AVX2")
    assert limited["native"] is False and limited["precision"] == "fp32"
    assert limited["machine"]["isa_limits"] == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                                "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    assert limited["machine"]["torch_cpu_capability"] == "AVX2"
    if detect().cpu_native_bf16:  # this CPU has native bf16: the limit is what turned it off
        assert limited["machine"]["avx512_bf16"] or limited["machine"]["amx_bf16"]
