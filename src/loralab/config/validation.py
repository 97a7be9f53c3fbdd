"""Value checks the type system cannot express, run on the composed config before any model
loads (the allowed values of enumerated fields are the schema's types, enforced by OmegaConf when
the config is composed). Each failure names the field, the value it had and what to do instead; all
failures are reported together so a user fixes a config in one pass."""

from __future__ import annotations

import dataclasses
import math

from omegaconf import DictConfig, OmegaConf

from ..data import sources
from ..errors import ConfigError, Problem
from .schema import ALL_LINEAR, ModelConfig

# peft's initialisations that need nothing beyond the LoRA config
INIT_LORA_WEIGHTS = ("true", "false", "gaussian", "pissa", "olora")


def _check_model(cfg: DictConfig, problems: list[Problem]) -> None:
    m = cfg.model
    embedded_origin = ModelConfig.name_or_path
    if m.source == "embedded" and m.name_or_path != embedded_origin:
        problems.append(Problem("model.name_or_path", m.name_or_path,
                                "model.source=embedded always loads the SmolLM2 model shipped with loralab "
                                f"({embedded_origin}) and would ignore this path: add model.source=hub to load "
                                "a hub id or a local model directory"))
    limit = _max_positions(m.get("arch_config"))
    if limit is not None and cfg.trainer.max_length > limit:
        problems.append(Problem("trainer.max_length", cfg.trainer.max_length,
                                f"longer than {m.name}'s {limit:,} positions (max_position_embeddings): "
                                f"use at most {limit}; rows longer than trainer.max_length are truncated"))
    embedding_layers = {"embed_tokens", "lm_head"} & set(cfg.lora.modules_to_save)
    if m.add_special_tokens and embedding_layers:
        problems.append(Problem("lora.modules_to_save", list(cfg.lora.modules_to_save),
                                f"{sorted(embedding_layers)} cannot be trained in full together with "
                                "model.add_special_tokens (whose rows train through peft's trainable tokens): "
                                "drop them from lora.modules_to_save"))
    if m.pad_token is not None and m.pad_token == m.end_of_turn_token:
        problems.append(Problem("model.pad_token", m.pad_token,
                                "must differ from model.end_of_turn_token: padding is masked out of the loss, so the "
                                "model would never learn to stop; pick a distinct existing token (e.g. <|endoftext|>)"))
    _check_random_init(m, problems)


def _check_random_init(m: DictConfig, problems: list[Problem]) -> None:
    if m.init != "random":
        return
    if not m.allow_random_init:
        problems.append(Problem("model.init", m.init,
                                "random weights train an adapter that fits no real model (for benchmarks and "
                                "tests only): set model.init=pretrained, or add model.allow_random_init=true to run "
                                "it anyway"))
    from importlib import resources

    shipped = sorted(p.name.removesuffix(".json") for p in (resources.files("loralab.models") / "arch").iterdir()
                     if p.name.endswith(".json"))
    if m.arch_config not in shipped:
        problems.append(Problem("model.arch_config", m.arch_config,
                                "model.init=random builds the model from a shipped architecture config: one of "
                                f"{shipped}"))


def _max_positions(arch_config: str | None) -> int | None:
    """The shipped architecture's context length, when the model names one."""
    if not arch_config:
        return None
    from importlib import resources
    import json

    path = resources.files("loralab.models") / "arch" / f"{arch_config}.json"
    if not path.is_file():
        return None  # an unknown name is the estimator's error to report, with the list of shipped ones
    return json.loads(path.read_text(encoding="utf-8")).get("max_position_embeddings")


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
    init = str(lora.init_lora_weights).lower()
    if init not in INIT_LORA_WEIGHTS and not init.startswith("pissa_niter_"):
        problems.append(Problem("lora.init_lora_weights", lora.init_lora_weights,
                                f"must be one of {', '.join(INIT_LORA_WEIGHTS)} or pissa_niter_<n> "
                                "(loftq needs a quantisation config loralab does not build)"))
    if lora.get("top_layers") is not None and lora.top_layers < 1:
        problems.append(Problem("lora.top_layers", lora.top_layers,
                                "must be >= 1 (the number of top decoder layers to adapt), or null for all"))
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
    if opt.loraplus_lr_ratio is not None and opt.loraplus_lr_ratio < 1:
        problems.append(Problem("optimizer.loraplus_lr_ratio", opt.loraplus_lr_ratio,
                                "must be >= 1 (B's lr over A's), or null for one lr"))


def _check_trainer(cfg: DictConfig, problems: list[Problem]) -> None:
    t = cfg.trainer
    if isinstance(t.micro_batch_size, str):
        if t.micro_batch_size != "auto":
            problems.append(Problem("trainer.micro_batch_size", t.micro_batch_size,
                                    "must be a number of examples >= 1, or auto (the largest the GPU's memory fits)"))
        elif t.effective_batch_size is None:
            problems.append(Problem("trainer.micro_batch_size", "auto",
                                    "auto keeps trainer.effective_batch_size (examples per optimizer step) whatever "
                                    "micro-batch the GPU fits: set it, e.g. trainer.effective_batch_size=16"))
    for name in ("micro_batch_size", "eval_batch_size", "gradient_accumulation_steps", "logging_steps",
                 "eval_steps", "save_steps"):
        if isinstance(t[name], int) and t[name] < 1:
            problems.append(Problem(f"trainer.{name}", t[name], "must be >= 1"))
    if t.max_steps == 0 or t.max_steps < -1:
        # 0 once ran a single step and reported the run completed
        problems.append(Problem("trainer.max_steps", t.max_steps,
                                "must be >= 1 optimizer steps, or -1 to train for trainer.num_epochs"))
    elif t.max_steps == -1 and not t.num_epochs > 0:
        problems.append(Problem("trainer.num_epochs", t.num_epochs,
                                "must be > 0 when trainer.max_steps=-1 (e.g. 1 or 3), or set trainer.max_steps"))
    if t.max_length < 16:
        problems.append(Problem("trainer.max_length", t.max_length, "must be >= 16 tokens"))
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
    if t.get("max_time") is not None:
        from ..time_budget import max_time_problem

        problem = max_time_problem(t.max_time, cfg.distributed.strategy)
        if problem:
            problems.append(Problem("trainer.max_time", t.max_time, problem))


def _check_packing(cfg: DictConfig, problems: list[Problem]) -> None:
    """Packed (or padding-free) samples stay apart only where the attention builds its mask from
    the position ids that restart per sample: transformers' own modeling code (sdpa, eager:
    block-diagonal mask; flash-attn: varlen spans; tests/test_packing.py). Remote modeling code may
    build a plain causal mask instead, and every sample would then attend to the ones before it."""
    if not cfg.model.trust_remote_code:
        return
    for key in ("trainer.packing", "trainer.padding_free"):
        if OmegaConf.select(cfg, key):
            problems.append(Problem(key, True,
                                    "with model.trust_remote_code=true the model's own code builds the attention mask "
                                    f"and may let the micro-batch's samples attend to each other: set {key}=false "
                                    "(trainer.group_by_length=true keeps padding low)"))


def _check_precision(cfg: DictConfig, problems: list[Problem]) -> None:
    compute = cfg.model.quantization.compute_dtype
    clash = {"fp16": "bfloat16", "bf16": "float16"}.get(cfg.precision.dtype)
    if clash is not None and compute == clash:
        problems.append(Problem("model.quantization.compute_dtype", compute,
                                f"conflicts with precision.dtype={cfg.precision.dtype}: fp16 and bf16 cannot be mixed in "
                                "one run; set model.quantization.compute_dtype=auto (follows the precision group)"))


def _check_data(cfg: DictConfig, problems: list[Problem]) -> None:
    d = cfg.data
    if d.source not in sources.names():
        hint = "" if sources.task_names() else f" ({sources.NOT_REGISTERED})"
        problems.append(Problem("data.source", d.source, f"must be one of {', '.join(sources.names())}{hint}"))
    if d.source == sources.FILES and not d.train_file:
        problems.append(Problem("data.train_file", d.train_file, "set data.train_file=<path> for data=files"))
    if d.source in sources.task_names():
        schema = sources.get(d.source).schema
        if schema is not None and any(f.name not in d for f in dataclasses.fields(schema)):
            problems.append(Problem("data.source", d.source,
                                    f"the {d.source} task's settings come with its data options, not with "
                                    f"data.source alone: choose one (data={' or data='.join(_options_of(d.source))})"))
        else:
            problems += sources.get(d.source).config_problems(d)  # a task's own settings
    for name in ("max_eval_examples", "max_train_examples"):
        if d[name] is not None and d[name] < 1:
            problems.append(Problem(f"data.{name}", d[name], "must be >= 1, or null for all rows"))
    if d.split == "ratios" and d.source == "files":
        _check_split_ratios(d, problems)
    _check_field_templates(d, problems)


def _options_of(source: str) -> list[str]:
    """The data options under conf/data/ that select ``source`` themselves."""
    from .paths import config_dir

    return [p.stem for p in sorted((config_dir() / "data").glob("*.yaml"))
            if OmegaConf.load(p).get("source") == source] or ["<an option of that task>"]


def _check_eval(cfg: DictConfig, problems: list[Problem]) -> None:
    e = cfg.eval
    # a cap of 0 once read as "no cap" and scored every example; point at the switches that skip
    for name in ("max_examples", "base_max_examples"):
        if e[name] is not None and e[name] < 1:
            problems.append(Problem(f"eval.{name}", e[name],
                                    "must be >= 1, or null for every example; eval.at_end=false skips the "
                                    "evaluation, eval.compare_base=false the base model's"))
    for name in ("batch_size", "during_training_examples"):
        if e[name] < 1:
            problems.append(Problem(f"eval.{name}", e[name], "must be >= 1"))
    if e.max_new_tokens is not None and e.max_new_tokens < 1:
        problems.append(Problem("eval.max_new_tokens", e.max_new_tokens,
                                "must be >= 1, or null to derive it from the longest gold answer"))
    if not e.splits:
        problems.append(Problem("eval.splits", list(e.splits), "name at least one split, e.g. [test]"))


def _check_split_ratios(d: DictConfig, problems: list[Problem]) -> None:
    ratios = list(d.split_ratios)
    if len(ratios) != 3 or not all(0.0 <= r <= 1.0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        problems.append(Problem("data.split_ratios", ratios,
                                "must be three shares [train, validation, test], each in [0, 1], summing to 1 "
                                "(e.g. [0.8, 0.1, 0.1])"))
    elif ratios[0] == 0:
        problems.append(Problem("data.split_ratios", ratios, "the train share must be > 0"))
    for name in ("validation_file", "test_file"):
        if d[name]:
            problems.append(Problem(f"data.{name}", d[name],
                                    "data.split=ratios cuts every split from data.train_file: drop this file, or "
                                    "use data.split=files to keep the given splits"))


def _check_field_templates(d: DictConfig, problems: list[Problem]) -> None:
    from ..data.files import template_fields

    if d.prompt_template is not None and not d.completion_template:
        problems.append(Problem("data.completion_template", d.completion_template,
                                "set it with data.prompt_template (e.g. '{answer}'): the completion is what is learnt"))
    if d.completion_template and d.source != "files":
        problems.append(Problem("data.completion_template", d.completion_template,
                                "field templates apply to user files: set data.source=files (data=files)"))
    for name in ("prompt_template", "completion_template"):
        if d[name]:
            try:
                template_fields(d[name])
            except ValueError as exc:
                problems.append(Problem(f"data.{name}", d[name], f"not a valid template ({exc}); name row fields "
                                        "as {question} and write literal braces as {{ and }}"))


def _check_batching(cfg: DictConfig, problems: list[Problem]) -> None:
    # the world size is known only at launch: divisibility by it is checked then (batching.py)
    t = cfg.trainer
    if t.effective_batch_size is not None:
        if t.effective_batch_size < 1:
            problems.append(Problem("trainer.effective_batch_size", t.effective_batch_size,
                                    "must be >= 1, or null to use trainer.gradient_accumulation_steps"))
        elif isinstance(t.micro_batch_size, int) and t.micro_batch_size >= 1 \
                and t.effective_batch_size % t.micro_batch_size != 0:
            lower = t.effective_batch_size // t.micro_batch_size * t.micro_batch_size
            nearest = " or ".join(str(v) for v in (lower, lower + t.micro_batch_size) if v >= 1)
            problems.append(Problem("trainer.effective_batch_size", t.effective_batch_size,
                                    f"must be a multiple of trainer.micro_batch_size ({t.micro_batch_size}): "
                                    f"nearest valid {nearest}"))
    if t.reference_batch_size is not None and t.reference_batch_size < 1:
        problems.append(Problem("trainer.reference_batch_size", t.reference_batch_size, "must be >= 1, or null"))
    elif t.reference_batch_size is None and t.lr_scaling != "none":
        problems.append(Problem("trainer.reference_batch_size", None,
                                f"trainer.lr_scaling={t.lr_scaling} needs the effective batch optimizer.lr was "
                                "tuned for: set trainer.reference_batch_size, or lr_scaling=none"))


def _check_distributed(cfg: DictConfig, problems: list[Problem]) -> None:
    import importlib.util
    import os

    d = cfg.distributed
    if d.timeout_s < 1:
        problems.append(Problem("distributed.timeout_s", d.timeout_s, "must be >= 1 second"))
    quantized = cfg.model.quantization.mode != "none"
    if d.strategy == "deepspeed":
        ds = d.deepspeed
        if importlib.util.find_spec("deepspeed") is None:
            problems.append(Problem("distributed", d.name, "needs DeepSpeed, which is not installed: "
                                    "pip install 'loralab[deepspeed]' (or choose distributed=ddp)"))
        if ds.config_file:
            if not os.path.isfile(os.path.expanduser(ds.config_file)):
                problems.append(Problem("distributed.deepspeed.config_file", ds.config_file, "no such file"))
        else:
            if ds.zero_stage not in (1, 2, 3):
                problems.append(Problem("distributed.deepspeed.zero_stage", ds.zero_stage, "must be 1, 2 or 3"))
            if ds.offload_params != "none" and ds.zero_stage != 3:
                problems.append(Problem("distributed.deepspeed.offload_params", ds.offload_params,
                                        "offloading the weights needs zero_stage=3 (distributed=zero3-offload)"))
            if ds.offload_optimizer != "none" and cfg.optimizer.optim not in ("adamw_torch", "adamw_torch_fused"):
                problems.append(Problem("optimizer.optim", cfg.optimizer.optim,
                                        "with the optimizer offloaded to the CPU, DeepSpeed's CPU Adam takes the "
                                        "step (DeepSpeed refuses other optimizers there): use optimizer=adamw"))
            if quantized and ds.zero_stage == 3:
                problems.append(Problem("model.quantization.mode", cfg.model.quantization.mode,
                                        "QLoRA cannot be combined with ZeRO-3 here: sharding 4-bit weights needs "
                                        "them packed in the compute dtype (bnb_4bit_quant_storage) and the model "
                                        "built under deepspeed.zero.Init, and peft reports that CPU offload then "
                                        "uses more GPU memory, not less. QLoRA already fits one replica per GPU: "
                                        "use distributed=zero2 or ddp, or model.quantization.mode=none for zero3"))
    if d.strategy == "fsdp" and quantized:
        problems.append(Problem("model.quantization.mode", cfg.model.quantization.mode,
                                "QLoRA cannot be combined with FSDP here (sharding 4-bit weights needs them packed "
                                "in the compute dtype): use distributed=ddp or zero2, or model.quantization.mode=none"))


CHECKS = (_check_model, _check_lora, _check_optimizer, _check_trainer, _check_precision, _check_data,
          _check_eval, _check_batching, _check_distributed, _check_packing)


def _check_keys_and_numbers(cfg: DictConfig, problems: list[Problem]) -> None:
    """Keys the schema lacks (added with ``+key=``, which lifts OmegaConf's struct check) and
    numbers that are not finite: either would otherwise be ignored or end in a library traceback."""
    from .overrides import unknown_key_hint

    def walk(node: DictConfig, prefix: str) -> None:
        for key in node.keys():
            path = f"{prefix}{key}"
            if path == "hydra" or path.startswith("hydra."):
                continue
            hint = unknown_key_hint(path, OmegaConf.select(cfg, "data.source"))
            if hint is not None:
                problems.append(Problem(path, node._get_node(key)._value() if not isinstance(
                    node._get_node(key), DictConfig) else "{...}", f"unknown key: {hint}"))
                continue
            child = node._get_node(key)
            if isinstance(child, DictConfig):
                walk(child, f"{path}.")
            elif not child._is_missing() and not child._is_interpolation():
                value = child._value()
                if isinstance(value, float) and not math.isfinite(value):
                    problems.append(Problem(path, value, "must be a finite number"))

    walk(cfg, "")


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every problem; return silently when the config is sound."""
    problems: list[Problem] = []
    _check_keys_and_numbers(cfg, problems)
    if problems:  # the value checks below assume known keys and finite numbers
        raise ConfigError(problems)
    for check in CHECKS:
        check(cfg, problems)
    if problems:
        raise ConfigError(problems)
