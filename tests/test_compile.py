"""``trainer.compile=true``: transformers compiles the model with torch.compile (inductor, which runs
on a CPU too). Integration (compiles for tens of seconds): training steps of the tiny model with
LoRA, compiled, log the losses and reach the adapter weights of the same steps uncompiled, within
float tolerance (inductor fuses and reorders the arithmetic)."""

from __future__ import annotations

import pytest
import torch

from loralab.tiny import build_tiny_model

from trainer_helpers import tiny_lora_trainer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-compile"))


def _train(tiny_dir, out, compile_: bool) -> tuple[list[float], dict[str, torch.Tensor], object]:
    trainer = tiny_lora_trainer(tiny_dir, out, ("trainer.micro_batch_size=4", "trainer.max_steps=3",
                                                "trainer.logging_steps=1", "optimizer.lr=1e-3",
                                                f"trainer.compile={str(compile_).lower()}"), rows=12)
    trainer.train()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    adapter = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_" in n}
    return losses, adapter, trainer


def test_compiled_training_matches_the_plain_path(tiny_dir, tmp_path):
    plain_losses, plain_adapter, _ = _train(tiny_dir, tmp_path / "plain", compile_=False)
    losses, adapter, trainer = _train(tiny_dir, tmp_path / "compiled", compile_=True)
    assert trainer.args.torch_compile
    assert type(trainer.model_wrapped).__name__ == "OptimizedModule"  # the steps ran through torch.compile
    assert len(losses) == len(plain_losses) == 3
    assert losses == pytest.approx(plain_losses, rel=1e-4, abs=1e-5)
    assert adapter.keys() == plain_adapter.keys() and adapter
    for name, weight in adapter.items():
        torch.testing.assert_close(weight, plain_adapter[name], atol=1e-5, rtol=1e-4, msg=name)
    assert any(not torch.equal(w, torch.zeros_like(w)) for n, w in adapter.items() if "lora_B" in n)  # it trained
