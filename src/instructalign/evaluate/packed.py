"""Choices packed behind their prompt: every choice of a prompt scored in the prompt's own forward pass.

A row is `[left padding][prompt][choice 1][choice 2]...`, each choice without its last token (a target
only, never an input). A 4D attention mask lets each choice see the prompt and its own earlier tokens, never
another choice, and position ids restart every choice right after the prompt — so each choice is scored
exactly as if it alone followed the prompt. One forward, no key/value cache to copy per choice (the cache
path copies the prompt's cache once per choice, a fifth of its time on CPU).

It needs a model whose attention takes a custom 4D mask and whose positions come from `position_ids` alone
(not ALiBi from the 2D mask, no sliding window). `packing_works` checks that once per model on a few
prompts against the cache path; scoring falls back to the cache path where it does not hold.
"""

from __future__ import annotations

import torch

from ..models import accepts

MASK_KINDS = {"sdpa": "bool", "eager": "float"}  # the attention implementations whose 4D masks we can write


def packable(model) -> bool:
    """Whether packing can be tried on this model at all (the check in `packing_works` decides)."""
    config = model.config
    windowed = getattr(config, "sliding_window", None) or "sliding_attention" in (
        getattr(config, "layer_types", None) or ()
    )
    return (
        getattr(config, "_attn_implementation", None) in MASK_KINDS
        and accepts(model, "position_ids")
        and not windowed
    )


def packed_rows(
    prompt_ids: list[list[int]], choice_ids: list[list[int]], pad_value: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids [B, L], position ids [B, L] and a boolean mask [B, 1, L, L] (True: may attend) for prompts
    that share one choice set; the choice block is the last `sum(len(choice) - 1)` tokens of every row."""
    inputs = [c[:-1] for c in choice_ids]  # a choice's last token is only ever predicted
    block = [t for c in inputs for t in c]
    width = max(len(p) for p in prompt_ids) + len(block)
    ids = torch.full((len(prompt_ids), width), pad_value, dtype=torch.long)
    segment = torch.full((len(prompt_ids), width), -1, dtype=torch.long)  # -1 pad, 0 prompt, j choice j
    positions = torch.zeros((len(prompt_ids), width), dtype=torch.long)
    choice_segments = [j + 1 for j, c in enumerate(inputs) for _ in c]
    choice_offsets = [k for c in inputs for k in range(len(c))]
    for i, p in enumerate(prompt_ids):
        start = width - len(p) - len(block)
        ids[i, start:] = torch.tensor(p + block)
        segment[i, start : start + len(p)] = 0
        segment[i, start + len(p) :] = torch.tensor(choice_segments, dtype=torch.long)
        positions[i, start : start + len(p)] = torch.arange(len(p))
        positions[i, start + len(p) :] = len(p) + torch.tensor(choice_offsets, dtype=torch.long)
    query, key = segment.unsqueeze(2), segment.unsqueeze(1)
    causal = torch.ones((width, width), dtype=torch.bool).tril()
    mask = causal & (key >= 0) & ((key == 0) | (key == query))
    mask |= torch.eye(width, dtype=torch.bool)  # padding attends to itself (no empty row, no NaN)
    return ids, positions, mask.unsqueeze(1)


def attention_mask_for(model, mask: torch.Tensor) -> torch.Tensor:
    if MASK_KINDS[model.config._attn_implementation] == "bool":
        return mask
    dtype = next(model.parameters()).dtype
    return torch.zeros(mask.shape, dtype=dtype).masked_fill(~mask, torch.finfo(dtype).min)


@torch.inference_mode()
def packed_token_logprobs(
    model, prompt_ids: list[list[int]], choice_ids: list[list[int]], pad_value: int
) -> torch.Tensor:
    """Log-probability of every choice token, [B, n_choices, longest choice] (0 past a choice's end)."""
    device = next(model.parameters()).device
    ids, positions, mask = packed_rows(prompt_ids, choice_ids, pad_value)
    block = sum(len(c) - 1 for c in choice_ids)
    kwargs = {
        "attention_mask": attention_mask_for(model, mask).to(device),
        "position_ids": positions.to(device),
    }
    if accepts(model, "logits_to_keep"):
        kwargs["logits_to_keep"] = block + 1
    logits = model(ids.to(device), use_cache=False, **kwargs).logits[:, -(block + 1) :, :]
    logprobs = torch.log_softmax(logits.float(), dim=-1)  # index 0: the prompt's last token
    out = torch.zeros((len(prompt_ids), len(choice_ids), max(len(c) for c in choice_ids)), device=device)
    offset = 0
    for j, c in enumerate(choice_ids):
        # token k of choice j is predicted at the prompt's last token (k = 0) or at choice token k - 1
        where = torch.tensor([0] + [1 + offset + k for k in range(len(c) - 1)], device=device)
        out[:, j, : len(c)] = (
            logprobs[:, where, :]
            .gather(2, torch.tensor(c, device=device).expand(len(prompt_ids), -1).unsqueeze(-1))
            .squeeze(-1)
        )
        offset += len(c) - 1
    return out
