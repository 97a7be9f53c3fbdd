"""``loralab-eval``: tool-call evaluation of a run directory.

    loralab-eval experiments/2026-11-24/10-00-00_smollm2-135m-r8-all-linear
    loralab-eval RUN --kind base                 # the base model alone, for a baseline
    loralab-eval RUN --kind merged               # the model written by loralab-merge
    loralab-eval RUN --test-file my_test.jsonl --tools-file my_tools.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a completed run directory")
    p.add_argument("--kind", choices=("adapter", "base", "merged"), default="adapter")
    p.add_argument("--merged-dir", help="merged model directory (default: RUN/merged)")
    p.add_argument("--splits", nargs="+", help="splits to evaluate (default: the run's eval.splits)")
    p.add_argument("--max-examples", type=_at_least_one, help="examples scored per split (default: the run's eval.max_examples; null there: all)")
    p.add_argument("--batch-size", type=_at_least_one)
    p.add_argument("--compare-base", action="store_true", help="also score the base model (adapter disabled)")
    p.add_argument("--test-file", help="your own test file (messages + tools format)")
    p.add_argument("--tools-file", help="tool schema (JSON list) for --test-file rows without 'tools'")
    p.add_argument("--output", help="where eval.json/eval.md go (default: RUN, or RUN/eval-<kind>)")
    p.add_argument("--force", action="store_true", help="evaluate a run that did not complete")
    p.add_argument("--against", metavar="OTHER_RUN",
                   help="compare with another run's eval.json (same split): which differences exceed the noise")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .errors import exit_on_user_error
    from .runs import open_run

    with exit_on_user_error():
        run_dir, cfg = open_run(args.run_dir, force=args.force)
        return _evaluate(args, run_dir, cfg)


def _evaluate(args, run_dir: Path, cfg) -> int:
    from omegaconf import OmegaConf

    from .data.files import read_records
    from .data.pipeline import Splits, load_splits
    from .evaluation.runner import evaluate_splits
    from .evaluation.tables import print_eval_tables
    from .runs import load_for_inference

    overrides = {"max_examples": args.max_examples, "batch_size": args.batch_size}
    for key, value in overrides.items():
        if value is not None:
            OmegaConf.update(cfg, f"eval.{key}", value)
    if args.test_file:
        tools = json.loads(Path(args.tools_file).read_text(encoding="utf-8")) if args.tools_file else None
        splits = Splits({"user_test": read_records(args.test_file)}, tools)
        OmegaConf.update(cfg, "eval.splits", ["user_test"])
    else:
        splits = load_splits(cfg.data)
        if args.splits:
            OmegaConf.update(cfg, "eval.splits", list(args.splits))
    model, tokenizer, location = load_for_inference(cfg, run_dir, args.kind, args.merged_dir)
    output = Path(args.output) if args.output else (run_dir if args.kind == "adapter" and not args.test_file
                                                   else run_dir / f"eval-{args.kind}{'-user' if args.test_file else ''}")
    base_context = model.disable_adapter if args.compare_base and args.kind == "adapter" else None
    payload = evaluate_splits(cfg, output, model, tokenizer, splits, base_key=location, base_model_context=base_context)
    print_eval_tables(payload)
    if args.against:
        _print_against(payload, Path(args.against))
    print(f"wrote {output / 'eval.json'} and {output / 'eval.md'}")
    return 0


def _print_against(payload: dict, other_dir: Path) -> None:
    from .evaluation.aggregate import compare_reports
    from .evaluation.runner import HEADLINE
    from .evaluation.tables import print_comparison

    other = json.loads((other_dir / "eval.json").read_text(encoding="utf-8"))
    for split, entry in payload["splits"].items():
        theirs = other["splits"].get(split)
        if theirs:
            rows = compare_reports(theirs["fine_tuned"]["report"], entry["fine_tuned"]["report"], list(HEADLINE))
            print_comparison(rows, f"{split}: {other_dir.name} (before) vs this run (after)")


if __name__ == "__main__":
    sys.exit(main())
