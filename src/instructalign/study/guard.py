"""`instructalign study guard`: does replay that reacts to forgetting keep L1 with fewer replay rows?

Every aligned run samples the same kind of mix — a step budget of alignment rows and as many replay rows —
as two pools (`train --replay-share`): fixed shares 0.5 and 0.1, no replay, and the replay guard starting
from 0 (`--replay-guard 2`: +0.1 after each probe whose L1 is more than 2 points below step 0's, back down
once L1 recovers), against the replay-only control, all with the same steps. The question: does the guard
keep L1 within the margin (non-inferiority vs the base) with fewer replay rows than the fixed 0.5 share, at
an L2 gain over the control like the fixed share's? Each run's replay rows come from its train_summary.json.
"""

from __future__ import annotations

import statistics
from functools import partial

from ..config import Recipe
from ..experiment.design import ALIGN_OBJECTIVES, REPLAY_ONLY, Design
from ..experiment.recipe import CONTROL
from ..experiment.study import Experiment, Results, Study
from ..report.tables import fmt_delta
from .findings import error_bars, shown, study_findings, study_table, training_summary

MARGIN = 2.0  # points of L1: the guard's margin and the non-inferiority margin of the verdict
GUARD = "guard-from-0"


def pooled(name: str, share: float, guard: float | None = None) -> Design:
    """A run of the two-pool mix (a step budget of alignment rows and as many replay rows) sampled at `share`
    (`train --replay-share`), moved by the guard when it has a margin (`--replay-guard`)."""
    tag = f"-s{share:g}" + ("" if guard is None else f"-guard{guard:g}")
    settings = {"replay_share": share, "replay_guard": guard}
    return Design(name, ALIGN_OBJECTIVES, 0.5, train=settings, tag=tag)


def designs(recipe: Recipe) -> list[Design]:
    fixed = [pooled(f"replay-{s:g}", s) for s in (0.5, 0.1)]
    return [REPLAY_ONLY, *fixed, pooled("no-replay", 0.0), pooled(GUARD, 0.0, MARGIN)]


def replay_rows(folders: list[str]) -> list[int]:
    """Replay rows each seed's training used (train_summary.json beside the model its eval scored)."""
    summaries = [training_summary(folder) for folder in folders]
    return [s["replay_rows_used"] for s in summaries if "replay_rows_used" in s]


def draw(ax, rows: list[dict]) -> None:
    """L1 vs base and L2 vs control (intervals) for each run."""
    runs = [r for r in rows if r["run"] != CONTROL]
    for i, (key, label) in enumerate((("L1 vs base", "L1 vs base"), ("L2 vs control", "L2 vs control"))):
        pts = [(j, r[key]) for j, r in enumerate(runs) if r[key]]
        ax.errorbar(
            [j + 0.1 * i for j, _ in pts],
            [100 * c["delta"] for _, c in pts],
            yerr=error_bars([c for _, c in pts]),
            fmt="o",
            capsize=3,
            label=label,
        )
    ax.axhline(-MARGIN, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(runs)), [r["run"] for r in runs], fontsize=8)
    ax.set_ylabel("weighted F1 change (x100)")
    ax.legend(fontsize=8)


def answer(exp: Experiment, results: Results) -> list[str]:
    """Replay rows per run, and the study's question answered from the intervals."""
    report = results.reports[""]
    rows = {r["run"]: r for r in study_table(report, results.names)}
    used = {name: replay_rows(folders) for name, folders in results.eval_dirs[""].items()}
    lines = ["| run | replay rows used (mean over seeds) | per seed |", "|---|---|---|"]
    for name in rows:
        if used.get(name):
            lines.append(
                f"| {name} | {statistics.fmean(used[name]):,.0f} | {', '.join(f'{u:,}' for u in used[name])} "
                "|"
            )
    guard, fixed = rows.get(GUARD), rows.get("replay-0.5")
    if not (guard and fixed and used.get(GUARD) and used.get("replay-0.5")):
        return ["\n".join(lines)]
    kept = shown(guard["L1 vs base"], -MARGIN / 100)
    fewer = statistics.fmean(used[GUARD]) < statistics.fmean(used["replay-0.5"])
    gain = shown(guard["L2 vs control"])
    words = (
        f"**The question.** L1 kept by the guard (non-inferiority vs the base, margin {MARGIN:g} points, "
        f"lower bound of the 95% interval above −{MARGIN:g}): {'shown' if kept else 'not shown'} "
        f"({fmt_delta(guard['L1 vs base'], tag=False) if guard['L1 vs base'] else '—'}). Replay rows: "
        f"{statistics.fmean(used[GUARD]):,.0f} for the guard vs {statistics.fmean(used['replay-0.5']):,.0f} "
        f"for the fixed 0.5 share ({'fewer' if fewer else 'not fewer'}). L2 gain over the control: guard "
        f"{fmt_delta(guard['L2 vs control'], tag=False) if guard['L2 vs control'] else '—'} "
        f"({'shown' if gain else 'not shown'}), fixed 0.5 "
        f"{fmt_delta(fixed['L2 vs control'], tag=False) if fixed['L2 vs control'] else '—'}; the two are not "
        "tested against each other (no equivalence test), so 'the same L2 gain' is read from these "
        f"intervals only. Answer: {'yes' if kept and fewer and gain else 'not shown'} — the guard "
        + (
            "keeps L1 within the margin with fewer replay rows and an L2 gain shown."
            if kept and fewer and gain
            else "does not meet all three conditions here (see which above)."
        )
    )
    return ["\n".join(lines), words]


STUDY = Study(
    name="guard",
    question="does replay that reacts to forgetting keep L1 with fewer replay rows than a fixed share",
    title="InstructAlign study: the replay guard",
    designs=designs,
    findings=partial(study_findings, draw=draw, more=answer),
)
