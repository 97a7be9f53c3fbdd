"""``loralab-eval``: tool-call evaluation of a run directory, or of answers produced elsewhere.

    loralab-eval experiments/2026-11-24/10-00-00_smollm2-135m-r8-all-linear
    loralab-eval RUN --kind base                 # the base model alone, for a baseline
    loralab-eval RUN --kind merged               # the model written by loralab-merge
    loralab-eval RUN --test-file my_test.jsonl --tools-file my_tools.json
    loralab-eval score --answers answers.jsonl --test-file test.jsonl --tools-file tools.json --out DIR

`score` scores answers made by any system, without loading a model (loralab-eval score --help);
a run directory that is literally named "score" is given as ./score.
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


def parse_score_args(argv: list[str]) -> argparse.Namespace:
    from ..evaluation.external import ANSWER_FORMATS, __doc__ as doc

    p = argparse.ArgumentParser(prog="loralab-eval score", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--answers", required=True, help="JSON Lines: {id, answer} or {id, message} per test row")
    p.add_argument("--test-file", required=True, help="the test rows (messages + tools format), each with a unique id")
    p.add_argument("--tools-file", help="tool schema (JSON list) for test rows without 'tools'")
    p.add_argument("--out", required=True, help="where eval.json, eval.md and eval_answers.jsonl go (new, empty, "
                                                "or an earlier score output)")
    p.add_argument("--format", choices=ANSWER_FORMATS, default="hermes",
                   help="how the raw answers write tool calls (default: hermes)")
    p.add_argument("--split", default="test", help="the split name in eval.json (default: test), for --against")
    p.add_argument("--against", metavar="OTHER_DIR",
                   help="compare with another eval.json (a run or a score output): which differences exceed the noise")
    return p.parse_args(argv)


def score_main(argv: list[str]) -> int:
    """``loralab-eval score``: no model, no torch; bad input exits 2 with one message."""
    args = parse_score_args(argv)
    from rich.console import Console
    from ..errors import DataError
    from ..evaluation.external import score_answers
    from ..evaluation.tables import print_eval_tables

    try:
        payload = score_answers(args.answers, args.test_file, args.out, args.tools_file, args.format, args.split)
        print_eval_tables(payload)
        if args.against:
            _print_against(payload, Path(args.against))
    except DataError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/bold red] {exc}")
        return 2
    out = Path(args.out)
    print(f"wrote {out / 'eval.json'}, {out / 'eval.md'} and {out / 'eval_answers.jsonl'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["score"]:
        return score_main(argv[1:])
    args = parse_args(argv)
    from ..errors import exit_on_user_error
    from ..runs import open_run

    with exit_on_user_error():
        run_dir, cfg = open_run(args.run_dir, force=args.force)
        return _evaluate(args, run_dir, cfg)


def _evaluate(args, run_dir: Path, cfg) -> int:
    from omegaconf import OmegaConf

    from ..data.pipeline import Splits, load_splits
    from ..evaluation.external import read_test_set
    from ..evaluation.runner import evaluate_splits
    from ..evaluation.tables import print_eval_tables
    from ..runs import load_for_inference

    overrides = {"max_examples": args.max_examples, "batch_size": args.batch_size}
    for key, value in overrides.items():
        if value is not None:
            OmegaConf.update(cfg, f"eval.{key}", value)
    if args.test_file:
        test = read_test_set(args.test_file, args.tools_file)
        splits = Splits({"user_test": test.records}, test.tools)
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
    from ..errors import DataError
    from ..evaluation.aggregate import HEADLINE, compare_reports
    from ..evaluation.tables import print_comparison

    try:
        other = json.loads((other_dir / "eval.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"--against {other_dir}: cannot read its eval.json ({exc})") from exc
    shared = [split for split in payload["splits"] if split in (other.get("splits") or {})]
    if not shared:
        raise DataError(f"--against {other_dir}: its eval.json has no split named {', '.join(payload['splits'])} "
                        f"(it has {', '.join(other.get('splits') or {}) or 'none'})")
    for split in shared:
        theirs, ours = other["splits"][split]["fine_tuned"]["report"], payload["splits"][split]["fine_tuned"]["report"]
        rows = compare_reports(theirs, ours, [m for m in HEADLINE if m in theirs["rates"]])
        print_comparison(rows, f"{split}: {other_dir.name} (before) vs this one (after)")


if __name__ == "__main__":
    sys.exit(main())
