"""loralab against the plain TRL script on one CUDA GPU: `make bench-gpu` (one call of < 10 minutes).

Contenders, each in a fresh process, on the same data, steps and LoRA (r=8, alpha=16, dropout 0.05,
all linear layers) and the same NF4 base (double quantisation, bf16 compute):

  A  the plain script: trl.SFTTrainer(model=<dir>, quantization_config=..., peft_config=...) with
     SFTConfig setting only the micro-batch, the length and the steps (TRL's defaults for the rest);
  L  `loralab-train` with its GPU defaults (`model.init=random`: the same random checkpoint);
  L <override>  L with one speed feature switched the other way, or rank 64 (ABLATIONS).

Then each engine of the `distributed` group (ENGINES: zero2, zero3-offload, fsdp) trains a few steps
of Qwen2.5-1.5B on the one GPU through torchrun, and `loralab-eval` reloads the saved adapter.

Models: Qwen2.5-1.5B at micro-batch 4 and 16, Llama-3.1-8B at 2 and 8, 512 tokens; random weights
from the shipped architectures (no hub), so only speed and memory mean anything. The rows are the
bundled task's, rendered with the model's chat template and tokenized by a BPE tokenizer trained on
the task's own text (loralab.tiny): row lengths, hence padding, come near a real tokenizer's.

Measured per contender: non-padding tokens per second and seconds per step over the steps after
--warmup (torch.cuda.synchronize at every step end), the padding share, peak allocated and reserved
GPU memory (torch.cuda.max_memory_*) beside the memory estimator's prediction for the same
settings, and MFU against this card's bf16 matmul rate measured in the run. A global time guard
(--budget-s) skips what would not finish in time, with a note; the results JSON is rewritten after
every contender, so a stopped run keeps what it measured.

    python bench/gpu.py [--quick] [--out DIR] [--commit SHA]      # on a CUDA machine
    python bench/gpu.py --cpu [--contenders A,L]                   # smoke mode: tiny architecture, CPU
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import framework_overhead as fo

# L with one of its GPU defaults turned the other way, each an existing config switch: the fused
# LM head, Liger's kernels and length grouping off; gradient checkpointing on (L leaves it off where
# the memory estimate says the run fits without it, as it does on an H100/H200): the memory it
# saves, the speed it costs; torch.compile on (off by default). Then rank 64 against L's 8: the
# adapter's own cost. Add new switches here and every model and micro-batch gets the row; the time
# guard skips the last ones when time runs short.
ABLATIONS = ("trainer.gradient_checkpointing=true", "lora.r=64", "trainer.fused_lm_head=false",
             "trainer.liger_kernels=false", "trainer.group_by_length=false", "trainer.compile=true")
# The rows the targets are stated for, run right after A and L at each model's first micro-batch:
# checkpointing on (its memory and speed) and rank 64 (tokens/s within reach of rank 8).
TARGET_ABLATIONS = ABLATIONS[:2]
# A's memory as loralab's estimator sees it: TRL's defaults checkpoint, and nothing patches in Liger
A_AS_LORALAB = ["trainer.gradient_checkpointing=true", "trainer.liger_kernels=false"]
# The engines of the `distributed` group, each run once for real on the one GPU (torchrun, one
# process): a few steps on the smaller model, the adapter saved, then reloaded by `loralab-eval`.
# ZeRO-3 and FSDP cannot shard 4-bit weights here, so they train bf16 LoRA. DeepSpeed's rows need
# its wheels carried (bench/README.md); without it they are skipped with that note.
ENGINES = {"zero2": [], "zero3-offload": ["model.quantization.mode=none"], "fsdp": ["model.quantization.mode=none"]}
ENGINE_STEPS = 4
MAX_LENGTH = {"gpu": 512, "cpu": 256}
TOKENIZER_VOCAB = 1024
BUDGET_S = 520  # the whole script, inside one device call of 10 minutes with its setup


@dataclass(frozen=True)
class Model:
    option: str  # conf/model/<option>.yaml
    arch: str  # loralab/models/arch/<arch>.json
    family: str  # loralab.tiny.FAMILIES: the chat template's special tokens
    batches: tuple[int, ...]
    guess_s: float  # a first guess of one contender's process time, before one has run


MODELS = {
    "qwen2.5-1.5b": Model("qwen-1.5b-nf4", "qwen2.5-1.5b-instruct", "chatml", (4, 16), 45),
    "llama-3.1-8b": Model("llama-3.1-8b", "llama-3.1-8b-instruct", "llama-3", (2, 8), 75),
}
CPU_MODELS = {"tiny": Model("qwen-1.5b-nf4", "tiny-llama", "chatml", (4,), 15)}


@dataclass(frozen=True)
class Contender:
    model: str
    batch: int
    name: str  # "A", "L" or "L <override>"

    @property
    def id(self) -> str:
        return f"{self.model} b{self.batch} {self.name}"


def plan(models: dict[str, Model], names: list[str]) -> list[Contender]:
    """What the targets need first, so the time guard drops the rest: A and L at each model's first
    micro-batch, then TARGET_ABLATIONS there, then the engines (on the first model, at its first
    micro-batch), then A and L at the larger micro-batches, then the other ablations, larger
    micro-batches first."""
    first_batch = [(m, spec.batches[0]) for m, spec in models.items()]
    larger = [(m, b) for m, spec in models.items() for b in spec.batches[1:]]
    names_in = lambda wanted: [n for n in names if n in wanted]  # noqa: E731
    cores, targets = names_in({"A", "L"}), names_in({f"L {o}" for o in TARGET_ABLATIONS})
    ablations = [n for n in names if n.startswith("L ")]
    first = next(iter(models))
    return ([Contender(m, b, n) for m, b in first_batch for n in cores]
            + [Contender(m, b, n) for m, b in first_batch for n in targets]
            + [Contender(first, models[first].batches[0], n) for n in names if n.startswith("E ")]
            + [Contender(m, b, n) for m, b in larger for n in cores]
            + [Contender(m, b, n) for m, b in larger for n in ablations]
            + [Contender(m, b, n) for m, b in first_batch for n in ablations if n not in targets])


def loralab_overrides(model: Model, tokenizer_dir: Path, batch: int, a: argparse.Namespace,
                      run_dir: Path) -> list[str]:
    """L's command line: the shared settings of framework_overhead's C, then the random NF4 model. The
    default experiment (the CPU quickstart's recipe) is left out: L runs loralab's groups' defaults."""
    shared = fo.loralab_cli_args(a.warmup + a.steps, batch, a.max_length, run_dir, packing=False)[1:]
    return [*shared, "~experiment", f"model={model.option}", "model.source=hub", f"model.name_or_path={tokenizer_dir}",
            f"model.arch_config={model.arch}", "model.init=random", "model.allow_random_init=true",
            "model.quantization.mode=nf4", "model.quantization.double_quant=true",
            "model.quantization.compute_dtype=auto", "data=gennx-tools", f"data.generator.size={a.rows}",
            "lora=r8-all-linear", "lora.dropout=0.05", "trainer.gradient_accumulation_steps=1",
            "trainer.effective_batch_size=null", "trainer.oom_fallback=false", "logger=none"]


# --- children -----------------------------------------------------------------------------------------

def install_step_timer(result: Path) -> None:
    """Time every optimizer step of any Trainer this process builds (synchronised on CUDA), count its
    non-padding and all input tokens, and write them with the peak GPU memory when training ends."""
    import torch
    import transformers.trainer
    from transformers import Trainer, TrainerCallback

    cuda = torch.cuda.is_available()
    pending: list = []
    record: dict = {"step_end_s": [], "tokens": [], "input_tokens": []}
    training_step = Trainer.training_step

    def counted(self, model, inputs, *args, **kwargs):
        mask = inputs.get("attention_mask")  # absent when padding-free: then every position is a token
        pending.append((mask.sum() if mask is not None else inputs["input_ids"].numel(), inputs["input_ids"].numel()))
        return training_step(self, model, inputs, *args, **kwargs)

    def now() -> float:
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    class StepTimer(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            trainable = {str(p.dtype).removeprefix("torch.") for p in model.parameters() if p.requires_grad}
            # transformers renamed gradient_checkpointing to activation_checkpointing (the old name stays a while)
            checkpointing = getattr(args, "activation_checkpointing", None) or args.gradient_checkpointing
            liger = sys.modules.get("loralab.liger")  # what L's recipe patched in; A never imports it
            record["setup"] = {"gradient_checkpointing": bool(checkpointing), "bf16": args.bf16,
                               "liger_kernels": bool(liger and liger.PATCHED),
                               "optim": getattr(args.optim, "value", args.optim), "trainable_dtypes": sorted(trainable),
                               "sampling": getattr(args, "train_sampling_strategy", None),
                               "linear_4bit": sum(type(m).__name__ == "Linear4bit"  # bitsandbytes', not peft's
                                                  and type(m).__module__.startswith("bitsandbytes")
                                                  for m in model.modules())}
            record["train_begin_s"] = now()

        def on_step_end(self, args, state, control, **kwargs):
            record["step_end_s"].append(now())
            record["tokens"].append(sum(int(t) for t, _ in pending))
            record["input_tokens"].append(sum(int(n) for _, n in pending))
            pending.clear()

        def on_train_end(self, args, state, control, **kwargs):
            if cuda:
                record["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
                record["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
            result.write_text(json.dumps(record))

    Trainer.training_step = counted
    transformers.trainer.DEFAULT_CALLBACKS.append(StepTimer())  # every Trainer built from now on


def child_plain(a: argparse.Namespace) -> None:
    """A: what a user of the plain libraries writes for QLoRA."""
    import torch
    from datasets import load_from_disk
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig
    from trl import SFTConfig, SFTTrainer

    install_step_timer(Path(a.result))
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
    cpu = {} if torch.cuda.is_available() else {"use_cpu": True}  # TRL's default bf16 refuses a CPU otherwise
    args = SFTConfig(output_dir=a.run_dir, per_device_train_batch_size=a.micro_batch, max_length=a.max_length,
                     max_steps=a.warmup + a.steps, **cpu)
    SFTTrainer(model=a.model_dir, args=args, train_dataset=load_from_disk(a.data_dir), quantization_config=quant,
               peft_config=LoraConfig(**fo.LORA, task_type="CAUSAL_LM")).train()


def child_loralab(a: argparse.Namespace, overrides: list[str]) -> None:
    """L: the `loralab-train` entry point itself, in this process, with the step timer installed."""
    install_step_timer(Path(a.result))
    from loralab.cli.train import main

    sys.argv = ["loralab-train", *overrides]
    main()


def child_prepare(a: argparse.Namespace) -> None:
    """For one model: the tokenizer, the random checkpoint (the cache keeps it for every contender),
    the tokenized rows A trains on, the FLOPs per token, the memory estimates of every contender and,
    once, the card's bf16 matmul rate."""
    import loralab
    from loralab.data.pipeline import load_splits, tokenize_split
    from loralab.hardware import detect
    from loralab.memory import estimate, target_hardware
    from loralab.memory.geometry import geometry
    from loralab.modeling import build_tokenizer, model_location
    from loralab.tiny import build_tiny_tokenizer

    model = models_of(a)[a.model]
    work, hw = Path(a.workdir), detect()
    tokenizer_dir = work / f"tokenizer-{model.family}"
    def overrides(batch: int, *extra: str) -> list[str]:
        return [*loralab_overrides(model, tokenizer_dir, batch, a, work / "unused"), *extra]

    cfg = loralab.compose(overrides(model.batches[0]))
    splits = load_splits(cfg.data)
    if not (tokenizer_dir / "tokenizer.json").is_file():
        corpus = [json.dumps(r, ensure_ascii=False) for r in splits.records["train"]]
        build_tiny_tokenizer(model.family, TOKENIZER_VOCAB, corpus).save_pretrained(tokenizer_dir)
    started = time.perf_counter()
    location = model_location(cfg.model, cfg.paths.cache_dir)
    built_s = time.perf_counter() - started
    tokenizer = build_tokenizer(cfg.model, location)
    records = splits.records["train"][: cfg.data.max_train_examples or None]
    train = tokenize_split(records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "train")
    train.dataset.save_to_disk(work / f"data-{a.model}")
    lengths = [len(ids) for ids in train.dataset["input_ids"]]
    g = geometry(cfg.model.arch_config, cfg.lora)
    mean_l, mean_l2 = statistics.fmean(lengths), statistics.fmean(x * x for x in lengths)
    # framework_overhead's FLOPS_FORMULA; N_base: every projection and the LM head (tied or not)
    n_base = g.linear_params + g.vocab * g.hidden
    flops = 4 * n_base + 6 * g.trainable + 6 * g.layers * g.q_dim * (mean_l2 / mean_l + 1)
    target = target_hardware(hw if hw.device == "cuda" else None)  # a CPU smoke run plans for a GPU
    estimates = {}  # each contender's, before it runs: every row max_length long (the estimator's worst case)
    for batch in model.batches:
        for name, extra in (("A", A_AS_LORALAB), ("L", []), *((f"L {o}", [o]) for o in ABLATIONS)):
            e = estimate(loralab.compose(overrides(batch, *extra)), target)
            estimates[f"{batch} {name}"] = {"allocated_gib": e.allocated_gb, "total_gib": e.total_gb, "setup": e.setup}
    out = {"model_dir": location, "tokenizer_dir": str(tokenizer_dir), "hardware": hw.to_dict(),
           "estimated_for": target.device_name, "random_checkpoint_s": round(built_s, 1), "rows": len(lengths),
           "mean_length": mean_l, "length": train.stats["length"], "flops_per_token": flops,
           "n_base_linear": n_base, "n_lora": g.trainable, "estimates": estimates}
    if a.measure_peak:
        out["peak_matmul_tflops"] = matmul_tflops(a, work)
    Path(a.result).write_text(json.dumps(out))


def matmul_tflops(a: argparse.Namespace, work: Path) -> float:
    """This device's dense bf16 matmul rate: gpu_qlora's 8192^3 products on CUDA, framework_overhead's
    model-shaped ones on a CPU."""
    import torch

    if torch.cuda.is_available():
        from gpu_qlora import matmul_tflops as cuda_tflops

        return cuda_tflops()
    fo.child_peak(argparse.Namespace(result=work / "peak.json", peak_seconds=0.3))
    return json.loads((work / "peak.json").read_text())["bfloat16"] / 1e12


# --- the parent -----------------------------------------------------------------------------------------

def models_of(a: argparse.Namespace) -> dict[str, Model]:
    chosen = CPU_MODELS if a.cpu else MODELS
    if a.quick and not a.cpu:
        return {"qwen2.5-1.5b": replace(MODELS["qwen2.5-1.5b"], batches=(4,))}
    names = a.models.split(",") if a.models else list(chosen)
    unknown = sorted(set(names) - set(chosen))
    if unknown:
        sys.exit(f"--models: unknown {unknown}; choose from {sorted(chosen)}")
    return {n: chosen[n] for n in names}


def child_cmd(kind: str, a: argparse.Namespace, result: Path, **extra) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--result", str(result),
           "--steps", str(a.steps), "--warmup", str(a.warmup), "--max-length", str(a.max_length),
           "--rows", str(a.rows), "--workdir", str(a.workdir), *(["--cpu"] if a.cpu else []),
           *(["--quick"] if a.quick else [])]
    for key, value in extra.items():
        if value is True:
            cmd.append(f"--{key.replace('_', '-')}")
        elif value is not None and value is not False:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


class TimeGuard:
    """The whole script's deadline: a child runs only when its expected time fits what is left, and is
    stopped (coreutils timeout) when it overruns the deadline."""

    def __init__(self, budget_s: float, env: dict[str, str]):
        self.deadline = time.perf_counter() + budget_s
        self.env = env
        self.walls: dict[tuple[str, int | None], float] = {}

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def expected(self, model: str, batch: int | None, first_guess: float) -> float:
        same_model = [w for (m, _), w in self.walls.items() if m == model]
        return self.walls.get((model, batch)) or (max(same_model) if same_model else first_guess)

    def run(self, cmd: list[str], log: Path, model: str, batch: int | None, steps: int | None = None) -> dict:
        left = self.left()
        proc = fo.launch(["timeout", "-k", "10", f"{max(1, int(left))}", *cmd], log, steps, env=self.env)
        key = (model, batch)
        self.walls[key] = max(self.walls.get(key, 0.0), proc["wall_s"])
        if proc["returncode"] in (124, 137):
            proc["error"] = f"stopped by the time guard after {proc['wall_s']:.0f} s"
        elif proc["returncode"]:
            proc["error"] = f"exit {proc['returncode']}: ..." + log.read_text(errors="replace")[-1500:]
        return proc


def prepare(model: str, first: bool, a: argparse.Namespace, guard: TimeGuard) -> str | None:
    """child_prepare for ``model``; the error, if any. In its own process on a GPU (which it leaves with
    no memory held); in this one on a CPU, where a process start costs more than the work."""
    result = a.workdir / f"prepare-{model}.json"
    if a.cpu:
        child_prepare(argparse.Namespace(**{**vars(a), "model": model, "result": result, "measure_peak": first}))
        return None
    proc = guard.run(child_cmd("prepare", a, result, model=model, measure_peak=first),
                     a.workdir / f"prepare-{model}.log", model, None)
    return proc.get("error")


def measured(r: dict, warmup: int) -> dict:
    """Steady-state figures: the steps after the warm-up, timed from the end of the last warm-up step."""
    ends, tokens, inputs = r["step_end_s"], r["tokens"], r["input_tokens"]
    if len(ends) <= warmup:
        return {"error": f"only {len(ends)} steps ran, none after the {warmup} warm-up steps"}
    start = ends[warmup - 1] if warmup else r["train_begin_s"]
    timed, elapsed = tokens[warmup:], ends[-1] - start
    steps = [b - a for a, b in zip([start, *ends[warmup:-1]], ends[warmup:])]
    return {"steps_timed": len(timed), "tokens_per_s": sum(timed) / elapsed, "s_per_step": elapsed / len(timed),
            "median_s_per_step": statistics.median(steps),  # a stall or two moves the mean, not this
            # L's length-grouped sampler runs its longest micro-batches first, A samples at random: over a
            # few steps their tokens per step differ, over an epoch both see every row in as many steps
            "tokens_per_step": sum(timed) / len(timed),
            "padding_fraction": 1 - sum(timed) / sum(inputs[warmup:]),
            # the peak comes from the largest micro-batch (one per step: no accumulation), warm-up included
            "longest_micro_batch_tokens": max(inputs),
            "peak_allocated_gib": r.get("peak_allocated_gib"), "peak_reserved_gib": r.get("peak_reserved_gib"),
            "setup": r.get("setup")}


def engine_overrides(model: Model, tokenizer_dir: Path, batch: int, a: argparse.Namespace, run_dir: Path,
                     engine: str) -> list[str]:
    """An engine run's command line: L's, on the engine, for ENGINE_STEPS steps, evaluating nothing itself
    (loralab-eval reloads the saved adapter afterwards)."""
    return [*loralab_overrides(model, tokenizer_dir, batch, a, run_dir), f"distributed={engine}",
            *ENGINES[engine], f"trainer.max_steps={ENGINE_STEPS}"]


def run_engine(c: Contender, a: argparse.Namespace, guard: TimeGuard, prep: dict, model: Model) -> dict:
    """One engine: train through torchrun, then reload the adapter with loralab-eval on a few examples."""
    import importlib.util

    engine = c.name.split()[1]
    row = {"model": c.model, "micro_batch": c.batch, "contender": c.name}
    if engine != "fsdp" and importlib.util.find_spec("deepspeed") is None:
        return {**row, "skipped": "DeepSpeed is not installed here: carry its wheels (bench/README.md)"}
    work = Path(a.workdir)
    run_dir = work / f"{c.model}-{engine}"
    # torchrun through this interpreter: its script need not be on PATH
    train = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1",
             "-m", "loralab.cli.train",
             *engine_overrides(model, Path(prep["tokenizer_dir"]), c.batch, a, run_dir, engine)]
    proc = guard.run(train, work / f"{c.model}-{engine}.log", f"{c.model} engines", None)
    row["wall_s"] = round(proc["wall_s"], 1)
    if "error" in proc:
        return {**row, "error": proc["error"]}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    row.update(steps=metrics["summary"]["global_step"], train_loss_last=metrics["final"].get("train_loss_last"),
               adapter_saved=(run_dir / "adapter" / "adapter_model.safetensors").is_file())
    evaluate = [sys.executable, "-m", "loralab.cli.evaluate", str(run_dir), "--splits", "test",
                "--max-examples", "4", "--output", str(run_dir / "eval-reloaded")]
    proc = guard.run(evaluate, work / f"{c.model}-{engine}-eval.log", f"{c.model} engines", None)
    row["eval_wall_s"] = round(proc["wall_s"], 1)
    if "error" in proc:
        return {**row, "error": "the adapter did not reload: " + proc["error"]}
    reloaded = json.loads((run_dir / "eval-reloaded" / "eval.json").read_text())
    row["reloaded_examples"] = reloaded["splits"]["test"]["n"]
    return row


def run_contender(c: Contender, a: argparse.Namespace, guard: TimeGuard, prep: dict, model: Model,
                  peak_tflops: float | None) -> dict:
    work = Path(a.workdir)
    tag = f"{c.model}-b{c.batch}-{c.name.replace(' ', '_').replace('=', '-')}"
    result, run_dir = work / f"{tag}.json", work / tag
    if c.name == "A":
        cmd = child_cmd("A", a, result, micro_batch=c.batch, model_dir=prep["model_dir"],
                        data_dir=work / f"data-{c.model}", run_dir=run_dir)
    else:
        overrides = loralab_overrides(model, Path(prep["tokenizer_dir"]), c.batch, a, run_dir)
        overrides += c.name.split()[1:]  # the ablation's override
        cmd = [*child_cmd("L", a, result), "--", *overrides]
    proc = guard.run(cmd, work / f"{tag}.log", c.model, c.batch, a.warmup + a.steps)
    row = {"model": c.model, "micro_batch": c.batch, "contender": c.name, "wall_s": round(proc["wall_s"], 1),
           "peak_rss_gib": round(proc["peak_rss_gib"], 2), "launch_to_first_step_s": proc["launch_to_first_step_s"]}
    if "error" in proc:
        return {**row, "error": proc["error"]}
    row.update(measured(json.loads(result.read_text()), a.warmup))
    if "error" in row:  # too few steps ran
        return row
    estimate = prep["estimates"].get(f"{c.batch} {c.name}")
    if estimate:
        row.update(estimated_allocated_gib=estimate["allocated_gib"], estimated_total_gib=estimate["total_gib"])
    try:
        row["estimated_for_longest_micro_batch_gib"] = estimate_as_run(row, prep, a)
    except Exception as exc:  # noqa: BLE001 - a row's estimate must not lose the contenders still to run
        row["estimate_error"] = (f"{type(exc).__name__}: {exc}; the row keeps its measurements: fix the cause, then "
                                 "bench/gpu.py --reestimate on the results file")
    if peak_tflops:  # the card's rate, measured once while preparing the first model
        # FLOPs per token of this contender's adapter (rank 64 trains 8x rank 8's LoRA parameters)
        trainable = (estimate or {}).get("setup", {}).get("trainable", prep["n_lora"])
        flops = prep["flops_per_token"] + 6 * (trainable - prep["n_lora"])
        row["mfu"] = flops * row["tokens_per_s"] / (peak_tflops * 1e12)
    return row


def estimate_as_run(row: dict, prep: dict, a: argparse.Namespace) -> float:
    """The memory estimator's prediction for what a contender ran: its longest micro-batch (rows pad to
    the longest of theirs), its checkpointing and Liger's kernels as the run recorded them, on the
    hardware it ran on. A as loralab's settings express it."""
    import loralab
    from loralab.hardware import Hardware
    from loralab.memory import estimate

    hw = prep["hardware"]
    hw = Hardware(**{**hw, "cuda_capability": tuple(hw["cuda_capability"]) if hw["cuda_capability"] else None})
    setup, model = row["setup"], models_of(a)[row["model"]]
    overrides = [*loralab_overrides(model, Path(prep["tokenizer_dir"]), row["micro_batch"], a, Path("unused")),
                 *row["contender"].split()[1:],  # an ablation's override
                 f"trainer.max_length={row['longest_micro_batch_tokens'] // row['micro_batch']}",
                 f"trainer.gradient_checkpointing={str(setup['gradient_checkpointing']).lower()}",
                 f"trainer.liger_kernels={str(setup['liger_kernels']).lower()}"]
    return estimate(loralab.compose(overrides), hw if hw.device == "cuda" else None).allocated_gb


def reestimate(path: Path) -> None:
    """--reestimate: the current estimator's prediction for every row of a results file, beside the
    peaks it measured (the file keeps the run's own estimates); then its .md again."""
    from loralab.rundir import git_sha

    report = json.loads(path.read_text())
    s = report["settings"]
    a = argparse.Namespace(cpu=s["mode"] == "cpu", quick=False, models=None, warmup=s["warmup"], steps=s["steps"],
                           max_length=s["max_length"], rows=s["rows"])
    for row in report["results"]:
        if "error" in row:
            continue
        try:
            row["estimated_for_longest_micro_batch_gib"] = estimate_as_run(row, report["models"][row["model"]], a)
        except KeyError as missing:  # a file written before the run recorded what the estimate needs
            row["estimate_error"] = f"the row does not record {missing}: measure it again with this bench/gpu.py"
            print(f"{row['model']} b{row['micro_batch']} {row['contender']}: no estimate ({row['estimate_error']})")
    report["reestimated"] = {"commit": git_sha(), "what": "estimated_for_longest_micro_batch_gib: this commit's "
                             "memory estimator, for each contender's longest micro-batch and recorded settings"}
    path.write_text(json.dumps(report, indent=2) + "\n")
    path.with_suffix(".md").write_text(report_md(report))
    print(f"written: {path} and {path.with_suffix('.md')}")


# the results table: (header, key of a result row, format)
COLUMNS = (("tokens/s", "tokens_per_s", ".0f"), ("s/step", "s_per_step", ".3f"),
           ("median s/step", "median_s_per_step", ".3f"), ("tokens/step", "tokens_per_step", ".0f"),
           ("padding", "padding_fraction", ".1%"),
           ("longest micro-batch tokens", "longest_micro_batch_tokens", "d"),
           ("peak allocated GiB", "peak_allocated_gib", ".2f"),
           ("estimate at max_length", "estimated_allocated_gib", ".2f"),
           ("estimate for the longest micro-batch", "estimated_for_longest_micro_batch_gib", ".2f"),
           ("peak reserved GiB", "peak_reserved_gib", ".2f"),
           ("estimate with CUDA context and allocator reserve", "estimated_total_gib", ".2f"),
           ("MFU", "mfu", ".1%"), ("peak RSS GiB", "peak_rss_gib", ".2f"))


def report_md(report: dict) -> str:
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    s = report["settings"]
    lines = [f"# loralab vs the plain TRL script on {report['device']}", "",
             f"{s['warmup']} warm-up + {s['steps']} timed steps, {s['max_length']} tokens, NF4 base, "
             "LoRA r=8 all-linear; "
             f"bf16 matmul {fmt(report.get('peak_matmul_tflops'), '.1f')} TFLOP/s measured; commit {report['commit']}, "
             f"{report['manifest']['created']}.", "",
             "| " + " | ".join(["model", "micro-batch", "contender", *(c[0] for c in COLUMNS)]) + " |",
             "|" + "---|" * (3 + len(COLUMNS))]
    for r in report["results"]:
        cells = ([f"failed: {r['error'][:160]}".replace("|", "/").replace("\n", " ")] if "error" in r
                 else [fmt(r.get(key), f) for _, key, f in COLUMNS])
        lines.append("| " + " | ".join([r["model"], str(r["micro_batch"]), r["contender"], *cells]) + " |")
    lines += ["", "Memory estimates, gradient checkpointing on and off (GiB allocated / total):", ""]
    for name, prep in report["models"].items():
        for key, e in (prep or {}).get("estimates", {}).items():
            if key.endswith(" L") or "gradient_checkpointing=" in key:
                lines.append(f"- {name} micro-batch {key.split()[0]}, checkpointing "
                             f"{'on' if e['setup']['gradient_checkpointing'] else 'off'}: "
                             f"{e['allocated_gib']:.2f} / {e['total_gib']:.2f}")
    if report.get("engines"):
        lines += ["", f"Engines on this GPU ({ENGINE_STEPS} steps, then the adapter reloaded by loralab-eval):", ""]
        for r in report["engines"]:
            if "skipped" in r:
                outcome = f"not run: {r['skipped']}"
            elif "error" in r:
                outcome = "failed: " + r["error"][:200].replace("\n", " ")
            else:
                outcome = (f"{r['steps']} steps, last loss {fmt(r['train_loss_last'], '.3f')}, adapter saved: "
                           f"{'yes' if r['adapter_saved'] else 'no'}, reloaded and scored on "
                           f"{r['reloaded_examples']} examples ({r['wall_s']:.0f} s + {r['eval_wall_s']:.0f} s)")
            lines.append(f"- `distributed={r['contender'].split()[1]}` ({r['model']}, micro-batch "
                         f"{r['micro_batch']}): {outcome}")
    if report["skipped"]:
        lines += ["", "Not run: " + "; ".join(f"{x['id']} ({x['note']})" for x in report["skipped"]) + "."]
    lines += ["", f"MFU: {fo.FLOPS_FORMULA}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cpu", action="store_true", help="smoke mode: the tiny architecture on the CPU")
    p.add_argument("--quick", action="store_true", help="Qwen2.5-1.5B at micro-batch 4 only")
    p.add_argument("--models", help="comma-separated subset of the models")
    p.add_argument("--contenders", default="all", help="comma-separated: A, L and ablation overrides, or all")
    p.add_argument("--steps", type=int, help="timed steps (default 10; --cpu 2)")
    p.add_argument("--warmup", type=int, help="steps before timing (default 3; --cpu 1)")
    p.add_argument("--max-length", type=int)
    p.add_argument("--rows", type=int, help="generated examples, 80 %% of them trained on (default 1000; --cpu 300)")
    p.add_argument("--budget-s", type=float, default=BUDGET_S, help="the whole script's time guard")
    p.add_argument("--commit", help="the commit measured (default: git rev-parse HEAD here)")
    p.add_argument("--out", type=Path, default=fo.ROOT / "bench" / "results")
    p.add_argument("--workdir", type=Path, help="keep logs, data and the random checkpoints here (default: a temp dir)")
    p.add_argument("--reestimate", type=Path, metavar="RESULTS_JSON",
                   help="add the current memory estimator's predictions to a results file (no GPU needed)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    for name in ("result", "model", "model-dir", "data-dir", "run-dir"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    p.add_argument("--micro-batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--measure-peak", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    a = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    mode = "cpu" if a.cpu else "gpu"
    a.steps = a.steps or (2 if a.cpu else 10)
    a.warmup = a.warmup if a.warmup is not None else (1 if a.cpu else 3)
    a.max_length = a.max_length or MAX_LENGTH[mode]
    a.rows = a.rows or (300 if a.cpu else 1000)
    if a.reestimate:
        return reestimate(a.reestimate)
    if a.child == "prepare":
        return child_prepare(a)
    if a.child == "A":
        return child_plain(a)
    if a.child == "L":
        return child_loralab(a, overrides)

    from loralab.rundir import base_manifest, git_sha

    keep = a.workdir is not None
    a.workdir = (a.workdir or Path(tempfile.mkdtemp(prefix="loralab-bench-gpu-"))).resolve()
    a.workdir.mkdir(parents=True, exist_ok=True)
    # offline (the GPU machine reaches no hub); the random checkpoints are cached in the work dir
    guard = TimeGuard(a.budget_s, {"PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                                   "LORALAB_CACHE": str(a.workdir / "cache")})
    os.environ.update(guard.env)  # for a preparation in this process too
    models = models_of(a)
    names = ["A", "L", *ENGINES, *ABLATIONS] if a.contenders == "all" else a.contenders.split(",")
    unknown = sorted(set(names) - {"A", "L", *ENGINES, *ABLATIONS})
    if unknown:
        sys.exit(f"--contenders: unknown {unknown}; choose from A, L, {', '.join([*ENGINES, *ABLATIONS])}")
    if a.cpu:  # the sharding engines need CUDA (validation refuses them on a CPU)
        names = [n for n in names if n not in ENGINES]
    names = [n if n in ("A", "L") else f"E {n}" if n in ENGINES else f"L {n}" for n in names]
    report = {"device": None, "command": shlex.join(["python", "bench/gpu.py", *sys.argv[1:]]),
              "commit": a.commit or git_sha(), "manifest": base_manifest(),
              "settings": {"mode": mode, "steps": a.steps, "warmup": a.warmup, "max_length": a.max_length,
                           "rows": a.rows, "lora": fo.LORA, "budget_s": a.budget_s, "tokenizer_vocab": TOKENIZER_VOCAB},
              "flops_formula": fo.FLOPS_FORMULA, "models": {}, "results": [], "engines": [], "skipped": []}
    out_name = None
    for c in plan(models, names):
        if c.model not in report["models"]:
            first = report["device"] is None  # the first model prepared also measures the matmul rate
            if guard.left() < models[c.model].guess_s * 2:
                report["skipped"].append({"id": c.id, "note": "no time left to prepare the model"})
                continue
            print(f"preparing {c.model} (random checkpoint, data, estimates) in {a.workdir}", flush=True)
            error = prepare(c.model, first, a, guard)
            if error:
                report["skipped"].append({"id": c.id, "note": f"preparation failed: {error[-600:]}"})
                report["models"][c.model] = None
                continue
            report["models"][c.model] = json.loads((a.workdir / f"prepare-{c.model}.json").read_text())
            if first:
                hw = report["models"][c.model]["hardware"]
                report["device"] = hw["device_name"]
                report["peak_matmul_tflops"] = report["models"][c.model]["peak_matmul_tflops"]
                out_name = "gpu_" + ("cpu-smoke" if a.cpu else "".join(ch if ch.isalnum() else "-"
                                                                        for ch in hw["device_name"].lower()))
        prep = report["models"][c.model]
        if prep is None:
            report["skipped"].append({"id": c.id, "note": "its model's preparation failed"})
            continue
        engine = c.name.startswith("E ")
        expected = (guard.expected(f"{c.model} engines", None, 3 * models[c.model].guess_s) if engine
                    else guard.expected(c.model, c.batch, models[c.model].guess_s))
        if expected > guard.left():
            report["skipped"].append({"id": c.id,
                                      "note": f"time guard: ~{expected:.0f} s needed, {guard.left():.0f} s left"})
            continue
        if engine:
            row = run_engine(c, a, guard, prep, models[c.model])
            report["engines"].append(row)
            outcome = row.get("skipped") or row.get("error", "")[-300:] or "trained, saved, reloaded"
            print(f"{c.id}: {outcome}", flush=True)
            write(report, a.out, out_name)
            continue
        row = run_contender(c, a, guard, prep, models[c.model], report.get("peak_matmul_tflops"))
        report["results"].append(row)
        shown = row.get("error", "")[-300:] or (f"{row['tokens_per_s']:.0f} tokens/s, {row['s_per_step']:.3f} "
                                                f"s/step, peak {fmt_gib(row.get('peak_allocated_gib'))} GiB")
        if "estimate_error" in row:
            shown += f"; no memory estimate: {row['estimate_error']}"
        print(f"{c.id}: {shown} ({row['wall_s']:.0f} s)", flush=True)
        write(report, a.out, out_name)
    report["elapsed_s"] = round(a.budget_s - guard.left(), 1)
    path = write(report, a.out, out_name or "gpu_failed")
    print(report_md(report))
    print(f"written: {path} and {path.with_suffix('.md')}")
    if not keep:
        shutil.rmtree(a.workdir, ignore_errors=True)
    rows = report["results"] + report["engines"]
    if not rows or any("error" in r for r in rows):
        sys.exit(1)


def fmt_gib(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write(report: dict, out: Path, name: str | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name or 'gpu_partial'}.json"
    path.write_text(json.dumps(report, indent=2))
    path.with_suffix(".md").write_text(report_md(report))
    return path


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
