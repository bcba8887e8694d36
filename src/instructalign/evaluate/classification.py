"""Rank classification over a task's languages and templates: one prediction record per example."""

from __future__ import annotations

from dataclasses import dataclass

from tqdm.auto import tqdm

from ..chat import ChatFormat, prompt_text
from ..data.prompts import render
from ..errors import UserError
from .metrics import classification_metrics, label_spread, mean_over_templates
from .scoring import context_limit, encode_choices, score_choices
from .spec import TaskSpec


def decide(scores, normalize: str, choices: list[str]) -> list[float]:
    if normalize == "tokens":
        return [s / n for s, n in zip(scores.logprob, scores.n_tokens)]
    if normalize == "chars":
        return [s / max(len(c), 1) for s, c in zip(scores.logprob, choices)]
    return list(scores.logprob)


def batches(indices: list[int], size: int):
    for start in range(0, len(indices), size):
        yield indices[start : start + size]


def task_choices(task, prompt_lang: str, fmt: ChatFormat | None = None) -> list[str]:
    """The label words as scored after a prompt: after the task's delimiter, or (under a chat template) right
    after the rendered prompt, as the assistant's answer (lm-evaluation-harness's --apply_chat_template)."""
    delimiter = task.target_delimiter if fmt is None or fmt.raw else ""
    return [delimiter + task.verbalizers[prompt_lang][label] for label in task.labels]


@dataclass
class PromptSet:
    """Every (language, template) cell's prompts, rendered and tokenized once: a monitor that probes the
    same rows at every step keeps one and scores it again."""

    templates: list  # (template id, prompt language, template) as `task.template_ids` gives them
    prompts: dict  # (language, template id) -> prompt texts as the model reads them, one per row
    ids: dict  # (language, template id) -> the prompts' token ids
    choices: dict  # prompt language -> the choices scored after its prompts


def render_prompts(
    task, data: dict, tokenizer, prompt_langs, n_templates, fmt: ChatFormat | None = None
) -> PromptSet:
    """Every cell's prompts, and their ids; under a chat template each prompt is the user's turn, rendered
    with the assistant's turn begun (the template writes its special tokens: none are added)."""
    templates = task.template_ids(prompt_langs, n_templates)
    prompts = {
        (lang, tid): [
            render(template, **({"options": task.options(pl)} | {k: str(v) for k, v in row.items()}))
            for row in rows
        ]
        for lang, rows in data.items()
        for tid, pl, template in templates
    }
    chat = fmt is not None and not fmt.raw
    if chat:
        prompts = {cell: [prompt_text(tokenizer, fmt, p) for p in ps] for cell, ps in prompts.items()}
    ids = {cell: tokenizer(ps, add_special_tokens=not chat)["input_ids"] for cell, ps in prompts.items()}
    choices = {pl: task_choices(task, pl, fmt) for _, pl, _ in templates}
    return PromptSet(templates, prompts, ids, choices)


def score_all(
    model, tokenizer, seq2seq, prompts: PromptSet, cells: list, choices: list[str], cfg, bar
) -> dict:
    """Scores of every prompt of these (language, template) cells, which share these choices, batched across
    cells by token length (similar lengths share a batch: little padding, few half-empty batches)."""
    items = [(cell, i) for cell in cells for i in range(len(prompts.prompts[cell]))]
    items.sort(key=lambda item: len(prompts.ids[item[0]][item[1]]))
    scores = {cell: [None] * len(prompts.prompts[cell]) for cell in cells}
    for batch in batches(items, cfg.batch_size):
        texts = [prompts.prompts[cell][i] for cell, i in batch]
        encoded = [prompts.ids[cell][i] for cell, i in batch]
        scored = score_choices(
            model, tokenizer, texts, [choices] * len(batch), seq2seq, cfg.max_length, encoded
        )
        for (cell, i), s in zip(batch, scored):
            scores[cell][i] = s
        bar.update(len(batch))
    return scores


def cell_records(task, rows, lang, tid, pl, prompts, scores, cfg, choices: list[str]) -> list[dict]:
    """One prediction record per row of a (language, template) cell."""
    records = []
    for i, (row, s) in enumerate(zip(rows, scores)):
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
            "gold": str(row[task.label_column]),
            "id": str(row[task.id_column]) if task.id_column else str(i),
        }
        if cfg.normalize != "none":
            rec["decision_scores"] = decision
        records.append(rec)
    return records


def prompt_budget(model, tokenizer, seq2seq: bool, choices: list[str], max_length: int) -> int:
    """Tokens left for a prompt once the longest choice fits (decoder-only; the encoder gets all)."""
    longest = 0 if seq2seq else max(len(c) for c in encode_choices(tokenizer, choices))
    return context_limit(model, max_length) - longest


def check_prompt_budget(
    model,
    tokenizer,
    seq2seq: bool,
    task: TaskSpec,
    prompt_langs,
    max_length: int,
    fmt: ChatFormat | None = None,
) -> None:
    """A --max-length that leaves a prompt fewer than 16 tokens would score prompts cut to nothing."""
    for pl in prompt_langs:
        budget = prompt_budget(model, tokenizer, seq2seq, task_choices(task, pl, fmt), max_length)
        if budget < 16:
            raise UserError(
                f"--max-length {max_length}: leaves {max(budget, 0)} tokens for the prompt once the longest "
                "answer fits (the model's context caps it too); give at least 16 more"
            )


def evaluate_classification(
    model, tokenizer, seq2seq, task, data, prompt_langs, cfg, prompts: PromptSet | None = None, fmt=None
) -> tuple[dict, list[dict]]:
    """Rank-classify every row of every language with every template: per-language metrics (mean over
    templates) and one prediction record per (row, template). `prompts`: these rows' prompts, rendered by
    `render_prompts` with this tokenizer and these settings (rendered here when not given)."""
    prompts = prompts or render_prompts(task, data, tokenizer, prompt_langs, cfg.templates, fmt)
    templates = prompts.templates
    scores = {}
    with tqdm(
        total=sum(len(p) for p in prompts.prompts.values()), desc=f"eval {task.name}", unit="ex"
    ) as bar:
        for pl in dict.fromkeys(pl for _, pl, _ in templates):
            bar.set_postfix_str(f"{pl} prompts")
            cells = [(lang, tid) for lang in data for tid, p, _ in templates if p == pl]
            scores |= score_all(model, tokenizer, seq2seq, prompts, cells, prompts.choices[pl], cfg, bar)
    per_lang, predictions = {}, []
    for lang, rows in data.items():
        per_template = {}
        for tid, pl, _ in templates:
            cell = (lang, tid)
            records = cell_records(
                task, rows, lang, tid, pl, prompts.prompts[cell], scores[cell], cfg, prompts.choices[pl]
            )
            gold, pred = [r["gold"] for r in records], [r["pred"] for r in records]
            metrics = classification_metrics(gold, pred, task.labels) | label_spread(gold, pred, task.labels)
            budget = prompt_budget(model, tokenizer, seq2seq, prompts.choices[pl], cfg.max_length)
            metrics["prompts_truncated"] = sum(len(ids) > budget for ids in prompts.ids[cell])
            per_template[tid] = metrics
            predictions += records
        per_lang[lang] = mean_over_templates(per_template) | {"templates": per_template}
    return per_lang, predictions
