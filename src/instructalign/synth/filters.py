"""Which synthesized rows are kept: each dropped row counted under the first reason that applies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

REASONS = ("cut", "empty", "too_short", "too_long", "repetitive", "duplicate")


@dataclass(frozen=True)
class Bounds:
    """The settings the filters read (from the command's flags)."""

    min_chars: int = 1
    max_chars: int | None = None
    keep_cut: bool = False


def repetitive(text: str, n: int = 3, share: float = 0.5) -> bool:
    """Degenerate text: more than `share` of its word n-grams repeat an earlier one ("the the the ...")."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) >= 4 and 1 - len(set(grams)) / len(grams) > share


def reason_to_drop(prompt: str, answer: str, ended: bool, bounds: Bounds) -> str | None:
    """Why a (prompt, answer) is dropped, before duplicates are looked at; None: keep it."""
    if not ended and not bounds.keep_cut:
        return "cut"
    if not prompt.strip() or not answer.strip():
        return "empty"
    if len(answer) < bounds.min_chars:
        return "too_short"
    if bounds.max_chars is not None and len(answer) > bounds.max_chars:
        return "too_long"
    if repetitive(answer) or repetitive(prompt):
        return "repetitive"
    return None


def kept_rows(
    rows: list[tuple[str, str, bool]], bounds: Bounds, seen: set, dropped: Counter, distinct_prompts: bool
) -> list[int]:
    """Indices of the (prompt, answer, ended) rows kept; `seen` (the keys kept so far: a prompt, or a prompt
    and its answer) and `dropped` are updated, so that several rounds filter as one."""
    kept = []
    for i, (prompt, answer, ended) in enumerate(rows):
        reason = reason_to_drop(prompt, answer, ended, bounds)
        key = prompt if distinct_prompts else (prompt, answer)
        if reason is None and key in seen:
            reason = "duplicate"
        if reason:
            dropped[reason] += 1
            continue
        seen.add(key)
        kept.append(i)
    return kept
