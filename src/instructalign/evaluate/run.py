"""`instructalign eval`: run a task over languages and templates, write results.json + predictions.jsonl.

Reads top to bottom: load the task and the model, score every (language, template) by rank
classification (or generate translations), compute metrics, write the files atomically, print a table.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..config import EvalConfig, as_dict
from ..errors import UserError
from ..files import check_writable, write_atomically, write_json
from ..languages import LANGUAGES, resolve_list
from ..models import load_model
from ..options import validate
from .classification import check_prompt_budget, evaluate_classification
from .metrics import (
    group_means,
    parse_roles,
)
from .tasks import TaskSpec, load_bitext_rows, load_examples, load_task
from .translation import evaluate_translation

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


def evaluate(cfg: EvalConfig, console: Console | None = None) -> dict:
    task = load_task(cfg.task, cfg.templates_set)
    if cfg.split:
        task.data["split"] = cfg.split
    langs, prompt_langs = check_settings(cfg, task)
    check_writable(Path(cfg.output))
    roles = parse_roles(cfg.roles)
    if task.kind == "classification":  # read and check every file before loading the model
        data = {lang: load_examples(task, cfg.data, lang, cfg.limit) for lang in langs}
    else:
        rows = load_bitext_rows(task, cfg.data)[: cfg.limit or None]
    model, tokenizer, seq2seq = load_model(cfg.model, torch_dtype(cfg.precision), cfg.allow_partial)
    if torch.cuda.is_available():
        model = model.cuda()
    if task.kind == "classification":
        check_prompt_budget(model, tokenizer, seq2seq, task, prompt_langs, cfg.max_length)
        per_lang, predictions = evaluate_classification(
            model, tokenizer, seq2seq, task, data, prompt_langs, cfg
        )
        groups = group_means(per_lang, roles)
        warn_truncation(per_lang, cfg.max_length, console or Console())
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
        "partial_weights": model.instructalign_partial,  # what --allow-partial let through (empty: none)
        "id_column": task.id_column,  # predictions' ids name the same sentence in every language
        "task_fingerprint": task.fingerprint(),
        "prompt_langs": prompt_langs,
        "split": task.data.get("split", "test"),
        "settings": as_dict(cfg),
        "versions": versions(),
    }
    write_outputs(Path(cfg.output), results, predictions)
    print_results(results, console or Console())
    return results


def write_outputs(out: Path, results: dict, predictions: list[dict]) -> None:
    """predictions.jsonl first, then results.json naming its hash: a kill between the two renames leaves
    a pair the report recognises as mismatched (and refuses) instead of mixing two runs."""
    out.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    write_atomically(out / "predictions.jsonl", text)
    results["predictions_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_json(out / "results.json", results)


def warn_truncation(per_lang: dict, max_length: int, console: Console) -> None:
    cut = sum(t["prompts_truncated"] for m in per_lang.values() for t in m["templates"].values())
    if cut:
        console.print(f"[yellow]max-length {max_length}: {cut} prompts were cut from the left (counted per "
                      "template in results.json, prompts_truncated)[/yellow]")  # fmt: skip


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
