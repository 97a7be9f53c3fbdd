"""A tiny random-weight chat model with a real byte-level BPE tokenizer, built offline in about
a second. It exercises the full pipeline (templates, masks, LoRA, QLoRA, generation, merge)
without a model hub: the test suite and `make bench`'s smoke mode use it. Also the random
checkpoints of ``model.init=random``: a shipped architecture's shape with random weights."""

from __future__ import annotations

from pathlib import Path

# Special tokens per chat family: the end-of-turn, a distinct pad, and the family's markers.
# "chatml" stands for SmolLM2 and Qwen2.5, "llama-3" for Llama-3.1 and Kanana-1.5 (a Llama-3
# tokenizer with the same header and end-of-turn tokens).
FAMILIES = {
    "chatml": {"bos": None, "eot": "<|im_end|>", "pad": "<|endoftext|>",
               "extra": ["<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]},
    "llama-3": {"bos": "<|begin_of_text|>", "eot": "<|eot_id|>", "pad": "<|finetune_right_pad_id|>",
                "extra": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                          "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>"]},
}

_CORPUS = [
    "Create node 1 at x=0, y=0, z=3.5 and a beam between nodes 1 and 2.",
    "노드 1번을 좌표 (0, 0, 3.5)에 생성하고 1번과 2번 사이에 보를 만들어 줘.",
    '{"name": "POST /db/node", "arguments": {"id": 1, "x": 0.0, "y": 0.0, "z": 3.5}}',
    "system user assistant tool You are a helpful assistant. tool_response tools function",
    "하중 고정하중 활하중 재료 단면 요소 지점 해석 material section element support load case kN MPa mm",
    "0123456789 .,:;!?()[]{}<>|/_-+=*'\" \n",
]


# The tokenizer family of each training chat template (conf/model/*.yaml: chat_template).
TEMPLATE_FAMILIES = {"chatml": "chatml", "llama-3.1": "llama-3", "kanana-1.5": "llama-3"}


def build_tiny_tokenizer(family: str = "chatml", vocab_size: int = 512, corpus: list[str] | None = None):
    """A byte-level BPE tokenizer trained on a few lines, with the family's special tokens
    (FAMILIES), its end-of-turn as eos and its distinct pad: what the family's real tokenizer
    looks like to the chat template and the assistant mask, at a tiny vocabulary. Trained on
    ``corpus`` instead (a task's own text), it splits that text about as finely as a real
    tokenizer does: the bundled task's rows average ~160 tokens at a vocabulary of 1,024, as
    with SmolLM2's 49,152, against ~230 with the few lines."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    spec = FAMILIES[family]
    specials = list(dict.fromkeys([spec["pad"], *spec["extra"]]))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus or _CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=spec["eot"], pad_token=spec["pad"],
                                   bos_token=spec["bos"])


def build_tiny_model(out_dir: str | Path, family: str = "chatml", vocab_size: int = 512, hidden: int = 64,
                     layers: int = 2, seed: int = 0, tie_embeddings: bool = True) -> Path:
    """Write a tokenizer + LlamaForCausalLM with random weights into out_dir and return it."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    spec = FAMILIES[family]
    fast = build_tiny_tokenizer(family, vocab_size)
    out = Path(out_dir)
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=tie_embeddings,
                         eos_token_id=fast.convert_tokens_to_ids(spec["eot"]),
                         pad_token_id=fast.convert_tokens_to_ids(spec["pad"]),
                         bos_token_id=fast.convert_tokens_to_ids(spec["bos"]) if spec["bos"] else None)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


def random_model_dir(model_cfg, tokenizer_location: str, cache_dir: str | Path) -> Path:
    """A checkpoint of random weights drawn from the shipped architecture ``model.arch_config``
    with ``model.init_seed``, beside the tokenizer of ``tokenizer_location``; written once under
    the cache (the same seed on the same kind of device gives the same weights), then loaded by
    path like any checkpoint, so quantisation happens on load as with pretrained weights."""
    import hashlib
    import json

    from .embedded import materialise
    from .memory.geometry import arch_json

    arch, seed = arch_json(model_cfg.arch_config), int(model_cfg.init_seed)
    source = str(Path(tokenizer_location).resolve()) if Path(tokenizer_location).exists() else tokenizer_location
    key = hashlib.sha256(json.dumps([arch, seed, source, model_cfg.revision], sort_keys=True).encode()).hexdigest()
    target = Path(cache_dir).expanduser() / "models" / "random" / f"{model_cfg.arch_config}-seed{seed}-{key[:12]}"
    record = {"arch_config": model_cfg.arch_config, "seed": seed, "tokenizer": source}
    return materialise(target, lambda out: _write_random_model(out, model_cfg, arch, seed, source), record)


def _write_random_model(out: Path, model_cfg, arch: dict, seed: int, tokenizer_location: str) -> None:
    import logging

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from .errors import ConfigError, Problem

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_location, revision=model_cfg.revision,
                                              trust_remote_code=model_cfg.trust_remote_code)
    if len(tokenizer) > arch["vocab_size"]:
        raise ConfigError([Problem("model.arch_config", model_cfg.arch_config,
                                   f"its vocab_size {arch['vocab_size']:,} is smaller than the {len(tokenizer):,} "
                                   f"tokens of the tokenizer of {tokenizer_location}: pick a larger architecture or "
                                   "a smaller tokenizer (model.name_or_path)")])
    config = AutoConfig.for_model(**arch)
    # on the GPU when there is one: an 8B model's weights are drawn in seconds there, minutes on a CPU
    cuda = torch.cuda.is_available()
    logging.getLogger(__name__).info("drawing random %s weights (seed %d) on the %s into %s", model_cfg.arch_config,
                                     seed, "GPU" if cuda else "CPU", out)
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if cuda else []):  # leaves the run's RNG alone
        torch.manual_seed(seed)
        with torch.device("cuda" if cuda else "cpu"):
            model = AutoModelForCausalLM.from_config(config, dtype=getattr(config, "dtype", None) or torch.float32)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    del model
    if cuda:
        torch.cuda.empty_cache()
