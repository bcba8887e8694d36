"""Alignment objectives: one function each, turning a sentence pair into instruction examples.

Every objective produces examples for both directions of a pair (A -> B and B -> A). Add one by writing
a function `(pair, ctx, rng) -> list[dict]` and a line in `OBJECTIVES`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ..languages import LANGUAGES
from . import noise
from .prompts import TemplateSet, render


@dataclass(frozen=True)
class Pair:
    """A sentence in a known language (a) and its translation in a new language (b)."""

    lang_a: str
    text_a: str
    lang_b: str
    text_b: str

    def directions(self) -> list[tuple[str, str, str, str]]:
        """(source lang, source text, other lang, other text) both ways."""
        return [
            (self.lang_a, self.text_a, self.lang_b, self.text_b),
            (self.lang_b, self.text_b, self.lang_a, self.text_a),
        ]


class SentencePool:
    """The most recent sentences per language (a ring of `capacity`), for mismatched XSS negatives.

    Finding a negative costs O(k·L): draw k candidates, keep those close in length, and of those the one
    sharing most character 3-grams (L: the sentence length) — linear in the pairs overall, never quadratic.
    Adding takes no randomness, so a pool rebuilt from the same sentences is the same pool.
    """

    def __init__(self, capacity: int = 4096, candidates: int = 8):
        self.capacity, self.candidates = capacity, candidates
        self.by_lang: dict[str, list[str]] = {}
        self.added: dict[str, int] = {}
        self.grams: dict[str, frozenset[str]] = {}  # each candidate's 3-grams, computed once per pool

    def add(self, lang: str, text: str) -> None:
        bucket = self.by_lang.setdefault(lang, [])
        n = self.added.get(lang, 0)
        if n < self.capacity:
            bucket.append(text)
        else:
            bucket[n % self.capacity] = text
        self.added[lang] = n + 1

    def ngrams(self, text: str) -> frozenset[str]:
        found = self.grams.get(text)
        if found is None:
            found = self.grams[text] = frozenset(char_ngrams(text))
        return found

    def similar(self, lang: str, text: str, rng: random.Random) -> str | None:
        """Another real sentence of `lang` like `text`: of k random candidates, those of similar length
        (within a factor 1.5, if any), and of those the one sharing most character 3-grams with `text`."""
        bucket = self.by_lang.get(lang)
        if not bucket:
            return None
        candidates = [c for c in set(rng.choices(bucket, k=self.candidates)) if c != text]
        close = [c for c in candidates if 2 / 3 <= len(c) / max(len(text), 1) <= 1.5] or candidates
        grams = self.ngrams(text)  # `text` joins the pool next, so its grams are kept
        return max(
            sorted(close),
            key=lambda c: (overlap(grams, self.ngrams(c)), -abs(len(c) - len(text))),
            default=None,
        )


def char_ngrams(text: str, n: int = 3) -> set[str]:
    padded = f" {text.casefold()} "
    return {padded[i : i + n] for i in range(max(len(padded) - n + 1, 1))}


def overlap(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two sets (|a ∪ b| counted, not built)."""
    shared = len(a & b)
    return shared / max(len(a) + len(b) - shared, 1)


@dataclass
class ObjectiveContext:
    """What objectives need besides the pair: template choices, noise settings and the sentence pool."""

    templates: dict[str, list[tuple[TemplateSet, str]]]
    mask_rate: float = 0.15
    delete_rate: float = 0.15
    permute_window: int = 3
    xss_negatives: str = "fluent"
    pool: SentencePool = field(default_factory=SentencePool)

    def noised(self, text: str, rng: random.Random) -> str:
        return noise.add_noise(text, rng, self.mask_rate, self.delete_rate, self.permute_window)


def lang_name(code: str, prompt_lang: str) -> str:
    return LANGUAGES[code].name(prompt_lang)


def make_example(objective: str, ts: TemplateSet, prompt: str, target: str, src: str, tgt: str) -> dict:
    return {
        "prompt": prompt,
        "target": target,
        "objective": objective,
        "src_lang": src,
        "tgt_lang": tgt,
        "prompt_lang": ts.prompt_lang,
        "source": "align",
    }


def mt(pair: Pair, ctx: ObjectiveContext, rng: random.Random) -> list[dict]:
    """Translate A -> B (and B -> A)."""
    out = []
    for src, src_text, tgt, tgt_text in pair.directions():
        ts, tpl = rng.choice(ctx.templates["mt"])
        pl = ts.prompt_lang
        prompt = render(tpl, src_lang=lang_name(src, pl), tgt_lang=lang_name(tgt, pl), src=src_text)
        out.append(make_example("mt", ts, prompt, tgt_text, src, tgt))
    return out


def tlm(pair: Pair, ctx: ObjectiveContext, rng: random.Random) -> list[dict]:
    """Bilingual denoising: the clean sentence in one language given its translation and a noised copy of
    it."""
    out = []
    for context_lang, context, noisy_lang, clean in pair.directions():
        ts, tpl = rng.choice(ctx.templates["tlm"])
        pl = ts.prompt_lang
        prompt = render(
            tpl,
            context_lang=lang_name(context_lang, pl),
            context=context,
            noisy_lang=lang_name(noisy_lang, pl),
            noisy=ctx.noised(clean, rng),
        )
        out.append(make_example("tlm", ts, prompt, clean, context_lang, noisy_lang))
    return out


def xss_negative(lang: str, text: str, ctx: ObjectiveContext, rng: random.Random) -> str | None:
    """A fluent sentence that does not mean `text`: another real sentence of the same language, close in
    length and in character n-grams, so that a model must compare the two sentences to reject it."""
    return ctx.pool.similar(lang, text, rng)


def xss(pair: Pair, ctx: ObjectiveContext, rng: random.Random) -> list[dict]:
    """Crosslingual semantic similarity: do A and B mean the same? Labels balanced by a fair coin.

    `xss_negatives`: "fluent" (default) pairs A with another real sentence for "no"; "perturbed" does the
    same and also perturbs both sentences of every example, positive or negative, with one of the original
    code's word-level noises (fill with ___, delete, shuffle; `noise.original_perturbation`), so that
    noise is no cue. Until the pool holds a sentence of B's language, an example is a positive.
    """
    out = []
    for lang_a, text_a, lang_b, text_b in pair.directions():
        ts, tpl = rng.choice(ctx.templates["xss"])
        pl = ts.prompt_lang
        negative = xss_negative(lang_b, text_b, ctx, rng) if rng.random() < 0.5 else None
        shown_a, shown_b = text_a, negative or text_b
        if ctx.xss_negatives == "perturbed":
            shown_a, shown_b = (
                noise.original_perturbation(shown_a, rng),
                noise.original_perturbation(shown_b, rng),
            )
        prompt = render(
            tpl, lang_a=lang_name(lang_a, pl), text_a=shown_a, lang_b=lang_name(lang_b, pl), text_b=shown_b
        )
        out.append(make_example("xss", ts, prompt, ts.answers["no" if negative else "yes"], lang_a, lang_b))
    return out


def mlm(pair: Pair, ctx: ObjectiveContext, rng: random.Random) -> list[dict]:
    """Monolingual denoising of each side of the pair."""
    out = []
    for lang, text, _, _ in pair.directions():
        ts, tpl = rng.choice(ctx.templates["mlm"])
        prompt = render(tpl, lang=lang_name(lang, ts.prompt_lang), noisy=ctx.noised(text, rng))
        out.append(make_example("mlm", ts, prompt, text, lang, lang))
    return out


OBJECTIVES: dict[str, Callable[[Pair, ObjectiveContext, random.Random], list[dict]]] = {
    "mt": mt,
    "tlm": tlm,
    "xss": xss,
    "mlm": mlm,
}
