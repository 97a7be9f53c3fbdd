"""read_records on real files: every container and row form, and errors that name file and line."""

from __future__ import annotations

import csv
import errno
import json
import os
from pathlib import Path

import pytest

from loralab.data.files import read_records
from loralab.errors import DataError

CHAT = [{"role": "user", "content": "노드 1번을 만들어 줘"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"type": "function", "function": {"name": "POST /db/node", "arguments": {"id": 1}}}]}]
TOOLS = [{"type": "function", "function": {"name": "POST /db/node", "parameters": {"type": "object"}}}]
PC = {"prompt": "Translate: hello", "completion": "안녕하세요"}
PC_CHAT = {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
           "completion": [{"role": "assistant", "content": "Hello."}]}
TEXT = {"text": "Beams carry loads between nodes."}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in row.items()})
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


# ---- containers and forms -------------------------------------------------------------------

def test_jsonl_messages_with_tools(tmp_path):
    recs = read_records(write_jsonl(tmp_path / "train.jsonl", [{"messages": CHAT, "tools": TOOLS},
                                                               {"messages": CHAT}]))
    assert recs == [{"messages": CHAT, "tools": TOOLS}, {"messages": CHAT, "tools": None}]


def test_jsonl_skips_blank_lines_and_reads_a_utf8_bom(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(TEXT) + "\n\n   \n" + json.dumps(PC) + "\n").encode())
    assert read_records(path) == [TEXT, PC]


def test_json_array_in_all_forms(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps([{"messages": CHAT}, PC, PC_CHAT, TEXT], ensure_ascii=False, indent=2),
                    encoding="utf-8")
    recs = read_records(path)
    assert recs[0] == {"messages": CHAT, "tools": None}
    assert recs[1] == {"prompt": PC["prompt"], "completion": PC["completion"]}
    # conversational prompt-completion becomes one conversation
    assert recs[2] == {"messages": PC_CHAT["prompt"] + PC_CHAT["completion"], "tools": None}
    assert recs[3] == TEXT


def test_parquet_messages(tmp_path):
    rows = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]},
            {"messages": [{"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Bye."}]}]
    recs = read_records(write_parquet(tmp_path / "train.parquet", rows))
    assert [r["messages"] for r in recs] == [row["messages"] for row in rows]


def test_parquet_prompt_completion_and_text(tmp_path):
    assert read_records(write_parquet(tmp_path / "pc.parquet", [PC, PC])) == [PC, PC]
    assert read_records(write_parquet(tmp_path / "text.parquet", [TEXT])) == [TEXT]


def test_parquet_tools_as_a_json_string_are_decoded(tmp_path):
    # Arrow cannot hold per-row schemas with varying keys, so tools often travel as a JSON string
    row = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
           "tools": json.dumps(TOOLS)}
    assert read_records(write_parquet(tmp_path / "t.parquet", [row]))[0]["tools"] == TOOLS


def test_csv_messages_as_json_cells(tmp_path):
    recs = read_records(write_csv(tmp_path / "train.csv", [{"messages": CHAT, "tools": TOOLS}]))
    assert recs == [{"messages": CHAT, "tools": TOOLS}]


def test_csv_prompt_completion_and_text(tmp_path):
    assert read_records(write_csv(tmp_path / "pc.csv", [PC, {"prompt": "a, b", "completion": "c\nd"}])) == \
        [PC, {"prompt": "a, b", "completion": "c\nd"}]
    assert read_records(write_csv(tmp_path / "text.csv", [TEXT])) == [TEXT]


def test_csv_plain_text_that_only_looks_like_json_stays_text(tmp_path):
    recs = read_records(write_csv(tmp_path / "t.csv", [{"text": "{not json} but prose"}]))
    assert recs == [{"text": "{not json} but prose"}]


def test_csv_with_excel_bom(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfprompt,completion\nHi,Hello\n")
    assert read_records(path) == [{"prompt": "Hi", "completion": "Hello"}]


# ---- errors name the file and the line -------------------------------------------------------

def test_malformed_json_line_names_path_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(TEXT) + "\n" + json.dumps(PC) + '\n{"text": "unterminated\n', encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON") as err:
        read_records(path)
    assert f"{path}:3" in str(err.value)


def test_malformed_json_array_names_the_line(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": "b",}\n]', encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON") as err:
        read_records(path)
    assert f"{path}:3" in str(err.value)


def test_missing_messages_lists_the_rows_keys(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [TEXT, {"input": "Hi", "output": "Hello"}])
    with pytest.raises(DataError) as err:
        read_records(path)
    message = str(err.value)
    assert f"{path}:2" in message and "missing 'messages'" in message
    assert "['input', 'output']" in message


def test_unknown_role_names_the_row_message_and_role(tmp_path):
    bad = [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Hello"}]
    path = write_jsonl(tmp_path / "train.jsonl", [{"messages": CHAT}, {"messages": CHAT}, {"messages": bad}])
    with pytest.raises(DataError) as err:
        read_records(path)
    message = str(err.value)
    assert f"{path}:3" in message and "messages[1].role = 'bot'" in message
    assert "'assistant'" in message  # the allowed roles are listed


def test_no_assistant_turn(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"messages": [{"role": "user", "content": "Hi"}]}])
    with pytest.raises(DataError, match="no assistant turn") as err:
        read_records(path)
    assert f"{path}:1" in str(err.value)


def test_no_assistant_turn_in_a_parquet_names_the_row(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", [{"messages": [{"role": "user", "content": "Hi"}]}])
    with pytest.raises(DataError, match="no assistant turn") as err:
        read_records(path)
    assert f"{path} row 1" in str(err.value)


def test_message_without_content_or_tool_calls(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"messages": [{"role": "user", "content": "Hi"},
                                                                {"role": "assistant"}]}])
    with pytest.raises(DataError, match=r"messages\[1\] \(assistant\) has no 'content'"):
        read_records(path)


def test_mixed_prompt_completion_types_are_rejected(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"prompt": "Hi", "completion": [{"role": "assistant",
                                                                                  "content": "x"}]}])
    with pytest.raises(DataError, match="both be strings or both message lists"):
        read_records(path)


def test_empty_text_is_rejected(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"text": "   "}])
    with pytest.raises(DataError, match=f"{path}:1: 'text' must be a non-empty string"):
        read_records(path)


def test_non_object_row(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [["user", "hi"]])
    with pytest.raises(DataError, match="must be a JSON object, got list"):
        read_records(path)


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "train.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="is empty") as err:
        read_records(path)
    assert str(path) in str(err.value)


def test_empty_json_array(tmp_path):
    path = tmp_path / "train.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match="holds no rows"):
        read_records(path)


def test_directory_path(tmp_path):
    with pytest.raises(DataError, match="is a directory") as err:
        read_records(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(DataError, match="does not exist") as err:
        read_records(path)
    assert str(path) in str(err.value)


def test_non_utf8_bytes_name_the_line_and_suggest_iconv(tmp_path):
    path = tmp_path / "train.jsonl"
    korean = json.dumps({"text": "노드 1번을 만들어 줘"}, ensure_ascii=False)
    path.write_bytes(json.dumps(TEXT).encode("utf-8") + b"\n" + korean.encode("cp949") + b"\n")
    with pytest.raises(DataError, match="not valid UTF-8") as err:
        read_records(path)
    message = str(err.value)
    assert f"{path}:2:" in message and "iconv -f cp949" in message


def _unreadable_message(path: Path, monkeypatch) -> str:
    if os.geteuid() == 0:
        # root reads anything regardless of mode bits: simulate the OS refusing the read
        original = Path.read_bytes

        def refuse(self: Path) -> bytes:
            if self == path:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return original(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)
    else:
        path.chmod(0)
    try:
        with pytest.raises(DataError) as err:
            read_records(path)
    finally:
        path.chmod(0o644)
    return str(err.value)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "train.jsonl", [TEXT])
    message = _unreadable_message(path, monkeypatch)
    assert f"{path} is not readable" in message
    assert os.strerror(errno.EACCES) in message and "chmod" in message


def test_csv_row_with_an_empty_tools_cell_has_no_tools(tmp_path):
    path = write_csv(tmp_path / "train.csv", [{"messages": CHAT, "tools": TOOLS}, {"messages": CHAT, "tools": ""}])
    assert read_records(path) == [{"messages": CHAT, "tools": TOOLS}, {"messages": CHAT, "tools": None}]


def test_tools_string_that_is_not_json_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"messages": CHAT}, {"messages": CHAT, "tools": "[{bad"}])
    with pytest.raises(DataError) as err:
        read_records(path)
    assert f"{path}:2" in str(err.value) and "tools" in str(err.value)


# ---- every problem at once, each named by its line --------------------------------------------

def test_every_invalid_row_is_listed_and_reading_continues_past_bad_json(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join([json.dumps(TEXT), '{"text": "unterminated', json.dumps({"input": "x"}),
                               json.dumps(PC), json.dumps({"text": ""})]) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_records(path)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("3 data problems")
    assert [line.split(": ", 1)[0].strip() for line in lines[1:]] == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_problems_are_capped_but_counted(tmp_path):
    from loralab.data.files import MAX_LISTED

    path = write_jsonl(tmp_path / "train.jsonl", [{"input": i} for i in range(MAX_LISTED + 7)])
    with pytest.raises(DataError) as err:
        read_records(path)
    message = str(err.value)
    assert message.startswith(f"{MAX_LISTED + 7} data problems") and message.endswith("... and 7 more")
    assert len(message.splitlines()) == 1 + MAX_LISTED + 1


def test_read_file_collects_problems_and_returns_the_valid_rows_with_their_lines(tmp_path):
    from loralab.data.files import DataProblems, read_file

    path = write_jsonl(tmp_path / "train.jsonl", [TEXT, {"input": "x"}, PC])
    problems = DataProblems()
    assert read_file(path, problems) == [(f"{path}:1", TEXT), (f"{path}:3", PC)]
    assert problems.count == 1 and problems.messages[0].startswith(f"{path}:2: missing 'messages'")


def test_json_array_rows_are_named_by_the_line_they_start_on(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('[\n  {"text": "a"},\n  {"text":\n    "b"},\n\n  {"input": "c"}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_records(path)
    assert str(err.value).startswith(f"{path}:6: missing 'messages'")


@pytest.mark.parametrize("content,message", [
    ('[{"text": "a"} {"text": "b"}]', "expected ',' or ']'"),
    ('[{"text": "a"}] trailing', "extra data after the array"),
])
def test_json_array_structure_errors(tmp_path, content, message):
    path = tmp_path / "train.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        read_records(path)
    assert f"{path}:1: invalid JSON" in str(err.value)


def test_a_json_file_holding_one_pretty_printed_object_is_refused_once(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"rows": [TEXT]}, indent=2), encoding="utf-8")
    with pytest.raises(DataError, match="holds one JSON dict, not rows") as err:
        read_records(path)
    assert "\n" not in str(err.value)


def test_csv_rows_are_named_by_their_first_line_even_after_multiline_cells(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,x\n"multi\nline",1\n"",2\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_records(path)
    assert str(err.value) == f"{path}:4: 'text' must be a non-empty string"
