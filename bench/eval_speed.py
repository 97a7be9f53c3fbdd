"""How fast the tool-call evaluation generates, against transformers' own batched generate.

On a completed run (default: the newest under experiments/), the same prompts of the test split,
the same model (base + the run's adapter, as ``loralab-eval`` loads it), the same batch size and
max_new_tokens (derived from the longest gold answer), in turns (A B A B ...):

  H  ``model.generate`` on length-sorted, left-padded batches, pure greedy (no repetition
     penalty, as loralab): finished answers are computed, as padding, until the batch's longest
     answer ends;
  L  loralab's generation (loralab.evaluation.generation.generate) as the evaluation runs it:
     continuously batched (rows whose answers ended leave, and waiting prompts take their place),
     the adapter folded into fp32 weights, fp32 weights packed for oneDNN on a CPU, and drafted
     tokens verified once no prompt waits;
  U  L with plain nn.Linear weights (not packed): what the packing alone gains;
  C  the same continuous batching alone: the adapter beside the weights, plain weights, no drafts.

Reports examples/s of each (medians over --reps), the L/H, L/U and L/C ratios (medians of
per-repetition ratios) and how many of L's, U's and C's answers are identical to H's (all greedy:
they differ only where shape-dependent rounding flips a near tie). Writes bench/results/eval_speed.{json,md}.

    python bench/eval_speed.py [--run experiments/DATE/TIME_NAME] [--examples 250] [--reps 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def hf_generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """Contender H: prompts sorted longest first into batches of ``batch_size``, each prompt whole and
    left-padded, through transformers' generate."""
    from loralab.evaluation.generation import left_pad, stop_token_ids

    stops = stop_token_ids(model, tokenizer)
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    texts = [""] * len(prompts)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        ids, mask = left_pad([encoded[i] for i in idx], tokenizer.pad_token_id)
        width = ids.shape[1]
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                                 num_beams=1, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id,
                                 temperature=None, top_p=None, top_k=None, repetition_penalty=1.0)
        for row, i in enumerate(idx):
            tokens = out[row, width:].tolist()
            ends = [k for k, t in enumerate(tokens) if t in stops]
            texts[i] = tokenizer.decode(tokens[:ends[0]] if ends else tokens, skip_special_tokens=False)
    return texts


def main() -> None:
    from loralab.data.pipeline import load_splits
    from loralab.evaluation.generation import generate, render_prompts
    from loralab.evaluation.runner import _conversations, max_new_tokens_for
    from loralab.resume import latest_run
    from loralab.runs import load_for_inference, open_run
    from provenance import provenance

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="a completed run directory (default: the newest under experiments/)")
    p.add_argument("--examples", type=int, default=250)
    p.add_argument("--batch-size", type=int, default=None, help="default: the run's eval.batch_size")
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = p.parse_args()

    run_dir, cfg = open_run(args.run or latest_run())
    splits = load_splits(cfg.data)
    records = splits.records[cfg.eval.splits[0]][:args.examples]
    model, tokenizer, _ = load_for_inference(cfg, run_dir, "adapter")
    prompts = render_prompts(tokenizer, _conversations(records, cfg.data, splits.tools))
    max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, tokenizer, cfg.data, splits.tools)
    batch = args.batch_size or cfg.eval.batch_size
    contenders = {"H": lambda: hf_generate(model, tokenizer, prompts, max_new, batch),
                  "L": lambda: generate(model, tokenizer, prompts, max_new, batch).texts,
                  "U": lambda: generate(model, tokenizer, prompts, max_new, batch, pack_weights=False).texts,
                  "C": lambda: generate(model, tokenizer, prompts, max_new, batch, merge_adapter=False,
                                        max_draft=0, pack_weights=False).texts}
    seconds = {name: [] for name in contenders}
    texts = {}
    for rep in range(args.reps):
        for name, run in contenders.items():
            start = time.perf_counter()
            texts[name] = run()
            seconds[name].append(time.perf_counter() - start)
            print(f"rep {rep} {name}: {seconds[name][-1]:.1f} s ({len(prompts) / seconds[name][-1]:.2f} examples/s)",
                  flush=True)
    result = {**provenance("eval_speed", "eval_speed.py", args),
              "run": str(run_dir), "examples": len(prompts), "batch_size": batch, "max_new_tokens": max_new,
              "threads": torch.get_num_threads(), "device": str(next(model.parameters()).device),
              "dtype": str(next(model.parameters()).dtype),
              "seconds": {k: round(statistics.median(v), 2) for k, v in seconds.items()},
              "seconds_each": {k: [round(x, 2) for x in v] for k, v in seconds.items()},
              "examples_per_s": {k: round(len(prompts) / statistics.median(v), 3) for k, v in seconds.items()},
              **{f"speedup_L_over_{k}": round(statistics.median(o / l for o, l in zip(seconds[k], seconds["L"])), 2)
                 for k in ("H", "U", "C")},
              "identical_answers": sum(a == b for a, b in zip(texts["H"], texts["L"])),
              **{f"identical_answers_{k}": sum(a == b for a, b in zip(texts["H"], texts[k])) for k in ("U", "C")}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval_speed.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = (f"# Evaluation generation speed\n\n{result['examples']} examples of the test split, {result['run']}, "
          f"batch {batch}, max_new_tokens {max_new}, {result['threads']} threads, {result['dtype']} on "
          f"{result['device']}; medians of {args.reps} alternating repetition(s).\n\n"
          "| contender | seconds | examples/s |\n|---|---|---|\n"
          f"| H (transformers generate, padded batches) | {result['seconds']['H']} | {result['examples_per_s']['H']} |\n"
          f"| L (loralab's evaluation) | {result['seconds']['L']} | {result['examples_per_s']['L']} |\n"
          f"| U (L with plain, unpacked weights) | {result['seconds']['U']} | {result['examples_per_s']['U']} |\n"
          f"| C (continuous batching alone) | {result['seconds']['C']} | {result['examples_per_s']['C']} |\n\n"
          f"L/H speed-up: {result['speedup_L_over_H']}x, L/U: {result['speedup_L_over_U']}x, L/C: "
          f"{result['speedup_L_over_C']}x; answers identical to H's: L {result['identical_answers']}, "
          f"U {result['identical_answers_U']}, C {result['identical_answers_C']} of {result['examples']}.\n")
    (out / "eval_speed.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
