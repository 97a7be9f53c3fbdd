"""Score one answer against its gold turn, modelled on BFCL's AST checker.

A turn is one of four kinds, and the answer is ``correct`` when it shows no failure class:

* ``call``: the gold calls tools. Correct = ``exact``: every gold call matched, no extra call,
  every block well-formed, every argument valid for its tool's JSON Schema.
* ``clarification``: the gold asks for a value the request lacks (the record's
  ``missing_arguments``). Correct: a non-empty text without a call that claims no action and asks
  about every missing argument (replies.py).
* ``irrelevance``: no tool applies. Correct: a non-empty text without a call that claims no action.
* ``summary``: the gold answers a tool result in text. Correct: a non-empty text without a call
  (reporting the result is what it should do, so claims are allowed here).

Silence is never correct: an empty answer is ``empty_answer``. A call object written without the
format's markers is ``untagged_call`` (parsing.py): an attempted call, never a valid one.

Choices that differ from, or pin down, BFCL:

* Argument checks (type, enum, range, required, extra keys) are JSON Schema validation
  (schema.py): closed objects, strict integers (3.0 is a type error for an ``integer``).
* A value constrained by ``enum`` must equal a listed value exactly. Other strings are compared
  after Unicode NFKC, case-folding, stripping and collapsing whitespace; unlike BFCL we do not
  delete punctuation (`` ,./-_*^``): in our tool names and values it carries meaning ("/db/node",
  "1.5" vs "15", "-3").
* An int is accepted for ``number``. Numbers match within a relative tolerance of 1e-6.
* An optional parameter (not in ``required``) may be omitted when the gold value equals the
  schema ``default`` or the acceptable values hold ``""`` / None (BFCL's marker). An optional
  parameter the gold does not mention is tolerated when it equals its default.
* Calls are paired one-to-one to maximise (exact pairs, same-name pairs, correct argument
  leaves): brute force over permutations when there are at most 40 320 of them (n <= 8),
  greedy beyond. ``ordered=True`` (calls that depend on each other) keeps the gold's order: a
  monotone alignment, so a call out of order is missing and extra.
* ``has_call`` means the model attempted a call: a block, well-formed or not, or an untagged call
  object (relevance and irrelevance are about that decision).
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from .parsing import INVALID_JSON, UNCLOSED_BLOCK, UNTAGGED_CALL, ParsedAnswer, parse_tool_calls
from .replies import asks_for, claims_action, missing_pairs
from ..data.tool_schema import WRONG_TYPE, argument_problems, schema_problems

EMPTY_ANSWER, CLAIMED_WITHOUT_CALL, MISSING_CLARIFICATION = "empty_answer", "claimed_without_call", "missing_clarification"
# in the order an example's outcome names its first failure
FAILURE_CLASSES = (
    EMPTY_ANSWER, UNTAGGED_CALL, CLAIMED_WITHOUT_CALL, INVALID_JSON, UNCLOSED_BLOCK, "unknown_tool", "wrong_tool",
    "missing_argument", "extra_argument", "wrong_type", "wrong_value", "missing_call", "extra_call",
    MISSING_CLARIFICATION,
)
CALL, CLARIFICATION, IRRELEVANCE, SUMMARY = "call", "clarification", "irrelevance", "summary"
TURN_KINDS = (CALL, CLARIFICATION, IRRELEVANCE, SUMMARY)
REL_TOL = 1e-6
BRUTE_FORCE_LIMIT = 40_320  # 8! pairings still score in well under a second
_MISSING = object()


def normalize_string(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _declared_types(schema: dict) -> list[str]:
    types = schema.get("type")
    return types if isinstance(types, list) else [types] if isinstance(types, str) else []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def values_equal(pred: Any, gold: Any, schema: Any = None) -> bool:
    """Whether ``pred`` matches ``gold`` under the normalisation rules in the module docstring."""
    schema = schema if isinstance(schema, dict) else {}
    if gold is None:
        return pred is None
    if isinstance(gold, bool):
        return isinstance(pred, bool) and pred == gold
    if _is_number(gold):
        if not _is_number(pred):
            return False
        types = _declared_types(schema)
        if "integer" in types and "number" not in types and not isinstance(pred, int):
            return False
        return math.isclose(pred, gold, rel_tol=REL_TOL, abs_tol=1e-12)
    if isinstance(gold, str):
        if not isinstance(pred, str):
            return False
        # an enum value is an identifier the API matches exactly: "GZ", not "gz"
        return pred == gold if isinstance(schema.get("enum"), list) else normalize_string(pred) == normalize_string(gold)
    if isinstance(gold, list):
        items = schema.get("items")
        return isinstance(pred, list) and len(pred) == len(gold) and all(
            values_equal(p, g, items) for p, g in zip(pred, gold))
    if isinstance(gold, dict):
        if not isinstance(pred, dict):
            return False
        props, required = schema.get("properties") or {}, set(schema.get("required") or [])
        for key in set(pred) | set(gold):
            sub = props.get(key)
            if key in pred and key in gold:
                ok = values_equal(pred[key], gold[key], sub)
            elif key in gold:
                ok = _may_omit(key, [gold[key]], sub, required)
            else:
                ok = _default_tolerated(key, pred[key], sub, required)
            if not ok:
                return False
        return True
    return pred == gold


def _may_omit(key: str, alternatives: list[Any], prop: Any, required: set[str]) -> bool:
    if key in required:
        return False
    if any((isinstance(a, str) and a == "") or a is None for a in alternatives):
        return True
    return isinstance(prop, dict) and "default" in prop and any(
        values_equal(prop["default"], a, prop) for a in alternatives)


def _default_tolerated(key: str, value: Any, prop: Any, required: set[str]) -> bool:
    return (key not in required and isinstance(prop, dict) and "default" in prop
            and values_equal(value, prop["default"], prop))


def flatten(value: Any, schema: Any = None, path: str = "") -> list[tuple[str, Any, dict]]:
    """Leaf (key path, value, schema) triples: ``loads.fx``, ``nodes[0]``; empty containers are leaves."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, dict) and value:
        props = schema.get("properties") or {}
        return [leaf for k, v in value.items() for leaf in flatten(v, props.get(k), _join(path, k))]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in flatten(v, schema.get("items"), f"{path}[{i}]")]
    return [(path, value, schema)]


def _arg_leaves(args: dict) -> int:
    # Not flatten(args): an empty argument object has no leaves, not one empty leaf.
    return sum(len(flatten(v, None, k)) for k, v in args.items())


def _params(tool: dict | None) -> dict:
    params = (tool or {}).get("parameters")
    return params if isinstance(params, dict) else {}


@dataclass
class PairResult:
    """How well one predicted call matches one gold call."""

    name_ok: bool
    exact: bool
    tp: int
    n_pred: int
    n_gold: int
    issues: list[tuple[str, str]] = field(default_factory=list)

    def key(self) -> tuple[int, int, int, int]:
        return int(self.exact), int(self.name_ok), self.tp, 1


def evaluate_pair(pred: dict, gold: dict, alts: dict, tools: dict[str, dict]) -> PairResult:
    params = _params(tools.get(gold["name"]))
    pargs, gargs = pred["arguments"], gold["arguments"]
    if pred["name"] != gold["name"]:
        kind = "wrong_tool" if pred["name"] in tools else "unknown_tool"
        issue = (kind, f"expected tool {gold['name']!r}, got {pred['name']!r}")
        return PairResult(False, False, 0, _arg_leaves(pargs), _arg_leaves(gargs), [issue])
    props, required = params.get("properties") or {}, set(params.get("required") or [])
    result = PairResult(True, False, 0, 0, 0)
    for key in dict.fromkeys([*gargs, *alts, *pargs]):
        prop = props.get(key)
        alternatives = ([gargs[key]] if key in gargs else []) + list(alts.get(key, []))
        pv = pargs.get(key, _MISSING)
        if pv is _MISSING:
            if alternatives and not _may_omit(key, alternatives, prop, required):
                result.n_gold += len(flatten(_reference(alternatives)))
                result.issues.append(("missing_argument", f"{key}: not given"))
            continue
        pred_leaves = flatten(pv, prop, key)
        if not alternatives:
            if not _default_tolerated(key, pv, prop, required):
                result.n_pred += len(pred_leaves)
                result.issues.append(("extra_argument", f"{key}: not expected, got {pv!r}"))
            continue
        result.n_pred += len(pred_leaves)
        if any(values_equal(pv, a, prop) for a in alternatives):
            result.tp += len(pred_leaves)
            result.n_gold += len(pred_leaves)
            continue
        ref = _reference(alternatives)
        gold_leaves = {p: (v, s) for p, v, s in flatten(ref, prop, key)}
        result.n_gold += len(gold_leaves)
        result.tp += sum(1 for p, v, _ in pred_leaves
                         if p in gold_leaves and values_equal(v, *gold_leaves[p]))
        kind = "wrong_type" if any(p.kind == WRONG_TYPE for p in schema_problems(pv, prop, key)) else "wrong_value"
        result.issues.append((kind, f"{key}: expected {ref!r}, got {pv!r}"))
    result.exact = not result.issues
    return result


def _reference(alternatives: list[Any]) -> Any:
    """The gold value to diff against: the first alternative that is not an omission marker."""
    return next((a for a in alternatives if a is not None and a != ""), alternatives[0])


def _sum_keys(pairs: list[PairResult]) -> tuple[int, ...]:
    return tuple(map(sum, zip(*(p.key() for p in pairs)))) if pairs else (0, 0, 0, 0)


def match_calls(table: list[list[PairResult]], n_gold: int, ordered: bool) -> list[tuple[int, int]]:
    """Pair predicted calls (rows) with gold calls (columns); returns (pred, gold) index pairs."""
    m = len(table)
    if m == 0 or n_gold == 0:
        return []
    if ordered:
        return _align_in_order(table, m, n_gold)
    if math.perm(max(m, n_gold), min(m, n_gold)) <= BRUTE_FORCE_LIMIT:
        if m >= n_gold:
            candidates = ([(p, g) for g, p in enumerate(perm)] for perm in itertools.permutations(range(m), n_gold))
        else:
            candidates = (list(enumerate(perm)) for perm in itertools.permutations(range(n_gold), m))
        return max(candidates, key=lambda pairs: _sum_keys([table[p][g] for p, g in pairs]))
    # Too many permutations: take the best remaining pair first.
    order = sorted(((p, g) for p in range(m) for g in range(n_gold)), key=lambda pg: table[pg[0]][pg[1]].key(), reverse=True)
    used_p: set[int] = set()
    used_g: set[int] = set()
    pairs = []
    for p, g in order:
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            pairs.append((p, g))
    return pairs


def _align_in_order(table: list[list[PairResult]], m: int, n: int) -> list[tuple[int, int]]:
    # best[i][j]: best score for preds[i:] against golds[j:] with increasing pairs only.
    zero = (0, 0, 0, 0)
    best = [[zero] * (n + 1) for _ in range(m + 1)]
    for i in range(m - 1, -1, -1):
        for j in range(n - 1, -1, -1):
            take = tuple(a + b for a, b in zip(table[i][j].key(), best[i + 1][j + 1]))
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < m and j < n:
        take = tuple(a + b for a, b in zip(table[i][j].key(), best[i + 1][j + 1]))
        if best[i][j] == take:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def turn_kind(gold_calls: list[dict], missing_arguments: Any = None, after_tool_result: bool = False) -> str:
    """CALL, CLARIFICATION, SUMMARY or IRRELEVANCE (module docstring)."""
    if gold_calls:
        return CALL
    if missing_pairs(missing_arguments):
        return CLARIFICATION
    return SUMMARY if after_tool_result else IRRELEVANCE


@dataclass
class AnswerScore:
    answer: str
    gold_calls: list[dict]
    pred_calls: list[dict]
    valid_json: bool         # every attempted call well-formed (the rate counts answers that attempt one)
    has_call: bool
    gold_has_call: bool
    tool_name_correct: bool
    exact: bool              # a call turn answered exactly; False for every other kind
    arg_tp: int
    arg_n_pred: int
    arg_n_gold: int
    n_pred_calls: int
    n_known_calls: int  # predicted calls whose tool is in the schema: denominator for argument checks
    n_calls_hallucinated_args: int
    n_calls_type_errors: int
    hallucinated_tools: list[str]
    hallucinated_arguments: list[str]
    type_errors: list[str]
    missed_call: bool
    spurious_call: bool
    failures: list[str]
    details: list[dict[str, str]]
    per_gold: list[dict[str, Any]]
    text_outside: str = ""
    kind: str = CALL
    correct: bool = False    # no failure class: the turn answered as its kind asks
    empty: bool = False
    claimed_action: bool = False

    @property
    def arg_precision(self) -> float | None:
        return self.arg_tp / self.arg_n_pred if self.arg_n_pred else None

    @property
    def arg_recall(self) -> float | None:
        return self.arg_tp / self.arg_n_gold if self.arg_n_gold else None

    @property
    def outcome(self) -> str:
        """"correct", or the first failure class (FAILURE_CLASSES order)."""
        return "correct" if self.correct else self.failures[0]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "arg_precision": self.arg_precision, "arg_recall": self.arg_recall,
                "outcome": self.outcome}


def score_answer(answer_text: str, gold_calls: list[dict], tools: list[dict],
                 acceptable: list[dict] | None = None, ordered: bool = False,
                 tool_call_format: str = "hermes", missing_arguments: Any = None,
                 after_tool_result: bool = False, parsed: ParsedAnswer | None = None) -> AnswerScore:
    """Parse ``answer_text`` (written in ``tool_call_format``, see parsing.py; or take ``parsed``,
    e.g. an OpenAI message read by parse_message) and score it against the gold turn.

    ``acceptable``: per gold call, argument -> acceptable values (BFCL style). ``ordered``: the gold
    calls depend on each other, so their order is scored. ``missing_arguments``: the gold asks for
    these (replies.missing_pairs). ``after_tool_result``: the turn answers a tool result."""
    parsed = parsed if parsed is not None else parse_tool_calls(answer_text, tool_call_format)
    # Accept both the OpenAI wrapper {"type": "function", "function": {...}} and a bare function.
    index = {fn["name"]: fn for fn in (t.get("function", t) for t in tools)}
    acceptable = acceptable if acceptable is not None else [{} for _ in gold_calls]
    if len(acceptable) != len(gold_calls):
        raise ValueError(f"{len(acceptable)} acceptable entries for {len(gold_calls)} gold calls")
    kind = turn_kind(gold_calls, missing_arguments, after_tool_result)
    details: list[dict[str, str]] = [{"kind": e.kind, "message": f"block {e.index}: {e.detail}"}
                                     for e in parsed.errors]
    preds = parsed.calls
    halluc_tools: list[str] = []
    halluc_args: list[str] = []
    type_errors: list[str] = []
    n_known = n_with_halluc = n_with_type_err = 0
    for call in preds:
        name = call["name"]
        if name not in index:
            halluc_tools.append(name)
            details.append({"kind": "unknown_tool", "message": f"{name!r} is not in the tool schema"})
            continue
        n_known += 1
        try:
            problems = argument_problems(_params(index[name]), call["arguments"])
        except ValueError as exc:
            raise ValueError(f"tool {name!r}: {exc}") from exc
        unknown = [p.path for p in problems if p.kind == "extra_argument"]
        wrong_types = [p.message for p in problems if p.kind == WRONG_TYPE]
        n_with_halluc += bool(unknown)
        n_with_type_err += bool(wrong_types)
        halluc_args += [f"{name}: {u}" for u in unknown]
        type_errors += [f"{name}: {e}" for e in wrong_types]
        details += [{"kind": p.kind, "message": f"{name}: {p.message}"} for p in problems]

    table = [[evaluate_pair(p, g, acceptable[j] or {}, index) for j, g in enumerate(gold_calls)] for p in preds]
    pairs = match_calls(table, len(gold_calls), ordered)
    paired_pred, paired_gold = {p: g for p, g in pairs}, {g: p for p, g in pairs}
    tp = n_pred = n_gold = 0
    per_gold = []
    for g, gold in enumerate(gold_calls):
        res = table[paired_gold[g]][g] if g in paired_gold else None
        if res is None:
            res = PairResult(False, False, 0, 0, _arg_leaves(gold["arguments"]))
            res.issues.append(("missing_call", f"no call matched gold {gold['name']!r}"
                                               + (" in order" if ordered and preds else "")))
        details += [{"kind": k, "message": msg} for k, msg in res.issues]
        tp, n_pred, n_gold = tp + res.tp, n_pred + res.n_pred, n_gold + res.n_gold
        per_gold.append({"name": gold["name"], "matched": g in paired_gold, "exact": res.exact,
                         "name_ok": res.name_ok, "tp": res.tp, "n_pred": res.n_pred, "n_gold": res.n_gold})
    for p, call in enumerate(preds):
        if p not in paired_pred:
            n_pred += _arg_leaves(call["arguments"])
            details.append({"kind": "extra_call", "message": f"unmatched call {call['name']!r}"})

    has_call, gold_has_call = parsed.attempted_call, bool(gold_calls)
    text = parsed.text_outside
    empty = not has_call and not text.strip()
    claimed = not has_call and kind != SUMMARY and claims_action(text)
    if empty:
        details.append({"kind": EMPTY_ANSWER, "message": "the answer is empty"})
    if claimed:
        details.append({"kind": CLAIMED_WITHOUT_CALL, "message": "the text says an action was carried out, "
                                                                 "but no tool was called"})
    if kind == CLARIFICATION and not (has_call or empty or claimed):
        missing = missing_pairs(missing_arguments)
        if not asks_for(text, missing):
            names = ", ".join(arg for _, arg in missing)
            details.append({"kind": MISSING_CLARIFICATION, "message": f"no question about the missing {names}"})
    kinds = {d["kind"] for d in details}
    failures = [k for k in FAILURE_CLASSES if k in kinds]
    correct = not failures
    return AnswerScore(
        answer=answer_text, gold_calls=gold_calls, pred_calls=preds, valid_json=parsed.valid_json,
        has_call=has_call, gold_has_call=gold_has_call,
        tool_name_correct=gold_has_call and sorted(c["name"] for c in preds) == sorted(c["name"] for c in gold_calls),
        exact=kind == CALL and correct,
        arg_tp=tp, arg_n_pred=n_pred, arg_n_gold=n_gold, n_pred_calls=len(preds), n_known_calls=n_known,
        n_calls_hallucinated_args=n_with_halluc, n_calls_type_errors=n_with_type_err,
        hallucinated_tools=halluc_tools, hallucinated_arguments=halluc_args, type_errors=type_errors,
        missed_call=gold_has_call and not has_call, spurious_call=has_call and not gold_has_call,
        failures=failures, details=details, per_gold=per_gold, text_outside=text,
        kind=kind, correct=correct, empty=empty, claimed_action=claimed,
    )
