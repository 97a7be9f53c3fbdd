"""Greedy generation for evaluation, continuously batched (see :func:`generate`): prompts taken
longest first, the start they share computed once, a KV cache whose rows leave when their answers
end and are replaced by waiting prompts, and drafted tokens verified in the rows left spare at the
end. How fast, against transformers' generate:
bench/eval_speed.py; where the time goes: bench/eval_profile.py."""

from __future__ import annotations

import contextlib
import copy
import time
from collections import deque
from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from .adapter_merge import merged_for_generation
from .packed_linear import packed_for_generation


@dataclass
class Generations:
    texts: list[str]
    seconds: float
    new_tokens: int
    adapter_merged: bool = False
    packed_layers: int = 0  # linear layers run from weights packed for oneDNN (packed_linear.py)

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


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows padded on the left to one width, so every row ends where generation starts, and
    their attention mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, tokens in enumerate(rows):
        ids[row, width - len(tokens):] = torch.tensor(tokens, dtype=torch.long)
        mask[row, width - len(tokens):] = 1
    return ids, mask


class GrowingLayer(DynamicLayer):
    """A full-attention cache layer that appends each step's keys and values into spare room held
    after them, where DynamicLayer concatenates: a copy of the whole cache per layer per generated
    token, which grows with the batch and its context. The stored keys are a view of the room; once
    they are replaced (rows joined or dropped), the next step moves them into new room."""

    ROOM = 64  # positions allocated ahead, so a copy happens once per ROOM steps at most

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized or self.keys.numel() == 0:
            return super().update(key_states, value_states, *args, **kwargs)
        length, new = self.keys.shape[-2], key_states.shape[-2]
        room = getattr(self, "_room", None)
        if (room is None or room[0].data_ptr() != self.keys.data_ptr() or room[0].shape[0] != len(self.keys)
                or room[0].shape[-2] < length + new):
            shape = (*self.keys.shape[:2], length + new + self.ROOM, self.keys.shape[-1])
            room = (self.keys.new_empty(shape), self.values.new_empty(shape))
            room[0][..., :length, :] = self.keys
            room[1][..., :length, :] = self.values
            self._room = room
        room[0][..., length:length + new, :] = key_states
        room[1][..., length:length + new, :] = value_states
        self.keys, self.values = room[0][..., :length + new, :], room[1][..., :length + new, :]
        return self.keys, self.values


# Layers whose keys and values are plain [rows, heads, positions, dim] tensors aligned on the last
# position: rows of two such caches can be joined, and leading positions no row uses dropped.
_JOINABLE = (DynamicLayer, GrowingLayer, DynamicSlidingWindowLayer)


def _joinable(cache) -> bool:
    return all(type(layer) in _JOINABLE for layer in cache.layers)


class LiveBatch:
    """The answers being decoded together: their KV cache and attention mask (every row padded on
    the left, all ending at the same column), the logits of each row's next token, the prompt each
    row answers and whether it has ended. Ended rows stay until enough have ended to be worth a
    copy of the cache (see :func:`generate`); they are computed, and ignored, meanwhile."""

    def __init__(self, cache, mask: torch.Tensor, logits: torch.Tensor, prompts: list[int]):
        self.cache, self.mask, self.logits, self.prompts = cache, mask, logits, prompts
        self.ended = [False] * len(prompts)

    @property
    def joinable(self) -> bool:
        return _joinable(self.cache)

    @property
    def full_attention(self) -> bool:
        """Every layer keeps every position: a column masked out of the middle stays out (a sliding
        window would count it against its width)."""
        return all(type(layer) in (DynamicLayer, GrowingLayer) for layer in self.cache.layers)

    def live(self) -> int:
        return self.ended.count(False)

    def join(self, *others: LiveBatch) -> None:
        """Take the rows of ``others`` below this batch's, in one copy: narrower ones are padded on the left."""
        width = max(b.mask.shape[1] for b in (self, *others))
        for i, layer in enumerate(self.cache.layers):
            if not layer.is_initialized:  # a layer that shares another's cache holds none
                continue
            layer.keys = _stack_right_aligned(layer.keys, *(b.cache.layers[i].keys for b in others))
            layer.values = _stack_right_aligned(layer.values, *(b.cache.layers[i].values for b in others))
            if isinstance(getattr(layer, "cumulative_length", None), int):
                layer.cumulative_length = width
        self.mask = _stack_right_aligned(self.mask, *(b.mask for b in others))
        self.logits = torch.cat([self.logits, *(b.logits for b in others)])
        for b in others:
            self.prompts += b.prompts
            self.ended += b.ended

    def drop_ended(self) -> None:
        """Remove the ended rows, then the leading columns that no remaining row attends to."""
        keep = [row for row, ended in enumerate(self.ended) if not ended]
        if len(keep) == len(self.ended):
            return
        index = torch.tensor(keep)
        self.cache.batch_select_indices(index)  # a CPU index serves cache layers on any device
        index = index.to(self.mask.device)
        self.mask, self.logits = self.mask[index], self.logits[index]
        self.prompts = [self.prompts[row] for row in keep]
        self.ended = [False] * len(keep)
        unused = int(self.mask.any(0).long().argmax()) if self.joinable else 0
        if unused:
            width = self.mask.shape[1] - unused
            self.mask = self.mask[:, unused:]
            for layer in self.cache.layers:
                if layer.is_initialized:
                    stored = min(layer.keys.shape[-2], width)
                    layer.keys, layer.values = layer.keys[..., -stored:, :], layer.values[..., -stored:, :]
                    if isinstance(getattr(layer, "cumulative_length", None), int):
                        layer.cumulative_length = width

    def drop_unattended_columns(self) -> None:
        """Remove the cache columns no row attends to (drafted tokens that were not kept)."""
        keep = self.mask.any(0)
        if bool(keep.all()):
            return
        index = keep.nonzero().squeeze(1)
        self.mask = self.mask[:, index]
        for layer in self.cache.layers:
            if layer.is_initialized:
                layer.keys = layer.keys.index_select(-2, index.to(layer.keys.device))
                layer.values = layer.values.index_select(-2, index.to(layer.values.device))


def _stack_right_aligned(*parts: torch.Tensor) -> torch.Tensor:
    """The parts' rows one above the other, each padded with zeros on the left of dimension -2 (the
    positions of a [rows, heads, positions, dim] cache) or -1 (a [rows, positions] mask)."""
    first = parts[0]
    dim = -2 if first.dim() == 4 else -1
    width = max(p.shape[dim] for p in parts)
    out = first.new_zeros((sum(len(p) for p in parts), *first.shape[1:dim], width, *first.shape[dim:][1:]))
    row = 0
    for p in parts:
        out.narrow(0, row, len(p)).narrow(dim, width - p.shape[dim], p.shape[dim]).copy_(p)
        row += len(p)
    return out


class SharedStart:
    """The tokens every prompt starts with (a system prompt, a tool listing), computed once, for one
    row, and copied to each group of prompts as it is prefilled."""

    def __init__(self, model, tokens: list[int]):
        self.tokens, self.cache = tokens, _new_cache(model)
        if tokens:
            ids = torch.tensor(tokens, device=_device(model))[None]
            model(input_ids=ids, attention_mask=torch.ones_like(ids), cache=self.cache, use_cache=True,
                  logits_to_keep=1)

    def cache_for(self, rows: int):
        """A cache holding the shared start for ``rows`` rows (empty when there is none)."""
        cache = copy.deepcopy(self.cache)
        cache.batch_repeat_interleave(rows)
        return cache


def _new_cache(model):
    from transformers import DynamicCache

    cache = DynamicCache(config=getattr(model, "config", None))
    cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def _device(model) -> torch.device:
    return next(model.parameters()).device


PREFILL_PASS_COST = 96  # a prefill pass's own cost (weights read, a copy to join), in positions


def length_groups(lengths: list[int], pass_cost: int) -> list[tuple[int, int]]:
    """Consecutive rows of ``lengths`` (longest first) in groups that minimise the positions their
    passes compute, each group padded to its longest and costing ``pass_cost`` positions more; per
    group: its first row and the row after its last. Exact: a shortest path over the cut points."""
    best, cut = [0] + [float("inf")] * len(lengths), [0] * (len(lengths) + 1)
    for last in range(1, len(lengths) + 1):
        for first in range(last):
            cost = best[first] + (last - first) * lengths[first] + pass_cost
            if cost < best[last]:
                best[last], cut[last] = cost, first
    groups, last = [], len(lengths)
    while last:
        groups.append((cut[last], last))
        last = cut[last]
    return groups[::-1]


def prefill(model, shared: SharedStart, rows: list[list[int]], prompts: list[int], pad_id: int,
            into: LiveBatch | None = None) -> LiveBatch:
    """New rows (longest first), prefilled in groups of similar lengths so that little of a pass is
    padding (:func:`prefill_group`), then joined below the rows of ``into`` (when given) in one copy."""
    own = [len(r) - len(shared.tokens) for r in rows]
    groups = length_groups(own, PREFILL_PASS_COST) if _joinable(shared.cache) else [(0, len(rows))]
    batches = [prefill_group(model, shared, rows[first:last], prompts[first:last], pad_id)
               for first, last in groups]
    if into is None:
        into, batches = batches[0], batches[1:]
    if batches:
        into.join(*batches)
    return into


def prefill_group(model, shared: SharedStart, rows: list[list[int]], prompts: list[int], pad_id: int) -> LiveBatch:
    """A batch of new rows: a copy of the shared start's cache, then each row's own tokens, padded on
    the left, in one pass that keeps only the last position's logits."""
    cache, start = shared.cache_for(len(rows)), len(shared.tokens)
    ids, mask = left_pad([r[start:] for r in rows], pad_id)
    ids, mask = ids.to(_device(model)), mask.to(_device(model))
    mask = torch.cat([mask.new_ones((len(rows), start)), mask], dim=-1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1]:]  # padding: real tokens count on
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                   logits_to_keep=1).logits[:, -1]
    return LiveBatch(cache, mask, logits, prompts)


MAX_DRAFT = 16  # drafted tokens per row and pass, at most


def decode_step(model, batch: LiveBatch) -> None:
    """Feed each row its greedy next token: one position more in the cache, and the next logits."""
    tokens = batch.logits.argmax(-1)
    batch.mask = torch.cat([batch.mask, batch.mask.new_ones((len(batch.mask), 1))], dim=-1)
    batch.logits = model(input_ids=tokens[:, None], attention_mask=batch.mask,
                         position_ids=batch.mask.sum(-1, keepdim=True) - 1, cache=batch.cache,
                         use_cache=True).logits[:, -1]


def generate(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 32,
             share_prefix: bool = True, merge_adapter: bool = True, max_draft: int = MAX_DRAFT,
             pack_weights: bool = True) -> Generations:
    """Greedy answers in the original order; each stops at the end-of-turn token (stop_token_ids),
    which is not part of the returned text.

    Continuous batching: up to ``batch_size`` answers decode together, prompts taken longest first.
    Every forward pass streams all the weights, whatever the rows, so a batch that waits on its one
    long answer with the others done wastes nearly a whole pass per token; here, once an eighth of
    the rows have ended, they leave and as many waiting prompts are prefilled and join. Once no
    prompt waits, the batch empties down to its longest answer; ended rows then leave at once, and
    the positions they free verify tokens drafted for the rows left (:func:`lookup_draft`,
    :func:`speculative_step`): the same greedy answers in fewer passes where an answer copies from
    its prompt or repeats itself. (An answer caught in a loop until max_new_tokens, started late,
    would otherwise take a pass per token on its own.) In fp32 the answers match decoding one prompt
    at a time (the tests check it); in bf16 or fp16, rows and drafts that share a pass may round
    differently, for the base and the fine-tuned model alike. Pure greedy: no logits processor of
    the model's generation config (Qwen2.5-Instruct ships a repetition penalty) bends the scored
    answer.

    ``merge_adapter``: fold a LoRA adapter into fp32 base weights for the duration, and restore them
    exactly after (adapter_merge.py); the same model, fewer operations per pass. ``pack_weights``: on a
    CPU, multiply by fp32 weights packed once for oneDNN (packed_linear.py). ``max_draft``: drafted
    tokens per row and pass, at most (0: none)."""
    if not prompts:
        return Generations([], 0.0, 0)
    start = time.perf_counter()
    model.eval()
    with (merged_for_generation(model) if merge_adapter else contextlib.nullcontext(False) as merged,
          packed_for_generation(model, batch_size) if pack_weights else contextlib.nullcontext(0) as packed):
        texts, new_tokens = _greedy_answers(model, tokenizer, prompts, max_new_tokens, batch_size, share_prefix,
                                            max_draft)
    return Generations(texts, time.perf_counter() - start, new_tokens, merged, packed)


def lookup_draft(context: list[int], limit: int, longest: int = 3) -> list[int]:
    """Up to ``limit`` tokens that followed the latest earlier occurrence of the context's last
    ``longest`` tokens (else of fewer): a tool call copies names and values from its prompt, and an
    answer caught in a loop repeats itself, so these are often the tokens greedy decoding picks next."""
    for n in range(min(longest, len(context) - 1), 0, -1):
        tail = context[-n:]
        for start in range(len(context) - n - 1, -1, -1):
            if context[start:start + n] == tail:
                return context[start + n:start + n + limit]
    return []


def speculative_step(model, batch: LiveBatch, drafts: list[list[int]], pad_id: int) -> list[list[int]]:
    """Feed each row its greedy next token followed by its draft, in one pass. A drafted token is kept
    while it is the argmax after the token before it, which is what one-token steps would have
    chosen; the kept ones are returned per row, the others masked out and dropped from the cache, and
    the logits after the last kept token become the row's next. Shorter drafts are padded; padding
    is never kept, and comes after the row's real tokens, which cannot attend to it."""
    rows, width = len(drafts), 1 + max(len(d) for d in drafts)
    feed = torch.full((rows, width), pad_id, dtype=torch.long)
    for row, draft in enumerate(drafts):
        feed[row, 1:1 + len(draft)] = torch.tensor(draft, dtype=torch.long)
    feed = feed.to(batch.mask.device)
    feed[:, 0] = batch.logits.argmax(-1)
    before = batch.mask.shape[1]
    positions = batch.mask.sum(-1, keepdim=True) + torch.arange(width, device=batch.mask.device)
    batch.mask = torch.cat([batch.mask, batch.mask.new_ones((rows, width))], dim=-1)
    logits = model(input_ids=feed, attention_mask=batch.mask, position_ids=positions, cache=batch.cache,
                   use_cache=True).logits
    greedy = logits.argmax(-1).tolist()
    kept = []
    for row, draft in enumerate(drafts):
        n = 0
        while n < len(draft) and draft[n] == greedy[row][n]:
            n += 1
        kept.append(draft[:n])
        batch.mask[row, before + 1 + n:] = 0
    batch.logits = logits[torch.arange(rows, device=logits.device), [len(k) for k in kept]]
    batch.drop_unattended_columns()
    return kept


@torch.inference_mode()
def _greedy_answers(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int,
                    share_prefix: bool, max_draft: int) -> tuple[list[str], int]:
    stops = set(stop_token_ids(model, tokenizer))
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    waiting = deque(sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True))
    shared = SharedStart(model, encoded[0][:shared_prefix_length(encoded)] if share_prefix else [])
    refill_at = max(1, batch_size // 8)
    answers: list[list[int]] = [[] for _ in prompts]
    batch: LiveBatch | None = None

    def take(row: int, tokens: list[int]) -> None:
        for token in tokens:
            if batch.ended[row]:
                return
            answer = answers[batch.prompts[row]]
            answer.append(token)
            batch.ended[row] = token in stops or len(answer) == max_new_tokens

    while waiting or batch is not None:
        room = batch_size - (batch.live() if batch else 0)
        if waiting and (batch is None or (room >= refill_at and batch.joinable)):
            if batch is not None:
                batch.drop_ended()
            joining = [waiting.popleft() for _ in range(min(room, len(waiting)))]
            batch = prefill(model, shared, [encoded[i] for i in joining], joining, tokenizer.pad_token_id, batch)
        for row, token in enumerate(batch.logits.argmax(-1).tolist()):
            take(row, [token])
        live = batch.live()
        if live == 0:
            batch = None
            continue
        # Once no prompt waits, the batch empties and a pass costs about the same with fewer rows: the
        # spare positions verify drafted tokens, several per pass when an answer copies or repeats.
        draft_len = 0 if waiting or not batch.full_attention else max(0, min(max_draft, batch_size // live - 1))
        ended = len(batch.ended) - live
        # ended rows leave before drafting (each would take a draft's positions), else when a quarter have
        if ended and (draft_len or (not (waiting and batch.joinable) and ended >= max(1, len(batch.ended) // 4))):
            batch.drop_ended()
        if draft_len:
            drafts = [lookup_draft(encoded[i] + answers[i], min(draft_len, max_new_tokens - len(answers[i])))
                      for i in batch.prompts]
            if any(drafts):
                for row, kept in enumerate(speculative_step(model, batch, drafts, tokenizer.pad_token_id)):
                    take(row, kept)
                continue
        decode_step(model, batch)
    texts, new_tokens = [], 0
    for tokens in answers:
        tokens = tokens[:-1] if tokens and tokens[-1] in stops else tokens
        new_tokens += len(tokens)
        # Keep special tokens: in some families <tool_call> is one, and it is the answer's syntax.
        texts.append(tokenizer.decode(tokens, skip_special_tokens=False))
    return texts, new_tokens
