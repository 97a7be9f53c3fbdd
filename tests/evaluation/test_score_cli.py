"""``loralab-eval score``: answers made elsewhere, scored end to end without a model, and every kind
of bad input refused with the file and line named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loralab.tasks.gennx.tools import TOOLS
from loralab.cli.evaluate import main


def call(name: str, /, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def block(c: dict) -> str:
    return "<tool_call>\n" + json.dumps(c, ensure_ascii=False) + "\n</tool_call>"


NODE = call("POST /db/node", id=5, x=0.0, y=0.0, z=3.0)
CASE, LOAD = call("POST /db/stld", name="DL", type="dead"), call("POST /db/cnld", lcase="DL", node=3, fz=-10.0)


def row(id_, user, gold, **fields):
    answer = ({"role": "assistant", "content": gold} if isinstance(gold, str) else
              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": c} for c in gold]})
    return {"id": id_, "messages": [{"role": "user", "content": user}, answer], **fields}


TEST_ROWS = [
    row("t1", "create node 5 at (0, 0, 3)", [NODE], category="single"),
    row("t2", "case DL (dead), then fz -10 kN at node 3", [CASE, LOAD], category="multi", ordered=True,
        acceptable=[{}, {"fx": [0.0, ""]}]),
    row("t3", "what's the weather?", "I can only help with GEN NX modelling.", category="irrelevant"),
    row("t4", "fz -10 kN at node 3", "Which load case should it go into?", category="clarify",
        missing_arguments={"POST /db/cnld": ["lcase"]}),
]
GOOD_ANSWERS = [
    {"id": "t1", "answer": block(NODE)},
    # an OpenAI message, arguments as a JSON string, with an acceptable extra fx=0
    {"id": "t2", "message": {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": CASE["name"], "arguments": json.dumps(CASE["arguments"])}},
        {"type": "function", "function": {"name": LOAD["name"], "arguments": {**LOAD["arguments"], "fx": 0}}}]}},
    {"id": "t3", "answer": "Sorry, I can only help with the GEN NX model."},
    {"id": "t4", "answer": "Which load case (DL or LL)?"},
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path):
    test = write_jsonl(tmp_path / "test.jsonl", TEST_ROWS)
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(TOOLS), encoding="utf-8")
    return tmp_path, test, tools


def score(tmp_path, test, tools, answers, out="out", *extra):
    return main(["score", "--answers", str(answers), "--test-file", str(test), "--tools-file", str(tools),
                 "--out", str(tmp_path / out), *extra])


def test_answers_made_elsewhere_are_scored_into_the_usual_files(files, capsys):
    tmp_path, test, tools = files
    answers = write_jsonl(tmp_path / "answers.jsonl", GOOD_ANSWERS)
    assert score(tmp_path, test, tools, answers) == 0
    out = tmp_path / "out"
    payload = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    report = payload["splits"]["test"]["fine_tuned"]["report"]
    rates = {k: (v["k"], v["n"]) for k, v in report["rates"].items()}
    assert rates["exact_call_accuracy"] == (2, 2) and rates["irrelevance_accuracy"] == (1, 1)
    assert rates["clarification_accuracy"] == (1, 1) and rates["valid_json"] == (2, 2)
    assert [(e["id"], e["kind"], e["correct"]) for e in report["examples"]] == [
        ("t1", "call", True), ("t2", "call", True), ("t3", "irrelevance", True), ("t4", "clarification", True)]
    assert report["groups"]["category"]["multi"]["n"] == 1
    assert payload["scored"]["format"] == "hermes"
    lines = [json.loads(x) for x in (out / "eval_answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in lines] == ["t1", "t2", "t3", "t4"] and lines[1]["answer"].startswith('{"role"')
    assert "clarification_accuracy" in (out / "eval.md").read_text(encoding="utf-8")
    assert "wrote" in capsys.readouterr().out

    # the same scorer's strict rules apply: silence, a claim, the load before its case, bare JSON
    worse = write_jsonl(tmp_path / "worse.jsonl", [
        {"id": "t1", "answer": json.dumps(NODE)},
        {"id": "t2", "answer": block(LOAD) + block(CASE)},
        {"id": "t3", "answer": "Done: node 5 was created"},
        {"id": "t4", "message": {"role": "assistant", "content": ""}},
    ])
    assert score(tmp_path, test, tools, worse) == 0   # an earlier score output is replaced
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))["splits"]["test"]["fine_tuned"]["report"]
    assert [e["outcome"] for e in report["examples"]] == ["untagged_call", "missing_call", "claimed_without_call",
                                                          "empty_answer"]
    # --against: both score outputs answer the same examples, so the comparison is paired
    assert score(tmp_path, test, tools, answers, "out2", "--against", str(out)) == 0
    assert "McNemar" in capsys.readouterr().out


def test_the_score_path_imports_no_torch(files):
    tmp_path, test, tools = files
    answers = write_jsonl(tmp_path / "answers.jsonl", GOOD_ANSWERS)
    code = ("import sys; from loralab.cli.evaluate import main; "
            f"rc = main(['score', '--answers', {str(answers)!r}, '--test-file', {str(test)!r}, "
            f"'--tools-file', {str(tools)!r}, '--out', {str(tmp_path / 'o')!r}]); "
            "assert rc == 0, rc; assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("lines,says", [
    ([GOOD_ANSWERS[0], {"answer": "x"}, *GOOD_ANSWERS[1:]], "answers.jsonl:2: no 'id'"),
    ([*GOOD_ANSWERS, {"id": "t9", "answer": "x"}], "answers.jsonl:5: id 't9' is not in the test file"),
    ([*GOOD_ANSWERS, {"id": "t1", "answer": "x"}], "answers.jsonl:5: id 't1' is answered twice (first on line 1)"),
    ([*GOOD_ANSWERS[:2], '{"id": "t3", "answer": ', GOOD_ANSWERS[3]], "answers.jsonl:3: not valid JSON"),
    ([*GOOD_ANSWERS[:3], {"id": "t4"}], "answers.jsonl:4: give exactly one of 'answer'"),
    ([*GOOD_ANSWERS[:3], {"id": "t4", "message": {"tool_calls": [{"name": "x"}]}}],
     "answers.jsonl:4: 'message.tool_calls[0]' must be an object with a 'function' object"),
    (GOOD_ANSWERS[:3], "answers.jsonl: no answer for 1 of the 4 rows of"),
])
def test_bad_answer_files_are_refused_naming_the_file_and_line(files, capsys, lines, says):
    tmp_path, test, tools = files
    answers = write_jsonl(tmp_path / "answers.jsonl", lines)
    assert score(tmp_path, test, tools, answers) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()   # nothing is written from bad input


def test_bad_test_files_are_refused_naming_the_row(files, capsys):
    tmp_path, _, tools = files
    answers = write_jsonl(tmp_path / "answers.jsonl", GOOD_ANSWERS)
    no_id = {k: v for k, v in TEST_ROWS[0].items() if k != "id"}
    bad_gold = row("t5", "node", [call("POST /db/node", id=5, x=0.0, y=0.0)])
    test = write_jsonl(tmp_path / "bad.jsonl", [no_id, TEST_ROWS[1], TEST_ROWS[1], bad_gold])
    assert score(tmp_path, test, tools, answers) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "bad.jsonl:1: the row has no 'id'" in err
    assert "bad.jsonl:3: id 't2' is already used at" in err
    assert "bad.jsonl:4: gold tool call does not fit the tool schema" in err and "'z'" in err


def test_a_non_empty_out_that_is_not_a_score_output_is_never_touched(files, capsys):
    tmp_path, test, tools = files
    answers = write_jsonl(tmp_path / "answers.jsonl", GOOD_ANSWERS)
    run = tmp_path / "out"
    run.mkdir()
    (run / "eval.json").write_text('{"mine": true}', encoding="utf-8")
    assert score(tmp_path, test, tools, answers) == 2
    assert "is not an earlier `loralab-eval score` output" in " ".join(capsys.readouterr().err.split())
    assert (run / "eval.json").read_text(encoding="utf-8") == '{"mine": true}'
    assert sorted(p.name for p in run.iterdir()) == ["eval.json"]


def test_the_word_score_is_the_subcommand_and_a_run_dir_still_works(monkeypatch, capsys):
    from loralab.cli import evaluate

    with pytest.raises(SystemExit) as exit_:
        main(["score"])
    assert exit_.value.code == 2 and "--answers" in capsys.readouterr().err
    seen, parse_args = [], evaluate.parse_args

    def run_dir_path(argv):   # stop where the run-directory evaluation would open the run
        seen.append(parse_args(argv).run_dir)
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "parse_args", run_dir_path)
    for argv in (["experiments/run-1", "--kind", "base"], ["./score"], ["runs/score"]):
        with pytest.raises(KeyboardInterrupt):
            main(argv)
    assert seen == ["experiments/run-1", "./score", "runs/score"]
