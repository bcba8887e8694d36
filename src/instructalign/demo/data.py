"""Where the demo's data comes from, and the training mixes of its runs (all through `data build`)."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

from ..config import BuildConfig, DemoConfig, DemoRecipe
from ..data.bitext import is_sib200_folder, read_bitext
from ..data.build import build
from ..data.prompts import render
from ..errors import UserError
from ..evaluate.tasks import load_task
from ..files import cache_dir
from .recipe import L2


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


def align_source(cfg: DemoConfig, nusax: Path) -> tuple[str, str]:
    """The alignment bitext and its split: NusaX mt/train, or SIB-200 train+dev (its test split and NusaX's
    test sentences never enter: the split excludes the one, the other is a different corpus)."""
    if cfg.align_data == "nusax":
        return str(nusax), "train"
    return str(sib200_folder(cfg, nusax)), "train+dev"


def sib200_folder(cfg: DemoConfig, nusax: Path) -> Path:
    """--sib200, else $INSTRUCTALIGN_SIB200, else 'sib200' beside the NusaX folder."""
    for candidate in (cfg.sib200, os.environ.get("INSTRUCTALIGN_SIB200"), str(nusax.parent / "sib200")):
        if candidate and is_sib200_folder(Path(candidate)):
            return Path(candidate)
    where = cfg.sib200 or nusax.parent / "sib200"
    raise UserError(f"{where}: not a SIB-200 folder (<lang>_<Script>/train.tsv); pass --sib200 PATH")


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
    """The base's instruction data (a JSONL file, or a folder's train.jsonl), repeated so that `needed` rows
    can be drawn from it."""
    rows = (base_data if base_data.is_file() else base_data / "train.jsonl").read_text("utf-8")
    n = rows.count("\n")
    out.write_text(rows * max(1, -(-needed // n)), "utf-8")
    return out


ALIGN_OBJECTIVES = ("mt", "tlm", "xss")


def aligned_mix(
    bitext: str,
    split: str,
    pool: Path | None,
    recipe: DemoRecipe,
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


def control_mix(pool: Path, recipe: DemoRecipe, seed: int, out: Path) -> Path:
    """The replay-only control: `stage_steps * batch_size` rows of the base's own instruction data."""
    n_examples = recipe.stage_steps * recipe.batch_size
    build(BuildConfig(replay=str(pool), replay_count=n_examples, seed=seed, overwrite=True, output=str(out)))
    return out


def stage_mixes(
    bitext: str, split: str, base_data: Path, recipe: DemoRecipe, seed: int, work: Path
) -> dict[str, Path]:
    """Training mixes of the demo's three runs, all of `stage_steps * batch_size` examples."""
    work.mkdir(parents=True, exist_ok=True)
    pool = replay_pool(base_data, recipe.stage_steps * recipe.batch_size, work / "replay_pool.jsonl")
    args = (bitext, split, pool, recipe, seed, ALIGN_OBJECTIVES)
    return {
        "aligned+replay": aligned_mix(*args, recipe.replay_share, work / "aligned+replay"),
        "aligned-no-replay": aligned_mix(*args, 0.0, work / "aligned-no-replay"),
        "replay-only": control_mix(pool, recipe, seed, work / "replay-only"),
    }
