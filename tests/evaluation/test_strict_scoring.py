"""The strict rules of the scorer, each on hand-written answers: silence and claimed actions are not
correct, clarifications ask for the missing value, untagged calls are never valid, enums are exact,
dependent calls are ordered, and argument checks agree with a JSON-Schema validator."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from loralab.data.files import read_records
from loralab.tasks.gennx.tools import TOOLS, tool_by_name
from loralab.evaluation.aggregate import aggregate
from loralab.evaluation.records import score_record
from loralab.evaluation.scoring import score_answer


def call(name: str, /, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def block(c: dict) -> str:
    return "<tool_call>\n" + json.dumps(c, ensure_ascii=False) + "\n</tool_call>"


def record(gold, user="do it", **fields) -> dict:
    """A chat record whose last assistant turn is ``gold`` (a list of calls, or a text)."""
    answer = ({"role": "assistant", "content": gold} if isinstance(gold, str) else
              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": c} for c in gold]})
    return {"messages": [{"role": "user", "content": user}, answer], "tools": TOOLS, **fields}


NODE = call("POST /db/node", id=5, x=0.0, y=0.0, z=3.0)
IRRELEVANT = record("I can only help with GEN NX modelling.", "what's the weather in Seoul?")
CLARIFY = record("Which load case (e.g. DL, LL) should the load go into?", "add fz=-10 kN at node 3",
                 missing_arguments={"POST /db/cnld": ["lcase"]})


# ---------------------------------------------------------------------------------- silence


@pytest.mark.parametrize("answer", ["", "   \n\t "])
def test_an_empty_answer_is_never_correct(answer):
    for rec in (IRRELEVANT, CLARIFY):
        s = score_record(rec, answer, TOOLS)
        assert not s.correct and s.empty and s.failures == ["empty_answer"], rec["messages"][0]
    s = score_record(record([NODE]), answer, TOOLS)
    assert s.failures == ["empty_answer", "missing_call"] and not s.exact


def test_silence_scores_zero_on_every_no_call_rate():
    rows = [(IRRELEVANT, ""), (CLARIFY, ""), (record([NODE]), block(NODE))]
    report = aggregate([score_record(r, a, TOOLS) for r, a in rows])
    rates = {k: (v["k"], v["n"]) for k, v in report["rates"].items()}
    assert rates["irrelevance_accuracy"] == (0, 1) and rates["clarification_accuracy"] == (0, 1)
    # exact_call_accuracy counts only the turn whose gold calls a tool
    assert rates["exact_call_accuracy"] == (1, 1) and rates["turn_accuracy"] == (1, 3)


# ---------------------------------------------------------------------------------- claimed actions


@pytest.mark.parametrize("answer", [
    "Done: node 5 was created", "I added the load to node 3.", "The element has been deleted.",
    "노드 5를 생성했습니다.", "하중을 추가했어요!", "요소 3 삭제 완료", "하중이 적용되었습니다.",
])
def test_a_text_that_claims_an_action_without_a_call_is_its_own_failure(answer):
    for rec in (IRRELEVANT, CLARIFY):
        s = score_record(rec, answer, TOOLS)
        assert s.failures == ["claimed_without_call"] and s.claimed_action and not s.correct, answer
    s = score_record(record([NODE]), answer, TOOLS)
    assert s.failures == ["claimed_without_call", "missing_call"]


@pytest.mark.parametrize("answer", [
    "I can only help with GEN NX modelling.", "Node 5 will be created once you tell me where.",
    "I have not created anything.", "Should it be added to DL?", "노드를 생성하지 않았습니다.",
    "좌표를 알려주시면 생성하겠습니다.", "입력이 완료되면 생성할게요.",
])
def test_promises_questions_and_refusals_claim_nothing(answer):
    assert score_record(IRRELEVANT, answer, TOOLS).correct, answer


def test_a_summary_after_a_tool_result_may_report_the_action():
    rec = record([call("POST /db/stld", name="DL", type="dead")], "create load case DL (dead)")
    rec["messages"] += [{"role": "tool", "name": "POST /db/stld", "content": '{"status": "ok"}'},
                        {"role": "assistant", "content": "Added load case DL."}]
    s = score_record(rec, "Created load case DL.", TOOLS)
    assert s.kind == "summary" and s.correct
    assert score_record(rec, "", TOOLS).failures == ["empty_answer"]
    assert score_record(rec, block(NODE), TOOLS).failures == ["extra_call"]


# ---------------------------------------------------------------------------------- clarification


@pytest.mark.parametrize("answer,correct", [
    ("Which load case should I put it in?", True),
    ("어느 하중케이스에 넣을까요?", True),
    ("Please give the lcase.", True),                     # the argument's own name
    ("Which node should get the load?", False),           # asks about a value the request gave
    ("The load case is missing.", False),                 # says so, asks nothing
    ("I can only help with GEN NX modelling.", False),
])
def test_a_clarification_asks_about_the_missing_argument(answer, correct):
    s = score_record(CLARIFY, answer, TOOLS)
    assert s.kind == "clarification" and s.correct is correct, answer
    if not correct:
        assert s.failures == ["missing_clarification"]


def test_every_missing_argument_must_be_asked_for_and_names_may_be_a_plain_list():
    rec = record("What intensity (kN/m) and direction should the load have?", "load elem 7 in DL",
                 missing_arguments={"POST /db/bmld": ["q", "dir"]})
    assert score_record(rec, "How large is the load on element 7, and in which direction?", TOOLS).correct
    assert score_record(rec, "How large is the load on element 7?", TOOLS).failures == ["missing_clarification"]
    plain = record("What is the span?", "make a beam", missing_arguments=["span_length"])
    assert score_record(plain, "What span length should it have?", TOOLS).correct


# ---------------------------------------------------------------------------------- valid_json and bare JSON


def test_valid_json_counts_only_answers_that_attempt_a_call():
    rows = [(IRRELEVANT, "I can only help with GEN NX modelling."), (record([NODE]), block(NODE)),
            (record([NODE]), "<tool_call>\n{not json}\n</tool_call>")]
    rate = aggregate([score_record(r, a, TOOLS) for r, a in rows])["rates"]["valid_json"]
    assert (rate["k"], rate["n"]) == (1, 2)


@pytest.mark.parametrize("bare", [json.dumps(NODE), "Sure:\n```json\n" + json.dumps(NODE) + "\n```"])
def test_a_call_without_the_format_markers_is_untagged(bare):
    s = score_record(record([NODE]), bare, TOOLS)
    assert s.failures == ["untagged_call", "missing_call"] and not s.exact and not s.valid_json and s.has_call
    no_call = score_record(IRRELEVANT, bare, TOOLS)
    assert no_call.failures == ["untagged_call"] and not no_call.correct and no_call.spurious_call
    report = aggregate([s, no_call])
    assert (report["rates"]["valid_json"]["k"], report["rates"]["valid_json"]["n"]) == (0, 2)


# ---------------------------------------------------------------------------------- enums


@pytest.mark.parametrize("gold,wrong", [
    (call("POST /db/bmld", lcase="DL", elem=3, dir="GZ", q=-5.0), {"dir": "gz"}),
    (call("POST /db/sect", id=1, shape="box", dims=[300, 300, 12]), {"shape": "BOX"}),
    (call("POST /db/matl", id=1, type="steel", grade="SM355"), {"type": "STEEL"}),
])
def test_an_enum_value_must_match_exactly(gold, wrong):
    assert score_record(record([gold]), block(gold), TOOLS).exact
    pred = {**gold, "arguments": {**gold["arguments"], **wrong}}
    s = score_record(record([gold]), block(pred), TOOLS)
    assert s.failures == ["wrong_value"] and not s.exact and s.type_errors == []


def test_free_text_strings_keep_their_normalisation():
    gold = call("POST /db/matl", id=1, type="steel", grade="SM355")
    assert score_record(record([gold]), block(call("POST /db/matl", id=1, type="steel", grade=" sm355 ")), TOOLS).exact


# ---------------------------------------------------------------------------------- order


FRAME = [call("POST /db/node", id=1, x=0.0, y=0.0, z=0.0), call("POST /db/node", id=2, x=6.0, y=0.0, z=0.0),
         call("POST /db/elem", id=1, type="beam", nodes=[1, 2], matl=1, sect=1)]


def test_dependent_calls_out_of_order_are_not_exact_but_independent_ones_are():
    in_order, element_first = "".join(map(block, FRAME)), "".join(map(block, [FRAME[2], *FRAME[:2]]))
    ordered = record(FRAME, ordered=True)
    assert score_record(ordered, in_order, TOOLS).exact
    s = score_record(ordered, element_first, TOOLS)
    assert not s.exact and s.failures == ["missing_call", "extra_call"]
    assert score_record(record(FRAME), element_first, TOOLS).exact   # not marked: order-free


# ---------------------------------------------------------------------------------- a user test file


def test_a_user_file_keeps_acceptable_ordered_and_missing_arguments(tmp_path):
    case_load = [call("POST /db/stld", name="DL", type="dead"), call("POST /db/cnld", lcase="DL", node=3, fz=-10.0)]
    rows = [record(case_load, "DL then fz -10 at node 3", id="r1", ordered=True,
                   acceptable=[{}, {"fx": [0.0, ""], "fy": [0.0, ""]}]),
            record("Which load case should it go into?", "fz -10 at node 3", id="r2",
                   missing_arguments={"POST /db/cnld": ["lcase"]})]
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first, second = read_records(path)
    assert first["id"] == "r1" and first["ordered"] is True and first["acceptable"][1]["fx"] == [0.0, ""]
    assert second["missing_arguments"] == {"POST /db/cnld": ["lcase"]}
    with_zero = [case_load[0], call("POST /db/cnld", lcase="DL", node=3, fx=0.0, fz=-10.0)]
    assert score_record(first, "".join(map(block, with_zero)), TOOLS).exact        # an acceptable value
    assert not score_record(first, "".join(map(block, with_zero[::-1])), TOOLS).exact   # ordered
    assert score_record(second, "Which node... no: which load case?", TOOLS).correct
    assert score_record(second, "OK.", TOOLS).failures == ["missing_clarification"]


@pytest.mark.parametrize("field,value,says", [
    ("acceptable", [{}, {}], "'acceptable' must be a list with one object per tool call"),
    ("acceptable", [{"id": 5}], "acceptable[0].id must be a non-empty list"),
    ("ordered", "yes", "'ordered' must be true or false"),
    ("missing_arguments", ["id"], "'missing_arguments' marks a turn that asks"),
    ("missing_arguments", {"POST /db/node": "x"}, "'missing_arguments' must be a non-empty list"),
    ("id", [1], "'id' must be a string or an integer"),
])
def test_bad_scoring_fields_name_the_row_and_the_field(tmp_path, field, value, says):
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps(record([NODE], **{field: value})) + "\n", encoding="utf-8")
    with pytest.raises(Exception) as err:
        read_records(path)
    assert f"{path}:1" in str(err.value) and says in str(err.value)


# ---------------------------------------------------------------------------------- JSON Schema agreement


def _closed_by_hand(schema):
    """additionalProperties: false on every object schema that lists properties (what the scorer assumes)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return schema


LOAD_TOOL = {"type": "function", "function": {"name": "POST /db/load", "parameters": {
    "type": "object", "required": ["node", "loads"], "properties": {
        "node": {"type": "integer", "minimum": 1},
        "loads": {"type": "object", "properties": {"fx": {"type": "number"}, "fz": {"type": "number"}}},
        "unit": {"anyOf": [{"type": "string", "enum": ["kN", "N"]}, {"type": "null"}]}}}}}

HAND_MADE = [
    ("POST /db/node", {"id": 1, "x": 0, "y": 0.5, "z": 3}),
    ("POST /db/node", {"id": "1", "x": 0, "y": 0, "z": 3}),
    ("POST /db/node", {"id": 0, "x": 0, "y": 0, "z": 3}),
    ("POST /db/node", {"id": 1, "x": 0, "y": 0}),
    ("POST /db/node", {"id": 1, "x": 0, "y": 0, "z": 3, "colour": "red"}),
    ("POST /db/node", {"id": True, "x": 0, "y": 0, "z": 3}),
    ("POST /db/cons", {"nodes": [1, 2], "type": "Fixed"}),
    ("POST /db/cons", {"nodes": [1, "2"], "type": "fixed"}),
    ("POST /db/elem", {"id": 1, "type": "beam", "nodes": [1], "matl": 1, "sect": 1}),
    ("POST /db/elem", {"id": 1, "type": "beam", "nodes": [1, 2, 3], "matl": 1, "sect": 1}),
    ("POST /db/bmld", {"lcase": "DL", "elem": 3, "dir": "gz", "q": -5}),
    ("POST /db/sect", {"id": 1, "shape": "BOX", "dims": []}),
    ("POST /db/matl", {"id": 1, "type": "steel", "grade": "SM355", "elast": "205000"}),
    ("POST /db/cnld", {"lcase": "DL", "node": 3, "fz": True}),
    ("POST /doc/anal", {}),
    ("POST /doc/anal", {"type": "modal"}),
    ("POST /db/load", {"node": 1, "loads": {"fx": 1, "mx": 2}}),
    ("POST /db/load", {"node": 1, "loads": {"fz": "1"}, "unit": "kN"}),
    ("POST /db/load", {"node": 1, "loads": {}, "unit": 3}),
    ("POST /db/load", {"node": 1, "loads": {}, "unit": None}),
    ("POST /db/load", {"node": 1, "loads": {}, "unit": "kg"}),
]
# jsonschema's error keyword -> the failure class the scorer gives it; anything else is wrong_value
KEYWORD_CLASS = {"type": "wrong_type", "required": "missing_argument", "additionalProperties": "extra_argument"}


def _expected_class(error) -> str:
    if error.validator == "anyOf":   # a type error when no branch allows the value's JSON type
        types = jsonschema.Draft202012Validator.TYPE_CHECKER
        return "wrong_value" if any(types.is_type(error.instance, b["type"]) for b in error.validator_value) \
            else "wrong_type"
    return KEYWORD_CLASS.get(error.validator, "wrong_value")


@pytest.mark.parametrize("name,args", HAND_MADE)
def test_the_scorers_argument_checks_agree_with_jsonschema(name, args):
    tools = TOOLS + [LOAD_TOOL]
    params = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == name)
    expected = {_expected_class(e) for e in jsonschema.Draft202012Validator(_closed_by_hand(params)).iter_errors(args)}
    s = score_answer(block(call(name, **args)), [], tools)   # a no-call turn: only the call's own checks
    got = set(s.failures) - {"extra_call"}
    assert got == expected, (args, s.details)
    assert bool(s.type_errors) == ("wrong_type" in expected)
    assert bool(s.hallucinated_arguments) == ("extra_argument" in expected)


def test_an_integral_float_for_an_integer_is_the_one_deliberate_difference():
    args = {"id": 1.0, "x": 0, "y": 0, "z": 3}
    assert jsonschema.Draft202012Validator(tool_by_name("POST /db/node")["function"]["parameters"]).is_valid(args)
    s = score_answer(block(call("POST /db/node", **args)), [], TOOLS)
    assert "wrong_type" in s.failures and s.type_errors == ["POST /db/node: id: expected integer, got float"]


def test_valid_json_is_compared_unpaired_when_the_two_runs_attempt_calls_on_other_examples():
    from loralab.evaluation.aggregate import compare_reports

    recs = [record([call("POST /db/node", id=i, x=0.0, y=0.0, z=3.0)]) for i in range(1, 5)]
    silent = aggregate([score_record(r, "I cannot.", TOOLS) for r in recs], ids=list("abcd"))
    calling = aggregate([score_record(r, block(r["messages"][1]["tool_calls"][0]["function"]), TOOLS) for r in recs],
                        ids=list("abcd"))
    rows = {row["metric"]: row for row in compare_reports(silent, calling, ["valid_json", "exact_call_accuracy"])}
    assert rows["exact_call_accuracy"]["test"] == "mcnemar"
    assert rows["valid_json"]["test"] == "z" and rows["valid_json"]["before"] is None
