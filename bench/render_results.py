"""docs/RESULTS.md from every committed result under bench/results/ (`make results`).

Each JSON file gets a section: its provenance (command, commit, date, machine, library versions;
"not recorded" where the file lacks one) and its headline values, chosen by the file's kind. A file
of an unknown kind shows its top-level numbers. Results whose tool-call scores were computed under
the earlier, lenient scoring (no ``"scoring": "strict"``) are listed last, apart, with their
runs' training metrics. The output depends on the files alone (sorted, no timestamp of its own),
so tests/test_docs.py can tell when a result was committed without `make results`.

    python bench/render_results.py [--results bench/results] [--out docs/RESULTS.md] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
NOT_RECORDED = "not recorded"
# the tool-call rates shown for an evaluation and a make train run, in this order
RATES = (("exact_call_accuracy", "exact call"), ("tool_name_accuracy", "tool name"), ("valid_json", "valid JSON"),
         ("irrelevance_accuracy", "irrelevance"), ("clarification_accuracy", "clarification"),
         ("multi_call_exact", "multi-call exact"), ("hallucinated_tool_rate", "hallucinated tools"),
         ("hallucinated_argument_rate", "hallucinated arguments"))
VERSIONS = ("torch", "transformers", "peft", "trl", "bitsandbytes", "datasets", "accelerate", "optuna", "hydra-core")
SUPERSEDED_WHY = (
    "These were scored before tool-call scoring became strict (docs/EVALUATION.md), so their rates are "
    "not comparable with the results above: a turn that needed no call counted as an exact call when "
    "the answer made none, and an empty answer could count as correct. The training metrics beside them "
    "belong to the same runs.")


# --------------------------------------------------------------------------- formatting

def fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not spec:
        return f"{value:.4g}"
    return format(value, spec)


def pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def rate(r: dict | None) -> str:
    """A rate of an eval report: value with k/n."""
    if not r or r.get("value") is None:
        return "-"
    return f"{pct(r['value'])} ({r['k']}/{r['n']})" if "k" in r and "n" in r else pct(r["value"])


def duration(seconds: Any) -> str:
    if seconds is None:
        return "-"
    s = round(float(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s} s"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    clean = lambda c: str(c).replace("|", "/").replace("\n", " ")  # noqa: E731
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(clean(c) for c in row) + " |" for row in rows)]


def get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# --------------------------------------------------------------------------- kinds

def kind_of(data: dict) -> str:
    if isinstance(data.get("kind"), str):
        return data["kind"]
    if "splits" in data and "primary" in data:
        return "eval"
    if {"summary", "train", "final"} <= data.keys():
        return "training_metrics"
    if {"summary", "labels", "ratios"} <= data.keys():
        return "framework_overhead"
    if "speedup_L_over_H" in data:
        return "eval_speed"
    if isinstance(data.get("runs"), list) and "measured_bf16_matmul_tflops" in data:
        return "gpu_qlora"
    if isinstance(data.get("results"), list) and "settings" in data:
        return "gpu_bench"
    return "unknown"


KIND_TITLES = {
    "make_train": "`make train`: the default experiment end to end",
    "run": "a training run (record.json)",
    "eval": "tool-call evaluation (eval.json)",
    "training_metrics": "training metrics (metrics.json)",
    "framework_overhead": "loralab against the plain TRL script, CPU (`make bench`)",
    "eval_speed": "evaluation generation speed (bench/eval_speed.py)",
    "eval_profile": "where the evaluation's time goes (bench/eval_profile.py)",
    "gpu_qlora": "QLoRA speed and memory on one GPU",
    "gpu_bench": "loralab against the plain TRL script, GPU (`make bench-gpu`)",
    "gpu_bench_steps": "per-step records of a `make bench-gpu` run",
    "gpu_utilisation": "GPU and CPU utilisation while training on a GPU",
}


def has_tool_call_rates(data: Any, depth: int = 0) -> bool:
    if depth > 6:
        return False
    if isinstance(data, dict):
        return "exact_call_accuracy" in data or any(has_tool_call_rates(v, depth + 1) for v in data.values())
    if isinstance(data, list):
        return any(has_tool_call_rates(v, depth + 1) for v in data[:3])
    return False


# --------------------------------------------------------------------------- provenance

def machine_of(data: dict, kind: str) -> dict[str, Any]:
    """{"cpu", "cores", "avx512_bf16", "gpu"}: None where the file does not say."""
    m = data.get("machine")
    if isinstance(m, dict):
        return {"cpu": m.get("cpu"), "cores": m.get("cores"), "avx512_bf16": m.get("avx512_bf16"),
                "amx_bf16": m.get("amx_bf16"), "gpu": m.get("gpu"), "gpu_known": "gpu" in m,
                "isa_limits": m.get("isa_limits"), "torch_cpu_capability": m.get("torch_cpu_capability")}
    hw = get(data, "prepare", "hardware")
    if kind == "gpu_bench":
        first = next((p for p in (data.get("models") or {}).values() if p), {})
        hw = first.get("hardware")
    if isinstance(hw, dict):
        cuda = hw.get("device") == "cuda"
        return {"cpu": None, "cores": hw.get("cpu_count"),
                "avx512_bf16": None if cuda else hw.get("cpu_native_bf16"), "bf16_either": not cuda,
                "gpu": hw.get("device_name") if cuda else None, "gpu_known": True}
    if kind == "gpu_qlora":
        return {"cpu": None, "cores": None, "avx512_bf16": None, "gpu": data.get("device"), "gpu_known": True}
    if kind in ("gpu_bench", "gpu_bench_steps", "gpu_utilisation") and data.get("device"):
        return {"cpu": None, "cores": None, "avx512_bf16": None, "gpu": data["device"], "gpu_known": True}
    if kind == "eval_speed" and data.get("device") == "cpu":
        return {"cpu": None, "cores": data.get("threads"), "avx512_bf16": None, "gpu": None, "gpu_known": True,
                "cores_are_threads": True}
    return {"cpu": None, "cores": None, "avx512_bf16": None, "gpu": None, "gpu_known": False}


def machine_line(m: dict[str, Any]) -> str:
    cores = NOT_RECORDED if m["cores"] is None else f"{m['cores']}{' threads' if m.get('cores_are_threads') else ''}"
    bf16 = NOT_RECORDED if m["avx512_bf16"] is None else fmt(m["avx512_bf16"])
    if m.get("bf16_either") and m["avx512_bf16"] is not None:
        bf16 += " (native bf16: AVX512-BF16 or AMX)"
    elif m.get("amx_bf16"):
        bf16 += " (AMX-BF16 yes)"
    gpu = m["gpu"] or ("none" if m["gpu_known"] else NOT_RECORDED)
    line = f"CPU {m['cpu'] or NOT_RECORDED}; cores {cores}; AVX512-BF16 {bf16}; GPU {gpu}"
    if m.get("isa_limits"):
        limits = ", ".join(f"{k}={v}" for k, v in m["isa_limits"].items())
        line += f"; torch limited to {m.get('torch_cpu_capability') or NOT_RECORDED} ({limits})"
    return line


def cpu_kind(m: dict[str, Any]) -> str:
    """"AVX512-BF16", "no AVX512-BF16", or "AVX2 (AVX512-BF16 CPU limited)" for a machine whose torch
    was limited to a smaller instruction set than its CPU has."""
    kind = {True: "AVX512-BF16", False: "no AVX512-BF16", None: f"AVX512-BF16 {NOT_RECORDED}"}[m["avx512_bf16"]]
    if m.get("isa_limits"):
        return f"{m.get('torch_cpu_capability') or 'limited'} ({kind} CPU limited)"
    return kind


def versions_of(data: dict) -> str:
    found = data.get("versions") or get(data, "manifest", "packages") or {}
    if not found and isinstance(data.get("torch"), str):
        found = {"torch": data["torch"]}
    found = {k: v for k, v in found.items() if v}
    if not found:
        return NOT_RECORDED
    names = [k for k in VERSIONS if k in found] + sorted(k for k in found if k not in VERSIONS)
    return ", ".join(f"{k} {found[k]}" for k in names)


def provenance(data: dict, kind: str) -> list[str]:
    fields = [("command", data.get("command")), ("commit", data.get("commit") or get(data, "manifest", "git_sha")),
              ("date", data.get("date") or get(data, "manifest", "created")),
              ("machine", machine_line(machine_of(data, kind))), ("versions", versions_of(data))]
    lines = [f"- {name}: {f'`{value}`' if name in ('command', 'commit') and value else value or NOT_RECORDED}"
             for name, value in fields]
    if kind == "eval_speed" and data.get("run"):
        lines.append(f"- measured on: {data['run']}")
    if data.get("conditions"):
        lines.append(f"- conditions: {data['conditions']}")
    return lines


# --------------------------------------------------------------------------- headline values per kind

def make_train_row(name: str, data: dict) -> list[str]:
    m, phases, metrics = machine_of(data, "make_train"), data.get("phases_s") or {}, data.get("metrics") or {}
    machine = m["gpu"] or f"CPU, {fmt(m['cores'])} cores, {cpu_kind(m)}"
    exact = f"{pct(metrics.get('exact_call_accuracy'))} / {pct(metrics.get('exact_call_accuracy_base'))}"
    return [f"`{name}`", machine, duration(phases.get("total")), duration(phases.get("training")),
            fmt(data.get("train_tokens_per_s"), ".1f") if data.get("train_tokens_per_s") is not None else "-",
            fmt(data.get("steps")), exact]


MAKE_TRAIN_HEADER = ["file", "machine", "wall time", "training", "tokens/s", "steps",
                     "exact call, fine-tuned / base"]


def values_make_train(data: dict) -> list[str]:
    phases = data.get("phases_s") or {}
    metrics = data.get("metrics") or {}
    loss = (f"; eval loss {fmt(data.get('eval_loss_first'))} -> {fmt(data.get('eval_loss_last'))}"
            if data.get("eval_loss_last") is not None else "")
    out = ["Phases: " + (", ".join(f"{k} {duration(v)}" for k, v in phases.items()) or NOT_RECORDED) + ".",
           f"Training: {fmt(data.get('steps'))} steps at {fmt(data.get('train_tokens_per_s'))} tokens/s{loss}."]
    rows = [[label, pct(metrics[key]), pct(metrics.get(f"{key}_base"))] for key, label in RATES if key in metrics]
    if rows:
        n = metrics.get("n")
        out += ["", f"Tool calls on the {metrics.get('split', 'test')} split ({fmt(n)} examples; base model on "
                    f"{fmt(metrics.get('base_n', n))}):", "", *table(["rate", "fine-tuned", "base"], rows)]
    return out


def values_eval(data: dict) -> list[str]:
    rows = []
    for split, s in data.get("splits", {}).items():
        rates = get(s, "fine_tuned", "report", "rates") or {}
        base = get(s, "base", "report", "rates") or {}
        rows.append([split, fmt(s.get("n")), *(rate(rates.get(key)) for key, _ in RATES[:3]),
                     rate(rates.get("irrelevance_accuracy")), rate(rates.get("multi_call_exact")),
                     rate(base.get("exact_call_accuracy"))])
    out = [f"Primary split: {data.get('primary')}.", "",
           *table(["split", "examples", "exact call", "tool name", "valid JSON", "irrelevance", "multi-call exact",
                   "base exact call"], rows)]
    if data.get("scoring") == "strict":  # the breakdowns of the fine-tuned model's report
        for split, s in data.get("splits", {}).items():
            out += eval_breakdown(split, get(s, "fine_tuned", "report") or {})
    return out


def eval_breakdown(split: str, report: dict) -> list[str]:
    """Per category and language (turn accuracy: every turn; exact call: turns with a gold call),
    and each failure class with its count and one example."""
    out = []
    for group in ("category", "language"):
        rows = [[name, fmt(g.get("n")), rate(g.get("turn_accuracy")), rate(g.get("exact_call_accuracy"))]
                for name, g in sorted((get(report, "groups", group) or {}).items())]
        if rows:
            out += ["", f"{split}, per {group}:", "", *table([group, "examples", "turn accuracy", "exact call"], rows)]
    failures = [(kind, f) for kind, f in (report.get("failures") or {}).items() if f.get("count")]
    if failures:
        rows = []
        for kind, f in sorted(failures, key=lambda kv: -kv[1]["count"]):
            example = (f.get("examples") or [{}])[0]
            text = " ".join(str(example.get("detail", "")).split()).replace("|", "\\|")
            rows.append([f"`{kind}`", str(f["count"]), f"{example.get('id', '')}: {text}"])
        out += ["", f"{split}, failure classes (an answer may have several):", "",
                *table(["failure", "answers", "example"], rows)]
    return out


def values_training_metrics(data: dict) -> list[str]:
    s, f = data.get("summary") or {}, data.get("final") or {}
    lr = f", lr {fmt(s['learning_rate'])}" if s.get("learning_rate") is not None else ""
    return [f"{fmt(s.get('global_step'))} steps (effective batch {fmt(s.get('effective_batch'))}{lr}) in "
            f"{duration(s.get('train_runtime'))} at {fmt(s.get('train_tokens_per_s'))} tokens/s; train loss "
            f"{fmt(f.get('train_loss_first'))} -> {fmt(f.get('train_loss_last'))}, eval loss "
            f"{fmt(f.get('eval_loss_first'))} -> {fmt(f.get('eval_loss_last'))} (best {fmt(f.get('eval_loss_best'))})."]


def values_framework_overhead(data: dict) -> list[str]:
    st = data.get("settings") or {}
    rows = [[name, data.get("labels", {}).get(name, ""), fmt(r.get("tokens_per_s"), ".1f"),
             fmt(r.get("s_per_step"), ".2f"), fmt(r.get("peak_rss_gib"), ".2f"),
             fmt(r.get("time_to_first_step_s"), ".1f")]
            for name, r in sorted((data.get("summary") or {}).items())]
    ratios = ", ".join(f"{k} = {v:.2f}" for k, v in sorted((data.get("ratios") or {}).items()) if v is not None)
    return [f"{fmt(st.get('steps'))} steps x micro-batch {fmt(st.get('micro_batch'))} x {fmt(st.get('max_length'))} "
            f"tokens, {fmt(st.get('reps'))} alternating repetitions; medians.", "",
            *table(["contender", "", "tokens/s", "s/step", "peak RSS GiB", "time to first step s"], rows),
            "", f"Ratios of tokens/s (medians of per-repetition ratios): {ratios or '-'}."]


def values_eval_speed(data: dict) -> list[str]:
    sec, eps = data.get("seconds") or {}, data.get("examples_per_s") or {}
    out = [f"{fmt(data.get('examples'))} test examples, batch {fmt(data.get('batch_size'))}, "
           f"{fmt(data.get('device'))} {fmt(data.get('dtype'))}: loralab's generation {fmt(sec.get('L'))} s "
           f"({fmt(eps.get('L'))} examples/s) against transformers' generate {fmt(sec.get('H'))} s "
           f"({fmt(eps.get('H'))} examples/s), {fmt(data.get('speedup_L_over_H'))}x; "
           f"{fmt(data.get('identical_answers'))} of {fmt(data.get('examples'))} answers identical."]
    if "U" in sec:  # the evaluation with plain nn.Linear weights: what packing them alone gains
        out += ["", f"With plain, unpacked weights: {fmt(sec['U'])} s; packing them for oneDNN makes the evaluation "
                    f"{fmt(data.get('speedup_L_over_U'))}x faster; {fmt(data.get('identical_answers_U'))} of "
                    f"{fmt(data.get('examples'))} answers identical to transformers'."]
    if "C" in sec:  # continuous batching alone: the adapter unmerged, no drafted tokens
        plain = ", plain weights" if "U" in sec else ""
        out += ["", f"Continuous batching alone (adapter unmerged{plain}, no drafts): {fmt(sec['C'])} s; the "
                    f"evaluation is {fmt(data.get('speedup_L_over_C'))}x faster; "
                    f"{fmt(data.get('identical_answers_C'))} of {fmt(data.get('examples'))} answers identical to "
                    "transformers'."]
    if data.get("seconds_each"):
        out += ["", "Each repetition's seconds (the contenders alternate within one): " + "; ".join(
            f"{k} {', '.join(fmt(x) for x in v)} s" for k, v in data["seconds_each"].items()) + "."]
    return out


def values_eval_profile(data: dict) -> list[str]:
    rows = []
    for name, p in (data.get("profiles") or {}).items():
        pre, dec = get(p, "passes", "prefill") or {}, get(p, "passes", "decode") or {}
        drain = get(p, "passes", "drain") or {}
        rows.append([name, fmt(p.get("seconds")), fmt(p.get("examples_per_s")),
                     f"{fmt(pre.get('seconds'))} ({fmt(pre.get('mfu'), '.0%')})",
                     f"{fmt(dec.get('seconds'))} ({fmt(dec.get('mfu'), '.0%')})", fmt(dec.get("passes")),
                     fmt(dec.get("ms_per_pass")),
                     f"{fmt(drain.get('passes'))} / {fmt(drain.get('seconds'))} s" if drain else "-",
                     fmt(get(p, "one_decode_step_batch1_ms", "context_64")),
                     fmt(p.get("seconds_at_the_ceiling")), fmt(p.get("overall_mfu"), ".0%")])
    out = [f"{fmt(data.get('examples'))} test examples, batch {fmt(data.get('batch_size'))}, "
           f"max_new_tokens {fmt(data.get('max_new_tokens'))}, {fmt(data.get('threads'))} threads; MFU against "
           "the best matmul GFLOP/s measured at the model's shapes in the same run (plain linear, and oneDNN's "
           "packed linear where the weights are fp32).", "",
           *table(["model", "seconds", "examples/s", "prefill s (MFU)", "decode s (MFU)", "decode steps",
                   "ms per step", "drain steps / s", "batch-1 step ms", "s at the ceiling", "overall MFU"], rows)]
    first = next(iter((data.get("profiles") or {}).values()), {})
    for part in ("prefill", "decode"):
        shares = get(first, "operators", part) or {}
        if shares:
            out += ["", f"{part} operators ({next(iter(data['profiles']))}): "
                    + ", ".join(f"{k.removeprefix('aten::')} {v:.0%}" for k, v in shares.items()) + "."]
    if data.get("identical_answers_merged") is not None:
        out += ["", f"Answers identical with the adapter merged: {data['identical_answers_merged']} of "
                    f"{fmt(data.get('examples'))}."]
    if isinstance(data.get("identical_answers"), dict):  # each profile's answers against the first's
        first_name = next(iter(data.get("profiles") or {}), "the first")
        out += ["", f"Answers identical to {first_name}'s: " + ", ".join(
            f"{name} {same} of {fmt(data.get('examples'))}" for name, same in data["identical_answers"].items()) + "."]
    return out


def values_gpu_qlora(data: dict) -> list[str]:
    rows = [[r.get("arch"), fmt(r.get("r")), fmt(r.get("batch")), fmt(r.get("seq")), fmt(r.get("median_step_s"), ".3f"),
             fmt(r.get("tokens_per_s"), ".0f"), fmt(r.get("weights_gb_after_load"), ".2f"),
             fmt(r.get("peak_allocated_gb"), ".2f"), fmt(r.get("mfu"), ".1%")] for r in data.get("runs", [])]
    return [f"bf16 matmul measured: {fmt(data.get('measured_bf16_matmul_tflops'))} TFLOP/s.", "",
            *table(["model", "r", "micro-batch", "tokens per row", "s/step", "tokens/s", "4-bit weights GB",
                    "peak allocated GB", "MFU"], rows)]


def values_gpu_bench(data: dict) -> list[str]:
    st = data.get("settings") or {}
    rows = []
    for r in data.get("results", []):
        cells = ([f"failed: {str(r['error'])[:120]}", "", "", "", "", "", ""] if "error" in r else
                 [fmt(r.get("tokens_per_s"), ".0f"), fmt(r.get("median_s_per_step"), ".3f"),
                  fmt(r.get("longest_micro_batch_tokens")), fmt(r.get("peak_allocated_gib"), ".2f"),
                  fmt(r.get("estimated_for_longest_micro_batch_gib"), ".2f"),
                  fmt(r.get("estimated_allocated_gib"), ".2f"), fmt(r.get("mfu"), ".1%")])
        rows.append([r.get("model"), fmt(r.get("micro_batch")), r.get("contender"), *cells])
    out = [f"{fmt(st.get('warmup'))} warm-up + {fmt(st.get('steps'))} timed steps, {fmt(st.get('max_length'))} tokens "
           f"({fmt(st.get('mode'))} mode). The estimates: for the longest micro-batch each contender ran "
           f"(by the estimator at {fmt(get(data, 'reestimated', 'commit') or data.get('commit'))}), and the run's "
           f"own, every row "
           f"{fmt(st.get('max_length'))} tokens long.", "",
           *table(["model", "micro-batch", "contender", "tokens/s", "median s/step", "longest micro-batch tokens",
                   "peak allocated GiB", "estimate GiB", "estimate at max_length GiB", "MFU"], rows)]
    ok = {(r.get("model"), r.get("micro_batch"), r.get("contender")): r for r in data.get("results", [])
          if "error" not in r and r.get("median_s_per_step")}
    pairs = [(m, b, ok[(m, b, "L")], a) for (m, b, name), a in ok.items() if name == "A" and (m, b, "L") in ok]
    if pairs:
        out += ["", "L against A, same model and micro-batch (over an epoch both take as many steps, so the step "
                "time compares them; tokens/s over the timed steps also counts how long their rows were): "
                + "; ".join(_l_against_a(*pair) for pair in pairs) + "."]
    if data.get("post_processed"):
        out += ["", str(data["post_processed"])]
    if data.get("skipped"):
        out += ["", "Not run: " + "; ".join(f"{x.get('id')} ({x.get('note')})" for x in data["skipped"]) + "."]
    return out


def _l_against_a(model: str, batch: int, lab: dict, a: dict) -> str:
    """L's row against A's. Tokens per timed step differ by design: L's length-grouped sampler runs its
    longest micro-batches first, A samples at random, so over a few steps tokens/s favours L."""
    faster = a["median_s_per_step"] / lab["median_s_per_step"]
    return (f"{model} micro-batch {batch}: median step {fmt(faster, '.2f')}x "
            f"faster ({fmt(lab['median_s_per_step'], '.3f')} s against {fmt(a['median_s_per_step'], '.3f')} s), "
            f"{fmt(lab.get('tokens_per_step'), '.0f')} against {fmt(a.get('tokens_per_step'), '.0f')} tokens per timed "
            f"step, peak "
            f"{fmt(lab.get('peak_allocated_gib'), '.2f')} against {fmt(a.get('peak_allocated_gib'), '.2f')} GiB")


def values_gpu_bench_steps(data: dict) -> list[str]:
    steps = data.get("contenders") or {}
    return [f"{len(steps)} contenders' step end times, tokens and padded input tokens per step, setups and peaks: "
            "the source of the run's tokens/s, median step time and longest micro-batch."]


def values_gpu_utilisation(data: dict) -> list[str]:
    w = data.get("training_window") or {}
    return [f"{fmt(data.get('tokens_per_s'), '.0f')} tokens/s at {fmt(data.get('s_per_step'), '.3f')} s/step. "
            f"Kernels running, in {fmt(w.get('samples'))} one-second samples of the training window: at most "
            f"{fmt(w.get('sm_pct_max'))} % of the time (mean {fmt(w.get('sm_pct_mean'), '.1f')} %); the busy python "
            f"process: median {fmt(data.get('python_cpu_pct_median'), '.0f')} % of one CPU core. "
            f"Reading: {data.get('reading')}."]


def values_unknown(data: dict) -> list[str]:
    """The numbers at the top level (and in dicts under it, dotted), at most 24."""
    found: list[tuple[str, Any]] = []

    def walk(node: dict, prefix: str, depth: int) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((name, value))
            elif isinstance(value, dict) and depth < 2:
                walk(value, name + ".", depth + 1)

    walk(data, "", 0)
    if not found:
        return ["No numeric values at the top level."]
    shown = "; ".join(f"{k} {fmt(v)}" for k, v in found[:24])
    return [f"Values: {shown}{f'; and {len(found) - 24} more' if len(found) > 24 else ''}."]


VALUES: dict[str, Callable[[dict], list[str]]] = {
    "make_train": values_make_train, "run": values_make_train, "eval": values_eval,
    "training_metrics": values_training_metrics, "framework_overhead": values_framework_overhead,
    "eval_speed": values_eval_speed, "eval_profile": values_eval_profile, "gpu_qlora": values_gpu_qlora,
    "gpu_bench": values_gpu_bench, "gpu_bench_steps": values_gpu_bench_steps,
    "gpu_utilisation": values_gpu_utilisation,
}


# --------------------------------------------------------------------------- the document

def load(results: Path, root: Path) -> list[dict]:
    """Every JSON under ``results`` (recursively, sorted), classified."""
    entries = []
    for path in sorted(results.rglob("*.json"), key=lambda p: p.relative_to(results).as_posix()):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            sys.exit(f"error: {path}: not readable JSON ({exc}); fix or remove it, then run `make results` again")
        if not isinstance(data, dict):
            data = {"value": data}
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        kind = kind_of(data)
        lenient = data.get("scoring") != "strict" and has_tool_call_rates(data)
        entries.append({"path": path, "name": name, "data": data, "kind": kind, "superseded": lenient})
    # a run's training metrics (<run>_metrics.json) go where its evaluation (<run>_*.json) goes
    for e in entries:
        stem = e["path"].stem
        if e["kind"] == "training_metrics" and stem.endswith("_metrics") and e["data"].get("scoring") != "strict":
            run = stem.removesuffix("_metrics") + "_"
            e["superseded"] = any(o["superseded"] and o["path"].parent == e["path"].parent
                                  and o["path"].stem.startswith(run) for o in entries)
    return entries


def section(e: dict) -> list[str]:
    kind = e["kind"]
    title = KIND_TITLES.get(kind, f"kind `{kind}`" if kind != "unknown" else "results of an unknown kind")
    return [f"### `{e['name']}`", "", f"*{title}*", "", *provenance(e["data"], kind), "",
            *VALUES.get(kind, values_unknown)(e["data"]), ""]


def render(results: Path = ROOT / "bench" / "results", root: Path = ROOT) -> str:
    entries = load(results, root)
    current = [e for e in entries if not e["superseded"]]
    superseded = [e for e in entries if e["superseded"]]
    out = ["# Results", "",
           "<!-- Generated by `make results` (bench/render_results.py) from bench/results/*.json: do not edit. -->",
           "",
           "Every figure the README and the docs quote comes from one of these files, committed under",
           "`bench/results/`. Each section names the command that produced its file, the commit, date,",
           "machine and library versions, as far as the file records them (\"not recorded\" otherwise), then",
           "its headline values. Add a run's results with `python bench/publish_run.py RUN_DIR NAME` (its",
           "record and evaluation), or any other result's JSON, then run `make results` and commit both;",
           "`tests/test_docs.py` fails while this file is out of date.", ""]
    make_train = [e for e in current if e["kind"] == "make_train"]
    if make_train:
        out += ["## `make train`", "",
                "The default experiment from a fresh clone, end to end (setup, model, data, training, "
                "evaluation), one row per measured run.", "",
                *table(MAKE_TRAIN_HEADER, [make_train_row(e["name"], e["data"]) for e in make_train]), ""]
    out += seeds_section(current)
    out += ["## Current results", ""]
    for e in current:
        out += section(e)
    if not current:
        out += ["None yet.", ""]
    if superseded:
        out += ["## Superseded: scored under the earlier lenient rules", "", SUPERSEDED_WHY, ""]
        for e in superseded:
            out += section(e)
    return "\n".join(out).rstrip("\n") + "\n"


SEED_RATES = (("exact call", "exact_call_accuracy"), ("tool name", "tool_name_accuracy"),
              ("irrelevance", "irrelevance_accuracy"), ("clarification", "clarification_accuracy"),
              ("multi-call exact", "multi_call_exact"), ("turn accuracy", "turn_accuracy"))


def seeds_section(current: list[dict]) -> list[str]:
    """One table per experiment and machine kind (GPU, or CPU cores and instruction set) whose strict
    evaluations were published with their training seed (bench/publish_run.py): each seed's rates per
    split, then their mean and range over the seeds. A time-budgeted recipe trains more steps on a
    faster machine, so only runs of one machine kind are seeds of each other; `make train`'s own
    evaluations have their table above."""
    runs: dict[tuple[str, str], list[dict]] = {}
    for e in current:
        d = e["data"]
        if (e["kind"] == "eval" and d.get("scoring") == "strict" and d.get("seed") is not None and d.get("experiment")
                and not str(d.get("command", "")).startswith("make train")):
            m = machine_of(d, e["kind"])
            cores = f"{m['cores']} cores, " if m["cores"] else ""
            kind = f"GPU {m['gpu']}" if m["gpu"] else f"CPU, {cores}{cpu_kind(m)}"
            runs.setdefault((d["experiment"], kind), []).append(e)
    out = []
    for (experiment, kind), entries in sorted(runs.items()):
        entries.sort(key=lambda e: e["data"]["seed"])
        rows = []
        for split in dict.fromkeys(split for e in entries for split in e["data"].get("splits", {})):
            values: dict[str, list[float]] = {}
            for e in entries:
                rates = get(e["data"], "splits", split, "fine_tuned", "report", "rates") or {}
                rows.append([split, str(e["data"]["seed"]), f"`{e['name']}`",
                             *(rate(rates.get(key)) for _, key in SEED_RATES)])
                for _, key in SEED_RATES:
                    if get(rates, key, "value") is not None:
                        values.setdefault(key, []).append(rates[key]["value"])
            summary = []
            for _, key in SEED_RATES:
                v = values.get(key) or []
                summary.append("-" if not v else pct(sum(v) / len(v)) + (
                    f" ({pct(min(v))} to {pct(max(v))})" if len(v) > 1 else ""))
            rows.append([split, f"mean of {len(entries)}", "", *summary])
        out += [f"## `{experiment}` over training seeds ({kind})", "",
                f"Strict scoring; each seed's fine-tuned model on every example of each split, then the mean over "
                f"the seeds with its range. {'One seed so far: no spread to state yet.' if len(entries) == 1 else ''}"
                .rstrip(), "",
                *table(["split", "seed", "file", *(name for name, _ in SEED_RATES)], rows), ""]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "RESULTS.md")
    p.add_argument("--check", action="store_true", help="exit 1 when --out differs from what would be written")
    a = p.parse_args()
    text = render(a.results.resolve(), ROOT)
    if a.check:
        current = a.out.read_text(encoding="utf-8") if a.out.is_file() else ""
        if current != text:
            sys.exit(f"{a.out} is out of date: run `make results`")
        return
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    print(f"written: {a.out} ({sum(1 for _ in a.results.rglob('*.json'))} result files)")


if __name__ == "__main__":
    main()
