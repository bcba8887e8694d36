"""The demo's second task: SIB-200 topic classification, which the base learned in English and Indonesian
only. Does alignment carry a task known only in L1 to the L2 languages? Every model is evaluated on it; its
report goes to OUTPUT/sib200/ and a paragraph of the demo's summary says first whether the base can do it in
L1."""

from __future__ import annotations

from pathlib import Path

from ..config import Recipe
from ..experiment.evaluation import compare_runs
from ..experiment.recipe import ALIGNED, BASE
from ..experiment.sources import sib200_folder
from ..experiment.study import Experiment, ExtraEval, Results
from ..experiment.tasks import (
    ROLES,
    SIB200_LIMIT,
    TaskInputs,
    check_tasks,
    evaluate_tasks,
    l1_floors,
    sib200_prompts,
    tasks_dir,
)
from ..report import write_report
from ..report.tables import fmt_delta

TASK = "sib200"
NOT_EVALUATED = (
    "**SIB-200 topics not evaluated**: this recipe's base learns no topics (`base_topics: 0`), so it could "
    "not do the task in L1 and no transfer could be measured (the demo's recipe sets `base_topics: 4`)."
)


def topic_inputs(exp: Experiment) -> TaskInputs | None:
    """The SIB-200 folder (--sib200, else beside NusaX, else the cache), its evaluated split read and checked
    before any work; None (no SIB-200 needed or evaluated) for a stand-in base that learns no topics."""
    if not exp.recipe.base_topics and not exp.cfg.base_model:
        return None
    folders = {TASK: sib200_folder(exp.cfg, exp.nusax)}
    return TaskInputs(folders, check_tasks(folders, exp.recipe, exp.cfg.split))


def evaluate_topics(model: Path, inputs: TaskInputs, recipe: Recipe, split: str, out: Path) -> Path:
    return evaluate_tasks(model, inputs, recipe, split, out, tasks=(TASK,))


TOPICS = ExtraEval((TASK,), tasks_dir, evaluate_topics, sib200_prompts)


def topic_findings(exp: Experiment, results: Results) -> tuple[list[str], dict]:
    """SIB-200's report in OUTPUT/sib200/; the summary's paragraph on it and its record for
    demo_summary.json."""
    if exp.prepared is None:
        return [NOT_EVALUATED], {"evaluated": False}
    eval_dirs = results.eval_dirs[""]
    dirs = {
        name: [str(tasks_dir(Path(d)) / TASK) for d in seed_dirs] for name, seed_dirs in eval_dirs.items()
    }
    report = compare_runs(
        dirs,
        "InstructAlign demo: SIB-200 topics, a task the base learned in L1 only",
        exp.output / TASK,
        roles=ROLES[TASK],
    )
    write_report(report, exp.output / TASK)
    floor = l1_floors(eval_dirs.get(BASE, []))[TASK]
    claims = {
        claim: next((v for v in report["verdicts"] if v["run"] == ALIGNED and v["claim"] == claim), None)
        for claim in ("L2 gain", "L3 transfer")
    }
    record = {"base_l1": floor["base"], "majority_l1": floor["majority"], "at_floor": floor["at_floor"]} | {
        claim: {"verdict": v["verdict"]} | v["comparison"] for claim, v in claims.items() if v
    }
    return [topic_paragraph(floor, claims, exp.recipe)], record


def topic_paragraph(floor: dict, claims: dict, recipe: Recipe) -> str:
    """The base's L1 score against always the most frequent topic, then — only if it can do the task — the L2
    and unseen-language changes of aligned+replay over the control, with their tests."""
    n = min(recipe.eval_limit or SIB200_LIMIT, SIB200_LIMIT)
    head = (
        f"**A task learned in L1 only: SIB-200 topics** (7 topics; {n} test sentences in each of 24 "
        "languages, taken evenly over the label-sorted file; report in `sib200/report.html`). The base "
        f"learned it in English and Indonesian only, and scores **{floor['base']:.1f}** there against "
        f"**{floor['majority']:.1f}** for always the most frequent topic"
    )
    if floor["at_floor"]:
        return head + " — at the floor, so **no verdict** on its transfer: the base cannot do the task in L1."
    words = {
        "L2 gain": "L2 (the 7 aligned languages, the task never trained in them)",
        "L3 transfer": "unseen languages (10: Malay, 5 of the Philippines, Malagasy, Maori, Samoan, Fijian)",
    }
    parts = [
        f"{words[claim]}: {fmt_delta(v['comparison'], tag=False)} — **{v['verdict']}**"
        for claim, v in claims.items()
        if v
    ]
    return head + ". aligned+replay vs the control on " + "; on ".join(parts) + "."
