"""Rank classification over a task's languages and templates: one prediction record per example."""

from __future__ import annotations

from tqdm.auto import tqdm

from ..data.prompts import render
from ..errors import UserError
from .metrics import classification_metrics, mean_over_templates
from .scoring import score_choices
from .tasks import TaskSpec


def decide(scores, normalize: str, choices: list[str]) -> list[float]:
    if normalize == "tokens":
        return [s / n for s, n in zip(scores.logprob, scores.n_tokens)]
    if normalize == "chars":
        return [s / max(len(c), 1) for s, c in zip(scores.logprob, choices)]
    return list(scores.logprob)


def batches(indices: list[int], size: int):
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


def classify(
    model, tokenizer, seq2seq, task, rows, lang, tid, pl, template, cfg, bar
) -> tuple[dict, list[dict]]:
    """Rank-classify every row with one template: metrics and one prediction record per row."""
    choices = [task.target_delimiter + task.verbalizers[pl][label] for label in task.labels]
    options = task.options(pl)
    prompts = [
        render(template, **({"options": options} | {k: str(v) for k, v in row.items()})) for row in rows
    ]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths share a batch
    records: list[dict | None] = [None] * len(rows)
    for batch in batches(order, cfg.batch_size):
        scored = score_choices(
            model, tokenizer, [prompts[i] for i in batch], [choices] * len(batch), seq2seq, cfg.max_length
        )
        for i, s in zip(batch, scored):
            decision = decide(s, cfg.normalize, choices)
            best = max(range(len(choices)), key=lambda j: decision[j])
            rec = {
                "lang": lang,
                "template": tid,
                "prompt_lang": pl,
                "prompt": prompts[i],
                "choices": choices,
                "scores": s.logprob,
                "pred": task.labels[best],
                "gold": str(rows[i][task.label_column]),
                "id": str(rows[i][task.id_column]) if task.id_column else str(i),
            }
            if cfg.normalize != "none":
                rec["decision_scores"] = decision
            records[i] = rec
        bar.update(len(batch))
    gold = [r["gold"] for r in records]
    pred = [r["pred"] for r in records]
    metrics = classification_metrics(gold, pred, task.labels)
    metrics["prompts_truncated"] = truncated_prompts(
        model, tokenizer, seq2seq, prompts, choices, cfg.max_length
    )
    return metrics, records


def prompt_budget(model, tokenizer, seq2seq: bool, choices: list[str], max_length: int) -> int:
    """Tokens left for a prompt once the longest choice fits (decoder-only; the encoder gets all)."""
    from .scoring import context_limit, encode_choices

    longest = 0 if seq2seq else max(len(c) for c in encode_choices(tokenizer, choices))
    return context_limit(model, max_length) - longest


def truncated_prompts(
    model, tokenizer, seq2seq, prompts: list[str], choices: list[str], max_length: int
) -> int:
    budget = prompt_budget(model, tokenizer, seq2seq, choices, max_length)
    return sum(len(ids) > budget for ids in tokenizer(prompts)["input_ids"])


def check_prompt_budget(
    model, tokenizer, seq2seq: bool, task: TaskSpec, prompt_langs, max_length: int
) -> None:
    """A --max-length that leaves a prompt fewer than 16 tokens would score prompts cut to nothing."""
    for pl in prompt_langs:
        choices = [task.target_delimiter + task.verbalizers[pl][label] for label in task.labels]
        budget = prompt_budget(model, tokenizer, seq2seq, choices, max_length)
        if budget < 16:
            raise UserError(
                f"--max-length {max_length}: leaves {max(budget, 0)} tokens for the prompt once the longest "
                "answer fits (the model's context caps it too); give at least 16 more"
            )


def evaluate_classification(
    model, tokenizer, seq2seq, task, data, prompt_langs, cfg
) -> tuple[dict, list[dict]]:
    templates = task.template_ids(prompt_langs)
    per_lang, predictions = {}, []
    with tqdm(
        total=sum(len(r) for r in data.values()) * len(templates), desc=f"eval {task.name}", unit="ex"
    ) as bar:
        for lang, rows in data.items():
            per_template = {}
            for tid, pl, template in templates:
                bar.set_postfix_str(f"{lang} {tid}")
                per_template[tid], records = classify(
                    model, tokenizer, seq2seq, task, rows, lang, tid, pl, template, cfg, bar
                )
                predictions += records
            per_lang[lang] = mean_over_templates(per_template) | {"templates": per_template}
    return per_lang, predictions
