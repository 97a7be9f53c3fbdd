"""Deterministic generator for the bundled GEN NX tool-calling task.

``generate_splits`` returns train / validation / test / test_id records::

    {"id", "split", "language": ko|en|mixed, "category": single|multi|multi_turn|irrelevant|clarify,
     "template": "<family>.<lang>.<nn>", "values": seen|held_out, "messages": [...],
     "acceptable": null | [{arg: [values]}], "ordered": bool, "missing_arguments": null | {tool: [args]}}

with no system turn; the last message is the assistant turn that is scored (``tool_calls`` of
``{"type": "function", "function": {"name", "arguments"}}``, or plain ``content``).

The split is honest: for every intent (tool or request kind x language) the phrasing templates
are partitioned into a training and a held-out pool; train, validation and test_id use only the
training pool, test only the held-out one, and part of test also uses value ranges nothing else
sees (ids >= 1000, cm / N / N·m / N/m / GPa units); ``values`` says which records drew from them,
so the evaluation reports unseen phrasings and unseen values apart. A final user text never
repeats anywhere.

``acceptable`` (null, or one dict per gold call of the last turn) lists, per argument, every
acceptable value (BFCL style); ``""`` in a list means the argument may be omitted, and an argument
listed there but absent from the gold call may be added with one of the listed values. Arguments
not listed must equal the gold value.

``ordered`` is true when the calls of the last turn depend on each other (an element after the
nodes it joins, a nodal load after its load case), so their order is scored. ``missing_arguments``
names, for a clarify record, the arguments its request lacks: a good answer asks for them.

Every random draw comes from one ``random.Random`` per split seeded with a string (stable across
processes, unlike ``hash``), and all iteration is over lists or insertion-ordered dicts, so the
same arguments give byte-identical output."""

from __future__ import annotations

import json
import os
import random
import re
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import phrasings as P
from .tools import validate_arguments

CATEGORIES = ("single", "multi", "multi_turn", "irrelevant", "clarify")
LANGUAGES = ("ko", "en", "mixed")
SPLITS = ("train", "validation", "test", "test_id")
DEFAULT_MIX = {"single": 0.55, "multi": 0.15, "multi_turn": 0.10, "irrelevant": 0.12, "clarify": 0.08}
LANGUAGE_MIX = {"ko": 0.40, "en": 0.35, "mixed": 0.25}
HELDOUT_ID_MIN = 1000
HELDOUT_VALUE_RATE = 0.45   # share of test records drawn from the held-out value ranges
TYPO_RATE = 0.12
_MAX_TRIES = 200

# ------------------------------------------------------------------------------------ templates


def template_text(template_id: str) -> str:
    intent, index = template_id.rsplit(".", 1)
    return P.PHRASINGS[intent][int(index)]


def template_pools(seed: int = 0, heldout_template_fraction: float = 0.3) -> dict[str, dict[str, list[str]]]:
    """intent -> {"train": [template ids], "heldout": [template ids]}; every pool is non-empty."""
    if not 0.0 < heldout_template_fraction < 1.0:
        raise ValueError(f"heldout_template_fraction must be in (0, 1), got {heldout_template_fraction}")
    pools = {}
    for intent, templates in P.PHRASINGS.items():
        ids = [f"{intent}.{i:02d}" for i in range(len(templates))]
        order = list(ids)
        random.Random(f"gennx-pool|{seed}|{intent}").shuffle(order)
        k = min(len(ids) - 1, max(1, round(len(ids) * heldout_template_fraction)))
        held = set(order[:k])
        pools[intent] = {"train": [t for t in ids if t not in held], "heldout": [t for t in ids if t in held]}
    return pools


@dataclass
class _Ctx:
    rng: random.Random
    lang: str
    side: str            # which template pool: "train" or "heldout"
    pools: dict
    odd_values: bool     # draw from the value ranges held out for test
    twin: _Twin | None = None   # set by a clarify builder whose request can have a completed twin
    ordered: bool = False       # set by a builder whose calls depend on each other
    missing: dict | None = None   # set by the clarify builder: {tool: [arguments the request lacks]}

    def choice(self, seq):
        return self.rng.choice(seq)

    def pick(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def word(self, kind: str, value: str) -> str:
        return self.rng.choice(P.WORDS[kind][self.lang][value])

    def template(self, family: str) -> str:
        return self.rng.choice(self.pools[f"{family}.{self.lang}"][self.side])

    @property
    def base_lang(self) -> str:   # answers and summaries for mixed requests are Korean
        return "en" if self.lang == "en" else "ko"


_HANGUL = "\uac00-\ud7a3"


def _typo(literals: list[str], rng: random.Random) -> list[str]:
    """One typo in the template's literal text: a mangled English word or a Korean spacing slip."""
    cands = []
    for k, lit in enumerate(literals):
        cands += [(k, "word", m.start(), m.end()) for m in re.finditer(r"[A-Za-z]{4,}", lit)]
        cands += [(k, "join", m.start(), m.end()) for m in re.finditer(f"(?<=[{_HANGUL}]) (?=[{_HANGUL}])", lit)]
        cands += [(k, "split", m.start(), m.end()) for m in re.finditer(f"[{_HANGUL}]{{3,}}", lit)]
    if not cands:
        return literals
    k, kind, a, b = rng.choice(cands)
    lit = literals[k]
    if kind == "join":
        new = lit[:a] + lit[b:]
    elif kind == "split":
        p = rng.randint(a + 1, b - 1)
        new = lit[:p] + " " + lit[p:]
    else:
        w, p = lit[a:b], rng.randint(1, b - a - 2)
        w = rng.choice([w[:p] + w[p + 1] + w[p] + w[p + 2:], w[:p] + w[p + 1:], w[:p] + w[p] + w[p:]])
        new = lit[:a] + w + lit[b:]
    return literals[:k] + [new] + literals[k + 1:]


def _fill(c: _Ctx, template_id: str, slots: dict, prefix: bool = False) -> str:
    parsed = list(string.Formatter().parse(template_text(template_id)))
    literals = [p[0] for p in parsed]
    if c.rng.random() < TYPO_RATE:
        literals = _typo(literals, c.rng)
    text = "".join(lit + ("" if field is None else str(slots[field]))
                   for lit, (_, field, _, _) in zip(literals, parsed))
    text = re.sub(r" +([,.?!)])", r"\1", re.sub(r"\s+", " ", text).strip()).replace("( ", "(")
    return (c.choice(P.PREFIXES[c.base_lang]) if prefix else "") + text


# ------------------------------------------------------------------------------------ values


def _fmt(v: float) -> str:
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _f(v: float) -> float:
    return float(round(v, 6)) + 0.0   # + 0.0 turns -0.0 into 0.0


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


def _nid(c: _Ctx, span: int = 1) -> int:
    """A node/element id (the first of ``span`` consecutive ones); >= 1000 only for held-out values."""
    if c.odd_values:
        return c.rng.randint(HELDOUT_ID_MIN, 9999 - span)
    if c.rng.random() < 0.7:
        return c.rng.randint(1, 60)
    return c.rng.randint(61, HELDOUT_ID_MIN - span)


def _other_nid(c: _Ctx, taken: list[int]) -> int:
    while True:
        n = _nid(c)
        if n not in taken:
            return n


def _sid(c: _Ctx) -> int:   # material / section numbers stay small in every split
    return c.rng.randint(1, 20)


_LEN = {"m": 1, "mm": 1000, "cm": 100}
_LEVELS = [0, 3, 3.5, 4, 4.2, 4.5, 6, 7, 7.5, 8, 8.4, 10.5, 12]


def _len_unit(c: _Ctx) -> str:
    if c.odd_values:
        return c.pick({"m": 0.25, "mm": 0.25, "cm": 0.5})
    return "m" if c.rng.random() < 0.75 else "mm"


def _coord(c: _Ctx) -> float:
    r = c.rng.random()
    if r < 0.6:
        return c.rng.randint(0, 40) * 0.5
    if r < 0.9:
        return c.rng.randint(0, 150) / 10
    return -c.rng.randint(1, 20) * 0.5


def _point(c: _Ctx) -> list[float]:
    z = c.choice(_LEVELS) if c.rng.random() < 0.5 else abs(_coord(c))
    return [_f(_coord(c)), _f(_coord(c)), _f(z)]


def _xyz(c: _Ctx, pt: list[float], unit: str, compact: bool = False) -> str:
    x, y, z = (_fmt(v * _LEN[unit]) for v in pt)
    if compact:
        forms = ["({x}, {y}, {z})", "({x},{y},{z})"] if unit == "m" else ["({x}, {y}, {z}){u}", "({x},{y},{z}) {u}"]
    elif unit == "m":
        forms = ["({x}, {y}, {z})", "({x}, {y}, {z}) m", "x={x}, y={y}, z={z}", "X {x} Y {y} Z {z}", "({x},{y},{z})"]
    else:
        forms = ["({x}, {y}, {z}) {u}", "({x},{y},{z}){u}", "x={x}{u}, y={y}{u}, z={z}{u}"]
    return c.choice(forms).format(x=x, y=y, z=z, u=unit)


def _call(name: str, /, **args: Any) -> dict:
    return {"name": name, "arguments": args}


def _node_call(nid: int, pt: list[float]) -> dict:
    return _call("POST /db/node", id=nid, x=pt[0], y=pt[1], z=pt[2])


_LCASES = ["DL", "DL", "DL", "LL", "LL", "LL", "WL", "WX", "WY", "EX", "EY", "SL", "SDL", "LR"]
_LCASES_KO = ["고정하중", "활하중", "풍하중"]


def _lcase(c: _Ctx) -> tuple[str, str, dict]:
    """(gold name, how the request writes it, acceptable entry)."""
    if c.lang != "en" and c.rng.random() < 0.2:
        name = c.choice(_LCASES_KO)
        return name, f"'{name}'", {}
    name = c.choice(_LCASES)
    if c.rng.random() < 0.1:   # "dl" for DL: the user means the existing case, either spelling is fine
        return name, name.lower(), {"lcase": [name, name.lower()]}
    return name, name, {}


_COMPONENTS = ("fx", "fy", "fz", "mx", "my", "mz")
_FORCES = [2.5, 5, 7.5, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60, 75, 80, 100, 120, 150, 200]
_MOMENTS = [5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 80, 100]


def _loads(c: _Ctx) -> tuple[str, dict[str, float], dict]:
    """(text, gold components, acceptable entry: an unstated component may be sent as 0)."""
    r = c.rng.random()
    force, moment, sign = (lambda: c.choice(_FORCES)), (lambda: c.choice(_MOMENTS)), (lambda: c.choice([1, -1]))
    if r < 0.45:
        comps = {"fz": -force()}
    elif r < 0.6:
        comps = {c.choice(["fx", "fy"]): sign() * force()}
    elif r < 0.75:
        comps = {c.choice(["fx", "fy"]): sign() * force(), "fz": -force()}
    elif r < 0.88:
        comps = {"fz": -force(), c.choice(["mx", "my"]): sign() * moment()}
    else:
        comps = {c.choice(["mx", "my", "mz"]): sign() * moment()}
    comps = {k: _f(comps[k]) for k in _COMPONENTS if k in comps}
    newton = c.odd_values and c.rng.random() < 0.6
    case = c.choice([str.capitalize, str.capitalize, str.lower, str.upper])
    sep = c.choice([" ", " ", "=", ": "])
    fu = c.choice([" N", "N"]) if newton else c.choice([" kN", " kN", "kN", " KN"])
    mu = c.choice([" N·m", "N·m", " Nm"]) if newton else c.choice([" kN·m", "kN·m", " kN.m", "kNm", " kN-m"])
    parts = [f"{case(k)}{sep}{_fmt(v * 1000 if newton else v)}{fu if k[0] == 'f' else mu}" for k, v in comps.items()]
    return c.choice([", ", ", ", " ", " / "]).join(parts), comps, {k: [0.0, ""] for k in _COMPONENTS if k not in comps}


def _beam_load(c: _Ctx) -> tuple[str, str, str, float]:
    """(q text, dir text, gold dir, gold q)."""
    d = c.pick({"GZ": 0.7, "GX": 0.15, "GY": 0.15})
    mag = c.choice([2, 3.5, 5, 7.5, 8, 10, 12, 15, 18, 20, 25, 30])
    q = _f(-mag if d == "GZ" else c.choice([1, -1]) * mag)
    if c.odd_values and c.rng.random() < 0.6:
        text = _fmt(q * 1000) + c.choice([" N/m", "N/m"])
    else:
        text = _fmt(q) + c.choice([" kN/m", " kN/m", "kN/m", " KN/m"])
    return text, c.word("dir", d), d, q


def _node_list(c: _Ctx, taken: list[int] | None = None) -> tuple[list[int], str]:
    taken = taken or []
    k = c.pick({1: 0.25, 2: 0.35, 3: 0.25, 4: 0.15})
    if k >= 3 and c.rng.random() < 0.4:
        for _ in range(_MAX_TRIES):
            start = _nid(c, span=k)
            ids = list(range(start, start + k))
            if not set(ids) & set(taken):
                sep = c.choice([" to ", " through "]) if c.lang == "en" else "~"
                return ids, f"{start}{sep}{start + k - 1}"
    ids = []
    while len(ids) < k:
        ids.append(_other_nid(c, ids + taken))
    ids.sort()
    return ids, c.choice([", ", ","]).join(map(str, ids))


# ------------------------------------------------------------------------------------ single calls


def _b_node_create(c):
    nid, pt = _nid(c), _point(c)
    return "node.create", {"id": nid, "xyz": _xyz(c, pt, _len_unit(c))}, [_node_call(nid, pt)], [{}]


def _by_id(family: str, tool: str):
    def build(c):
        i = _nid(c)
        return family, {"id": i}, [_call(tool, id=i)], [{}]
    return build


def _elem(c):
    etype = c.pick({"beam": 0.45, "column": 0.3, "truss": 0.1, "brace": 0.15})
    i = _nid(c)
    j = i + 1 if c.rng.random() < 0.5 and (c.odd_values or i + 1 < HELDOUT_ID_MIN) else _other_nid(c, [i])
    return {"id": _nid(c), "type": etype, "nodes": [i, j], "matl": _sid(c), "sect": _sid(c)}


def _b_elem_create(c):
    a = _elem(c)
    slots = {"id": a["id"], "etype": c.word("etype", a["type"]), "i": a["nodes"][0], "j": a["nodes"][1],
             "matl": a["matl"], "sect": a["sect"]}
    return "elem.create", slots, [_call("POST /db/elem", **a)], [{}]


_GRADES = {"steel": [("KS", "SM355"), ("KS", "SS275"), ("KS", "SM275"), ("KS", "SN355"), ("KS", "SS400"),
                     ("KS", "SHN355"), ("KS", "SM420"), ("EN", "S355"), ("EN", "S275"), ("EN", "S235")],
           "concrete": [("KS", "C24"), ("KS", "C27"), ("KS", "C30"), ("KS", "C35"), ("KS", "C40"),
                        ("EN", "C25/30"), ("EN", "C30/37"), ("EN", "C35/45")]}
_CONCRETE_E = {"C24": 25800, "C27": 26700, "C30": 27500, "C35": 28800, "C40": 30000,
               "C25/30": 31000, "C30/37": 33000, "C35/45": 34000}
_E_FORMS = {"ko": ["E={v} {u}", "탄성계수 {v} {u}", "E={v}{u}"],
            "en": ["E={v} {u}", "elastic modulus {v} {u}", "E = {v} {u}"],
            "mixed": ["E={v} {u}", "elastic modulus {v}{u}", "탄성계수 {v} {u}"]}
_STD_FORMS = {"ko": ["{s} 기준"], "en": ["standard {s}", "{s} standard"], "mixed": ["{s} 기준", "{s} standard"]}


def _material(c):
    mtype = "steel" if c.rng.random() < 0.65 else "concrete"
    std, grade = c.choice(_GRADES[mtype])
    return mtype, std, grade, (c.choice([205000, 210000]) if mtype == "steel" else _CONCRETE_E[grade])


def _b_matl(c):
    mid, (mtype, std, grade, e) = _sid(c), _material(c)
    shown, acc = grade, {}
    if c.rng.random() < 0.12:
        shown, acc = grade.lower(), {"grade": [grade, grade.lower()]}
    args, extra, r = {"id": mid, "type": mtype, "grade": grade}, [], c.rng.random()
    if r >= 0.7:
        args["std"] = std
        extra.append(c.choice(_STD_FORMS[c.lang]).format(s=std))
    if 0.5 <= r < 0.85 or r >= 0.95:
        args["elast"] = float(e)
        if c.odd_values and c.rng.random() < 0.7:
            v, u = _fmt(e / 1000), "GPa"
        else:
            v, u = (f"{e:,}" if c.lang != "en" and c.rng.random() < 0.3 else str(e)), "MPa"
        extra.append(c.choice(_E_FORMS[c.lang]).format(v=v, u=u))
    slots = {"id": mid, "mtype": c.word("mtype", mtype), "grade": shown,
             "extra": f" ({', '.join(extra)})" if extra else ""}
    return "matl.create", slots, [_call("POST /db/matl", **args)], [acc]


_SECTIONS = {"H": [(400, 200, 8, 13), (300, 300, 10, 15), (500, 200, 10, 16), (600, 200, 11, 17), (350, 175, 7, 11),
                   (250, 250, 9, 14), (200, 100, 5.5, 8), (588, 300, 12, 20), (700, 300, 13, 24), (450, 200, 9, 14)],
             "box": [(300, 300, 12), (250, 250, 9), (200, 200, 8), (400, 400, 16), (350, 350, 12), (150, 150, 6),
                     (300, 200, 9)],
             "pipe": [(219.1, 8.2), (165.2, 6), (318.5, 9), (406.4, 12), (114.3, 4.5), (267.4, 6.6), (139.8, 4.5)]}
_FIELDS = {"H": ("h", "b", "tw", "tf"), "box": ("h", "b", "t"), "pipe": ("d", "t"), "rect": ("b", "h"),
           "circle": ("d",)}


def _section(c) -> tuple[str, list, str]:
    shape = c.pick({"H": 0.35, "box": 0.15, "pipe": 0.15, "rect": 0.2, "circle": 0.15})
    if shape == "rect":
        dims = (c.choice([250, 300, 350, 400, 450, 500, 600]), c.choice([400, 450, 500, 600, 700, 800, 900]))
    elif shape == "circle":
        dims = (c.choice([300, 400, 500, 600, 700, 800, 1000, 1200]),)
    else:
        dims = c.choice(_SECTIONS[shape])
    cm = shape in ("rect", "circle") and c.odd_values and c.rng.random() < 0.7
    u = c.choice(["cm", " cm"]) if cm else c.choice(["", "", "mm", " mm"])
    values = {f: _fmt(v / 10 if cm else v) for f, v in zip(_FIELDS[shape], dims)}
    return shape, [_num(v) for v in dims], c.choice(P.SECT_FORMS[shape][c.lang]).format(u=u, **values)


def _b_sect(c):
    sid, (shape, dims, text) = _sid(c), _section(c)
    return "sect.create", {"id": sid, "sect": text}, [_call("POST /db/sect", id=sid, shape=shape, dims=dims)], [{}]


_CTYPES = {"fixed": 0.45, "pinned": 0.4, "roller": 0.15}


def _b_cons(c):
    ids, text = _node_list(c)
    ctype = c.pick(_CTYPES)
    slots = {"nodes": text, "ctype": c.word("ctype", ctype)}
    return "cons.create", slots, [_call("POST /db/cons", nodes=ids, type=ctype)], [{}]


_CASE_NAMES = {"dead": ["DL", "D", "SDL"], "live": ["LL", "L", "LR"], "wind": ["WL", "WX", "WY"],
               "seismic": ["EX", "EY", "EQ"], "snow": ["SL", "S"], "temperature": ["TL", "TEMP"]}
_LTYPES = {"dead": 0.3, "live": 0.3, "wind": 0.15, "seismic": 0.12, "snow": 0.07, "temperature": 0.06}
_DESCS = {"ko": ["자중 포함", "마감하중", "지붕 활하중", "X방향", "Y방향", "설비하중", "1층 바닥",
                 "외벽 마감"],
          "en": ["self weight", "roof live", "finishes", "X direction", "Y direction", "MEP", "floor live", "cladding"]}
_DESC_FORMS = {"ko": [", 설명은 '{d}'", " (설명: {d})"], "en": [", description '{d}'", " (desc: {d})"],
               "mixed": [", description은 '{d}'", " (설명: {d})"]}


def _stld(c, with_desc: bool = True) -> tuple[dict, dict]:
    ltype = c.pick(_LTYPES)
    args = {"name": c.choice(_CASE_NAMES[ltype]), "type": ltype}
    slots = {"name": args["name"], "ltype": c.word("ltype", ltype), "desc": ""}
    if with_desc and c.rng.random() < 0.3:
        args["desc"] = c.choice(_DESCS[c.choice(["ko", "en"]) if c.lang == "mixed" else c.base_lang])
        slots["desc"] = c.choice(_DESC_FORMS[c.lang]).format(d=args["desc"])
    return args, slots


def _b_stld(c):
    args, slots = _stld(c)
    return "stld.create", slots, [_call("POST /db/stld", **args)], [{}]


def _b_cnld(c):
    node, (lcase, lcase_text, acc_case), (loads, comps, acc_zero) = _nid(c), _lcase(c), _loads(c)
    return ("cnld.create", {"node": node, "lcase": lcase_text, "loads": loads},
            [_call("POST /db/cnld", lcase=lcase, node=node, **comps)], [{**acc_case, **acc_zero}])


def _b_bmld(c):
    elem, (lcase, lcase_text, acc), (q_text, dir_text, d, q) = _nid(c), _lcase(c), _beam_load(c)
    return ("bmld.create", {"elem": elem, "lcase": lcase_text, "q": q_text, "dir": dir_text},
            [_call("POST /db/bmld", lcase=lcase, elem=elem, dir=d, q=q)], [acc])


def _b_anal(c):
    atype = c.pick({"": 0.4, "static": 0.2, "eigen": 0.25, "buckling": 0.15})
    args = {"type": atype} if atype else {}
    acc = {"type": ["static", ""]} if atype in ("", "static") else {}   # static is the default
    return "anal.run", {"atype": c.word("atype", atype)}, [_call("POST /doc/anal", **args)], [acc]


_SINGLE = [(_b_node_create, 3.0), (_b_elem_create, 2.0), (_b_cnld, 2.0), (_b_bmld, 1.5), (_b_cons, 1.5),
           (_b_matl, 1.0), (_b_sect, 1.0), (_b_stld, 1.0), (_by_id("node.get", "GET /db/node"), 0.7),
           (_by_id("elem.get", "GET /db/elem"), 0.5), (_by_id("node.delete", "DELETE /db/node"), 0.5),
           (_by_id("elem.delete", "DELETE /db/elem"), 0.5), (_b_anal, 0.5)]

# ------------------------------------------------------------------------------------ multi


def _m_nodes(c):
    k, unit = c.choice([2, 2, 3, 3, 4]), _len_unit(c)
    start, base, axis = _nid(c, span=k), _point(c), c.choice([0, 0, 1, 2])
    step = c.choice([3, 4.5, 6, 7.2, 8, 9]) if axis < 2 else c.choice([3, 3.5, 4, 4.2])
    pts = [[_f(v + n * step) if a == axis else v for a, v in enumerate(base)] for n in range(k)]
    label = c.choice({"ko": ["{n}번 {p}", "{n}번={p}"], "en": ["{n} at {p}", "#{n} {p}", "{n} {p}"],
                      "mixed": ["{n}번 {p}", "{n} at {p}"]}[c.lang])
    parts = [label.format(n=start + n, p=_xyz(c, pt, unit, compact=True)) for n, pt in enumerate(pts)]
    text = c.choice([", ", " / "]).join(parts)
    if c.lang == "en" and c.rng.random() < 0.5:
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
    return "multi.nodes", {"points": text}, [_node_call(start + n, pt) for n, pt in enumerate(pts)], [{}] * k


def _m_frame(c):
    a, unit, pi = _elem(c), _len_unit(c), _point(c)
    span, height = c.choice([4.5, 6, 7.2, 8, 9]), c.choice([3, 3.5, 4, 4.2])
    dx, dy, dz = {"beam": c.choice([(span, 0, 0), (0, span, 0)]), "column": (0, 0, height),
                  "brace": (span, 0, height), "truss": (span, 0, c.choice([0, height]))}[a["type"]]
    pj = [_f(pi[0] + dx), _f(pi[1] + dy), _f(pi[2] + dz)]
    i, j = a["nodes"]
    c.ordered = True   # the element joins the nodes created before it
    slots = {"i": i, "j": j, "pi": _xyz(c, pi, unit, compact=True), "pj": _xyz(c, pj, unit, compact=True),
             "etype": c.word("etype", a["type"]), "id": a["id"], "matl": a["matl"], "sect": a["sect"]}
    return "multi.frame", slots, [_node_call(i, pi), _node_call(j, pj), _call("POST /db/elem", **a)], [{}, {}, {}]


def _m_case_load(c):
    args, slots = _stld(c, with_desc=False)
    node, (loads, comps, acc) = _nid(c), _loads(c)
    slots.update(node=node, loads=loads)
    c.ordered = True   # the load goes into the case created before it
    calls = [_call("POST /db/stld", **args), _call("POST /db/cnld", lcase=args["name"], node=node, **comps)]
    return "multi.case_load", slots, calls, [{}, acc]


def _m_matl_sect(c):
    mid, (mtype, _, grade, _), sid, (shape, dims, text) = _sid(c), _material(c), _sid(c), _section(c)
    slots = {"mid": mid, "mtype": c.word("mtype", mtype), "grade": grade, "sid": sid, "sect": text}
    calls = [_call("POST /db/matl", id=mid, type=mtype, grade=grade),
             _call("POST /db/sect", id=sid, shape=shape, dims=dims)]
    return "multi.matl_sect", slots, calls, [{}, {}]


def _m_supports(c):
    ids1, text1 = _node_list(c)
    ids2, text2 = _node_list(c, taken=ids1)
    t1 = c.pick(_CTYPES)
    t2 = c.choice([t for t in _CTYPES if t != t1])
    slots = {"nodes1": text1, "ctype1": c.word("ctype", t1), "nodes2": text2, "ctype2": c.word("ctype", t2)}
    calls = [_call("POST /db/cons", nodes=ids1, type=t1), _call("POST /db/cons", nodes=ids2, type=t2)]
    return "multi.supports", slots, calls, [{}, {}]


def _m_cleanup(c):
    eid, nids = _nid(c), []
    while len(nids) < c.choice([1, 2]):
        nids.append(_other_nid(c, nids))
    text = (" and " if c.lang == "en" else ", ").join(map(str, nids))
    calls = [_call("DELETE /db/elem", id=eid)] + [_call("DELETE /db/node", id=n) for n in nids]
    return "multi.cleanup", {"eid": eid, "nids": text}, calls, [{}] * len(calls)


_MULTI = [(_m_nodes, 0.25), (_m_frame, 0.25), (_m_case_load, 0.15), (_m_matl_sect, 0.15), (_m_supports, 0.1),
          (_m_cleanup, 0.1)]


# ------------------------------------------------------------------------------------ records


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _calls_msg(calls: list[dict]) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": f} for f in calls]}


def _tool_msg(name: str, obj: dict) -> dict:
    return {"role": "tool", "name": name, "content": json.dumps(obj, ensure_ascii=False)}


def _text_msg(text: str) -> dict:
    return {"role": "assistant", "content": text}


def _weighted(c: _Ctx, table: list) -> Any:
    return c.rng.choices([b for b, _ in table], weights=[w for _, w in table])[0]


def _r_calls(table):
    def build(c):
        family, slots, calls, acc = _weighted(c, table)(c)
        tid = c.template(family)
        return tid, [_user(_fill(c, tid, slots, prefix=True)), _calls_msg(calls)], acc
    return build


def _mt_node_offset(c):
    ref, pt, unit = _nid(c), _point(c), _len_unit(c)
    new, axis = _other_nid(c, [ref]), c.pick({"z": 0.4, "x": 0.3, "y": 0.3})
    d = c.choice([1.5, 3, 3.5, 4, 4.5, 6, 7.2, 8]) * (1 if axis == "z" and c.rng.random() < 0.85 else c.choice([1, -1]))
    shown = ("+" if d > 0 else "") + _fmt(d * _LEN[unit])
    u = c.choice(["m", " m"]) if unit == "m" else unit
    form = c.choice({"ko": ["{a}방향으로 {d}{u}", "{a}로 {d}{u}", "{a} 방향 {d}{u}"],
                     "en": ["{d}{u} in {a}", "{d}{u} along {a}"],
                     "mixed": ["{a} direction {d}{u}", "{a}방향 {d}{u}", "{d}{u} in {a}"]}[c.lang])
    new_pt = [_f(v + d) if "xyz"[k] == axis else v for k, v in enumerate(pt)]
    tid = c.template("mt.node_offset")
    text = _fill(c, tid, {"ref": ref, "new": new, "offset": form.format(a=axis, d=shown, u=u)}, prefix=True)
    messages = [_user(text), _calls_msg([_call("GET /db/node", id=ref)]),
                _tool_msg("GET /db/node", {"id": ref, "x": pt[0], "y": pt[1], "z": pt[2]}),
                _calls_msg([_node_call(new, new_pt)])]
    return tid, messages, [{}]


def _first_turn(c, family, slots, calls, tool_result, summary, summary_slots) -> list[dict]:
    first = _fill(c, c.template(family), slots, prefix=True)
    return [_user(first), _calls_msg(calls), _tool_msg(calls[0]["name"], tool_result),
            _text_msg(P.SUMMARIES[summary][c.base_lang].format(**summary_slots))]


def _mt_elem_jnode(c):
    a = _elem(c)
    i, j = a["nodes"]
    etype = P.WORDS["etype"][c.base_lang][a["type"]][0]
    head = _first_turn(c, "elem.get", {"id": a["id"]}, [_call("GET /db/elem", id=a["id"])], a, "elem_get",
                       {"id": a["id"], "etype": etype, "i": i, "j": j, "matl": a["matl"], "sect": a["sect"]})
    end = c.choice(["i", "j"])
    (lcase, lcase_text, acc_case), (loads, comps, acc_zero) = _lcase(c), _loads(c)
    tid = c.template("mt.elem_jnode")
    text = _fill(c, tid, {"end": c.word("end", end), "lcase": lcase_text, "loads": loads})
    node = i if end == "i" else j
    final = _calls_msg([_call("POST /db/cnld", lcase=lcase, node=node, **comps)])
    return tid, head + [_user(text), final], [{**acc_case, **acc_zero}]


def _mt_elem_load(c):
    family, slots, calls, _ = _b_elem_create(c)
    eid = calls[0]["arguments"]["id"]
    head = _first_turn(c, family, slots, calls, {"status": "ok", "id": eid}, "elem_create", {"id": eid})
    (lcase, lcase_text, acc), (q_text, dir_text, d, q) = _lcase(c), _beam_load(c)
    tid = c.template("mt.elem_load")
    text = _fill(c, tid, {"lcase": lcase_text, "q": q_text, "dir": dir_text})
    return tid, head + [_user(text), _calls_msg([_call("POST /db/bmld", lcase=lcase, elem=eid, dir=d, q=q)])], [acc]


def _mt_case_load(c):
    args, slots = _stld(c)
    head = _first_turn(c, "stld.create", slots, [_call("POST /db/stld", **args)],
                       {"status": "ok", "name": args["name"]}, "stld_create", {"name": args["name"]})
    node, (loads, comps, acc) = _nid(c), _loads(c)
    tid = c.template("mt.case_load")
    text = _fill(c, tid, {"node": node, "loads": loads})
    final = _calls_msg([_call("POST /db/cnld", lcase=args["name"], node=node, **comps)])
    return tid, head + [_user(text), final], [acc]


def _r_multi_turn(c):
    table = [(_mt_node_offset, 0.3), (_mt_elem_jnode, 0.25), (_mt_elem_load, 0.25), (_mt_case_load, 0.2)]
    return _weighted(c, table)(c)


# completion(ctx) -> (the value's fields in a CLARIFY_COMPLETIONS form, gold calls, acceptable)
_Completion = Callable[[_Ctx], tuple[dict, list[dict], list[dict]]]


@dataclass
class _Twin:
    """A clarify request and how to supply its missing value (drawn later, from another stream)."""
    kind: str
    template: str
    slots: dict
    complete: _Completion


def _clarify_slots(c, kind: str) -> tuple[dict, dict, _Completion]:
    """(request slots, answer slots, completion) for a request that lacks a required value. The
    completion draws the missing value from its own context, so asking for twins never changes
    what the clarify request itself draws."""
    if kind == "node_coords":
        nid = _nid(c)

        def coords(t):
            pt = _point(t)
            return {"xyz": _xyz(t, pt, _len_unit(t))}, [_node_call(nid, pt)], [{}]
        return {"id": nid}, {"id": nid}, coords
    if kind == "node_partial":
        nid, pt = _nid(c), _point(c)
        given = sorted(c.rng.sample(range(3), c.choice([1, 2])))
        partial = ", ".join(f"{'xyz'[k]}={_fmt(pt[k])}" for k in given) + c.choice(["", "", "m"])
        missing = ", ".join("xyz"[k] for k in range(3) if k not in given)
        rest = ", ".join(f"{'xyz'[k]}={_fmt(pt[k])}" for k in range(3) if k not in given)
        return ({"id": nid, "partial": partial}, {"id": nid, "missing": missing},
                lambda t: ({"rest": rest}, [_node_call(nid, pt)], [{}]))
    if kind in ("load_node", "load_case"):
        node, (lcase, lcase_text, acc_case), (loads, comps, acc_zero) = _nid(c), _lcase(c), _loads(c)
        supplied = {"node": node} if kind == "load_node" else {"lcase": lcase_text}   # what the request lacks
        return ({"node": node, "lcase": lcase_text, "loads": loads}, {"node": node},
                lambda t: (supplied, [_call("POST /db/cnld", lcase=lcase, node=node, **comps)],
                           [{**acc_case, **acc_zero}]))
    if kind == "elem_nodes":
        a = _elem(c)
        slots = {"id": a["id"], "etype": c.word("etype", a["type"]), "matl": a["matl"], "sect": a["sect"]}
        return (slots, {"id": a["id"]},
                lambda t: ({"i": a["nodes"][0], "j": a["nodes"][1]}, [_call("POST /db/elem", **a)], [{}]))
    if kind == "support_type":
        ids, text = _node_list(c)

        def support(t):
            ctype = t.pick(_CTYPES)
            return {"ctype": t.word("ctype", ctype)}, [_call("POST /db/cons", nodes=ids, type=ctype)], [{}]
        return {"nodes": text}, {"nodes": text}, support
    if kind == "beam_load_value":
        elem, (lcase, lcase_text, acc) = _nid(c), _lcase(c)

        def beam_load(t):
            q_text, dir_text, d, q = _beam_load(t)
            return {"q": q_text, "dir": dir_text}, [_call("POST /db/bmld", lcase=lcase, elem=elem, dir=d, q=q)], [acc]
        return {"elem": elem, "lcase": lcase_text}, {"elem": elem}, beam_load
    mid, mtype = _sid(c), c.choice(["steel", "steel", "concrete"])   # matl_grade

    def grade(t):
        g = t.choice(_GRADES[mtype])[1]
        return {"grade": g}, [_call("POST /db/matl", id=mid, type=mtype, grade=g)], [{}]
    return {"id": mid, "mtype": c.word("mtype", mtype)}, {"id": mid}, grade


# what each clarify request lacks: (tool, arguments); node_partial's arguments are drawn
_CLARIFY_MISSING = {"node_coords": ("POST /db/node", ["x", "y", "z"]), "node_partial": ("POST /db/node", None),
                    "load_node": ("POST /db/cnld", ["node"]), "load_case": ("POST /db/cnld", ["lcase"]),
                    "elem_nodes": ("POST /db/elem", ["nodes"]), "support_type": ("POST /db/cons", ["type"]),
                    "beam_load_value": ("POST /db/bmld", ["q", "dir"]), "matl_grade": ("POST /db/matl", ["grade"])}


def _r_clarify(c):
    kind = c.choice(list(P.CLARIFY_ANSWERS))
    slots, answer_slots, complete = _clarify_slots(c, kind)
    tool, missing = _CLARIFY_MISSING[kind]
    c.missing = {tool: missing or answer_slots["missing"].split(", ")}
    tid = c.template(f"clarify.{kind}")
    answer = c.choice(P.CLARIFY_ANSWERS[kind][c.base_lang]).format(**answer_slots)
    text = _fill(c, tid, slots, prefix=True)
    # a twin needs every other value the call takes written in the request (some slots are optional)
    supplied = _slot_names(P.CLARIFY_COMPLETIONS[kind]["en"][0]) - {"req"}
    if set(slots) - supplied <= _slot_names(template_text(tid)):
        c.twin = _Twin(kind, tid, slots, complete)
    return tid, [_user(text), _text_msg(answer)], []


def _slot_names(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def skeleton(template: str) -> str:
    """A phrasing with its values and punctuation taken out: two templates that differ only there
    are the same phrasing."""
    return re.sub(r"[^\w{}]", "", re.sub(r"\{\w+\}", "{}", template).casefold())


def _completed_twin(c: _Ctx, twin: _Twin, heldout: set[str]) -> tuple[list[dict], list[dict]] | None:
    """(messages, acceptable) of the twin: the clarify request with its missing value written in,
    before or after it, answered with the call. Trained beside the request that asks, it shows
    the model that the value's presence, not the phrasing, decides between asking and calling.
    None when the form drawn would rebuild a held-out phrasing (``heldout``: their skeletons),
    e.g. "create node {id}" + " at {xyz}" is node.create's "Create node {id} at {xyz}"."""
    form = c.choice(P.CLARIFY_COMPLETIONS[twin.kind][c.lang])
    if skeleton(form.replace("{req}", template_text(twin.template))) in heldout:
        return None
    fields, calls, acc = twin.complete(c)
    req = _fill(c, twin.template, twin.slots)
    end = req[-1] if req[-1] in ".?!" else ""
    req = req[: len(req) - len(end)]
    if not form.startswith("{req}") and req[:1].isupper() and req[1:2].islower():
        req = req[0].lower() + req[1:]   # "In DL, apply ...", not "In DL, Apply ..."
    text = c.choice(P.PREFIXES[c.base_lang]) + form.format(req=req, **fields) + end
    return [_user(text), _calls_msg(calls)], acc


def _r_irrelevant(c):
    slots = {}
    for key, vocab in P.IRRELEVANT_VOCAB.items():
        either = key in ("city", "dish", "topic", "genre", "team")   # words a Korean writer also types in English
        src = c.lang if c.lang != "mixed" else (c.choice(["ko", "en"]) if either else "ko")
        slots[key] = c.choice(vocab[src])
    slots.update(a=c.rng.randint(12, 99), b=c.rng.randint(12, 99), n=c.rng.randint(2, 6))
    tid = c.template("irrelevant")
    return tid, [_user(_fill(c, tid, slots, prefix=True)), _text_msg(c.choice(P.IRRELEVANT_ANSWERS[c.base_lang]))], []


_BUILDERS = {"single": _r_calls(_SINGLE), "multi": _r_calls(_MULTI), "multi_turn": _r_multi_turn,
             "irrelevant": _r_irrelevant, "clarify": _r_clarify}


def _apportion(total: int, weights: dict) -> dict:
    """Split ``total`` by ``weights`` into integers summing exactly to it (largest remainder)."""
    norm = sum(weights.values())
    raw = {k: total * w / norm for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    keys = list(weights)
    for k in sorted(keys, key=lambda k: (-(raw[k] - out[k]), keys.index(k)))[: total - sum(out.values())]:
        out[k] += 1
    return out


def mix_problem(mix: dict[str, float]) -> str | None:
    """What is wrong with a category mix, or None (the config validator reports it per field)."""
    unknown = [k for k in mix if k not in CATEGORIES]
    if unknown:
        return f"unknown categories {unknown}; expected some of {list(CATEGORIES)}"
    if any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        return "weights must be >= 0 with a positive sum"
    return None


def twins_problem(share: float) -> str | None:
    """What is wrong with a clarify_twins share, or None (reported like mix_problem's)."""
    return None if 0.0 <= share <= 1.0 else "must be a share in [0, 1] (0: no completed twins)"


def mix_weights(mix: dict[str, float] | None, name: str = "mix") -> dict[str, float]:
    """Category -> weight (DEFAULT_MIX when ``mix`` is None); ValueError naming data.generator.<name>."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    problem = mix_problem(mix)
    if problem:
        raise ValueError(f"data.generator.{name}: {problem}, got {mix}")
    return {k: float(mix.get(k, 0.0)) for k in CATEGORIES}


def _norm_text(text: str) -> str:   # spacing-only variants count as the same request
    return re.sub(r"\s+", "", text.casefold())


def _record(c: _Ctx, split, index, category, tid, messages, acc, seen) -> dict | None:
    """The record, or None when its request was already used (the caller draws again)."""
    key = _norm_text([m for m in messages if m["role"] == "user"][-1]["content"])
    if key in seen:
        return None
    seen.add(key)
    for m in messages:
        for tc in m.get("tool_calls", []):
            problems = validate_arguments(tc["function"]["name"], tc["function"]["arguments"])
            if problems:
                raise RuntimeError(f"generator bug in {tid}: {tc['function']} -> {problems}")
    return {"id": f"{split}-{index:05d}", "split": split, "language": c.lang, "category": category,
            "template": tid, "values": "held_out" if c.odd_values else "seen", "messages": messages,
            "acceptable": acc if any(acc) else None, "ordered": c.ordered, "missing_arguments": c.missing}


def _make_record(rng, category, lang, split, pools, seen, index, twins: list | None = None) -> dict:
    """One record; a clarify record's _Twin goes to ``twins`` when a list is given."""
    side = "heldout" if split == "test" else "train"
    for _ in range(_MAX_TRIES):
        c = _Ctx(rng, lang, side, pools, odd_values=side == "heldout" and rng.random() < HELDOUT_VALUE_RATE)
        tid, messages, acc = _BUILDERS[category](c)
        record = _record(c, split, index, category, tid, messages, acc, seen)
        if record is not None:
            if twins is not None and c.twin is not None:
                twins.append((lang, c.twin))
            return record
    raise RuntimeError(f"no unused {category}/{lang} request left for {split} after {_MAX_TRIES} tries: "
                       "size is too large for the templates")


def _twin_records(rng, twins: list, share: float, pools, seen, first_index: int) -> list[dict]:
    """Completed twins for ``share`` of the train split's clarify requests that can have one, as
    single-call records that keep their clarify template id; none rebuilds a held-out phrasing.
    Drawn from their own stream after every other record: asking for twins changes no other record."""
    heldout = {skeleton(template_text(t)) for pool in pools.values() for t in pool["heldout"]}
    out = []
    for lang, twin in twins:
        if rng.random() >= share:
            continue
        for _ in range(_MAX_TRIES):
            c = _Ctx(rng, lang, "train", pools, odd_values=False)
            completed = _completed_twin(c, twin, heldout)
            if completed is None:
                continue
            messages, acc = completed
            record = _record(c, "train", first_index + len(out), "single", twin.template, messages, acc, seen)
            if record is not None:
                out.append(record)
                break
    return out


def generate_splits(seed: int = 0, size: int = 3000, mix: dict[str, float] | None = None,
                    heldout_template_fraction: float = 0.3,
                    train_mix: dict[str, float] | None = None,
                    clarify_twins: float = 0.0) -> dict[str, list[dict]]:
    """train / validation / test = 80/10/10 of ``size`` (exact totals); test_id is an extra
    in-distribution test set the size of test. ``mix`` weighs the categories of every split;
    ``train_mix`` (default: ``mix``) those of train alone, so a recipe can train on more of a
    category without changing what it is tested on. ``clarify_twins`` is the share of train's
    clarify requests that also appear completed, with the call as the answer; those records come
    after train's ``size``-derived count. Same arguments -> identical output."""
    if size < 10:
        raise ValueError(f"size must be >= 10, got {size}")
    twins_error = twins_problem(clarify_twins)
    if twins_error:
        raise ValueError(f"data.generator.clarify_twins: {twins_error}, got {clarify_twins}")
    weights = mix_weights(mix)
    split_weights = {split: weights for split in SPLITS}
    if train_mix is not None:
        split_weights["train"] = mix_weights(train_mix, "train_mix")
    pools = template_pools(seed, heldout_template_fraction)
    counts = _apportion(size, {"train": 0.8, "validation": 0.1, "test": 0.1})
    counts["test_id"] = counts["test"]
    seen: set[str] = set()
    out = {}
    # the evaluation splits first: train then avoids their requests, so what train holds (its
    # size, its mix) never changes a validation or test record
    for split in ("validation", "test", "test_id", "train"):
        rng = random.Random(f"gennx|{seed}|{split}")
        plan = []
        for category, n in _apportion(counts[split], split_weights[split]).items():
            for lang, m in _apportion(n, LANGUAGE_MIX).items():
                plan += [(category, lang)] * m
        rng.shuffle(plan)
        twins = [] if split == "train" and clarify_twins > 0 else None
        out[split] = [_make_record(rng, cat, lang, split, pools, seen, i, twins) for i, (cat, lang) in enumerate(plan)]
        if twins:
            out[split] += _twin_records(random.Random(f"gennx|{seed}|train-twins"), twins, clarify_twins,
                                        pools, seen, len(out[split]))
    return {split: out[split] for split in SPLITS}


def gold_calls(record: dict) -> list[dict]:
    """The ``{"name", "arguments"}`` calls of the record's last assistant turn ([] for plain text)."""
    last = [m for m in record["messages"] if m["role"] == "assistant"][-1]
    return [tc["function"] for tc in last.get("tool_calls") or []]


# ------------------------------------------------------------------------------------ files


def write_jsonl(records: list[dict], path: str | os.PathLike) -> Path:
    """Write one JSON record per line (UTF-8, not ASCII-escaped) via a temp file + os.replace,
    so a crash never leaves a half-written file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_splits(out_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Path]:
    """generate_splits(**kwargs) written as ``<out_dir>/<split>.jsonl``."""
    return {split: write_jsonl(records, Path(out_dir) / f"{split}.jsonl")
            for split, records in generate_splits(**kwargs).items()}
