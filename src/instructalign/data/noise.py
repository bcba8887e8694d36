"""Word-level noise for denoising objectives: small pure functions over a seeded `random.Random`."""

from __future__ import annotations

import random
import re

MASK = "<mask>"
_WORD = re.compile(r"\S+")


def words(text: str) -> list[str]:
    """Split on whitespace (punctuation stays attached): no tokenizer download needed."""
    return _WORD.findall(text)


def mask_spans(tokens: list[str], rate: float, rng: random.Random) -> list[str]:
    """Replace about `rate` of the words by `<mask>`; a run of masked words becomes one `<mask>`
    (infilling)."""
    out: list[str] = []
    for tok in tokens:
        if rng.random() < rate:
            if not out or out[-1] != MASK:
                out.append(MASK)
        else:
            out.append(tok)
    return out


def delete_words(tokens: list[str], rate: float, rng: random.Random) -> list[str]:
    """Drop each word with probability `rate`, keeping at least one word."""
    kept = [t for t in tokens if rng.random() >= rate]
    return kept or [rng.choice(tokens)]


def permute_locally(tokens: list[str], window: int, rng: random.Random) -> list[str]:
    """Shuffle words so that none moves more than about `window` places (sort by index + U(0, window))."""
    keys = [i + rng.uniform(0, window) for i in range(len(tokens))]
    return [t for _, t in sorted(zip(keys, tokens), key=lambda kv: kv[0])]


def add_noise(
    text: str,
    rng: random.Random,
    mask_rate: float = 0.15,
    delete_rate: float = 0.15,
    permute_window: int = 3,
) -> str:
    """Apply one randomly chosen noise (mask, delete, permute; rate 0 disables one) to `text`.

    The result always differs from `text`: if the chosen noise happens to leave it unchanged, one word is
    masked (or, for a one-word text, the mask is appended).
    """
    tokens = words(text)
    if not tokens:
        return MASK
    kinds = [
        k
        for k, on in (("mask", mask_rate > 0), ("delete", delete_rate > 0), ("permute", permute_window > 1))
        if on
    ]
    kind = rng.choice(kinds) if kinds else "mask"
    if kind == "mask":
        noisy = mask_spans(tokens, mask_rate, rng)
    elif kind == "delete":
        noisy = delete_words(tokens, delete_rate, rng)
    else:
        noisy = permute_locally(tokens, permute_window, rng)
    if noisy == tokens:
        noisy = list(tokens)
        if len(noisy) == 1:
            noisy.append(MASK)
        else:
            noisy[rng.randrange(len(noisy))] = MASK
    return " ".join(noisy)


def original_perturbation(text: str, rng: random.Random, rate: float = 0.2) -> str:
    """The original InstructAlign code's word noise, one kind at random: fill words with ___ (rate),
    delete words (rate), or shuffle all words."""
    tokens = words(text)
    kind = rng.choice(("infilling", "deletion", "permutation"))
    if kind == "infilling":
        tokens = ["___" if rng.random() < rate else t for t in tokens]
    elif kind == "deletion":
        tokens = [t for t in tokens if rng.random() >= rate] or tokens[:1]
    else:
        rng.shuffle(tokens)
    return " ".join(tokens)
