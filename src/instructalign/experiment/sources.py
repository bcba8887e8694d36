"""Where an experiment's data comes from: NusaX (the evaluation and the base's L1 data), the alignment bitext,
and the other tasks' folders, each found from its flag, an environment variable, or beside NusaX."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import StudyConfig
from ..data.bitext import is_sib200_folder
from ..errors import UserError
from ..files import cache_dir


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


def align_source(cfg: StudyConfig, nusax: Path) -> tuple[str, str]:
    """The alignment bitext and its split: NusaX mt/train, or SIB-200 train+dev (its test split and NusaX's
    test sentences never enter: the split excludes the one, the other is a different corpus)."""
    if cfg.align_data == "nusax":
        return str(nusax), "train"
    return str(sib200_folder(cfg, nusax)), "train+dev"


def sib200_folder(cfg: StudyConfig, nusax: Path) -> Path:
    """--sib200, else $INSTRUCTALIGN_SIB200, else 'sib200' beside the NusaX folder."""
    for candidate in (cfg.sib200, os.environ.get("INSTRUCTALIGN_SIB200"), str(nusax.parent / "sib200")):
        if candidate and is_sib200_folder(Path(candidate)):
            return Path(candidate)
    where = cfg.sib200 or nusax.parent / "sib200"
    raise UserError(f"{where}: not a SIB-200 folder (<lang>_<Script>/train.tsv); pass --sib200 PATH")


def nusawrites_folder(cfg: StudyConfig, nusax: Path) -> Path:
    """--nusawrites, else $INSTRUCTALIGN_NUSAWRITES, else 'nusawrites' beside the NusaX folder."""
    for candidate in (
        cfg.nusawrites,
        os.environ.get("INSTRUCTALIGN_NUSAWRITES"),
        str(nusax.parent / "nusawrites"),
    ):
        if candidate and any(Path(candidate).glob("nusa_kalimat-senti-*-test.csv")):
            return Path(candidate)
    where = cfg.nusawrites or nusax.parent / "nusawrites"
    raise UserError(
        f"{where}: not a NusaWrites folder (nusa_kalimat-senti-<lang>-test.csv); pass --nusawrites PATH"
    )
