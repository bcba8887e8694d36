"""The experiments' fixed design: the languages and their roles, the reference runs' names, and the full and
quick recipes (the `Recipe` dataclass in config.py says what each setting means)."""

from __future__ import annotations

from dataclasses import replace

from ..config import Recipe

L1 = ["eng", "ind"]
L2 = ["jav", "sun", "min", "bjn", "ban", "ace", "bug"]
L3 = ["mad", "nij", "bbc"]
ROLES = f"L1={','.join(L1)};L2={','.join(L2)};L3={','.join(L3)}"

# the names every report, table and figure uses for the reference runs
BASE = "base"  # the model before continual tuning: the reference for forgetting
CONTROL = "replay-only"  # more L1 instruction tuning alone: the reference for the L2 gain
ALIGNED = "aligned+replay"  # the method: alignment objectives with replay
NO_REPLAY = "aligned-no-replay"  # the method without replay: where forgetting shows

# what the cached base model depends on (the continual runs' settings do not change it)
BASE_SETTINGS = (
    "vocab_size",
    "d_model",
    "n_layer",
    "n_head",
    "n_positions",
    "dropout",
    "activation",
    "batch_size",
    "max_length",
    "base_full_steps",
    "base_full_lr",
    "base_target_steps",
    "base_target_lr",
    "precision",
)

FULL = Recipe()
QUICK = replace(
    FULL,
    vocab_size=1000,
    d_model=64,
    n_layer=2,
    n_head=2,
    max_length=256,
    base_full_steps=150,
    base_full_lr=2e-3,
    base_target_steps=60,
    stage_steps=60,
    stage_lr=1e-3,
    eval_limit=24,
    eval_prompt_langs=("en",),
    monitor_every=30,
    monitor_limit=8,
)


def preset(quick: bool) -> Recipe:
    return QUICK if quick else FULL
