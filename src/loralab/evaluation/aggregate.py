"""Aggregate per-answer scores into a run's report, and compare two reports."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .scoring import CALL, CLARIFICATION, FAILURE_CLASSES, IRRELEVANCE, AnswerScore
from .stats import compare_paired, compare_proportions, rate

RATE_METRICS = (
    "valid_json", "tool_name_accuracy", "exact_call_accuracy", "irrelevance_accuracy", "clarification_accuracy",
    "turn_accuracy", "relevance", "multi_call_exact", "hallucinated_tool_rate", "hallucinated_argument_rate",
    "type_error_rate", "missed_call_rate", "spurious_call_rate",
)
# the before/after rows of a comparison (base vs fine-tuned, run vs run)
HEADLINE = ("exact_call_accuracy", "tool_name_accuracy", "valid_json", "irrelevance_accuracy",
            "clarification_accuracy", "turn_accuracy", "relevance", "multi_call_exact", "hallucinated_tool_rate",
            "hallucinated_argument_rate")
# the rates logged at every evaluation during training (eval.during_training), as eval_tool_<name>:
# they can select the best checkpoint and be a sweep's pruned objective
DURING_TRAINING = ("exact_call_accuracy", "tool_name_accuracy", "valid_json", "irrelevance_accuracy",
                   "multi_call_exact")
DURING_TRAINING_PREFIX = "eval_tool_"
EXCERPT_CHARS = 600


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, Any]:
    precision = tp / n_pred if n_pred else None
    recall = tp / n_gold if n_gold else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "n_pred": n_pred, "n_gold": n_gold}


def aggregate(scores: list[AnswerScore], groups: dict[str, list[str]] | None = None,
              examples_per_failure: int = 3, ids: list[str] | None = None) -> dict[str, Any]:
    """JSON-ready report over a run. Denominators: see ``RATE_DENOMINATORS`` in report_markdown.

    Per-answer rates count answers of the turns they are about: exact_call_accuracy and
    tool_name_accuracy the turns whose gold calls a tool, irrelevance_accuracy and
    clarification_accuracy the turns of those kinds, valid_json the answers that attempt a call;
    hallucinated_tool_rate counts predicted calls; hallucinated_argument_rate and type_error_rate
    count predicted calls to known tools (arguments of an invented tool cannot be judged). Failure
    counts are answers showing the class at least once. Per-tool rows count gold calls by gold tool
    name. ``examples`` keeps each answer's outcome, so any paired comparison can be recomputed.
    """
    n = len(scores)
    example_ids = None if ids is None else [str(i) for i in ids]   # only real ids make reports pairable
    ids = example_ids or [str(i) for i in range(n)]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} scores")
    known_calls = sum(s.n_known_calls for s in scores)

    def frac(items: list[AnswerScore], attr: str) -> dict[str, Any]:
        return rate(sum(bool(getattr(s, attr)) for s in items), len(items))

    # One character per answer for each per-answer rate: "1" counted as a success, "0" as a failure,
    # "." outside the rate's denominator. The rates are counted from these strings, and two reports
    # on the same examples are compared example by example (``compare_reports``).
    def marks(attr: str, applies=lambda s: True) -> str:
        return "".join(("1" if getattr(s, attr) else "0") if applies(s) else "." for s in scores)

    def of(kind: str):
        return lambda s: s.kind == kind

    outcomes = {
        "valid_json": marks("valid_json", lambda s: s.has_call),
        "tool_name_accuracy": marks("tool_name_correct", of(CALL)),
        "exact_call_accuracy": marks("exact", of(CALL)),
        "irrelevance_accuracy": marks("correct", of(IRRELEVANCE)),
        "clarification_accuracy": marks("correct", of(CLARIFICATION)),
        "turn_accuracy": marks("correct"),
        "relevance": marks("has_call", lambda s: s.gold_has_call),
        "multi_call_exact": marks("exact", lambda s: len(s.gold_calls) >= 2),
        "missed_call_rate": marks("missed_call", lambda s: s.gold_has_call),
        "spurious_call_rate": marks("spurious_call", lambda s: not s.gold_has_call),
    }
    counted = {m: rate(o.count("1"), len(o) - o.count(".")) for m, o in outcomes.items()}
    counted |= {
        "hallucinated_tool_rate": rate(sum(len(s.hallucinated_tools) for s in scores),
                                       sum(s.n_pred_calls for s in scores)),
        "hallucinated_argument_rate": rate(sum(s.n_calls_hallucinated_args for s in scores), known_calls),
        "type_error_rate": rate(sum(s.n_calls_type_errors for s in scores), known_calls),
    }
    rates = {m: counted[m] for m in RATE_METRICS}
    arguments = _prf(sum(s.arg_tp for s in scores), sum(s.arg_n_pred for s in scores),
                     sum(s.arg_n_gold for s in scores))

    tool_rows: dict[str, list[dict]] = {}
    for s in scores:
        for g in s.per_gold:
            tool_rows.setdefault(g["name"], []).append(g)
    per_tool = {
        name: {"n": len(rows),
               "exact": rate(sum(r["exact"] for r in rows), len(rows)),
               "name_accuracy": rate(sum(r["name_ok"] for r in rows), len(rows)),
               **{f"arg_{k}": v for k, v in _prf(sum(r["tp"] for r in rows), sum(r["n_pred"] for r in rows),
                                                 sum(r["n_gold"] for r in rows)).items()
                  if k in ("precision", "recall", "f1")}}
        for name, rows in sorted(tool_rows.items())
    }

    group_out: dict[str, dict[str, Any]] = {}
    for key, values in (groups or {}).items():
        if len(values) != n:
            raise ValueError(f"group {key!r} has {len(values)} values for {n} scores")
        members: dict[str, list[AnswerScore]] = {}
        for value, s in zip(values, scores):
            members.setdefault(str(value), []).append(s)
        group_out[key] = {v: {"n": len(ms), "turn_accuracy": frac(ms, "correct"),
                              "exact_call_accuracy": frac([s for s in ms if s.kind == CALL], "exact"),
                              "tool_name_accuracy": frac([s for s in ms if s.kind == CALL], "tool_name_correct")}
                          for v, ms in sorted(members.items())}

    failures: dict[str, dict[str, Any]] = {k: {"count": 0, "examples": []} for k in FAILURE_CLASSES}
    for ex_id, s in zip(ids, scores):
        for kind in s.failures:
            entry = failures[kind]
            entry["count"] += 1
            if len(entry["examples"]) < examples_per_failure:
                entry["examples"].append({
                    "id": ex_id,
                    "answer": s.answer[:EXCERPT_CHARS] + ("…" if len(s.answer) > EXCERPT_CHARS else ""),
                    "gold": s.gold_calls,
                    "detail": next(d["message"] for d in s.details if d["kind"] == kind),
                })
    examples = [{"id": ex_id, "kind": s.kind, "outcome": s.outcome, "correct": s.correct, "exact": s.exact,
                 "has_call": s.has_call, "failures": s.failures} for ex_id, s in zip(ids, scores)]
    return {"n": n, "rates": rates, "arguments": arguments, "per_tool": per_tool,
            "groups": group_out, "failures": failures, "outcomes": {
                "ids": example_ids, "gold": _gold_digest(scores), "marks": outcomes}, "examples": examples}


def _gold_digest(scores: list[AnswerScore]) -> str:
    gold = json.dumps([s.gold_calls for s in scores], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(gold.encode("utf-8")).hexdigest()[:16]


def _paired_outcomes(before: dict, after: dict, metric: str) -> tuple[list[bool], list[bool]] | None:
    """Both reports' outcomes for ``metric`` when they counted the same examples: the same ids in the
    same order with the same gold calls (a regenerated data set may reuse ids), and the same
    examples in the rate's denominator. None otherwise, or for a report written before outcomes
    were kept."""
    b, a = before.get("outcomes") or {}, after.get("outcomes") or {}
    if not b.get("ids") or (b["ids"], b.get("gold")) != (a.get("ids"), a.get("gold")):
        return None
    ob, oa = b["marks"].get(metric), a["marks"].get(metric)
    # a rate whose denominator depends on the answers (valid_json: answers that attempt a call)
    # counts other examples on each side: not a pairing
    if ob is None or oa is None or [c == "." for c in ob] != [c == "." for c in oa]:
        return None
    return [c == "1" for c in ob if c != "."], [c == "1" for c in oa if c != "."]


def compare_reports(before: dict, after: dict, metrics: list[str] | None = None) -> list[dict[str, Any]]:
    """Row per rate metric: before, after, delta (after - before), p-value, significant, and the test
    used: McNemar on the examples both reports scored when they scored the same ones, else a z-test."""
    metrics = metrics or [m for m in RATE_METRICS if m in before["rates"] and m in after["rates"]]
    rows = []
    for metric in metrics:
        if metric not in before["rates"] or metric not in after["rates"]:
            raise KeyError(f"{metric!r} is not a rate in both reports; rates: {sorted(before['rates'])}")
        b, a = before["rates"][metric], after["rates"][metric]
        paired = _paired_outcomes(before, after, metric)
        cmp = compare_paired(*paired) if paired else compare_proportions(b["k"], b["n"], a["k"], a["n"])
        rows.append({"metric": metric, "before": b["value"], "after": a["value"], "delta": cmp["delta"],
                     "before_ci95": b["ci95"], "after_ci95": a["ci95"], "p_value": cmp["p_value"],
                     "ci_overlap": cmp["ci_overlap"], "significant": cmp["significant"], "test": cmp["test"]})
    return rows
