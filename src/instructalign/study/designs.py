"""The paper's studies as lists of continual runs, each trained from the demo's base for the same steps.

A run is its objectives and its replay share (and whether it trains LoRA adapters); no objectives is the
replay-only control. Every study also evaluates the base, the reference for forgetting. The interpolate
study also evaluates each tuned run merged back toward the base at several α (WiSE-FT).
"""

from __future__ import annotations

from dataclasses import dataclass

OBJECTIVES = ("mt", "tlm", "xss", "mlm")
CONTROL = "replay-only"
ALPHAS = (0.25, 0.5, 0.75, 1.0)  # α = 0 is the base itself
LORA_LR_FACTOR = (
    4  # adapters train at 4x the full fine-tune's learning rate (a common choice, not tuned here)
)


@dataclass(frozen=True)
class Design:
    name: str
    objectives: tuple[str, ...] = ()  # () is the replay-only control
    replay_share: float = 0.0
    lora: bool = False


def designs(study: str, replay_share: float) -> list[Design]:
    """The continual runs of a study (the base is evaluated besides)."""
    control = Design(CONTROL)
    if study == "objectives":  # each alone, the demo's three, all four; the demo's replay share
        alone = [Design(o, (o,), replay_share) for o in OBJECTIVES]
        demo = Design("mt+tlm+xss", ("mt", "tlm", "xss"), replay_share)
        return [control, *alone, demo, Design("all", OBJECTIVES, replay_share)]
    if study == "replay":  # the demo's objectives with 0 to 75% of every batch replayed
        shares = (0.0, 0.1, 0.25, 0.5, 0.75)
        return [control] + [Design(f"share-{s:g}", ("mt", "tlm", "xss"), s) for s in shares]
    if study == "interpolate":  # full fine-tunes with and without replay, and LoRA without replay
        demo = ("mt", "tlm", "xss")
        return [
            control,
            Design("aligned+replay", demo, replay_share),
            Design("aligned-no-replay", demo, 0.0),
            Design("lora-no-replay", demo, 0.0, lora=True),
        ]
    if study in ("transfer", "scale"):  # the demo's two continual runs (on three tasks; at three sizes)
        return [control, Design("aligned+replay", ("mt", "tlm", "xss"), replay_share)]
    raise ValueError(f"unknown study {study!r}")


def alphas(study: str, design: Design) -> tuple[float, ...]:
    """The α at which a run is evaluated merged toward the base; () for the run as trained."""
    return ALPHAS if study == "interpolate" and design.objectives else ()


def run_names(study: str, plan: list[Design]) -> list[tuple[str, Design, float | None]]:
    """Every evaluated model of a study but the base: (name, design, α or None)."""
    out = []
    for d in plan:
        out += [(f"{d.name}@{a:g}", d, a) for a in alphas(study, d)] or [(d.name, d, None)]
    return out
