"""`instructalign study transfer`: do gains on unseen languages track their similarity to the aligned ones?

The base — one that also learned SIB-200 topic classification in English and Indonesian (recipe
`base_topics`), so that a second task is known in L1 only — the replay-only control and aligned+replay are
evaluated on three tasks (NusaX sentiment, SIB-200 topics, NusaWrites sentiment). The report first says
whether the base can do each task in L1 (its score against always predicting the most frequent label); a task
it cannot do gets no verdict and leaves the pooled correlation. Every unseen (L3) language of every task
becomes one point: its gain (aligned+replay against the control, and against the base) and its similarity to
the seven L2 languages. Per task: the L2 change over the control and the within-task correlation of L3 gain
with similarity, each with its interval; then the usable points pooled across tasks for one correlation with a
95% interval. The languages unrelated to the L2 set (SIB-200's French, German, Swahili, Yoruba, Vietnamese)
are shown as a contrast, outside the fit.

Similarity is measured two ways (report/similarity.py): character-trigram profile cosine from each
language's train-split text of the three tasks (every point has it: the pooled correlation uses it), and
chrF between translations where parallel text exists (NusaX mt/train, SIB-200 train), as a check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from rich.console import Console

from ..config import Recipe
from ..evaluate.tasks import load_examples, load_task
from ..experiment.design import REPLAY_ONLY, Design, aligned_replay
from ..experiment.evaluation import compare_runs, recipe_eval_config
from ..experiment.recipe import ALIGNED, BASE, CONTROL, L2, with_topics
from ..experiment.recipe import ROLES as NUSAX_ROLES
from ..experiment.sources import nusawrites_folder, sib200_folder
from ..experiment.study import Experiment, ExtraEval, Results, Study
from ..files import read_json
from ..languages import LANGUAGES
from ..report import write_report
from ..report.similarity import language_similarity, monolingual_similarity
from ..report.stats import correlation
from .findings import study_findings
from .transfer_report import FLOOR_POINTS, transfer_notes, usable_points, write_transfer_outputs

EXTRA_TASKS = ("sib200", "nusawrites_senti")
ROLES = {
    "nusax_senti": NUSAX_ROLES,
    "sib200": "L1=eng,ind;L2=jav,sun,min,bjn,ban,ace,bug;L3=zsm,tgl,ceb,ilo,war,pag,plt,mri,smo,fij;"
    "contrast=fra,deu,swh,yor,vie",
    "nusawrites_senti": "L2=jav,min,sun;L3=abs,bew,bhp,btk,mad,mak,mui,rej",
}


@dataclass
class TransferInputs:
    """Each task's data folder, and each language's train-split text (all tasks pooled) for its similarity."""

    folders: dict[str, Path]
    texts: dict[str, list[str]]


def prepare(exp: Experiment) -> TransferInputs:
    """NusaX (--data), SIB-200 (--sib200) and NusaWrites (--nusawrites), the latter two found beside NusaX
    when not given; every evaluated file read and checked before any training."""
    folders = {
        "nusax_senti": exp.nusax,
        "sib200": sib200_folder(exp.cfg, exp.nusax),
        "nusawrites_senti": nusawrites_folder(exp.cfg, exp.nusax),
    }
    return TransferInputs(folders, check_transfer(folders, exp.recipe, exp.cfg.split))


def check_transfer(folders: dict[str, Path], recipe: Recipe, split: str) -> dict[str, list[str]]:
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
# in languages its tokenizer never saw run long: 280 vs 445 prompts/s in the demo), so the study reads 56 of its
# 204 test sentences per language (8 per topic, spread over the file); NusaWrites gets the recipe's eval_limit.
SIB200_LIMIT, SIB200_COST = 56, 1.6


def tasks_dir(eval_dir: Path) -> Path:
    """Where a model's SIB-200 and NusaWrites results live, beside its NusaX results."""
    return eval_dir.with_name(f"{eval_dir.name}-tasks-sib{SIB200_LIMIT}")


def evaluate_tasks(
    model: Path, inputs: TransferInputs, recipe: Recipe, split: str, out: Path, tasks=EXTRA_TASKS
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


def transfer_findings(exp: Experiment, results: Results) -> list[str]:
    """Each extra task's report in OUTPUT/<task>/, then the pooled unseen-language analysis and its figure."""
    reports, eval_dirs = {"nusax_senti": results.reports[""]}, results.eval_dirs[""]
    for task in EXTRA_TASKS:
        dirs = {
            name: [str(tasks_dir(Path(d)) / task) for d in seed_dirs] for name, seed_dirs in eval_dirs.items()
        }
        out = exp.output / task
        reports[task] = compare_runs(dirs, f"InstructAlign transfer study: {task}", out, roles=ROLES[task])
        write_report(reports[task], out)
    floors = l1_floors(eval_dirs.get(BASE, []))
    points = transfer_points(reports, exp.prepared.folders, exp.prepared.texts)
    corr = correlations(usable_points(points, floors))  # no verdict on a task the base cannot do
    write_transfer_outputs(exp.output, points, corr)
    return transfer_notes(points, corr, reports, exp.cfg.seeds, floors)


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


def transfer_points(
    reports: dict[str, dict], folders: dict[str, Path], texts: dict[str, list[str]]
) -> list[dict]:
    """One point per (task, unseen or contrast language): its gains and its similarity to the L2 set."""
    points = []
    for name, report in reports.items():
        rows = {r["lang"]: r for r in report["per_language"]}
        unseen = [(lang, role) for role in ("L3", "contrast") for lang in report["roles"].get(role, [])]
        langs = [lang for lang, _ in unseen]
        mono = monolingual_similarity(texts, langs, L2)
        parallel = {}
        if name in ("nusax_senti", "sib200"):
            split = "train"
            parallel = language_similarity(str(folders[name]), langs, L2, split)
        for lang, role in unseen:
            row = rows[lang]
            points.append(
                {
                    "task": name,
                    "lang": lang,
                    "name": LANGUAGES[lang].name_en,
                    "role": role,
                    "sim_mono": float(np.mean([mono[(lang, o)] for o in L2 if (lang, o) in mono])),
                    "sim_chrf": mean_or_nan([parallel[(lang, o)] for o in L2 if (lang, o) in parallel]),
                    "gain_control": row[f"{ALIGNED} vs {CONTROL}"],
                    "gain_base": row[f"{ALIGNED} vs {BASE}"],
                }
            )
    return points


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def correlations(points: list[dict]) -> dict:
    """Pooled L3 correlations of gain with similarity: Pearson with its Fisher-z 95% interval, Spearman, n,
    for each gain and measure; within-task ones too; and the two measures' agreement. (A percentile
    bootstrap over languages covered only ~91% at n = 20 in simulation, so it is not offered.)"""
    l3 = [p for p in points if p["role"] == "L3"]
    out = {}
    for gain in ("gain_control", "gain_base"):
        for sim in ("sim_mono", "sim_chrf"):
            pts = [p for p in l3 if not math.isnan(p[sim])]
            xs, ys = [p[sim] for p in pts], [100 * p[gain]["delta"] for p in pts]
            out[f"{gain} ~ {sim}"] = correlation(xs, ys)
        for task in dict.fromkeys(p["task"] for p in l3):
            pts = [p for p in l3 if p["task"] == task]
            out[f"{gain} ~ sim_mono, {task}"] = correlation(
                [p["sim_mono"] for p in pts], [100 * p[gain]["delta"] for p in pts]
            )
    both = [p for p in points if not math.isnan(p["sim_chrf"])]
    out["sim_mono ~ sim_chrf"] = correlation([p["sim_mono"] for p in both], [p["sim_chrf"] for p in both])
    return out


def designs(recipe: Recipe) -> list[Design]:
    return [REPLAY_ONLY, aligned_replay(recipe.replay_share)]


def variants(exp: Experiment) -> dict:
    """A base that also learned SIB-200 topics in L1: a task whose transfer to L2 is measured where the base can
    do it (the L1 floor table says whether it can)."""
    return {"": with_topics(exp.recipe)}


STUDY = Study(
    name="transfer",
    title="InstructAlign study: transfer",
    designs=designs,
    findings=partial(study_findings, more=transfer_findings),  # its figure is the similarity plot
    prepare=prepare,
    variants=variants,
    extra_eval=ExtraEval(EXTRA_TASKS, tasks_dir, evaluate_tasks, extra_prompts),
)
