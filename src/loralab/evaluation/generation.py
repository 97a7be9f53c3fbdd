"""Greedy generation for evaluation: prompts sorted by length into left-padded batches, the prefix
they share computed once, a KV cache, and each answer stopping on the end-of-turn token and
leaving its batch when it does (see _greedy_batch). How fast, against transformers' generate:
bench/eval_speed.py; where the time goes: bench/eval_profile.py."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch


@dataclass
class Generations:
    texts: list[str]
    seconds: float
    new_tokens: int

    @property
    def examples_per_s(self) -> float:
        return len(self.texts) / self.seconds if self.seconds else 0.0


def render_prompts(tokenizer, conversations: list[tuple[list[dict], list[dict] | None]]) -> list[str]:
    return [tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=False)
            for messages, tools in conversations]


def stop_token_ids(model, tokenizer) -> list[int]:
    """The end-of-turn token (tokenizer.eos_token, set by build_tokenizer), then any other end the
    model's generation config declares (Llama-3.1 also ends on <|eom_id|> and <|end_of_text|>)."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    return list(dict.fromkeys([tokenizer.eos_token_id, *eos]))


def shared_prefix_length(sequences: list[list[int]]) -> int:
    """How many leading tokens all the sequences share, leaving each at least one of its own (the
    position whose logits give the first answer token)."""
    limit = min(len(s) for s in sequences) - 1
    first = sequences[0]
    for position in range(max(limit, 0)):
        if any(s[position] != first[position] for s in sequences):
            return position
    return max(limit, 0)


def left_padded_batches(tokenizer, prompts: list[str], batch_size: int, share_prefix: bool = True):
    """Yield (prompt indices, shared prefix ids, input ids, attention mask) per batch: prompts sorted
    longest first, so each batch pads little. The tokens every prompt of the batch starts with (the
    system prompt, a tool listing) come apart, to be computed once (unless ``share_prefix`` is
    false: bench/eval_profile.py measures both); the rest is padded on the left, so every prompt
    ends where generation starts."""
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        shared = shared_prefix_length([encoded[i] for i in idx]) if share_prefix else 0
        rest = [encoded[i][shared:] for i in idx]
        width = max(len(r) for r in rest)
        ids = torch.full((len(idx), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, tokens in enumerate(rest):
            ids[row, width - len(tokens):] = torch.tensor(tokens)
            mask[row, width - len(tokens):] = 1
        yield idx, torch.tensor(encoded[idx[0]][:shared], dtype=torch.long), ids, mask


def prefill(model, prefix: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor,
            cache) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill ``cache`` with a batch's prompts: the shared prefix once, for one row, its cache copied
    to every row, then each row's own tokens. Returns the last position's logits and the attention
    mask over the whole cache (the padding lies between the prefix and each row's tokens)."""
    if len(prefix):
        model(input_ids=prefix[None], attention_mask=torch.ones_like(prefix)[None], cache=cache, use_cache=True,
              logits_to_keep=1)
        cache.batch_repeat_interleave(len(ids))
        mask = torch.cat([mask.new_ones((len(ids), len(prefix))), mask], dim=-1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1]:]  # padding: real tokens count on
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                   logits_to_keep=1).logits[:, -1]
    return logits, mask


def _greedy_batch(model, prefix: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, max_new_tokens: int,
                  stops: list[int]) -> list[list[int]]:
    """Greedy decoding of one left-padded batch with a KV cache, filled by :func:`prefill`. A row
    that reaches an end of turn leaves the batch at once (its cache rows are dropped), so the batch
    gets cheaper as answers finish; in ``model.generate`` the finished rows are computed, as padding,
    until the last one ends, and the one answer that runs to ``max_new_tokens`` costs the whole
    batch that long.
    (transformers' continuous batching avoids that too, but on CPU its paged attention attends
    across all requests and measured no faster here.) Pure greedy: no logits processor of the
    model's generation config (Qwen2.5-Instruct ships a repetition penalty) bends the scored
    answer. Returns each row's tokens, stop included."""
    from transformers import DynamicCache

    stop = torch.tensor(stops, device=ids.device)
    rows = torch.arange(len(ids), device=ids.device)  # the batch row each live row came from
    answers: list[list[int]] = [[] for _ in range(len(ids))]
    cache = DynamicCache(config=getattr(model, "config", None))
    logits, mask = prefill(model, prefix, ids, mask, cache)
    for step in range(max_new_tokens):
        tokens = logits.argmax(-1)
        for row, token in zip(rows.tolist(), tokens.tolist()):
            answers[row].append(token)
        live = ~torch.isin(tokens, stop)
        if step == max_new_tokens - 1 or not live.any():
            break
        if not live.all():
            keep = live.nonzero().squeeze(-1)
            cache.batch_select_indices(keep.cpu())  # a CPU index serves cache layers on any device
            rows, mask, tokens = rows[keep], mask[keep], tokens[keep]
        mask = torch.cat([mask, mask.new_ones((len(mask), 1))], dim=-1)
        logits = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                       cache=cache, use_cache=True).logits[:, -1]
    return answers


@torch.inference_mode()
def generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 32,
             share_prefix: bool = True) -> Generations:
    """Greedy answers in the original order; each stops at the end-of-turn token (stop_token_ids),
    which is not part of the returned text."""
    if not prompts:
        return Generations([], 0.0, 0)
    model.eval()
    stops = stop_token_ids(model, tokenizer)
    device = next(model.parameters()).device
    texts: list[str] = [""] * len(prompts)
    new_tokens = 0
    start = time.perf_counter()
    for idx, prefix, ids, mask in left_padded_batches(tokenizer, prompts, batch_size, share_prefix):
        answers = _greedy_batch(model, prefix.to(device), ids.to(device), mask.to(device), max_new_tokens, stops)
        for i, tokens in zip(idx, answers):
            tokens = tokens[:-1] if tokens and tokens[-1] in stops else tokens
            new_tokens += len(tokens)
            # Keep special tokens: in some families <tool_call> is one, and it is the answer's syntax.
            texts[i] = tokenizer.decode(tokens, skip_special_tokens=False)
    return Generations(texts, time.perf_counter() - start, new_tokens)
