"""Linear weights packed for oneDNN while a CPU model generates: the same answers as plain
``nn.Linear``, the modules exactly as they were afterwards (still trainable), and nothing packed
where it cannot be (bf16 weights, replaced forwards, no room, an operator that disagrees)."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch built without oneDNN")

PROMPTS = ["Create node 1 at 0, 0, 0", "Delete element 12 and then node 7", "where is node 3?"]


@pytest.fixture()
def tiny(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval(), tokenizer


def _linears(model) -> list[torch.nn.Linear]:
    return [m for m in model.modules() if type(m) is torch.nn.Linear]


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer(PROMPTS[1], return_tensors="pt", add_special_tokens=False).input_ids
    with torch.inference_mode():
        return model(input_ids=ids).logits


def _count_packed_calls(monkeypatch) -> list:
    calls, real = [], torch.ops.mkldnn._linear_pointwise
    monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", lambda *args: calls.append(1) or real(*args))
    return calls


def test_packed_inside_and_the_modules_restored_after(tiny, monkeypatch):
    from loralab.evaluation.packed_linear import packed_for_generation, packing_works

    model, tokenizer = tiny
    assert packing_works()
    weights = {name: (p, p.detach().clone()) for name, p in model.named_parameters()}
    plain = _logits(model, tokenizer)
    calls = _count_packed_calls(monkeypatch)
    with packed_for_generation(model, rows=4) as packed:
        assert packed == len(_linears(model)) > 0  # the LM head too
        assert all("forward" in vars(m) for m in _linears(model))
        inside = _logits(model, tokenizer)
        assert len(calls) == packed, "each linear layer multiplies by its packed weight once per forward"
        assert torch.allclose(inside, plain, rtol=1e-4, atol=1e-5)
    assert not any("forward" in vars(m) for m in _linears(model))
    assert torch.equal(_logits(model, tokenizer), plain)
    assert len(calls) == packed, "the plain forward came back"
    assert all(p is dict(model.named_parameters())[n] and torch.equal(p, before) for n, (p, before) in weights.items())
    model.train()
    ids = tokenizer(PROMPTS[0], return_tensors="pt", add_special_tokens=False).input_ids
    model(input_ids=ids, labels=ids).loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_grad_autocast_or_another_dtype_inside_run_the_plain_linear(tiny, monkeypatch):
    from loralab.evaluation.packed_linear import packed_for_generation

    model, _ = tiny
    layer = _linears(model)[0]
    x = torch.randn(3, layer.in_features, requires_grad=True)
    calls = _count_packed_calls(monkeypatch)
    with packed_for_generation(model, rows=3):
        out = layer(x)  # the packed operator has no backward: with grad on, the layer's own forward runs
        out.sum().backward()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = layer(x)  # as nn.Linear computes under autocast: in bf16
        with torch.no_grad():
            with pytest.raises(RuntimeError, match="dtype"):  # nn.Linear's own error, not a packed result
                layer(x.detach().double())
            layer(x)
    assert torch.equal(out, torch.nn.functional.linear(x, layer.weight, layer.bias))
    assert x.grad is not None
    assert autocast.dtype == torch.bfloat16
    assert len(calls) == 1  # only the last call, fp32 without grad, ran packed


def test_restored_when_generation_fails(tiny):
    from loralab.evaluation.packed_linear import packed_for_generation

    model, _ = tiny
    with pytest.raises(RuntimeError, match="out of memory"):
        with packed_for_generation(model, rows=2):
            raise RuntimeError("out of memory")
    assert not any("forward" in vars(m) for m in _linears(model))


def _lora(tiny_model_dir, dtype):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=dtype)
    torch.manual_seed(0)
    return get_peft_model(base, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)).eval()


def test_generation_answers_match_plain_weights_and_say_so(tiny_model_dir):
    from transformers import AutoTokenizer

    from loralab.evaluation.generation import generate
    from loralab.evaluation.packed_linear import packable

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = _lora(tiny_model_dir, torch.float32)
    names = {id(m): name for name, m in model.named_modules()}
    assert packable(model) and not any(".lora_" in names[id(m)] for m in packable(model))  # too small to pay
    packed = generate(model, tokenizer, PROMPTS, 12, batch_size=2)
    plain = generate(model, tokenizer, PROMPTS, 12, batch_size=2, pack_weights=False)
    assert packed.adapter_merged and packed.packed_layers > 0 and plain.packed_layers == 0
    assert packed.texts == plain.texts
    # the adapter beside the weights: its base weights packed, its own matrices not, the answers the same
    unmerged = generate(model, tokenizer, PROMPTS, 12, batch_size=2, merge_adapter=False)
    assert not unmerged.adapter_merged and unmerged.packed_layers == packed.packed_layers
    assert unmerged.texts == plain.texts
    assert not any("forward" in vars(m) for m in _linears(model))


def test_nothing_packed_where_it_cannot_be(tiny, monkeypatch):
    from loralab.evaluation import adapter_merge, packed_linear

    model, _ = tiny
    every = len(_linears(model))
    assert len(packed_linear.packable(model)) == every
    # a forward already replaced on the instance (accelerate's device hooks): left to it
    hooked = _linears(model)[0]
    hooked.forward = hooked.forward
    assert hooked not in packed_linear.packable(model) and len(packed_linear.packable(model)) == every - 1
    del hooked.forward
    monkeypatch.setattr(adapter_merge, "_free_bytes", lambda device: 1024)  # no room for the copy
    assert packed_linear.packable(model) == []
    monkeypatch.undo()
    monkeypatch.setattr(packed_linear, "packing_works", lambda: False)  # operator missing or disagreeing
    assert packed_linear.packable(model) == []
    monkeypatch.undo()
    assert packed_linear.packable(model.to(torch.bfloat16)) == []


def test_nothing_packed_in_a_bf16_model_with_fp32_adapters(tiny_model_dir):
    from loralab.evaluation.packed_linear import packable

    # peft keeps the adapter's matrices in fp32 beside bf16 base weights: a rounding change in them
    # would reach the bf16 sums and could flip answers, for no speed (they are tiny)
    model = _lora(tiny_model_dir, torch.bfloat16)
    assert any(p.dtype == torch.float32 for n, p in model.named_parameters() if "lora_" in n)
    assert packable(model) == []


def test_packing_works_rejects_an_operator_that_disagrees(monkeypatch):
    from loralab.evaluation import packed_linear

    real = torch.ops.mkldnn._linear_pointwise
    packed_linear.packing_works.cache_clear()
    try:
        assert packed_linear.packing_works()
        packed_linear.packing_works.cache_clear()
        monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", lambda *args: real(*args) * 1.01)
        assert not packed_linear.packing_works()
        packed_linear.packing_works.cache_clear()
        monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", lambda *args: (_ for _ in ()).throw(
            RuntimeError("no kernel for this CPU")))
        assert not packed_linear.packing_works()
    finally:
        monkeypatch.undo()
        packed_linear.packing_works.cache_clear()
