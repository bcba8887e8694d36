"""`instructalign data download nusax`: fetch NusaX's CSVs from its public repository (CC BY-SA 4.0)."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from ..errors import UserError
from ..files import check_writable
from ..outputs import output_lock, recover, replaced_folder

NUSAX_RAW = "https://raw.githubusercontent.com/IndoNLP/nusax/main/datasets"
NUSAX_LANGS = [
    "acehnese",
    "balinese",
    "banjarese",
    "buginese",
    "english",
    "indonesian",
    "javanese",
    "madurese",
    "minangkabau",
    "ngaju",
    "sundanese",
    "toba_batak",
]
SPLITS = ["train", "valid", "test"]


def nusax_files() -> list[str]:
    return [f"mt/{s}.csv" for s in SPLITS] + [
        f"sentiment/{lang}/{s}.csv" for lang in NUSAX_LANGS for s in SPLITS
    ]


def download_nusax(target: Path, base_url: str = NUSAX_RAW) -> Path:
    """Download every NusaX CSV into `target` (written to a temporary folder, renamed when complete)."""
    if (target / "mt" / "train.csv").is_file():
        return target
    check_writable(target, "--to")
    with output_lock(target):
        recover(target.absolute())
        if (target / "mt" / "train.csv").is_file():
            return target
        if target.is_dir() and any(target.iterdir()):
            raise UserError(f"{target}: exists and is not a NusaX download; choose another --to")
        fetch_nusax(target, base_url)
    return target


def fetch_nusax(target: Path, base_url: str) -> None:
    with replaced_folder(target) as tmp:
        for rel in nusax_files():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with urllib.request.urlopen(f"{base_url}/{rel}", timeout=60) as resp, open(dest, "wb") as f:
                    shutil.copyfileobj(resp, f)
            except OSError as exc:
                raise UserError(
                    f"could not download NusaX file {rel} ({exc}); check the network or pass --data PATH"
                ) from None
        (tmp / "SOURCE.md").write_text(
            f"Downloaded from {base_url} (NusaX, CC BY-SA 4.0, Winata et al. 2023).\n", "utf-8"
        )
