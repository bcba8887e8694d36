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


# a base that also learns SIB-200 topic classification in English and Indonesian (its topic rows repeated 4
# times, its first stage 3 times as long): chosen on SIB-200 dev and NusaX valid (seed 0; README) among 1, 2,
# 3, 4, 6 repeats and 1, 2, 3 times the steps. The demo and the transfer study build their bases this way.
TOPIC_REPEATS, TOPIC_STEPS_FACTOR = 4, 3


def with_topics(recipe: Recipe) -> Recipe:
    """The recipe whose base also knows SIB-200 topics in L1: a second task to measure transfer on (a recipe
    that sets `base_topics` already is kept as it is)."""
    if recipe.base_topics:
        return recipe
    steps = TOPIC_STEPS_FACTOR * recipe.base_full_steps
    return replace(recipe, base_topics=TOPIC_REPEATS, base_full_steps=steps)


# the demo's: a base that also knows SIB-200 topics, and continual tuning at 1e-3 (the studies' 5e-4 x2),
# chosen
# with that base on NusaX valid over 3 seeds by the lower bound of the L2 gain over the control (README)
DEMO, DEMO_QUICK = replace(with_topics(FULL), stage_lr=1e-3), with_topics(QUICK)


def preset(quick: bool, demo: bool = False) -> Recipe:
    """The studies' recipe, or the demo's (`demo`)."""
    if demo:
        return DEMO_QUICK if quick else DEMO
    return QUICK if quick else FULL
