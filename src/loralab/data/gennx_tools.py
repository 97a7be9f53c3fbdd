"""Tool schema of a small GEN NX-like REST API (MIDAS GEN NX style), in the OpenAI/HF function format.

Descriptions are deliberately terse: when tools are listed in the prompt, every word is paid on
every training example. Units are fixed per argument (m, mm, kN, kN·m, kN/m, MPa) so that a
request stated in other units has exactly one correct converted value."""

from __future__ import annotations

from typing import Any


def _tool(name: str, description: str, properties: dict[str, dict], required: list[str]) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required}}}


def _int(description: str) -> dict:
    return {"type": "integer", "minimum": 1, "description": description}


def _num(description: str) -> dict:
    return {"type": "number", "description": description}


_LCASE = {"type": "string", "description": "Load case name, e.g. DL"}

TOOLS: list[dict] = [
    _tool("POST /db/node", "Create a node. Coordinates in m.",
          {"id": _int("Node number"), "x": _num("m"), "y": _num("m"), "z": _num("m")},
          ["id", "x", "y", "z"]),
    _tool("GET /db/node", "Get a node's coordinates.", {"id": _int("Node number")}, ["id"]),
    _tool("DELETE /db/node", "Delete a node.", {"id": _int("Node number")}, ["id"]),
    _tool("POST /db/matl", "Define a material.",
          {"id": _int("Material number"),
           "type": {"type": "string", "enum": ["steel", "concrete"]},
           "grade": {"type": "string", "description": "e.g. SM355, SS275, C30/37"},
           "std": {"type": "string", "description": "Standard, e.g. KS, EN"},
           "elast": _num("Elastic modulus, MPa (default from grade)")},
          ["id", "type", "grade"]),
    _tool("POST /db/sect", "Define a section. Dimensions in mm.",
          {"id": _int("Section number"),
           "shape": {"type": "string", "enum": ["H", "box", "pipe", "rect", "circle"]},
           "dims": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 4,
                    "description": "H:[h,b,tw,tf] box:[h,b,t] pipe:[d,t] rect:[b,h] circle:[d]"}},
          ["id", "shape", "dims"]),
    _tool("POST /db/elem", "Create an element between two nodes.",
          {"id": _int("Element number"),
           "type": {"type": "string", "enum": ["beam", "column", "truss", "brace"]},
           "nodes": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2,
                     "description": "[i, j]"},
           "matl": _int("Material number"), "sect": _int("Section number")},
          ["id", "type", "nodes", "matl", "sect"]),
    _tool("GET /db/elem", "Get an element's type, nodes, material and section.",
          {"id": _int("Element number")}, ["id"]),
    _tool("DELETE /db/elem", "Delete an element.", {"id": _int("Element number")}, ["id"]),
    _tool("POST /db/cons", "Assign supports to nodes.",
          {"nodes": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
           "type": {"type": "string", "enum": ["fixed", "pinned", "roller"]}},
          ["nodes", "type"]),
    _tool("POST /db/stld", "Create a static load case.",
          {"name": {"type": "string", "description": "e.g. DL, LL, WX"},
           "type": {"type": "string", "enum": ["dead", "live", "wind", "seismic", "snow", "temperature"]},
           "desc": {"type": "string"}},
          ["name", "type"]),
    _tool("POST /db/cnld", "Add a nodal load. Forces kN, moments kN·m; omitted components are 0.",
          {"lcase": _LCASE, "node": _int("Node number"),
           **{k: {**_num("kN"), "default": 0} for k in ("fx", "fy", "fz")},
           **{k: {**_num("kN·m"), "default": 0} for k in ("mx", "my", "mz")}},
          ["lcase", "node"]),
    _tool("POST /db/bmld", "Add a uniform load on an element, kN/m.",
          {"lcase": _LCASE, "elem": _int("Element number"),
           "dir": {"type": "string", "enum": ["GX", "GY", "GZ"], "description": "Global direction"},
           "q": _num("kN/m, signed")},
          ["lcase", "elem", "dir", "q"]),
    _tool("POST /doc/anal", "Run the analysis.",
          {"type": {"type": "string", "enum": ["static", "eigen", "buckling"], "default": "static"}},
          []),
]

TOOL_NAMES: list[str] = [t["function"]["name"] for t in TOOLS]
_BY_NAME = {t["function"]["name"]: t for t in TOOLS}


def tool_by_name(name: str) -> dict:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known: {', '.join(TOOL_NAMES)}") from None


def _type_ok(value: Any, kind: str | None) -> bool:
    # bool is an int subclass in Python but never a JSON integer/number
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    expected = {"integer": int, "number": (int, float), "string": str, "boolean": bool,
                "array": list, "object": dict}.get(kind or "")
    return expected is None or isinstance(value, expected)


def _check(path: str, value: Any, schema: dict) -> list[str]:
    kind = schema.get("type")
    if not _type_ok(value, kind):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if kind in ("integer", "number") and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: {value} < minimum {schema['minimum']}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += _check(f"{path}[{i}]", item, schema.get("items", {}))
    return errors


def validate_arguments(tool: dict | str, args: Any) -> list[str]:
    """Problems with ``args`` against the tool's parameter schema (type, required, enum, extra keys);
    [] when valid. ``tool`` is a TOOLS entry, its ``function`` dict, or a tool name."""
    fn = tool_by_name(tool)["function"] if isinstance(tool, str) else tool.get("function", tool)
    if not isinstance(args, dict):
        return [f"arguments must be an object, got {type(args).__name__}"]
    params = fn["parameters"]
    props = params.get("properties", {})
    errors = [f"missing required argument {r!r}" for r in params.get("required", []) if r not in args]
    for key, value in args.items():
        if key not in props:
            errors.append(f"unexpected argument {key!r}")
        else:
            errors += _check(key, value, props[key])
    return errors
