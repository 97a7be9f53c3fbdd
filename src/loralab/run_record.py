"""``record.json``: where a run's wall time went, on which machine, with which versions, and its
headline numbers, in the shape of a committed benchmark result (bench/results/), so that a
figure quoted in the docs can be reproduced from the file that backs it.

The phases: ``setup`` (from ``LORALAB_WALL_START``, which ``make train`` sets before it builds the
environment, or from the process start, to the recipe's start), ``model`` (locating, and for the
embedded model materialising, then loading it), ``data`` (generating or reading, checking and
tokenizing), ``training`` and ``evaluation``; ``total`` is end to end."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from .rundir import base_manifest, now


def machine() -> dict[str, Any]:
    """The CPU model, its cores and whether it computes bf16 natively (AVX512-BF16 or AMX: such
    CPUs train about twice as fast as AVX2-only ones), and the GPU, if any. When torch was told to
    use less of the CPU (hardware.ISA_LIMITS), the limits and the kernels ATen used are recorded
    too: the figures are then those of the limited machine."""
    import torch

    from .hardware import cpu_model_and_flags, isa_limits

    cpu, flags = cpu_model_and_flags()
    out = {"cpu": cpu, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags,
           "amx_bf16": "amx_bf16" in flags,
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    if limits := isa_limits():
        out["isa_limits"] = limits
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return out


def machine_tag(m: dict[str, Any]) -> str:
    """A result file's machine suffix: ``gpu_<name>``, ``cpu_avx512bf16``, ``cpu_avx2``, or, for a
    torch limited below its CPU, ``cpu_<what it was limited to>_limited``."""
    if m.get("gpu"):
        return "gpu_" + "".join(c if c.isalnum() else "_" for c in m["gpu"].lower()).strip("_")
    if m.get("isa_limits"):
        return f"cpu_{(m.get('torch_cpu_capability') or 'isa').lower()}_limited"
    return "cpu_avx512bf16" if m.get("avx512_bf16") or m.get("amx_bf16") else "cpu_avx2"


def _process_start() -> float:
    """This process's start as a Unix time (Linux); now, elsewhere."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


class Phases:
    """Wall-clock seconds per phase of one run."""

    def __init__(self) -> None:
        env = os.environ.get("LORALAB_WALL_START")
        self.wall_start = float(env) if env else _process_start()
        self.seconds: dict[str, float] = {"setup": round(time.time() - self.wall_start, 1)}

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 1)

    def to_dict(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.time() - self.wall_start, 1)}


def headline(eval_report: dict | None) -> dict[str, Any]:
    """The primary split's headline rates, fine-tuned and (on the same examples) base."""
    if not eval_report:
        return {}
    from .evaluation.aggregate import HEADLINE

    split = eval_report["splits"].get(eval_report["primary"], {})
    out: dict[str, Any] = {"split": eval_report["primary"], "n": split.get("n")}
    tuned = split.get("fine_tuned", {}).get("report", {}).get("rates", {})
    base = split.get("base", {}).get("report", {}).get("rates", {})
    for name in HEADLINE:
        if name in tuned:
            out[name] = tuned[name].get("value")
            out[f"{name}_ci95"] = tuned[name].get("ci95")
        if name in base:
            out[f"{name}_base"] = base[name].get("value")
    if "comparison_n" in split:
        out["base_n"] = split["comparison_n"]
    return out


def record(cfg, phases: Phases, metrics: dict, eval_report: dict | None) -> dict[str, Any]:
    manifest = base_manifest()
    return {
        "kind": "make_train" if os.environ.get("LORALAB_COMMAND", "").startswith("make train") else "run",
        "command": os.environ.get("LORALAB_COMMAND", "").strip() or " ".join(["loralab-train", *sys.argv[1:]]),
        "commit": manifest["git_sha"], "date": now(), "machine": machine(),
        "versions": {k: v for k, v in manifest["packages"].items() if v}, "python": manifest["python"],
        "experiment": cfg.get("run_name"), "phases_s": phases.to_dict(),
        "steps": metrics.get("summary", {}).get("global_step"),
        "train_tokens_per_s": metrics.get("summary", {}).get("train_tokens_per_s"),
        "eval_loss_first": metrics.get("final", {}).get("eval_loss_first"),
        "eval_loss_last": metrics.get("final", {}).get("eval_loss_last"),
        "metrics": headline(eval_report), "scoring": "strict",
    }
