"""``trainer.liger_kernels``: where Liger's kernels apply, and a clear error where a forced ``true``
cannot. The kernels are Triton GPU kernels, so what they compute is measured on a GPU
(bench/gpu.py, the ``trainer.liger_kernels=false`` row); here, the decision and its wiring."""

from __future__ import annotations

import pytest

import loralab
from loralab import liger
from loralab.errors import ConfigError
from loralab.hardware import Hardware

from cli_helpers import run_cli, tiny_overrides

CPU = Hardware("cpu", "test CPU", None, False, False, 2, None)
H200 = Hardware("cuda", "NVIDIA H200", (9, 0), True, False, 16, 139.8)


def _cfg(*overrides: str):
    return loralab.compose(list(overrides))


@pytest.fixture
def installed(monkeypatch):
    """liger-kernel as if installed, with kernels for these families (it needs Triton and a GPU)."""
    real = liger.importlib.util.find_spec
    monkeypatch.setattr(liger.importlib.util, "find_spec",
                        lambda name, *a: object() if name == "liger_kernel" else real(name, *a))
    monkeypatch.setattr(liger, "supported_model_types", lambda: frozenset({"llama", "qwen2"}))


def test_auto_is_off_on_a_cpu_and_says_why():
    decision = liger.liger_kernels(_cfg(), CPU, "llama")
    assert not decision.on and decision.reason == "auto: Liger's kernels are Triton GPU kernels, and this run is on cpu"


def test_forcing_them_on_a_cpu_names_the_field_and_the_way_out():
    with pytest.raises(ConfigError, match=r"trainer.liger_kernels = True: Liger's kernels are Triton GPU kernels.*"
                                          r"trainer.liger_kernels=null"):
        liger.liger_kernels(_cfg("trainer.liger_kernels=true"), CPU)


def test_not_installed_on_cuda_is_off_by_default_and_an_error_when_forced(monkeypatch):
    real = liger.importlib.util.find_spec
    monkeypatch.setattr(liger.importlib.util, "find_spec",
                        lambda name, *a: None if name == "liger_kernel" else real(name, *a))
    decision = liger.liger_kernels(_cfg(), H200, "qwen2")
    assert not decision.on and "pip install 'loralab[gpu]'" in decision.reason
    with pytest.raises(ConfigError, match=r"liger-kernel is not installed: pip install 'loralab\[gpu\]'"):
        liger.liger_kernels(_cfg("trainer.liger_kernels=true"), H200)


def test_on_cuda_where_installed_for_the_families_it_covers(installed):
    decision = liger.liger_kernels(_cfg(), H200, "qwen2")
    assert decision.on and decision.reason == "auto: CUDA, and Liger has kernels for qwen2"
    other = liger.liger_kernels(_cfg(), H200, "gpt_neox")
    assert not other.on and other.reason == "auto: Liger has no kernels for model type 'gpt_neox'"
    with pytest.raises(ConfigError, match="no kernels for model type 'gpt_neox'"):
        liger.liger_kernels(_cfg("trainer.liger_kernels=true"), H200, "gpt_neox")
    # before the model is loaded its family is unknown: every other condition is checked
    assert liger.liger_kernels(_cfg("trainer.liger_kernels=true"), H200).on


def test_false_wins_and_remote_code_keeps_them_off(installed):
    assert liger.liger_kernels(_cfg("trainer.liger_kernels=false"), H200, "llama").describe() == \
        "off (trainer.liger_kernels=false)"
    remote = liger.liger_kernels(_cfg("model.trust_remote_code=true"), H200, "llama")
    assert not remote.on and "trust_remote_code" in remote.reason


def test_the_lm_head_stays_trls_fused_one():
    # TRL's SFTTrainer refuses Liger's fused linear cross-entropy (it replaces the model's forward)
    assert liger.LAYERS["fused_linear_cross_entropy"] is False and liger.LAYERS["cross_entropy"] is False
    assert all(liger.LAYERS[name] for name in ("rms_norm", "swiglu", "rope"))


def test_a_forced_true_on_cpu_stops_before_anything_is_written(tiny_model_dir, tmp_path):
    """Integration (the shared tiny model): the run exits with the message before it writes a status or
    manifest (the decision a default run records: tests/e2e/test_train_tiny.py)."""
    forced = tmp_path / "forced"
    proc = run_cli([*tiny_overrides(tiny_model_dir), "trainer.liger_kernels=true", f"hydra.run.dir={forced}"])
    assert proc.returncode == 2
    assert "trainer.liger_kernels = True: Liger's kernels are Triton GPU kernels" in proc.stdout + proc.stderr
    assert not (forced / "manifest.json").exists() and not (forced / "status.json").exists()


def test_installed_but_not_importable_is_off_with_the_import_error(installed, monkeypatch):
    def broken():
        raise ImportError("triton 2.0 is too old")

    monkeypatch.setattr(liger, "supported_model_types", broken)
    assert liger.liger_kernels(_cfg(), H200).on  # before the load only the package's presence is checked
    decision = liger.liger_kernels(_cfg(), H200, "qwen2")
    assert not decision.on and "does not import here (triton 2.0 is too old)" in decision.reason


def test_a_family_patched_earlier_in_the_process_is_reported_on(installed, monkeypatch):
    # Liger's patches are process-wide: a later run of that family computes with them whatever it asks
    monkeypatch.setattr(liger, "PATCHED", {"qwen2"})
    decision = liger.liger_kernels(_cfg("trainer.liger_kernels=false"), H200, "qwen2")
    assert decision.on and "earlier run in this process" in decision.reason
    assert not liger.liger_kernels(_cfg("trainer.liger_kernels=false"), H200, "llama").on
