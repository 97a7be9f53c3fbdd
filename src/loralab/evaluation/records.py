"""Score answers against records: what a record says about its scored turn (gold calls,
acceptable values, order, missing arguments), shared by the model evaluation (runner.py) and by
``loralab-eval score`` (external.py). No model and no torch here."""

from __future__ import annotations

import json
from typing import Any

from ..data.prompting import prompt_and_gold
from .aggregate import aggregate
from .parsing import ParsedAnswer
from .scoring import AnswerScore, score_answer

GROUP_KEYS = ("language", "category", "values")   # record fields the report breaks scores down by


def gold_calls(message: dict) -> list[dict]:
    """The ``{"name", "arguments"}`` calls of an assistant message (arguments given as a JSON string decoded)."""
    calls = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call)
        args = fn.get("arguments", {})
        calls.append({"name": fn["name"], "arguments": json.loads(args) if isinstance(args, str) else args})
    return calls


def score_record(record: dict, answer: str, tools: list[dict] | None, tool_call_format: str = "hermes",
                 parsed: ParsedAnswer | None = None) -> AnswerScore:
    """Score ``answer`` (or ``parsed``) against the record's last assistant turn."""
    history, gold = prompt_and_gold(record)
    return score_answer(answer, gold_calls(gold), record.get("tools") or tools or [],
                        acceptable=record.get("acceptable"), ordered=bool(record.get("ordered")),
                        tool_call_format=tool_call_format, missing_arguments=record.get("missing_arguments"),
                        after_tool_result=bool(history) and history[-1].get("role") == "tool", parsed=parsed)


def record_ids(records: list[dict]) -> list[str]:
    return [str(r.get("id", i)) for i, r in enumerate(records)]


def report_for(records: list[dict], scores: list[AnswerScore]) -> dict[str, Any]:
    """The aggregate report, broken down by the GROUP_KEYS every record has."""
    groups = {k: [str(r.get(k)) for r in records] for k in GROUP_KEYS if records and all(k in r for r in records)}
    return aggregate(scores, groups=groups or None, ids=record_ids(records))


def answer_lines(records: list[dict], scores: list[AnswerScore], **extra: Any) -> list[dict]:
    """One eval_answers.jsonl row per example: the raw answer and its outcome."""
    return [{**extra, "id": i, "kind": s.kind, "outcome": s.outcome, "correct": s.correct, "exact": s.exact,
             "failures": s.failures, "answer": s.answer} for i, s in zip(record_ids(records), scores)]
