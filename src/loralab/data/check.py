"""``loralab-data-check``: what training would see, checked before any training.

    loralab-data-check data=qa-template data.train_file=SFTlabel.json
    loralab-data-check data=files data.train_file=train.jsonl trainer.max_length=1024 --json report.json

The config is composed exactly as ``loralab-train`` composes it (same conf/, same overrides).
Every split is loaded with the chosen template and tokenized with the model's tokenizer; the
report gives rows per split, token lengths (p50/p90/p99/max, before truncation), the share
truncated at trainer.max_length and dropped (no answer token left), rows duplicated across
splits, and every invalid row with its file and line. Exit status 1 when there are problems.
Training calls ``check_data`` too and refuses the same data with the same messages."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from .files import DataError, DataProblems
from .pipeline import Splits, duplicate_rows, load_splits, nothing_left_message, tokenize_split

EXAMPLES_SHOWN = 3  # duplicate pairs named per split pair


@dataclass
class DataReport:
    """The loaded splits (training uses these), their token statistics, duplicates and problems."""

    splits: Splits
    max_length: int
    # per split: rows, kept, truncated, dropped, tokens, trained_tokens, length {p50, p90, p99, max}
    stats: dict[str, dict[str, Any]]
    # (split, row, earlier split, earlier row) for every row that repeats an earlier one
    duplicates: list[tuple[str, int, str, int]]
    problems: DataProblems
    # per split: rows with gold tool calls but no tool schema (no row `tools`, no data.tools_file)
    unchecked_calls: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_problems(self) -> None:
        """Training stops here, with the message loralab-data-check prints."""
        if self.problems:
            raise DataError(self.problems.summary())

    def duplicate_counts(self) -> dict[str, dict[str, int]]:
        """{split: {earlier split: rows of split repeating a row of it}}."""
        counts: dict[str, dict[str, int]] = {}
        for name, _, earlier, _ in self.duplicates:
            counts.setdefault(name, {}).setdefault(earlier, 0)
            counts[name][earlier] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        stats = {name: {**s, "truncated_share": _share(s.get("truncated", 0), s["rows"])}
                 for name, s in self.stats.items()}
        return {"ok": self.ok, "max_length": self.max_length, "splits": stats,
                "duplicates": self.duplicate_counts(), "unchecked_calls": dict(self.unchecked_calls),
                "problem_count": self.problems.count,
                "problems": list(self.problems.messages)}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def tokenizer_for(cfg: DictConfig):
    """The tokenizer training would use (for the embedded model this materialises it once)."""
    from ..modeling import build_tokenizer, model_location

    return build_tokenizer(cfg.model, model_location(cfg.model, cfg.paths.cache_dir))


def check_data(cfg: DictConfig, tokenizer=None, splits: Splits | None = None) -> DataReport:
    """Load and tokenize every split of ``cfg.data`` as training would, collecting every problem
    (invalid rows, unreadable files, splits with nothing left to learn) instead of stopping at the first.
    Training passes the ``splits`` it loaded already (whose row problems were raised then)."""
    problems = DataProblems()
    if splits is None:
        splits = load_splits(cfg.data, problems)
    if tokenizer is None:
        tokenizer = tokenizer_for(cfg)
    max_length = cfg.trainer.max_length
    stats: dict[str, dict[str, Any]] = {}
    for name, records in splits.records.items():
        if not records:  # every row invalid, or the file unreadable: already a problem
            stats[name] = {"rows": 0}
            continue
        tokenized = tokenize_split(records, tokenizer, cfg.data, splits.tools, max_length, name, require_rows=False)
        stats[name] = tokenized.stats
        if not tokenized.stats["kept"]:
            problems.add(nothing_left_message(name, len(records), max_length, tokenized.stats["length"]["max"]))
    return DataReport(splits, max_length, stats, duplicate_rows(splits.records), problems,
                      unchecked_call_rows(splits))


def unchecked_call_rows(splits: Splits) -> dict[str, int]:
    """Rows whose gold tool calls no schema covers: they are trained and scored unchecked."""
    counts = {}
    for name, records in splits.records.items():
        n = sum(1 for r in records
                if not (r.get("tools") or splits.tools)
                and any(m.get("tool_calls") for m in r.get("messages") or []))
        if n:
            counts[name] = n
    return counts


def print_report(report: DataReport, cfg: DictConfig) -> None:
    from rich.table import Table

    from ..console import console

    table = Table(title=f"data check ({cfg.data.name}, trainer.max_length={report.max_length})", title_justify="left")
    for column in ("split", "rows", "p50", "p90", "p99", "max", "truncated", "dropped", "trained tokens"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, s in report.stats.items():
        length = s.get("length", {})
        table.add_row(name, f"{s['rows']:,}", *(f"{length.get(k, 0):,}" for k in ("p50", "p90", "p99", "max")),
                      f"{s.get('truncated', 0):,} ({100 * _share(s.get('truncated', 0), s['rows']):.1f} %)",
                      f"{s.get('dropped', 0):,}", f"{s.get('trained_tokens', 0):,}")
    console.print(table)
    say = lambda text: console.print(text, markup=False, soft_wrap=True)  # noqa: E731 -- paths stay greppable
    for name, cap in (("train", cfg.data.max_train_examples), ("validation", cfg.data.max_eval_examples)):
        if cap and report.stats.get(name, {}).get("rows", 0) > cap:
            say(f"note: training uses the first {cap:,} {name} rows (data.max_"
                f"{'train' if name == 'train' else 'eval'}_examples)")
    for name, by_earlier in report.duplicate_counts().items():
        for earlier, count in by_earlier.items():
            pairs = [(i, j) for s, i, e, j in report.duplicates if s == name and e == earlier][:EXAMPLES_SHOWN]
            examples = ", ".join(f"{report.splits.where(name, i)} = {report.splits.where(earlier, j)}" for i, j in pairs)
            which = f"within {name}" if name == earlier else f"{name} rows also in {earlier}"
            say(f"duplicates {which}: {count:,} (e.g. {examples})")
    if report.unchecked_calls:
        where = ", ".join(f"{name} {n:,}" for name, n in report.unchecked_calls.items())
        say(f"note: tool calls in {sum(report.unchecked_calls.values()):,} rows ({where}) were checked against no "
            "tool schema (the rows have no `tools` and data.tools_file is not set): a call to an unknown tool or "
            "with wrong arguments would be trained, and scored as correct; set data.tools_file=tools.json")
    if report.problems:
        say(f"error: {report.problems.summary()}")
    else:
        say("data check passed: no invalid rows")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loralab-data-check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="config overrides, exactly as for loralab-train")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hydra.errors import HydraException

    from ..api import compose
    from ..console import console
    from ..errors import exit_on_user_error

    with exit_on_user_error():  # a config mistake or an unreadable tools file: message and exit 2
        try:
            cfg = compose(args.overrides)
        except HydraException as exc:  # a malformed override or an unknown key
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report = check_data(cfg)
    print_report(report, cfg)
    if args.json:
        from ..rundir import write_json

        write_json(Path(args.json), report.to_dict())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
