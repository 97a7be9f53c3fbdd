"""Extract tool calls from a model answer written in the Qwen2.5 / Hermes ChatML convention.

An answer holds zero or more blocks::

    <tool_call>
    {"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0}}
    </tool_call>

Decisions worth knowing when reading scores:

* A block whose body is not exactly one JSON object with a string ``name`` and an
  ``arguments`` (or Llama-3.1 style ``parameters``) object is ``invalid_json``. Trailing
  text after the object inside the block is rejected too, because a serving stack that
  hands the body to ``json.loads`` would fail on it.
* ``arguments`` given as a JSON-encoded string (the OpenAI wire format) is decoded.
* A ``<tool_call>`` that is never closed (truncated generation, or a new block opened
  first) is ``unclosed_block``. If its body still decodes as a complete call the call is
  recovered, as vLLM's hermes parser would, but the answer is no longer ``valid_json``
  so the scorer never counts it as exact.
* A stray ``</tool_call>`` without an opening tag is left in ``text_outside``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"

INVALID_JSON = "invalid_json"
UNCLOSED_BLOCK = "unclosed_block"


@dataclass
class BlockError:
    """One malformed block: its class, position among blocks, and why."""

    kind: str  # INVALID_JSON or UNCLOSED_BLOCK
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


def parse_tool_calls(text: str) -> ParsedAnswer:
    """Split ``text`` into tool-call blocks and surrounding text, classifying broken blocks."""
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
    return result
