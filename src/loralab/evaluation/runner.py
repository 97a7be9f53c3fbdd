"""Tool-call evaluation of a model on a split: generate, score, aggregate, write eval.json/eval.md.

Used at the end of training (fine-tuned vs base, where the base is the same model with its
adapter disabled, so no second load), by ``loralab-eval`` on a run directory, and by the
in-training callback on a validation sample. The base model answers the first
``eval.base_max_examples`` (default: all) of the very examples the fine-tuned model answers, and
the before/after comparison pairs the two on those examples (McNemar)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ..data.pipeline import has_conversations
from ..data.prompting import chat_inputs, prompt_and_gold
from ..rundir import write_json, write_text
from .aggregate import HEADLINE, compare_reports
from .generation import generate, render_prompts
from .records import answer_lines, report_for, score_record
from .report_markdown import render

log = logging.getLogger(__name__)

def _conversations(records: list[dict], data_cfg: DictConfig, tools: list[dict] | None):
    out = []
    for record in records:
        history, _ = prompt_and_gold(record)
        out.append(chat_inputs(history, record.get("tools") or tools, data_cfg.system_prompt, data_cfg.tools_in_prompt))
    return out


def max_new_tokens_for(records: list[dict], tokenizer, data_cfg: DictConfig, tools: list[dict] | None) -> int:
    """The longest gold answer of the split (in tokens, end-of-turn included), plus a margin for
    answers that are slightly longer than the gold yet still correct."""
    longest = 0
    for record in records:
        history, answer = prompt_and_gold(record)
        messages, template_tools = chat_inputs(history + [answer], record.get("tools") or tools,
                                               data_cfg.system_prompt, data_cfg.tools_in_prompt)
        full = tokenizer.apply_chat_template(messages, tools=template_tools, tokenize=False)
        prompt = tokenizer.apply_chat_template(messages[:-1], tools=template_tools, tokenize=False,
                                               add_generation_prompt=True)
        longest = max(longest, len(tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]))
    return int(longest * 1.25) + 8


def generate_answers(model, tokenizer, records: list[dict], tools: list[dict] | None, data_cfg: DictConfig,
                     batch_size: int, max_new_tokens: int) -> tuple[list[str], dict[str, Any]]:
    """The model's greedy answers to the records' prompts, and the generation throughput."""
    prompts = render_prompts(tokenizer, _conversations(records, data_cfg, tools))
    gens = generate(model, tokenizer, prompts, max_new_tokens, batch_size)
    throughput = {"examples": len(records), "seconds": round(gens.seconds, 2),
                  "examples_per_s": round(gens.examples_per_s, 3), "new_tokens": gens.new_tokens,
                  "batch_size": batch_size, "max_new_tokens": max_new_tokens, "adapter_merged": gens.adapter_merged,
                  "packed_layers": gens.packed_layers}
    return gens.texts, throughput


def evaluate_records(model, tokenizer, records: list[dict], tools: list[dict] | None, data_cfg: DictConfig,
                     batch_size: int, max_new_tokens: int, tool_call_format: str = "hermes") -> dict[str, Any]:
    """Generate and score; return the aggregate report, throughput, per-example answers and scores.
    ``tool_call_format``: how the model writes calls (model.tool_call_format, see parsing.py)."""
    texts, throughput = generate_answers(model, tokenizer, records, tools, data_cfg, batch_size, max_new_tokens)
    scores = [score_record(record, text, tools, tool_call_format) for record, text in zip(records, texts)]
    return {"report": report_for(records, scores), "throughput": throughput,
            "answers": answer_lines(records, scores), "scores": scores}


def tool_call_format_of(model_cfg: DictConfig) -> str:
    """The model's tool-call convention; "hermes" for run configs saved before the field existed."""
    return model_cfg.get("tool_call_format") or "hermes"


def _base_cache_path(cache_dir: str, key_parts: list[Any]) -> Path:
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / "base-evals" / f"{key}.json"


def _numerics(cfg: DictConfig, model) -> dict[str, Any]:
    """What decides the base model's greedy answers beyond its weights: the quantization (with the
    dtype it computes in), the weights' dtype and device, the attention kernel and the batch (a
    row's arithmetic can depend on how many share the pass). Answers cached on a CPU in fp32 are
    never reused on a GPU in bf16, nor an A100's nf4 in bf16 by a T4's nf4 in fp16."""
    config = getattr(model, "config", None)
    quantization = getattr(config, "quantization_config", None)
    if hasattr(quantization, "to_dict"):
        quantization = quantization.to_dict()
    weight = next(model.parameters())  # the base's embedding: peft adds its adapters after it
    return {"quantization": quantization, "dtype": str(weight.dtype), "device": weight.device.type,
            "attention": getattr(config, "_attn_implementation", None), "batch_size": cfg.eval.batch_size}


def _base_answers(cfg: DictConfig, model, tokenizer, records: list[dict], splits, split: str, base_key: str | None,
                  max_new: int, call_format: str, base_model_context) -> tuple[list[str], dict[str, Any], str | None]:
    """The base model's answers (texts, throughput, cache file when reused). Raw answers are cached,
    not scores, so a change of the scoring rules never reuses an outdated score."""
    cache = _base_cache_path(cfg.paths.cache_dir, ["answers", base_key, split, len(records), max_new,
                                                   tokenizer.chat_template, splits.fingerprint(cfg.data), call_format,
                                                   _numerics(cfg, model)])
    if cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if len(cached.get("texts") or []) == len(records):
            return cached["texts"], cached["throughput"], str(cache)
    with base_model_context():
        texts, throughput = generate_answers(model, tokenizer, records, splits.tools, cfg.data, cfg.eval.batch_size,
                                             max_new)
    write_json(cache, {"texts": texts, "throughput": throughput})
    return texts, throughput, None


def evaluate_splits(cfg: DictConfig, run_dir: Path, model, tokenizer, splits, base_key: str | None,
                    base_model_context=None) -> dict[str, Any]:
    """Evaluate the model (and, when base_model_context is given, the base model on the same examples)
    on cfg.eval.splits and write eval.json, eval.md and eval_answers.jsonl into run_dir."""
    payload: dict[str, Any] = {"primary": cfg.eval.splits[0], "splits": {}}
    markdown, answers_out = [], []
    call_format = tool_call_format_of(cfg.model)
    for split in cfg.eval.splits:
        records = splits.records.get(split)
        if not has_conversations(records):
            log.warning("eval split %r is empty, missing or not chat data: skipped", split)
            continue
        records = records[: cfg.eval.max_examples]  # None: all (validation refuses < 1)
        max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, tokenizer, cfg.data, splits.tools)
        tuned = evaluate_records(model, tokenizer, records, splits.tools, cfg.data, cfg.eval.batch_size, max_new,
                                 call_format)
        tuned_scores = tuned.pop("scores")
        entry: dict[str, Any] = {"n": len(records), "fine_tuned": {k: tuned[k] for k in ("report", "throughput")}}
        answers_out += [{"split": split, "model": "fine_tuned", **a} for a in tuned.pop("answers")]
        comparison, note = None, ""
        if base_model_context is not None:
            cap = cfg.eval.get("base_max_examples")
            n_base = len(records) if cap is None else min(cap, len(records))
            base_records = records[:n_base]
            texts, throughput, cached = _base_answers(cfg, model, tokenizer, base_records, splits, split, base_key,
                                                      max_new, call_format, base_model_context)
            base_scores = [score_record(r, text, splits.tools, call_format) for r, text in zip(base_records, texts)]
            entry["base"] = {"report": report_for(base_records, base_scores), "throughput": throughput}
            if cached:
                entry["base"]["cached"] = cached
            answers_out += [{"split": split, "model": "base", **a} for a in answer_lines(base_records, base_scores)]
            after = entry["fine_tuned"]["report"]
            if n_base < len(records):   # compare on the examples both answered
                after = report_for(base_records, tuned_scores[:n_base])
                entry["fine_tuned_on_base_examples"] = {"report": after}
                note = (f"Compared on the first {n_base} of the {len(records)} examples, the ones the base model "
                        "answered (eval.base_max_examples).")
            comparison = compare_reports(entry["base"]["report"], after, list(HEADLINE))
            entry["comparison"] = comparison
            entry["comparison_n"] = n_base
        payload["splits"][split] = entry
        markdown.append(render(tuned["report"], f"Tool-call evaluation: {split} split ({len(records)} examples)",
                               comparison, note))
    write_json(run_dir / "eval.json", payload)
    write_text(run_dir / "eval.md", "\n\n".join(markdown))
    write_text(run_dir / "eval_answers.jsonl", "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers_out))
    return payload


def evaluate_after_training(cfg: DictConfig, run_dir: Path, model, tokenizer, splits, location: str) -> dict:
    from .tables import print_eval_tables

    base_context = model.disable_adapter if cfg.eval.compare_base and hasattr(model, "disable_adapter") else None
    payload = evaluate_splits(cfg, run_dir, model, tokenizer, splits, base_key=location,
                              base_model_context=base_context)
    print_eval_tables(payload)
    return payload
