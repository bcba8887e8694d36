"""Where the demo's data comes from, and the training mixes of its runs (all through `data build`)."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

from ..config import BuildConfig, DemoRecipe
from ..data.bitext import read_bitext
from ..data.build import build
from ..data.prompts import render
from ..errors import UserError
from ..evaluate.tasks import load_task
from .recipe import L2


def cache_dir() -> Path:
    return Path(os.environ.get("INSTRUCTALIGN_CACHE", Path.home() / ".cache" / "instructalign"))


def resolve_data(path: str | None) -> Path:
    """--data, else $INSTRUCTALIGN_NUSAX, else the cache; otherwise say how to get NusaX."""
    for candidate in (path, os.environ.get("INSTRUCTALIGN_NUSAX"), str(cache_dir() / "nusax")):
        if candidate and (Path(candidate) / "mt" / "train.csv").is_file():
            return Path(candidate)
    if path:
        raise UserError(f"{path}: not a NusaX folder (no mt/train.csv); check --data")
    raise UserError(
        "NusaX not found: pass --data PATH, set INSTRUCTALIGN_NUSAX, or run 'instructalign data download nusax'"
    )


def sentiment_examples(nusax: Path, seed: int) -> list[dict]:
    """English and Indonesian sentiment (train split) as instructions, with nusax_senti's templates."""
    task = load_task("nusax_senti")
    rng = random.Random(f"{seed}:sentiment")
    rows = []
    for lang, folder in (("eng", "english"), ("ind", "indonesian")):
        with open(nusax / "sentiment" / folder / "train.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                pl = rng.choice(sorted(task.templates))
                template = rng.choice(task.templates[pl])
                rows.append(
                    {
                        "prompt": render(template, text=row["text"], options=task.options(pl)),
                        "target": task.verbalizers[pl][row["label"]],
                        "objective": "sentiment",
                        "src_lang": lang,
                        "tgt_lang": lang,
                        "prompt_lang": pl,
                        "source": "replay",
                    }
                )
    return rows


def base_mix(nusax: Path, sentiment: Path, seed: int, output: Path) -> None:
    """The base model's L1-only instruction data: en<->id MT, L1 denoising and the sentiment rows."""
    build(
        BuildConfig(
            bitext=[str(nusax)],
            split="train",
            pivots=["eng"],
            targets=["ind"],
            objectives=["mt", "mlm"],
            replay=str(sentiment),
            replay_count=10**6,
            seed=seed,
            output=str(output),
        )
    )


def replay_pool(base_data: Path, needed: int, out: Path) -> Path:
    """The base's instruction data, repeated so that `needed` rows can be drawn from it."""
    rows = (base_data / "train.jsonl").read_text("utf-8")
    n = rows.count("\n")
    out.write_text(rows * max(1, -(-needed // n)), "utf-8")
    return out


def stage_mixes(nusax: Path, base_data: Path, recipe: DemoRecipe, seed: int, work: Path) -> dict[str, Path]:
    """Training mixes of the three runs, all of `stage_steps * batch_size` examples."""
    n_examples = recipe.stage_steps * recipe.batch_size
    n_sentences = sum(1 for _ in read_bitext(str(nusax), "train"))
    n_align_pool = len(L2) * 2 * 2 * 3 * n_sentences  # languages x pivots x directions x objectives
    work.mkdir(parents=True, exist_ok=True)
    pool = replay_pool(base_data, n_examples, work / "replay_pool.jsonl")
    align = {
        "bitext": [str(nusax)],
        "split": "train",
        "pivots": ["ind", "eng"],
        "targets": L2,
        "objectives": ["mt", "tlm", "xss"],
        "seed": seed,
        "overwrite": True,
    }
    share = recipe.replay_share
    weight = {
        "aligned+replay": (1 - share) * n_examples / n_align_pool,
        "aligned-no-replay": n_examples / n_align_pool,
    }
    out = {name: work / name for name in ("aligned+replay", "aligned-no-replay", "replay-only")}
    build(
        BuildConfig(
            **align,
            objective_weights=dict.fromkeys(align["objectives"], weight["aligned+replay"]),
            replay=str(pool),
            replay_ratio=share,
            output=str(out["aligned+replay"]),
        )
    )
    build(
        BuildConfig(
            **align,
            objective_weights=dict.fromkeys(align["objectives"], weight["aligned-no-replay"]),
            output=str(out["aligned-no-replay"]),
        )
    )
    build(
        BuildConfig(
            replay=str(pool),
            replay_count=n_examples,
            seed=seed,
            overwrite=True,
            output=str(out["replay-only"]),
        )
    )
    return out
