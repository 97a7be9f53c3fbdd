"""Data for a run: load the splits (from files, or one file cut by ratios), render them with the
model's chat template, tokenize with the assistant-token mask, and measure what the trainer will
see (lengths, truncation, duplicates).

The trainer receives pre-tokenized ``input_ids`` + ``assistant_masks``: TRL builds the labels
from the mask. Rendering here, not inside TRL, keeps structured tool calls and per-row tool
schemas as Python objects (Arrow would coerce their varying keys), and lets one check report
exactly which rows are truncated or dropped before any training starts."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset
from omegaconf import DictConfig

from ..errors import DataError
from . import sources
from .files import DataProblems, FieldTemplate, read_file
from .gold_calls import gold_call_problems
from .prompting import chat_inputs

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "test")


@dataclass
class Splits:
    """Raw records per split plus the tool schema they are scored against."""

    records: dict[str, list[dict]]
    tools: list[dict] | None
    # where each record came from ("train.jsonl:12"), per split; empty for generated data
    locations: dict[str, list[str]] = field(default_factory=dict)

    def where(self, split: str, index: int) -> str:
        locations = self.locations.get(split)
        return locations[index] if locations else f"{split} row {index + 1}"

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


def field_template(data_cfg: DictConfig) -> FieldTemplate | None:
    """The row template of data.prompt_template / data.completion_template, or None (rows carry
    messages, prompt/completion or text themselves). ``.get``: configs saved before these keys existed."""
    completion = data_cfg.get("completion_template")
    if not completion:
        return None
    return FieldTemplate(data_cfg.get("prompt_template") or "", completion, data_cfg.get("template_format") == "chat")


def _with_valid_gold_calls(rows: list[tuple[str, dict]], tools: list[dict] | None,
                           problems: DataProblems) -> list[tuple[str, dict]]:
    """Drop (and report) rows whose gold tool calls the tool schema does not allow."""
    kept = []
    for where, record in rows:
        found = gold_call_problems(record.get("messages") or [], record.get("tools") or tools)
        for problem in found:
            problems.add(f"{where}: gold tool call does not fit the tool schema: {problem}; fix the row or the schema")
        if not found:
            kept.append((where, record))
    return kept


def has_conversations(records: list[dict] | None) -> bool:
    """Tool-call evaluation needs chat records; text and raw prompt/completion rows have no turns to score."""
    return bool(records) and all("messages" in r for r in records)


def load_splits(data_cfg: DictConfig, problems: DataProblems | None = None) -> Splits:
    """Load every split. Without ``problems``, raise one DataError listing every invalid row of
    every file; with it, collect them there and return the valid rows (what loralab-data-check does)."""
    if data_cfg.source != sources.FILES:  # a task (data/sources.py) generates or reads its own
        return Splits(*sources.get(data_cfg.source).load(data_cfg))
    collected = problems if problems is not None else DataProblems()
    tools = _read_tools(data_cfg.tools_file, collected) if data_cfg.tools_file else None
    template = field_template(data_cfg)
    rows: dict[str, list[tuple[str, dict]]] = {}
    for split, path in zip(SPLIT_NAMES, (data_cfg.train_file, data_cfg.validation_file, data_cfg.test_file)):
        if path:
            try:
                rows[split] = _with_valid_gold_calls(read_file(path, collected, template), tools, collected)
            except DataError as exc:  # the file as a whole: missing, unreadable, not UTF-8, broken array
                collected.add(str(exc))
                rows[split] = []
    if data_cfg.get("split", "files") == "ratios" and rows.get("train"):
        try:
            rows = split_by_ratios(rows["train"], list(data_cfg.split_ratios), data_cfg.split_seed)
        except DataError as exc:
            collected.add(str(exc))
    if problems is None and collected:
        raise DataError(collected.summary())
    return Splits({k: [r for _, r in v] for k, v in rows.items()}, tools,
                  {k: [where for where, _ in v] for k, v in rows.items()})


def _read_tools(path: str, problems: DataProblems) -> list[dict] | None:
    try:
        tools = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        problems.add(f"{path}: cannot read data.tools_file ({exc.strerror or exc})")
        return None
    except json.JSONDecodeError as exc:
        problems.add(f"{path}:{exc.lineno}: data.tools_file is not valid JSON ({exc.msg}, column {exc.colno})")
        return None
    if not isinstance(tools, list):
        problems.add(f"{path}: data.tools_file must hold a JSON list of tool schemas, got {type(tools).__name__}")
        return None
    return tools


def split_by_ratios(rows: list, ratios: list[float], seed: int) -> dict[str, list]:
    """Shuffle ``rows`` with ``seed`` and cut them into train/validation/test.

    Validation and test get round(n x ratio) rows (at least one when their ratio is > 0), train
    the rest; a split whose ratio is 0 is left out. The same rows in the same order with the same
    seed always give the same splits; each split keeps the shuffled order, so a capped subset
    (data.max_eval_examples) is a random sample rather than the head of the file."""
    n = len(rows)
    sizes = [max(1, int(n * r + 0.5)) if r > 0 else 0 for r in ratios[1:]]
    if n - sum(sizes) < 1:
        raise DataError(f"data.train_file has {n} valid rows: too few to split by data.split_ratios={ratios}; "
                        "add rows or give data.validation_file / data.test_file with data.split=files")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    shuffled = [rows[i] for i in order]
    n_train = n - sum(sizes)
    cuts = {"train": shuffled[:n_train], "validation": shuffled[n_train:n_train + sizes[0]],
            "test": shuffled[n_train + sizes[0]:]}
    return {name: part for name, part in cuts.items() if part}


# a row tokenized: (input ids, assistant mask), untruncated
Encoded = tuple[list[int], list[int]]


def _tokenize_record(record: dict, tokenizer, data_cfg: DictConfig, tools: list[dict] | None) -> Encoded:
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


def encode_split(records: list[dict], tokenizer, data_cfg: DictConfig, tools: list[dict] | None) -> list[Encoded]:
    """Every row tokenized once, untruncated: (input ids, assistant mask). What training, the data
    check and a changed trainer.max_length (the OOM ladder) then cut from it costs no tokenizer call."""
    return [_tokenize_record(record, tokenizer, data_cfg, tools) for record in records]


def build_split(encoded: list[Encoded], max_length: int, split: str, sort_by_length: bool = False,
                require_rows: bool = True) -> TokenizedSplit:
    """Truncate each encoded row at max_length (keeping the start) and drop rows left with nothing
    to learn.

    ``sort_by_length`` orders rows longest first: evaluation batches then pad little (the
    evaluation loop does not group by length by itself). ``require_rows=False`` returns the
    statistics even when every row was dropped (the data check reports that as a problem)."""
    input_ids, masks, lengths = [], [], []
    truncated = dropped = 0
    for ids, mask in encoded:
        lengths.append(len(ids))
        if len(ids) > max_length:
            truncated += 1
            ids, mask = ids[:max_length], mask[:max_length]
        if not any(mask):
            dropped += 1
            continue
        input_ids.append(ids)
        masks.append(mask)
    if not input_ids and require_rows:
        raise DataError(nothing_left_message(split, len(encoded), max_length, max(lengths, default=0)))
    if sort_by_length:
        order = sorted(range(len(input_ids)), key=lambda i: len(input_ids[i]), reverse=True)
        input_ids, masks = [input_ids[i] for i in order], [masks[i] for i in order]
    stats = {"rows": len(encoded), "kept": len(input_ids), "truncated": truncated, "dropped": dropped,
             "tokens": sum(len(i) for i in input_ids), "trained_tokens": sum(sum(m) for m in masks),
             "length": _percentiles(lengths)}
    if truncated:
        log.warning("%s split: %d of %d rows longer than max_length=%d were truncated (%d dropped: no answer "
                    "token left)", split, truncated, len(encoded), max_length, dropped)
    return TokenizedSplit(Dataset.from_dict({"input_ids": input_ids, "assistant_masks": masks}), stats)


def tokenize_split(records: list[dict], tokenizer, data_cfg: DictConfig, tools: list[dict] | None,
                   max_length: int, split: str, sort_by_length: bool = False,
                   require_rows: bool = True) -> TokenizedSplit:
    """``encode_split`` then ``build_split``, for rows tokenized once."""
    return build_split(encode_split(records, tokenizer, data_cfg, tools), max_length, split, sort_by_length,
                       require_rows)


def nothing_left_message(split: str, rows: int, max_length: int, longest: int) -> str:
    return (f"{split} split: all {rows} rows are empty after truncation at trainer.max_length={max_length} "
            f"(the answers start beyond it; longest row {longest} tokens): raise trainer.max_length")


def duplicate_rows(records: dict[str, list[dict]]) -> list[tuple[str, int, str, int]]:
    """Rows whose full content already appeared, as (split, row, earlier split, earlier row), with
    splits taken in the order train, validation, test: a row repeated within a split or leaked
    from train into an evaluation split is reported against its first occurrence."""
    order = sorted(records, key=lambda s: SPLIT_NAMES.index(s) if s in SPLIT_NAMES else len(SPLIT_NAMES))
    first: dict[str, tuple[str, int]] = {}
    found = []
    for name in order:
        for i, record in enumerate(records[name]):
            key = json.dumps(record.get("messages") or record, ensure_ascii=False, sort_keys=True)
            if key in first:
                found.append((name, i, *first[key]))
            else:
                first[key] = (name, i)
    return found


def duplicates_across_splits(records: dict[str, list[dict]]) -> dict[str, int]:
    """Rows of each evaluation split whose full conversation also appears in train (leakage)."""
    counts = {name: 0 for name in records if name != "train"}
    for name, _, earlier, _ in duplicate_rows(records):
        if name != "train" and earlier == "train":
            counts[name] += 1
    return counts
