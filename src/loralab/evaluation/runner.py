"""Tool-call evaluation of a model on a split: generate, score, aggregate, write eval.json/eval.md.

Used at the end of training (fine-tuned vs base, where the base is the same model with its
adapter disabled, so no second load), by ``loralab-eval`` on a run directory, and by the
in-training callback on a validation sample."""

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
from .aggregate import aggregate, compare_reports
from .generation import generate, render_prompts
from .report_markdown import render
from .scoring import score_answer

log = logging.getLogger(__name__)

GROUP_KEYS = ("language", "category", "values")   # record fields the report breaks scores down by
HEADLINE = ("exact_call_accuracy", "tool_name_accuracy", "valid_json", "irrelevance_accuracy", "relevance",
            "multi_call_exact", "hallucinated_tool_rate", "hallucinated_argument_rate")


def gold_calls(message: dict) -> list[dict]:
    calls = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call)
        calls.append({"name": fn["name"], "arguments": fn.get("arguments", {})})
    return calls


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


def evaluate_records(model, tokenizer, records: list[dict], tools: list[dict] | None, data_cfg: DictConfig,
                     batch_size: int, max_new_tokens: int, tool_call_format: str = "hermes") -> dict[str, Any]:
    """Generate and score; return the aggregate report, throughput and per-example answers.
    ``tool_call_format``: how the model writes calls (model.tool_call_format, see parsing.py)."""
    prompts = render_prompts(tokenizer, _conversations(records, data_cfg, tools))
    gens = generate(model, tokenizer, prompts, max_new_tokens, batch_size)
    scores = []
    for record, text in zip(records, gens.texts):
        _, answer = prompt_and_gold(record)
        scores.append(score_answer(text, gold_calls(answer), record.get("tools") or tools or [],
                                   acceptable=record.get("acceptable"), tool_call_format=tool_call_format))
    ids = [str(r.get("id", i)) for i, r in enumerate(records)]
    groups = {k: [str(r.get(k)) for r in records] for k in GROUP_KEYS if all(k in r for r in records)}
    report = aggregate(scores, groups=groups or None, ids=ids)
    answers = [{"id": i, "answer": s.answer, "exact": s.exact, "failures": s.failures} for i, s in zip(ids, scores)]
    throughput = {"examples": len(records), "seconds": round(gens.seconds, 2),
                  "examples_per_s": round(gens.examples_per_s, 3), "new_tokens": gens.new_tokens,
                  "batch_size": batch_size, "max_new_tokens": max_new_tokens}
    return {"report": report, "throughput": throughput, "answers": answers}


def tool_call_format_of(model_cfg: DictConfig) -> str:
    """The model's tool-call convention; "hermes" for run configs saved before the field existed."""
    return model_cfg.get("tool_call_format") or "hermes"


def _base_cache_path(cache_dir: str, key_parts: list[Any]) -> Path:
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / "base-evals" / f"{key}.json"


def evaluate_splits(cfg: DictConfig, run_dir: Path, model, tokenizer, splits, base_key: str | None,
                    base_model_context=None) -> dict[str, Any]:
    """Evaluate the model (and, when base_model_context is given, the base model) on cfg.eval.splits
    and write eval.json, eval.md and eval_answers.jsonl into run_dir."""
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
        entry: dict[str, Any] = {"n": len(records), "fine_tuned": {k: tuned[k] for k in ("report", "throughput")}}
        answers_out += [{"split": split, **a} for a in tuned.pop("answers")]
        comparison = None
        if base_model_context is not None:
            base_records = records[: cfg.eval.base_max_examples]
            cache = _base_cache_path(cfg.paths.cache_dir, [base_key, split, len(base_records), max_new,
                                                           tokenizer.chat_template, splits.fingerprint(cfg.data),
                                                           call_format])
            if cache.is_file():
                base = json.loads(cache.read_text(encoding="utf-8"))
                base["cached"] = str(cache)
            else:
                with base_model_context():
                    base = evaluate_records(model, tokenizer, base_records, splits.tools, cfg.data,
                                            cfg.eval.batch_size, max_new, call_format)
                base.pop("answers")
                write_json(cache, base)
            entry["base"] = base
            comparison = compare_reports(base["report"], tuned["report"], list(HEADLINE))
            entry["comparison"] = comparison
        payload["splits"][split] = entry
        markdown.append(render(tuned["report"], f"Tool-call evaluation: {split} split ({len(records)} examples)",
                               comparison))
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
