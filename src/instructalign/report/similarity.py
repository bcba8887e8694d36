"""Language similarity from parallel text: chrF between translations of the same sentences.

chrF over a few hundred sentences costs about half a second per pair, so values are cached on disk
(`$INSTRUCTALIGN_CACHE/similarity`), keyed by the file contents, split and pair.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..data.bitext import bitext_files, read_bitext
from ..errors import UserError
from ..files import cache_dir, files_digest, write_json
from .stats import chrf_similarity


def language_similarity(
    source: str, langs: list[str], against: list[str], split: str = "train"
) -> dict[tuple[str, str], float]:
    """Symmetric chrF of every language in `langs` with every one in `against`, over the rows of a bitext
    source (NusaX folder, SIB-200 folder, wide CSV) where both have a translation."""
    if not Path(source).exists():
        raise UserError(f"{source}: no such file or folder; check --similarity-data")
    cache_file = cache_dir() / "similarity" / f"{files_digest(bitext_files(source, split))}-{split}.json"
    cached = read_cache(cache_file)
    rows = None
    sim = {}
    for a in dict.fromkeys(langs):
        for b in dict.fromkeys(against):
            if a == b:
                continue
            key = "-".join(sorted((a, b)))
            if key not in cached:
                rows = rows if rows is not None else [row.texts for row in read_bitext(source, split)]
                pairs = [(r[a], r[b]) for r in rows if a in r and b in r]
                cached[key] = chrf_similarity([x for x, _ in pairs], [y for _, y in pairs]) if pairs else None
            if cached[key] is not None:
                sim[(a, b)] = sim[(b, a)] = cached[key]
    if rows is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_json(cache_file, cached)
        except (OSError, UserError):
            pass  # an unwritable cache only costs the recomputation next time
    return sim


def read_cache(path: Path) -> dict:
    """Cached pair values; a missing or unreadable cache file is an empty cache (recomputed, rewritten)."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
