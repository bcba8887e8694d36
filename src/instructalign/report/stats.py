"""Numbers behind the report: intervals for paired differences, stated tests, similarity and correlation.

Two interval methods, chosen by what varies:
- several seeds per run: a **Student-t interval** on the per-seed paired differences (df = n - 1). It
  covers the mean difference over training seeds, on this test set, at its nominal rate when the per-seed
  differences are roughly normal. A percentile bootstrap over 3 seeds would return the min-max range
  (coverage near 74%); with n = 2 the t multiplier is 12.7, so the interval is about 9 standard
  deviations of the per-seed difference wide: honest, and usually uninformative.
- one seed per run: a **paired bootstrap over test sentences**. When the languages of a task are
  translations of the same sentences (shared ids, as in NusaX), one resample draws one set of sentence
  ids and applies it to every language, template and run, and group means are computed per resample;
  otherwise each language is resampled on its own (and the report says so).
"""

from __future__ import annotations

import math
import statistics

import numpy as np

LEVEL = 0.95


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def t_interval(diffs: list[float] | np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Student-t interval of the mean of paired differences (one per seed); NaN for n < 2."""
    from scipy.stats import t

    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n < 2:
        return float("nan"), float("nan")
    half = t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n)
    return float(d.mean() - half), float(d.mean() + half)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    return float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))


def weighted_f1_weighted(
    gold: np.ndarray, pred: np.ndarray, weights: np.ndarray, n_labels: int
) -> np.ndarray:
    """Weighted F1 of pred [T, n] against gold [n] under resampling counts [B, n] -> [T, B].

    A bootstrap resample is a count per sentence (how often it was drawn), so every sum over the resample
    is a matrix product: the same numbers as indexing, without building [B, n] copies.
    """
    total = np.zeros((pred.shape[0], weights.shape[0]))
    for k in range(n_labels):
        g = (gold == k).astype(float)
        p = (pred == k).astype(float)  # [T, n]
        support = weights @ g  # [B]
        tp = (weights @ (p * g).T).T  # [T, B]
        predicted = (weights @ p.T).T
        denom = support + predicted
        total += support * np.where(denom > 0, 2 * tp / np.maximum(denom, 1e-12), 0.0)
    return total / weights.sum(1)


def resample_counts(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """[resamples, n] counts of a bootstrap draw of n items with replacement."""
    draws = rng.integers(0, n, size=(resamples, n)) + n * np.arange(resamples)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)


class LanguagePredictions:
    """One language's test sentences in a fixed id order: gold labels [n] and two runs' predictions [T, n]."""

    def __init__(self, gold: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_labels: int):
        self.gold, self.pred_a, self.pred_b, self.n_labels = gold, pred_a, pred_b, n_labels

    def resampled_diff(self, counts: np.ndarray) -> np.ndarray:
        """Template-mean weighted F1 of a minus b under each resample's sentence counts [B, n] -> [B]."""
        fa = weighted_f1_weighted(self.gold, self.pred_a, counts, self.n_labels).mean(0)
        fb = weighted_f1_weighted(self.gold, self.pred_b, counts, self.n_labels).mean(0)
        return fa - fb


def sentence_bootstrap(
    langs: list[LanguagePredictions], shared_ids: bool, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Resampled group-mean differences (a - b) over test sentences -> [resamples].

    With `shared_ids`, every language holds the same sentences in the same order and one draw of
    sentences serves them all; otherwise each language draws its own.
    """
    total = np.zeros(resamples)
    shared = None
    for lang in langs:
        n = len(lang.gold)
        if shared_ids:
            shared = shared if shared is not None else resample_counts(rng, n, resamples)
            counts = shared
        else:
            counts = resample_counts(rng, n, resamples)
        total += lang.resampled_diff(counts)
    return total / len(langs)


def pearson(x: list[float], y: list[float]) -> tuple[float, float] | None:
    """Pearson r and its two-sided p-value (scipy), or None when it is undefined (n < 3 or no spread)."""
    from scipy.stats import pearsonr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    r, p = pearsonr(x, y)
    return float(r), float(p)


def correlation(x: list[float], y: list[float], level: float = LEVEL) -> dict | None:
    """Pearson r with its Fisher-z interval (n >= 4), and Spearman rho with its p-value; None if undefined."""
    from scipy.stats import norm, spearmanr

    result = pearson(x, y)
    if result is None:
        return None
    r, p = result
    n = len(x)
    lo = hi = float("nan")
    if n >= 4:
        z, half = math.atanh(max(min(r, 0.999999), -0.999999)), norm.ppf(0.5 + level / 2) / math.sqrt(n - 3)
        lo, hi = math.tanh(z - half), math.tanh(z + half)
    rho, p_rho = spearmanr(x, y)
    return {"r": r, "p": p, "r_lo": lo, "r_hi": hi, "rho": float(rho), "p_rho": float(p_rho), "n": n}


def chrf_similarity(texts_a: list[str], texts_b: list[str]) -> float:
    """Symmetric chrF (character n-gram F-score, 0-100) between translations of the same sentences."""
    import sacrebleu

    ab = sacrebleu.corpus_chrf(texts_a, [texts_b]).score
    ba = sacrebleu.corpus_chrf(texts_b, [texts_a]).score
    return (ab + ba) / 2
