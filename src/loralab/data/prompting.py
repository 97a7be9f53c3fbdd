"""Turn a record into what the chat template renders: the system turn and how tools are shown.

Every token of a system prompt is paid on every training example (on the reference CPU the time
budget is a token budget), so the bundled task defaults to ``tools_in_prompt=none``: the model
learns the fixed API from the data. ``full`` uses the template's own tool listing (Qwen2.5's
<tools> block) for data whose tools vary per row; ``compact`` is one line per tool."""

from __future__ import annotations

from typing import Any

_SHORT_TYPES = {"integer": "int", "number": "num", "string": "str", "boolean": "bool", "array": "list", "object": "obj"}


def compact_tool_listing(tools: list[dict]) -> str:
    """One line per tool: ``POST /db/node(id:int, x:num, y:num, z:num, name?:str)``."""
    lines = []
    for tool in tools:
        fn = tool.get("function", tool)
        params = fn.get("parameters", {})
        required = set(params.get("required", []))
        args = []
        for name, spec in params.get("properties", {}).items():
            kind = _SHORT_TYPES.get(spec.get("type", ""), spec.get("type", "any"))
            if "enum" in spec:
                kind = "|".join(str(v) for v in spec["enum"])
            args.append(f"{name}{'' if name in required else '?'}:{kind}")
        lines.append(f"{fn['name']}({', '.join(args)})")
    return "Tools:\n" + "\n".join(lines)


def chat_inputs(messages: list[dict], tools: list[dict] | None, system_prompt: str,
                tools_in_prompt: str) -> tuple[list[dict], list[dict] | None]:
    """Return (messages with the system turn, tools to hand to the template)."""
    messages = list(messages)
    system = system_prompt
    if messages and messages[0]["role"] == "system":
        system = messages.pop(0)["content"]
    template_tools: list[dict] | None = None
    if tools and tools_in_prompt == "compact":
        system = f"{system}\n{compact_tool_listing(tools)}" if system else compact_tool_listing(tools)
    elif tools and tools_in_prompt == "full":
        template_tools = tools
    if system:
        messages.insert(0, {"role": "system", "content": system})
    return messages, template_tools


def prompt_and_gold(record: dict[str, Any]) -> tuple[list[dict], dict]:
    """Split a conversation into the history before its last assistant turn and that turn."""
    messages = record["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]


def describe_prompt(system_prompt: str, tools_in_prompt: str, tools: list[dict] | None,
                    records: list[dict]) -> str:
    """One line for the start-of-run summary: what every training prompt carries before the request."""
    words = system_prompt.split()
    system = (f'"{" ".join(words[:8])}{" …" if len(words) > 8 else ""}" ({len(words)} words)' if words
              else "none (rows' own system turns are kept)")
    row_tools = sum(1 for r in records if r.get("tools"))
    known = (f"{len(tools)} from the tool schema" if tools else
             f"per row, in {row_tools:,} of {len(records):,} rows" if row_tools else "none")
    if known == "none":
        listing = "none known"
    elif tools_in_prompt == "none":
        listing = f"not listed (data.tools_in_prompt=none; tools: {known})"
    else:
        how = "in full, by the chat template" if tools_in_prompt == "full" else "one line each"
        listing = f"listed {how} (data.tools_in_prompt={tools_in_prompt}; tools: {known})"
    return f"system prompt {system}; tools {listing}"
