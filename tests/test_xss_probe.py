"""XSS negatives a model must compare to reject: a probe that reads only sentence B cannot tell them apart."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from helpers import write
from instructalign.cli import main
from instructalign.data.bitext import read_bitext
from instructalign.data.noise import words

PROBE_TEMPLATE = """objective: xss
prompt_lang: zz
answers: {"yes": "Yes", "no": "No"}
templates:
  - "A: {text_a}\\nB: {text_b}\\nSame?"
"""


def bigrams(text: str) -> list[tuple[str, str]]:
    w = words(text.casefold())
    return list(zip(w, w[1:]))


def one_sided_features(sentences_b: list[str], corpus: list[str]) -> np.ndarray:
    """What a model could use without reading A: the share of B's word bigrams seen in the corpus, and
    B's length (the probe of the issue that found instructalign 0.1's perturbed negatives: AUC 0.98)."""
    seen = {g for s in corpus for g in bigrams(s)}
    return np.array(
        [[sum(g in seen for g in bigrams(b)) / max(len(bigrams(b)), 1), len(words(b))] for b in sentences_b]
    )


def probe_auc(sentences_b: list[str], labels: list[int], corpus: list[str]) -> float:
    x = one_sided_features(sentences_b, corpus)
    scores = cross_val_predict(LogisticRegression(), x, labels, cv=5, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


def built_xss(nusax, tmp_path, *extra) -> tuple[list[str], list[int]]:
    out = tmp_path / "xss"
    templates = write(tmp_path / "probe.yaml", PROBE_TEMPLATE)
    assert (
        main(
            [
                "data",
                "build",
                "--bitext",
                str(nusax),
                "--pivots",
                "ind",
                "--targets",
                "jav",
                "--objectives",
                "xss",
                "--templates",
                str(templates),
                "--prompt-langs",
                "zz",
                "--seed",
                "1",
                "--output",
                str(out),
                *extra,
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["tgt_lang"] == "jav"]  # B is the Javanese sentence
    sentences_b = [r["prompt"].split("\nB: ", 1)[1].rsplit("\nSame?", 1)[0] for r in rows]
    return sentences_b, [int(r["target"] == "No") for r in rows]


@pytest.mark.slow
def test_default_negatives_cannot_be_told_from_sentence_b_alone(nusax, tmp_path):
    corpus = [r.texts["jav"] for r in read_bitext(str(nusax), "train")]
    sentences_b, labels = built_xss(nusax, tmp_path)
    assert 0.4 < np.mean(labels) < 0.6
    assert probe_auc(sentences_b, labels, corpus) <= 0.65


@pytest.mark.slow
def test_the_probe_does_catch_word_salad(nusax, tmp_path):
    """The probe has power: negatives made by replacing half the words (instructalign 0.1's perturbation)."""
    import random

    corpus = [r.texts["jav"] for r in read_bitext(str(nusax), "train")]
    rng = random.Random(0)
    donors = [w for s in corpus for w in words(s)]
    positives = rng.sample(corpus, 300)
    negatives = [
        " ".join(rng.choice(donors) if rng.random() < 0.5 else w for w in words(s))
        for s in rng.sample(corpus, 300)
    ]
    assert probe_auc(positives + negatives, [0] * 300 + [1] * 300, corpus) >= 0.9
