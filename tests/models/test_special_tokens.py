"""model.add_special_tokens on the tiny model: the tokenizer gains the token, the embedding grows
(deterministically), peft trains the new row (trainable tokens) and saves it with the adapter, a
fresh base + adapter reproduces the trained model, and no other row moves. Tied (SmolLM2, Qwen2.5)
and untied (Llama-3.1-8B, Kanana) output heads both."""

from __future__ import annotations

import pytest
import torch

import loralab
from loralab.hardware import detect, resolve_precision
from loralab.modeling import added_token_ids, apply_lora, build_model, build_tokenizer

NEW = "<|node|>"
TEXT = "<|im_start|>user\nCreate node 1<|im_end|>\n<|im_start|>assistant\n<|node|> 1 0 0 3.5<|im_end|>"


@pytest.fixture(scope="module", params=[True, False], ids=["tied", "untied"])
def setup(request, tmp_path_factory):
    from loralab.tiny import build_tiny_model

    location = str(build_tiny_model(tmp_path_factory.mktemp("tiny-special"), tie_embeddings=request.param))
    cfg = loralab.compose(["model.source=hub", f"model.name_or_path='{location}'",
                           f"model.add_special_tokens=['{NEW}']", "lora.dropout=0.0"])
    return cfg, location


def fresh_base(cfg, location):
    hw = detect()
    return build_model(cfg.model, location, resolve_precision("fp32", None, hw), hw, gradient_checkpointing=False)


def embedding_table(model, n: int) -> torch.Tensor:
    """What the (possibly peft-wrapped) input embedding returns for ids 0..n-1."""
    return model.get_input_embeddings()(torch.arange(n)).detach().clone()


def head_table(model) -> torch.Tensor:
    """The output head's effective weight: its logits for a unit basis of the hidden space."""
    return model.get_output_embeddings()(torch.eye(model.config.hidden_size)).detach().T.clone()


@pytest.mark.integration  # trains the tiny model (seconds)
def test_added_token_trains_saves_and_reloads(setup, tmp_path):
    cfg, location = setup
    torch.manual_seed(0)
    tokenizer = build_tokenizer(cfg.model, location)
    [new_id] = added_token_ids(tokenizer, cfg.model)
    assert tokenizer.convert_ids_to_tokens(new_id) == NEW and new_id == len(tokenizer) - 1
    ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert new_id in ids  # one token, never split

    base = fresh_base(cfg, location)
    rows = base.get_input_embeddings().weight.shape[0]
    assert rows == -(-len(tokenizer) // 64) * 64 == base.config.vocab_size  # grown, padded to 64
    old = base.get_input_embeddings().weight[:new_id]
    # the new rows start at the mean of the old ones: the same on every load
    assert torch.allclose(base.get_input_embeddings().weight[new_id:], old.mean(dim=0).expand(rows - new_id, -1))

    model = apply_lora(base, cfg.lora, added_token_ids(tokenizer, cfg.model))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any("trainable_tokens_delta" in n for n in trainable)
    assert not any(n.endswith("embed_tokens.weight") or n.endswith("lm_head.weight") for n in trainable)
    before_embed, before_head = embedding_table(model, rows), head_table(model)

    batch = torch.tensor([ids])
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(3):
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.eval()
    after_embed, after_head = embedding_table(model, rows), head_table(model)
    others = torch.arange(rows) != new_id
    assert not torch.allclose(after_embed[new_id], before_embed[new_id])  # the new row learned
    assert torch.equal(after_embed[others], before_embed[others])          # no other row moved
    assert not torch.allclose(after_head[new_id], before_head[new_id])    # and it can be written
    assert torch.equal(after_head[others], before_head[others])
    with torch.no_grad():
        trained_logits = model(input_ids=batch).logits

    from peft import PeftModel
    from safetensors import safe_open

    # peft's default ("auto") also saves the whole resized embedding (and head); as the new rows
    # are rebuilt identically on load, the trained rows alone (save_embedding_layers=False) suffice.
    for mode in ("auto", False):
        model.save_pretrained(tmp_path / "adapter", save_embedding_layers=mode)
        with safe_open(tmp_path / "adapter" / "adapter_model.safetensors", "pt") as saved:
            assert any("trainable_tokens_delta" in key for key in saved.keys())
        reloaded = PeftModel.from_pretrained(fresh_base(cfg, location), tmp_path / "adapter").eval()
        with torch.no_grad():
            assert torch.allclose(reloaded(input_ids=batch).logits, trained_logits, atol=1e-5), mode
    tokenizer.save_pretrained(tmp_path / "adapter")
    # the saved tokenizer already holds the token: building it again from the adapter adds nothing
    again = build_tokenizer(cfg.model, str(tmp_path / "adapter"))
    assert len(again) == len(tokenizer) and added_token_ids(again, cfg.model) == [new_id]


def test_existing_token_is_trained_without_resizing(setup):
    """A token the vocabulary already has (Qwen2.5's <tool_call>) keeps its id; the embedding keeps its size."""
    cfg, location = setup
    existing = loralab.compose(["model.source=hub", f"model.name_or_path='{location}'",
                                "model.add_special_tokens=['<tool_call>']"])
    tokenizer = build_tokenizer(existing.model, location)
    plain = build_tokenizer(loralab.compose(["model.source=hub", f"model.name_or_path='{location}'"]).model, location)
    assert len(tokenizer) == len(plain)
    base = fresh_base(existing, location)
    assert base.get_input_embeddings().weight.shape[0] == base.config.vocab_size == len(plain)
    model = apply_lora(base, existing.lora, added_token_ids(tokenizer, existing.model))
    indices = model.peft_config["default"].trainable_token_indices
    embed_rows = indices if isinstance(indices, list) else indices["embed_tokens"]
    assert plain.convert_tokens_to_ids("<tool_call>") in embed_rows


def test_no_added_tokens_leaves_peft_config_plain(setup):
    cfg, location = setup
    plain = loralab.compose(["model.source=hub", f"model.name_or_path='{location}'"])
    tokenizer = build_tokenizer(plain.model, location)
    model = apply_lora(fresh_base(plain, location), plain.lora, added_token_ids(tokenizer, plain.model))
    assert model.peft_config["default"].trainable_token_indices is None
