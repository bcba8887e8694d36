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
from functools import partial
from pathlib import Path

import numpy as np

from ..config import Recipe
from ..experiment.design import REPLAY_ONLY, Design, aligned_replay
from ..experiment.evaluation import compare_runs
from ..experiment.recipe import ALIGNED, BASE, CONTROL, L2, with_topics
from ..experiment.sources import nusawrites_folder, sib200_folder
from ..experiment.study import Experiment, ExtraEval, Results, Study
from ..experiment.tasks import (
    EXTRA_TASKS,
    ROLES,
    TaskInputs,
    check_tasks,
    evaluate_tasks,
    extra_prompts,
    l1_floors,
    tasks_dir,
)
from ..languages import LANGUAGES
from ..report import write_report
from ..report.similarity import language_similarity, monolingual_similarity
from ..report.stats import correlation
from .findings import study_findings
from .transfer_report import transfer_notes, usable_points, write_transfer_outputs


def prepare(exp: Experiment) -> TaskInputs:
    """NusaX (--data), SIB-200 (--sib200) and NusaWrites (--nusawrites), the latter two found beside NusaX
    when not given; every evaluated file read and checked before any training."""
    folders = {
        "nusax_senti": exp.nusax,
        "sib200": sib200_folder(exp.cfg, exp.nusax),
        "nusawrites_senti": nusawrites_folder(exp.cfg, exp.nusax),
    }
    return TaskInputs(folders, check_tasks(folders, exp.recipe, exp.cfg.split))


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
    """A base that also learned SIB-200 topics in L1: a task whose transfer to L2 is measured where the base
    can do it (the L1 floor table says whether it can)."""
    return {"": with_topics(exp.recipe)}


STUDY = Study(
    name="transfer",
    question="do gains on unseen languages track their similarity to the aligned ones (three tasks)",
    title="InstructAlign study: transfer",
    designs=designs,
    findings=partial(study_findings, more=transfer_findings),  # its figure is the similarity plot
    prepare=prepare,
    variants=variants,
    extra_eval=ExtraEval(EXTRA_TASKS, tasks_dir, evaluate_tasks, extra_prompts),
)
