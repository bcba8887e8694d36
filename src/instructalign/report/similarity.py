"""Language similarity, two measures, and the report's section that sets it against the transfer of each run.

- From parallel text: chrF between translations of the same sentences. chrF over a few hundred sentences
  costs about half a second per pair, so values are cached on disk (`$INSTRUCTALIGN_CACHE/similarity`),
  keyed by the file contents, split and pair.
- From monolingual text alone (for languages without a translation of shared sentences): cosine between
  the languages' character trigram profiles (counts over lowercased text with word boundaries marked),
  x100. Cheap, so not cached.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..config import ReportConfig
from ..data.bitext import bitext_files, read_bitext
from ..errors import UserError
from ..files import cache_dir, files_digest, read_json, write_json
from ..languages import label
from .compare import Comparer
from .runs import Run
from .stats import chrf_similarity, correlation


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
    return read_json(path, default={})


def ngram_profile(texts: Iterable[str], n: int = 3) -> Counter:
    """Counts of the character n-grams of lowercased text, each word padded with spaces."""
    profile: Counter = Counter()
    for text in texts:
        padded = f" {' '.join(text.lower().split())} "
        profile.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return profile


def profile_cosine(a: Counter, b: Counter) -> float:
    """Cosine of two n-gram count profiles, x100 (0: no n-gram shared, 100: the same distribution)."""
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return 100 * dot / norm if norm else 0.0


def monolingual_similarity(
    texts: dict[str, list[str]], langs: list[str], against: list[str]
) -> dict[tuple[str, str], float]:
    """Trigram-profile cosine of every language in `langs` with every one in `against` (both ways)."""
    profiles = {
        lang: ngram_profile(texts[lang]) for lang in dict.fromkeys([*langs, *against]) if texts.get(lang)
    }
    sim = {}
    for a in langs:
        for b in against:
            if a != b and a in profiles and b in profiles:
                sim[(a, b)] = sim[(b, a)] = profile_cosine(profiles[a], profiles[b])
    return sim


def similarity_section(
    cfg: ReportConfig, runs: list[Run], base: Run, roles: dict, comparer: Comparer
) -> dict:
    l3, l2, l1 = roles.get("L3", []), roles.get("L2", []), roles.get("L1", [])
    if not l3 or not l2:
        return {
            "status": "not enough data",
            "reason": "similarity vs. transfer needs L2 and L3 languages (--roles)",
        }
    sim = language_similarity(cfg.similarity_data, l3, l2 + l1)
    points = []
    for lang in l3:
        row = {
            "lang": lang,
            "name": label(lang),
            "sim_L2": float(np.mean([sim[(lang, o)] for o in l2 if (lang, o) in sim])),
            "sim_L1": float(np.mean([sim[(lang, o)] for o in l1 if (lang, o) in sim]))
            if l1
            else float("nan"),
        }
        for run in runs:
            if run is not base:
                row[f"gain {run.name}"] = comparer.compare(run, base, [lang])["delta"]
        points.append(row)
    correlations = {}
    for run in runs:
        if run is base:
            continue
        correlations[run.name] = correlation(
            [p["sim_L2"] for p in points], [p[f"gain {run.name}"] for p in points]
        )
    n = len(points)
    if n < 3:
        status, reason = (
            "not enough data",
            f"only {n} L3 language(s): a correlation needs at least 3 (the paper used more)",
        )
    elif n < 5:
        status, reason = (
            "few languages",
            f"only {n} L3 languages: the correlation is illustrative, not evidence",
        )
    else:
        status, reason = "ok", ""
    return {
        "status": status,
        "reason": reason,
        "points": points,
        "correlations": correlations,
        "source": cfg.similarity_data,
        "pairs": {f"{a}-{b}": v for (a, b), v in sim.items() if a < b},
    }
