"""Classification and translation metrics (sacrebleu for translation) and group means."""

from __future__ import annotations

import statistics
from collections import Counter

from ..errors import UserError
from ..languages import resolve_list


def classification_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict[str, float]:
    """Weighted F1 (the paper's headline), macro F1 and accuracy, on a 0-1 scale.

    scikit-learn's definitions (`f1_score(..., labels=labels, zero_division=0)`, `accuracy_score`), which
    the tests hold these to; counted here because importing scikit-learn costs every `eval` process 1-2 s."""
    hits = Counter(g for g, p in zip(gold, pred) if g == p)
    support, predicted = Counter(gold), Counter(pred)
    f1 = {
        label: 2 * hits[label] / (support[label] + predicted[label]) if hits[label] else 0.0
        for label in labels
    }  # 2tp / (2tp + fp + fn)
    total = sum(support[label] for label in labels)
    return {
        "weighted_f1": sum(f1[label] * support[label] for label in labels) / total if total else 0.0,
        "macro_f1": sum(f1.values()) / len(labels),
        "accuracy": sum(hits.values()) / len(gold) if gold else 0.0,
        "n": len(gold),
    }


def label_spread(gold: list[str], pred: list[str], labels: list[str]) -> dict:
    """What a model that cannot do the task looks like: how often it predicts each label, and the weighted F1
    of always predicting the most frequent gold label (the floor a model that can do the task beats)."""
    predicted = Counter(pred)
    majority = Counter(gold).most_common(1)[0][0] if gold else None
    floor = classification_metrics(gold, [majority] * len(gold), labels)["weighted_f1"] if gold else 0.0
    return {
        "predicted": {label: predicted[label] for label in labels if predicted[label]},
        "majority_f1": floor,
    }


def top_label(predicted: dict[str, int]) -> tuple[str | None, float]:
    """The most predicted label and its share of all predictions."""
    total = sum(predicted.values())
    if not total:
        return None, 0.0
    label = max(predicted, key=predicted.get)
    return label, predicted[label] / total


DEGENERATE_SHARE = 0.95  # a model predicting one label for this share of prompts cannot do the task


def cannot_do(predicted: dict[str, int], weighted_f1: float, majority_f1: float | None) -> str | None:
    """Why a model cannot do the task, in words (None when it can): it predicts one label for nearly every
    prompt, or it does not beat always predicting the most frequent gold label."""
    label, share = top_label(predicted)
    if label is not None and share >= DEGENERATE_SHARE:
        return f"predicts '{label}' for {share:.0%} of prompts: the model cannot do this task"
    if majority_f1 is not None and weighted_f1 <= majority_f1:
        return (
            f"scores {100 * weighted_f1:.1f}, not above always predicting the most frequent label "
            f"({100 * majority_f1:.1f}): the model cannot do this task"
        )
    return None


def translation_metrics(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    import sacrebleu

    return {
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references], word_order=2).score),  # chrF++
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
        "n": len(hypotheses),
    }


def mean_over_templates(per_template: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over templates, plus the spread (population std) of weighted F1."""
    keys = ("weighted_f1", "macro_f1", "accuracy") + (
        ("majority_f1",) if all("majority_f1" in m for m in per_template.values()) else ()
    )
    out = {k: statistics.fmean(m[k] for m in per_template.values()) for k in keys}
    out["weighted_f1_std"] = statistics.pstdev(m["weighted_f1"] for m in per_template.values())
    out["n"] = next(iter(per_template.values()))["n"]
    predicted = Counter()
    for m in per_template.values():
        predicted.update(m.get("predicted", {}))
    if predicted:
        out["predicted"] = dict(predicted)
    return out


def group_means(
    per_lang: dict[str, dict], roles: dict[str, list[str]], key: str = "weighted_f1"
) -> dict[str, dict]:
    """Mean of `key` over each role's languages (those that were evaluated)."""
    groups = {}
    for role, langs in roles.items():
        present = [lang for lang in langs if lang in per_lang]
        if present:
            groups[role] = {
                key: statistics.fmean(per_lang[lang][key] for lang in present),
                "languages": present,
            }
    return groups


def parse_roles(text: str | dict | None) -> dict[str, list[str]]:
    """'L1=eng,ind;L2=jav,sun;L3=mad' -> {'L1': ['eng', 'ind'], ...}."""
    if not text:
        return {}
    if isinstance(text, dict):
        return {role: resolve_list(langs, f"--roles {role}") for role, langs in text.items()}
    roles = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        role, sep, langs = part.partition("=")
        if not sep:
            raise UserError(f"--roles '{part}': write it as L1=eng,ind;L2=jav,sun;L3=mad")
        roles[role.strip()] = resolve_list(langs, f"--roles {role.strip()}")
    return roles
