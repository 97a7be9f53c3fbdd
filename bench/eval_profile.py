"""Where the tool-call evaluation's time goes, against what this CPU can compute.

On a completed run (default: the newest under experiments/), loralab's own generation
(loralab.evaluation.generation.generate) answers ``--examples`` prompts of the test splits as
``loralab-eval`` does (an adapter folded into fp32 base weights and the fp32 weights packed for
oneDNN while generating), then, by ``--profiles``, with the adapter left beside the weights, with
plain ``nn.Linear`` weights, and with each prompt computed whole (no shared start). Every forward
pass of the model is timed and its work counted:

* **prefill**: a group of prompts at once, the first batch and then the prompts that join it as
  answers end (left-padded; every position is computed, padding too, and only the last position's
  logits are kept);
* **decode**: one new token per row per step, attending to the cache (rows whose answers ended
  and have not left yet count too: they are computed), or, once no prompt waits, that token and the
  tokens drafted after it, which the step verifies;
* **drain**: the decode steps after the last prefill, when no prompt is left to take an ended
  answer's row and the batch empties down to its longest answer.

The work of a forward pass is counted as 2 FLOPs per weight per position through the transformer's
linear layers, plus the LM head on the positions whose logits are kept, plus attention
(QK^T and AV: 4 x layers x positions x context x hidden). The machine's ceiling is measured in the
same run: ``torch.nn.functional.linear``, and oneDNN's packed linear where the weights are fp32 on
a CPU, through a weight of each of the model's linear shapes in turn (as many weights as the model
has, so a few-row decode step pays for reading them from memory, as a real one does), at the
prefill's, the decode's and the drain's mean positions per pass, in the evaluation dtype, on the
same threads, the best of either way over two rounds after all the profiles ran. A decode
step at batch 1 shows the fixed cost of one forward call (Python, dispatch, 30 layers of small
kernels) that no batching removes, and torch.profiler's operator shares show which kernels the
prefill and the decode steps spend their time in.

Writes bench/results/eval_profile_<machine>.{json,md}. Not a test: run it on a quiet machine.

    python bench/eval_profile.py [--run experiments/DATE/TIME_NAME] [--examples 250]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from pathlib import Path

import torch

from loralab.evaluation.adapter_merge import merged_for_generation
from loralab.evaluation.generation import generate
from loralab.evaluation.packed_linear import packed_for_generation, packing_works
from provenance import provenance

ROOT = Path(__file__).resolve().parent.parent


def linear_shapes(model) -> list[tuple[int, int]]:
    """(out, in) of every linear layer the model runs per position, its LM head last, in order (the
    base layers of a LoRA model; its small adapter matrices are left out)."""
    head = model.get_output_embeddings()
    shapes = [tuple(m.weight.shape) for name, m in model.named_modules()
              if isinstance(m, torch.nn.Linear) and m is not head and "lora_" not in name]
    return shapes + [tuple(head.weight.shape)]


def matmul_rate(rows: int, shapes: list[tuple[int, int]], dtype: torch.dtype, seconds: float = 2.0,
                packed: bool = False) -> float:
    """GFLOP/s of ``linear`` through one weight of each of ``shapes`` in turn, ``rows`` rows at a time:
    the model's own matmuls with its own weight footprint, so at a decode step's few rows the rate
    includes reading every weight from memory, as a real pass must (the best of repeated timings).
    ``packed``: through oneDNN's packed linear instead, each weight packed for ``rows`` rows, as
    the evaluation packs fp32 weights on a CPU (loralab.evaluation.packed_linear)."""
    weights = [torch.randn(shape, dtype=dtype) for shape in shapes]
    inputs = {inner: torch.randn(rows, inner, dtype=dtype) for _, inner in shapes}
    flops = 2 * rows * sum(out * inner for out, inner in shapes)
    multiply = torch.nn.functional.linear
    if packed:
        weights = [torch.ops.mkldnn._reorder_linear_weight(w, rows) for w in weights]
        multiply = lambda x, w: torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], "")  # noqa: E731

    def one_pass():
        for w in weights:
            multiply(inputs[w.shape[1]], w)

    with torch.inference_mode():
        one_pass()
        best, end = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.perf_counter()
            one_pass()
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


class ForwardTimer:
    """Wraps the model's forward: the seconds, positions and FLOPs of prefill and decode passes."""

    def __init__(self, model, dims: dict):
        self.model, self.dims = model, dims
        self.original = model.forward
        self.passes = {"prefill": [], "decode": []}
        self.count = 0
        model.forward = self._timed

    def _timed(self, *args, **kwargs):
        ids = kwargs.get("input_ids")
        mask = kwargs.get("attention_mask")
        # a prefill keeps only its last position's logits; a decode step (one token, or one and its
        # draft) keeps them all
        kind = "prefill" if kwargs.get("logits_to_keep") == 1 else "decode"
        start = time.perf_counter()
        out = self.original(*args, **kwargs)
        seconds = time.perf_counter() - start
        rows, width = ids.shape
        context = mask.shape[1]
        d = self.dims
        linear = 2 * d["linear_params"] * rows * width
        head = 2 * d["hidden"] * d["vocab"] * rows * (1 if kind == "prefill" else width)
        attention = 4 * d["layers"] * rows * width * context * d["hidden"]
        self.passes[kind].append({"seconds": seconds, "rows": rows, "positions": rows * width,
                                  "flops": linear + head + attention, "order": self.count})
        self.count += 1
        return out

    def restore(self) -> None:
        self.model.forward = self.original

    def summary(self) -> dict:
        """Per kind of pass, and for the drain: the decode steps after the last prefill, when no
        prompt is left to take the place of an ended answer and the batch empties."""
        last_prefill = max((p["order"] for p in self.passes["prefill"]), default=-1)
        kinds = {**self.passes, "drain": [p for p in self.passes["decode"] if p["order"] > last_prefill]}
        out = {}
        for kind, passes in kinds.items():
            seconds = sum(p["seconds"] for p in passes)
            flops = sum(p["flops"] for p in passes)
            out[kind] = {"passes": len(passes), "seconds": round(seconds, 2),
                         "positions": sum(p["positions"] for p in passes),
                         "mean_rows": round(statistics.mean(p["rows"] for p in passes), 1) if passes else 0,
                         "ms_per_pass": round(1000 * seconds / len(passes), 1) if passes else 0,
                         "gflops": round(flops / 1e9, 1),
                         "gflop_per_s": round(flops / seconds / 1e9, 1) if seconds else 0}
        return out


def _dims(model) -> dict:
    config = model.config
    hidden, layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
    embedding = {id(p) for p in model.get_input_embeddings().parameters()}
    head = {id(p) for p in model.get_output_embeddings().parameters()}
    linear = sum(p.numel() for name, p in model.named_parameters()
                 if p.dim() == 2 and id(p) not in embedding and id(p) not in head)
    return {"hidden": hidden, "layers": layers, "vocab": vocab, "linear_params": linear,
            "mlp_width": config.intermediate_size}


def one_step_ms(model, tokenizer, context: int, reps: int = 20) -> float:
    """A decode step at batch 1 with ``context`` cached positions: the fixed cost of one forward call."""
    from transformers import DynamicCache

    ids = torch.full((1, context), tokenizer.eos_token_id or 0, dtype=torch.long)
    mask = torch.ones_like(ids)
    times = []
    with torch.inference_mode():
        cache = DynamicCache(config=model.config)
        model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1)
        for i in range(reps):
            mask = torch.cat([mask, mask.new_ones((1, 1))], dim=-1)
            start = time.perf_counter()
            model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                  cache=cache, use_cache=True)
            times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 2)


def op_breakdown(model, tokenizer, prompts: list[str], batch: int, decode_steps: int = 10) -> dict:
    """torch.profiler's share of self CPU time per operator (top 8), for the prefill of the
    ``batch`` longest prompts and for ``decode_steps`` decode steps after it (and after one more,
    whose cache moves into growing room once): which kernels the time goes to."""
    from loralab.evaluation.generation import SharedStart, decode_step, prefill, shared_prefix_length

    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    longest = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)[:batch]

    def top(prof) -> dict:
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1
        return {e.key: round(e.self_cpu_time_total / total, 3) for e in events[:8]}

    with torch.inference_mode():
        shared = SharedStart(model, encoded[0][:shared_prefix_length(encoded)])
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            live = prefill(model, shared, [encoded[i] for i in longest], longest, tokenizer.pad_token_id)
        out = {"batch_shape": [len(longest), live.mask.shape[1] - len(shared.tokens)],
               "shared_prefix": len(shared.tokens), "prefill": top(prof)}
        decode_step(model, live)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            for _ in range(decode_steps):
                decode_step(model, live)
        out["decode"] = top(prof)
    return out


def profile(model, tokenizer, prompts: list[str], max_new: int, batch: int, share_prefix: bool = True,
            merge_adapter: bool = True, pack_weights: bool = True) -> dict:
    """One evaluation pass of ``prompts`` with every forward timed, and the ceiling it is held to."""
    dtype = next(model.parameters()).dtype
    dims = _dims(model)
    prompt_tokens = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    timer = ForwardTimer(model, dims)
    start = time.perf_counter()
    generations = generate(model, tokenizer, prompts, max_new, batch, share_prefix, merge_adapter,
                           pack_weights=pack_weights)
    total = time.perf_counter() - start
    timer.restore()
    with (merged_for_generation(model) if merge_adapter else contextlib.nullcontext(),
          packed_for_generation(model, batch) if pack_weights else contextlib.nullcontext()):
        one_step = {f"context_{n}": one_step_ms(model, tokenizer, n) for n in (64, 256)}
        operators = op_breakdown(model, tokenizer, prompts, batch)
    passes = timer.summary()
    for kind, summary in passes.items():  # the matmul rows of its mean pass, where its ceiling is measured
        summary["ceiling_rows"] = max(1, round(summary["positions"] / max(1, summary["passes"])))
    return {"dtype": str(dtype).removeprefix("torch."), "adapter_merged": generations.adapter_merged,
            "packed_layers": generations.packed_layers,
            "prompt_tokens": {"mean": round(statistics.mean(prompt_tokens), 1), "max": max(prompt_tokens)},
            "new_tokens": generations.new_tokens, "seconds": round(total, 2),
            "examples_per_s": round(len(prompts) / total, 3), "passes": passes,
            "one_decode_step_batch1_ms": one_step, "operators": operators, "texts": generations.texts}


def add_ceilings(profiles: dict, shapes: list[tuple[int, int]], dtype: torch.dtype, rounds: int = 2) -> None:
    """Each pass kind's ceiling (the best matmul rate measured at its rows, over ``rounds`` rounds
    after all the profiles ran, so every profile is held to the same ceiling whatever the machine
    was doing meanwhile), its MFU, and the seconds all the work would take at the ceilings."""
    needed = sorted({p["passes"][kind]["ceiling_rows"] for p in profiles.values() for kind in p["passes"]})
    ways = (False, True) if dtype == torch.float32 and packing_works() else (False,)
    best = dict.fromkeys(needed, 0.0)
    for _ in range(rounds):
        for rows in needed:
            best[rows] = max(best[rows], *(matmul_rate(rows, shapes, dtype, packed=way) for way in ways))
    for p in profiles.values():
        at_ceiling = 0.0
        for kind, summary in p["passes"].items():
            rate = best[summary["ceiling_rows"]]
            summary["ceiling_gflop_per_s"] = round(rate, 1)
            summary["mfu"] = round(summary["gflop_per_s"] / rate, 3)
            if kind != "drain":  # the drain's steps are decode steps: counted once
                at_ceiling += summary["gflops"] / rate
        p["seconds_at_the_ceiling"] = round(at_ceiling, 1)
        p["overall_mfu"] = round(at_ceiling / p["seconds"], 3)


def main() -> None:
    from loralab.data.pipeline import load_splits
    from loralab.evaluation.generation import render_prompts
    from loralab.evaluation.runner import _conversations, max_new_tokens_for
    from loralab.resume import latest_run
    from loralab.run_record import machine_tag
    from loralab.runs import load_for_inference, open_run

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="a completed run directory (default: the newest under experiments/)")
    p.add_argument("--examples", type=int, default=250)
    p.add_argument("--batch-size", type=int, default=None, help="default: the run's eval.batch_size")
    p.add_argument("--profiles", type=lambda text: text.split(","), default=["unmerged", "unpacked", "whole_prompts"],
                   help="besides evaluation: unmerged, unpacked, whole_prompts (comma-separated; default all)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--name", default=None, help="result file suffix (default: the machine's, e.g. cpu_avx2)")
    args = p.parse_args()

    run_dir, cfg = open_run(args.run or latest_run())
    splits = load_splits(cfg.data)
    records = [r for s in ("test", "test_id") for r in splits.records.get(s, [])][:args.examples]
    model, tokenizer, _ = load_for_inference(cfg, run_dir, "adapter")
    prompts = render_prompts(tokenizer, _conversations(records, cfg.data, splits.tools))
    max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, tokenizer, cfg.data, splits.tools)
    batch = args.batch_size or cfg.eval.batch_size
    # as loralab-eval runs it (the adapter folded into fp32 weights, packed for oneDNN, while
    # generating); the same with the adapter left beside the weights; with plain nn.Linear weights;
    # with each prompt computed whole, no shared prefix apart
    profiles = {"evaluation": profile(model, tokenizer, prompts, max_new, batch)}
    if "unmerged" in args.profiles:
        profiles["unmerged"] = profile(model, tokenizer, prompts, max_new, batch, merge_adapter=False)
    if "unpacked" in args.profiles:
        profiles["unpacked"] = profile(model, tokenizer, prompts, max_new, batch, pack_weights=False)
    if "whole_prompts" in args.profiles:
        profiles["whole_prompts"] = profile(model, tokenizer, prompts, max_new, batch, share_prefix=False)
    add_ceilings(profiles, linear_shapes(model), next(model.parameters()).dtype)
    texts = {name: p.pop("texts") for name, p in profiles.items()}
    same = {name: sum(a == b for a, b in zip(texts["evaluation"], texts[name]))
            for name in profiles if name != "evaluation"}
    result = {
        **provenance("eval_profile", "eval_profile.py", args),
        "run": str(run_dir), "examples": len(prompts), "batch_size": batch, "max_new_tokens": max_new,
        "threads": torch.get_num_threads(), "profiles": profiles, "identical_answers": same,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or machine_tag(result["machine"])
    (out / f"eval_profile_{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
