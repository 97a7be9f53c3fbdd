"""Extract tool calls from a model answer, in the convention the model writes them
(``model.tool_call_format``).

``hermes`` (Qwen2.5 / Hermes ChatML, and our SmolLM2 template): zero or more blocks::

    <tool_call>
    {"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0}}
    </tool_call>

``llama-json`` (Llama-3.1, and our Kanana template): the answer *is* the call, a bare JSON
object ``{"name": ..., "parameters": {...}}`` (Kanana writes ``"arguments"``), one object per line
when one turn holds several calls (our templates' multi-call rendering; ``;`` between objects, as
vLLM's llama3_json parser splits them, is accepted too). Generation stops on ``<|eot_id|>``.

``parse_message`` reads an OpenAI-style assistant message (``tool_calls`` with ``function.name`` and
``function.arguments`` as a JSON string or object): each tool call is a block, ``content`` is the
text outside, and a call object written in ``content`` is ``untagged_call`` as in hermes.

All produce the same ``ParsedAnswer``: one "block" per ``<tool_call>`` block or per JSON object,
with the same error classes, so the scorer does not know which convention it read.

Decisions worth knowing when reading scores:

* A block whose body is not exactly one JSON object with a string ``name`` and an
  ``arguments`` (or Llama-3.1 style ``parameters``) object is ``invalid_json``. Trailing
  text after the object inside the block is rejected too, because a serving stack that
  hands the body to ``json.loads`` would fail on it.
* ``arguments`` given as a JSON-encoded string (the OpenAI wire format) is decoded.
* hermes: a call object (``{"name": ...``) written in the text, outside any ``<tool_call>`` block, is
  ``untagged_call``: the model meant to call, but no serving parser executes it. It counts as an
  attempted call (so the answer is not a correct no-call answer) and makes the answer not
  ``valid_json``; the call itself is not scored.
* hermes: a ``<tool_call>`` that is never closed (truncated generation, or a new block opened
  first) is ``unclosed_block``. If its body still decodes as a complete call the call is
  recovered, as vLLM's hermes parser would, but the answer is no longer ``valid_json``
  so the scorer never counts it as exact. A stray ``</tool_call>`` without an opening tag is
  left in ``text_outside``.
* llama-json: an answer that does not start with ``{`` (after whitespace and an optional
  ``<|python_tag|>``) is plain text, no call, as vLLM's parser reads it. When such an answer
  still holds a ``{"name": ...`` object (prose before the call) it is one ``invalid_json`` block
  and no call: the model meant to call, but no serving parser would execute it.
* llama-json: an object whose outer brace never closes (truncated generation) is
  ``unclosed_block``; one that closes but is not valid JSON is ``invalid_json`` and ends the
  parse (bare JSON has no delimiter to resynchronise on). Text after the last object that is
  not another object is ``invalid_json`` ("Extra data") on that object's block: its call is kept
  for the name and argument metrics, but the answer is not ``valid_json``, so never exact.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..config.choices import ToolCallFormat, values

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"
PYTHON_TAG = "<|python_tag|>"

INVALID_JSON = "invalid_json"
UNCLOSED_BLOCK = "unclosed_block"
UNTAGGED_CALL = "untagged_call"

HERMES = ToolCallFormat.hermes
LLAMA_JSON = ToolCallFormat["llama-json"]

_CALL_OBJECT = re.compile(r'\{\s*"name"\s*:')


@dataclass
class BlockError:
    """One malformed block: its class, position among blocks, and why."""

    kind: str  # INVALID_JSON, UNCLOSED_BLOCK or UNTAGGED_CALL
    index: int
    detail: str
    body: str


@dataclass
class ParsedAnswer:
    calls: list[dict[str, Any]] = field(default_factory=list)
    text_outside: str = ""
    errors: list[BlockError] = field(default_factory=list)
    n_blocks: int = 0

    @property
    def valid_json(self) -> bool:
        return not self.errors

    @property
    def attempted_call(self) -> bool:
        """True when the model opened at least one block, well-formed or not."""
        return self.n_blocks > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "text_outside": self.text_outside,
            "errors": [asdict(e) for e in self.errors],
            "n_blocks": self.n_blocks,
            "valid_json": self.valid_json,
        }


def decode_call(body: str) -> tuple[dict[str, Any] | None, str]:
    """Decode one block body into ``{"name", "arguments"}``; return (call, "") or (None, reason)."""
    text = body.strip()
    if not text:
        return None, "empty block"
    try:
        # json.loads rejects "Extra data", which is how trailing garbage is caught.
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"JSON error: {exc.msg} at char {exc.pos}"
    if not isinstance(obj, dict):
        return None, f"block holds a JSON {type(obj).__name__}, not an object"
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, "missing or non-string 'name'"
    if "arguments" in obj:
        args = obj["arguments"]
    elif "parameters" in obj:
        args = obj["parameters"]
    else:
        return None, "missing 'arguments'"
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError as exc:
            return None, f"'arguments' string is not JSON: {exc.msg}"
    if not isinstance(args, dict):
        return None, f"'arguments' is a {type(args).__name__}, not an object"
    return {"name": name.strip(), "arguments": args}, ""


def parse_tool_calls(text: str, tool_call_format: str = HERMES) -> ParsedAnswer:
    """Split ``text`` into tool calls and surrounding text, classifying broken blocks."""
    if tool_call_format == HERMES:
        return _parse_hermes(text)
    if tool_call_format == LLAMA_JSON:
        return _parse_llama_json(text)
    raise ValueError(f"model.tool_call_format={tool_call_format!r}: expected one of {values(ToolCallFormat)}")


def _parse_hermes(text: str) -> ParsedAnswer:
    result = ParsedAnswer()
    outside: list[str] = []
    pos = 0
    while True:
        start = text.find(OPEN_TAG, pos)
        if start < 0:
            outside.append(text[pos:])
            break
        outside.append(text[pos:start])
        body_start = start + len(OPEN_TAG)
        close = text.find(CLOSE_TAG, body_start)
        reopen = text.find(OPEN_TAG, body_start)
        index = result.n_blocks
        result.n_blocks += 1
        if close < 0 or 0 <= reopen < close:
            # No closing tag before the next block (or the end): the block is cut short.
            end = reopen if reopen >= 0 else len(text)
            body = text[body_start:end]
            call, reason = decode_call(body)
            detail = "no closing </tool_call>" + (f"; {reason}" if reason else "; call recovered")
            result.errors.append(BlockError(UNCLOSED_BLOCK, index, detail, body))
            if call is not None:
                result.calls.append(call)
            pos = end
            continue
        body = text[body_start:close]
        call, reason = decode_call(body)
        if call is None:
            result.errors.append(BlockError(INVALID_JSON, index, reason, body))
        else:
            result.calls.append(call)
        pos = close + len(CLOSE_TAG)
    result.text_outside = "\n".join(s.strip() for s in outside if s.strip())
    _flag_untagged(result, result.text_outside)
    return result


def _flag_untagged(result: ParsedAnswer, text: str) -> None:
    """Each call object in ``text`` (prose, a code fence) is one UNTAGGED_CALL block."""
    pos = 0
    while (found := _CALL_OBJECT.search(text, pos)) is not None:
        end = _object_end(text, found.start()) or len(text)
        call, reason = decode_call(text[found.start():end])
        detail = ("call written without the format's markers: no serving parser executes it"
                  + (f" ({reason})" if call is None else ""))
        result.errors.append(BlockError(UNTAGGED_CALL, result.n_blocks, detail, text[found.start():end]))
        result.n_blocks += 1
        pos = end


def parse_message(message: dict[str, Any]) -> ParsedAnswer:
    """Read an OpenAI-style assistant message; ValueError when it is not one (the caller names the line)."""
    if not isinstance(message, dict):
        raise ValueError(f"'message' must be an object, got {type(message).__name__}")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ValueError(f"'message.content' must be a string or null, got {type(content).__name__}")
    tool_calls = message.get("tool_calls") or []
    if not isinstance(tool_calls, list):
        raise ValueError(f"'message.tool_calls' must be a list, got {type(tool_calls).__name__}")
    result = ParsedAnswer(text_outside=(content or "").strip())
    for index, tool_call in enumerate(tool_calls):
        fn = tool_call.get("function") if isinstance(tool_call, dict) else None
        if not isinstance(fn, dict):
            raise ValueError(f"'message.tool_calls[{index}]' must be an object with a 'function' object")
        result.n_blocks += 1
        body = json.dumps(fn, ensure_ascii=False)
        call, reason = decode_call(body)
        if call is None:
            result.errors.append(BlockError(INVALID_JSON, index, reason, body))
        else:
            result.calls.append(call)
    _flag_untagged(result, result.text_outside)
    return result


def _object_end(text: str, start: int) -> int | None:
    """Index just past the brace closing the JSON object opened at ``text[start]``, or None when the
    text ends first. Braces inside strings do not count; nothing else is validated here."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _parse_llama_json(text: str) -> ParsedAnswer:
    result = ParsedAnswer()
    body = text.strip()
    if body.startswith(PYTHON_TAG):
        body = body[len(PYTHON_TAG):].lstrip()
    if not body.startswith("{"):
        found = _CALL_OBJECT.search(body)
        if found is None:
            result.text_outside = body
            return result
        result.n_blocks = 1
        result.text_outside = body[:found.start()].strip()
        result.errors.append(BlockError(INVALID_JSON, 0, "text before the JSON call: a serving parser reads "
                                        "the answer as plain text", body[found.start():]))
        return result
    pos = 0
    while pos < len(body):
        index = result.n_blocks
        result.n_blocks += 1
        end = _object_end(body, pos)
        if end is None:
            result.errors.append(BlockError(UNCLOSED_BLOCK, index, "JSON object never closed (truncated answer)",
                                            body[pos:]))
            break
        call, reason = decode_call(body[pos:end])
        if call is None:
            result.errors.append(BlockError(INVALID_JSON, index, reason, body[pos:end]))
            break
        result.calls.append(call)
        pos = end
        while pos < len(body) and (body[pos].isspace() or body[pos] == ";"):
            pos += 1
        if pos < len(body) and body[pos] != "{":
            result.errors.append(BlockError(INVALID_JSON, index, f"Extra data: text after the JSON call at char {pos}",
                                            body[pos:]))
            break
    return result
