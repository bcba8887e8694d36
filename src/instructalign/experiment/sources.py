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
        "NusaX not found: pass --data PATH, set INSTRUCTALIGN_NUSAX, or run 'instructalign data download "
        "nusax'"
    )


def align_source(cfg: StudyConfig, nusax: Path) -> tuple[str, str]:
    """The alignment bitext and its split: NusaX mt/train, or SIB-200 train+dev (its test split and NusaX's
    test sentences never enter: the split excludes the one, the other is a different corpus)."""
    if cfg.align_data == "nusax":
        return str(nusax), "train"
    return str(sib200_folder(cfg, nusax)), "train+dev"


def sib200_folder(cfg: StudyConfig, nusax: Path) -> Path:
    """--sib200, else $INSTRUCTALIGN_SIB200, else 'sib200' beside the NusaX folder, else the cache's (where
    'instructalign data download sib200' puts it)."""
    named = cfg.sib200 or os.environ.get("INSTRUCTALIGN_SIB200")
    if named:
        if not is_sib200_folder(Path(named)):
            raise UserError(
                f"{named}: not a SIB-200 folder (<lang>_<Script>/train.tsv); check --sib200 or "
                "$INSTRUCTALIGN_SIB200"
            )
        return Path(named)
    for where in (nusax.parent / "sib200", cache_dir() / "sib200"):
        if is_sib200_folder(where):
            return where
    raise UserError(
        f"SIB-200 not found ({nusax.parent / 'sib200'} or {cache_dir() / 'sib200'}): pass --sib200 PATH, set "
        "INSTRUCTALIGN_SIB200, or run 'instructalign data download sib200'"
    )


def nusawrites_folder(cfg: StudyConfig, nusax: Path) -> Path:
    """--nusawrites, else $INSTRUCTALIGN_NUSAWRITES, else 'nusawrites' beside the NusaX folder."""
    where = chosen_folder(cfg.nusawrites, "INSTRUCTALIGN_NUSAWRITES", nusax.parent / "nusawrites")
    if not any(where.glob("nusa_kalimat-senti-*-test.csv")):
        raise UserError(
            f"{where}: not a NusaWrites folder (nusa_kalimat-senti-<lang>-test.csv); pass --nusawrites PATH"
        )
    return where


def chosen_folder(flag: str | None, variable: str, beside: Path) -> Path:
    """The folder the user named (the flag, else the environment variable), else the default beside NusaX: a
    named folder that is wrong is an error, never silently replaced by the default."""
    return Path(flag or os.environ.get(variable) or beside)
