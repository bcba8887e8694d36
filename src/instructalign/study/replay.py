"""`instructalign study replay`: the paper's objectives with 0 to 75% of every batch replayed.

The figure follows L1 and L2 (each against the base) along the replay share, the replay-only control at 1.
"""

from __future__ import annotations

from functools import partial

from ..config import Recipe
from ..experiment.design import REPLAY_ONLY, Design, aligned_replay
from ..experiment.recipe import CONTROL
from ..experiment.study import Study
from .findings import error_bars, study_findings

SHARES = (0.0, 0.1, 0.25, 0.5, 0.75)


def designs(recipe: Recipe) -> list[Design]:
    return [REPLAY_ONLY] + [aligned_replay(s, f"share-{s:g}") for s in SHARES]


def draw(ax, rows: list[dict]) -> None:
    """L1 and L2 change vs the base (intervals) against the replay share; the replay-only control at 1."""
    share = {r["run"]: 1.0 if r["run"] == CONTROL else r["replay_share"] for r in rows}
    for i, role in enumerate(("L1", "L2")):
        pts = sorted((share[r["run"]], r[f"{role} vs base"]) for r in rows if r[f"{role} vs base"])
        ax.errorbar(
            [x + 0.006 * i for x, _ in pts],
            [100 * c["delta"] for _, c in pts],
            yerr=error_bars([c for _, c in pts]),
            fmt="o-",
            capsize=3,
            label=f"{role} vs base",
        )
    ax.set_xlabel("replay share of every batch (1 = replay-only control)")
    ax.set_ylabel("weighted F1 change (x100)")
    ax.legend(fontsize=8)


STUDY = Study(
    name="replay",
    question="how much replay: the paper's objectives with 0 to 75% of every batch replayed",
    title="InstructAlign study: replay",
    designs=designs,
    findings=partial(study_findings, draw=draw),
)
