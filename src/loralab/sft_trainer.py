"""TRL's SFTTrainer with one switch: TRL 1.x always routes the loss through its fused, tiled LM
head (``fused_lm_head=True``). On a GPU that saves the (batch, seq, vocab) logits' memory; on a
CPU the tiling costs time (about half again per step on the embedded model). By default
(``trainer.fused_lm_head=null``) TRL's head is therefore kept on CUDA and, on CPU, the plain head
is computed only at the positions whose next token is trained (the prompt's positions need no
logits), logging the token accuracy and count TRL logs."""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from peft.optimizers import create_loraplus_optimizer
from trl import SFTTrainer


def trained_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positions, targets): the sequence positions whose next token carries a label in any row,
    and those next tokens (-100 where a row has none at a kept position)."""
    targets = labels[:, 1:]
    positions = (targets != -100).any(dim=0).nonzero().squeeze(-1)
    return positions, targets[:, positions]


def accepts_logits_to_keep(model) -> bool:
    """transformers' causal LMs take ``logits_to_keep`` (an int or a tensor of positions); a
    remote-code model may not, and then gets the whole head."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


class LoralabSFTTrainer(SFTTrainer):
    def __init__(self, *args, fused_lm_head: bool = True, loraplus_lr_ratio: float | None = None, **kwargs):
        self.fused_lm_head = fused_lm_head
        self.loraplus_lr_ratio = loraplus_lr_ratio
        super().__init__(*args, **kwargs)
        self.keeps_logits = accepts_logits_to_keep(self.model)  # once, not every step

    def create_optimizer(self, model=None):
        if self.optimizer is None and self.loraplus_lr_ratio:
            opt_model = self.model if model is None else model
            optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            kwargs.pop("lr", None)
            self.optimizer = create_loraplus_optimizer(
                opt_model, optimizer_cls, lr=self.args.learning_rate, loraplus_lr_ratio=self.loraplus_lr_ratio,
                loraplus_weight_decay=self.args.weight_decay, **kwargs)
        return super().create_optimizer(model)  # keeps what is set; wraps it where the Trainer would

    def plain_cross_entropy(self, inputs) -> bool:
        """True when the loss is the plain next-token cross-entropy this path computes; TRL's own
        path handles the rest (label smoothing, a custom or DFT loss, a router's aux loss,
        pre-shifted labels under context parallelism)."""
        return not (self.label_smoother is not None or self.compute_loss_func is not None
                    or self.args.loss_type != "nll" or getattr(self, "aux_loss_enabled", False)
                    or "shift_labels" in inputs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.fused_lm_head or not self.plain_cross_entropy(inputs):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        positions, targets = trained_positions(labels)
        if self.keeps_logits and not return_outputs:
            outputs = model(**inputs, use_cache=False, logits_to_keep=positions)
            logits = outputs.logits.float()
        else:  # a caller asking for the outputs gets every position's logits, as from the model itself
            outputs = model(**inputs, use_cache=False)
            logits = outputs.logits[:, positions].float()
        summed = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-100, reduction="sum")
        # the model's own loss contract, which the Trainer's accumulation and device scaling assume:
        # a sum over the accumulated batch's tokens when the Trainer counts them, else a mean
        scored = (targets != -100).sum()
        per_batch = num_items_in_batch is not None and self.model_accepts_loss_kwargs
        loss = summed / (num_items_in_batch if per_batch else scored.clamp(min=1))
        if per_batch and self.args.average_tokens_across_devices:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())  # as Trainer.compute_loss scales
        with torch.no_grad():
            correct = (logits.argmax(-1) == targets) & (targets != -100)
            n_valid = self.accelerator.gather_for_metrics(scored).sum()
            n_correct = self.accelerator.gather_for_metrics(correct.sum()).sum()
            self._metrics[mode]["mean_token_accuracy"].append((n_correct / n_valid).item() if n_valid > 0 else 0.0)
            if mode == "train":
                # packing (padding-free): one flattened row without an attention mask, counted as TRL counts it
                mask = inputs.get("attention_mask")
                tokens = mask.sum() if mask is not None else torch.tensor(inputs["position_ids"].size(1), device=inputs["position_ids"].device)
                self._total_train_tokens += self.accelerator.gather_for_metrics(tokens).sum().item()
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        return (loss, outputs) if return_outputs else loss
