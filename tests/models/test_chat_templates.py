"""Chat templates and special tokens, per model family, on tokenizers built offline with each
family's real special tokens (loralab.tiny):

* the assistant mask of loralab's tokenize path covers exactly what the assistant writes, its
  end-of-turn token included, and nothing of the system, user or tool turns;
* the pad token is never the end-of-turn token;
* the training template renders the text of the model's stock template (chat_templates/stock/),
  apart from the {% generation %} marks and the differences its header documents;
* end of turn is trained and generation stops on it."""

from __future__ import annotations

import itertools
import json
import re
from importlib import resources

import pytest
import torch

import loralab
from loralab.config.paths import config_dir
from loralab.errors import ConfigError
from loralab.data.pipeline import tokenize_split
from loralab.data.prompting import chat_inputs
from loralab.modeling import build_model, build_tokenizer, chat_template_text
from loralab.tiny import FAMILIES, TEMPLATE_FAMILIES, build_tiny_model, build_tiny_tokenizer

MODEL_OPTIONS = sorted(p.stem for p in (config_dir() / "model").glob("*.yaml"))
# Each model option's stock template under chat_templates/stock/, or why there is none.
STOCK = {"smollm2-135m": "smollm2", "qwen-1.5b-nf4": "qwen2.5", "llama-3.1-8b": "llama-3.1",
         "kanana-8b": None}
NO_STOCK = {"kanana-8b": "Kanana-1.5's tokenizer_config.json (its chat template) could not be obtained offline; "
                         "kanana-1.5.jinja follows the Llama-3 header format unverified"}
PADS = {"chatml": "<|endoftext|>", "llama-3": "<|finetune_right_pad_id|>"}

NODE = {"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}
BEAM = {"name": "POST /db/elem", "arguments": {"id": 1, "type": "beam", "nodes": [1, 2]}}
TOOLS = [{"type": "function", "function": {
    "name": "POST /db/node", "description": "Create a node. Coordinates in m.",
    "parameters": {"type": "object", "required": ["id", "x", "y", "z"], "properties": {
        "id": {"type": "integer"}, "x": {"type": "number"}, "y": {"type": "number"}, "z": {"type": "number"}}}}}]
SYSTEM = "You model structures."
USER = "Create node 1 at x=0, y=0, z=3.5"
TOOL_RESULT = '{"status": "ok", "id": 1}'
REPLY = "노드 1번을 생성했습니다."


def conversation(tool_content=TOOL_RESULT, calls=(NODE,)) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER},
            {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": c} for c in calls]},
            {"role": "tool", "content": tool_content},
            {"role": "assistant", "content": REPLY}]


def written_call(template: str, call: dict) -> str:
    """How the family's assistant writes one call."""
    args = json.dumps(call["arguments"], ensure_ascii=False)
    if template == "chatml":
        return f'<tool_call>\n{{"name": "{call["name"]}", "arguments": {args}}}\n</tool_call>'
    key = "parameters" if template == "llama-3.1" else "arguments"
    return f'{{"name": "{call["name"]}", "{key}": {args}}}'


def option_cfg(option: str, location: str, *overrides: str):
    return loralab.compose([f"model={option}", "model.source=hub", f"model.name_or_path='{location}'",
                            "model.quantization.mode=none", *overrides])


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory) -> dict[str, str]:
    """One offline tokenizer directory per family."""
    dirs = {}
    for family in FAMILIES:
        path = tmp_path_factory.mktemp(f"tok-{family}")
        build_tiny_tokenizer(family).save_pretrained(path)
        dirs[family] = str(path)
    return dirs


def setup_for(option: str, family_dirs):
    """(model config, tokenizer set up as training sets it up) for a model option."""
    family = TEMPLATE_FAMILIES[loralab.compose([f"model={option}"]).model.chat_template]
    cfg = option_cfg(option, family_dirs[family], "data.tools_in_prompt=full", "data.system_prompt=''")
    return cfg, build_tokenizer(cfg.model, family_dirs[family])


def decode(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def masked_spans(tokenizer, ids, mask) -> list[tuple[list[int], str]]:
    spans, pos = [], 0
    for flag, run in itertools.groupby(mask):
        n = len(list(run))
        if flag:
            spans.append((ids[pos:pos + n], decode(tokenizer, ids[pos:pos + n])))
        pos += n
    return spans


# ---- the tokenizers built offline carry each template's tokens ----------------------------------

@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_every_model_option_has_a_family_and_a_stock_template_entry(option):
    cfg = loralab.compose([f"model={option}"])
    assert cfg.model.chat_template in TEMPLATE_FAMILIES
    assert option in STOCK, f"add model={option}'s stock template to STOCK (or to NO_STOCK with why)"
    if STOCK[option] is None:
        assert option in NO_STOCK


@pytest.mark.parametrize("template", sorted(TEMPLATE_FAMILIES))
def test_template_markers_are_single_special_tokens(template):
    tokenizer = build_tiny_tokenizer(TEMPLATE_FAMILIES[template])
    markers = set(re.findall(r"<\|[a-z_]+\|>", chat_template_text(template)))
    assert markers
    specials = {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    for marker in markers:
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1, marker
        assert marker in specials, marker


# ---- pad != end of turn -------------------------------------------------------------------------

@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_pad_token_is_never_the_end_of_turn(option, family_dirs):
    cfg, tokenizer = setup_for(option, family_dirs)
    family = TEMPLATE_FAMILIES[cfg.model.chat_template]
    assert cfg.model.pad_token == PADS[family] != cfg.model.end_of_turn_token
    assert tokenizer.eos_token == cfg.model.end_of_turn_token == FAMILIES[family]["eot"]
    assert tokenizer.pad_token == PADS[family]
    assert None not in (tokenizer.pad_token_id, tokenizer.eos_token_id)
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    with pytest.raises(ConfigError) as err:
        option_cfg(option, family_dirs[family], f"model.pad_token='{cfg.model.end_of_turn_token}'")
    assert "model.pad_token" in str(err.value)


# ---- assistant masks through loralab's tokenize path ---------------------------------------------

@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_assistant_mask_is_exactly_the_assistant_turns_and_their_end(option, family_dirs):
    cfg, tokenizer = setup_for(option, family_dirs)
    template, eot = cfg.model.chat_template, cfg.model.end_of_turn_token
    record = {"messages": conversation(calls=(NODE, BEAM)), "tools": TOOLS}
    row = tokenize_split([record], tokenizer, cfg.data, None, 8192, "train").dataset[0]
    ids, mask = row["input_ids"], row["assistant_masks"]

    calls_text = "\n".join(written_call(template, c) for c in (NODE, BEAM))
    spans = masked_spans(tokenizer, ids, mask)
    assert [text for _, text in spans] == [calls_text + eot, REPLY + eot]
    eot_id = tokenizer.convert_tokens_to_ids(eot)
    assert [span_ids[-1] for span_ids, _ in spans] == [eot_id, eot_id]
    # the tokens are the rendered template, and what is not trained is every other turn, whole
    messages, tools = chat_inputs(record["messages"], TOOLS, cfg.data.system_prompt, cfg.data.tools_in_prompt)
    rendered = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
    assert decode(tokenizer, ids) == rendered
    prompt = decode(tokenizer, [i for i, m in zip(ids, mask) if not m])
    for text in (SYSTEM, USER, TOOL_RESULT, TOOLS[0]["function"]["description"]):
        assert text in prompt
        assert all(text not in span for _, span in spans)
    assert prompt.count(eot) == rendered.count(eot) - 2  # system, user and tool turns end untrained


@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_model_tool_call_format_parses_what_its_template_trains(option, family_dirs):
    """model.tool_call_format must read back the calls the model is trained to write."""
    from loralab.evaluation.parsing import parse_tool_calls

    cfg, tokenizer = setup_for(option, family_dirs)
    for calls in ((NODE,), (NODE, BEAM)):
        record = {"messages": conversation(calls=calls)[:3]}
        row = tokenize_split([record], tokenizer, cfg.data, None, 8192, "train").dataset[0]
        [(answer_ids, _)] = masked_spans(tokenizer, row["input_ids"], row["assistant_masks"])
        parsed = parse_tool_calls(decode(tokenizer, answer_ids[:-1]), cfg.model.tool_call_format)  # as generated
        assert parsed.valid_json and parsed.calls == list(calls), option


# ---- the training template renders the stock template's text -------------------------------------

def stock_pair(option: str, family_dirs):
    """(render with the training template, render with the stock template) on the family's tokenizer."""
    if STOCK[option] is None:
        pytest.skip(f"model={option}: no stock template: {NO_STOCK[option]}")
    _, tokenizer = setup_for(option, family_dirs)
    stock_text = (resources.files("loralab.chat_templates") / "stock" / f"{STOCK[option]}.jinja").read_text(
        encoding="utf-8")

    def ours(messages, tools=None, **kwargs) -> str:
        return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, **kwargs)

    def stock(messages, tools=None, **kwargs) -> str:
        return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=stock_text, **kwargs)

    return ours, stock


@pytest.mark.parametrize("option", MODEL_OPTIONS)
def test_plain_chat_renders_like_the_stock_template(option, family_dirs):
    ours, stock = stock_pair(option, family_dirs)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER},
                {"role": "assistant", "content": REPLY}, {"role": "user", "content": "And node 2?"}]
    assert ours(messages) == stock(messages)
    assert ours(messages, add_generation_prompt=True) == stock(messages, add_generation_prompt=True)


@pytest.mark.parametrize("option", [o for o in MODEL_OPTIONS if STOCK.get(o) != "smollm2"])
def test_tool_conversation_renders_like_the_stock_template(option, family_dirs):
    """System, user, one call, tool result, reply; and the prompt that evaluation renders. Llama's
    tool result is a JSON object (for a string see test_llama_documented_differences). SmolLM2's
    stock template has no tool support: our SmolLM2 runs use Qwen2.5's format."""
    ours, stock = stock_pair(option, family_dirs)
    llama = STOCK[option] == "llama-3.1"
    messages = conversation(tool_content=json.loads(TOOL_RESULT) if llama else TOOL_RESULT)
    assert ours(messages, TOOLS) == stock(messages, TOOLS)
    assert ours(messages[:3], TOOLS) == stock(messages[:3], TOOLS)
    prompt = messages[:2]  # what evaluation renders
    assert ours(prompt, TOOLS, add_generation_prompt=True) == stock(prompt, TOOLS, add_generation_prompt=True)
    assert ours(messages) == stock(messages)  # tools shown by the data (tools_in_prompt=none/compact)


def test_chatml_multi_call_and_text_tool_results_render_like_qwen(family_dirs):
    ours, stock = stock_pair("qwen-1.5b-nf4", family_dirs)
    messages = conversation(calls=(NODE, BEAM))
    messages[2]["content"] = "Creating both."
    assert ours(messages, TOOLS) == stock(messages, TOOLS)


@pytest.mark.parametrize("option", ["smollm2-135m", "qwen-1.5b-nf4"])
def test_chatml_documented_difference_no_default_system_prompt(option, family_dirs):
    """chatml.jinja's header: without a system message no default one is added."""
    ours, stock = stock_pair(option, family_dirs)
    messages = [{"role": "user", "content": USER}, {"role": "assistant", "content": REPLY}]
    rendered, stock_rendered = ours(messages), stock(messages)
    assert stock_rendered.endswith(rendered) and rendered.startswith("<|im_start|>user\n")
    assert re.fullmatch(r"<\|im_start\|>system\n[^<]+<\|im_end\|>\n", stock_rendered[:-len(rendered)])
    if option == "qwen-1.5b-nf4":
        with_system = [{"role": "system", "content": "You are a helpful assistant."}, *messages]
        assert ours(messages, TOOLS) == stock(with_system, TOOLS)


def test_llama_documented_differences(family_dirs):
    """llama-3.1.jinja's header: several calls in one turn are rendered one JSON per line (the stock
    template refuses them); a tool result given as a string is rendered as is, the way Meta's prompt
    format shows it (the stock template JSON-quotes strings, since a Jinja string "is iterable")."""
    ours, stock = stock_pair("llama-3.1-8b", family_dirs)
    with pytest.raises(Exception, match="single tool-calls"):
        stock(conversation(calls=(NODE, BEAM)), TOOLS)
    multi = ours(conversation(calls=(NODE, BEAM)), TOOLS)
    assert written_call("llama-3.1", NODE) + "\n" + written_call("llama-3.1", BEAM) + "<|eot_id|>" in multi
    text_result = conversation()
    quoted = json.dumps(TOOL_RESULT)
    assert stock(text_result, TOOLS) == ours(text_result, TOOLS).replace(TOOL_RESULT, quoted)


# ---- end of turn is trained, and generation stops on it ------------------------------------------

@pytest.mark.integration  # trains the tiny model (seconds)
@pytest.mark.parametrize("option", ["smollm2-135m", "llama-3.1-8b"])
def test_end_of_turn_is_learned_and_generation_stops_on_it(option, tmp_path):
    from transformers import GenerationConfig

    from loralab.evaluation.generation import generate, render_prompts
    from loralab.hardware import detect, resolve_precision

    family = TEMPLATE_FAMILIES[loralab.compose([f"model={option}"]).model.chat_template]
    location = build_tiny_model(tmp_path / "tiny", family=family)
    # a base whose generation config ends on the document end, not the turn end (as base models do)
    pad_id = build_tiny_tokenizer(family).convert_tokens_to_ids(FAMILIES[family]["pad"])
    GenerationConfig(eos_token_id=pad_id, pad_token_id=pad_id).save_pretrained(location)
    cfg = option_cfg(option, str(location), "data.system_prompt=''", "lora.dropout=0.0")
    tokenizer = build_tokenizer(cfg.model, str(location))
    eot_id = tokenizer.eos_token_id
    hw = detect()
    torch.manual_seed(0)
    # trained in full: LoRA's zero-initialised update moves a random 64-wide model too slowly
    model = build_model(cfg.model, str(location), resolve_precision("fp32", None, hw), hw, False)
    assert model.generation_config.eos_token_id[0] == eot_id and pad_id in model.generation_config.eos_token_id
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id

    messages = [{"role": "user", "content": "Create node 1"},
                {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": NODE}]}]
    row = tokenize_split([{"messages": messages}], tokenizer, cfg.data, None, 512, "train").dataset[0]
    ids = torch.tensor([row["input_ids"]])
    labels = torch.where(torch.tensor([row["assistant_masks"]]) == 1, ids, -100)
    answer = [i for i, m in zip(row["input_ids"], row["assistant_masks"]) if m]
    assert answer[-1] == eot_id
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(150):  # ~60-90 steps
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        if loss.item() < 0.03:
            break
    model.eval()

    prompt = render_prompts(tokenizer, [chat_inputs(messages[:1], None, "", "none")])[0]
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert row["input_ids"][:len(prompt_ids)] == prompt_ids
    with torch.no_grad():  # the model's own generation config: no stop token passed in
        out = model.generate(input_ids=torch.tensor([prompt_ids]), max_new_tokens=len(answer) + 20, do_sample=False)
    assert out[0, len(prompt_ids):].tolist() == answer  # the whole answer, its end of turn, then nothing
    gens = generate(model, tokenizer, [prompt], max_new_tokens=len(answer) + 20)
    assert gens.texts == [decode(tokenizer, answer[:-1])] and gens.new_tokens == len(answer) - 1
