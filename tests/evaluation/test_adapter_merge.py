"""The adapter folded into the base weights for generation: the same answers as the adapter beside
them, base weights restored bit for bit afterwards (still trainable), and no merge where it would
change what the model computes (adapter disabled, tied weights) or could not be undone."""

from __future__ import annotations

import pytest
import torch

PROMPTS = ["Create node 1 at 0, 0, 0", "Delete element 12 and then node 7", "where is node 3?"]


def _lora(tiny_model_dir, **lora):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    torch.manual_seed(0)
    # random B (peft starts it at zero): the adapter must change the outputs for the checks to mean anything
    config = LoraConfig(r=4, lora_alpha=16, init_lora_weights=False, **({"target_modules": "all-linear"} | lora))
    return get_peft_model(base, config).eval(), tokenizer


@pytest.fixture()
def lora_model(tiny_model_dir):
    return _lora(tiny_model_dir)


def _base_weights(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" not in name}


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer(PROMPTS[0], return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_merged_inside_and_the_exact_base_weights_restored_after(lora_model):
    from loralab.evaluation.adapter_merge import merged_for_generation

    model, tokenizer = lora_model
    before, adapter_logits = _base_weights(model), _logits(model, tokenizer)
    with torch.inference_mode(), merged_for_generation(model) as merged:
        assert merged
        changed = [n for n, p in model.named_parameters() if "lora_" not in n and not torch.equal(p, before[n])]
        assert changed, "the adapter was not folded into any base weight"
        assert torch.allclose(_logits(model, tokenizer), adapter_logits, atol=1e-5)
    after = dict(model.named_parameters())
    differ = [n for n, w in before.items() if not torch.equal(after[n], w)]
    assert differ == [], f"base weights not restored bit for bit: {differ[:3]}"
    assert not any(p.is_inference() for p in after.values())
    # still the adapter model (unmerged), and still trainable: the LoRA weights get gradients
    assert torch.equal(_logits(model, tokenizer), adapter_logits)
    model.train()
    ids = tokenizer(PROMPTS[1], return_tensors="pt", add_special_tokens=False).input_ids
    model(input_ids=ids, labels=ids).loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_" in n and p.requires_grad)


def test_restored_when_generation_fails(lora_model):
    from loralab.evaluation.adapter_merge import merged_for_generation

    model, _ = lora_model
    before = _base_weights(model)
    with pytest.raises(RuntimeError, match="out of memory"):
        with merged_for_generation(model):
            raise RuntimeError("out of memory")
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters() if "lora_" not in n)
    assert not any(layer.merged for layer in model.modules() if hasattr(layer, "merged_adapters"))


def test_generation_answers_match_the_unmerged_adapter_and_say_so(lora_model):
    from loralab.evaluation.generation import generate

    model, tokenizer = lora_model
    merged = generate(model, tokenizer, PROMPTS, 10, batch_size=2)
    unmerged = generate(model, tokenizer, PROMPTS, 10, batch_size=2, merge_adapter=False)
    assert (merged.adapter_merged, unmerged.adapter_merged) == (True, False)
    assert merged.texts == unmerged.texts
    # the base model's answers (adapter disabled) are not the adapter's: nothing may be merged there
    with model.disable_adapter():
        base = generate(model, tokenizer, PROMPTS, 10, batch_size=2)
    assert not base.adapter_merged
    with model.disable_adapter():
        assert base.texts == generate(model, tokenizer, PROMPTS, 10, batch_size=2, merge_adapter=False).texts
    assert base.texts != merged.texts


def test_no_merge_into_a_tied_lm_head(tiny_model_dir):
    from loralab.evaluation.adapter_merge import mergeable

    # the tiny model ties its LM head to the embeddings: merging into the head would move the embeddings too
    model, _ = _lora(tiny_model_dir, target_modules=["q_proj", "lm_head"])
    assert model.get_output_embeddings().base_layer.weight is model.get_input_embeddings().weight
    assert mergeable(model) == []


def test_no_merge_into_bf16_weights(lora_model):
    from loralab.evaluation.adapter_merge import mergeable

    # in bf16, W + BA rounds most of a small update away: the merged model would not be the trained one
    model, _ = lora_model
    assert mergeable(model)
    assert mergeable(model.to(torch.bfloat16)) == []


def test_no_merge_into_quantized_or_sharded_weights(lora_model, monkeypatch):
    from loralab.evaluation import adapter_merge

    model, _ = lora_model
    assert adapter_merge.mergeable(model)
    layer = adapter_merge.mergeable(model)[0]
    weight = layer.get_base_layer().weight
    monkeypatch.setattr(weight, "data", torch.zeros(weight.shape, dtype=torch.uint8))  # as 4-bit storage is
    assert adapter_merge.mergeable(model) == []
    monkeypatch.undo()
    monkeypatch.setattr(adapter_merge, "_free_bytes", lambda device: 1024)  # no room for the copy
    assert adapter_merge.mergeable(model) == []
