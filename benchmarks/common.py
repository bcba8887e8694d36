"""Shared set-up of the benchmarks: NusaX, the demo's tokenizer and a small decoder built from a config."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from instructalign.config import Recipe
from instructalign.data.bitext import read_bitext
from instructalign.standin import init_model, standin_tokenizer

REPO = Path(__file__).resolve().parents[1]


def nusax_path(arg: str | None) -> Path:
    path = Path(arg or os.environ.get("INSTRUCTALIGN_NUSAX") or REPO.parent / "shared" / "data" / "nusax")
    if not (path / "mt" / "train.csv").is_file():
        raise SystemExit(f"NusaX not found at {path}; pass --data")
    return path


def tiny_model(nusax: Path, folder: Path, seed: int = 0, **shape) -> str:
    """The demo's stand-in architecture (GPT-2 style, d=192, 3 layers, BPE 4k; `shape` overrides the
    recipe's d_model, n_layer, n_head), freshly initialised."""
    if not (folder / "config.json").is_file():
        recipe = replace(Recipe(), **shape)
        texts = [t for row in read_bitext(str(nusax), "train") for t in row.texts.values()]
        init_model(standin_tokenizer(texts, recipe), recipe, seed, folder)
    return str(folder)
