"""`instructalign study interpolate`: full fine-tunes with and without replay, and LoRA without replay, each
evaluated merged back toward the base at α = 0.25, 0.5, 0.75 and 1 (WiSE-FT).

The figure is the Pareto plot: L1 change against L2 change (both against the base), one line per run through
its α values.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from ..config import Recipe
from ..experiment.design import ALPHAS, NO_REPLAY_RUN, REPLAY_ONLY, Design, aligned_replay
from ..experiment.recipe import CONTROL
from ..experiment.study import Study
from .findings import error_bars, study_findings


def designs(recipe: Recipe) -> list[Design]:
    tuned = [
        aligned_replay(recipe.replay_share),
        NO_REPLAY_RUN,
        replace(NO_REPLAY_RUN, name="lora-no-replay", lora=True),
    ]
    return [REPLAY_ONLY] + [replace(d, alphas=ALPHAS) for d in tuned]


def draw(ax, rows: list[dict]) -> None:
    """L1 change against L2 change, both vs the base: one line per run through its α, the control a point."""
    ax.plot([0], [0], "ks", label="base (α = 0)")
    for design in dict.fromkeys(r["design"] for r in rows):
        pts = [r for r in rows if r["design"] == design and r["L1 vs base"] and r["L2 vs base"]]
        xs = [100 * r["L1 vs base"]["delta"] for r in pts]
        ys = [100 * r["L2 vs base"]["delta"] for r in pts]
        from_base = bool(pts and pts[0]["alpha"])
        line = ax.plot(
            [0, *xs] if from_base else xs,
            [0, *ys] if from_base else ys,
            "o-" if design != CONTROL else "D",
            label=design,
        )[0]
        for r, x, y in zip(pts, xs, ys):
            ax.errorbar(
                x,
                y,
                xerr=error_bars([r["L1 vs base"]]),
                yerr=error_bars([r["L2 vs base"]]),
                color=line.get_color(),
                capsize=2,
            )
            if r["alpha"] is not None:
                ax.annotate(
                    f"α={r['alpha']:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("L1 change vs base (forgetting < 0)")
    ax.set_ylabel("L2 change vs base")
    ax.legend(fontsize=8)


STUDY = Study(
    name="interpolate",
    question="which lever against forgetting: replay, merging back toward the base (α), LoRA",
    title="InstructAlign study: interpolate",
    designs=designs,
    findings=partial(study_findings, draw=draw),
)
