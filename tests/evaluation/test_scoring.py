import io
import json
import unicodedata

import pytest

from loralab.evaluation.report_markdown import RATE_DENOMINATORS, render
from loralab.evaluation.aggregate import RATE_METRICS, aggregate, compare_reports
from loralab.evaluation.scoring import FAILURE_CLASSES, score_answer, values_equal


def tool(name: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": name,
        "parameters": {"type": "object", "properties": properties, "required": required}}}


TOOLS = [
    tool("POST /db/node", {
        "id": {"type": "integer"}, "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"},
        "label": {"type": "string", "default": ""},
    }, ["id", "x", "y", "z"]),
    tool("POST /db/load", {
        "node": {"type": "integer"}, "case": {"type": "string"},
        "loads": {"type": "object", "properties": {"fx": {"type": "number"}, "fy": {"type": "number"},
                                                    "fz": {"type": "number"}}},
        "unit": {"type": "string", "enum": ["kN", "N"], "default": "kN"},
    }, ["node", "case", "loads"]),
    tool("GET /db/nodes", {"ids": {"type": "array", "items": {"type": "integer"}}}, ["ids"]),
    tool("POST /db/loadcase", {
        "name": {"type": "string"}, "type": {"type": "string", "enum": ["D", "L", "W"]},
        "factor": {"type": "number", "default": 1.0},
    }, ["name", "type"]),
]


def call(tool_name: str, /, **arguments) -> dict:
    return {"name": tool_name, "arguments": arguments}


def block(c: dict) -> str:
    return "<tool_call>\n" + json.dumps(c, ensure_ascii=False) + "\n</tool_call>"


NODE = call("POST /db/node", id=1, x=0.0, y=0.0, z=3.5)
LOAD = call("POST /db/load", node=1, case="dead", loads={"fx": 0.0, "fy": 0.0, "fz": -10.0})


def test_exact_with_text_around_block():
    s = score_answer(f"Creating the node now.\n{block(NODE)}\nLet me know.", [NODE], TOOLS)
    assert s.exact and s.valid_json and s.has_call and s.tool_name_correct
    assert s.failures == []
    assert (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (4, 4, 4)
    assert s.text_outside == "Creating the node now.\nLet me know."


def test_swapped_calls_match_unordered_but_not_ordered():
    answer = block(LOAD) + "\n" + block(NODE)
    unordered = score_answer(answer, [NODE, LOAD], TOOLS)
    assert unordered.exact and unordered.failures == []
    ordered = score_answer(answer, [NODE, LOAD], TOOLS, ordered=True)
    assert not ordered.exact
    assert ordered.tool_name_correct  # same multiset of names, only the order differs
    assert ordered.failures == ["missing_call", "extra_call"]


def test_same_tool_twice_swapped_is_paired_by_value():
    a, b = call("GET /db/nodes", ids=[1]), call("GET /db/nodes", ids=[2])
    s = score_answer(block(b) + block(a), [a, b], TOOLS)
    assert s.exact and s.arg_tp == 2


def test_ordered_tolerates_an_extra_leading_call():
    extra = call("GET /db/nodes", ids=[9])
    s = score_answer(block(extra) + block(NODE) + block(LOAD), [NODE, LOAD], TOOLS, ordered=True)
    assert s.failures == ["extra_call"]
    assert [g["exact"] for g in s.per_gold] == [True, True]


def test_string_for_integer_is_wrong_type():
    s = score_answer(block(call("POST /db/node", id="5", x=0.0, y=0.0, z=3.5)),
                     [call("POST /db/node", id=5, x=0.0, y=0.0, z=3.5)], TOOLS)
    assert not s.exact
    assert s.failures == ["wrong_type"]
    assert s.type_errors and "id" in s.type_errors[0]
    assert (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (3, 4, 4)


def test_integral_float_for_integer_is_strict_like_bfcl():
    s = score_answer(block(call("POST /db/node", id=1.0, x=0.0, y=0.0, z=3.5)), [NODE], TOOLS)
    assert not s.exact and "wrong_type" in s.failures


def test_int_for_number_is_accepted_and_tolerance_is_tight():
    assert score_answer(block(call("POST /db/node", id=1, x=0, y=0, z=3.5)), [NODE], TOOLS).exact
    assert score_answer(block(call("POST /db/node", id=1, x=0, y=0, z=3.5000001)), [NODE], TOOLS).exact
    off = score_answer(block(call("POST /db/node", id=1, x=0, y=0, z=3.51)), [NODE], TOOLS)
    assert off.failures == ["wrong_value"]


def test_unknown_argument_key_is_hallucinated():
    s = score_answer(block(call("POST /db/node", id=1, x=0.0, y=0.0, z=3.5, colour="red")), [NODE], TOOLS)
    assert not s.exact
    assert s.failures == ["extra_argument"]
    assert s.hallucinated_arguments == ["POST /db/node: colour"]
    assert s.n_calls_hallucinated_args == 1
    assert (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (4, 5, 4)


def test_unknown_nested_key_is_hallucinated_with_its_path():
    loads = {"fx": 0.0, "fy": 0.0, "fz": -10.0, "mx": 1.0}
    s = score_answer(block(call("POST /db/load", node=1, case="dead", loads=loads)), [LOAD], TOOLS)
    assert s.hallucinated_arguments == ["POST /db/load: loads.mx"]
    assert "extra_argument" in s.failures and "wrong_value" in s.failures
    assert (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (5, 6, 5)


def test_unknown_tool():
    s = score_answer(block(call("DELETE /db/everything", confirm=True)), [NODE], TOOLS)
    assert s.hallucinated_tools == ["DELETE /db/everything"]
    assert s.failures == ["unknown_tool"]
    assert not s.tool_name_correct and not s.exact and s.n_known_calls == 0


def test_known_but_wrong_tool():
    s = score_answer(block(call("GET /db/nodes", ids=[1])), [NODE], TOOLS)
    assert s.failures == ["wrong_tool"] and not s.tool_name_correct
    assert s.per_gold[0]["name_ok"] is False


def test_korean_values_match_across_unicode_forms_and_spacing():
    gold = call("POST /db/loadcase", name="고정하중", type="D")
    assert score_answer(block(gold), [gold], TOOLS).exact
    decomposed = unicodedata.normalize("NFD", " 고정하중 ")
    assert decomposed != "고정하중"
    assert score_answer(block(call("POST /db/loadcase", name=decomposed, type="D")), [gold], TOOLS).exact
    wrong = score_answer(block(call("POST /db/loadcase", name="활하중", type="D")), [gold], TOOLS)
    assert wrong.failures == ["wrong_value"]


def test_strings_are_case_and_space_normalised_but_keep_punctuation():
    assert values_equal("  Dead   LOAD ", "dead load", {"type": "string"})
    assert not values_equal("1.5", "15", {"type": "string"})
    assert not values_equal("dead-load", "dead load", {"type": "string"})


def test_enum_violation_is_a_wrong_value_not_a_type_error():
    s = score_answer(block(call("POST /db/loadcase", name="wind", type="X")),
                     [call("POST /db/loadcase", name="wind", type="W")], TOOLS)
    assert s.failures == ["wrong_value"] and s.type_errors == [] and s.n_calls_type_errors == 0
    assert any("'X' not in ['D', 'L', 'W']" in d["message"] for d in s.details)


def test_truncated_answer_is_unclosed_and_misses_the_call():
    s = score_answer('<tool_call>\n{"name": "POST /db/node", "arguments": {"id": 1, "x"', [NODE], TOOLS)
    assert not s.valid_json and s.has_call and not s.missed_call
    assert s.failures == ["unclosed_block", "missing_call"]


def test_recovered_unclosed_call_is_never_exact():
    s = score_answer("<tool_call>\n" + json.dumps(NODE), [NODE], TOOLS)
    assert s.failures == ["unclosed_block"] and s.tool_name_correct and not s.exact


def test_trailing_garbage_is_invalid_json():
    s = score_answer("<tool_call>\n" + json.dumps(NODE) + " extra\n</tool_call>", [NODE], TOOLS)
    assert s.failures == ["invalid_json", "missing_call"]
    assert not s.valid_json and not s.exact and s.arg_n_gold == 4


def test_parameters_alias_scores_exact():
    text = '<tool_call>{"name": "POST /db/node", "parameters": {"id": 1, "x": 0, "y": 0, "z": 3.5}}</tool_call>'
    assert score_answer(text, [NODE], TOOLS).exact


def test_optional_argument_omitted_when_gold_is_default():
    gold = call("POST /db/loadcase", name="live", type="L", factor=1.0)
    s = score_answer(block(call("POST /db/loadcase", name="live", type="L")), [gold], TOOLS)
    assert s.exact and (s.arg_tp, s.arg_n_gold) == (2, 2)
    # Not the default: omitting it loses information.
    gold15 = call("POST /db/loadcase", name="live", type="L", factor=1.5)
    s = score_answer(block(call("POST /db/loadcase", name="live", type="L")), [gold15], TOOLS)
    assert s.failures == ["missing_argument"] and s.arg_n_gold == 3


def test_required_argument_omitted_is_missing():
    s = score_answer(block(call("POST /db/node", id=1, x=0.0, y=0.0)), [NODE], TOOLS)
    assert s.failures == ["missing_argument"]


def test_default_valued_optional_argument_not_in_gold_is_tolerated():
    gold = call("POST /db/loadcase", name="live", type="L")
    assert score_answer(block(call("POST /db/loadcase", name="live", type="L", factor=1)), [gold], TOOLS).exact
    s = score_answer(block(call("POST /db/loadcase", name="live", type="L", factor=2)), [gold], TOOLS)
    assert s.failures == ["extra_argument"]


def test_acceptable_alternatives_bfcl_style():
    gold = call("POST /db/load", node=1, case="dead", loads={"fx": 0.0, "fy": 0.0, "fz": -10.0})
    acceptable = [{"case": ["DL", "dead load"], "unit": ["kN", ""]}]
    for case in ("dead", "DL", "Dead Load"):
        answer = block(call("POST /db/load", node=1, case=case, loads=LOAD["arguments"]["loads"]))
        assert score_answer(answer, [gold], TOOLS, acceptable=acceptable).exact, case
    with_unit = block(call("POST /db/load", node=1, case="DL", unit="kN", loads=LOAD["arguments"]["loads"]))
    assert score_answer(with_unit, [gold], TOOLS, acceptable=acceptable).exact
    wrong = block(call("POST /db/load", node=1, case="live", loads=LOAD["arguments"]["loads"]))
    assert score_answer(wrong, [gold], TOOLS, acceptable=acceptable).failures == ["wrong_value"]


def test_nested_and_array_partial_credit_by_key_path():
    loads = {"fx": 0.0, "fy": 0.0, "fz": -12.0}
    s = score_answer(block(call("POST /db/load", node=1, case="dead", loads=loads)), [LOAD], TOOLS)
    assert s.failures == ["wrong_value"] and (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (4, 5, 5)
    s = score_answer(block(call("GET /db/nodes", ids=[1, 2])), [call("GET /db/nodes", ids=[1, 2, 3])], TOOLS)
    assert s.failures == ["wrong_value"] and (s.arg_tp, s.arg_n_pred, s.arg_n_gold) == (2, 2, 3)


def test_plain_text_gold_against_a_call_is_spurious():
    s = score_answer(block(NODE), [], TOOLS)
    assert s.spurious_call and not s.missed_call and not s.exact and not s.gold_has_call
    assert s.failures == ["extra_call"] and (s.arg_n_pred, s.arg_n_gold) == (4, 0)


def test_plain_text_gold_and_plain_answer_is_a_correct_irrelevance_turn_not_an_exact_call():
    s = score_answer("I cannot do that with the available tools.", [], TOOLS)
    assert s.kind == "irrelevance" and s.correct and s.failures == [] and s.outcome == "correct"
    assert not s.exact and not s.tool_name_correct and not s.spurious_call


def test_call_gold_against_plain_text_is_missed():
    s = score_answer("Which node do you mean?", [NODE], TOOLS)
    assert s.missed_call and not s.has_call and s.failures == ["missing_call"] and not s.exact
    claimed = score_answer("Node 1 is created.", [NODE], TOOLS)
    assert claimed.failures == ["claimed_without_call", "missing_call"] and claimed.outcome == "claimed_without_call"


def test_acceptable_must_align_with_gold_calls():
    with pytest.raises(ValueError):
        score_answer(block(NODE), [NODE], TOOLS, acceptable=[{}, {}])


def test_to_dict_is_json_serialisable():
    s = score_answer(block(call("POST /db/node", id="1", x=0, y=0, z=3.5, foo=1)), [NODE], TOOLS)
    data = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert data["failures"] == ["extra_argument", "wrong_type"]
    assert data["arg_precision"] == pytest.approx(3 / 5)


# ---------------------------------------------------------------- aggregate, by hand
def hand_set():
    bad_node = block(call("POST /db/node", id="1", x=0.0, y=0.0, z=3.5, colour="red"))
    rows = [  # (id, language, answer, gold)
        ("a", "en", block(NODE), [NODE]),
        ("b", "ko", bad_node, [NODE]),
        ("c", "en", "No tool needed.", []),
        ("d", "ko", block(NODE), []),
        ("e", "en", block(LOAD) + block(NODE), [NODE, LOAD]),
        ("f", "ko", "Done, node 1 exists.", [NODE]),
        ("g", "en", block(call("DELETE /db/everything", confirm=True)), [NODE]),
    ]
    scores = [score_answer(answer, gold, TOOLS) for _, _, answer, gold in rows]
    return scores, [r[0] for r in rows], [r[1] for r in rows]


def test_aggregate_numbers_by_hand():
    scores, ids, langs = hand_set()
    report = aggregate(scores, groups={"language": langs}, ids=ids, examples_per_failure=1)
    json.dumps(report)
    kn = {name: (r["k"], r["n"]) for name, r in report["rates"].items()}
    # call turns: a b e f g; no-call turns: c d (irrelevance); answers attempting a call: a b d e g
    assert kn == {
        "valid_json": (5, 5), "tool_name_accuracy": (3, 5), "exact_call_accuracy": (2, 5),
        "irrelevance_accuracy": (1, 2), "clarification_accuracy": (0, 0), "turn_accuracy": (3, 7),
        "relevance": (4, 5), "multi_call_exact": (1, 1),
        "hallucinated_tool_rate": (1, 6), "hallucinated_argument_rate": (1, 5), "type_error_rate": (1, 5),
        "missed_call_rate": (1, 5), "spurious_call_rate": (1, 2),
    }
    assert report["rates"]["exact_call_accuracy"]["value"] == pytest.approx(2 / 5)
    lo, hi = report["rates"]["exact_call_accuracy"]["ci95"]
    assert lo < 2 / 5 < hi
    assert report["rates"]["clarification_accuracy"]["value"] is None
    args = report["arguments"]
    assert (args["tp"], args["n_pred"], args["n_gold"]) == (16, 23, 25)
    assert args["f1"] == pytest.approx(2 * (16 / 23) * (16 / 25) / (16 / 23 + 16 / 25))

    node, load = report["per_tool"]["POST /db/node"], report["per_tool"]["POST /db/load"]
    assert node["n"] == 5 and (node["exact"]["k"], node["name_accuracy"]["k"]) == (2, 3)
    assert node["arg_precision"] == pytest.approx(11 / 14) and node["arg_recall"] == pytest.approx(11 / 20)
    assert load["n"] == 1 and load["exact"]["value"] == 1.0 and load["arg_f1"] == 1.0

    lang = report["groups"]["language"]
    assert (lang["en"]["n"], lang["en"]["turn_accuracy"]["k"]) == (4, 3)
    assert (lang["en"]["exact_call_accuracy"]["k"], lang["en"]["exact_call_accuracy"]["n"]) == (2, 3)
    assert (lang["ko"]["n"], lang["ko"]["exact_call_accuracy"]["k"], lang["ko"]["exact_call_accuracy"]["n"]) == (3, 0, 2)
    assert lang["ko"]["tool_name_accuracy"]["k"] == 1

    counts = {k: v["count"] for k, v in report["failures"].items()}
    assert counts == {"empty_answer": 0, "untagged_call": 0, "claimed_without_call": 1, "invalid_json": 0,
                      "unclosed_block": 0, "unknown_tool": 1, "wrong_tool": 0, "missing_argument": 0,
                      "extra_argument": 1, "wrong_type": 1, "wrong_value": 0, "missing_call": 1, "extra_call": 1,
                      "missing_clarification": 0}
    # every example's outcome is kept, so a paired comparison can be recomputed from eval.json
    assert [(e["id"], e["kind"], e["outcome"], e["exact"]) for e in report["examples"]] == [
        ("a", "call", "correct", True), ("b", "call", "extra_argument", False), ("c", "irrelevance", "correct", False),
        ("d", "irrelevance", "extra_call", False), ("e", "call", "correct", True),
        ("f", "call", "claimed_without_call", False), ("g", "call", "unknown_tool", False)]
    example = report["failures"]["unknown_tool"]["examples"][0]
    assert example["id"] == "g" and "DELETE" in example["answer"] and example["gold"] == [NODE]


def test_aggregate_rejects_misaligned_groups():
    scores, _, _ = hand_set()
    with pytest.raises(ValueError):
        aggregate(scores, groups={"language": ["en"]})


def test_compare_reports_flags_only_real_differences():
    good = [score_answer(block(NODE), [NODE], TOOLS)] * 90 + [score_answer("no", [NODE], TOOLS)] * 10
    bad = [score_answer(block(NODE), [NODE], TOOLS)] * 10 + [score_answer("no", [NODE], TOOLS)] * 90
    rows = {r["metric"]: r for r in compare_reports(aggregate(bad), aggregate(good))}
    assert set(rows) <= set(RATE_METRICS)
    exact = rows["exact_call_accuracy"]
    assert exact["before"] == pytest.approx(0.1) and exact["after"] == pytest.approx(0.9)
    assert exact["delta"] == pytest.approx(0.8) and exact["significant"] is True
    same = compare_reports(aggregate(good), aggregate(good), metrics=["exact_call_accuracy"])
    assert same[0]["significant"] is False and same[0]["delta"] == 0
    with pytest.raises(KeyError):
        compare_reports(aggregate(good), aggregate(good), metrics=["nope"])


def test_reports_on_the_same_examples_are_compared_pairwise():
    scores, ids, _ = hand_set()
    report = aggregate(scores, ids=ids)
    # every per-answer rate is counted from its outcome string, one mark per answer
    for metric, marks in report["outcomes"]["marks"].items():
        assert len(marks) == len(scores)
        assert (marks.count("1"), len(marks) - marks.count(".")) == (
            report["rates"][metric]["k"], report["rates"][metric]["n"]), metric
    assert report["outcomes"]["marks"]["irrelevance_accuracy"] == "..10..."
    # 40 shared examples; the second run fixes 7 answers and breaks none
    right, wrong = score_answer(block(NODE), [NODE], TOOLS), score_answer("no", [NODE], TOOLS)
    ex_ids = [f"t{i}" for i in range(40)]
    before = aggregate([right] * 20 + [wrong] * 20, ids=ex_ids)
    after = aggregate([right] * 27 + [wrong] * 13, ids=ex_ids)
    row = compare_reports(before, after, metrics=["exact_call_accuracy"])[0]
    assert row["test"] == "mcnemar" and row["significant"] is True and row["delta"] == pytest.approx(7 / 40)
    # other examples, no ids, or the same ids with other gold answers: unpaired, and 50 vs 67.5 % is noise
    for other in (aggregate([right] * 27 + [wrong] * 13, ids=[f"u{i}" for i in range(40)]),
                  aggregate([right] * 27 + [wrong] * 13)):
        row = compare_reports(before, other, metrics=["exact_call_accuracy"])[0]
        assert row["test"] == "z" and row["significant"] is False
    # a regenerated data set that reuses the ids for other requests
    load = call("POST /db/load", node=1, case="D", loads={"fz": -10})
    regolded = aggregate([right] * 27 + [score_answer(block(load), [load], TOOLS)] * 13, ids=ex_ids)
    assert compare_reports(before, regolded, metrics=["exact_call_accuracy"])[0]["test"] == "z"


def test_markdown_names_every_metric_and_failure_class():
    scores, ids, langs = hand_set()
    report = aggregate(scores, groups={"language": langs}, ids=ids)
    md = render(report, "Base vs LoRA", comparison=compare_reports(report, report))
    assert md.startswith("# Base vs LoRA")
    for name in list(RATE_METRICS) + list(FAILURE_CLASSES) + ["argument_precision", "argument_recall", "argument_f1"]:
        assert name in md, name
    assert set(RATE_DENOMINATORS) == set(RATE_METRICS)
    assert "`POST /db/node`" in md and "## By language" in md and "## Comparison" in md
    assert "McNemar (paired)" in md   # a report compared with itself shares every example
    assert "not training randomness: compare several seeds" in md
    assert "DELETE /db/everything" in md  # failure example rendered
    # Fences stay balanced even when the answer itself contains backticks.
    s = score_answer("```\n" + block(call("X", a=1)) + "\n```", [NODE], TOOLS)
    md2 = render(aggregate([s]), "fences")
    assert "````" in md2


def test_terminal_comparison_fits_80_columns_without_cutting_words(monkeypatch):
    from rich.console import Console
    from loralab.evaluation import tables
    scores, ids, _ = hand_set()
    report = aggregate(scores, ids=ids)
    rows = compare_reports(report, report) + compare_reports(report, aggregate(scores))   # paired, then z
    screen = Console(width=80, record=True, file=io.StringIO())
    monkeypatch.setattr(tables, "console", screen)
    tables.print_comparison(rows, "run vs run")
    text = screen.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= 80
    assert "McNemar" in text and " z " in text and "hallucinated_argument_rate" in text
    assert "not training randomness" in " ".join(text.split())   # the caption wraps
