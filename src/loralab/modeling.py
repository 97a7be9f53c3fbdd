"""Builders for the tokenizer, the base model (optionally 4/8-bit) and the LoRA adapter.

Hub models keep the real ``from_pretrained`` path; the embedded model is first materialised to
a local directory (see embedded.py) and then takes the very same path."""

from __future__ import annotations

import contextlib
import logging
import os
from importlib import resources
from pathlib import Path

import torch
from omegaconf import DictConfig

from .config.schema import ALL_LINEAR
from .errors import ConfigError, Problem
from .hardware import Hardware, Precision, attention_implementation

log = logging.getLogger(__name__)

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def chat_template_text(name: str) -> str:
    path = resources.files("loralab.chat_templates") / f"{name}.jinja"
    if not path.is_file():
        available = sorted(p.name.removesuffix(".jinja") for p in resources.files("loralab.chat_templates").iterdir()
                           if p.name.endswith(".jinja"))
        raise ConfigError([Problem("model.chat_template", name, f"no such template; available: {available}")])
    return path.read_text(encoding="utf-8")


def model_location(model_cfg: DictConfig, cache_dir: str) -> str:
    """A local directory or hub id that from_pretrained understands. With ``model.init=random``:
    a cached checkpoint of random weights from ``model.arch_config``, beside the usual tokenizer."""
    location = _pretrained_location(model_cfg, cache_dir)
    if model_cfg.get("init", "pretrained") == "random":
        from .tiny import random_model_dir

        return str(random_model_dir(model_cfg, location, cache_dir))
    return location


def _pretrained_location(model_cfg: DictConfig, cache_dir: str) -> str:
    if model_cfg.source == "embedded":
        from .embedded import materialised_dir

        return str(materialised_dir(cache_dir))
    name = model_cfg.name_or_path
    path = Path(name).expanduser()
    if path.exists():
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise ConfigError([Problem("model.name_or_path", name,
                                   "no such local directory, and not a hub id of the form org/name; give an "
                                   "existing model directory or a hub id such as Qwen/Qwen2.5-1.5B-Instruct")])
    return name


def tokenizer_for(cfg: DictConfig):
    """The tokenizer training would use (for the embedded model this materialises it once)."""
    return build_tokenizer(cfg.model, model_location(cfg.model, cfg.paths.cache_dir))


def build_tokenizer(model_cfg: DictConfig, location: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location, revision=model_cfg.revision,
                                              trust_remote_code=model_cfg.trust_remote_code)
    tokenizer.chat_template = chat_template_text(model_cfg.chat_template)
    # Before the checks below: an added token may be the end of turn or the pad. Tokens already in
    # the vocabulary are left as they are (their rows are still trained, see apply_lora).
    added = list(model_cfg.get("add_special_tokens") or [])
    if added:
        tokenizer.add_tokens(added, special_tokens=True)
    vocab = tokenizer.get_vocab()
    eot = model_cfg.end_of_turn_token
    if eot not in vocab:
        raise ConfigError([Problem("model.end_of_turn_token", eot, f"not in the tokenizer of {location}; "
                                   "set the token this model ends its turns with")])
    pad = model_cfg.pad_token
    if pad is None:
        pad = tokenizer.pad_token
    if pad is None or pad == eot:
        raise ConfigError([Problem("model.pad_token", pad,
                                   f"the tokenizer's pad token is {tokenizer.pad_token!r}, the end-of-turn token "
                                   f"{eot!r} or none: set a distinct existing token, e.g. <|endoftext|>")])
    if pad not in vocab:
        raise ConfigError([Problem("model.pad_token", pad, f"not in the vocabulary of {location}; pick an existing "
                                   "unused token (Qwen: <|endoftext|>, Llama-3.1: <|finetune_right_pad_id|>)")])
    tokenizer.pad_token = pad
    # Generation and the trainer stop on the end of the assistant turn, not the document end.
    tokenizer.eos_token = eot
    return tokenizer


def _quantization_config(model_cfg: DictConfig, precision: Precision):
    q = model_cfg.quantization
    if q.mode == "none":
        return None
    from transformers import BitsAndBytesConfig

    if q.mode == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = precision.torch_dtype if q.compute_dtype == "auto" else DTYPES[q.compute_dtype]
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=q.mode, bnb_4bit_use_double_quant=q.double_quant,
                              bnb_4bit_compute_dtype=compute, bnb_4bit_quant_storage=torch.uint8)


def _attn_implementation(requested: str, hw: Hardware) -> str:
    chosen, why = attention_implementation(requested, hw)
    if why:
        log.warning(why)
    return chosen


def build_model(model_cfg: DictConfig, location: str, precision: Precision, hw: Hardware,
                gradient_checkpointing: bool, tokenizer=None):
    """The base model, fitted to ``tokenizer`` (the run's, from build_tokenizer; built here when not
    given): see fit_to_tokenizer."""
    from transformers import AutoModelForCausalLM

    quant = _quantization_config(model_cfg, precision)
    kwargs = dict(revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code,
                  dtype=precision.torch_dtype, attn_implementation=_attn_implementation(model_cfg.attn_implementation, hw))
    if quant is not None:
        kwargs["quantization_config"] = quant
        if hw.device == "cuda":
            # QLoRA under DDP: each rank holds its own full copy on its own GPU.
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    model = AutoModelForCausalLM.from_pretrained(location, **kwargs)
    fit_to_tokenizer(model, tokenizer if tokenizer is not None else build_tokenizer(model_cfg, location))
    if quant is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    return model


def fit_to_tokenizer(model, tokenizer) -> None:
    """Give every token of ``tokenizer`` an embedding row and make generation stop on its end of turn.

    Added special tokens beyond the embedding get new rows (padded to a multiple of 64), set to the
    mean of the existing rows: a neutral start, and the same on every load, so an adapter trained on
    them reloads onto an identical base. The generation config's eos gains the end-of-turn id, so
    ``generate`` (ours, a merged model's, a server's) stops where the model was trained to stop."""
    rows = model.get_input_embeddings().num_embeddings  # not weight.shape: 0 when ZeRO-3 partitions it
    if len(tokenizer) > rows:
        model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=64, mean_resizing=False)
        layers = [model.get_input_embeddings(), model.get_output_embeddings()]
        weights = {id(layer.weight): layer.weight for layer in layers if layer is not None}  # once when tied
        with torch.no_grad():
            for weight in weights.values():
                weight[rows:] = weight[:rows].mean(dim=0)
    config = model.generation_config
    eos = config.eos_token_id
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    config.eos_token_id = list(dict.fromkeys([tokenizer.eos_token_id, *eos]))
    config.pad_token_id = tokenizer.pad_token_id


def added_token_ids(tokenizer, model_cfg: DictConfig) -> list[int]:
    """Ids of model.add_special_tokens in ``tokenizer`` (build_tokenizer added them)."""
    return [tokenizer.convert_tokens_to_ids(t) for t in model_cfg.get("add_special_tokens") or []]


def lora_alpha(lora_cfg: DictConfig) -> float:
    return lora_cfg.alpha if lora_cfg.alpha is not None else lora_cfg.alpha_ratio * lora_cfg.r


def peft_config(lora_cfg: DictConfig, trainable_tokens: list[int] | dict[str, list[int]] | None = None,
                model=None):
    """peft's LoraConfig; ``trainable_tokens``: embedding rows trained in full and saved with the
    adapter. ``model`` is needed for ``lora.top_layers`` (its layer count and linear names)."""
    from peft import LoraConfig, TaskType

    targets = list(lora_cfg.target_modules)
    layers = top_layer_indices(model, lora_cfg.top_layers) if lora_cfg.get("top_layers") is not None else None
    if layers is not None and targets == [ALL_LINEAR]:
        # peft takes a layer selection only with named modules, not its "all-linear" shorthand
        targets = linear_module_names(model)
    init = lora_cfg.init_lora_weights
    init = {"true": True, "false": False}.get(str(init).lower(), init)
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=lora_cfg.r, lora_alpha=lora_alpha(lora_cfg),
                      lora_dropout=lora_cfg.dropout, bias=lora_cfg.bias,
                      target_modules=ALL_LINEAR if targets == [ALL_LINEAR] else targets,
                      layers_to_transform=layers,
                      use_rslora=lora_cfg.use_rslora, use_dora=lora_cfg.use_dora, init_lora_weights=init,
                      modules_to_save=list(lora_cfg.modules_to_save) or None,
                      trainable_token_indices=trainable_tokens or None)


@contextlib.contextmanager
def peft_checkpointing_name_quiet():
    """peft reads transformers' old name for the checkpointing flag when it wraps a model, which
    warns in every run and says nothing the user can act on."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def apply_lora(model, lora_cfg: DictConfig, token_ids: list[int] | tuple = ()):
    """Wrap ``model`` with LoRA; the rows of ``token_ids`` (added_token_ids) are trained too."""
    from peft import get_peft_model

    config = peft_config(lora_cfg, _trainable_tokens(model, token_ids), model)
    with peft_checkpointing_name_quiet():
        adapted = get_peft_model(model, config)
    if config.layers_to_transform:
        cut_backward_below(adapted, min(config.layers_to_transform))
    return adapted


def top_layer_indices(model, top: int) -> list[int] | None:
    """The top ``top`` decoder layers, like ``layers[-top:]``; None (adapt every layer) on a model
    that has no more, so one recipe fits models of any depth."""
    count = model.config.get_text_config().num_hidden_layers
    if top >= count:
        log.info("lora.top_layers=%d: the model has %d decoder layers, all adapted", top, count)
        return None
    return list(range(count - top, count))


def linear_module_names(model) -> list[str]:
    """What peft's "all-linear" selects: every linear layer's name except the output head's."""
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings()
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, (torch.nn.Linear, Conv1D)) and module is not head})


def cut_backward_below(model, first: int) -> None:
    """Detach the hidden states entering decoder layer ``first`` when nothing below it trains.

    Autograd would stop there by itself, unless the input embeddings' output requires grad: TRL and
    transformers make it so whenever gradient checkpointing is on, and the backward pass (with its
    recomputation) then runs through every frozen layer below. Trainable embedding rows or biases
    below the cut keep the whole backward pass."""
    decoder = next(module for name, module in model.named_modules()
                   if isinstance(module, torch.nn.ModuleList) and name.endswith("layers") and len(module) > first)
    below = [model.get_input_embeddings(), *decoder[:first]]
    if any(p.requires_grad for module in below for p in module.parameters()):
        log.info("lora.top_layers: parameters below the adapted layers train too; the backward pass goes through all")
        return

    def cut(hidden: torch.Tensor) -> torch.Tensor:
        # a leaf that still requires grad when the input did: reentrant checkpointing tracks only
        # its inputs, and would otherwise leave the adapted layers out of the backward pass
        return hidden.detach().requires_grad_(hidden.requires_grad)

    def detach_hidden_states(module, args, kwargs):
        if args:
            return (cut(args[0]), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": cut(kwargs["hidden_states"])}

    decoder[first].register_forward_pre_hook(detach_hidden_states, with_kwargs=True)


def _trainable_tokens(model, token_ids) -> list[int] | dict[str, list[int]] | None:
    """peft's trainable_token_indices: the input embedding rows and, when the output head is not
    tied to them (Llama-3.1-8B, Kanana), its rows too, or the model could read the new tokens but
    never learn to write them. Tied heads follow the embedding in peft by themselves."""
    ids = sorted(set(token_ids))
    if not ids:
        return None
    embed, head = model.get_input_embeddings(), model.get_output_embeddings()
    if head is None or head.weight is embed.weight:
        return ids
    names = {module: name.rsplit(".", 1)[-1] for name, module in model.named_modules()}
    return {names[embed]: ids, names[head]: ids}


def parameter_counts(model) -> dict[str, int | float]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    lora_modules = sum(1 for name, _ in model.named_modules() if name.endswith(".lora_A"))
    return {"trainable": trainable, "total": total, "trainable_share": trainable / max(total, 1),
            "lora_modules": lora_modules}
