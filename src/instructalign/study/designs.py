"""The paper's studies as lists of continual runs, each trained from the demo's base for the same steps.

A run is its objectives and its replay share; no objectives is the replay-only control. Every study
also evaluates the base, the reference for forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass

OBJECTIVES = ("mt", "tlm", "xss", "mlm")
CONTROL = "replay-only"


@dataclass(frozen=True)
class Design:
    name: str
    objectives: tuple[str, ...] = ()  # () is the replay-only control
    replay_share: float = 0.0


def designs(study: str, replay_share: float) -> list[Design]:
    """The continual runs of a study (the base is evaluated besides)."""
    control = Design(CONTROL)
    if study == "objectives":  # each objective alone, and all four, with the demo's replay share
        alone = [Design(o, (o,), replay_share) for o in OBJECTIVES]
        return [control, *alone, Design("all", OBJECTIVES, replay_share)]
    if study == "replay":  # the demo's objectives with 0 to 75% of every batch replayed
        shares = (0.0, 0.1, 0.25, 0.5, 0.75)
        return [control] + [Design(f"share-{s:g}", ("mt", "tlm", "xss"), s) for s in shares]
    raise ValueError(f"unknown study {study!r}")
