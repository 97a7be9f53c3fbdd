"""Field templates: rows of any fields (seed 003's {"question", "answer"}) rendered to prompt/completion,
from every container, with the loss on the answer only and errors that name file, line and field."""

from __future__ import annotations

import itertools
import json

import pytest

import loralab
from compose_helpers import refusal
from loralab.errors import ConfigError
from loralab.data.files import FieldTemplate, read_records, template_fields
from loralab.errors import DataError
from loralab.data.pipeline import load_splits, tokenize_split

from .test_files import write_csv, write_jsonl, write_parquet

EOT = "<|im_end|>"
QA = [{"question": "노드 1번을 (0, 0, 3.5)에 만들려면?", "answer": "POST /db/node 로 id=1, z=3.5 를 보냅니다."},
      {"question": "보는 무엇을 잇나요?", "answer": "두 절점을 잇습니다.", "source": "manual p.3"}]
SEED_003 = FieldTemplate("### 질문: {question}\n\n### 답변:", " {answer}")


def expected(row: dict) -> dict:
    return {"prompt": f"### 질문: {row['question']}\n\n### 답변:", "completion": f" {row['answer']}"}


def write_array(path, rows):
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


WRITERS = {"json": write_array, "jsonl": write_jsonl, "parquet": write_parquet, "csv": write_csv}


def files_cfg(tiny_model_dir, path, *extra):
    return loralab.compose(["model.source=hub", f"model.name_or_path='{tiny_model_dir}'", "data=qa-template",
                            f"data.train_file='{path}'", "data.split=files", *extra])


# ---- rendering -------------------------------------------------------------------------------

@pytest.mark.parametrize("container", sorted(WRITERS))
def test_every_container_renders_korean_rows_to_prompt_completion(tmp_path, container):
    rows = [{"question": q["question"], "answer": q["answer"]} for q in QA]  # same columns for Parquet/CSV
    path = WRITERS[container](tmp_path / f"train.{container}", rows)
    assert read_records(path, SEED_003) == [expected(r) for r in rows]


def test_extra_fields_are_ignored_and_values_are_not_decoded_from_csv(tmp_path):
    path = write_csv(tmp_path / "t.csv", [{"question": "[1, 2]", "answer": "{\"id\": 1}", "note": "x"}])
    # with a template every cell is the user's text: a cell that looks like JSON stays as written
    assert read_records(path, SEED_003) == [{"prompt": "### 질문: [1, 2]\n\n### 답변:", "completion": ' {"id": 1}'}]


def test_format_specs_index_access_and_literal_braces(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"q": "2/3?", "score": 0.6667, "meta": {"lang": "ko"}, "a": "0.67"}])
    template = FieldTemplate("[{meta[lang]}] {{q}} {q} ({score:.2f})", "{a}")
    assert read_records(path, template) == [{"prompt": "[ko] {q} 2/3? (0.67)", "completion": "0.67"}]


def test_chat_format_makes_a_user_and_an_assistant_turn(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", QA[:1])
    template = FieldTemplate("{question}", "{answer}", chat=True)
    assert read_records(path, template) == [{"messages": [{"role": "user", "content": QA[0]["question"]},
                                                          {"role": "assistant", "content": QA[0]["answer"]}],
                                             "tools": None}]


def test_template_fields():
    assert template_fields("### 질문: {question}\n\n### 답변: {answer} {question} {meta[lang]} {x.y}") == \
        ["question", "answer", "meta", "x"]
    assert template_fields("no fields, {{literal}}") == []
    for bad in ("{}", "{0}", "{question"):
        with pytest.raises(ValueError):
            template_fields(bad)


# ---- errors ----------------------------------------------------------------------------------

def test_missing_field_names_file_line_field_and_the_rows_fields(tmp_path):
    rows = [QA[0], {"question": "답이 없는 질문", "response": "다른 이름"}, QA[1], {"answer": "질문이 없음"}]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(DataError) as err:
        read_records(path, SEED_003)
    message = str(err.value)
    # every invalid row is listed, not only the first
    assert message.startswith("2 data problems")
    assert (f"{path}:2: field 'answer' used by data.completion_template is missing; "
            "the row has fields ['question', 'response']") in message
    assert f"{path}:4: field 'question' used by data.prompt_template is missing; the row has fields ['answer']" \
        in message


def test_null_and_empty_values(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"question": "q", "answer": None}, {"question": "q", "answer": " "}])
    with pytest.raises(DataError) as err:
        read_records(path, FieldTemplate("{question}", "{answer}"))
    message = str(err.value)
    assert f"{path}:1: field 'answer' used by data.completion_template is missing; the row has fields ['question']" \
        in message
    assert f"{path}:2: data.completion_template renders to empty text" in message


def test_json_array_rows_are_named_by_line(tmp_path):
    path = write_array(tmp_path / "SFTlabel.json", [QA[0], {"question": "q"}])
    with pytest.raises(DataError) as err:
        read_records(path, SEED_003)
    # indent=2: "[", then row 1 spans lines 2-5, row 2 starts on line 6
    assert str(err.value).startswith(f"{path}:6: field 'answer'")


def test_csv_row_without_the_column_names_the_header_fields(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("question,answer\n\"multi\nline\",yes\nonly-a-question\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_records(path, SEED_003)
    assert str(err.value) == (f"{path}:4: field 'answer' used by data.completion_template is missing; "
                              "the row has fields ['question']")


# ---- tokenization: the loss covers the answer and the end token only --------------------------

def masked_spans(tokenizer, ids, mask) -> list[str]:
    spans, pos = [], 0
    for flag, run in itertools.groupby(mask):
        n = len(list(run))
        if flag:
            spans.append(tokenizer.decode(ids[pos:pos + n], skip_special_tokens=False))
        pos += n
    return spans


def test_text_format_trains_the_answer_only_without_the_chat_template(tmp_path, tiny_model_dir, tokenizer):
    path = write_array(tmp_path / "SFTlabel.json", QA)
    cfg = files_cfg(tiny_model_dir, path)
    splits = load_splits(cfg.data)
    assert splits.records["train"] == [expected(r) for r in QA]
    assert splits.locations["train"] == [f"{path}:2", f"{path}:6"]
    row = tokenize_split(splits.records["train"], tokenizer, cfg.data, None, 512, "train").dataset[0]
    ids, mask = row["input_ids"], row["assistant_masks"]
    assert mask == sorted(mask)  # prompt (0s), then the completion (1s) to the end
    assert masked_spans(tokenizer, ids, mask) == [f" {QA[0]['answer']}{EOT}"]
    assert ids[-1] == tokenizer.convert_tokens_to_ids(EOT)
    # the raw template is the whole input: no chat markers, no system turn
    assert tokenizer.decode(ids, skip_special_tokens=False) == \
        f"### 질문: {QA[0]['question']}\n\n### 답변: {QA[0]['answer']}{EOT}"


def test_chat_format_masks_the_assistant_turn(tmp_path, tiny_model_dir, tokenizer):
    path = write_jsonl(tmp_path / "qa.jsonl", QA)
    cfg = files_cfg(tiny_model_dir, path, "data.template_format=chat", "data.prompt_template='{question}'",
                    "data.completion_template='{answer}'", "data.system_prompt=Answer in Korean.")
    records = load_splits(cfg.data).records["train"]
    row = tokenize_split(records, tokenizer, cfg.data, None, 512, "train").dataset[1]
    ids, mask = row["input_ids"], row["assistant_masks"]
    assert masked_spans(tokenizer, ids, mask) == [QA[1]["answer"] + EOT]
    prompt = tokenizer.decode([i for i, m in zip(ids, mask) if not m], skip_special_tokens=False)
    assert prompt.startswith("<|im_start|>system\nAnswer in Korean.<|im_end|>\n<|im_start|>user\n보는 무엇을")


# ---- config ----------------------------------------------------------------------------------

def test_the_seed_003_preset(tmp_path):
    cfg = loralab.compose(["data=qa-template", "data.train_file=SFTlabel.json"])
    assert (cfg.data.prompt_template, cfg.data.completion_template) == ("### 질문: {question}\n\n### 답변:", " {answer}")
    assert (cfg.data.template_format, cfg.data.split, list(cfg.data.split_ratios)) == ("text", "ratios", [0.8, 0.1, 0.1])


def problems(overrides: list[str]) -> dict[str, str]:
    with pytest.raises(ConfigError) as err:
        loralab.compose(["data=files", "data.train_file=t.jsonl", *overrides])
    return {p.field: p.fix for p in err.value.problems}


def test_invalid_templates_are_config_errors():
    found = problems(["data.prompt_template='Q: {}'", "data.completion_template='{answer'"])
    assert "positional" in found["data.prompt_template"]
    assert "{{ and }}" in found["data.completion_template"]


def test_prompt_template_needs_a_completion_template():
    assert list(problems(["data.prompt_template='Q: {q}'"])) == ["data.completion_template"]


def test_template_format_is_text_or_chat():
    message = refusal(["data.completion_template='{a}'", "data.template_format=raw"])
    assert "Invalid value 'raw', expected one of [text, chat]" in message and "full_key: data.template_format" in message


def test_templates_need_user_files():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["data.completion_template='{a}'"])
    assert [p.field for p in err.value.problems] == ["data.completion_template"]
