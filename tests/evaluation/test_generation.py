"""Evaluation generation: continuously batched greedy decoding returns, in input order, what plain
one-prompt greedy decoding returns, stops computing an answer once it has ended, and lets waiting
prompts take the freed rows."""

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


def stop_part_way(tokenizer, full):
    """A token that ends some of the reference answers part-way and others not at all, to stand in
    for the end of turn, and the texts those answers then are (cut before it)."""
    stop = next(t for answer in full for t in answer[2:8] if sum(t in a for a in full) < len(full))
    return stop, [tokenizer.decode(a[:a.index(stop)] if stop in a else a, skip_special_tokens=False) for a in full]


@pytest.mark.parametrize("prompts", [PROMPTS, WITH_SYSTEM], ids=["no-shared-prefix", "system-prompt"])
def test_batches_match_one_prompt_at_a_time_in_input_order(lora_model, monkeypatch, prompts):
    from loralab.evaluation import generation

    model, tokenizer = lora_model
    full = one_by_one(model, tokenizer, prompts, 12)
    # a token that ends some answers part-way and others not at all stands in for the end of turn:
    # rows leave their batches at different steps, and the rest must decode on unchanged
    stop, expected = stop_part_way(tokenizer, full)
    monkeypatch.setattr(generation, "stop_token_ids", lambda *_: [stop])
    ended = [stop in a for a in full]
    assert any(ended) and not all(ended)
    # batches of 2 (and of all 6) from prompts sorted by length: results put back in input order
    for batch_size in (2, len(prompts)):
        assert generation.generate(model, tokenizer, prompts, max_new_tokens=12, batch_size=batch_size).texts == expected
    assert len(set(expected)) > 1  # the prompts do lead to different answers


def test_a_finished_answer_leaves_the_batch(lora_model, monkeypatch):
    """Rows that reached the end of turn are not computed any more: every pass is narrower."""
    from loralab.evaluation import generation
    from loralab.evaluation.generation import generate

    monkeypatch.setattr(generation, "PREFILL_PASS_COST", 10**9)  # all the prompts in one prefill pass
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
        # one token per row and pass: no drafts once the rows thin out
        result = generate(model, tokenizer, PROMPTS, max_new_tokens=10, batch_size=len(PROMPTS), max_draft=0)
    finally:
        hook.remove()
    assert widths == [6, 5, 4, 3, 2, 1]  # one row leaves after each pass; no pass after the last ends
    # the rows ended after 0, 1, ... 5 answer tokens; the end of turn is not part of the text
    assert result.new_tokens == 0 + 1 + 2 + 3 + 4 + 5 and sum(t == "" for t in result.texts) == 1


def forward_shapes(model):
    """Record the (rows, positions) of every forward pass's input ids; returns the list and the hook."""
    shapes = []
    hook = model.get_base_model().model.embed_tokens.register_forward_hook(
        lambda _m, inputs, _out: shapes.append(tuple(inputs[0].shape)))
    return shapes, hook


def test_the_shared_prefix_is_computed_once(lora_model, monkeypatch):
    """The system prompt's tokens go through the model once, for one row; each row's own tokens
    (and only those) go through in the batch's pass, and prompts that join later reuse the start."""
    from loralab.evaluation import generation
    from loralab.evaluation.generation import generate, left_pad, shared_prefix_length

    monkeypatch.setattr(generation, "PREFILL_PASS_COST", 10**9)  # the joining prompts in one prefill pass
    model, tokenizer = lora_model
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in WITH_SYSTEM]
    shared = shared_prefix_length(encoded)
    assert shared >= len(tokenizer(SYSTEM, add_special_tokens=False)["input_ids"]) - 1
    ids, mask = left_pad([e[shared:] for e in encoded], tokenizer.pad_token_id)
    assert sorted(mask.sum(-1).tolist()) == sorted(len(e) - shared for e in encoded)
    shapes, hook = forward_shapes(model)
    try:
        generate(model, tokenizer, WITH_SYSTEM, max_new_tokens=1, batch_size=len(WITH_SYSTEM))
        assert shapes == [(1, shared), tuple(ids.shape)]
        shapes.clear()
        generate(model, tokenizer, WITH_SYSTEM, max_new_tokens=1, batch_size=2)  # three groups, one start
    finally:
        hook.remove()
    # the start once; then the pairs, longest prompts first, each with its own tokens only
    assert shapes[0] == (1, shared) and [rows for rows, _ in shapes[1:]] == [2, 2, 2]
    assert shapes[1][1] == max(len(e) for e in encoded) - shared


def test_waiting_prompts_join_while_others_decode(lora_model, monkeypatch):
    """Continuous batching: when a row's answer ends, a waiting prompt is prefilled and decodes beside
    the row still going, so the batch stays full and the answers stay those of one prompt at a time."""
    from loralab.evaluation import generation

    model, tokenizer = lora_model
    full = one_by_one(model, tokenizer, PROMPTS, 12)
    stop, expected = stop_part_way(tokenizer, full)
    monkeypatch.setattr(generation, "stop_token_ids", lambda *_: [stop])
    shapes, hook = forward_shapes(model)
    try:
        texts = generation.generate(model, tokenizer, PROMPTS, max_new_tokens=12, batch_size=2).texts
    finally:
        hook.remove()
    assert texts == expected
    # a one-row prefill followed by a two-row decode step: a prompt joined a row mid-answer
    joined = [i for i, (rows, positions) in enumerate(shapes[1:-1], 1)
              if positions > 1 and rows == 1 and shapes[i + 1] == (2, 1)]
    assert joined


def test_drafted_tokens_kept_only_where_greedy_agrees(lora_model, monkeypatch):
    """Once no prompt waits, spare positions verify tokens drafted from the prompt and the answer so
    far: the answers stay those of one prompt at a time, while drafts are kept whole, in part and
    not at all, and the passes are fewer than the tokens."""
    from loralab.evaluation import generation

    model, tokenizer = lora_model
    prompts = ["node 1 node 2 node 3 node", "beam beam beam beam", "Create node 1 at 0, 0, 0"]
    full = one_by_one(model, tokenizer, prompts, 30)
    monkeypatch.setattr(generation, "stop_token_ids", lambda *_: [-1])  # no end of turn: 30 tokens each
    verified = []

    def recording(model, batch, drafts, pad_id):
        kept = speculative_step(model, batch, drafts, pad_id)
        verified.extend(zip(drafts, kept))
        return kept

    speculative_step = generation.speculative_step
    monkeypatch.setattr(generation, "speculative_step", recording)
    shapes, hook = forward_shapes(model)
    try:
        result = generation.generate(model, tokenizer, prompts, max_new_tokens=30, batch_size=32)
    finally:
        hook.remove()
    assert result.texts == [tokenizer.decode(a, skip_special_tokens=False) for a in full]
    drafted = [(len(d), len(k)) for d, k in verified if d]
    assert any(k == d for d, k in drafted) and any(0 < k < d for d, k in drafted) and any(k == 0 for _, k in drafted)
    assert len(shapes) - 2 < 30  # the start, the prefill, then fewer passes than each answer's tokens


@pytest.mark.parametrize(("context", "limit", "draft"), [
    ([5, 6, 7, 8, 5, 6, 7], 3, [8, 5, 6]),   # the last three tokens seen before: what followed them
    ([1, 2, 9, 2, 3, 9, 2], 2, [3, 9]),      # the latest earlier occurrence wins
    ([4, 4, 4], 5, [4]),                     # within the context only
    ([1, 2, 3], 4, []),                      # nothing repeats: no draft
])
def test_lookup_draft(context, limit, draft):
    from loralab.evaluation.generation import lookup_draft

    assert lookup_draft(context, limit) == draft


def test_rows_join_and_leave_a_sliding_window_cache():
    """A model whose layers attend over a window (Mistral-style) keeps its answers exact when rows join
    a batch whose cache is past the window, and when leading columns are dropped."""
    from transformers import MistralConfig, MistralForCausalLM

    from loralab.evaluation import generation
    from loralab.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    config = MistralConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, sliding_window=5,
                           pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = MistralForCausalLM(config).eval()
    full = one_by_one(model, tokenizer, PROMPTS, 10)
    stop, expected = stop_part_way(tokenizer, full)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generation, "stop_token_ids", lambda *_: [stop])
        assert generation.generate(model, tokenizer, PROMPTS, max_new_tokens=10, batch_size=2).texts == expected


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


def test_a_growing_cache_layer_appends_in_place_and_equals_concatenation():
    """Each step's keys and values land in room held after the stored ones (no copy of the cache per
    token), and what the layer returns is what concatenation returns, also after its rows change."""
    from transformers.cache_utils import DynamicLayer

    from loralab.evaluation.generation import GrowingLayer

    torch.manual_seed(0)
    growing, plain = GrowingLayer(), DynamicLayer()
    steps = [torch.randn(3, 2, 5, 4)] + [torch.randn(3, 2, 1, 4) for _ in range(GrowingLayer.ROOM + 3)]
    pointers = []
    for step in steps:
        keys, values = growing.update(step, -step)
        expected_keys, expected_values = plain.update(step, -step)
        assert torch.equal(keys, expected_keys) and torch.equal(values, expected_values)
        pointers.append(keys.data_ptr())
    # one move into new room when the first step's room ran out, none in between
    assert len(set(pointers[1:])) == 2
    for layer in (growing, plain):  # rows leave, as when answers end
        layer.batch_select_indices(torch.tensor([0, 2]))
    step = torch.randn(2, 2, 1, 4)
    assert torch.equal(growing.update(step, -step)[0], plain.update(step, -step)[0])


@pytest.mark.parametrize("seed", range(12))
def test_length_groups_are_the_cheapest_split(seed):
    import itertools
    import random

    from loralab.evaluation.generation import length_groups

    rng = random.Random(seed)
    lengths = sorted((rng.randint(1, 300) for _ in range(rng.randint(1, 8))), reverse=True)
    cost = rng.choice([0, 40, 96, 10**6])

    def computed(groups):  # each group padded to its first (longest) row, plus a pass's own cost
        return sum((last - first) * lengths[first] + cost for first, last in groups)

    groups = length_groups(lengths, cost)
    assert [g[0] for g in groups] == [0] + [g[1] for g in groups[:-1]] and groups[-1][1] == len(lengths)
    every = []
    for cuts in itertools.product([False, True], repeat=len(lengths) - 1):
        bounds = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [len(lengths)]
        every.append(computed(list(zip(bounds, bounds[1:]))))
    assert computed(groups) == min(every)
    if cost == 10**6:
        assert groups == [(0, len(lengths))]


def test_prefill_runs_in_groups_of_similar_lengths(lora_model, monkeypatch):
    """Prompts of very different lengths joining together are prefilled in passes of similar lengths,
    which pad little, and answer as one prompt at a time does."""
    from loralab.evaluation import generation

    model, tokenizer = lora_model
    prompts = [SYSTEM + p for p in (PROMPTS[5] * 3, PROMPTS[5] * 3 + "!", PROMPTS[3], PROMPTS[0])]
    stop, expected = stop_part_way(tokenizer, one_by_one(model, tokenizer, prompts, 8))
    monkeypatch.setattr(generation, "stop_token_ids", lambda *_: [stop])
    shapes, hook = forward_shapes(model)
    try:
        texts = generation.generate(model, tokenizer, prompts, max_new_tokens=8, batch_size=4, max_draft=0).texts
    finally:
        hook.remove()
    assert texts == expected
    prefills = shapes[1:3]  # after the shared start's pass, before the first decode pass
    assert [rows for rows, _ in prefills] == [2, 2] and shapes[3] == (4, 1)  # the long prompts, then the short
    assert prefills[1][1] < prefills[0][1] // 4
    # a cache whose rows can't be joined (a layer kind of its own) is prefilled in one pass
    monkeypatch.setattr(generation, "_JOINABLE", ())
    shapes, hook = forward_shapes(model)
    try:
        texts = generation.generate(model, tokenizer, prompts, max_new_tokens=8, batch_size=4, max_draft=0).texts
    finally:
        hook.remove()
    assert texts == expected and shapes[1][0] == 4 and shapes[2] == (4, 1)
