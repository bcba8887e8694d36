"""Log-likelihood of label continuations: the small model interface that evaluation needs.

`score_choices(model, tokenizer, prompts, choices)` returns, for each prompt, the summed log-probability
of each choice's tokens given the prompt — the choice's tokens only, never the prompt's.

- Decoder-only: when every prompt of a batch has the same choices and the model allows it, the choices are
  packed behind each prompt and scored in the prompt's own forward pass (`packed.py`). Otherwise prompts are
  left-padded and run once with the key/value cache on; the cache rows are then repeated per choice and all
  choices are scored in one batched forward (no second pass over the prompt). Single-token choices are read
  straight from the prompt's last logits.
- Encoder-decoder: the encoder runs once per prompt; the decoder scores each choice from the decoder start
  token (the correct decoder context), all choices of a batch in one forward.

Scoring knows nothing about tasks; tasks know nothing about caches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models import accepts, cache_kwarg
from .packed import packable, packed_token_logprobs


@dataclass
class ChoiceScores:
    logprob: list[float]  # summed log-probability of each choice
    n_tokens: list[int]  # tokens in each choice


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)


def pad(
    seqs: list[list[int]], pad_value: int, left: bool = False, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask of sequences padded to the longest, on the left or the right."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_value, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        span = slice(width - len(s), width) if left else slice(0, len(s))
        ids[i, span] = torch.tensor(s)
        mask[i, span] = 1
    return ids.to(device), mask.to(device)


def choice_rows(
    choice_ids: list[list[list[int]]], pad_value: int, device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One row per (prompt, choice): the prompt index of each row, and the right-padded choice tokens."""
    owner = torch.tensor([i for i, cs in enumerate(choice_ids) for _ in cs], device=device)
    ids, mask = pad([c for cs in choice_ids for c in cs], pad_value, device=device)
    return owner, ids, mask


def encode_choices(tokenizer, choices: list[str]) -> list[list[int]]:
    encoded = tokenizer(list(choices), add_special_tokens=False)["input_ids"]
    for c, ids in zip(choices, encoded):
        if not ids:
            raise ValueError(f"choice {c!r} encodes to no tokens")
    return encoded


def encode_all_choices(tokenizer, choices: list[list[str]]) -> list[list[list[int]]]:
    """Token ids of every prompt's choices; a choice set shared by many prompts is encoded once."""
    cache: dict[tuple[str, ...], list[list[int]]] = {}
    encoded = []
    for cs in choices:
        key = tuple(cs)
        if key not in cache:
            cache[key] = encode_choices(tokenizer, cs)
        encoded.append(cache[key])
    return encoded


def encode_prompts(tokenizer, prompts: list[str], max_tokens: int, encoded=None) -> list[list[int]]:
    """Token ids of the prompts (`encoded`: ids the caller already has); a too-long prompt keeps its end,
    where the question sits."""
    ids = encoded if encoded is not None else tokenizer(list(prompts))["input_ids"]
    return [x[-max_tokens:] for x in ids]


def context_limit(model, max_length: int) -> int:
    """`max_length`, capped by the model's position table where it has one (ALiBi/relative models have
    none)."""
    limit = getattr(model.config, "n_positions", None) or getattr(
        model.config, "max_position_embeddings", None
    )
    return min(max_length, limit) if limit else max_length


def model_device(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def score_causal(
    model, tokenizer, prompts: list[str], choices: list[list[str]], max_length: int = 2048, encoded=None
) -> list[ChoiceScores]:
    pad_value = pad_id(tokenizer)
    choice_ids = encode_all_choices(tokenizer, choices)
    longest_choice = max(len(c) for cs in choice_ids for c in cs)
    prompt_ids = encode_prompts(
        tokenizer, prompts, context_limit(model, max_length) - longest_choice, encoded
    )
    shared = choice_ids[0]
    if (
        longest_choice > 1
        and all(cs == shared for cs in choice_ids)
        and packing_works(model, prompt_ids, shared, pad_value)
    ):
        sums = packed_token_logprobs(model, prompt_ids, shared, pad_value).sum(-1).tolist()
        return [ChoiceScores(row, [len(c) for c in shared]) for row in sums]
    return cached_scores(model, prompt_ids, choice_ids, pad_value)


def packing_works(model, prompt_ids: list[list[int]], choices: list[list[int]], pad_value: int) -> bool:
    """Packed scoring (`packed.py`) where it reproduces the cache path: checked once per model, on the
    first few prompts it scores; a model it does not fit (ALiBi, a mask it cannot take) keeps the cache."""
    if getattr(model, "instructalign_packing", None) is None:
        works = packable(model)
        if works:
            probe = prompt_ids[:4]
            cached = cached_scores(model, probe, [choices] * len(probe), pad_value)
            try:
                packed = packed_token_logprobs(model, probe, choices, pad_value).sum(-1).cpu()
            except Exception:  # a probe of a capability: whatever a model raises, the cache path stays exact
                works = False
            else:
                tolerance = 1e-3 if next(model.parameters()).dtype == torch.float32 else 0.25
                works = torch.allclose(packed, torch.tensor([s.logprob for s in cached]), atol=tolerance)
        model.instructalign_packing = works
    return model.instructalign_packing


def cached_scores(
    model, prompt_ids: list[list[int]], choice_ids: list[list[list[int]]], pad_value: int
) -> list[ChoiceScores]:
    """The prompt once with the key/value cache on, then every choice from repeated cache rows."""
    device = model_device(model)
    ids, mask = pad(prompt_ids, pad_value, left=True, device=device)
    several_tokens = any(len(c) > 1 for cs in choice_ids for c in cs)  # single tokens need no cache
    kwargs = {"attention_mask": mask, "use_cache": several_tokens}
    if accepts(model, "position_ids"):
        kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
    if accepts(model, "logits_to_keep"):
        kwargs["logits_to_keep"] = 1
    out = model(ids, **kwargs)
    first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # each choice's first token

    owner, cont, cont_mask = choice_rows(choice_ids, pad_value, device)
    token_lp = first[owner].gather(1, cont[:, :1])  # [N, 1]
    if several_tokens:
        cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
        cache.batch_select_indices(owner)
        kwargs = {"attention_mask": torch.cat([mask[owner], cont_mask], dim=1), cache_kwarg(model): cache}
        if accepts(model, "position_ids"):
            kwargs["position_ids"] = mask.sum(-1)[owner].unsqueeze(1) + torch.arange(
                cont.shape[1], device=device
            )
        logits = model(cont, **kwargs).logits[:, :-1, :].float()
        rest = torch.log_softmax(logits, dim=-1).gather(2, cont[:, 1:].unsqueeze(-1)).squeeze(-1)
        token_lp = torch.cat([token_lp, rest], dim=1)
    return collect(token_lp * cont_mask, cont_mask, choice_ids)


@torch.inference_mode()
def score_seq2seq(
    model, tokenizer, prompts: list[str], choices: list[list[str]], max_length: int = 2048, encoded=None
) -> list[ChoiceScores]:
    device = model_device(model)
    pad_value = pad_id(tokenizer)
    choice_ids = encode_all_choices(tokenizer, choices)
    ids, mask = pad(encode_prompts(tokenizer, prompts, max_length, encoded), pad_value, device=device)
    hidden = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state

    owner, labels, label_mask = choice_rows(choice_ids, pad_value, device)
    start = torch.full((len(owner), 1), model.config.decoder_start_token_id, dtype=torch.long, device=device)
    decoder_input = torch.cat([start, labels[:, :-1]], dim=1)
    from transformers.modeling_outputs import BaseModelOutput

    out = model(
        encoder_outputs=BaseModelOutput(last_hidden_state=hidden[owner]),
        attention_mask=mask[owner],
        decoder_input_ids=decoder_input,
        decoder_attention_mask=label_mask,
        use_cache=False,
    )
    token_lp = torch.log_softmax(out.logits.float(), dim=-1).gather(2, labels.unsqueeze(-1)).squeeze(-1)
    return collect(token_lp * label_mask, label_mask, choice_ids)


def collect(
    token_lp: torch.Tensor, mask: torch.Tensor, choice_ids: list[list[list[int]]]
) -> list[ChoiceScores]:
    sums, lengths = token_lp.sum(1).tolist(), mask.sum(1).tolist()
    out, k = [], 0
    for cs in choice_ids:
        out.append(ChoiceScores(sums[k : k + len(cs)], [int(n) for n in lengths[k : k + len(cs)]]))
        k += len(cs)
    return out


def score_choices(
    model,
    tokenizer,
    prompts: list[str],
    choices: list[list[str]],
    seq2seq: bool,
    max_length: int = 2048,
    encoded: list[list[int]] | None = None,
) -> list[ChoiceScores]:
    """Summed log-probability of every choice given its prompt, for one batch of prompts (`encoded`: the
    prompts' token ids where the caller has them, as the tokenizer makes them)."""
    fn = score_seq2seq if seq2seq else score_causal
    return fn(model, tokenizer, prompts, choices, max_length, encoded)
