"""Run folders: each continual run lives in a folder named by a hash of what it trains, so that experiments
share a run that trains the same thing, and a rerun (or a resumed, interrupted one) reuses it.

A finished folder holds `run.json`: what trained it and the hash of the weights it left. A folder that holds
anything else is refused in one line, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

from .. import __version__
from ..config import Recipe, StudyConfig
from ..errors import UserError
from ..files import files_digest, read_json, write_json
from ..train import train
from ..train.folder import is_complete
from .design import Design, Preparation
from .study import runs_folder

RECORD = "run.json"  # in a run folder: what trained it and the hash of the weights it left


def runs_root(cfg: StudyConfig, seed: int) -> Path:
    return runs_folder(cfg, f"seed{seed}")


def run_settings(cfg: StudyConfig, recipe: Recipe, design: Design, seed: int) -> list:
    """What a run trains: the parts of its folder's name hash."""
    settings = asdict(recipe)
    if recipe.tokenizer_l2:  # hashed only when off, so that runs trained before the setting existed are found
        del settings["tokenizer_l2"]
    if recipe.chat_template == "auto":  # likewise: hashed only when set
        del settings["chat_template"]
    key_parts = [__version__, list(design.trained()), settings, seed, cfg.align_data]
    if cfg.base_model:  # the stand-in's runs keep their names; a user's model is part of the key
        key_parts += [cfg.base_model, cfg.replay_data]
    return key_parts


def run_folder(cfg: StudyConfig, recipe: Recipe, design: Design, seed: int) -> Path:
    """The run's folder, named by what it trains (not by the design's name, so that studies share runs)."""
    key = json.dumps(run_settings(cfg, recipe, design, seed), sort_keys=True)
    return runs_root(cfg, seed) / f"{design.slug()}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def run_record(cfg: StudyConfig, recipe: Recipe, design: Design, seed: int, base) -> dict:
    return json.loads(json.dumps({"settings": run_settings(cfg, recipe, design, seed), "base": str(base)}))


def weights_digest(model: Path) -> str:
    return files_digest(sorted(model.glob("*.safetensors")) + sorted(model.glob("*.bin")))


def train_run(stage, folder: Path, record: dict) -> None:
    """Train a run, then record what trained it and the weights it left (`is_trained` checks both); its
    checkpoints only served resumption and are removed."""
    train(stage)
    write_json(folder / RECORD, record | {"weights": weights_digest(folder / "model" / "final")})
    for checkpoint in (folder / "model").glob("checkpoint-*"):
        shutil.rmtree(checkpoint)


def prepared_train_run(stage, folder: Path, record: dict, prepare: Preparation, nusax: Path, cfg) -> None:
    """`train_run` from what the run's preparation step wrote into its folder."""
    model = prepare.make(stage.model, folder, nusax, cfg)
    train_run(replace(stage, model=str(model)), folder, record)


def is_trained(folder: Path, record: dict) -> bool:
    """Whether `folder` holds this run, trained; a folder holding anything else is refused in one line."""
    model = folder / "model"
    if not is_complete(model):
        return False
    found = read_json(folder / RECORD, default=None)
    if not isinstance(found, dict) or {k: found.get(k) for k in record} != record:
        raise UserError(
            f"{folder}: holds a model that this study did not train with these settings ({RECORD} missing or "
            "different); remove the folder (or choose another --runs) and rerun"
        )
    if found.get("weights") != weights_digest(model / "final"):
        raise UserError(
            f"{folder}: its weights changed since they were trained (the hash in {RECORD} differs); remove "
            "the folder and rerun"
        )
    return True
