"""Evaluation generation: batched greedy decoding returns, in input order, what plain one-prompt
greedy decoding returns, and stops computing an answer once it has ended."""

from __future__ import annotations

import pytest
import torch

PROMPTS = ["Create node 1 at 0, 0, 0", "node", "Delete element 12 and then node 7, please, right now",
           "where is node 3?", "x", "Add a beam between nodes 1 and 2 with material 1 and section 3 " * 3]
# as chat prompts are: a system prompt every one starts with, computed once per batch
SYSTEM = "System: you are a modelling assistant; answer with a tool call, or in text when none applies.\nUser: "
WITH_SYSTEM = [SYSTEM + p for p in PROMPTS]


@pytest.fixture()
def lora_model(tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    torch.manual_seed(0)
    # random A and B (not peft's zero B): the adapter must change the answers for the tests to mean anything
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    return model.eval(), tokenizer


def one_by_one(model, tokenizer, prompts, max_new_tokens):
    """The reference: each prompt alone (no padding, no batching, no stop), its answer's token ids."""
    answers = []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                             min_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        answers.append(out[0, ids.shape[1]:].tolist())
    return answers


@pytest.mark.parametrize("prompts", [PROMPTS, WITH_SYSTEM], ids=["no-shared-prefix", "system-prompt"])
def test_batches_match_one_prompt_at_a_time_in_input_order(lora_model, monkeypatch, prompts):
    from loralab.evaluation import generation

    model, tokenizer = lora_model
    full = one_by_one(model, tokenizer, prompts, 12)
    # a token that ends some answers part-way and others not at all stands in for the end of turn:
    # rows leave their batches at different steps, and the rest must decode on unchanged
    stop = next(t for answer in full for t in answer[2:8] if sum(t in a for a in full) < len(full))
    monkeypatch.setattr(generation, "stop_token_ids", lambda *_: [stop])
    expected = [tokenizer.decode(a[:a.index(stop)] if stop in a else a, skip_special_tokens=False) for a in full]
    ended = [stop in a for a in full]
    assert any(ended) and not all(ended)
    # batches of 2 (and of all 6) from prompts sorted by length: results put back in input order
    for batch_size in (2, len(prompts)):
        assert generation.generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=batch_size).texts == expected
    assert len(set(expected)) > 1  # the prompts do lead to different answers


def test_a_finished_answer_leaves_the_batch(lora_model):
    """Rows that reached the end of turn are not computed any more: every pass is narrower."""
    from loralab.evaluation.generation import generate

    model, tokenizer = lora_model
    core = model.get_base_model()
    widths = []

    def end_first_row(_module, _inputs, logits):  # row 0 of every pass says end of turn
        widths.append(logits.shape[0])
        logits[0, -1, :] = -1e9
        logits[0, -1, tokenizer.eos_token_id] = 1e9
        return logits

    hook = core.lm_head.register_forward_hook(end_first_row)
    try:
        result = generate(model, tokenizer, PROMPTS, max_new_tokens=10, batch_size=len(PROMPTS))
    finally:
        hook.remove()
    assert widths == [6, 5, 4, 3, 2, 1]  # one row leaves after each pass; no pass after the last ends
    # the rows ended after 0, 1, ... 5 answer tokens; the end of turn is not part of the text
    assert result.new_tokens == 0 + 1 + 2 + 3 + 4 + 5 and sum(t == "" for t in result.texts) == 1


def test_the_shared_prefix_is_computed_once_per_batch(lora_model):
    """The system prompt's tokens go through the model once, for one row; each row's own tokens
    (and only those) go through in the batch's pass."""
    from loralab.evaluation.generation import generate, left_padded_batches, shared_prefix_length

    model, tokenizer = lora_model
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in WITH_SYSTEM]
    shared = shared_prefix_length(encoded)
    assert shared >= len(tokenizer(SYSTEM, add_special_tokens=False)["input_ids"]) - 1
    (_, prefix, ids, mask), = left_padded_batches(tokenizer, WITH_SYSTEM, len(WITH_SYSTEM))
    assert prefix.tolist() == encoded[0][:shared]
    assert sorted(mask.sum(-1).tolist()) == sorted(len(e) - shared for e in encoded)
    shapes = []
    hook = model.get_base_model().model.embed_tokens.register_forward_hook(
        lambda _m, inputs, _out: shapes.append(tuple(inputs[0].shape)))
    try:
        generate(model, tokenizer, WITH_SYSTEM, max_new_tokens=1, batch_size=len(WITH_SYSTEM))
    finally:
        hook.remove()
    assert shapes == [(1, shared), tuple(ids.shape)]


@pytest.mark.parametrize("sequences, shared", [
    ([[1, 2, 3], [1, 2, 4]], 2), ([[1, 2, 3], [1, 2, 3]], 2), ([[5], [5, 6]], 0), ([[1, 2], [3, 2]], 0),
    ([[7, 8, 9, 10]], 3)])
def test_shared_prefix_leaves_every_prompt_a_token_of_its_own(sequences, shared):
    from loralab.evaluation.generation import shared_prefix_length

    assert shared_prefix_length(sequences) == shared


def test_no_prompts_no_work(lora_model):
    from loralab.evaluation.generation import generate

    model, tokenizer = lora_model
    assert generate(model, tokenizer, [], max_new_tokens=8).texts == []
