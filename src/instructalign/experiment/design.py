"""A run of an experiment, declared: what it trains from the base, and at which α it is also evaluated.

A run is its objectives and its replay share (and whether it trains LoRA adapters); no objectives is the
replay-only control. A study may give a run train settings of its own (e.g. two pools sampled at a share,
fixed or moved by the replay guard: `train --replay-share/--replay-guard`) and a preparation step (e.g. the
base extended with new L2 tokens by `vocab extend`), both declared in the study's own file. Every experiment
also evaluates the base, the reference for forgetting. A run with α values is also evaluated merged back
toward the base at each α (WiSE-FT); its folder name does not depend on them, so runs that train the same
thing are shared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import StudyConfig
from .recipe import ALIGNED, CONTROL, NO_REPLAY

OBJECTIVES = ("mt", "tlm", "xss", "mlm")
ALIGN_OBJECTIVES = ("mt", "tlm", "xss")  # the method's objectives, as in the paper
ALPHAS = (0.25, 0.5, 0.75, 1.0)  # α = 0 is the base itself
LORA_LR_FACTOR = (
    4  # adapters train at 4x the full fine-tune's learning rate (a common choice, not tuned here)
)


@dataclass(frozen=True)
class Preparation:
    """A step a run takes before it trains, declared in its study's file: `make(base, folder, nusax, cfg)`
    writes what the run trains from into its run folder and returns that model's path (a module-level
    function, or a `functools.partial` of one: it runs in a worker process); `key` is what it changes (part of
    the run folder's hash) and `tag` a few readable characters of the folder's name."""

    make: Callable[[str, Path, Path, StudyConfig], Path]
    key: tuple = ()
    tag: str = ""


@dataclass(frozen=True)
class ReplaySource:
    """Where a run's replay rows come from when not from the base's own instruction data, declared in its
    study's file: `make(base, base_data, out, rows, seed)` writes about `rows` replay rows (a JSONL that
    `data build --replay` reads) to `out` from the base (a module-level function or a `functools.partial` of
    one); `key` and `tag` as for a Preparation."""

    make: Callable[[Path, Path, Path, int, int], None]
    key: tuple = ()
    tag: str = ""


@dataclass(frozen=True)
class Design:
    """A continual run: its objectives (none: the replay-only control) and replay share, LoRA or not, the α
    values it is also evaluated merged at; `train`, any `instructalign train` settings of its own (e.g.
    {"replay_share": 0.1} to sample two pools), and `before_train`, a preparation step. `tag` adds readable
    characters to the run folder's name; the folder's hash covers everything the run trains."""

    name: str
    objectives: tuple[str, ...] = ()
    replay_share: float = 0.0
    lora: bool = False
    alphas: tuple[float, ...] = ()  # also evaluated merged toward the base at these α; () as trained only
    train: Mapping[str, Any] = field(default_factory=dict, hash=False)
    before_train: Preparation | None = None
    tag: str = ""
    replay_source: ReplaySource | None = None  # None: the base's own instruction data

    def trained(self) -> tuple:
        """What the run trains (its folder's name hash): objectives, replay share, LoRA, then its own train
        settings, its preparation's key and its replay source's, where it has them."""
        own = [[k, v] for k, v in self.train.items()]
        prep = list(self.before_train.key) if self.before_train else []
        source = [["replay_source", *self.replay_source.key]] if self.replay_source else []
        return (self.objectives, self.replay_share, self.lora, *own, *prep, *source)

    def slug(self) -> str:
        """The readable part of the run folder's name: 'mt+tlm+xss-r0.5-s0.1-lora'."""
        prep = self.before_train.tag if self.before_train else ""
        source = self.replay_source.tag if self.replay_source else ""
        lora = "-lora" if self.lora else ""
        return f"{'+'.join(self.objectives) or 'replay'}-r{self.replay_share:g}{self.tag}{prep}{source}{lora}"


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
