"""`instructalign study replay-source`: when the model's own instruction data is private, does replay the
model writes itself keep L1 as well as the real data?

From the same base and at the same replay share, aligned runs replay (1) the base's real L1 instruction data
(the demo's run), (2) the base's answers to its own L1 prompts (`data synth-replay --prompts`: the prompts
of that data, the answers sampled from the base), (3) prompts and answers both written by the base (`data
synth-replay --n`: instruction openings the base continues, then answers), and (4) nothing; against the
replay-only control (real data). Each synthesized arm replays as many distinct rows as the mix draws (at
most the base data's size). Per arm: L1 vs the base (non-inferiority, the report's margin) and L2 vs the
control, 95% intervals; the arms are not tested against each other.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rich.console import Console

from ..config import Recipe, SynthReplayConfig
from ..experiment.design import ALIGN_OBJECTIVES, NO_REPLAY_RUN, REPLAY_ONLY, Design, ReplaySource
from ..experiment.recipe import ALIGNED, CONTROL
from ..experiment.study import Experiment, Results, Study
from ..files import write_atomically
from ..report.tables import fmt_delta
from ..synth.run import synth_replay
from .findings import shown, study_findings, study_table

# how the base writes its replay: `data synth-replay`'s defaults but for the stand-in's short answers
SETTINGS = {
    "temperature": 0.7,
    "top_p": 1.0,
    "max_new_tokens": 128,
    "max_prompt_tokens": 96,
    "batch_size": 64,
}
ANSWERS = "synth-answers"
SELF = "synth-prompts+answers"


def synthesized(mode: str, base: Path, base_data: Path, out: Path, rows: int, seed: int) -> None:
    """`rows` replay rows written by `base` into `out` (JSONL): answers to its own data's prompts, or prompts
    and answers both; the command's folder (its manifest: counts, filters, time) kept beside `out`."""
    folder = out.with_suffix("")
    data = base_data / "train.jsonl"
    rows = min(rows, data.read_text("utf-8").count("\n"))  # no more than the real data holds
    prompts = str(data) if mode == ANSWERS else None
    cfg = SynthReplayConfig(
        model=str(base), output=str(folder), n=rows, prompts=prompts, seed=seed, overwrite=True, **SETTINGS
    )
    synth_replay(cfg, Console(quiet=True))
    write_atomically(out, (folder / "replay.jsonl").read_text("utf-8"))


def synth_run(name: str, share: float) -> Design:
    source = ReplaySource(partial(synthesized, name), key=(name, *sorted(SETTINGS.items())), tag=f"-{name}")
    return Design(name, ALIGN_OBJECTIVES, share, replay_source=source)


def designs(recipe: Recipe) -> list[Design]:
    share = recipe.replay_share
    real = Design(ALIGNED, ALIGN_OBJECTIVES, share)
    return [REPLAY_ONLY, real, synth_run(ANSWERS, share), synth_run(SELF, share), NO_REPLAY_RUN]


def draw(ax, rows: list[dict]) -> None:
    """Each run on the L1-change / L2-gain plane (both with 95% intervals)."""
    for r in rows:
        l1, l2 = r["L1 vs base"], r["L2 vs control"]
        if r["run"] == CONTROL or not (l1 and l2):
            continue
        ax.errorbar(
            100 * l1["delta"],
            100 * l2["delta"],
            xerr=[[100 * (l1["delta"] - l1["lo"])], [100 * (l1["hi"] - l1["delta"])]],
            yerr=[[100 * (l2["delta"] - l2["lo"])], [100 * (l2["hi"] - l2["delta"])]],
            fmt="o",
            capsize=3,
            label=r["run"],
        )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("L1 change vs the base (weighted F1 x100)")
    ax.set_ylabel("L2 gain vs the replay-only control (x100)")
    ax.legend(fontsize=8)


def answer(exp: Experiment, results: Results) -> list[str]:
    """Each arm's L1 and L2 verdicts, in words."""
    report = results.reports[""]
    margin = report["margin"]
    rows = {r["run"]: r for r in study_table(report, results.names)}
    lines = []
    for name in (ALIGNED, ANSWERS, SELF, NO_REPLAY_RUN.name):
        r = rows.get(name)
        if not r or not r["L1 vs base"] or not r["L2 vs control"]:
            continue
        kept = shown(r["L1 vs base"], -margin / 100)
        gain = shown(r["L2 vs control"])
        lines.append(
            f"- {name}: L1 vs base {fmt_delta(r['L1 vs base'], tag=False)} — kept within {margin:g} points "
            f"{'shown' if kept else 'not shown'}; L2 vs control {fmt_delta(r['L2 vs control'], tag=False)} — "
            f"gain {'shown' if gain else 'not shown'}."
        )
    head = (
        "**The question.** Does replay the base writes itself keep L1 (non-inferiority vs the base, lower "
        f"bound of the 95% interval above −{margin:g} points) with an L2 gain over the control, as the real "
        "data's replay does? Each arm against the base and the control; the arms are not tested against each "
        "other, so 'as well as' is read from these intervals only."
    )
    return [head + "\n\n" + "\n".join(lines)] if lines else []


STUDY = Study(
    name="replay-source",
    question="replay when the model's data is private: the base's answers, or its own prompts and answers",
    title="InstructAlign study: where replay comes from",
    designs=designs,
    findings=partial(study_findings, draw=draw, more=answer),
)
