"""The training mixes of an experiment's runs, all built by `data build`: alignment data over the L2 languages
with a share replayed from the base's own instruction data, or that instruction data alone (the control)."""

from __future__ import annotations

from pathlib import Path

from ..config import BuildConfig, Recipe
from ..data.bitext import read_bitext
from ..data.build import build
from ..files import write_atomically
from .recipe import L2


def replay_pool(base_data: Path, needed: int, out: Path) -> Path:
    """The base's instruction data (a JSONL file, or a folder's train.jsonl), repeated so that `needed` rows
    can be drawn from it."""
    rows = (base_data if base_data.is_file() else base_data / "train.jsonl").read_text("utf-8")
    n = rows.count("\n")
    write_atomically(out, rows * max(1, -(-needed // n)))  # a killed run leaves no partial pool to reuse
    return out


def aligned_mix(
    bitext: str,
    split: str,
    pool: Path | None,
    recipe: Recipe,
    seed: int,
    objectives,
    share: float,
    out: Path,
) -> Path:
    """Alignment data over the L2 languages with both pivots, `share` of it replayed from `pool`, about
    `stage_steps * batch_size` examples in all."""
    n_examples = recipe.stage_steps * recipe.batch_size
    n_sentences = sum(1 for _ in read_bitext(bitext, split))
    n_align_pool = (
        len(L2) * 2 * 2 * len(objectives) * n_sentences
    )  # languages x pivots x directions x objectives
    weight = (1 - share) * n_examples / n_align_pool
    replay = {"replay": str(pool), "replay_ratio": share} if share > 0 else {}
    build(
        BuildConfig(
            bitext=[bitext],
            split=split,
            pivots=["ind", "eng"],
            targets=L2,
            objectives=list(objectives),
            objective_weights=dict.fromkeys(objectives, weight),
            seed=seed,
            overwrite=True,
            output=str(out),
            **replay,
        )
    )
    return out


def control_mix(pool: Path, recipe: Recipe, seed: int, out: Path) -> Path:
    """The replay-only control: `stage_steps * batch_size` rows of the base's own instruction data."""
    n_examples = recipe.stage_steps * recipe.batch_size
    build(BuildConfig(replay=str(pool), replay_count=n_examples, seed=seed, overwrite=True, output=str(out)))
    return out
