"""Read user data files into conversation records, with errors that name the file and line.

Accepted containers: JSONL, a JSON array, Parquet, CSV. Accepted row forms:
- ``messages`` (chat; optionally with ``tools``), as produced by most chat datasets;
- ``prompt`` / ``completion`` (strings, or message lists for conversational prompt-completion);
- ``text`` (plain language modelling: every token is trained);
- any fields at all, through a ``FieldTemplate`` (data.prompt_template / data.completion_template),
  e.g. ``{"question": ..., "answer": ...}`` rendered as ``### 질문: {question}\\n\\n### 답변:``.
Every form becomes a record ``{"messages": [...], "tools": [...] | None}``, ``{"prompt": ..., "completion": ...}``
or ``{"text": ...}``.

Reading does not stop at the first bad row: every problem is collected in ``DataProblems`` so that
a user fixes a file in one pass (``loralab-data-check`` lists them; training refuses to start)."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from ..errors import DataError

ROLES = {"system", "user", "assistant", "tool"}
# problems kept for messages; beyond this only the count grows (a wholly wrong file has one per row)
MAX_LISTED = 50


@dataclass
class DataProblems:
    """Every problem found while reading: the first MAX_LISTED messages and the total count."""

    messages: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < MAX_LISTED:
            self.messages.append(message)

    def __bool__(self) -> bool:
        return self.count > 0

    def summary(self) -> str:
        if self.count == 1:
            return self.messages[0]
        lines = "\n".join(f"  {m}" for m in self.messages)
        more = f"\n  ... and {self.count - len(self.messages)} more" if self.count > len(self.messages) else ""
        return f"{self.count} data problems (fix or remove each row named):\n{lines}{more}"


def template_fields(template: str) -> list[str]:
    """The row fields a template reads: ``['question']`` for ``"### 질문: {question}"``.
    Raises ValueError for a malformed template or a positional field (``{}``, ``{0}``)."""
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        root = re.split(r"[.\[]", name, maxsplit=1)[0]
        if not root or root.isdigit():
            raise ValueError(f"{{{name}}} is positional: name a row field, e.g. {{question}}")
        if root not in names:
            names.append(root)
    return names


@dataclass(frozen=True)
class FieldTemplate:
    """Render rows of arbitrary fields as prompt/completion (Python ``str.format`` over the row).

    ``chat=False``: a raw-text record, trained as prompt + completion + end token with no chat
    template around it (the template *is* the format). ``chat=True``: the prompt becomes the user
    turn and the completion the assistant turn of the model's chat template."""

    prompt: str
    completion: str
    chat: bool = False

    def record(self, row: Any, where: str) -> dict:
        if not isinstance(row, dict):
            raise DataError(f"{where}: each row must be an object of fields, got {type(row).__name__}")
        prompt = _render(self.prompt, row, where, "data.prompt_template")
        completion = _render(self.completion, row, where, "data.completion_template")
        if not completion.strip():
            raise DataError(f"{where}: data.completion_template renders to empty text for this row: "
                            "there is nothing to learn; fill the field or drop the row")
        if self.chat:
            return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}],
                    "tools": None}
        return {"prompt": prompt, "completion": completion}


def _render(template: str, row: dict, where: str, setting: str) -> str:
    missing = [name for name in template_fields(template) if row.get(name) is None]
    if missing:
        present = sorted(k for k, v in row.items() if v is not None)
        fields = ", ".join(repr(m) for m in missing)
        raise DataError(f"{where}: field{'s' * (len(missing) > 1)} {fields} used by {setting} "
                        f"{'are' if len(missing) > 1 else 'is'} missing; the row has fields {present}")
    try:
        return template.format_map(row)
    except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: {setting} cannot be filled from this row ({type(exc).__name__}: {exc})") from exc


def _rows(path: Path, decode_json_cells: bool = True) -> Iterator[tuple[str, Any]]:
    """Yield (location for messages, row) from any supported container. A JSONL line that is not
    JSON is yielded as a DataError in place of the row, so reading continues with the next line;
    problems with the whole file are raised."""
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
        yield from _csv_rows(path, text, decode_json_cells)
        return
    if suffix == ".json" and text.lstrip().startswith("["):
        yield from _json_array_rows(path, text)
        return
    if suffix == ".json" and "\n" in text.strip():
        _refuse_single_document(path, text)
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            row = DataError(f"{path}:{i}: invalid JSON ({exc.msg}, column {exc.colno}): "
                            "each line of a .jsonl file must be one complete JSON object")
        yield f"{path}:{i}", row


def _csv_rows(path: Path, text: str, decode_json_cells: bool) -> Iterator[tuple[str, Any]]:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames  # noqa: B018 -- reads the header, so line_num counts from it
    while True:
        start = reader.line_num + 1  # a quoted cell may span lines: name the row's first line
        try:
            row = next(reader)
        except StopIteration:
            return
        yield f"{path}:{start}", {k: _maybe_json(v) for k, v in row.items()} if decode_json_cells else row


def _json_array_rows(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """Decode the array element by element so that each row is named by the line it starts on."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"\s*")
    pos = ws.match(text, text.index("[") + 1).end()
    line, counted = 1, 0
    try:
        if text[pos:pos + 1] == "]":
            return
        while True:
            row, end = decoder.raw_decode(text, pos)
            line += text.count("\n", counted, pos)
            counted = pos
            yield f"{path}:{line}", row
            pos = ws.match(text, end).end()
            if text[pos:pos + 1] == "]":
                if text[pos + 1:].strip():
                    raise json.JSONDecodeError("extra data after the array", text, pos + 1)
                return
            if text[pos:pos + 1] != ",":
                raise json.JSONDecodeError("expected ',' or ']' between rows", text, pos)
            pos = ws.match(text, pos + 1).end()
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from exc


def _refuse_single_document(path: Path, text: str) -> None:
    """A pretty-printed JSON object is one document, not rows: say so once instead of once per line."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return  # not one document: read it as JSONL, naming each bad line
    raise DataError(f"{path} holds one JSON {type(whole).__name__}, not rows: a .json file must be an array "
                    "of row objects ([{...}, {...}]) or one object per line (JSON Lines)")


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


# row fields the evaluation report breaks scores down by (evaluation/records.py GROUP_KEYS)
_GROUP_FIELDS = ("language", "category", "values")


def _argument_names(value: Any) -> bool:
    """A non-empty list of argument names, or a non-empty object of tool name -> such a list."""
    def names(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(a, str) and a for a in v)
    return names(value) or (isinstance(value, dict) and bool(value) and all(map(names, value.values())))


def _scoring_fields(row: dict, messages: list[dict], where: str) -> dict:
    """What a chat record keeps besides messages and tools: the example's id, how its last turn is
    scored (``acceptable``, ``ordered``, ``missing_arguments``: evaluation/scoring.py) and the
    grouping fields, checked against its last assistant turn."""
    out: dict[str, Any] = {}
    if row.get("id") is not None:
        if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
            raise DataError(f"{where}: 'id' must be a string or an integer, got {row['id']!r}")
        out["id"] = row["id"]
    last = [m for m in messages if m["role"] == "assistant"][-1]
    n_calls = len(last.get("tool_calls") or [])
    acceptable = row.get("acceptable")
    if acceptable is not None:
        if not isinstance(acceptable, list) or len(acceptable) != n_calls:
            raise DataError(f"{where}: 'acceptable' must be a list with one object per tool call of the last "
                            f"assistant turn ({n_calls}), got {acceptable!r}")
        for k, entry in enumerate(acceptable):
            if entry is not None and not isinstance(entry, dict):
                raise DataError(f"{where}: acceptable[{k}] must be an object of argument -> list of acceptable "
                                f"values, got {entry!r}")
            for arg, values in (entry or {}).items():
                if not isinstance(values, list) or not values:
                    raise DataError(f"{where}: acceptable[{k}].{arg} must be a non-empty list of acceptable values "
                                    f'(BFCL style; "" marks that the argument may be omitted), got {values!r}')
        out["acceptable"] = [entry or {} for entry in acceptable]
    ordered = row.get("ordered")
    if isinstance(ordered, str) and ordered.strip().lower() in ("true", "false"):   # a CSV cell
        ordered = ordered.strip().lower() == "true"
    if ordered is not None:
        if not isinstance(ordered, bool):
            raise DataError(f"{where}: 'ordered' must be true or false, got {ordered!r}")
        out["ordered"] = ordered
    missing = row.get("missing_arguments")
    if missing is not None:
        if not _argument_names(missing):
            raise DataError(f"{where}: 'missing_arguments' must be a non-empty list of argument names, or an object "
                            f"of tool name -> list of argument names, got {missing!r}")
        if n_calls:
            raise DataError(f"{where}: 'missing_arguments' marks a turn that asks for a missing value, but the last "
                            "assistant turn calls tools; remove the field or make the turn a question")
        out["missing_arguments"] = missing
    out.update({k: row[k] for k in _GROUP_FIELDS if isinstance(row.get(k), str)})
    return out


def record_from_row(row: Any, where: str) -> dict:
    """Normalise one row of any accepted form into a record; a chat row keeps its id, scoring and
    grouping fields (_scoring_fields)."""
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
        messages = _check_messages(row["messages"], where)
        return {"messages": messages, "tools": tools, **_scoring_fields(row, messages, where)}
    if "prompt" in row and "completion" in row:
        prompt, completion = row["prompt"], row["completion"]
        if isinstance(prompt, list) and isinstance(completion, list):
            messages = _check_messages(prompt + completion, where)
            return {"messages": messages, "tools": row.get("tools"), **_scoring_fields(row, messages, where)}
        if isinstance(prompt, str) and isinstance(completion, str):
            return {"prompt": prompt, "completion": completion}
        raise DataError(f"{where}: 'prompt' and 'completion' must both be strings or both message lists")
    if "text" in row:
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise DataError(f"{where}: 'text' must be a non-empty string")
        return {"text": row["text"]}
    raise DataError(f"{where}: missing 'messages' (or 'prompt'+'completion', or 'text'); "
                    f"the row has keys {sorted(row)}; for rows of other fields set data.prompt_template "
                    "and data.completion_template")


def read_file(path: str | Path, problems: DataProblems, template: FieldTemplate | None = None
              ) -> list[tuple[str, dict]]:
    """(location, record) for every valid row; each invalid row is added to ``problems``.
    Problems with the file as a whole (missing, not UTF-8, a broken JSON array) raise DataError."""
    path = Path(path)
    out, before = [], problems.count
    for where, row in _rows(path, decode_json_cells=template is None):
        try:
            if isinstance(row, DataError):
                raise row
            out.append((where, template.record(row, where) if template else record_from_row(row, where)))
        except DataError as exc:
            problems.add(str(exc))
    if not out and problems.count == before:
        raise DataError(f"{path} holds no rows")
    return out


def read_records(path: str | Path, template: FieldTemplate | None = None) -> list[dict]:
    """Every record of one file; DataError listing every invalid row if there is any."""
    problems = DataProblems()
    rows = read_file(path, problems, template)
    if problems:
        raise DataError(problems.summary())
    return [record for _, record in rows]
