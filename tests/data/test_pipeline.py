"""Tokenization with assistant masks on the tiny ChatML tokenizer, set up exactly as training
sets it up (modeling.build_tokenizer: the training chat template, distinct pad, eos = <|im_end|>);
loading splits: one file cut by ratios, problems of every file at once, duplicates."""

from __future__ import annotations

import itertools
import json

import pytest
from omegaconf import OmegaConf

import loralab
from compose_helpers import refusal
from loralab.errors import ConfigError
from loralab.errors import DataError
from loralab.data.pipeline import (duplicate_rows, duplicates_across_splits, load_splits, split_by_ratios,
                                   tokenize_split)
from loralab.data.prompting import chat_inputs, compact_tool_listing

EOT = "<|im_end|>"
NODE = {"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}
BEAM = {"name": "POST /db/elem", "arguments": {"id": 1, "type": "beam", "nodes": [1, 2]}}
NODE_BLOCK = '<tool_call>\n{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}\n</tool_call>'
BEAM_BLOCK = ('<tool_call>\n{"name": "POST /db/elem", "arguments": {"id": 1, "type": "beam", "nodes": [1, 2]}}'
              "\n</tool_call>")
TOOLS = [
    {"type": "function", "function": {
        "name": "POST /db/node", "description": "Create a node. Coordinates in m.",
        "parameters": {"type": "object", "required": ["id", "x", "y", "z"], "properties": {
            "id": {"type": "integer"}, "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"},
            "name": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "POST /db/elem", "description": "Create an element.",
        "parameters": {"type": "object", "required": ["id", "type"], "properties": {
            "id": {"type": "integer"}, "type": {"type": "string", "enum": ["beam", "truss"]},
            "nodes": {"type": "array"}, "active": {"type": "boolean"}, "props": {"type": "object"},
            "note": {}}}}},
]
COMPACT = ("Tools:\nPOST /db/node(id:int, x:num, y:num, z:num, name?:str)\n"
           "POST /db/elem(id:int, type:beam|truss, nodes?:list, active?:bool, props?:obj, note?:any)")


def call(fn: dict) -> dict:
    return {"type": "function", "function": fn}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def data_cfg(cfg, **changes):
    data = OmegaConf.create(OmegaConf.to_container(cfg.data))
    for key, value in changes.items():
        data[key] = value
    return data


def tokenize_one(record, tokenizer, data, tools=None, max_length=4096):
    split = tokenize_split([record], tokenizer, data, tools, max_length, "train")
    row = split.dataset[0]
    assert len(row["input_ids"]) == len(row["assistant_masks"])
    return row["input_ids"], row["assistant_masks"]


def decode(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def masked_spans(tokenizer, ids, mask) -> list[str]:
    """The text of each contiguous run of masked (trained) tokens."""
    spans, pos = [], 0
    for flag, run in itertools.groupby(mask):
        n = len(list(run))
        if flag:
            spans.append(decode(tokenizer, ids[pos:pos + n]))
        pos += n
    return spans


def unmasked_text(tokenizer, ids, mask) -> str:
    return decode(tokenizer, [i for i, m in zip(ids, mask) if not m])


def check_chat(record, tokenizer, data, expected_spans, tools=None):
    ids, mask = tokenize_one(record, tokenizer, data, tools)
    assert masked_spans(tokenizer, ids, mask) == expected_spans
    # every trained span ends on the end-of-turn token, so the model learns to stop
    eot_id = tokenizer.convert_tokens_to_ids(EOT)
    ends = [i for i in range(len(mask)) if mask[i] and (i + 1 == len(mask) or not mask[i + 1])]
    assert [ids[i] for i in ends] == [eot_id] * len(expected_spans)
    return ids, mask


# ---- tokenizer set-up --------------------------------------------------------------------------

def test_pad_token_differs_from_end_of_turn(tokenizer):
    assert tokenizer.eos_token == EOT
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert tokenizer.pad_token_id is not None and tokenizer.eos_token_id is not None


def test_tokenizer_uses_the_training_template(tokenizer):
    assert "{%- generation %}" in tokenizer.chat_template


# ---- assistant masks ---------------------------------------------------------------------------

def test_single_call_answer_mask(cfg, tokenizer):
    record = {"messages": [user("Create node 1 at x=0, y=0, z=3.5"),
                           {"role": "assistant", "content": None, "tool_calls": [call(NODE)]}]}
    ids, mask = check_chat(record, tokenizer, cfg.data, [NODE_BLOCK + EOT])
    prompt = unmasked_text(tokenizer, ids, mask)
    assert prompt.startswith(f"<|im_start|>system\n{cfg.data.system_prompt}{EOT}\n<|im_start|>user\n")
    assert prompt.endswith("Create node 1 at x=0, y=0, z=3.5<|im_end|>\n<|im_start|>assistant\n\n")


def test_two_call_answer_mask(cfg, tokenizer):
    record = {"messages": [user("Create node 1 and a beam from 1 to 2"),
                           {"role": "assistant", "content": None, "tool_calls": [call(NODE), call(BEAM)]}]}
    check_chat(record, tokenizer, cfg.data, [NODE_BLOCK + "\n" + BEAM_BLOCK + EOT])


def test_multi_turn_with_tool_response_masks_only_assistant_turns(cfg, tokenizer):
    record = {"messages": [
        {"role": "system", "content": "You model structures."},
        user("Create node 1 at x=0, y=0, z=3.5"),
        {"role": "assistant", "content": None, "tool_calls": [call(NODE)]},
        {"role": "tool", "content": '{"status": "ok", "id": 1}'},
        {"role": "assistant", "content": "노드 1번을 생성했습니다."},
        user("Now a beam from 1 to 2."),
        {"role": "assistant", "content": "Creating it.", "tool_calls": [call(BEAM)]},
    ]}
    ids, mask = check_chat(record, tokenizer, cfg.data,
                           [NODE_BLOCK + EOT, "노드 1번을 생성했습니다." + EOT, "Creating it.\n" + BEAM_BLOCK + EOT])
    prompt = unmasked_text(tokenizer, ids, mask)
    assert '<|im_start|>user\n<tool_response>\n{"status": "ok", "id": 1}\n</tool_response><|im_end|>' in prompt
    assert "<|im_start|>system\nYou model structures.<|im_end|>" in prompt
    # the record's own system turn replaces data.system_prompt
    assert cfg.data.system_prompt not in decode(tokenizer, ids)


def test_plain_text_answer_mask(cfg, tokenizer):
    record = {"messages": [user("Create a node"),
                           {"role": "assistant", "content": "Which coordinates? The node id and x, y, z are needed."}]}
    check_chat(record, tokenizer, cfg.data, ["Which coordinates? The node id and x, y, z are needed." + EOT])


def test_tokens_are_exactly_the_rendered_template(cfg, tokenizer):
    messages = [user("Create node 1"), {"role": "assistant", "content": None, "tool_calls": [call(NODE)]}]
    ids, _ = tokenize_one({"messages": messages}, tokenizer, cfg.data)
    with_system, _ = chat_inputs(messages, None, cfg.data.system_prompt, "none")
    assert decode(tokenizer, ids) == tokenizer.apply_chat_template(with_system, tokenize=False)


def test_prompt_completion_mask(cfg, tokenizer):
    ids, mask = tokenize_one({"prompt": "Q: 2+2?\nA:", "completion": " 4"}, tokenizer, cfg.data)
    assert masked_spans(tokenizer, ids, mask) == [" 4" + EOT]
    assert mask == sorted(mask)  # prompt (0s) then completion (1s)
    assert decode(tokenizer, ids[:mask.index(1)]) == "Q: 2+2?\nA:"


def test_text_mask_trains_every_token(cfg, tokenizer):
    text = "Beams carry loads between nodes."
    ids, mask = tokenize_one({"text": text}, tokenizer, cfg.data)
    assert all(mask)
    assert decode(tokenizer, ids) == text + EOT


# ---- tools in the prompt -----------------------------------------------------------------------

def tool_record():
    return {"messages": [user("Create node 1 at x=0, y=0, z=3.5"),
                         {"role": "assistant", "content": None, "tool_calls": [call(NODE)]}], "tools": TOOLS}


def test_tools_in_prompt_none_shows_no_tools(cfg, tokenizer):
    ids, mask = check_chat(tool_record(), tokenizer, data_cfg(cfg, tools_in_prompt="none"), [NODE_BLOCK + EOT])
    text = decode(tokenizer, ids)
    assert "Tools:" not in text and "<tools>" not in text and "Create a node." not in text


def test_tools_in_prompt_compact_appends_the_listing_to_the_system_turn(cfg, tokenizer):
    ids, mask = check_chat(tool_record(), tokenizer, data_cfg(cfg, tools_in_prompt="compact"), [NODE_BLOCK + EOT])
    assert decode(tokenizer, ids).startswith(f"<|im_start|>system\n{cfg.data.system_prompt}\n{COMPACT}{EOT}\n")


def test_tools_in_prompt_full_uses_the_templates_tools_block(cfg, tokenizer):
    ids, mask = check_chat(tool_record(), tokenizer, data_cfg(cfg, tools_in_prompt="full"), [NODE_BLOCK + EOT])
    prompt = unmasked_text(tokenizer, ids, mask)
    assert prompt.startswith(f"<|im_start|>system\n{cfg.data.system_prompt}\n\n# Tools\n")
    for tool in TOOLS:
        assert "\n" + json.dumps(tool, ensure_ascii=False) in prompt
    # the tool-call instructions in the system turn are not trained
    assert "<tool_call>\n{\"name\": <function-name>" in prompt


def test_split_level_tools_are_used_when_rows_carry_none(cfg, tokenizer):
    record = {"messages": tool_record()["messages"], "tools": None}
    ids, _ = tokenize_one(record, tokenizer, data_cfg(cfg, tools_in_prompt="compact"), tools=TOOLS[:1])
    assert "POST /db/node(id:int" in decode(tokenizer, ids) and "POST /db/elem(" not in decode(tokenizer, ids)


def test_compact_tool_listing_format():
    assert compact_tool_listing(TOOLS) == COMPACT


def test_compact_tool_listing_accepts_bare_functions_and_no_parameters():
    bare = [{"name": "GET /db/nodes"}, {"name": "DELETE /db/node", "parameters": {
        "properties": {"id": {"type": "integer"}}, "required": ["id"]}}]
    assert compact_tool_listing(bare) == "Tools:\nGET /db/nodes()\nDELETE /db/node(id:int)"


def test_chat_inputs_none_adds_the_system_prompt_only():
    messages = [user("hi")]
    out, tools = chat_inputs(messages, TOOLS, "S", "none")
    assert out == [{"role": "system", "content": "S"}, user("hi")] and tools is None
    assert messages == [user("hi")]  # the caller's list is untouched


def test_chat_inputs_without_any_system_text_adds_no_system_turn():
    assert chat_inputs([user("hi")], TOOLS, "", "none") == ([user("hi")], None)
    assert chat_inputs([user("hi")], None, "", "compact") == ([user("hi")], None)


def test_chat_inputs_compact():
    out, tools = chat_inputs([user("hi")], TOOLS, "S", "compact")
    assert out[0] == {"role": "system", "content": f"S\n{COMPACT}"} and tools is None
    out, _ = chat_inputs([user("hi")], TOOLS, "", "compact")
    assert out[0] == {"role": "system", "content": COMPACT}


def test_chat_inputs_full_hands_tools_to_the_template():
    out, tools = chat_inputs([user("hi")], TOOLS, "S", "full")
    assert out == [{"role": "system", "content": "S"}, user("hi")] and tools == TOOLS


def test_chat_inputs_record_system_turn_wins_and_is_not_duplicated():
    messages = [{"role": "system", "content": "Own."}, user("hi")]
    out, _ = chat_inputs(messages, TOOLS, "Default.", "compact")
    assert out == [{"role": "system", "content": f"Own.\n{COMPACT}"}, user("hi")]
    assert messages[0] == {"role": "system", "content": "Own."}


# ---- truncation --------------------------------------------------------------------------------

def answer_start(record, tokenizer, data) -> int:
    _, mask = tokenize_one(record, tokenizer, data)
    return mask.index(1)


def test_truncation_counts_rows_and_drops_rows_without_answer_tokens(cfg, tokenizer):
    data = data_cfg(cfg, system_prompt="")
    short = {"messages": [user("Create node 1"), {"role": "assistant", "content": None, "tool_calls": [call(NODE)]}]}
    long = {"messages": [user("Create node 1 at x=0, y=0, z=3.5 and a beam between nodes 1 and 2. " * 4),
                         {"role": "assistant", "content": "Done."}]}
    fits = {"text": "Beams."}
    short_start, long_start = answer_start(short, tokenizer, data), answer_start(long, tokenizer, data)
    max_length = short_start + 3
    assert long_start >= max_length  # the long row's answer begins past the cut

    split = tokenize_split([short, long, fits], tokenizer, data, None, max_length, "train")
    stats = split.stats
    assert (stats["rows"], stats["kept"], stats["truncated"], stats["dropped"]) == (3, 2, 2, 1)
    kept = split.dataset[0]
    assert len(kept["input_ids"]) == max_length and sum(kept["assistant_masks"]) == 3
    assert stats["trained_tokens"] == 3 + len(split.dataset[1]["input_ids"])
    assert stats["tokens"] == max_length + len(split.dataset[1]["input_ids"])
    assert stats["length"]["max"] > max_length  # lengths are measured before truncation


def test_no_truncation_below_max_length(cfg, tokenizer):
    split = tokenize_split([{"text": "Beams."}, {"prompt": "a", "completion": "b"}], tokenizer, cfg.data, None,
                           512, "train")
    assert (split.stats["kept"], split.stats["truncated"], split.stats["dropped"]) == (2, 0, 0)


def test_all_rows_dropped_raises_naming_the_split(cfg, tokenizer):
    record = {"messages": [user("Create node 1 at x=0, y=0, z=3.5"), {"role": "assistant", "content": "Done."}]}
    with pytest.raises(DataError) as err:
        tokenize_split([record, record], tokenizer, cfg.data, None, 16, "validation")
    message = str(err.value)
    assert message.startswith("validation split: all 2 rows")
    assert "trainer.max_length=16" in message


# ---- one file split by ratios ------------------------------------------------------------------

def test_ratio_split_is_deterministic_disjoint_and_sized(tmp_path):
    rows = list(range(1000))
    parts = split_by_ratios(rows, [0.8, 0.1, 0.1], seed=7)
    assert {k: len(v) for k, v in parts.items()} == {"train": 800, "validation": 100, "test": 100}
    assert sorted(parts["train"] + parts["validation"] + parts["test"]) == rows  # disjoint and complete
    assert split_by_ratios(rows, [0.8, 0.1, 0.1], seed=7) == parts
    other = split_by_ratios(rows, [0.8, 0.1, 0.1], seed=8)
    assert other["test"] != parts["test"]
    assert parts["train"] != sorted(parts["train"])  # shuffled: a capped eval subset is a random sample


def test_ratio_split_rounds_and_keeps_small_splits(tmp_path):
    sizes = lambda n, r: {k: len(v) for k, v in split_by_ratios(list(range(n)), r, 0).items()}  # noqa: E731
    assert sizes(7, [0.8, 0.1, 0.1]) == {"train": 5, "validation": 1, "test": 1}
    assert sizes(15, [0.7, 0.15, 0.15]) == {"train": 11, "validation": 2, "test": 2}
    assert sizes(10, [0.9, 0.1, 0.0]) == {"train": 9, "validation": 1}  # a zero share leaves the split out
    with pytest.raises(DataError, match="too few to split"):
        split_by_ratios([1, 2], [0.8, 0.1, 0.1], 0)


def test_load_splits_by_ratios_keeps_each_rows_file_line(tmp_path, cfg):
    path = tmp_path / "all.jsonl"
    path.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(1, 21)), encoding="utf-8")
    data = OmegaConf.merge(cfg.data, {"source": "files", "train_file": str(path), "split": "ratios",
                                      "split_ratios": [0.5, 0.25, 0.25], "split_seed": 3})
    splits = load_splits(data)
    assert {k: len(v) for k, v in splits.records.items()} == {"train": 10, "validation": 5, "test": 5}
    for name, records in splits.records.items():
        for record, where in zip(records, splits.locations[name]):
            assert where == f"{path}:{record['text'].split()[1]}"
    assert load_splits(data).records == splits.records


def test_invalid_rows_of_every_file_are_reported_together(tmp_path, cfg):
    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "a"}\n{"input": 1}\n', encoding="utf-8")
    val = tmp_path / "val.jsonl"
    val.write_text('{"text": ""}\n', encoding="utf-8")
    data = OmegaConf.merge(cfg.data, {"source": "files", "train_file": str(train), "validation_file": str(val),
                                      "test_file": str(tmp_path / "missing.jsonl")})
    with pytest.raises(DataError) as err:
        load_splits(data)
    message = str(err.value)
    assert message.startswith("3 data problems")
    for where in (f"{train}:2", f"{val}:1", f"{tmp_path / 'missing.jsonl'} does not exist"):
        assert where in message


def test_ratio_config_is_validated():
    base = ["data=files", "data.train_file=t.jsonl", "data.split=ratios"]
    for ratios in ("[0.8,0.1]", "[0.8,0.3,-0.1]", "[0.5,0.2,0.2]", "[0,0.5,0.5]"):
        with pytest.raises(ConfigError) as err:
            loralab.compose([*base, f"data.split_ratios={ratios}"])
        assert [p.field for p in err.value.problems] == ["data.split_ratios"]
    with pytest.raises(ConfigError) as err:
        loralab.compose([*base, "data.test_file=test.jsonl"])
    assert [p.field for p in err.value.problems] == ["data.test_file"]
    message = refusal(["data=files", "data.train_file=t.jsonl", "data.split=random"])
    assert "expected one of [files, ratios]" in message and "full_key: data.split" in message
    assert loralab.compose([*base, "data.split_ratios=[0.7,0.3,0.0]"]).data.split == "ratios"


def test_duplicates_are_named_against_their_first_occurrence():
    a, b, c = {"text": "a"}, {"text": "b"}, {"text": "c"}
    records = {"test": [c, a], "train": [a, b, a], "validation": [b, c]}
    assert duplicate_rows(records) == [("train", 2, "train", 0), ("validation", 0, "train", 1),
                                       ("test", 0, "validation", 1), ("test", 1, "train", 0)]
    assert duplicates_across_splits(records) == {"test": 1, "validation": 1}
