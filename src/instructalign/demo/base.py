"""The demo's base model, cached: the stand-in instruction-tuned on L1 only, as BLOOMZ was before alignment.

Its instruction data is what later runs replay, as xP3 is for BLOOMZ.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from .. import __version__
from ..config import DemoRecipe, TrainConfig
from ..data.bitext import read_bitext
from ..data.build import dumps
from ..files import files_digest
from ..standin import init_model, standin_tokenizer
from ..train import train
from .data import base_mix, cache_dir, sentiment_examples
from .recipe import BASE_SETTINGS


def stage_config(
    recipe: DemoRecipe,
    model: str,
    data: Path,
    out: Path,
    steps: int,
    lr: float,
    seed: int,
    loss_on_prompt=False,
) -> TrainConfig:
    """The demo's optimiser: AdamW (wd 0.01, betas 0.9/0.98), clip 1.0, cosine with 5% warmup."""
    return TrainConfig(
        model=model,
        data=str(data),
        output=str(out),
        max_steps=steps,
        lr=lr,
        lr_scheduler="cosine",
        warmup_ratio=0.05,
        weight_decay=0.01,
        adam_beta2=0.98,
        max_grad_norm=1.0,
        batch_size=recipe.batch_size,
        max_length=recipe.max_length,
        loss_on_prompt=loss_on_prompt,
        save_steps=steps,
        save_total_limit=1,
        logging_steps=50,
        precision=recipe.precision,
        seed=seed,
    )


def base_folder(nusax: Path, recipe: DemoRecipe, seed: int) -> Path:
    """The cache folder of a base model: a hash of the version, the base's settings, seed and inputs."""
    inputs = [
        nusax / "mt" / "train.csv",
        nusax / "sentiment" / "english" / "train.csv",
        nusax / "sentiment" / "indonesian" / "train.csv",
    ]
    settings = {k: v for k, v in asdict(recipe).items() if k in BASE_SETTINGS}
    key = json.dumps([__version__, settings, seed, files_digest(inputs)], sort_keys=True)
    return cache_dir() / "demo" / f"base-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def base_model(nusax: Path, recipe: DemoRecipe, seed: int, console: Console) -> tuple[Path, Path]:
    """The cached base model folder and its L1-only instruction data (the replay source)."""
    folder = base_folder(nusax, recipe, seed)
    model, data = folder / "model", folder / "data"
    if (model / "config.json").is_file():
        console.print(f"base model (seed {seed}): cached in {folder}")
        return model, data
    console.rule(f"base model, seed {seed}: L1-only instruction tuning (cached in {folder})")
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    senti = work / "sentiment.jsonl"
    senti.write_text("".join(dumps(r) + "\n" for r in sentiment_examples(nusax, seed)), "utf-8")
    base_mix(nusax, senti, seed, work / "data")
    texts = [t for row in read_bitext(str(nusax), "train") for t in row.texts.values()]
    init_model(standin_tokenizer(texts, recipe), recipe, seed, work / "init")
    stages = [
        ("stage1", work / "init", recipe.base_full_steps, recipe.base_full_lr, True),
        ("stage2", work / "stage1" / "final", recipe.base_target_steps, recipe.base_target_lr, False),
    ]
    for name, start, steps, lr, on_prompt in stages:
        train(stage_config(recipe, str(start), work / "data", work / name, steps, lr, seed, on_prompt))
    (work / "stage2" / "final").rename(work / "model")
    for tmp in ("init", "stage1", "stage2"):
        shutil.rmtree(work / tmp)
    if folder.exists():
        shutil.rmtree(folder)
    work.rename(folder)
    return model, data
