"""Value checks the type system cannot express, run on the composed config before any model
loads. Each failure names the field, the value it had and what to do instead; all failures are
reported together so a user fixes a config in one pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from .schema import ALL_LINEAR

SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup", "cosine_with_min_lr")
OPTIMS = ("adamw_torch", "adamw_torch_fused", "adamw_bnb_8bit", "paged_adamw_8bit", "paged_adamw_32bit", "adafactor")
QUANT_MODES = ("none", "nf4", "fp4", "int8")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
STRATEGIES = ("steps", "epoch", "no")
TOOLS_IN_PROMPT = ("none", "compact", "full")


@dataclass(frozen=True)
class Problem:
    field: str
    value: Any
    fix: str

    def __str__(self) -> str:
        return f"  {self.field} = {self.value!r}: {self.fix}"


class ConfigError(ValueError):
    """Raised with every problem found in a composed config."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"invalid config ({len(problems)} problem{'s' * (len(problems) > 1)}):\n{lines}")


def _one_of(problems: list[Problem], field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        problems.append(Problem(field, value, f"must be one of {', '.join(allowed)}"))


def _check_model(cfg: DictConfig, problems: list[Problem]) -> None:
    m = cfg.model
    _one_of(problems, "model.source", m.source, ("embedded", "hub"))
    _one_of(problems, "model.quantization.mode", m.quantization.mode, QUANT_MODES)
    _one_of(problems, "model.attn_implementation", m.attn_implementation, ("eager", "sdpa", "flash_attention_2"))
    if m.pad_token is not None and m.pad_token == m.end_of_turn_token:
        problems.append(Problem("model.pad_token", m.pad_token,
                                "must differ from model.end_of_turn_token: padding is masked out of the loss, so the "
                                "model would never learn to stop; pick a distinct existing token (e.g. <|endoftext|>)"))


def _check_lora(cfg: DictConfig, problems: list[Problem]) -> None:
    lora = cfg.lora
    if not 1 <= lora.r <= 256:
        problems.append(Problem("lora.r", lora.r, "must be in 1..256 (8-64 is typical)"))
    if lora.alpha is not None and lora.alpha <= 0:
        problems.append(Problem("lora.alpha", lora.alpha, "must be > 0, or null to derive alpha_ratio * r"))
    if lora.alpha is None and lora.alpha_ratio <= 0:
        problems.append(Problem("lora.alpha_ratio", lora.alpha_ratio, "must be > 0 (2.0 gives alpha = 2r)"))
    if not 0.0 <= lora.dropout < 1.0:
        problems.append(Problem("lora.dropout", lora.dropout, "must be in [0, 1)"))
    _one_of(problems, "lora.bias", lora.bias, ("none", "all", "lora_only"))
    targets = list(lora.target_modules)
    known = set(cfg.model.linear_modules)
    if not targets:
        problems.append(Problem("lora.target_modules", targets, f"name at least one module, or [{ALL_LINEAR}]"))
    unknown = [t for t in targets if t != ALL_LINEAR and t not in known]
    if unknown:
        problems.append(Problem("lora.target_modules", targets,
                                f"{unknown} not in model {cfg.model.name}'s linear layers "
                                f"{sorted(known)}; use those names or [{ALL_LINEAR}]"))


def _check_optimizer(cfg: DictConfig, problems: list[Problem]) -> None:
    opt = cfg.optimizer
    if not 1e-7 < opt.lr <= 1e-2:
        problems.append(Problem("optimizer.lr", opt.lr, "must be in (1e-7, 1e-2]; LoRA usually wants 5e-5..5e-4"))
    if not 0.0 <= opt.warmup_ratio <= 0.5:
        problems.append(Problem("optimizer.warmup_ratio", opt.warmup_ratio, "must be in [0, 0.5]"))
    if opt.warmup_steps is not None and opt.warmup_steps < 0:
        problems.append(Problem("optimizer.warmup_steps", opt.warmup_steps, "must be >= 0, or null to use warmup_ratio"))
    if opt.weight_decay < 0:
        problems.append(Problem("optimizer.weight_decay", opt.weight_decay, "must be >= 0"))
    if opt.max_grad_norm <= 0:
        problems.append(Problem("optimizer.max_grad_norm", opt.max_grad_norm, "must be > 0"))
    _one_of(problems, "optimizer.scheduler", opt.scheduler, SCHEDULERS)
    _one_of(problems, "optimizer.optim", opt.optim, OPTIMS)


def _check_trainer(cfg: DictConfig, problems: list[Problem]) -> None:
    t = cfg.trainer
    for name in ("micro_batch_size", "eval_batch_size", "gradient_accumulation_steps", "logging_steps",
                 "eval_steps", "save_steps"):
        if t[name] < 1:
            problems.append(Problem(f"trainer.{name}", t[name], "must be >= 1"))
    if t.max_steps <= 0 and t.num_epochs <= 0:
        problems.append(Problem("trainer.max_steps", t.max_steps, "set max_steps > 0 or num_epochs > 0"))
    if t.max_length < 16:
        problems.append(Problem("trainer.max_length", t.max_length, "must be >= 16 tokens"))
    _one_of(problems, "trainer.gradient_checkpointing", str(t.gradient_checkpointing).lower(), ("auto", "true", "false"))
    _one_of(problems, "trainer.fused_lm_head", str(t.fused_lm_head).lower(), ("auto", "true", "false"))
    _one_of(problems, "trainer.eval_strategy", t.eval_strategy, STRATEGIES)
    _one_of(problems, "trainer.save_strategy", t.save_strategy, STRATEGIES)
    if t.load_best_model_at_end:
        if t.eval_strategy == "no":
            problems.append(Problem("trainer.load_best_model_at_end", True,
                                    "needs evaluation: set trainer.eval_strategy=steps or load_best_model_at_end=false"))
        elif t.save_strategy != t.eval_strategy:
            problems.append(Problem("trainer.save_strategy", t.save_strategy,
                                    f"must equal trainer.eval_strategy ({t.eval_strategy}) when load_best_model_at_end"))
        elif t.eval_strategy == "steps" and t.eval_steps >= 1 and t.save_steps % t.eval_steps != 0:
            problems.append(Problem("trainer.save_steps", t.save_steps,
                                    f"must be a multiple of trainer.eval_steps ({t.eval_steps}) when "
                                    "load_best_model_at_end, or the best checkpoint may never be saved"))
    metric = t.metric_for_best_model
    if t.eval_strategy != "no" and metric:
        name = metric if metric.startswith("eval_") else f"eval_{metric}"
        if name.startswith("eval_tool_") and not cfg.eval.during_training:
            problems.append(Problem("trainer.metric_for_best_model", metric,
                                    "tool-call metrics exist only with eval.during_training=true"))
        elif name != "eval_loss" and not name.startswith("eval_tool_"):
            problems.append(Problem("trainer.metric_for_best_model", metric,
                                    "must be eval_loss or an eval_tool_* metric (e.g. eval_tool_exact_call_accuracy)"))
    if t.early_stopping_patience is not None:
        if t.early_stopping_patience < 1:
            problems.append(Problem("trainer.early_stopping_patience", t.early_stopping_patience, "must be >= 1 or null"))
        if t.eval_strategy == "no":
            problems.append(Problem("trainer.early_stopping_patience", t.early_stopping_patience,
                                    "early stopping needs evaluation: set trainer.eval_strategy=steps"))


def _check_precision(cfg: DictConfig, problems: list[Problem]) -> None:
    _one_of(problems, "precision.dtype", cfg.precision.dtype, PRECISIONS)
    compute = cfg.model.quantization.compute_dtype
    _one_of(problems, "model.quantization.compute_dtype", compute, ("auto", "float16", "bfloat16", "float32"))


def _check_data(cfg: DictConfig, problems: list[Problem]) -> None:
    d = cfg.data
    _one_of(problems, "data.source", d.source, ("gennx", "files"))
    _one_of(problems, "data.tools_in_prompt", d.tools_in_prompt, TOOLS_IN_PROMPT)
    if d.source == "files" and not d.train_file:
        problems.append(Problem("data.train_file", d.train_file, "set data.train_file=<path> for data=files"))
    if d.source == "gennx" and d.generator.size < 100:
        problems.append(Problem("data.generator.size", d.generator.size, "must be >= 100 for an 80/10/10 split"))
    for name in ("max_eval_examples", "max_train_examples"):
        if d[name] is not None and d[name] < 1:
            problems.append(Problem(f"data.{name}", d[name], "must be >= 1, or null for all rows"))


CHECKS = (_check_model, _check_lora, _check_optimizer, _check_trainer, _check_precision, _check_data)


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every problem; return silently when the config is sound."""
    problems: list[Problem] = []
    for check in CHECKS:
        check(cfg, problems)
    if problems:
        raise ConfigError(problems)
