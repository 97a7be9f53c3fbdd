"""Data for a run: load the splits, render them with the model's chat template, tokenize with the
assistant-token mask, and measure what the trainer will see (lengths, truncation, duplicates).

The trainer receives pre-tokenized ``input_ids`` + ``assistant_masks``: TRL builds the labels
from the mask. Rendering here, not inside TRL, keeps structured tool calls and per-row tool
schemas as Python objects (Arrow would coerce their varying keys), and lets one check report
exactly which rows are truncated or dropped before any training starts."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset
from omegaconf import DictConfig

from .files import DataError, read_records
from .prompting import chat_inputs

log = logging.getLogger(__name__)


@dataclass
class Splits:
    """Raw records per split plus the tool schema they are scored against."""

    records: dict[str, list[dict]]
    tools: list[dict] | None

    def fingerprint(self, data_cfg: DictConfig) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([data_cfg.system_prompt, data_cfg.tools_in_prompt], ensure_ascii=False).encode())
        for name in sorted(self.records):
            h.update(name.encode())
            for rec in self.records[name]:
                h.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode())
        h.update(json.dumps(self.tools, sort_keys=True).encode())
        return h.hexdigest()[:16]


@dataclass
class TokenizedSplit:
    dataset: Dataset
    stats: dict[str, Any] = field(default_factory=dict)


def load_splits(data_cfg: DictConfig) -> Splits:
    if data_cfg.source == "gennx":
        from .gennx_generator import generate_splits
        from .gennx_tools import TOOLS

        gen = data_cfg.generator
        records = generate_splits(seed=gen.seed, size=gen.size, mix=dict(gen.mix) or None,
                                  heldout_template_fraction=gen.heldout_template_fraction)
        return Splits(records, TOOLS)
    tools = None
    if data_cfg.tools_file:
        tools = json.loads(Path(data_cfg.tools_file).read_text(encoding="utf-8"))
    records = {"train": read_records(data_cfg.train_file)}
    for split, path in (("validation", data_cfg.validation_file), ("test", data_cfg.test_file)):
        if path:
            records[split] = read_records(path)
    return Splits(records, tools)


def _tokenize_record(record: dict, tokenizer, data_cfg: DictConfig, tools: list[dict] | None) -> tuple[list[int], list[int]]:
    if "messages" in record:
        messages, template_tools = chat_inputs(record["messages"], record.get("tools") or tools,
                                               data_cfg.system_prompt, data_cfg.tools_in_prompt)
        out = tokenizer.apply_chat_template(messages, tools=template_tools, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        return list(out["input_ids"]), list(out["assistant_masks"])
    eos = [tokenizer.eos_token_id]
    if "prompt" in record:
        prompt = tokenizer(record["prompt"])["input_ids"]
        completion = tokenizer(record["completion"], add_special_tokens=False)["input_ids"] + eos
        return prompt + completion, [0] * len(prompt) + [1] * len(completion)
    ids = tokenizer(record["text"])["input_ids"] + eos
    return ids, [1] * len(ids)


def _percentiles(values: list[int]) -> dict[str, int]:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]  # noqa: E731
    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": ordered[-1]}


def tokenize_split(records: list[dict], tokenizer, data_cfg: DictConfig, tools: list[dict] | None,
                   max_length: int, split: str, sort_by_length: bool = False) -> TokenizedSplit:
    """Tokenize, truncate at max_length (keeping the start) and drop rows left with nothing to learn.

    ``sort_by_length`` orders rows longest first: evaluation batches then pad little (the
    evaluation loop does not group by length by itself)."""
    input_ids, masks, lengths = [], [], []
    truncated = dropped = 0
    for record in records:
        ids, mask = _tokenize_record(record, tokenizer, data_cfg, tools)
        lengths.append(len(ids))
        if len(ids) > max_length:
            truncated += 1
            ids, mask = ids[:max_length], mask[:max_length]
        if not any(mask):
            dropped += 1
            continue
        input_ids.append(ids)
        masks.append(mask)
    if not input_ids:
        raise DataError(f"{split} split: all {len(records)} rows are empty after truncation at "
                        f"trainer.max_length={max_length} (the answers start beyond it; longest row "
                        f"{max(lengths) if lengths else 0} tokens): raise trainer.max_length")
    if sort_by_length:
        order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]), reverse=True)
        input_ids, masks = [input_ids[i] for i in order], [masks[i] for i in order]
    stats = {"rows": len(records), "kept": len(input_ids), "truncated": truncated, "dropped": dropped,
             "tokens": sum(len(i) for i in input_ids), "trained_tokens": sum(sum(m) for m in masks),
             "length": _percentiles(lengths)}
    if truncated:
        log.warning("%s split: %d of %d rows longer than max_length=%d were truncated (%d dropped: no answer "
                    "token left)", split, truncated, len(records), max_length, dropped)
    return TokenizedSplit(Dataset.from_dict({"input_ids": input_ids, "assistant_masks": masks}), stats)


def duplicates_across_splits(records: dict[str, list[dict]]) -> dict[str, int]:
    """Rows whose full conversation appears in train and in another split (leakage)."""
    key = lambda r: json.dumps(r.get("messages") or r, ensure_ascii=False, sort_keys=True)  # noqa: E731
    train = {key(r) for r in records.get("train", [])}
    return {name: sum(key(r) in train for r in rows) for name, rows in records.items() if name != "train"}
