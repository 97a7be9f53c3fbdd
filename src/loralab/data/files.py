"""Read user data files into conversation records, with errors that name the file and line.

Accepted containers: JSONL, a JSON array, Parquet, CSV. Accepted row forms:
- ``messages`` (chat; optionally with ``tools``), as produced by most chat datasets;
- ``prompt`` / ``completion`` (strings, or message lists for conversational prompt-completion);
- ``text`` (plain language modelling: every token is trained).
Every form becomes a record ``{"messages": [...], "tools": [...] | None}`` or ``{"text": ...}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

ROLES = {"system", "user", "assistant", "tool"}


class DataError(ValueError):
    """A problem in a data file; the message names the file, the row and the fix."""


def _rows(path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (location for messages, row) from any supported container."""
    if path.is_dir():
        raise DataError(f"{path} is a directory: give the path of a .jsonl, .json, .parquet or .csv file")
    if not path.exists():
        raise DataError(f"{path} does not exist: check data.train_file / validation_file / test_file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            for i, row in enumerate(pq.read_table(path).to_pylist(), start=1):
                yield f"{path} row {i}", row
            return
        raw = path.read_bytes()
    except PermissionError as exc:
        raise DataError(f"{path} is not readable ({exc.strerror}): fix its permissions (chmod +r)") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8, "
                        "e.g. iconv -f cp949 -t utf-8") from exc
    if not text.strip():
        raise DataError(f"{path} is empty: it needs at least one row")
    if suffix == ".csv":
        import csv
        import io

        for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):  # line 1 is the header
            yield f"{path}:{i}", {k: _maybe_json(v) for k, v in row.items()}
        return
    if suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from exc
        if not isinstance(rows, list):
            raise DataError(f"{path}: a .json file must hold an array of row objects")
        for i, row in enumerate(rows, start=1):
            yield f"{path} row {i}", row
        return
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{i}: invalid JSON ({exc.msg}, column {exc.colno}): "
                            "each line of a .jsonl file must be one complete JSON object") from exc
        yield f"{path}:{i}", row


def _maybe_json(value: str | None) -> Any:
    """CSV cells holding JSON (a messages list, say) are decoded; plain strings stay strings."""
    if value and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _check_messages(messages: Any, where: str) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list of {{role, content}} objects")
    for j, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise DataError(f"{where}: messages[{j}] must be an object with a 'role'")
        if m["role"] not in ROLES:
            raise DataError(f"{where}: messages[{j}].role = {m['role']!r} is not one of {sorted(ROLES)}")
        if m.get("content") is None and not m.get("tool_calls"):
            raise DataError(f"{where}: messages[{j}] ({m['role']}) has no 'content'")
    if not any(m["role"] == "assistant" for m in messages):
        raise DataError(f"{where}: no assistant turn: there is nothing to learn from this row; "
                        "add the assistant's answer or drop the row")
    return messages


def record_from_row(row: Any, where: str) -> dict:
    """Normalise one row of any accepted form into a record."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: each row must be a JSON object, got {type(row).__name__}")
    if "messages" in row:
        tools = row.get("tools") or None  # an empty CSV cell means no tools
        if isinstance(tools, str):
            try:
                tools = json.loads(tools)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: 'tools' is a string but not valid JSON ({exc.msg}): give a JSON list "
                                "of tool schemas") from exc
        return {"messages": _check_messages(row["messages"], where), "tools": tools}
    if "prompt" in row and "completion" in row:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list) and isinstance(completion, list):
            return {"messages": _check_messages(prompt + completion, where), "tools": row.get("tools")}
        if isinstance(prompt, str) and isinstance(completion, str):
            return {"prompt": prompt, "completion": completion}
        raise DataError(f"{where}: 'prompt' and 'completion' must both be strings or both message lists")
    if "text" in row:
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise DataError(f"{where}: 'text' must be a non-empty string")
        return {"text": row["text"]}
    raise DataError(f"{where}: missing 'messages' (or 'prompt'+'completion', or 'text'); "
                    f"the row has keys {sorted(row)}")


def read_records(path: str | Path) -> list[dict]:
    path = Path(path)
    records = [record_from_row(row, where) for where, row in _rows(path)]
    if not records:
        raise DataError(f"{path} holds no rows")
    return records
