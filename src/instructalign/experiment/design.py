"""A run of an experiment, declared: what it trains from the base, and at which α it is also evaluated.

A run is its objectives and its replay share (and whether it trains LoRA adapters); no objectives is the
replay-only control. A run may instead sample its mix's alignment and replay rows as two pools at a share of
its own, fixed or moved by the replay guard (`train --replay-share/--replay-guard`), or start from the base
extended with new L2 tokens (`vocab extend`). Every experiment also evaluates the base, the reference for
forgetting. A run with α values is also evaluated merged back toward the base at each α (WiSE-FT); its folder
name does not depend on them, so runs that train the same thing are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from .recipe import ALIGNED, CONTROL, NO_REPLAY

OBJECTIVES = ("mt", "tlm", "xss", "mlm")
ALIGN_OBJECTIVES = ("mt", "tlm", "xss")  # the method's objectives, as in the paper
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
    alphas: tuple[float, ...] = ()  # also evaluated merged toward the base at these α; () as trained only
    sampled_share: float | None = None  # train draws alignment and replay as two pools at this share
    guard: float | None = None  # ... and the replay guard moves the share (margin in L1 points)
    vocab_init: str | None = None  # train from the base extended by `vocab extend` (mean or focus) ...
    vocab_add: int = 2000  # ... with this many new tokens learned from the L2 languages' training text
    # ... the L1 words of these sources protected too ("sib200"), not only NusaX's
    vocab_pivot_data: tuple[str, ...] = ()

    def trained(self) -> tuple:
        """What the run trains (its folder's name hash): objectives, replay share, LoRA (and the two-pool
        share and guard, where set)."""
        pools = () if self.sampled_share is None and self.guard is None else (self.sampled_share, self.guard)
        vocab = () if self.vocab_init is None else (self.vocab_init, self.vocab_add, *self.vocab_pivot_data)
        return (self.objectives, self.replay_share, self.lora, *pools, *vocab)


# the reference runs
REPLAY_ONLY = Design(CONTROL)
NO_REPLAY_RUN = Design(NO_REPLAY, ALIGN_OBJECTIVES, 0.0)


def aligned_replay(share: float, name: str = ALIGNED) -> Design:
    """The method's run: the paper's objectives with `share` of every batch replayed (the recipe's share)."""
    return Design(name, ALIGN_OBJECTIVES, share)


def evaluated(plan: list[Design]) -> list[tuple[str, Design, float | None]]:
    """Every evaluated model of a plan but the base: (name, design, α or None)."""
    out = []
    for d in plan:
        out += [(f"{d.name}@{a:g}", d, a) for a in d.alphas] or [(d.name, d, None)]
    return out
