"""LoralabSFTTrainer on the tiny model with LoRA, built through loralab's own config mapping (the
recipe's SFTConfig), on the bundled task's first training rows: shared by the loss-path and the
compile tests."""

from __future__ import annotations

import torch

import loralab
from loralab.hardware import Hardware, resolve_precision

CPU = Hardware("cpu", "test CPU", None, False, False, 2, None)
# one optimiser step of one micro-batch, nothing evaluated or saved, no dropout (deterministic)
BASE = ("model.source=hub", "model.name=tiny", "data.generator.size=100", "trainer.max_steps=1",
        "trainer.eval_strategy=no", "trainer.save_strategy=no", "trainer.load_best_model_at_end=false",
        "trainer.eval_on_start=false", "lora.dropout=0.0")


def tiny_lora_trainer(tiny_dir, out_dir, overrides=(), rows: int = 24, nonzero_b: bool = False):
    """The trainer over ``rows`` tokenized training rows (fp32, the CPU's plain LM head). LoRA's B
    matrices start at zero unless ``nonzero_b``: then the adapter's gradients depend on the whole path."""
    from transformers import AutoModelForCausalLM

    from loralab.batching import batch_plan
    from loralab.data.pipeline import load_splits, tokenize_split
    from loralab.modeling import apply_lora, build_tokenizer
    from loralab.sft_trainer import LoralabSFTTrainer
    from loralab.training_args import build_sft_config

    cfg = loralab.compose([f"model.name_or_path={tiny_dir}", *BASE, *overrides])
    tokenizer = build_tokenizer(cfg.model, str(tiny_dir))
    splits = load_splits(cfg.data)
    train = tokenize_split(splits.records["train"][:rows], tokenizer, cfg.data, splits.tools,
                           cfg.trainer.max_length, "train")
    torch.manual_seed(0)
    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32), cfg.lora)
    if nonzero_b:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.02)
    args = build_sft_config(cfg, resolve_precision("fp32", None, CPU), CPU, str(out_dir),
                            batch_plan(cfg.trainer, cfg.optimizer.lr))
    return LoralabSFTTrainer(model=model, args=args, train_dataset=train.dataset, processing_class=tokenizer,
                             fused_lm_head=False, loraplus_lr_ratio=cfg.optimizer.loraplus_lr_ratio)
