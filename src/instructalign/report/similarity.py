"""Language similarity from parallel text: chrF between translations of the same sentences."""

from __future__ import annotations

from pathlib import Path

from ..data.bitext import read_bitext
from ..errors import UserError
from .stats import chrf_similarity


def language_similarity(source: str, langs: list[str], split: str = "train") -> dict[tuple[str, str], float]:
    """Symmetric chrF for every pair of `langs` over the rows of a NusaX folder or wide CSV."""
    if not Path(source).exists():
        raise UserError(f"{source}: no such file or folder; check --similarity-data")
    rows = [row.texts for row in read_bitext(source, split)]
    present = [lang for lang in dict.fromkeys(langs) if any(lang in r for r in rows)]
    sim = {}
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            pairs = [(r[a], r[b]) for r in rows if a in r and b in r]
            if pairs:
                value = chrf_similarity([x for x, _ in pairs], [y for _, y in pairs])
                sim[(a, b)] = sim[(b, a)] = value
    return sim
