"""Render an ``aggregate`` report (and optionally a ``compare_reports`` table) as markdown."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from .scoring import TURN_KINDS
from .stats import NOISE_SCOPE, TEST_NAMES, TEST_RULE

# What each rate counts, shown next to the numbers so nobody misreads a denominator.
RATE_DENOMINATORS = {
    "valid_json": "answers whose attempted calls are all well-formed, tagged and closed, over answers that attempt a call",
    "tool_name_accuracy": "answers whose multiset of called tool names equals the gold's, over turns whose gold calls",
    "exact_call_accuracy": "answers matching every gold call exactly (no extra call, no broken block), over turns "
                           "whose gold calls",
    "irrelevance_accuracy": "non-empty text answers without a call or a claimed action, over turns no tool applies to",
    "clarification_accuracy": "answers asking for the missing value without a call or a claimed action, over turns "
                              "whose request lacks a required value",
    "turn_accuracy": "answers correct for their turn's kind (call, irrelevance, clarification, summary), over all turns",
    "relevance": "answers attempting a call, over turns whose gold calls",
    "multi_call_exact": "exact answers, over turns with >= 2 gold calls",
    "hallucinated_tool_rate": "predicted calls naming a tool not in the schema, over all predicted calls",
    "hallucinated_argument_rate": "calls with a key not in the tool's properties, over calls to known tools",
    "type_error_rate": "calls with an argument of a JSON type the schema does not allow, over calls to known tools",
    "missed_call_rate": "answers attempting no call, over turns whose gold calls",
    "spurious_call_rate": "answers attempting a call, over turns whose gold has no call",
}
EXAMPLE_CHARS = 400


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ci(ci: list[float] | None) -> str:
    return "n/a" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _cell(value: Any) -> str:
    # Pipes and newlines would break the table row.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _fenced(text: str, limit: int = EXAMPLE_CHARS, lang: str = "") -> list[str]:
    text = text if len(text) <= limit else text[:limit] + " …[truncated]"
    # A fence longer than any backtick run inside keeps model output from closing it early.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, text, fence]


def _rate_cell(r: dict[str, Any]) -> list[str]:
    return [_pct(r["value"]), _ci(r["ci95"] if r["n"] else None), f"{r['k']}/{r['n']}"]


def render(report: dict[str, Any], title: str, comparison: list[dict[str, Any]] | None = None,
           comparison_note: str = "") -> str:
    out = [f"# {title}", "", f"Examples: **{report['n']}**. Intervals are Wilson 95 %.", ""]
    kinds = Counter(e["kind"] for e in report.get("examples") or [])
    if kinds:
        out += ["Turns: " + ", ".join(f"{kinds[k]} {k}" for k in TURN_KINDS if kinds[k]) + ".", ""]

    out += ["## Headline metrics", ""]
    rows = [[name, *_rate_cell(r), RATE_DENOMINATORS.get(name, "")] for name, r in report["rates"].items()]
    out += _table(["Metric", "Value", "95% CI", "k/n", "What is counted"], rows)

    a = report["arguments"]
    out += ["## Arguments (micro over flattened key paths)", ""]
    out += _table(["argument_precision", "argument_recall", "argument_f1", "correct", "predicted", "gold"],
                  [[_pct(a["precision"]), _pct(a["recall"]), _pct(a["f1"]), a["tp"], a["n_pred"], a["n_gold"]]])

    if report.get("per_tool"):
        out += ["## Per tool (gold calls by gold tool name)", ""]
        rows = [[f"`{name}`", t["n"], _pct(t["exact"]["value"]), _ci(t["exact"]["ci95"]),
                 _pct(t["name_accuracy"]["value"]), _pct(t["arg_f1"])] for name, t in report["per_tool"].items()]
        out += _table(["Tool", "n", "Exact", "Exact 95% CI", "Name accuracy", "Arg F1"], rows)

    for key, values in (report.get("groups") or {}).items():
        out += [f"## By {key}", ""]
        rows = [[value, g["n"], _pct(g["turn_accuracy"]["value"]), _ci(g["turn_accuracy"]["ci95"]),
                 _pct(g["exact_call_accuracy"]["value"]), g["exact_call_accuracy"]["n"],
                 _pct(g["tool_name_accuracy"]["value"])] for value, g in values.items()]
        out += _table([key, "n", "Correct", "Correct 95% CI", "Exact (call turns)", "Call turns", "Name accuracy"],
                      rows)

    failures = report.get("failures") or {}
    out += ["## Failures (answers showing each class)", ""]
    out += _table(["Class", "Answers"], [[k, f["count"]] for k, f in failures.items()])
    for kind, entry in failures.items():
        if not entry["examples"]:
            continue
        out += [f"### {kind} ({entry['count']})", ""]
        for ex in entry["examples"]:
            out += [f"**Example `{ex['id']}`** — {_cell(ex['detail'])}", "", "Answer:"]
            out += _fenced(ex["answer"])
            out += ["Gold:"]
            out += _fenced(json.dumps(ex["gold"], ensure_ascii=False), lang="json")
            out += [""]

    if comparison:
        out += ["## Comparison (after − before, α = 0.05)", "",
                f"Test: {TEST_RULE}; {NOISE_SCOPE}.", ""] + ([comparison_note, ""] if comparison_note else [])
        rows = [[c["metric"], _pct(c["before"]), _pct(c["after"]),
                 "n/a" if c["delta"] is None else f"{100 * c['delta']:+.1f} pp",
                 "n/a" if c["p_value"] is None else f"{c['p_value']:.3g}", TEST_NAMES[c["test"]],
                 "yes" if c["significant"] else "no"] for c in comparison]
        out += _table(["Metric", "Before", "After", "Δ", "p", "Test", "Significant"], rows)
    return "\n".join(out).rstrip() + "\n"
