"""``loralab-compare [DIR ...]``: a table of runs, runs.csv and report.png (loss curves; the
objective against lr and r for sweeps)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..compare import (COLUMN_KEYS, DEFAULT_ROOTS, collect, column_key, parse_filter, print_table, sort_runs,
                       write_csv, write_report)


def _fix_negative_sort(argv: list[str]) -> list[str]:
    """``--sort -eval_loss``: argparse would read ``-eval_loss`` as an option; join it to ``--sort=``."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in ("--sort", "-s") and i + 1 < len(argv) and argv[i + 1].startswith("-") and len(argv[i + 1]) > 1:
            out.append(f"--sort={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loralab-compare",
        description="Compare loralab runs: a table, runs.csv and report.png (loss curves; objective vs lr and r for sweeps).")
    p.add_argument("dirs", nargs="*", type=Path,
                   help=f"directories to scan recursively for run directories (default: {' and '.join(DEFAULT_ROOTS)})")
    p.add_argument("--sort", "-s", metavar="COLUMN",
                   help=f"sort by a column, -COLUMN for descending; columns: {', '.join(COLUMN_KEYS)}")
    p.add_argument("--filter", "-f", action="append", default=[], metavar="GROUP=OPTION",
                   help="keep runs whose config group (model, lora, precision, optimizer, data ...), column or "
                        "dotted config key has this value; repeatable (all must match)")
    p.add_argument("--all", "-a", action="store_true", dest="include_all",
                   help="include runs that did not complete (running, failed, interrupted, pruned)")
    p.add_argument("--out", "-o", type=Path, default=Path("compare"), help="output directory (default: ./compare)")
    p.add_argument("--objective", default="eval_loss",
                   help="column plotted against lr and r for sweeps (default: eval_loss, the best eval loss)")
    p.add_argument("--no-plot", action="store_true", help="write runs.csv only")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_fix_negative_sort(list(sys.argv[1:] if argv is None else argv)))
    try:
        filters = [parse_filter(f) for f in args.filter]
        if args.sort:
            column_key(args.sort.lstrip("-+"))
        column_key(args.objective)
    except ValueError as exc:
        parser.error(str(exc))
    roots = list(args.dirs) or [Path(d) for d in DEFAULT_ROOTS]
    missing = [str(d) for d in roots if not d.is_dir()]
    if args.dirs and missing:
        parser.error(f"not a directory: {', '.join(missing)}")
    from ..console import console

    runs, skipped = collect([d for d in roots if d.is_dir()], filters, args.include_all)
    runs = sort_runs(runs, args.sort)
    if not runs:
        console.print(f"no {'' if args.include_all else 'completed '}runs found under {', '.join(map(str, roots))}"
                      + (f" matching {', '.join(args.filter)}" if filters else ""))
        if skipped:
            console.print(f"skipped {skipped} incomplete run{'s' if skipped != 1 else ''} (not completed; --all shows them)")
        return 1
    print_table(runs, skipped)
    write_csv(runs, args.out / "runs.csv")
    outputs = [str(args.out / "runs.csv")]
    if not args.no_plot:
        write_report(runs, args.out / "report.png", args.objective)
        outputs.append(str(args.out / "report.png"))
    console.print(f"wrote {' and '.join(outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
