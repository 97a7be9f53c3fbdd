"""Check the assistant's gold tool calls of a record against the tool schemas it is trained with.

A gold call to a tool the schema lacks, or with arguments the schema forbids, teaches the model to
hallucinate; the evaluation would then score hallucinations as correct. Such rows are refused."""

from __future__ import annotations

import json
from typing import Any

from .tool_schema import argument_problems


def _arguments(fn: dict) -> Any:
    args = fn.get("arguments", {})
    if isinstance(args, str):  # OpenAI-style: arguments as a JSON string
        try:
            return json.loads(args)
        except json.JSONDecodeError as exc:
            raise ValueError(f"arguments are a string but not valid JSON ({exc.msg})") from exc
    return args


def gold_call_problems(messages: list[dict], tools: list[dict] | None) -> list[str]:
    """One line per problem; [] when every call names a known tool with valid arguments, or when
    the record has no tool schemas to check against."""
    if not tools:
        return []
    index = {fn.get("name"): fn for fn in (t.get("function", t) for t in tools if isinstance(t, dict))}
    problems = []
    for turn, message in enumerate(messages, start=1):
        for call in message.get("tool_calls") or []:
            fn = call.get("function", call) if isinstance(call, dict) else {}
            name = fn.get("name")
            where = f"message {turn}, call {name!r}"
            if name not in index:
                problems.append(f"{where}: no such tool in the schema (known: {', '.join(sorted(map(str, index)))})")
                continue
            try:
                args = _arguments(fn)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            try:
                problems += [f"{where}: {p.message}" for p in argument_problems(index[name].get("parameters"), args)]
            except ValueError as exc:  # the tool's own schema is broken: say so rather than crash
                problems.append(f"{where}: tool {name!r}: {exc}")
    return problems
