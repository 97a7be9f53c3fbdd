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

from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from ..errors import DataError
from .files import DataProblems
from .pipeline import Encoded, Splits, build_split, duplicate_rows, encode_split, load_splits, nothing_left_message

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
    # per split: every row tokenized once, untruncated (training builds its sets from these)
    encoded: dict[str, list[Encoded]] = field(default_factory=dict)

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


def check_data(cfg: DictConfig, tokenizer, splits: Splits | None = None) -> DataReport:
    """Load and tokenize every split of ``cfg.data`` as training would, collecting every problem
    (invalid rows, unreadable files, splits with nothing left to learn) instead of stopping at the first.
    Training passes the ``splits`` it loaded already (whose row problems were raised then)."""
    problems = DataProblems()
    if splits is None:
        splits = load_splits(cfg.data, problems)
    max_length = cfg.trainer.max_length
    stats: dict[str, dict[str, Any]] = {}
    encoded: dict[str, list[Encoded]] = {}
    for name, records in splits.records.items():
        if not records:  # every row invalid, or the file unreadable: already a problem
            stats[name] = {"rows": 0}
            continue
        encoded[name] = encode_split(records, tokenizer, cfg.data, splits.tools)
        stats[name] = build_split(encoded[name], max_length, name, require_rows=False).stats
        if not stats[name]["kept"]:
            problems.add(nothing_left_message(name, len(records), max_length, stats[name]["length"]["max"]))
    return DataReport(splits, max_length, stats, duplicate_rows(splits.records), problems,
                      unchecked_call_rows(splits), encoded)


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
