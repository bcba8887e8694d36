"""Do the report's 95% intervals cover the truth 95% of the time? Simulated experiments with known truth."""

import json

import numpy as np
import pytest

from helpers import write
from instructalign.report.build import Comparer
from instructalign.report.runs import Run
from instructalign.report.stats import (
    LanguagePredictions,
    percentile_interval,
    sentence_bootstrap,
    t_interval,
    weighted_f1_weighted,
)

NOMINAL = (0.92, 0.98)


def old_bootstrap_seed_diff(a, b, resamples, rng):
    """instructalign 0.1's interval: a percentile bootstrap of the mean over paired seed differences."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    idx = rng.integers(0, len(d), size=(resamples, len(d)))
    means = d[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def seed_level_coverage(interval, n_seeds, truth, experiments=2000, seed=0) -> float:
    """Per-seed results of two runs: run = truth + shared seed effect + noise (weighted-F1 units, sd as in the
    demo)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(experiments):
        seed_effect = rng.normal(0, 0.02, n_seeds)  # both runs of one seed start from the same base
        base = 0.46 + seed_effect + rng.normal(0, 0.01, n_seeds)
        run = 0.46 + truth + seed_effect + rng.normal(0, 0.01, n_seeds)
        lo, hi = interval(run, base, rng)
        hits += lo <= truth <= hi
    return hits / experiments


@pytest.mark.parametrize("n_seeds", [3, 5])
@pytest.mark.parametrize("truth", [0.0, 0.03])
def test_seed_interval_covers_at_its_nominal_rate(n_seeds, truth):
    coverage = seed_level_coverage(lambda a, b, rng: t_interval(np.subtract(a, b)), n_seeds, truth)
    assert NOMINAL[0] <= coverage <= NOMINAL[1], coverage


def test_the_same_check_fails_on_the_old_percentile_bootstrap_over_seeds():
    coverage = seed_level_coverage(
        lambda a, b, rng: old_bootstrap_seed_diff(a, b, 2000, rng), 3, 0.0, experiments=1000
    )
    assert coverage < NOMINAL[0], coverage  # about 0.74: with 3 seeds it returns the min-max range


def simulated_language(rng, gold, difficulty, shift, a0, b0) -> LanguagePredictions:
    """Three templates; a sentence is right with probability sigmoid(c0 - difficulty +- shift)."""

    def predictions(c0, s):
        correct = rng.random((3, len(gold))) < 1 / (1 + np.exp(-(c0 - difficulty + s)))
        return np.where(correct, gold, (gold + rng.integers(1, 3, (3, len(gold)))) % 3)

    return LanguagePredictions(gold, predictions(a0, shift), predictions(b0, -shift), 3)


def population_truth(a0, b0, n=1_000_000, seed=1) -> float:
    rng = np.random.default_rng(seed)
    lang = simulated_language(rng, rng.integers(0, 3, n), rng.normal(size=n), 0.0, a0, b0)
    every = np.ones((1, n))  # each sentence once: the plain weighted F1
    fa = weighted_f1_weighted(lang.gold, lang.pred_a, every, 3).mean()
    fb = weighted_f1_weighted(lang.gold, lang.pred_b, every, 3).mean()
    return float(fa - fb)


@pytest.mark.slow
@pytest.mark.parametrize("a0, b0", [(0.5, 0.5), (0.65, 0.5)], ids=["truth 0", "truth +3 points"])
def test_one_seed_sentence_bootstrap_covers(a0, b0):
    truth = 0.0 if a0 == b0 else population_truth(a0, b0)
    assert a0 == b0 or 0.02 < truth < 0.04
    rng = np.random.default_rng(2)
    hits, experiments = 0, 1000
    for _ in range(experiments):
        gold = rng.integers(0, 3, 400)
        lang = simulated_language(rng, gold, rng.normal(size=400), 0.0, a0, b0)
        lo, hi = percentile_interval(sentence_bootstrap([lang], True, 500, rng))
        hits += lo <= truth <= hi
    assert NOMINAL[0] <= hits / experiments <= NOMINAL[1], hits / experiments


@pytest.mark.slow
def test_group_interval_over_parallel_languages_covers_only_with_shared_ids():
    """Two languages translating the same 400 sentences; which run wins a sentence depends on the sentence
    (shared by both languages). Truth: no difference. Shared draws cover; independent ones are too narrow."""
    rng = np.random.default_rng(3)
    shared_hits = independent_hits = 0
    experiments = 1000
    for _ in range(experiments):
        gold, difficulty = rng.integers(0, 3, 400), rng.normal(size=400)
        shift = rng.normal(0, 1.0, 400)  # this sentence favours one run, in every language
        langs = [simulated_language(rng, gold, difficulty, shift, 0.5, 0.5) for _ in range(2)]
        lo, hi = percentile_interval(sentence_bootstrap(langs, True, 500, rng))
        shared_hits += lo <= 0 <= hi
        lo, hi = percentile_interval(sentence_bootstrap(langs, False, 500, rng))
        independent_hits += lo <= 0 <= hi
    assert NOMINAL[0] <= shared_hits / experiments <= NOMINAL[1], shared_hits / experiments
    assert independent_hits / experiments < NOMINAL[0], independent_hits / experiments


def test_one_resample_draws_the_same_sentences_in_every_language():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 50)
    lang = simulated_language(rng, gold, rng.normal(size=50), 0.0, 0.5, 0.3)
    twice = sentence_bootstrap([lang, lang], True, 200, np.random.default_rng(7))
    once = sentence_bootstrap([lang], True, 200, np.random.default_rng(7))
    assert np.array_equal(twice, once)  # the same positions in both languages, resample by resample
    independent = sentence_bootstrap([lang, lang], False, 200, np.random.default_rng(7))
    assert not np.array_equal(independent, once)


def one_seed_run(tmp_path, name, rows_by_lang, id_column="id") -> Run:
    folder = tmp_path / name
    preds = [r | {"lang": lang, "template": "en0"} for lang, rows in rows_by_lang.items() for r in rows]
    write(folder / "predictions.jsonl", "".join(json.dumps(p) + "\n" for p in preds))
    result = {"tasks": {"t": {}}, "id_column": id_column, "_path": str(folder / "results.json")}
    return Run(name, [folder], [result])


def test_languages_are_matched_by_sentence_id_not_by_row_order(tmp_path):
    rng = np.random.default_rng(1)
    ids = [f"s{i}" for i in range(40)]
    gold = rng.choice(["neg", "pos"], 40)
    pa, pb = rng.choice(["neg", "pos"], 40), rng.choice(["neg", "pos"], 40)

    def rows(pred, order):
        return [{"id": ids[i], "gold": gold[i], "pred": pred[i]} for i in order]

    forward, backward = list(range(40)), list(range(39, -1, -1))
    a = one_seed_run(tmp_path, "a", {"jav": rows(pa, forward), "sun": rows(pa, backward)})
    b = one_seed_run(tmp_path, "b", {"jav": rows(pb, forward), "sun": rows(pb, backward)})
    both = Comparer("t", 300, 5).sentence_bootstrap(a, b, ["jav", "sun"])
    alone = Comparer("t", 300, 5).sentence_bootstrap(a, b, ["jav"])
    assert both[1] is True and both[2] == 40
    assert np.allclose(both[0], alone[0])  # sun is jav in another row order: same sentences per resample


def test_without_shared_ids_each_language_is_resampled_alone(tmp_path):
    rows = [{"id": str(i), "gold": "a", "pred": "a" if i % 2 else "b"} for i in range(10)]
    a = one_seed_run(tmp_path, "a", {"x": rows, "y": rows}, id_column=None)
    b = one_seed_run(tmp_path, "b", {"x": rows, "y": rows}, id_column=None)
    assert Comparer("t", 100, 0).sentence_bootstrap(a, b, ["x", "y"])[1] is False


def test_correlation_reports_pearson_with_fisher_interval_and_spearman():
    from instructalign.report.stats import correlation

    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [1.1, 1.9, 3.2, 3.8, 5.3, 5.9]
    c = correlation(x, y)
    assert c["n"] == 6 and c["rho"] == pytest.approx(1.0) and c["r_lo"] < c["r"] < c["r_hi"] <= 1
    assert (
        correlation([1.0, 2.0, 3.0], [2.0, 1.0, 3.0])["r_lo"]
        != correlation([1.0, 2.0, 3.0], [2.0, 1.0, 3.0])["r_lo"]
    )  # NaN below n = 4


def test_the_correlation_interval_labelled_95_covers_the_true_r_about_95_percent_of_the_time():
    from instructalign.report.stats import correlation

    rng = np.random.default_rng(3)
    for n, rho in ((21, 0.6), (12, 0.0)):  # the transfer study's n, and a small null
        hits = 0
        for _ in range(600):
            x = rng.normal(size=n)
            y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
            c = correlation(list(x), list(y))
            hits += c["r_lo"] <= rho <= c["r_hi"]
        assert 0.925 <= hits / 600 <= 0.975, (n, rho, hits / 600)  # 95% +- 2.6 binomial SE


def test_trigram_similarity_ranks_a_related_language_above_an_unrelated_one(nusax):
    import csv

    from instructalign.report.similarity import monolingual_similarity, ngram_profile, profile_cosine

    assert profile_cosine(ngram_profile(["sama saja"]), ngram_profile(["sama saja"])) == pytest.approx(100)
    assert profile_cosine(ngram_profile(["abc"]), ngram_profile(["xyz"])) == 0
    texts = {}
    for code, folder in (
        ("jav", "javanese"),
        ("sun", "sundanese"),
        ("ind", "indonesian"),
        ("eng", "english"),
    ):
        with open(nusax / "sentiment" / folder / "train.csv", encoding="utf-8") as f:
            texts[code] = [row["text"] for row in csv.DictReader(f)]
    sim = monolingual_similarity(texts, ["ind", "eng"], ["jav", "sun"])
    assert sim[("ind", "jav")] > sim[("eng", "jav")] and sim[("jav", "ind")] == sim[("ind", "jav")]


def test_a_study_reads_an_interval_against_zero():
    from instructalign.study.findings import against_zero

    words = {"above": "larger", "below": "smaller", "neither": "not shown", "undefined": "no interval"}
    cases = [
        ((0.1, 0.5), "larger"),
        ((-0.5, -0.1), "smaller"),
        ((-0.1, 0.1), "not shown"),
        ((0.0, 0.3), "not shown"),
        ((float("nan"), float("nan")), "no interval"),
    ]
    assert [against_zero(lo, hi, **words) for (lo, hi), _ in cases] == [want for _, want in cases]
