"""The CPU loss path of LoralabSFTTrainer computes the LM head only at trained positions.

It must give the model's own loss and gradients exactly (up to float summation order), for a
packed row and for a padded batch, with and without the Trainer's token count for accumulation,
and log the same token accuracy as the whole head would."""

from __future__ import annotations

import pytest
import torch

from loralab.sft_trainer import trained_positions
from loralab.tiny import build_tiny_model

from trainer_helpers import tiny_lora_trainer


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-sft-trainer"))


def _trainer(tiny_dir, tmp_path, packing: bool, overrides: tuple[str, ...] = ()):
    trainer = tiny_lora_trainer(tiny_dir, tmp_path / "out", (f"trainer.packing={str(packing).lower()}",
                                                             "trainer.micro_batch_size=3", *overrides), nonzero_b=True)
    return trainer, next(iter(trainer.get_train_dataloader()))


def _grads(model) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def test_trained_positions_keeps_every_position_with_a_label_in_any_row():
    labels = torch.tensor([[-100, -100, 5, 6, -100], [-100, 7, -100, -100, -100]])
    positions, targets = trained_positions(labels)
    assert positions.tolist() == [0, 1, 2]   # position t predicts labels[:, t + 1]
    assert targets.tolist() == [[-100, 5, 6], [7, -100, -100]]


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "padded"])
@pytest.mark.parametrize("counted", [True, False], ids=["token-count", "mean"])
def test_loss_and_gradients_equal_the_models_own(tiny_dir, tmp_path, packing, counted):
    trainer, batch = _trainer(tiny_dir, tmp_path, packing)
    model = trainer.model.train()
    assert ("attention_mask" not in batch) == packing
    labels = batch["labels"]
    scored = int((labels[:, 1:] != -100).sum())
    assert 0 < scored < labels[:, 1:].numel() / 2 or not packing  # prompts are not trained
    count = torch.tensor(scored + 7) if counted else None  # as if the accumulated batch held more tokens

    positions, targets = trained_positions(labels)
    if not packing:  # the rows' labels differ: some kept positions are unlabelled in some row
        assert ((targets == -100) & (targets != -100).any(dim=0)).any()
    head_rows = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, args, out: head_rows.append(args[0].shape[1]))
    ours = trainer.compute_loss(model, dict(batch), num_items_in_batch=count)
    hook.remove()
    assert head_rows == [len(positions)] and len(positions) < labels.shape[1] - 1  # the head saw trained positions only
    ours.backward()
    our_grads = _grads(model)
    reference = model(**batch, use_cache=False, **({"num_items_in_batch": count} if counted else {})).loss
    reference.backward()
    reference_grads = _grads(model)

    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-6)
    assert our_grads.keys() == reference_grads.keys() and our_grads
    for name, grad in our_grads.items():
        torch.testing.assert_close(grad, reference_grads[name], atol=1e-6, rtol=1e-5, msg=name)


def test_logged_token_accuracy_is_the_whole_heads(tiny_dir, tmp_path):
    trainer, batch = _trainer(tiny_dir, tmp_path, packing=True)
    model = trainer.model.train()
    trainer._metrics["train"]["mean_token_accuracy"].clear()
    with torch.no_grad():
        trainer.compute_loss(model, dict(batch))
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits
    targets = batch["labels"][:, 1:]
    valid = targets != -100
    expected = ((logits[:, :-1].argmax(-1) == targets) & valid).sum() / valid.sum()
    assert trainer._metrics["train"]["mean_token_accuracy"] == [pytest.approx(expected.item())]


def test_a_caller_asking_for_the_outputs_gets_every_positions_logits(tiny_dir, tmp_path):
    trainer, batch = _trainer(tiny_dir, tmp_path, packing=True)
    with torch.no_grad():
        loss, outputs = trainer.compute_loss(trainer.model.eval(), dict(batch), return_outputs=True)
        reference = trainer.model(**batch, use_cache=False)
    assert outputs.logits.shape == reference.logits.shape
    torch.testing.assert_close(loss, reference.loss, atol=1e-6, rtol=1e-6)


def test_loraplus_gives_the_b_matrices_ratio_times_the_lr(tiny_dir, tmp_path):
    trainer, _ = _trainer(tiny_dir, tmp_path, packing=False,
                          overrides=("optimizer.lr=1e-3", "optimizer.loraplus_lr_ratio=16", "optimizer.weight_decay=0.01"))
    optimizer = trainer.create_optimizer()
    assert type(optimizer).__name__ == "AdamW"   # the class optimizer.optim names, as without LoRA+
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    decay_of = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    adapters = {n: p for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert adapters and set(lr_of) == {id(p) for p in adapters.values()}   # every trainable parameter, once
    for name, p in adapters.items():
        assert lr_of[id(p)] == pytest.approx(1.6e-2 if "lora_B" in name else 1e-3), name
        assert decay_of[id(p)] == pytest.approx(0.01), name


def test_without_loraplus_every_adapter_shares_one_lr(tiny_dir, tmp_path):
    trainer, _ = _trainer(tiny_dir, tmp_path, packing=False,
                          overrides=("optimizer.lr=1e-3", "optimizer.loraplus_lr_ratio=null"))
    lrs = [group["lr"] for group in trainer.create_optimizer().param_groups]
    assert lrs == pytest.approx([1e-3] * len(lrs))
