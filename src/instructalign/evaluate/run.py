"""`instructalign eval`: run a task over languages and templates, write results.json + predictions.jsonl.

Reads top to bottom: load the task and the model, score every (language, template) by rank
classification (or generate translations), compute metrics, write the files atomically, print a table.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from tqdm.auto import tqdm

from .. import __version__
from ..config import EvalConfig, as_dict
from ..data.prompts import render
from ..errors import UserError
from ..files import write_json, write_jsonl
from ..languages import LANGUAGES, resolve_list
from ..models import load_model
from ..options import validate
from .metrics import (
    classification_metrics,
    group_means,
    mean_over_templates,
    parse_roles,
    translation_metrics,
)
from .scoring import score_choices
from .tasks import TaskSpec, load_bitext_rows, load_examples, load_task

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def torch_dtype(precision: str) -> torch.dtype:
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return DTYPES[precision]


def check_settings(cfg: EvalConfig, task: TaskSpec) -> tuple[list[str], list[str]]:
    if not cfg.model:
        raise UserError("no --model given; name a hub id or a model folder")
    if not cfg.output:
        raise UserError("no --output folder given")
    validate(cfg)
    prompt_langs = resolve_prompt_langs(cfg.prompt_langs) or list(task.templates)
    for pl in prompt_langs:
        if pl not in task.templates:
            raise UserError(f"task {task.name} has no '{pl}' templates; it has {', '.join(task.templates)}")
    langs = resolve_list(cfg.langs, "--langs") or list(task.languages)
    if task.kind == "classification":
        unknown = [lang for lang in langs if lang not in task.languages]
        if unknown:
            raise UserError(
                f"--langs {','.join(unknown)}: not in task {task.name} (it has {','.join(task.languages)})"
            )
    return langs, prompt_langs


def resolve_prompt_langs(value) -> list[str]:
    return [p.strip() for p in (value.split(",") if isinstance(value, str) else value) if p.strip()]


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
    prompts = [render(template, **{k: str(v) for k, v in row.items()}) for row in rows]
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
    return classification_metrics(gold, pred, task.labels), records


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


@torch.inference_mode()
def generate(
    model, tokenizer, seq2seq: bool, prompts: list[str], max_new_tokens: int, max_length: int
) -> list[str]:
    from .scoring import context_limit, model_device, pad, pad_id

    device = model_device(model)
    keep = context_limit(model, max_length) - (0 if seq2seq else max_new_tokens)
    ids = [tokenizer(p)["input_ids"][-keep:] for p in prompts]
    input_ids, mask = pad(ids, pad_id(tokenizer), left=not seq2seq, device=device)
    out = model.generate(
        input_ids=input_ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=pad_id(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
    )
    new = out if seq2seq else out[:, input_ids.shape[1] :]
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    return [t.strip().split("\n")[0].strip() for t in texts]


def evaluate_translation(model, tokenizer, seq2seq, task, rows, prompt_langs, cfg) -> tuple[dict, list[dict]]:
    templates = task.template_ids(prompt_langs)
    results, predictions = {}, []
    with tqdm(
        total=len(rows) * len(templates) * len(task.directions), desc=f"eval {task.name}", unit="ex"
    ) as bar:
        for src, tgt in task.directions:
            per_template = {}
            for tid, pl, template in templates:
                names = {"src_lang": LANGUAGES[src].name(pl), "tgt_lang": LANGUAGES[tgt].name(pl)}
                prompts = [render(template, src=r[src], **names) for r in rows]
                hyps = []
                for batch in batches(list(range(len(prompts))), cfg.batch_size):
                    hyps += generate(
                        model,
                        tokenizer,
                        seq2seq,
                        [prompts[i] for i in batch],
                        task.max_new_tokens,
                        cfg.max_length,
                    )
                    bar.update(len(batch))
                refs = [r[tgt] for r in rows]
                per_template[tid] = translation_metrics(hyps, refs)
                predictions += [
                    {
                        "direction": f"{src}-{tgt}",
                        "template": tid,
                        "prompt": p,
                        "hypothesis": h,
                        "reference": r,
                    }
                    for p, h, r in zip(prompts, hyps, refs)
                ]
            results[f"{src}-{tgt}"] = {
                "chrf": sum(m["chrf"] for m in per_template.values()) / len(per_template),
                "bleu": sum(m["bleu"] for m in per_template.values()) / len(per_template),
                "n": len(rows),
                "templates": per_template,
            }
    return results, predictions


def evaluate(cfg: EvalConfig, console: Console | None = None) -> dict:
    task = load_task(cfg.task)
    if cfg.split:
        task.data["split"] = cfg.split
    langs, prompt_langs = check_settings(cfg, task)
    roles = parse_roles(cfg.roles)
    if task.kind == "classification":  # read and check every file before loading the model
        data = {lang: load_examples(task, cfg.data, lang, cfg.limit) for lang in langs}
    else:
        rows = load_bitext_rows(task, cfg.data)[: cfg.limit or None]
    model, tokenizer, seq2seq = load_model(cfg.model, torch_dtype(cfg.precision))
    if torch.cuda.is_available():
        model = model.cuda()
    if task.kind == "classification":
        per_lang, predictions = evaluate_classification(
            model, tokenizer, seq2seq, task, data, prompt_langs, cfg
        )
        groups = group_means(per_lang, roles)
    else:
        per_lang, predictions = evaluate_translation(model, tokenizer, seq2seq, task, rows, prompt_langs, cfg)
        groups = {}
    results = {
        "model": cfg.model,
        "task": task.name,
        "kind": task.kind,
        "tasks": {task.name: per_lang},
        "groups": groups,
        "roles": roles,
        "id_column": task.id_column,  # predictions' ids name the same sentence in every language
        "split": task.data.get("split", "test"),
        "settings": as_dict(cfg),
        "versions": versions(),
    }
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "predictions.jsonl", predictions)
    write_json(out / "results.json", results)
    print_results(results, console or Console())
    return results


def versions() -> dict[str, str]:
    import transformers

    return {
        "instructalign": __version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }


def print_results(results: dict, console: Console) -> None:
    per_lang = results["tasks"][results["task"]]
    table = Table(title=f"{results['task']} — {results['model']}", title_justify="left")
    table.add_column("language")
    if results["kind"] == "classification":
        for col in ("weighted F1", "± templates", "macro F1", "accuracy", "n"):
            table.add_column(col, justify="right")
        for lang, m in per_lang.items():
            table.add_row(
                f"{LANGUAGES[lang].name_en} ({lang})",
                pct(m["weighted_f1"]),
                pct(m["weighted_f1_std"]),
                pct(m["macro_f1"]),
                pct(m["accuracy"]),
                str(m["n"]),
            )
        for role, g in results["groups"].items():
            table.add_row(f"[bold]{role}[/bold] mean", pct(g["weighted_f1"]), "", "", "", "", style="bold")
    else:
        for col in ("chrF++", "BLEU", "n"):
            table.add_column(col, justify="right")
        for direction, m in per_lang.items():
            table.add_row(direction, f"{m['chrf']:.1f}", f"{m['bleu']:.1f}", str(m["n"]))
    console.print(table)


def pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}"
