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
