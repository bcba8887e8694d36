"""`instructalign study objectives`: each alignment objective alone, the paper's three together, and all four.

Every run replays the recipe's share and trains for the same steps; the figure shows each run's L2 and L3
change against the replay-only control.
"""

from __future__ import annotations

from functools import partial

from ..config import Recipe
from ..experiment.design import OBJECTIVES, REPLAY_ONLY, Design, aligned_replay
from ..experiment.study import Study
from .findings import error_bars, study_findings


def designs(recipe: Recipe) -> list[Design]:
    share = recipe.replay_share
    alone = [Design(o, (o,), share) for o in OBJECTIVES]
    return [REPLAY_ONLY, *alone, aligned_replay(share, "mt+tlm+xss"), Design("all", OBJECTIVES, share)]


def draw(ax, rows: list[dict]) -> None:
    """L2 and L3 change against the control, per run."""
    for i, role in enumerate(("L2", "L3")):
        pts = [(j, r[f"{role} vs control"]) for j, r in enumerate(rows) if r[f"{role} vs control"]]
        ax.errorbar(
            [j + 0.15 * i for j, _ in pts],
            [100 * c["delta"] for _, c in pts],
            yerr=error_bars([c for _, c in pts]),
            fmt="o",
            capsize=3,
            label=f"{role} vs control",
        )
    ax.set_xticks(range(len(rows)), [r["run"] for r in rows])
    ax.set_ylabel("weighted F1 change (x100)")
    ax.legend(fontsize=8)


STUDY = Study(
    name="objectives",
    question="which alignment objective carries the gain: each alone, the paper's three together, all four",
    title="InstructAlign study: objectives",
    designs=designs,
    findings=partial(study_findings, draw=draw),
)
