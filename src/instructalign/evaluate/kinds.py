"""Task kinds, like lm-evaluation-harness's output types: each says what its YAML declares, which rows an
evaluation runs, how they are scored, and how the results are shown. `KINDS` maps the `kind:` of a task
file to one; a new kind is one class here, with no branch elsewhere.

- classification: rank classification over verbalised labels, scored by weighted F1 per language;
- translation: generation, scored by chrF++ and BLEU per direction (sacrebleu).
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..languages import LANGUAGES, resolve, resolve_list
from .metrics import cannot_do, group_means, parse_roles
from .spec import listed, load_bitext_rows, load_examples, parse_verbalizers


class Classification:
    name = "classification"
    required = ("name", "languages", "data", "labels", "verbalizers", "templates")
    exportable = True  # to lm-evaluation-harness (export lm-eval, eval --lm-eval-results)

    def parse(self, spec, doc: dict, where: str) -> None:
        spec.languages = [
            resolve(str(code), f"{where}, languages") for code in listed(doc, "languages", where)
        ]
        spec.labels = [str(label) for label in listed(doc, "labels", where)]
        spec.verbalizers = parse_verbalizers(doc["verbalizers"], spec, where)

    def languages(self, task, asked: list[str], several: bool) -> list[str]:
        """The task's languages among --langs; with several tasks, each keeps those it has."""
        langs = resolve_list(asked, "--langs") or list(task.languages)
        unknown = [lang for lang in langs if lang not in task.languages]
        if several:
            langs = [lang for lang in langs if lang in task.languages]
        elif unknown:
            raise UserError(
                f"--langs {','.join(unknown)}: not in task {task.name} (it has {','.join(task.languages)})"
            )
        if not langs:
            raise UserError(
                f"--langs: none of them is in task {task.name} (it has {','.join(task.languages)})"
            )
        return langs

    def rows(self, task, root, langs: list[str], asked: list[str], several: bool, limit):
        return {lang: load_examples(task, root, lang, limit) for lang in langs}

    def prompts(self, prepared, cfg) -> int:
        """Prompts an evaluation scores: every row of every language with every template."""
        templates = prepared.task.template_ids(prepared.prompt_langs, cfg.templates)
        return len(templates) * sum(len(rows) for rows in prepared.data.values())

    def evaluate(self, model, tokenizer, seq2seq, prepared, cfg, console: Console, fmt=None) -> tuple:
        """(per-language metrics, predictions, group means); `fmt`: the chat format of the prompts."""
        from .classification import check_prompt_budget, evaluate_classification  # torch
        from .scoring import context_limit

        task, prompt_langs = prepared.task, prepared.prompt_langs
        check_prompt_budget(model, tokenizer, seq2seq, task, prompt_langs, cfg.max_length, fmt)
        per_lang, predictions = evaluate_classification(
            model, tokenizer, seq2seq, task, prepared.data, prompt_langs, cfg, fmt=fmt
        )
        warn_truncation(per_lang, cfg.max_length, context_limit(model, cfg.max_length), console)
        return per_lang, predictions, group_means(per_lang, parse_roles(cfg.roles))

    def show(self, results: dict, table: Table, console: Console) -> None:
        per_lang = results["tasks"][results["task"]]
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
        console.print(table)
        for lang, m in per_lang.items():
            why = cannot_do(m.get("predicted", {}), m["weighted_f1"], m.get("majority_f1"))
            if why:
                console.print(f"[yellow]{LANGUAGES[lang].name_en} ({lang}): {why}[/yellow]")


class Translation:
    name = "translation"
    required = ("name", "data", "directions", "templates")
    exportable = False  # lm-eval's generate_until does not reproduce this project's generation and clean-up

    def parse(self, spec, doc: dict, where: str) -> None:
        for d in doc["directions"]:
            src, _, tgt = str(d).partition("-")
            spec.directions.append(
                (resolve(src, f"{where}, directions"), resolve(tgt, f"{where}, directions"))
            )

    def languages(self, task, asked: list[str], several: bool) -> list[str]:
        return resolve_list(asked, "--langs") or list(task.languages)

    def rows(self, task, root, langs: list[str], asked: list[str], several: bool, limit):
        """The bitext rows; the task keeps the directions with a language of --langs on either side."""
        task.directions = self.directions(task, asked, several)
        return load_bitext_rows(task, root)[: limit or None]

    def prompts(self, prepared, cfg) -> int:
        """Prompts an evaluation generates from: every row in every direction with every template."""
        templates = prepared.task.template_ids(prepared.prompt_langs, cfg.templates)
        return len(templates) * len(prepared.data) * len(prepared.task.directions)

    @staticmethod
    def directions(task, asked: list[str], several: bool) -> list[tuple[str, str]]:
        if not asked:
            return task.directions
        langs = set(resolve_list(asked, "--langs"))
        kept = [d for d in task.directions if langs & set(d)]
        have = sorted({c for d in task.directions for c in d})
        unknown = sorted(langs - set(have))
        if (unknown and not several) or not kept:
            raise UserError(
                f"--langs {','.join(unknown or sorted(langs))}: not in task {task.name} (it has "
                f"{','.join(have)})"
            )
        return kept

    def evaluate(self, model, tokenizer, seq2seq, prepared, cfg, console: Console, fmt=None) -> tuple:
        from .translation import evaluate_translation  # torch

        per_lang, predictions = evaluate_translation(
            model, tokenizer, seq2seq, prepared.task, prepared.data, prepared.prompt_langs, cfg, fmt
        )
        return per_lang, predictions, {}

    def show(self, results: dict, table: Table, console: Console) -> None:
        for col in ("chrF++", "BLEU", "n"):
            table.add_column(col, justify="right")
        for direction, m in results["tasks"][results["task"]].items():
            table.add_row(direction, f"{m['chrf']:.1f}", f"{m['bleu']:.1f}", str(m["n"]))
        console.print(table)


def warn_truncation(per_lang: dict, max_length: int, limit: int, console: Console) -> None:
    """How many prompts were cut, and which limit cut them: --max-length, or the model's positions below
    it."""
    cut = sum(t["prompts_truncated"] for m in per_lang.values() for t in m["templates"].values())
    if cut:
        binding = (
            f"--max-length {max_length}"
            if limit >= max_length
            else (f"the model's {limit} positions (below --max-length {max_length})")
        )
        console.print(
            f"[yellow]{cut} prompts were cut from the left to fit {binding}, with room for the longest "
            "answer (counted per template in results.json, prompts_truncated)[/yellow]"
        )


def pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}"


KINDS = {kind.name: kind for kind in (Classification(), Translation())}
