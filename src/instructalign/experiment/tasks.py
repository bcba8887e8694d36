"""The experiments' other tasks, beside NusaX sentiment: SIB-200 topics (which a base with the recipe's
`base_topics` learns in English and Indonesian only) and NusaWrites sentiment. The demo evaluates every model
on SIB-200, the transfer study on both: their inputs read and checked before any work, each model's evaluation
of them in one job, and the base's L1 floor per task (below it, a task gets no verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from ..config import Recipe
from ..evaluate.spec import load_examples
from ..evaluate.tasks import load_task
from ..files import read_json
from .evaluation import recipe_eval_config
from .recipe import ROLES as NUSAX_ROLES

# a base less than this many points above always predicting the most frequent label cannot do the task in L1
FLOOR_POINTS = 5.0

EXTRA_TASKS = ("sib200", "nusawrites_senti")
ROLES = {
    "nusax_senti": NUSAX_ROLES,
    "sib200": "L1=eng,ind;L2=jav,sun,min,bjn,ban,ace,bug;L3=zsm,tgl,ceb,ilo,war,pag,plt,mri,smo,fij;"
    "contrast=fra,deu,swh,yor,vie",
    "nusawrites_senti": "L2=jav,min,sun;L3=abs,bew,bhp,btk,mad,mak,mui,rej",
}


@dataclass
class TaskInputs:
    """Each task's data folder, and each language's train-split text (all tasks pooled) for its similarity."""

    folders: dict[str, Path]
    texts: dict[str, list[str]]


def check_tasks(folders: dict[str, Path], recipe: Recipe, split: str) -> dict[str, list[str]]:
    """Every evaluated file read and checked before any training; returns each language's train-split text
    (all tasks pooled), from which the monolingual similarity is computed."""
    texts: dict[str, list[str]] = {}
    for name, folder in folders.items():
        task = load_task(name)
        for lang in task.languages:
            task.data["split"] = split
            load_examples(task, str(folder), lang, recipe.eval_limit)
            task.data["split"] = "train"
            texts.setdefault(lang, []).extend(str(r["text"]) for r in load_examples(task, str(folder), lang))
    return texts


# A SIB-200 prompt costs ~1.6x a NusaX one for the stand-in (7 labels of several tokens each; FLORES sentences
# in languages its tokenizer never saw run long: 280 vs 445 prompts/s in the demo), so the study reads 56 of
# its
# 204 test sentences per language (8 per topic, spread over the file); NusaWrites gets the recipe's
# eval_limit.
SIB200_LIMIT, SIB200_COST = 56, 1.6


def tasks_dir(eval_dir: Path) -> Path:
    """Where a model's SIB-200 and NusaWrites results live, beside its NusaX results."""
    return eval_dir.with_name(f"{eval_dir.name}-tasks-sib{SIB200_LIMIT}")


def evaluate_tasks(
    model: Path, inputs: TaskInputs, recipe: Recipe, split: str, out: Path, tasks=EXTRA_TASKS
) -> Path:
    """The `tasks` (SIB-200 and NusaWrites) in one evaluation (the model loaded once, each task with its
    sentence limit): out/<task>/results.json."""
    from ..evaluate.run import evaluate  # torch: imported by the worker that evaluates

    folders = inputs.folders
    sib_limit = min(recipe.eval_limit or SIB200_LIMIT, SIB200_LIMIT)
    data = ",".join(f"{task}={folders[task]}" for task in tasks)
    output = out if len(tasks) > 1 else out / tasks[0]  # one task writes to its output folder itself
    config = recipe_eval_config(recipe, model, split, task=",".join(tasks), data=data, output=str(output))
    evaluate(config, console=Console(quiet=True), limits={"sib200": sib_limit})
    return out


def sib200_prompts(recipe: Recipe) -> int:
    """Prompts of one model's SIB-200 evaluation, in NusaX prompts' time (its own are longer)."""
    per = 3 * len(recipe.eval_prompt_langs)
    return round(SIB200_COST * per * 24 * min(recipe.eval_limit or SIB200_LIMIT, SIB200_LIMIT))


def extra_prompts(recipe: Recipe) -> int:
    """Prompts of one model's SIB-200 + NusaWrites evaluation (SIB-200's in NusaX prompts' time)."""
    per = 3 * len(recipe.eval_prompt_langs)
    return sib200_prompts(recipe) + per * 11 * min(recipe.eval_limit or 500, 500)


L1_OF = {"nusax_senti": ["eng", "ind"], "sib200": ["eng", "ind"]}
# no L1 test languages: NusaX sentiment, the same task, stands in
SAME_TASK = {"nusawrites_senti": "nusax_senti"}


def l1_floors(base_dirs: list[str]) -> dict[str, dict]:
    """Per task: the base's L1 weighted F1 and that of always predicting the most frequent label (x100, means
    over the L1 languages, templates and seeds), and whether the base is at that floor (less than FLOOR_POINTS
    above it): the task's transfer verdicts are then refused."""
    out = {}
    for task, langs in L1_OF.items():
        scores, floor = [], []
        for folder in base_dirs:
            path = (
                Path(folder) / "results.json"
                if task == "nusax_senti"
                else tasks_dir(Path(folder)) / task / "results.json"
            )
            per = read_json(path, default={}).get("tasks", {}).get(task, {})
            scores += [per[lang]["weighted_f1"] for lang in langs if lang in per]
            floor += [per[lang]["majority_f1"] for lang in langs if "majority_f1" in per.get(lang, {})]
        base, majority = (100 * float(np.mean(v)) if v else math.nan for v in (scores, floor))
        # a score that is missing (nan) counts as at the floor: no verdict without evidence the base can do it
        at_floor = not base - majority >= FLOOR_POINTS
        out[task] = {"languages": langs, "base": base, "majority": majority, "at_floor": at_floor}
    for task, same in SAME_TASK.items():
        out[task] = out[same] | {"languages": [], "stands_in": same}
    return out
