"""What loralab costs, or saves, against the plain script: `make bench` (CPU, the embedded model).

Three contenders train the same model (the embedded SmolLM2-135M-Instruct), on the same data (the
bundled tool-calling task, tokenized once by loralab's pipeline exactly as `loralab-train` does:
chat template, assistant mask, max_length), with the same micro-batch, sequence length, steps,
LoRA (r=8, alpha=16, dropout 0.05, all linear layers) and learning rate; training only (no
evaluation, no checkpoint saves), each in its own process, in turns (A B C A B C ...) so that
machine drift falls on all of them alike:

  A  the seeds' ~30-line script: AutoModelForCausalLM + peft LoraConfig + trl SFTTrainer, with
     the libraries' defaults for everything the seed does not set (TRL 1.x: bf16=True,
     gradient checkpointing on, its fused LM head; transformers: random sampling, fp32 weights);
  B  the same script hand-tuned for this machine: bf16 weights and autocast only where the CPU
     has native bf16 (else fp32), no gradient checkpointing, the model's plain LM head instead of
     TRL's fused one, length-grouped batches;
  C  loralab's default run through the real `loralab-train` CLI with matching overrides.
  P  (--packing) C with trainer.packing=true.
  T  (--top-layers N) C with lora.top_layers=N: only the top N decoder layers adapted, so the
     backward pass stops there (its MFU is left out: the formula below assumes a full backward).

A and B read the pre-tokenized rows from disk (a seed script would let SFTTrainer tokenize
`messages`; tokenizing once for all keeps the trained tokens identical); C tokenizes them itself
inside its run, so its launch-to-first-step time includes data generation and tokenization.

Measured per run: non-padding tokens trained per second (TRL's own count, attention_mask.sum(),
over transformers' train_runtime), s/step, padding fraction (1 - non-padding / all input
tokens), time to the first step (in-process from the start of train(), and from process launch
to the progress bar's first step), peak RSS of the process (os.wait4), and MFU against this
machine's dense bf16 / fp32 matmul rate measured in the same run. Medians over --reps.
Also: start-up time of composing + validating a config (no model load), and the padding a full
epoch would have with random batches, length-grouped batches and packing.

    python bench/framework_overhead.py [--steps 8] [--reps 3] [--packing] [--top-layers 15] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LORA = dict(r=8, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear")
LR = 1e-3  # the rate bench/results was measured with (the quickstart now trains at 2e-3; speed does not depend on it)
TARGETS = {"C/B": 0.95, "C/A": 15.0, "startup_s": 3.0}
FLOPS_FORMULA = ("training FLOPs per non-padding token = 4*N_base + 6*N_lora + 6*n_layers*d_attn*(E[L^2]/E[L] + 1): "
                 "forward 2*N_base; backward through the frozen base for activation gradients only 2*N_base (no "
                 "weight gradients); LoRA forward + activation + weight gradients 6*N_lora; causal attention "
                 "scores and values, forward 4*n_layers*d_attn per attended position and backward twice that, "
                 "over the rows' lengths L. N_base counts every linear layer's weight, the LM head included (the "
                 "embedding lookup is no matmul). Model FLOPs only: gradient checkpointing's recomputation and "
                 "padding are not counted as work.")


# --- the contenders' scripts (A, B): what a user of the plain libraries writes ------------------------

def seed_script(model_dir: str, data_dir: str, out_dir: str, steps: int, micro_batch: int, max_length: int):
    """A: the seeds' plain script. Only what the seed sets is set; TRL and transformers decide the rest."""
    from datasets import load_from_disk
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = load_from_disk(data_dir)  # input_ids + assistant_masks: TRL builds the labels
    peft_config = LoraConfig(**LORA, task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=out_dir,
        use_cpu=True,  # without it TRL's default bf16=True refuses a machine without a GPU
        per_device_train_batch_size=micro_batch,
        max_steps=steps,
        learning_rate=LR,
        max_length=max_length,
        logging_steps=1,
        save_strategy="no",
    )
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                      peft_config=peft_config)


def tuned_script(model_dir: str, data_dir: str, out_dir: str, steps: int, micro_batch: int, max_length: int):
    """B: the same script as a careful engineer tunes it for a CPU."""
    import torch
    from datasets import load_from_disk
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer
    from trl import SFTConfig, SFTTrainer

    class PlainHeadSFTTrainer(SFTTrainer):
        # TRL 1.x always computes the loss with its fused, tiled LM head: on a CPU that only costs time
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs["use_cache"] = False
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    native_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags  # else torch emulates bf16, slower than fp32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if native_bf16 else torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    dataset = load_from_disk(data_dir)
    peft_config = LoraConfig(**LORA, task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=out_dir,
        use_cpu=True,
        bf16=native_bf16,
        gradient_checkpointing=False,  # memory is not the limit on a CPU; recomputation is pure cost
        train_sampling_strategy="group_by_length",  # rows of similar length: little padding
        per_device_train_batch_size=micro_batch,
        max_steps=steps,
        learning_rate=LR,
        max_length=max_length,
        logging_steps=1,
        save_strategy="no",
    )
    return PlainHeadSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                               peft_config=peft_config)


def loralab_cli_args(steps: int, micro_batch: int, max_length: int, run_dir: Path, packing: bool,
                     top_layers: int | None = None) -> list[str]:
    """C: `loralab-train` (the default experiment) with the shared settings; training only."""
    return [str(Path(sys.executable).parent / "loralab-train"),
            f"trainer.max_steps={steps}", f"trainer.micro_batch_size={micro_batch}", f"trainer.max_length={max_length}",
            "trainer.eval_strategy=no", "trainer.eval_on_start=false", "trainer.save_strategy=no",
            "trainer.load_best_model_at_end=false", "trainer.logging_steps=1", "eval.at_end=false",
            *(["trainer.packing=true"] if packing else []),
            # every layer adapted, as in A and B, unless T asks for the top ones (the default experiment's 15)
            f"lora.top_layers={top_layers or 'null'}", f"hydra.run.dir={run_dir}"]


# --- child processes -----------------------------------------------------------------------------------

def child_script(name: str, a: argparse.Namespace) -> None:
    """Run contender A or B, instrumented from outside the script, and write its measurements."""
    from transformers import TrainerCallback

    build = {"A": seed_script, "B": tuned_script}[name]
    trainer = build(a.model_dir, a.data_dir, a.run_dir, a.steps, a.micro_batch, a.max_length)
    counts = {"tokens": 0, "input_tokens": 0, "tokens_step1": None}
    step = trainer.training_step

    def counted_step(model, inputs, *args, **kwargs):  # the same counts loralab's metrics.json holds
        counts["tokens"] += int(inputs["attention_mask"].sum())
        counts["input_tokens"] += int(inputs["input_ids"].numel())
        if counts["tokens_step1"] is None:
            counts["tokens_step1"] = counts["tokens"]
        return step(model, inputs, *args, **kwargs)

    class FirstStep(TrainerCallback):  # as loralab's MetricsRecorder times it
        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            counts.setdefault("time_to_first_step_s", time.perf_counter() - self.start)

    trainer.training_step = counted_step
    trainer.add_callback(FirstStep())
    out = trainer.train()
    model = trainer.model
    weights = {str(p.dtype).removeprefix("torch.") for p in model.parameters() if not p.requires_grad}
    result = {"train_runtime": out.metrics["train_runtime"], "global_step": trainer.state.global_step, **counts,
              "setup": {"bf16_autocast": trainer.args.bf16, "base_weights": sorted(weights),
                        "gradient_checkpointing": trainer.args.gradient_checkpointing,
                        "lm_head": "TRL fused" if name == "A" else "plain",
                        "sampling": trainer.args.train_sampling_strategy}}
    Path(a.result).write_text(json.dumps(result))


def child_prepare(a: argparse.Namespace) -> None:
    """Tokenize the default run's training rows once (loralab's pipeline), count the model's
    parameters, and work out the padding a full epoch has with each batching."""
    import loralab
    from loralab.data.pipeline import load_splits, tokenize_split
    from loralab.hardware import detect, resolve_precision
    from loralab.modeling import apply_lora, build_model, build_tokenizer, model_location

    cfg = loralab.compose([f"trainer.micro_batch_size={a.micro_batch}", f"trainer.max_length={a.max_length}",
                           "lora.top_layers=null"])
    location = model_location(cfg.model, cfg.paths.cache_dir)  # materialises the embedded model on first use
    tokenizer = build_tokenizer(cfg.model, location)
    splits = load_splits(cfg.data)
    records = splits.records["train"][: cfg.data.max_train_examples or None]
    train = tokenize_split(records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "train")
    train.dataset.save_to_disk(a.data_dir)
    lengths = [len(ids) for ids in train.dataset["input_ids"]]

    import torch

    hw = detect()
    model = apply_lora(build_model(cfg.model, location, resolve_precision("fp32", None, hw), hw, False), cfg.lora)
    base = sum(m.weight.numel() for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and "lora_" not in n and hasattr(m, "weight"))
    lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    conf = model.config
    d_attn = conf.num_attention_heads * getattr(conf, "head_dim", conf.hidden_size // conf.num_attention_heads)
    mean_l, mean_l2 = statistics.fmean(lengths), statistics.fmean(x * x for x in lengths)
    per_token = 4 * base + 6 * lora + 6 * conf.num_hidden_layers * d_attn * (mean_l2 / mean_l + 1)
    Path(a.result).write_text(json.dumps({
        "model_dir": location, "hardware": hw.to_dict(), "rows": len(lengths), "data_stats": train.stats,
        "n_base_linear": base, "n_lora": lora, "n_layers": conf.num_hidden_layers, "d_attn": d_attn,
        "mean_length": mean_l, "flops_per_token": per_token,
        "epoch_padding": epoch_padding(lengths, a.micro_batch, a.max_length, seed=cfg.seed)}))


def epoch_padding(lengths: list[int], batch: int, max_length: int, seed: int) -> dict:
    """Padding fraction over one epoch of right-padded batches: random order (transformers' default),
    length-grouped (group_by_length), and TRL's bfd packing (padding-free: no pad, rows filled to max_length)."""
    import torch
    from torch.utils.data import RandomSampler
    from transformers.trainer_pt_utils import LengthGroupedSampler

    def padded(order: list[int]) -> float:
        real = total = 0
        for i in range(0, len(order), batch):
            rows = [lengths[j] for j in order[i:i + batch]]
            real, total = real + sum(rows), total + max(rows) * len(rows)
        return 1 - real / total

    random_order = list(RandomSampler(lengths, generator=torch.Generator().manual_seed(seed)))
    grouped = list(LengthGroupedSampler(batch, lengths=lengths, generator=torch.Generator().manual_seed(seed)))
    from datasets import Dataset
    from trl.data_utils import pack_dataset

    packed = pack_dataset(Dataset.from_dict({"input_ids": [[0] * n for n in lengths]}), max_length, "bfd")
    rows = [sum(s) for s in packed["seq_lengths"]]
    return {"random": round(padded(random_order), 4), "group_by_length": round(padded(grouped), 4),
            "packing_bfd": 0.0, "packing_rows": len(rows), "packing_row_fill": round(sum(rows) / (len(rows) * max_length), 4)}


def child_peak(a: argparse.Namespace) -> None:
    """Dense matmul FLOP/s in bf16 and fp32, at the model's shapes (tokens x hidden x MLP)."""
    import torch

    out = {"threads": torch.get_num_threads()}
    for dtype in (torch.bfloat16, torch.float32):
        best = 0.0
        for m, k, n in ((2048, 576, 1536), (2048, 1536, 576)):
            x, w = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
            for _ in range(3):
                x @ w
            reps, start = 0, time.perf_counter()
            while time.perf_counter() - start < a.peak_seconds:
                x @ w
                reps += 1
            best = max(best, 2 * m * k * n * reps / (time.perf_counter() - start))
        out[str(dtype).removeprefix("torch.")] = best
    Path(a.result).write_text(json.dumps(out))


# --- the parent: launch, watch, wait --------------------------------------------------------------------

def launch(cmd: list[str], log: Path, steps: int | None = None, env: dict | None = None) -> dict:
    """Run ``cmd``; return wall time, peak RSS (this child alone, os.wait4), the exit code and the time
    from launch to the trainer's progress bar showing its first step."""
    first_step = re.compile(rf"(?<![\d/])1/{steps} \[".encode()) if steps else None
    seen: dict = {}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, **(env or {})})

    def drain(stream, sink, watch: bool):
        tail = b""
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            sink.write(chunk)
            if watch and first_step is not None and "first" not in seen:
                tail = (tail + chunk)[-4096:]
                if first_step.search(tail):
                    seen["first"] = time.perf_counter() - start

    with open(log, "wb") as out:
        readers = [threading.Thread(target=drain, args=(proc.stdout, out, False)),
                   threading.Thread(target=drain, args=(proc.stderr, out, True))]
        for r in readers:
            r.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        for r in readers:
            r.join()
    return {"wall_s": wall, "peak_rss_gib": usage.ru_maxrss / 2**20, "returncode": proc.returncode,
            "launch_to_first_step_s": seen.get("first")}


def child_cmd(kind: str, a: argparse.Namespace, result: Path, **extra) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--result", str(result),
           "--steps", str(a.steps), "--micro-batch", str(a.micro_batch), "--max-length", str(a.max_length),
           "--peak-seconds", str(a.peak_seconds)]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


def measure_peak(a: argparse.Namespace, work: Path, when: str) -> dict:
    launch(child_cmd("peak", a, work / f"peak-{when}.json"), work / f"peak-{when}.log")
    return json.loads((work / f"peak-{when}.json").read_text())


def run_contender(name: str, rep: int, a: argparse.Namespace, work: Path, prep: dict) -> dict:
    run_dir, result = work / f"{name}-{rep}", work / f"{name}-{rep}.json"
    if name in ("A", "B"):
        cmd = child_cmd(name, a, result, model_dir=prep["model_dir"], data_dir=work / "train", run_dir=run_dir)
    else:
        cmd = loralab_cli_args(a.steps, a.micro_batch, a.max_length, run_dir, packing=name == "P",
                               top_layers=a.top_layers if name == "T" else None)
    proc = launch(cmd, work / f"{name}-{rep}.log", a.steps)
    if proc["returncode"] != 0:
        tail = (work / f"{name}-{rep}.log").read_text(errors="replace")[-1500:]
        return {**proc, "error": f"exit {proc['returncode']}: ...{tail}"}
    if name in ("A", "B"):
        r = json.loads(result.read_text())
    else:  # loralab's own records of the run
        metrics = json.loads((run_dir / "metrics.json").read_text())
        manifest = json.loads((run_dir / "manifest.json").read_text())
        s, log = metrics["summary"], metrics["train"]
        r = {"train_runtime": s["train_runtime"], "global_step": s["global_step"],
             "tokens": int(log[-1]["num_tokens"]), "input_tokens": int(log[-1]["num_input_tokens_seen"]),
             "tokens_step1": int(log[0]["num_tokens"]), "time_to_first_step_s": s["time_to_first_step_s"],
             "setup_s": s.get("setup_s"),
             "setup": {"precision": manifest["precision"]["name"], "gradient_checkpointing": "default (off on CPU)",
                       "lm_head": "plain (CPU), trained positions only",
                       "sampling": "packing" if name == "P" else "group_by_length",
                       **({"lora.top_layers": a.top_layers} if name == "T" else {})}}
    out = {**proc, **derived(r, prep, a.steps)}
    if name == "T":
        out["train_flops_per_s"] = None  # the FLOP formula assumes a backward pass through every layer
    return out


def derived(r: dict, prep: dict, steps: int) -> dict:
    runtime, first = r["train_runtime"], r["time_to_first_step_s"]
    later = r["tokens"] - r["tokens_step1"]
    return {**r, "tokens_per_s": r["tokens"] / runtime, "s_per_step": runtime / max(1, r["global_step"]),
            "steady_tokens_per_s": later / (runtime - first) if later and runtime > first else None,
            "padding_fraction": 1 - r["tokens"] / r["input_tokens"],
            "train_flops_per_s": prep["flops_per_token"] * r["tokens"] / runtime}


def startup_times(reps: int) -> dict:
    """Composing and validating a config in a fresh process, and `loralab-train --cfg job`: no model loads."""
    cmds = {"compose": [sys.executable, "-c", "import loralab.api as a; a.compose([])"],
            "cfg_job": [str(Path(sys.executable).parent / "loralab-train"), "--cfg", "job"]}
    out = {}
    for name, cmd in cmds.items():
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        out[name] = {"median_s": statistics.median(times), "all_s": [round(t, 3) for t in times]}
    return out


def median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(runs: dict[str, list[dict]], prep: dict, peak: dict) -> dict:
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        row = {k: median(ok, k) for k in ("tokens_per_s", "steady_tokens_per_s", "s_per_step", "peak_rss_gib",
                                          "padding_fraction", "time_to_first_step_s", "launch_to_first_step_s",
                                          "wall_s", "train_flops_per_s")}
        row["tokens_per_s_all"] = [round(r["tokens_per_s"], 1) for r in ok]
        row["failed"] = len(rs) - len(ok)
        row["setup"] = ok[0]["setup"] if ok else None
        if row["train_flops_per_s"]:
            row["mfu_bf16"] = row["train_flops_per_s"] / peak["bfloat16"]
            row["mfu_fp32"] = row["train_flops_per_s"] / peak["float32"]
        out[name] = row
    return out


def ratio(runs: dict[str, list[dict]], a: str, b: str):
    """Median over repetitions of a/b within each repetition: the two ran back to back, so drift
    of the machine between repetitions (or a neighbour's load) cancels in each pair."""
    pairs = [x["tokens_per_s"] / y["tokens_per_s"] for x, y in zip(runs.get(a, []), runs.get(b, []))
             if "error" not in x and "error" not in y and y.get("tokens_per_s")]
    return statistics.median(pairs) if pairs else None


def c_over_a_note(prep: dict) -> str:
    if prep["hardware"]["cpu_native_bf16"]:
        return ("this CPU has native bf16 (AVX512-BF16/AMX): TRL's default bf16=True is not emulated here, so A "
                "loses only what gradient checkpointing, TRL's fused LM head, fp32 master weights under autocast and "
                "random-order padding cost; the 15x target assumed an AVX2-only CPU, where A's bf16 is emulated "
                "(FACTS: 114 vs 6.4 s/step)")
    return "AVX2-only CPU: TRL's default bf16 is emulated by torch, which is what the 15x target measures"


def markdown(report: dict) -> str:
    s, prep = report["summary"], report["prepare"]
    lines = [f"# Framework overhead: {report['machine']}", "",
             f"{report['settings']['steps']} steps x micro-batch {report['settings']['micro_batch']}, max_length "
             f"{report['settings']['max_length']}, medians of {report['settings']['reps']} alternating repetitions; "
             f"peak matmul {report['peak_flops']['bfloat16'] / 1e9:.0f} GFLOP/s bf16, "
             f"{report['peak_flops']['float32'] / 1e9:.0f} GFLOP/s fp32 ({report['peak_flops']['threads']} threads).", "",
             "| contender | tokens/s | steady tokens/s | s/step | peak RSS GiB | padding | first step (in train) "
             "| launch to first step | MFU bf16 | MFU fp32 |", "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for name, row in s.items():
        lines.append(f"| {name} {report['labels'][name]} | {fmt(row['tokens_per_s'], '.1f')} | "
                     f"{fmt(row['steady_tokens_per_s'], '.1f')} | {fmt(row['s_per_step'], '.2f')} | "
                     f"{fmt(row['peak_rss_gib'], '.2f')} | {fmt(row['padding_fraction'], '.1%')} | "
                     f"{fmt(row['time_to_first_step_s'], '.1f')} s | {fmt(row['launch_to_first_step_s'], '.1f')} s | "
                     f"{fmt(row.get('mfu_bf16'), '.1%')} | {fmt(row.get('mfu_fp32'), '.1%')} |")
    lines += ["", "| ratio of tokens/s (median of per-repetition ratios) | measured | target |", "|---|---|---|"]
    for key, value in report["ratios"].items():
        if value is None:  # a contender of the pair did not run (--contenders)
            continue
        lines.append(f"| {key} | {fmt(value, '.2f')} | {f'>= {TARGETS[key]:g}' if key in TARGETS else '-'} |")
    st = report["startup"]
    lines += ["", f"C/A: {report['c_over_a_note']}.", "",
              f"Start-up without a model load (target < {TARGETS['startup_s']:g} s): `loralab.compose([])` in a fresh "
              f"process {st['compose']['median_s']:.2f} s, `loralab-train --cfg job` {st['cfg_job']['median_s']:.2f} s.", "",
              f"Padding over a full epoch of the default data ({prep['rows']} rows, micro-batch "
              f"{report['settings']['micro_batch']}): random order {prep['epoch_padding']['random']:.1%}, "
              f"group_by_length {prep['epoch_padding']['group_by_length']:.1%}, packing (bfd, padding-free) 0 % "
              f"({prep['epoch_padding']['packing_rows']} packed rows, {prep['epoch_padding']['packing_row_fill']:.0%} full).",
              "", "Setups: " + "; ".join(f"{k}: " + ", ".join(f"{x}={y}" for x, y in (v["setup"] or {}).items())
                                      for k, v in s.items()) + ".", "",
              f"MFU: {FLOPS_FORMULA} Here N_base={prep['n_base_linear']:,}, N_lora={prep['n_lora']:,}, "
              f"n_layers={prep['n_layers']}, d_attn={prep['d_attn']}: {prep['flops_per_token'] / 1e6:.0f} MFLOP per token."]
    return "\n".join(lines) + "\n"


LABELS = {"A": "(seed script, library defaults)", "B": "(seed script, hand-tuned)", "C": "(loralab-train)",
          "P": "(loralab-train, packing)", "T": "(loralab-train, lora.top_layers)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--contenders", default="A,B,C")
    p.add_argument("--packing", action="store_true", help="also run P: loralab-train with trainer.packing=true")
    p.add_argument("--top-layers", type=int, help="also run T: loralab-train with lora.top_layers=N")
    p.add_argument("--startup-reps", type=int, default=3)
    p.add_argument("--peak-seconds", type=float, default=2.0)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--workdir", type=Path, help="keep the runs' logs and directories here (default: a temp dir)")
    # the children's own arguments
    p.add_argument("--child", help=argparse.SUPPRESS)
    for name in ("result", "model-dir", "data-dir", "run-dir"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child == "prepare":
        return child_prepare(a)
    if a.child == "peak":
        return child_peak(a)
    if a.child:
        return child_script(a.child, a)

    work = a.workdir or Path(tempfile.mkdtemp(prefix="loralab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    contenders = a.contenders.split(",") + (["P"] if a.packing else []) + (["T"] if a.top_layers else [])
    print(f"preparing data and model (work dir {work})", flush=True)
    if launch(child_cmd("prepare", a, work / "prepare.json", data_dir=work / "train"), work / "prepare.log")["returncode"]:
        sys.exit(f"preparation failed: see {work / 'prepare.log'}")
    prep = json.loads((work / "prepare.json").read_text())
    peaks = [measure_peak(a, work, "before")]
    startup = startup_times(a.startup_reps)
    print("start-up:", json.dumps(startup), flush=True)
    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    for rep in range(a.reps):
        for name in contenders:  # alternating, so drift falls on every contender alike
            r = run_contender(name, rep, a, work, prep)
            runs[name].append(r)
            shown = (f"{r['tokens_per_s']:.1f} tokens/s, {r['s_per_step']:.2f} s/step, {r['peak_rss_gib']:.2f} GiB"
                     if "error" not in r else r["error"][-300:])
            print(f"rep {rep + 1}/{a.reps} {name}: {shown}", flush=True)
    peaks.append(measure_peak(a, work, "after"))
    peak = {k: max(pk[k] for pk in peaks) for k in peaks[0]}
    summary = summarise(runs, prep, peak)
    report = {"machine": f"{prep['hardware']['device_name']}, {prep['hardware']['cpu_count']} CPUs, native bf16: "
                         f"{prep['hardware']['cpu_native_bf16']}",
              "settings": {"steps": a.steps, "reps": a.reps, "micro_batch": a.micro_batch, "max_length": a.max_length,
                           "lora": LORA, "lr": LR},
              "labels": {k: LABELS[k] for k in contenders}, "summary": summary, "startup": startup,
              "ratios": {"C/B": ratio(runs, "C", "B"), "C/A": ratio(runs, "C", "A"),
                         **({"P/C": ratio(runs, "P", "C")} if "P" in summary else {}),
                         **({"T/C": ratio(runs, "T", "C")} if "T" in summary else {})},
              "targets": TARGETS, "c_over_a_note": c_over_a_note(prep), "peak_flops": peak,
              "peak_flops_each": peaks, "flops_formula": FLOPS_FORMULA, "prepare": prep, "runs": runs}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(report, indent=2))
    (a.out / "bench.md").write_text(markdown(report))
    print(markdown(report))
    print(f"written: {a.out / 'bench.json'}, {a.out / 'bench.md'}")
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)
    if any(row["failed"] for row in summary.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
