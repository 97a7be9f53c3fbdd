"""Tool schema of a small GEN NX-like REST API (MIDAS GEN NX style), in the OpenAI/HF function format.

Descriptions are deliberately terse: when tools are listed in the prompt, every word is paid on
every training example. Units are fixed per argument (m, mm, kN, kN·m, kN/m, MPa) so that a
request stated in other units has exactly one correct converted value."""

from __future__ import annotations

from typing import Any

from ...data.tool_schema import argument_problems


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


def validate_arguments(tool: dict | str, args: Any) -> list[str]:
    """Problems with ``args`` against the tool's parameter schema (type, required, enum, range, extra
    keys; see data/tool_schema.py), one message each; [] when valid. ``tool`` is a TOOLS entry, its
    ``function`` dict, or a tool name."""
    fn = tool_by_name(tool)["function"] if isinstance(tool, str) else tool.get("function", tool)
    return [p.message for p in argument_problems(fn["parameters"], args)]


# How a clarifying question names a missing argument, in the languages of the bundled data. The
# argument's own name always counts too (evaluation/replies.py: clarification turns).
ARGUMENT_WORDS: dict[tuple[str, str], tuple[str, ...]] = {
    **{("POST /db/node", axis): (axis, "좌표", "위치", "coordinate", "position", "location", "where")
       for axis in "xyz"},
    ("POST /db/cnld", "node"): ("노드", "절점", "node", "joint"),
    ("POST /db/cnld", "lcase"): ("하중케이스", "케이스", "하중조건", "load case", "case", "LC"),
    ("POST /db/bmld", "lcase"): ("하중케이스", "케이스", "하중조건", "load case", "case", "LC"),
    ("POST /db/elem", "nodes"): ("노드", "절점", "i단", "j단", "node", "joint", "end"),
    ("POST /db/cons", "type"): ("지점", "지지", "조건", "고정", "핀", "힌지", "롤러", "support", "boundary",
                                "fixed", "pinned", "pin", "hinge", "roller"),
    ("POST /db/bmld", "q"): ("크기", "세기", "하중", "kN/m", "intensity", "magnitude", "how large", "how much",
                             "load", "value"),
    ("POST /db/bmld", "dir"): ("방향", "GX", "GY", "GZ", "direction", "global"),
    ("POST /db/matl", "grade"): ("등급", "강종", "강도", "grade", "strength"),
}
