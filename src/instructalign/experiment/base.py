"""The stand-in base model, cached: instruction-tuned on L1 only, as BLOOMZ was before alignment.

Its instruction data (English/Indonesian sentiment, en<->id MT, L1 denoising; with the recipe's `base_topics`
also English/Indonesian SIB-200 topic classification, a second task it knows in L1 only) is what later runs
replay, as xP3 is for BLOOMZ.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console

from .. import __version__
from ..config import BuildConfig, Recipe, TrainConfig
from ..data.bitext import read_bitext
from ..data.build import build, dumps
from ..data.prompts import render
from ..evaluate.spec import load_examples
from ..evaluate.tasks import load_task
from ..files import cache_dir, files_digest
from ..outputs import built_once
from ..standin import init_model, standin_tokenizer
from ..train import train
from .recipe import BASE_SETTINGS, L1, L2


def stage_config(
    recipe: Recipe,
    model: str,
    data: Path,
    out: Path,
    steps: int,
    lr: float,
    seed: int,
    loss_on_prompt=False,
) -> TrainConfig:
    """Every stage's optimiser: AdamW (wd 0.01, betas 0.9/0.98), clip 1.0, cosine with 5% warmup."""
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
        chat_template=recipe.chat_template,
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


def topic_examples(sib200: Path, seed: int, repeats: int = 1) -> list[dict]:
    """English and Indonesian SIB-200 topics (train split only) as instructions, with the sib200 task's
    templates; the whole list `repeats` times (the same prompts again: more epochs of the task than of the
    rest)."""
    task = load_task("sib200")
    train = replace(task, data=task.data | {"split": "train"})
    rng = random.Random(f"{seed}:topic")
    rows = []
    for lang in L1:
        for row in load_examples(train, str(sib200), lang):
            pl = rng.choice(sorted(task.templates))
            options = task.options(pl)
            rows.append(
                {
                    "prompt": render(rng.choice(task.templates[pl]), text=row["text"], options=options),
                    "target": task.verbalizers[pl][row[task.label_column]],
                    "objective": "topic",
                    "src_lang": lang,
                    "tgt_lang": lang,
                    "prompt_lang": pl,
                    "source": "replay",
                }
            )
    return rows * repeats


def base_mix(nusax: Path, sentiment: Path, seed: int, output: Path) -> None:
    """The base model's L1-only instruction data: en<->id MT, L1 denoising and every sentiment row once."""
    build(
        BuildConfig(
            bitext=[str(nusax)],
            split="train",
            pivots=["eng"],
            targets=["ind"],
            objectives=["mt", "mlm"],
            replay=str(sentiment),
            replay_count=sentiment.read_text("utf-8").count("\n"),
            seed=seed,
            output=str(output),
        )
    )


BASE_FORMAT = 2  # bump when the way a base is built changes (2: tokenizer fit on L1/L2 + instruction data)


def tokenizer_texts(nusax: Path, instructions: Path, with_l2: bool = True) -> list[str]:
    """What the stand-in's tokenizer is fit on: NusaX mt/train in the L1 and L2 languages (L1 only without
    `with_l2`) and the base's own L1 instruction data, so that no L3 (unseen) language and no test sentence
    shapes its vocabulary (and, as in BLOOMZ's vocabulary, the label words are whole tokens)."""
    known = set(L1) | (set(L2) if with_l2 else set())
    texts = [t for row in read_bitext(str(nusax), "train") for lang, t in row.texts.items() if lang in known]
    for line in (instructions / "train.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        texts.append(row["prompt"] + " " + row["target"])
    return texts


def base_folder(nusax: Path, recipe: Recipe, seed: int, sib200: Path | None = None) -> Path:
    """The cache folder of a base model: a hash of the version, the base's settings, seed, inputs and the
    templates of the tasks it learns."""
    inputs = [
        nusax / "mt" / "train.csv",
        nusax / "sentiment" / "english" / "train.csv",
        nusax / "sentiment" / "indonesian" / "train.csv",
    ]
    settings = {k: v for k, v in asdict(recipe).items() if k in BASE_SETTINGS}
    if not recipe.tokenizer_l2:  # keyed only when off, so that the bases cached before it stay found
        settings["tokenizer_l2"] = False
    templates = load_task("nusax_senti").fingerprint()  # the base learns sentiment with the task's templates
    if recipe.base_topics:  # keyed only when on (as tokenizer_l2): the repeats, topic files and templates
        settings["base_topics"] = recipe.base_topics
        task = load_task("sib200")
        inputs += [sib200 / task.data["dirs"][lang] / "train.tsv" for lang in L1]
        templates = [templates, task.fingerprint()]
    key = json.dumps(
        [BASE_FORMAT, __version__, settings, seed, files_digest(inputs), templates], sort_keys=True
    )
    # "demo": the folder of the first experiment that built bases; kept so that cached bases are reused
    return cache_dir() / "demo" / f"base-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def base_model(
    nusax: Path, recipe: Recipe, seed: int, console: Console, sib200: Path | None = None
) -> tuple[Path, Path]:
    """The cached base model folder and its L1-only instruction data (the replay source); `sib200`: the
    SIB-200 folder a base with `base_topics` learns from. Two experiments that need the same base at once take
    turns: the second waits and then finds it cached."""
    folder = base_folder(nusax, recipe, seed, sib200)

    def build(work: Path) -> None:
        console.rule(f"base model, seed {seed}: L1-only instruction tuning (cached in {folder})")
        build_base(work, nusax, recipe, seed, sib200)

    if built_once(folder, build, notice=console.print):
        console.print(f"base model (seed {seed}): cached in {folder}")
    return folder / "model", folder / "data"


def build_base(work: Path, nusax: Path, recipe: Recipe, seed: int, sib200: Path | None) -> None:
    """The base's instruction data (`work/data`), its tokenizer and weights (`work/model`), trained in two
    stages."""
    senti = work / "sentiment.jsonl"
    rows = sentiment_examples(nusax, seed)
    if recipe.base_topics:
        rows += topic_examples(sib200, seed, recipe.base_topics)
    senti.write_text("".join(dumps(r) + "\n" for r in rows), "utf-8")
    base_mix(nusax, senti, seed, work / "data")
    texts = tokenizer_texts(nusax, work / "data", recipe.tokenizer_l2)
    init_model(standin_tokenizer(texts, recipe), recipe, seed, work / "init")
    stages = [
        ("stage1", work / "init", recipe.base_full_steps, recipe.base_full_lr, True),
        ("stage2", work / "stage1" / "final", recipe.base_target_steps, recipe.base_target_lr, False),
    ]
    for name, start, steps, lr, on_prompt in stages:
        train(stage_config(recipe, str(start), work / "data", work / name, steps, lr, seed, on_prompt))
    shutil.copytree(work / "stage2" / "final", work / "model")
    for tmp in ("init", "stage1", "stage2"):
        shutil.rmtree(work / tmp)
