"""Numbers behind the report: deltas, paired bootstrap intervals, similarity and correlation."""

from __future__ import annotations

import math
import statistics

import numpy as np


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def bootstrap_seed_diff(
    a: list[float], b: list[float], resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """95% interval of mean(a - b) over seeds, resampling seeds in pairs (a[i] with b[i])."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return float("nan"), float("nan")
    idx = rng.integers(0, len(d), size=(resamples, len(d)))
    means = d[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def weighted_f1_batch(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Weighted F1 of many resamples at once: gold [B, n], pred [..., B, n] -> [..., B]."""
    n = gold.shape[-1]
    total = np.zeros(pred.shape[:-1])
    for k in range(n_labels):
        g, p = gold == k, pred == k
        tp = (g & p).sum(-1)
        support = g.sum(-1)
        denom = support + p.sum(-1)
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        total = total + support * f1
    return total / n


def bootstrap_example_diff(
    gold: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    n_labels: int,
    resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Resampled differences of template-mean weighted F1 (a - b) on the same resampled examples.

    gold [n]; pred_* [templates, n] (label indices). Returns [resamples].
    """
    idx = rng.integers(0, len(gold), size=(resamples, len(gold)))
    g = gold[idx]
    fa = weighted_f1_batch(g, pred_a[:, idx], n_labels).mean(0)
    fb = weighted_f1_batch(g, pred_b[:, idx], n_labels).mean(0)
    return fa - fb


def pearson(x: list[float], y: list[float]) -> tuple[float, float] | None:
    """Pearson r and its two-sided p-value (scipy), or None when it is undefined (n < 3 or no spread)."""
    from scipy.stats import pearsonr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    r, p = pearsonr(x, y)
    return float(r), float(p)


def chrf_similarity(texts_a: list[str], texts_b: list[str]) -> float:
    """Symmetric chrF (character n-gram F-score, 0-100) between translations of the same sentences."""
    import sacrebleu

    ab = sacrebleu.corpus_chrf(texts_a, [texts_b]).score
    ba = sacrebleu.corpus_chrf(texts_b, [texts_a]).score
    return (ab + ba) / 2
