"""Batched, seeded generation with transformers' `generate`: prompts left-padded into batches (longest first,
so that a batch pads little), the KV cache on, each batch sampled from its own seed, and each row stopped at
the model's end of turn, a stop string, or `max_new_tokens`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sampling:
    """How to pick each token: greedy at temperature 0, else sampled at `temperature` within `top_p`."""

    temperature: float
    top_p: float
    max_new_tokens: int


@dataclass(frozen=True)
class Generated:
    """A continuation: its text (up to the stop, which is not part of it), the tokens generated, and whether
    the model ended it itself (False: cut at max_new_tokens)."""

    text: str
    tokens: int
    ended: bool


def batch_seed(seed: int, batch: int) -> int:
    """The torch seed of one batch: a batch's samples depend on the run's seed and its place only."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{batch}".encode()).digest()[:4], "little")


def batches(prompts: list[list[int]], size: int) -> list[list[int]]:
    """Indices of `prompts` in batches of `size`, longest prompts first (ties in input order)."""
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


def generate(
    model,
    tokenizer,
    prompts: list[list[int]],
    sampling: Sampling,
    seed: int,
    batch_size: int,
    stop_ids: list[int],
    stop_text: str | None = None,
    advance: Callable[[int, int], None] | None = None,
) -> list[Generated]:
    """The continuation of each prompt (token ids), in the prompts' order; `advance(rows, tokens)` after each
    batch (a progress bar)."""
    import torch

    out: list[Generated | None] = [None] * len(prompts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    config = generation_config(sampling, stop_ids, pad, stop_text)
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    for number, rows in enumerate(batches(prompts, batch_size)):
        ids, mask = left_padded([prompts[i] for i in rows], pad)
        torch.manual_seed(batch_seed(seed, number))
        extra = {"tokenizer": tokenizer} if stop_text else {}  # it reads the stop string's tokens
        with torch.inference_mode():
            result = model.generate(input_ids=ids, attention_mask=mask, generation_config=config, **extra)
        new = result[:, 1:] if seq2seq else result[:, ids.shape[1] :]  # a decoder starts with its start id
        for i, row in zip(rows, new.tolist()):
            out[i] = continuation(tokenizer, row, set(stop_ids), pad, stop_text)
        if advance:
            advance(len(rows), sum(out[i].tokens for i in rows))
    return out


def generation_config(sampling: Sampling, stop_ids: list[int], pad: int, stop_text: str | None = None):
    """Every decoding setting given explicitly, so that a model's own generation_config.json (top_k 50, a
    repetition penalty) changes nothing."""
    from transformers import GenerationConfig

    sample = sampling.temperature > 0
    return GenerationConfig(
        do_sample=sample,
        temperature=sampling.temperature if sample else None,
        top_p=sampling.top_p if sample else None,
        top_k=0 if sample else None,
        max_new_tokens=sampling.max_new_tokens,
        eos_token_id=stop_ids,
        pad_token_id=pad,
        stop_strings=[stop_text] if stop_text else None,
        use_cache=True,
    )


def left_padded(rows: list[list[int]], pad: int):
    """(input ids, attention mask) of `rows` padded on the left: every prompt ends where generation starts."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


def continuation(tokenizer, ids: list[int], stops: set[int], pad: int, stop_text: str | None) -> Generated:
    """One row of generate's output as text: up to its first stop token (the pads after it dropped), cut at
    `stop_text` where that comes first."""
    end = next((i for i, t in enumerate(ids) if t in stops), None)
    kept = ids[:end] if end is not None else [t for t in ids if t != pad]  # pads follow a stop string
    text = tokenizer.decode(kept, skip_special_tokens=True)
    ended = end is not None
    if stop_text and stop_text in text:
        text, ended = text[: text.index(stop_text)], True
    return Generated(text.strip(), len(kept) + (end is not None), ended)
