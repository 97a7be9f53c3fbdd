"""Packing and padding-free batches keep samples apart on CPU attention (sdpa, eager).

With ``trainer.packing=true`` TRL packs our pre-tokenized rows best-fit-decreasing (``bfd``) and
its padding-free collator flattens a micro-batch into one row whose ``position_ids`` restart at 0
for every sample, with no ``attention_mask``. transformers' masking utils
(``find_packed_sequence_indices``) then read the sample boundaries off the position ids and build a
block-diagonal causal mask, so each sample attends to itself only. ``trainer.padding_free=true``
flattens the micro-batch's rows the same way, unpacked. These tests take a real batch
from TRL's dataloader, built through loralab's own SFTConfig mapping, and check on the tiny model:

- each sample's loss in the packed batch equals its loss computed alone, unpacked;
- changing one sample's tokens leaves the other samples' losses unchanged;
- the check can fail: with an all-ones attention mask (no packing detection) samples do leak;
- a packed run trains through the real CLI (loralab's plain-LM-head loss on CPU included), and
  validation refuses packing and padding-free batches where the model's own remote code builds
  the mask.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import loralab
from loralab.hardware import Hardware, resolve_precision
from loralab.errors import ConfigError
from loralab.tiny import build_tiny_model

from cli_helpers import run_cli, tiny_overrides

CPU = Hardware("cpu", "test CPU", None, False, False, 2, None)
# The packed and the unpacked forward differ only by the summation order of matmuls of different
# shapes: measured on the tiny model, <= 5e-7 in fp32 and ~2e-5 in bf16 (what `precision=auto`
# trains in on a CPU with native bf16). Samples that do attend to each other move a loss by > 1e-3.
TOLERANCE = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.bfloat16: dict(atol=5e-4, rtol=5e-4)}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    # built here rather than with the shared ``tiny_model_dir`` fixture: nothing is trained, so this
    # stays a unit test (make test-fast)
    return build_tiny_model(tmp_path_factory.mktemp("tiny-packing"))


# packing (bfd: rows packed up to max_length) or padding-free batching (the micro-batch's rows as
# they are): both flatten a micro-batch into one row of restarting position ids
LAYOUTS = {"packing": ["trainer.packing=true", "trainer.micro_batch_size=2"],
           "padding_free": ["trainer.padding_free=true", "trainer.micro_batch_size=4"]}


def _packed_setup(tiny_dir, tmp_path, attn: str, dtype: torch.dtype = torch.float32, layout: str = "packing"):
    from transformers import AutoModelForCausalLM

    from loralab.data.pipeline import load_splits, tokenize_split
    from loralab.modeling import build_tokenizer
    from loralab.sft_trainer import LoralabSFTTrainer
    from loralab.batching import batch_plan
    from loralab.training_args import build_sft_config

    cfg = loralab.compose([f"model.name_or_path={tiny_dir}", "model.source=hub", "model.name=tiny",
                           f"model.attn_implementation={attn}", "data.generator.size=100",
                           *LAYOUTS[layout], "trainer.max_length=512",
                           "trainer.max_steps=1", "trainer.eval_strategy=no", "trainer.save_strategy=no",
                           "trainer.load_best_model_at_end=false", "trainer.eval_on_start=false",
                           "lora.dropout=0.0"])
    tokenizer = build_tokenizer(cfg.model, str(tiny_dir))
    splits = load_splits(cfg.data)
    train = tokenize_split(splits.records["train"][:24], tokenizer, cfg.data, splits.tools,
                           cfg.trainer.max_length, "train")
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32, attn_implementation=attn).eval()
    args = build_sft_config(cfg, resolve_precision("fp32", None, CPU), CPU, str(tmp_path / "out"),
                            batch_plan(cfg.trainer, cfg.optimizer.lr))
    trainer = LoralabSFTTrainer(model=model, args=args, train_dataset=train.dataset, processing_class=tokenizer,
                                fused_lm_head=False)
    batch = next(iter(trainer.get_train_dataloader()))
    return model.to(dtype), batch


def _per_sample_losses(logits: torch.Tensor, labels: torch.Tensor, segments: torch.Tensor) -> torch.Tensor:
    """Mean next-token loss of each segment (sample) of one row, over its labelled tokens."""
    per_token = F.cross_entropy(logits[0, :-1].float(), labels[0, 1:], ignore_index=-100, reduction="none")
    seg, valid = segments[0, 1:], labels[0, 1:] != -100
    return torch.stack([per_token[(seg == s) & valid].sum() / ((seg == s) & valid).sum()
                        for s in range(int(segments.max()) + 1)])


def _segments(position_ids: torch.Tensor) -> torch.Tensor:
    return (position_ids == 0).cumsum(-1) - 1


@pytest.fixture(scope="module", params=[("sdpa", torch.float32), ("eager", torch.float32), ("sdpa", torch.bfloat16),
                                        ("sdpa", torch.float32, "padding_free")],
                ids=["sdpa-fp32", "eager-fp32", "sdpa-bf16", "sdpa-fp32-padding-free"])
def packed(request, tiny_dir, tmp_path_factory):
    return _packed_setup(tiny_dir, tmp_path_factory.mktemp("out"), *request.param)


def test_trl_batch_is_flattened_with_restarting_positions_and_no_mask(packed):
    _, batch = packed
    assert "attention_mask" not in batch  # a mask would switch transformers' packed-sequence detection off
    assert batch["input_ids"].shape[0] == 1
    segments = _segments(batch["position_ids"])
    assert int(segments.max()) >= 2, "the batch should hold several samples"
    # every sample's first token is masked out of the labels: nothing is predicted across a boundary
    assert (batch["labels"][batch["position_ids"] == 0] == -100).all()


@torch.no_grad()
def test_packed_loss_per_sample_equals_unpacked(packed):
    model, batch = packed
    ids, labels, pos = batch["input_ids"], batch["labels"], batch["position_ids"]
    segments = _segments(pos)
    packed_losses = _per_sample_losses(model(input_ids=ids, position_ids=pos).logits, labels, segments)
    alone = []
    for s in range(int(segments.max()) + 1):
        keep = segments[0] == s
        one_ids, one_labels = ids[:, keep], labels[:, keep]
        logits = model(input_ids=one_ids, attention_mask=torch.ones_like(one_ids)).logits
        alone.append(_per_sample_losses(logits, one_labels, torch.zeros_like(one_ids))[0])
    torch.testing.assert_close(packed_losses, torch.stack(alone), **TOLERANCE[model.dtype])


@torch.no_grad()
def test_changing_one_sample_leaves_the_others_unchanged(packed):
    model, batch = packed
    ids, labels, pos = batch["input_ids"], batch["labels"], batch["position_ids"]
    segments = _segments(pos)
    before = _per_sample_losses(model(input_ids=ids, position_ids=pos).logits, labels, segments)
    changed = ids.clone()
    first = segments == 0
    changed[first] = torch.randint(0, model.config.vocab_size, (int(first.sum()),), generator=torch.Generator().manual_seed(0))
    after = _per_sample_losses(model(input_ids=changed, position_ids=pos).logits, labels, segments)
    assert not torch.allclose(after[0], before[0])  # the changed sample itself did change
    torch.testing.assert_close(after[1:], before[1:], **TOLERANCE[model.dtype])

    # the control: a plain causal mask over the whole row (what an all-ones attention mask gives) lets
    # the later samples see the changed one, so this test would catch a stack that does not isolate
    ones = torch.ones_like(ids)
    leak_before = _per_sample_losses(model(input_ids=ids, position_ids=pos, attention_mask=ones).logits, labels, segments)
    leak_after = _per_sample_losses(model(input_ids=changed, position_ids=pos, attention_mask=ones).logits, labels, segments)
    assert (leak_after[1:] - leak_before[1:]).abs().max() > 1e-3


@pytest.mark.parametrize("key", ["trainer.packing", "trainer.padding_free"])
def test_packing_with_remote_model_code_is_refused(key):
    with pytest.raises(ConfigError, match=key):
        loralab.compose([f"{key}=true", "model.trust_remote_code=true"])
    loralab.compose([f"{key}=true"])  # transformers' own modeling code: accepted


@pytest.mark.parametrize("layout", ["packing", "padding_free"])
def test_packed_run_trains_through_the_cli(tiny_model_dir, tmp_path, layout):
    """Integration (uses the shared tiny model): two packed (or padding-free) steps with evaluation,
    no padding trained."""
    run_dir = tmp_path / layout
    proc = run_cli([*tiny_overrides(tiny_model_dir), *LAYOUTS[layout], "trainer.max_steps=2",
                    "trainer.eval_steps=2", "trainer.save_steps=2", "trainer.logging_steps=1", "eval.at_end=false",
                    "precision=fp32", f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    last = metrics["train"][-1]
    assert last["step"] == 2 and last["loss"] > 0 and metrics["eval"]
    # padding-free: every input token is a sample's token (TRL's count equals the trainer's)
    assert last["num_tokens"] == last["num_input_tokens_seen"] > (2 * 512 if layout == "packing" else 2 * 4)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["padding_free"]["on"] is True and manifest["padding_free"]["attention"] == "sdpa"
