"""Tool-call metrics at every evaluation, on a fixed validation sample, logged like any metric
(``eval_tool_exact_call_accuracy`` ...) so they can drive ``metric_for_best_model`` and early
stopping: people fine-tune for the task, not for the loss."""

from __future__ import annotations

from transformers import TrainerCallback

from .aggregate import DURING_TRAINING, DURING_TRAINING_PREFIX
from .runner import evaluate_records


class ToolCallEvalCallback(TrainerCallback):
    def __init__(self, records, tools, data_cfg, tokenizer, batch_size: int, max_new_tokens: int,
                 tool_call_format: str = "hermes"):
        self.records, self.tools, self.data_cfg = records, tools, data_cfg
        self.tool_call_format = tool_call_format
        self.tokenizer, self.batch_size, self.max_new_tokens = tokenizer, batch_size, max_new_tokens
        self.trainer = None  # set once the trainer exists, to log through it

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if metrics is None or model is None:
            return
        result = evaluate_records(model, self.tokenizer, self.records, self.tools, self.data_cfg,
                                  self.batch_size, self.max_new_tokens, self.tool_call_format)
        rates = result["report"]["rates"]
        new = {f"{DURING_TRAINING_PREFIX}{name}": rates[name]["value"] for name in DURING_TRAINING if rates[name]["value"] is not None}
        # Mutating `metrics` in place is what the Trainer reads for best-checkpoint selection and early
        # stopping; logging through the trainer puts the values into the history and the trackers.
        metrics.update(new)
        if self.trainer is not None and state.is_world_process_zero:
            self.trainer.log(new)
