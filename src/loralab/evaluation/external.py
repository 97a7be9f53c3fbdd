"""``loralab-eval score``: score answers produced elsewhere (another model, an API, a serving
stack) with the scorer a run's evaluation uses, and write the same eval.json, eval.md and
eval_answers.jsonl. No model is loaded and torch is not imported.

The answers file is JSON Lines, one line per test row, matched to the test file by ``id``::

    {"id": "test-00001", "answer": "<tool_call>\\n{...}\\n</tool_call>"}
    {"id": "test-00002", "message": {"role": "assistant", "content": null,
     "tool_calls": [{"type": "function", "function": {"name": "POST /db/node", "arguments": "{...}"}}]}}

``answer`` is raw model text in ``--format`` (hermes, llama-json, or openai: plain text). A
``message`` with ``tool_calls`` is read as OpenAI returns it; one without is its ``content``
read in ``--format`` (a server that does not parse tool calls returns them as text).

The report sits where a run keeps its fine-tuned model's (``splits.<split>.fine_tuned``), so
``loralab-eval RUN --against DIR`` and ``loralab-compare`` read it like a run's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.files import DataProblems, read_file
from ..errors import DataError
from ..data.gold_calls import gold_call_problems
from ..rundir import write_json, write_text
from .parsing import HERMES, LLAMA_JSON, ParsedAnswer, parse_message
from .records import answer_lines, report_for, score_record
from .report_markdown import render

OPENAI = "openai"
ANSWER_FORMATS = (HERMES, LLAMA_JSON, "llama3-json", OPENAI)   # llama3-json: vLLM's name for llama-json
MARKER = ".loralab-score"   # marks a directory written by `loralab-eval score`: only such a one is rewritten
LISTED_IDS = 5


class ScoreInputError(DataError):
    """Bad input to ``loralab-eval score``: the message names the file and line, and the fix."""


@dataclass
class TestSet:
    records: list[dict]
    locations: list[str]   # "test.jsonl:12" per record
    tools: list[dict] | None


def read_tools_file(path: str | Path) -> list[dict]:
    path = Path(path)
    try:
        tools = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScoreInputError(f"{path}: cannot read the tools file ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise ScoreInputError(f"{path}:{exc.lineno}: the tools file is not valid JSON ({exc.msg}, column {exc.colno})"
                              ) from exc
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise ScoreInputError(f"{path}: the tools file must hold a JSON list of tool schemas "
                              '([{"type": "function", "function": {...}}, ...])')
    return tools


def read_test_set(test_file: str | Path, tools_file: str | Path | None = None, require_ids: bool = False) -> TestSet:
    """The chat rows of a test file, with their scoring fields; DataError listing every bad row
    (not chat, no tools to score against, a gold call the schema forbids, a missing or repeated id)."""
    tools = read_tools_file(tools_file) if tools_file else None
    problems = DataProblems()
    rows = read_file(test_file, problems)
    seen: dict[str, str] = {}
    records, locations = [], []
    for where, record in rows:
        if "messages" not in record:
            problems.add(f"{where}: a test row needs 'messages' (a chat with the assistant's answer) to be scored")
            continue
        row_tools = record.get("tools") or tools
        if not row_tools:
            problems.add(f"{where}: the row has no 'tools' and no tools file was given (--tools-file): the "
                         "answers' calls cannot be checked")
            continue
        for problem in gold_call_problems(record["messages"], row_tools):
            problems.add(f"{where}: gold tool call does not fit the tool schema: {problem}; fix the row or the schema")
        if "id" in record:
            key = str(record["id"])
            if key in seen:
                problems.add(f"{where}: id {record['id']!r} is already used at {seen[key]}: ids must be unique")
            seen.setdefault(key, where)
        elif require_ids:
            problems.add(f"{where}: the row has no 'id': answers are matched to test rows by id; give every row a "
                         "unique one")
        records.append(record)
        locations.append(where)
    if problems:
        raise DataError(problems.summary())
    return TestSet(records, locations, tools)


def _listed(ids: list[str]) -> str:
    more = f" and {len(ids) - LISTED_IDS} more" if len(ids) > LISTED_IDS else ""
    return ", ".join(repr(i) for i in ids[:LISTED_IDS]) + more


def read_answers(path: str | Path, test: TestSet, test_file: str | Path,
                 answer_format: str = HERMES) -> dict[str, tuple[str, ParsedAnswer | None]]:
    """Test id -> (the answer as text, its parse when already structured); DataError naming every bad
    line (not JSON, no id, an id the test file lacks, an id answered twice, no answer) and every test
    row left unanswered."""
    path = Path(path)
    if not path.is_file():
        raise ScoreInputError(f"{path} does not exist or is not a file: give the answers file (JSON Lines)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScoreInputError(f"{path}: not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8") from exc
    ids = {str(r["id"]) for r in test.records if "id" in r}
    problems = DataProblems()
    answers: dict[str, tuple[str, ParsedAnswer | None]] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(f"{where}: not valid JSON ({exc.msg}, column {exc.colno}): each line must be one "
                         '{"id": ..., "answer": "..."} or {"id": ..., "message": {...}} object')
            continue
        if not isinstance(row, dict):
            problems.add(f"{where}: each line must be a JSON object, got {type(row).__name__}")
            continue
        if row.get("id") is None:
            problems.add(f"{where}: no 'id': each answer names the test row it answers")
            continue
        if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
            problems.add(f"{where}: 'id' must be a string or an integer, got {row['id']!r}")
            continue
        key = str(row["id"])
        if key not in ids:
            problems.add(f"{where}: id {row['id']!r} is not in the test file {test_file}")
            continue
        if key in first_line:
            problems.add(f"{where}: id {row['id']!r} is answered twice (first on line {first_line[key]}): keep one")
            continue
        first_line[key] = number
        try:
            answers[key] = _answer(row, answer_format)
        except ValueError as exc:
            problems.add(f"{where}: {exc}")
    unanswered = [str(r["id"]) for r in test.records if str(r["id"]) not in answers and str(r["id"]) not in first_line]
    if unanswered:
        problems.add(f"{path}: no answer for {len(unanswered)} of the {len(test.records)} rows of {test_file}: "
                     f"ids {_listed(unanswered)}; answer every row (an empty answer is \"\")")
    if problems:
        raise DataError(problems.summary())
    return answers


def _answer(row: dict, answer_format: str) -> tuple[str, ParsedAnswer | None]:
    has_answer, has_message = "answer" in row, "message" in row
    if has_answer == has_message:
        raise ValueError("give exactly one of 'answer' (the raw text) or 'message' (an OpenAI-style assistant "
                         f"message); the line has keys {sorted(row)}")
    if has_answer:
        if not isinstance(row["answer"], str):
            raise ValueError(f"'answer' must be a string (the raw answer text), got {type(row['answer']).__name__}")
        return row["answer"], parse_message({"content": row["answer"]}) if answer_format == OPENAI else None
    message = row["message"]
    parsed = parse_message(message)   # ValueError names the bad field
    if message.get("tool_calls") or answer_format == OPENAI:
        return json.dumps(message, ensure_ascii=False), parsed
    return message.get("content") or "", None


def check_out_dir(out: Path) -> None:
    """Refuse an --out that holds anything but an earlier ``loralab-eval score`` output."""
    if out.exists() and not out.is_dir():
        raise ScoreInputError(f"--out {out} is a file: give a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ScoreInputError(f"--out {out} is not empty and is not an earlier `loralab-eval score` output (no {MARKER} "
                              "file): nothing in it is replaced; give a new or empty directory")


def score_answers(answers_file: str | Path, test_file: str | Path, out: str | Path, tools_file: str | Path | None = None,
                  answer_format: str = HERMES, split: str = "test") -> dict[str, Any]:
    """Score the answers against the test file and write eval.json, eval.md and eval_answers.jsonl
    into ``out``; return the eval.json payload."""
    if answer_format not in ANSWER_FORMATS:
        raise ScoreInputError(f"--format {answer_format!r}: expected one of {', '.join(ANSWER_FORMATS)}")
    text_format = LLAMA_JSON if answer_format == "llama3-json" else HERMES if answer_format == OPENAI else answer_format
    out = Path(out)
    check_out_dir(out)
    test = read_test_set(test_file, tools_file, require_ids=True)
    answers = read_answers(answers_file, test, test_file, answer_format)
    scores = []
    for record, where in zip(test.records, test.locations):
        text, parsed = answers[str(record["id"])]
        try:
            scores.append(score_record(record, text, test.tools, text_format, parsed=parsed))
        except ValueError as exc:   # a tool schema the validator cannot use
            source = tools_file or "the row's 'tools'"
            raise ScoreInputError(f"{where}: {exc}; fix the tool schema in {source}") from exc
    report = report_for(test.records, scores)
    payload = {"primary": split, "label": "answers",
               "scored": {"answers_file": str(answers_file), "test_file": str(test_file),
                          "tools_file": None if tools_file is None else str(tools_file), "format": answer_format},
               "splits": {split: {"n": len(scores), "fine_tuned": {"report": report, "throughput": None}}}}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MARKER, payload["scored"])
    write_json(out / "eval.json", payload)
    write_text(out / "eval.md", render(report, f"Tool-call evaluation: {Path(answers_file).name} on {split} "
                                               f"({len(scores)} examples)"))
    write_text(out / "eval_answers.jsonl", "".join(json.dumps(a, ensure_ascii=False) + "\n"
                                                   for a in answer_lines(test.records, scores, split=split)))
    return payload
