"""The memory estimator (loralab.memory, ``loralab-estimate``): pure arithmetic on the shipped
architectures, checked against the meta-device counts, FACTS.md's figures and real GPU peaks: a bare
peft loop on an H100 (bench/results/gpu_qlora_h100.json) and `loralab-train` against the plain TRL
script on an H200 (bench/results/gpu_nvidia-h200.json). No model loads, no transformers import: seconds."""

from __future__ import annotations

import copy
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

import loralab
from loralab.cli.estimate import main
from loralab.errors import ConfigError
from loralab.hardware import Hardware
from loralab.memory import (
    GiB,
    estimate,
    fallback_ladder,
    fits,
    suggest_fallback,
    summary_for_run,
)
from loralab.memory.geometry import arch_json, geometry

H100 = Hardware("cuda", "NVIDIA H100 80GB HBM3", (9, 0), True, False, 16, 79.1)
RTX3060 = Hardware("cuda", "NVIDIA GeForce RTX 3060 Laptop GPU", (8, 6), True, False, 8, 6.0)
BENCH = Path(__file__).resolve().parents[1] / "bench" / "results" / "gpu_qlora_h100.json"
QWEN = ["model=qwen-1.5b-nf4"]


@lru_cache(maxsize=None)
def composed(*overrides: str):
    # every layer adapted, as in the measurements below (the default experiment adapts the top 15)
    return loralab.compose(["lora.top_layers=null", *overrides])


def config(*overrides: str, **values):
    """The composed config with ``values`` set on a copy (``lora__r=16`` sets lora.r): Hydra composes
    each override list once, which keeps this file within its time budget."""
    cfg = copy.deepcopy(composed(*overrides))
    for key, value in values.items():
        OmegaConf.update(cfg, key.replace("__", "."), value, merge=False)
    return cfg


def part(est, prefix: str) -> int:
    """Bytes of the one component whose name starts with ``prefix``."""
    (match,) = [p for p in est.parts if p.name.startswith(prefix)]
    return match.bytes


def adapter_bytes(est) -> int:
    return sum(p.bytes for p in est.parts if p.kind == "adapter")


def qwen_linear_params() -> int:
    """Linear weights bitsandbytes quantises in Qwen2.5-1.5B (all but the tied embedding), from its config."""
    c = arch_json("qwen2.5-1.5b-instruct")
    h, i = c["hidden_size"], c["intermediate_size"]
    kv = c["num_key_value_heads"] * h // c["num_attention_heads"]
    return c["num_hidden_layers"] * (2 * h * h + 2 * h * kv + 3 * h * i)


# --- geometry --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("arch", "total", "all_linear", "qv"), [
    ("qwen2.5-1.5b-instruct", 1_543_714_304, (196, 9_232_384), (56, 1_089_536)),
    ("llama-3.1-8b-instruct", 8_030_261_248, (224, 20_971_520), (64, 3_407_872)),
    ("smollm2-135m-instruct", 134_515_008, (210, 2_442_240), (60, 460_800)),
], ids=["qwen", "llama", "smollm2"])
def test_geometry_matches_the_meta_device_counts(arch, total, all_linear, qv):
    """Totals as transformers counts them on the meta device (models/arch/README.md); adapter modules
    and trainable parameters as peft makes them (tests/models/test_arch_counts.py, FACTS.md)."""
    for option, expected in (("r8-all-linear", all_linear), ("qv-fallback", qv)):
        g = geometry(arch, composed(f"lora={option}").lora)
        assert g.total_params == total
        assert (g.lora_modules, g.trainable) == expected


def test_a_model_without_a_shipped_architecture_is_a_config_error():
    unknown = config(model__arch_config=None)
    with pytest.raises(ConfigError, match="model.arch_config"):
        estimate(unknown, H100)
    assert fits(unknown, 1.0, H100)  # nothing to predict: never blocks a sweep
    assert "none" in summary_for_run(unknown, H100)  # nor a run


# --- weights ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("double_quant", [True, False])
def test_nf4_weight_bytes_of_qwen_match_the_reference(double_quant):
    """4 bits per weight + the block-64 absmax: fp32 (FACTS: not the seed's fp16), or with double quant
    uint8 plus an fp32 scale per 256 blocks. Tolerance 0.1 %: the reference leaves out the small
    per-layer tables bitsandbytes also keeps (a 256-entry fp32 second-level code, 1.1 KB per layer:
    0.2 MB of Qwen's 676 MB)."""
    n = qwen_linear_params()
    assert n == 1_310_195_712
    est = estimate(config(*QWEN, model__quantization__double_quant=double_quant), H100)
    assert part(est, "base linear weights (NF4") == n // 2
    scales = n / 64 * (1 + 4 / 256) if double_quant else n / 64 * 4
    quantised = part(est, "base linear weights (NF4") + part(est, "quantisation scales")
    assert quantised == pytest.approx(n / 2 + scales, rel=0.001)


def test_qwen_4bit_weights_vs_the_seed_and_the_h100():
    """The seed's "~0.75 GB" is every parameter at 4 bits. bitsandbytes leaves the tied 233 M-parameter
    embedding unquantised (16-bit at load) and adds the scales: 1.065 GiB. The H100 bench measured
    1.105 GiB after loading (bench/results/gpu_qlora_h100.json, weights_gb_after_load); the 0.04 GiB
    rest is not weights, most likely cuBLAS's workspace (32 MiB per handle on Hopper), which PyTorch
    allocates through its caching allocator and the bench's matmul warm-up had created before."""
    est = estimate(config(*QWEN, model__quantization__compute_dtype="bfloat16", precision__dtype="bf16"), H100)
    total_params = 1_543_714_304  # the meta-device count of tests/models and models/arch/README.md
    seed = total_params * 0.5
    assert 0.74e9 < seed < 0.78e9
    embedding = 151_936 * 1_536
    gap = est.weights_at_load_bytes - seed
    assert embedding * 1.5 / gap > 0.9  # the unquantised embedding is nearly all of the difference
    measured = json.loads(BENCH.read_text())["runs"][0]["weights_gb_after_load"]
    assert est.weights_at_load_bytes / GiB == pytest.approx(measured, rel=0.05)
    assert 0 < measured - est.weights_at_load_bytes / GiB < 0.05
    # training casts the unquantised weights to fp32 (prepare_model_for_kbit_training)
    assert part(est, "embeddings + lm_head") == embedding * 4


def test_an_untied_output_head_is_counted_and_a_tied_one_once():
    llama = estimate(config("model=llama-3.1-8b", model__quantization__mode="nf4"), H100)
    qwen = estimate(config(*QWEN), H100)
    assert part(llama, "embeddings + lm_head") == 2 * 128_256 * 4_096 * 4
    assert part(qwen, "embeddings + lm_head") == 151_936 * 1_536 * 4


# --- the H100 measurements -------------------------------------------------------------------------

def bench_runs() -> list[dict]:
    return json.loads(BENCH.read_text())["runs"]


@pytest.mark.parametrize("run", bench_runs(), ids=lambda r: f"{r['arch']}-r{r['r']}")
def test_h100_measured_peaks_within_15_percent(run):
    """Real peaks (torch.cuda.max_memory_allocated) from bench/results/gpu_qlora_h100.json, written by
    bench/gpu_qlora.py: random-weight models, NF4 + double quant, bf16 autocast, LoRA all-linear
    (alpha 2r, dropout 0.05), PagedAdamW8bit, batch x 512 tokens, the model's own loss. The bench
    never calls model.train(): from_pretrained leaves the decoder in eval mode, so gradient
    checkpointing (enabled, but only active in training mode) did not run, while peft's newly made
    LoRA dropouts are in training mode. Estimated errors: +0.7 %, -0.4 %, -2.2 %, -0.5 %. The bare loop
    kept peft's fp32 LoRA weights, where loralab's runs (through TRL) keep bf16 ones and the estimate
    counts those: up to 0.9 GiB less at Llama r64, inside the tolerance."""
    model = {"qwen2.5-1.5b-instruct": "qwen-1.5b-nf4", "llama-3.1-8b-instruct": "llama-3.1-8b"}[run["arch"]]
    cfg = config(f"model={model}", "optimizer=paged-adamw-8bit", precision__dtype="bf16",
                 model__quantization__mode="nf4", model__quantization__double_quant=True,
                 model__quantization__compute_dtype="bfloat16", lora__r=run["r"], lora__target_modules=["all-linear"],
                 lora__dropout=0.05, trainer__micro_batch_size=run["batch"], trainer__max_length=run["seq"],
                 trainer__gradient_checkpointing="false", trainer__fused_lm_head="false", trainer__eval_strategy="no",
                 trainer__liger_kernels="false")
    est = estimate(cfg, H100)
    assert est.setup["trainable"] == run["trainable_params"]
    assert est.allocated_gb == pytest.approx(run["peak_allocated_gb"], rel=0.15)
    assert est.total_gb > est.allocated_gb  # + paged optimizer states, CUDA context, allocator reserve


H200 = Hardware("cuda", "NVIDIA H200", (9, 0), True, False, 16, 139.8)
H200_BENCH = BENCH.with_name("gpu_nvidia-h200.json")
H200_MODELS = {"qwen2.5-1.5b": ("qwen-1.5b-nf4", "qwen2.5-1.5b-instruct"),
               "llama-3.1-8b": ("llama-3.1-8b", "llama-3.1-8b-instruct")}


def h200_rows() -> list[dict]:
    return [r for r in json.loads(H200_BENCH.read_text())["results"] if "error" not in r]


@pytest.mark.parametrize("row", h200_rows(), ids=lambda r: f"{r['model']}-b{r['micro_batch']}-{r['contender']}")
def test_h200_measured_peaks_of_loralab_and_plain_trl_within_10_percent(row):
    """Real peaks from bench/results/gpu_nvidia-h200.json (bench/gpu.py): `loralab-train` (L) and the
    plain TRL script (A) on random-weight models, NF4 + double quant, bf16, LoRA r=8 all-linear with
    dropout 0.05, AdamW, TRL's fused LM head. L computed with Liger's kernels (its CUDA default), A
    without; checkpointing as each ran. Both through TRL, whose bf16 LoRA weights the estimate counts.
    Rows pad to the longest of their micro-batch: the estimate is for the longest one each ran."""
    option, arch = H200_MODELS[row["model"]]
    # an ablation's override (lora.r=64, trainer.fused_lm_head=false, ...); checkpointing and Liger as recorded
    ablation = {key.replace(".", "__"): yaml.safe_load(value) for key, value in
                (o.split("=") for o in row["contender"].split()[1:])
                if key not in ("trainer.gradient_checkpointing", "trainer.liger_kernels")}
    cfg = config("~experiment", f"model={option}", f"model.arch_config={arch}", "model.quantization.mode=nf4",
                 "model.quantization.double_quant=true", "lora=r8-all-linear", "optimizer=adamw",
                 "trainer.eval_strategy=no", "trainer.load_best_model_at_end=false",
                 lora__dropout=0.05, trainer__micro_batch_size=row["micro_batch"],
                 trainer__gradient_accumulation_steps=1, trainer__effective_batch_size=None,
                 trainer__max_length=row["longest_micro_batch_tokens"] // row["micro_batch"],
                 trainer__gradient_checkpointing=row["setup"]["gradient_checkpointing"],
                 trainer__liger_kernels=row["setup"]["liger_kernels"], **ablation)
    est = estimate(cfg, H200)
    assert est.setup["adapter_dtype"] == "bf16" and row["setup"]["trainable_dtypes"] == ["bfloat16"]
    assert est.allocated_gb == pytest.approx(row["peak_allocated_gib"], rel=0.10)


def test_liger_keeps_two_of_the_mlps_three_tensors():
    """Liger's SwiGLU saves the gate and up outputs and recomputes the activation in backward."""
    off, on = (estimate(config(*QWEN, trainer__liger_kernels=flag), H100) for flag in ("false", "true"))
    saved = off.setup["activation_bytes_per_token_per_layer"] - on.setup["activation_bytes_per_token_per_layer"]
    assert saved == 4 * 8_960  # one fp32 tensor of the intermediate width (QLoRA's fp32 stream)
    assert (on.setup["liger_kernels"], off.setup["liger_kernels"]) == (True, False)
    # Triton kernels: never on a CPU, even when asked for (the recipe refuses that run)
    cpu = Hardware("cpu", "CPU", None, False, True, 2, None)
    assert estimate(config(*QWEN, trainer__liger_kernels="true"), cpu).setup["liger_kernels"] is False
    # where the package is missing (this CPU machine), "auto" plans without it: the larger estimate
    auto = estimate(config(*QWEN), H100)
    assert auto.setup["liger_kernels"] == (importlib.util.find_spec("liger_kernel") is not None)


# --- the adapter and its optimizer -----------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adamw", "paged-adamw-8bit"])
def test_doubling_r_doubles_lora_and_optimizer_bytes(optimizer):
    r8, r16 = (estimate(config(*QWEN, f"optimizer={optimizer}", lora__r=r), H100) for r in (8, 16))
    assert r8.setup["trainable"] == 9_232_384  # FACTS: the seed's "~9.2M", 196 modules
    assert r16.setup["trainable"] == 2 * 9_232_384
    assert adapter_bytes(r16) == pytest.approx(2 * adapter_bytes(r8), rel=1e-4)


def test_the_allocator_reserve_follows_the_settings_in_effect(monkeypatch):
    """expandable_segments halves the reserve; a user's setting in the shell, under either of
    PyTorch's names, is the one the run gets, whatever the config says."""
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF", raising=False)
    monkeypatch.delenv("PYTORCH_ALLOC_CONF", raising=False)

    def reserve():
        est = estimate(config(*QWEN), H100)
        return next(c for c in est.parts if c.name == "allocator reserve")

    assert "with expandable_segments" in reserve().note
    monkeypatch.setenv("PYTORCH_ALLOC_CONF", "expandable_segments:False")
    assert "without expandable_segments" in reserve().note


def test_optimizer_states_per_parameter():
    """PyTorch's AdamW keeps two states in the LoRA weights' dtype: bf16 under QLoRA, whose LoRA weights
    TRL's SFTTrainer casts to bf16 (4 B/param, what the H200 run's trainable dtypes show), fp32 on an
    unquantised model (8 B/param). 8-bit AdamW: 2 B/param + an fp32 scale per 256-value block, whatever
    the weights; paged states live outside PyTorch's allocator."""
    states = {}
    for optimizer in ("adamw", "adamw-8bit", "paged-adamw-8bit", "adafactor"):
        est = estimate(config(*QWEN, f"optimizer={optimizer}"), H100)
        states[optimizer] = part(est, "optimizer states") / est.setup["trainable"]
        if optimizer == "paged-adamw-8bit":
            assert est.total_gb - est.allocated_gb > part(est, "optimizer states") / GiB
    assert states["adamw"] == 4 and estimate(config(*QWEN), H100).setup["adapter_dtype"] == "bf16"
    unquantised = estimate(config(*QWEN, model__quantization__mode="none"), H100)
    assert unquantised.setup["adapter_dtype"] == "fp32"
    assert part(unquantised, "optimizer states") == 8 * unquantised.setup["trainable"]
    assert part(unquantised, "LoRA weights") == (4 + 2) * unquantised.setup["trainable"]  # + bf16 autocast copies
    assert states["adamw-8bit"] == states["paged-adamw-8bit"] == pytest.approx(2 + 8 / 256, rel=1e-3)
    assert states["adafactor"] < 1  # factored second moments: rows + columns, ~4/r bytes per LoRA param


# --- activations and the loss ----------------------------------------------------------------------

def test_gradient_checkpointing_reduces_activations():
    """The seed says ~40 % less activation memory; only each layer's input stays, so far more than that."""
    on, off = (estimate(config(*QWEN, trainer__micro_batch_size=4, trainer__gradient_checkpointing=gc), H100)
               for gc in ("true", "false"))
    kept_on, kept_off = part(on, "activations"), part(off, "activations")
    assert kept_on < 0.6 * kept_off
    assert on.total_gb < off.total_gb
    assert on.setup["checkpoint_bytes_per_token_per_layer"] == 4 * 1_536  # the layer's fp32 input under QLoRA


def test_the_per_layer_constant_is_what_autograd_saves():
    """163,496 bytes per token per layer: the tensors autograd saved (torch.autograd.graph.saved_tensors_hooks,
    parameters excluded) in a CPU forward of Qwen2.5-1.5B-shaped layers, NF4 + double quant, bf16 autocast,
    LoRA r=8 all-linear in eval mode (no dropout), no padding mask (k/v not repeated), measured with
    bitsandbytes 0.50.2, peft 0.21.2, transformers 5.24; with checkpointing 6,144 (the layer's fp32 input)."""
    cpu = Hardware("cpu", "CPU with AVX512-BF16", None, False, True, 2, None)
    cfg = config(*QWEN, model__attn_implementation="flash_attention_2", lora__dropout=0.0,
                 model__quantization__compute_dtype="bfloat16", precision__dtype="bf16")
    est = estimate(cfg, cpu)
    assert est.setup["activation_bytes_per_token_per_layer"] == 163_496
    assert est.setup["checkpoint_bytes_per_token_per_layer"] == 6_144
    with_dropout = estimate(config(*QWEN, lora__dropout=0.05, trainer__liger_kernels="false"),
                            H100).setup["activation_bytes_per_token_per_layer"]
    assert with_dropout == 186_792  # CUDA, sdpa with a padding mask, dropout's 1-byte masks: ~122 x hidden


def test_fused_lm_head_shrinks_the_loss():
    plain, fused = (estimate(config(*QWEN, trainer__micro_batch_size=8, trainer__fused_lm_head=f), H100)
                    for f in ("false", "true"))
    logits = 8 * 512 * 151_936 * 4  # batch x seq x vocab in fp32
    assert part(plain, "logits") > 3 * logits
    assert plain.total_gb - fused.total_gb > 2 * logits / GiB


# --- fitting and falling back ----------------------------------------------------------------------

def test_fallback_for_an_oversize_config_fits():
    overrides = [*QWEN, "lora=r64", "trainer.micro_batch_size=8", "trainer.max_length=2048",
                 "trainer.fused_lm_head=false"]
    cfg = loralab.compose(overrides)
    assert not fits(cfg, 6.0, RTX3060)
    fallback = suggest_fallback(cfg, 6.0, RTX3060)
    assert fallback is not None and fallback.estimate.fits(6.0)
    assert fallback.steps[0].startswith("halve micro-batch")  # the OOM guide's first rung
    replayed = loralab.compose([*overrides, *fallback.hydra_overrides()])
    assert estimate(replayed, RTX3060).total_gb == pytest.approx(fallback.estimate.total_gb)
    assert fits(replayed, hw=RTX3060)  # the GPU's own memory (6 GiB)


def test_the_ladder_follows_the_oom_guide():
    cfg = config(*QWEN, "optimizer=adamw", trainer__micro_batch_size=2, trainer__gradient_checkpointing="false")
    ladder = list(fallback_ladder(cfg, RTX3060))
    assert [rung.action for rung, _ in ladder] == [
        "halve micro-batch, keep effective batch", *["halve the evaluation batch"] * 4,  # 16 -> 1
        "gradient checkpointing on", "qv-fallback LoRA targets",
        "shorter max length", "shorter max length", "8-bit paged optimizer"]
    totals = [est.total_gb for _, est in ladder]
    assert totals == sorted(totals, reverse=True)  # every rung saves memory


def test_the_fallback_undoes_what_it_does_not_need():
    """Llama-3.1-8B in bf16 on 12 GiB: the whole guide does not fit, a 4-bit base does, and then the
    guide's quality-costly rungs (qv targets, a 128-token max_length) are not needed."""
    cfg = config("experiment=llama31-lora")
    fallback = suggest_fallback(cfg, 12.0, RTX3060)
    assert fallback.overrides["model.quantization.mode"] == "nf4"
    assert "lora.target_modules" not in fallback.overrides and "trainer.max_length" not in fallback.overrides
    assert fallback.estimate.fits(12.0)


def test_summary_line_names_the_total_and_the_verdict():
    est = estimate(config("experiment=rtx3060-qwen-tools"), RTX3060)  # the seeds' 6 GB RTX 3060 setup
    line = est.summary_line(6.0)
    assert f"{est.total_gb:.2f} GiB" in line and "fits in 6.0 GiB" in line
    assert summary_for_run(config("experiment=rtx3060-qwen-tools"), RTX3060) == line
    assert est.components["LoRA gradients"] == pytest.approx(2 * 9_232_384 / GiB)  # bf16: TRL casts QLoRA adapters


# --- the command line ------------------------------------------------------------------------------

def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, " ".join(capsys.readouterr().out.split())  # rich wraps lines: compare word by word


def test_cli_prints_a_table_and_exits_0(capsys):
    code, out = run_cli(capsys, *QWEN, "--gpu-memory-gb", "80")
    assert code == 0
    for row in ("base linear weights (NF4, 4-bit)", "quantisation scales", "embeddings + lm_head", "LoRA weights",
                "optimizer states", "activations kept for backward", "CUDA context", "total"):
        assert row in out
    assert "fits" in out and "warning" not in out
    # whether the activations count Liger's kernels, and why, with the install hint's brackets intact
    flat = " ".join(out.split())
    if importlib.util.find_spec("liger_kernel") is None:
        assert "Liger's kernels off (auto: liger-kernel is not installed: pip install 'loralab[gpu]'" in flat
    else:
        assert "Liger's kernels on" in flat


def test_cli_warns_and_names_a_fallback_when_it_does_not_fit(capsys):
    code, out = run_cli(capsys, "--gpu-memory-gb", "1")
    assert code == 0
    assert "warning:" in out and "does not fit in 1.00 GiB" in out
    assert "cheapest fallback that fits" in out and "loralab-train trainer." in out
    code, _ = run_cli(capsys, "--gpu-memory-gb", "1", "--check")
    assert code == 1


@pytest.mark.parametrize("size", ["-4", "nan", "inf", "0"])
def test_cli_refuses_a_gpu_memory_that_is_not_a_positive_size(capsys, size):
    with pytest.raises(SystemExit) as exit_info:
        main(["--gpu-memory-gb", size])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"argument --gpu-memory-gb: '{size}' is not a GPU memory size" in err
    assert "positive number of GiB" in err and "Traceback" not in err


# --------------------------------------------------------------------------- trainer.micro_batch_size=auto

AUTO_QWEN = (*QWEN, "trainer.micro_batch_size=auto", "trainer.effective_batch_size=64")


@pytest.mark.parametrize("hw", [H100, RTX3060], ids=["h100", "rtx3060-6gb"])
def test_auto_micro_batch_is_the_largest_divisor_that_fits(hw):
    """The chosen micro-batch fits in 90 % of the card; the next divisor of the effective batch up
    does not; accumulation keeps the effective batch."""
    from loralab.batching import batch_plan
    from loralab.memory.micro_batch import resolve_micro_batch

    cfg = config(*AUTO_QWEN)
    resolved, chosen = resolve_micro_batch(cfg, hw)
    micro = resolved.trainer.micro_batch_size
    assert micro == chosen.size and 64 % micro == 0 and cfg.trainer.micro_batch_size == "auto"  # a copy
    room = 0.9 * hw.total_memory_gb
    plan = batch_plan(resolved.trainer, resolved.optimizer.lr)
    assert plan.effective_batch_size == 64 and plan.gradient_accumulation_steps == 64 // micro
    if micro < 64:
        larger = min(d for d in (2, 4, 8, 16, 32, 64) if d > micro)
        without = config(*AUTO_QWEN, trainer__micro_batch_size=larger, trainer__gradient_checkpointing=False)
        assert estimate(without, hw).total_gb > room
    fitted = config(*AUTO_QWEN, trainer__micro_batch_size=micro, trainer__gradient_checkpointing=False)
    if estimate(fitted, hw).total_gb <= room:  # fits without recomputation: auto checkpointing agrees, off
        from loralab.memory import gradient_checkpointing

        assert not gradient_checkpointing(resolved, hw).on
    assert "auto: the largest divisor of 64" in chosen.reason


def test_auto_micro_batch_grows_with_the_card():
    from loralab.memory.micro_batch import auto_micro_batch

    assert auto_micro_batch(config(*AUTO_QWEN), H100).size > auto_micro_batch(config(*AUTO_QWEN), RTX3060).size


def test_auto_micro_batch_is_one_on_a_cpu_or_without_an_estimate():
    from loralab.memory.micro_batch import auto_micro_batch

    cpu = Hardware("cpu", "test CPU", None, False, False, 2, None)
    assert auto_micro_batch(config(*AUTO_QWEN), cpu).size == 1
    unknown = Hardware("cuda", "a GPU of unknown size", (8, 0), True, False, 8, None)
    decision = auto_micro_batch(config(*AUTO_QWEN), unknown)
    assert decision.size == 1 and "no memory estimate" in decision.reason


@pytest.mark.parametrize("overrides, message", [
    (["trainer.micro_batch_size=auto"], "set it, e.g. trainer.effective_batch_size=16"),
    (["trainer.micro_batch_size=big", "trainer.effective_batch_size=16"], "or auto"),
])
def test_auto_micro_batch_needs_the_effective_batch_and_other_words_are_refused(overrides, message):
    with pytest.raises(ConfigError) as info:
        loralab.compose([*QWEN, *overrides])
    text = str(info.value)
    assert "trainer.micro_batch_size" in text and message in text


def test_cli_sizes_an_auto_micro_batch_for_the_planned_card(capsys):
    code, out = run_cli(capsys, *AUTO_QWEN, "--gpu-memory-gb", "80")
    assert code == 0 and "micro-batch: " in out and "auto: the largest divisor of 64" in out
