from loralab.evaluation.parsing import INVALID_JSON, UNCLOSED_BLOCK, decode_call, parse_tool_calls

NODE = '{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}'


def block(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


def test_plain_text_has_no_call_and_no_error():
    parsed = parse_tool_calls("The node already exists; nothing to do.")
    assert parsed.calls == [] and parsed.errors == [] and parsed.n_blocks == 0
    assert parsed.valid_json and not parsed.attempted_call
    assert parsed.text_outside == "The node already exists; nothing to do."


def test_single_block_with_text_around():
    parsed = parse_tool_calls(f"Sure, creating it.\n{block(NODE)}\nDone.  ")
    assert parsed.calls == [{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}]
    assert parsed.text_outside == "Sure, creating it.\nDone."
    assert parsed.valid_json and parsed.n_blocks == 1


def test_several_blocks_and_whitespace_inside_and_between():
    pretty = '  {\n   "name" : "GET /db/nodes",\n\t"arguments": {"ids": [1, 2]}\n}\n\n'
    text = f"{block(NODE)}\n\n   <tool_call>{pretty}</tool_call>\n"
    parsed = parse_tool_calls(text)
    assert [c["name"] for c in parsed.calls] == ["POST /db/node", "GET /db/nodes"]
    assert parsed.calls[1]["arguments"] == {"ids": [1, 2]}
    assert parsed.text_outside == "" and parsed.valid_json


def test_parameters_alias_and_string_encoded_arguments():
    alias = parse_tool_calls(block('{"name": "GET /db/nodes", "parameters": {"ids": [3]}}'))
    assert alias.calls == [{"name": "GET /db/nodes", "arguments": {"ids": [3]}}]
    encoded = parse_tool_calls(block('{"name": "GET /db/nodes", "arguments": "{\\"ids\\": [3]}"}'))
    assert encoded.calls == [{"name": "GET /db/nodes", "arguments": {"ids": [3]}}]


def test_korean_values_survive_raw_and_escaped():
    raw = parse_tool_calls(block('{"name": "POST /db/loadcase", "arguments": {"name": "고정하중", "type": "D"}}'))
    assert raw.calls[0]["arguments"]["name"] == "고정하중"
    escaped = parse_tool_calls(block('{"name": "POST /db/loadcase", "arguments": {"name": "\\uace0\\uc815\\ud558\\uc911"}}'))
    assert escaped.calls[0]["arguments"]["name"] == "고정하중"


def test_trailing_garbage_inside_block_is_invalid_json():
    parsed = parse_tool_calls(block(NODE + " extra"))
    assert parsed.calls == []
    assert [e.kind for e in parsed.errors] == [INVALID_JSON]
    assert "Extra data" in parsed.errors[0].detail
    assert not parsed.valid_json and parsed.attempted_call


def test_truncated_generation_is_unclosed_block():
    parsed = parse_tool_calls('<tool_call>\n{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.')
    assert parsed.calls == []
    assert [e.kind for e in parsed.errors] == [UNCLOSED_BLOCK]
    assert not parsed.valid_json


def test_unclosed_but_complete_call_is_recovered_and_still_flagged():
    parsed = parse_tool_calls(f"<tool_call>\n{NODE}\n")
    assert len(parsed.calls) == 1
    assert [e.kind for e in parsed.errors] == [UNCLOSED_BLOCK]
    assert "recovered" in parsed.errors[0].detail


def test_block_reopened_before_close_marks_first_unclosed():
    text = f'<tool_call>\n{{"name": "POST /db/node"\n{block(NODE)}'
    parsed = parse_tool_calls(text)
    assert [e.kind for e in parsed.errors] == [UNCLOSED_BLOCK]
    assert parsed.errors[0].index == 0
    assert len(parsed.calls) == 1 and parsed.n_blocks == 2


def test_bodies_that_are_json_but_not_a_call_are_invalid():
    bodies = [
        "[" + NODE + "]",                                    # a list, not an object
        '{"arguments": {"id": 1}}',                          # no name
        '{"name": "POST /db/node"}',                         # no arguments
        '{"name": "POST /db/node", "arguments": [1, 2]}',    # arguments not an object
        '{"name": "POST /db/node", "arguments": "not json"}',
        "",
        "{'name': 'POST /db/node', 'arguments': {}}",         # Python repr, not JSON
    ]
    for body in bodies:
        parsed = parse_tool_calls(block(body))
        assert parsed.calls == [], body
        assert [e.kind for e in parsed.errors] == [INVALID_JSON], body


def test_one_bad_block_does_not_hide_the_good_one():
    parsed = parse_tool_calls(block("{not json}") + "\n" + block(NODE))
    assert len(parsed.calls) == 1
    assert [(e.kind, e.index) for e in parsed.errors] == [(INVALID_JSON, 0)]


def test_stray_closing_tag_stays_in_text_outside():
    parsed = parse_tool_calls("no call here </tool_call>")
    assert parsed.calls == [] and parsed.errors == []
    assert "</tool_call>" in parsed.text_outside


def test_decode_call_strips_name_and_reports_reason():
    call, reason = decode_call('{"name": " GET /db/nodes ", "arguments": {}}')
    assert call == {"name": "GET /db/nodes", "arguments": {}} and reason == ""
    call, reason = decode_call('{"name": 3, "arguments": {}}')
    assert call is None and "name" in reason


def test_to_dict_is_plain_data():
    import json

    parsed = parse_tool_calls(block("oops") + "text")
    data = json.loads(json.dumps(parsed.to_dict()))
    assert data["valid_json"] is False and data["errors"][0]["kind"] == INVALID_JSON


# ---- llama-json: Llama-3.1's bare JSON calls (and our Kanana template's) -----------------------

LLAMA_NODE = '{"name": "POST /db/node", "parameters": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}'
LLAMA_BEAM = '{"name": "POST /db/elem", "parameters": {"id": 1, "type": "beam", "nodes": [1, 2]}}'


def llama(text: str):
    return parse_tool_calls(text, "llama-json")


def test_llama_single_call():
    parsed = llama(LLAMA_NODE)
    assert parsed.calls == [{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}]
    assert parsed.valid_json and parsed.n_blocks == 1 and parsed.text_outside == ""


def test_llama_two_calls_one_per_line_or_semicolon_separated():
    for text in (f"{LLAMA_NODE}\n{LLAMA_BEAM}", f"{LLAMA_NODE}; {LLAMA_BEAM}\n", f"\n {LLAMA_NODE}\n\n{LLAMA_BEAM}"):
        parsed = llama(text)
        assert [c["name"] for c in parsed.calls] == ["POST /db/node", "POST /db/elem"], text
        assert parsed.calls[1]["arguments"] == {"id": 1, "type": "beam", "nodes": [1, 2]}
        assert parsed.valid_json and parsed.n_blocks == 2


def test_llama_kanana_arguments_key_python_tag_and_pretty_printing():
    kanana = llama('{"name": "GET /db/nodes", "arguments": {"ids": [3]}}')
    assert kanana.calls == [{"name": "GET /db/nodes", "arguments": {"ids": [3]}}] and kanana.valid_json
    tagged = llama("<|python_tag|>" + LLAMA_NODE)
    assert tagged.calls[0]["name"] == "POST /db/node" and tagged.valid_json
    pretty = llama('{\n  "name": "GET /db/nodes",\n  "parameters": {"ids": [1, 2]}\n}')
    assert pretty.calls == [{"name": "GET /db/nodes", "arguments": {"ids": [1, 2]}}]


def test_llama_plain_text_answer_has_no_call_and_no_error():
    parsed = llama("노드 1번은 이미 있습니다. Which coordinates should node 2 have?")
    assert parsed.calls == [] and parsed.errors == [] and parsed.n_blocks == 0
    assert parsed.valid_json and not parsed.attempted_call
    assert parsed.text_outside == "노드 1번은 이미 있습니다. Which coordinates should node 2 have?"
    # braces in prose are not a call either
    assert not llama("Use {x, y, z} in metres.").attempted_call


def test_llama_truncated_json_is_unclosed_block():
    parsed = llama('{"name": "POST /db/node", "parameters": {"id": 1, "x": 0.')
    assert parsed.calls == []
    assert [e.kind for e in parsed.errors] == [UNCLOSED_BLOCK]
    assert not parsed.valid_json and parsed.attempted_call
    # a complete first call survives a second one cut short
    parsed = llama(f'{LLAMA_NODE}\n{{"name": "POST /db/elem", "parameters": {{"id": 1, "type": "be')
    assert [c["name"] for c in parsed.calls] == ["POST /db/node"]
    assert [(e.kind, e.index) for e in parsed.errors] == [(UNCLOSED_BLOCK, 1)]


def test_llama_korean_values_raw_and_escaped():
    raw = llama('{"name": "POST /db/loadcase", "parameters": {"name": "고정하중", "type": "D"}}')
    assert raw.calls[0]["arguments"] == {"name": "고정하중", "type": "D"} and raw.valid_json
    escaped = llama('{"name": "POST /db/loadcase", "parameters": {"name": "\\uace0\\uc815\\ud558\\uc911"}}')
    assert escaped.calls[0]["arguments"]["name"] == "고정하중"
    braces = llama('{"name": "POST /db/node", "parameters": {"name": "기둥 {A} \\"1\\"", "id": 2}}')
    assert braces.calls[0]["arguments"] == {"name": '기둥 {A} "1"', "id": 2} and braces.valid_json


def test_llama_trailing_garbage_is_invalid_json_but_keeps_the_call():
    parsed = llama(LLAMA_NODE + " Let me know if you need more.")
    assert [(e.kind, e.index) for e in parsed.errors] == [(INVALID_JSON, 0)]
    assert "Extra data" in parsed.errors[0].detail
    assert parsed.errors[0].body == "Let me know if you need more."
    assert [c["name"] for c in parsed.calls] == ["POST /db/node"]
    assert not parsed.valid_json and parsed.n_blocks == 1


def test_llama_bodies_that_are_not_calls_are_invalid():
    bodies = [
        '{"arguments": {"id": 1}}',                          # no name
        '{"name": "POST /db/node"}',                         # no arguments
        '{"name": "POST /db/node", "parameters": [1, 2]}',   # arguments not an object
        "{'name': 'POST /db/node', 'parameters': {}}",       # Python repr, not JSON
        '{"name": "POST /db/node", "parameters": {"id": 1,}}',  # trailing comma
    ]
    for body in bodies:
        parsed = llama(body)
        assert parsed.calls == [], body
        assert [e.kind for e in parsed.errors] == [INVALID_JSON], body
        assert parsed.attempted_call


def test_llama_prose_before_the_call_is_an_invalid_attempt():
    parsed = llama(f"Sure! Here is the call:\n{LLAMA_NODE}")
    assert parsed.calls == [] and parsed.n_blocks == 1
    assert [e.kind for e in parsed.errors] == [INVALID_JSON]
    assert parsed.text_outside == "Sure! Here is the call:"
    assert parsed.errors[0].body == LLAMA_NODE


def test_each_format_rejects_the_others_calls():
    # a <tool_call> block is prose before the JSON to a llama parser: an attempt nobody would execute
    wrapped = llama(block(NODE))
    assert wrapped.calls == [] and [e.kind for e in wrapped.errors] == [INVALID_JSON]
    # to a hermes parser (the default format) a bare call is an untagged attempt: no call, not valid
    bare = parse_tool_calls(LLAMA_NODE)
    assert bare.calls == [] and bare.attempted_call and not bare.valid_json and bare.text_outside == LLAMA_NODE
    assert [e.kind for e in bare.errors] == ["untagged_call"]


def test_unknown_format_names_the_config_field():
    import pytest

    with pytest.raises(ValueError, match="model.tool_call_format"):
        parse_tool_calls(NODE, "pythonic")


# ---- untagged calls and OpenAI messages ---------------------------------------------------------


def test_hermes_call_objects_outside_the_tags_are_untagged_attempts():
    from loralab.evaluation.parsing import UNTAGGED_CALL

    fenced = parse_tool_calls(f"Here you go:\n```json\n{NODE}\n```")
    assert fenced.calls == [] and fenced.attempted_call and not fenced.valid_json
    assert [(e.kind, e.body) for e in fenced.errors] == [(UNTAGGED_CALL, NODE)]
    mixed = parse_tool_calls(block(NODE) + "\nand also " + NODE)
    assert len(mixed.calls) == 1 and [e.kind for e in mixed.errors] == [UNTAGGED_CALL] and mixed.n_blocks == 2
    broken = parse_tool_calls('then {"name": "POST /db/node", "arguments": {"id": 1')
    assert [e.kind for e in broken.errors] == [UNTAGGED_CALL] and broken.calls == []
    prose = parse_tool_calls('The "name" field {is required}.')   # braces, but no call object
    assert prose.errors == [] and not prose.attempted_call


def test_openai_messages_are_read_like_blocks():
    import json

    import pytest

    from loralab.evaluation.parsing import UNTAGGED_CALL, parse_message

    fn = {"name": "POST /db/node", "arguments": json.dumps({"id": 1, "x": 0.0, "y": 0.0, "z": 3.5})}
    ok = parse_message({"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": fn}]})
    assert ok.calls == [{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}]
    assert ok.valid_json and ok.text_outside == ""
    bad = parse_message({"content": "", "tool_calls": [{"function": {"name": "X", "arguments": "{oops"}}]})
    assert bad.calls == [] and [e.kind for e in bad.errors] == [INVALID_JSON] and bad.attempted_call
    text = parse_message({"role": "assistant", "content": NODE})
    assert text.calls == [] and [e.kind for e in text.errors] == [UNTAGGED_CALL]
    assert not parse_message({"role": "assistant", "content": "No tool applies."}).attempted_call
    with pytest.raises(ValueError, match=r"'message.tool_calls\[0\]' must be an object with a 'function'"):
        parse_message({"tool_calls": ["POST /db/node"]})
    with pytest.raises(ValueError, match="'message.content' must be a string or null"):
        parse_message({"content": [{"type": "text", "text": "hi"}]})
