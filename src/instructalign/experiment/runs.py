"""Run folders: each continual run lives in a folder named by a hash of what it trains, so that experiments
share a run that trains the same thing, and a rerun (or a resumed, interrupted one) reuses it.

A finished folder holds `run.json`: what trained it and the hash of the weights it left. A folder that holds
anything else is refused in one line, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from .. import __version__
from ..config import Recipe, StudyConfig
from ..errors import UserError
from ..files import files_digest, read_json, write_json
from ..train import train
from ..train.run import is_complete
from ..vocab.extend import extend
from .design import Design

RECORD = "run.json"  # in a run folder: what trained it and the hash of the weights it left


def runs_root(cfg: StudyConfig, seed: int) -> Path:
    return Path(cfg.runs or Path(cfg.output) / "runs") / f"seed{seed}"


def run_settings(cfg: StudyConfig, recipe: Recipe, design: Design, seed: int) -> list:
    """What a run trains: the parts of its folder's name hash."""
    settings = asdict(recipe)
    if recipe.tokenizer_l2:  # hashed only when off, so that runs trained before the setting existed are found
        del settings["tokenizer_l2"]
    key_parts = [__version__, list(design.trained()), settings, seed, cfg.align_data]
    if cfg.base_model:  # the stand-in's runs keep their names; a user's model is part of the key
        key_parts += [cfg.base_model, cfg.replay_data]
    return key_parts


def run_folder(cfg: StudyConfig, recipe: Recipe, design: Design, seed: int) -> Path:
    """The run's folder, named by what it trains (not by the design's name, so that studies share runs)."""
    key = json.dumps(run_settings(cfg, recipe, design, seed), sort_keys=True)
    what = "+".join(design.objectives) or "replay"
    pools = "" if design.sampled_share is None else f"-s{design.sampled_share:g}"
    pools += "" if design.guard is None else f"-guard{design.guard:g}"
    pools += "" if design.vocab_init is None else f"-vocab{design.vocab_add}{design.vocab_init}"
    slug = f"{what}-r{design.replay_share:g}{pools}{'-lora' if design.lora else ''}"
    return runs_root(cfg, seed) / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


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


def extended_train_run(stage, folder: Path, record: dict, extension) -> None:
    """`train_run` from the base extended by `vocab extend` (written into the run folder first)."""
    if not (Path(extension.output) / "instructalign_vocab.json").is_file():
        extend(extension)
    train_run(stage, folder, record)


def is_trained(folder: Path, record: dict) -> bool:
    """Whether `folder` holds this run, trained; a folder holding anything else is refused in one line."""
    model = folder / "model"
    if not is_complete(model):
        return False
    found = read_json(folder / RECORD, default=None)
    if found is None:
        found = adopt_earlier_run(folder, record)
    if not isinstance(found, dict) or {k: found.get(k) for k in record} != record:
        raise UserError(
            f"{folder}: holds a model that this study did not train with these settings ({RECORD} missing or "
            "different); remove the folder (or choose another --runs) and rerun"
        )
    if found.get("weights") != weights_digest(model / "final"):
        raise UserError(
            f"{folder}: its weights changed since they were trained (the hash in {RECORD} differs); "
            "remove the folder and rerun"
        )
    return True


def adopt_earlier_run(folder: Path, record: dict) -> dict | None:
    """A run trained before run records existed is reused when its own train_config.json says it started
    from this base on this folder's data; its record is then written."""
    trained = read_json(folder / "model" / "train_config.json", default={})
    settings = trained.get("settings") if isinstance(trained, dict) else None
    if not isinstance(settings, dict):
        return None
    if settings.get("model") != record["base"] or settings.get("data") != str(folder / "data"):
        return None
    found = record | {"weights": weights_digest(folder / "model" / "final")}
    write_json(folder / RECORD, found)
    return found
