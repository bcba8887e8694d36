"""Paired comparisons of two runs over a set of languages: the change and its 95% interval, with its
method."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .runs import Run, load_predictions
from .stats import LanguagePredictions, percentile_interval, sentence_bootstrap, t_interval


class Comparer:
    """Changes of one run against a reference over a set of languages, with a 95% interval and its method.

    Several seeds: Student-t over the per-seed paired differences. One seed: paired bootstrap over test
    sentences, with shared sentence ids across languages when the task has them (see `stats.py`).
    """

    def __init__(self, task: str, resamples: int, seed: int):
        self.task, self.resamples, self.rng = task, resamples, np.random.default_rng(seed)
        self._preds: dict[str, dict | None] = {}

    def values(self, run: Run, langs: list[str]) -> list[float]:
        per_lang = run.per_language(self.task)
        return [float(np.mean([per_lang[lang][s] for lang in langs])) for s in range(run.seeds)]

    def compare(self, run: Run, ref: Run, langs: list[str]) -> dict:
        a, b = self.values(run, langs), self.values(ref, langs)
        out = {"delta": float(np.mean(a) - np.mean(b)), "lo": float("nan"), "hi": float("nan")}
        out |= {"method": None, "n": None, "unit": None, "seeds_positive": None}
        if run.seeds == ref.seeds and run.seeds >= 2:
            diffs = np.subtract(a, b)
            out["lo"], out["hi"] = t_interval(diffs)
            out |= {"method": "Student-t over seeds", "n": run.seeds, "unit": "seeds"}
            out["seeds_positive"] = int((diffs > 0).sum())
            out["delta_std"] = float(np.std(diffs, ddof=1))
        elif run.seeds == ref.seeds == 1:
            resampled = self.sentence_bootstrap(run, ref, langs)
            if resampled is not None:
                diffs, shared, n = resampled
                out["lo"], out["hi"] = percentile_interval(diffs)
                out["method"] = (
                    "paired bootstrap over test sentences, shared ids"
                    if shared
                    else "paired bootstrap over test sentences, per language"
                )
                out |= {"n": n, "unit": "sentences"}
        elif run.seeds != ref.seeds:
            out["method"] = f"no interval: {run.seeds} vs {ref.seeds} seeds cannot be paired"
        return out

    def arrays(self, run: Run) -> dict | None:
        """lang -> template -> {sentence id: (gold, pred)} of a one-seed run (None without predictions)."""
        if run.name not in self._preds:
            rows = load_predictions(run.results[0], self.task)
            grouped: dict | None = None
            if rows is not None:
                grouped = defaultdict(lambda: defaultdict(dict))
                for r in rows:
                    cell = grouped[r["lang"]][r["template"]]
                    cell[str(r.get("id", len(cell)))] = (r["gold"], r["pred"])  # old files: position
            self._preds[run.name] = grouped
        return self._preds[run.name]

    def sentence_bootstrap(self, run: Run, ref: Run, langs: list[str]):
        """(resampled group differences, whether ids were shared, sentences per language) or None."""
        pa, pb = self.arrays(run), self.arrays(ref)
        if pa is None or pb is None:
            return None
        shared = bool(run.results[0].get("id_column")) and bool(ref.results[0].get("id_column"))
        order = None
        per_lang = []
        for lang in langs:
            ta, tb = pa.get(lang), pb.get(lang)
            if not ta or not tb or sorted(ta) != sorted(tb):
                return None
            templates = sorted(ta)
            ids = sorted(ta[templates[0]])
            if any(sorted(ta[t]) != ids or sorted(tb[t]) != ids for t in templates):
                return None
            if order is not None and ids != order:
                shared = False  # the languages do not hold the same sentences
            order = order or ids
            per_lang.append(language_arrays(ta, tb, templates, ids))
        if shared:
            per_lang = [language_arrays(pa[lang], pb[lang], sorted(pa[lang]), order) for lang in langs]
        diffs = sentence_bootstrap(per_lang, shared, self.resamples, self.rng)
        return diffs, shared, len(order)


def language_arrays(ta: dict, tb: dict, templates: list[str], ids: list[str]) -> LanguagePredictions:
    gold = [ta[templates[0]][i][0] for i in ids]
    labels = sorted(
        set(gold)
        | {ta[t][i][1] for t in templates for i in ids}
        | {tb[t][i][1] for t in templates for i in ids}
    )
    index = {label: k for k, label in enumerate(labels)}
    return LanguagePredictions(
        np.array([index[g] for g in gold]),
        np.array([[index[ta[t][i][1]] for i in ids] for t in templates]),
        np.array([[index[tb[t][i][1]] for i in ids] for t in templates]),
        len(labels),
    )
