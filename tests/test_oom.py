"""The OOM ladder's rungs, in the seeds' order, without training anything."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from loralab.api import compose
from loralab.oom import next_rung, qv_fallback_targets


def _cfg(*overrides: str):
    return compose(list(overrides))


def _walk(cfg) -> list:
    rungs = []
    while (rung := next_rung(cfg)) is not None:
        rungs.append(rung)
        cfg = rung.apply(cfg)
    return rungs, cfg


def test_the_ladder_keeps_the_effective_batch_then_narrows_targets_then_shortens():
    cfg = _cfg("trainer.micro_batch_size=8", "trainer.gradient_accumulation_steps=2", "trainer.max_length=512",
               "trainer.oom_min_max_length=128")
    rungs, last = _walk(cfg)
    actions = [r.action for r in rungs]
    assert actions == ["halve micro-batch, keep effective batch"] * 3 + ["qv-fallback LoRA targets"] + ["shorter max length"] * 2
    micro_accum = [(r.overrides["trainer.micro_batch_size"], r.overrides["trainer.gradient_accumulation_steps"])
                   for r in rungs[:3]]
    assert micro_accum == [(4, 4), (2, 8), (1, 16)]
    assert all(m * a == 16 for m, a in micro_accum)
    assert rungs[3].restart and not any(r.restart for r in rungs[:3] + rungs[4:])
    assert list(last.lora.target_modules) == qv_fallback_targets() == ["q_proj", "v_proj"]
    assert last.trainer.max_length == 128


@pytest.mark.parametrize("micro,accum,expected", [(6, 1, (3, 2)), (3, 2, (1, 6)), (5, 1, (1, 5))])
def test_odd_micro_batches_keep_the_effective_batch_exact(micro, accum, expected):
    rung = next_rung(_cfg(f"trainer.micro_batch_size={micro}", f"trainer.gradient_accumulation_steps={accum}"))
    got = (rung.overrides["trainer.micro_batch_size"], rung.overrides["trainer.gradient_accumulation_steps"])
    assert got == expected and got[0] * got[1] == micro * accum


def test_apply_does_not_touch_the_original_and_describe_names_old_and_new():
    cfg = _cfg("trainer.micro_batch_size=4")
    rung = next_rung(cfg)
    assert rung.describe(cfg) == ("halve micro-batch, keep effective batch: trainer.micro_batch_size 4 -> 2, "
                                  "trainer.gradient_accumulation_steps 1 -> 2")
    new = rung.apply(cfg)
    assert cfg.trainer.micro_batch_size == 4 and new.trainer.micro_batch_size == 2
    assert OmegaConf.select(new, "model.name") == cfg.model.name


def test_oom_fallback_is_validated():
    from compose_helpers import refusal

    message = refusal(["trainer.oom_fallback=sometimes"])
    assert "'sometimes' is not a valid bool" in message and "full_key: trainer.oom_fallback" in message


def test_an_oom_in_evaluation_halves_the_evaluation_batch_first():
    cfg = _cfg("trainer.eval_batch_size=16", "trainer.micro_batch_size=8")
    rung = next_rung(cfg, during_evaluation=True)
    assert rung.overrides == {"trainer.eval_batch_size": 8} and not rung.restart
    assert "trainer.micro_batch_size" in next_rung(cfg).overrides  # a training OOM leaves evaluation alone


def test_with_an_effective_batch_only_the_micro_batch_changes():
    from loralab.batching import batch_plan

    cfg = _cfg("trainer.micro_batch_size=8", "trainer.effective_batch_size=32")
    rung = next_rung(cfg)
    assert rung.overrides == {"trainer.micro_batch_size": 4}
    plan = batch_plan(rung.apply(cfg).trainer, cfg.optimizer.lr, 1)
    assert (plan.micro_batch_size, plan.gradient_accumulation_steps, plan.effective_batch_size) == (4, 8, 32)


def test_qv_rung_is_skipped_for_a_model_without_those_projections():
    cfg = _cfg("trainer.micro_batch_size=1", "model.linear_modules=[c_attn,c_proj,c_fc]",
               "lora.target_modules=[c_attn]", "trainer.max_length=256", "trainer.oom_min_max_length=128")
    assert next_rung(cfg).action == "shorter max length"


def test_in_evaluation_reads_the_traceback():
    from loralab.oom import in_evaluation

    def evaluation_loop():
        raise RuntimeError("oom")

    def training_step():
        raise RuntimeError("oom")

    for fn, expected in ((evaluation_loop, True), (training_step, False)):
        try:
            fn()
        except RuntimeError as exc:
            assert in_evaluation(exc) is expected


def _cuda_oom():
    import torch

    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_train_with_fallback_retries_down_the_ladder_until_an_attempt_ends():
    from loralab.oom import train_with_fallback

    cfg = compose(["trainer.micro_batch_size=4", "trainer.gradient_accumulation_steps=2"])
    seen, history = [], []

    def attempt(c):
        seen.append(c.trainer.micro_batch_size)
        if c.trainer.micro_batch_size > 1:
            raise _cuda_oom()

    def retry(c, rung, error):
        history.append({"change": rung.describe(c), "error": error})
        return rung.apply(c)

    train_with_fallback(attempt, cfg, enabled=True, history=history, retry=retry)
    assert seen == [4, 2, 1] and len(history) == 2 and "out of memory" in history[0]["error"]


def test_train_with_fallback_leaves_an_oom_before_training_and_a_disabled_ladder_alone():
    import torch

    from loralab.oom import train_with_fallback

    cfg = compose(["trainer.micro_batch_size=4"])

    def attempt(c):
        raise _cuda_oom()

    def retry(c, rung, error):  # pragma: no cover - must not be reached
        raise AssertionError("retried")

    with pytest.raises(torch.OutOfMemoryError):  # loading the model is not the ladder's to fix
        train_with_fallback(attempt, cfg, enabled=True, history=[], retry=retry, training_started=lambda: False)
    with pytest.raises(torch.OutOfMemoryError):  # a CPU, several ranks, or trainer.oom_fallback=false
        train_with_fallback(attempt, cfg, enabled=False, history=[], retry=retry)
