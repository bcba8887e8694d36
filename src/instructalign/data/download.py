"""`instructalign data download nusax|sib200`: fetch a public dataset's files from its repository, as the
loaders read them (NusaX: CC BY-SA 4.0; SIB-200: Apache 2.0, FLORES-200 sentences under CC BY-SA 4.0)."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import check_writable
from ..outputs import check_path, output_lock, recover, replaced_folder

NUSAX_RAW = "https://raw.githubusercontent.com/IndoNLP/nusax/main/datasets"
# the commit the project's SIB-200 copy came from (its SOURCE.md), so a download reads the same files
SIB200_COMMIT = "593cea88519930f776c1a4a1980b6a35b39dca57"
SIB200_RAW = f"https://raw.githubusercontent.com/dadelani/sib-200/{SIB200_COMMIT}/data/annotated"
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


# the folders of the 24 languages the sib200 task evaluates (its `data.dirs`; a test keeps the two equal)
SIB200_FOLDERS = [
    "eng_Latn",
    "ind_Latn",
    "jav_Latn",
    "sun_Latn",
    "min_Latn",
    "bjn_Latn",
    "ban_Latn",
    "ace_Latn",
    "bug_Latn",
    "zsm_Latn",
    "tgl_Latn",
    "ceb_Latn",
    "ilo_Latn",
    "war_Latn",
    "pag_Latn",
    "plt_Latn",
    "mri_Latn",
    "smo_Latn",
    "fij_Latn",
    "fra_Latn",
    "deu_Latn",
    "swh_Latn",
    "yor_Latn",
    "vie_Latn",
]


def sib200_files() -> list[str]:
    """train/dev/test of the languages the sib200 task evaluates (`<lang>_<Script>/<split>.tsv`)."""
    return [f"{folder}/{s}.tsv" for folder in SIB200_FOLDERS for s in ("train", "dev", "test")]


@dataclass(frozen=True)
class Source:
    """A dataset's files under a base URL, the file whose presence says a folder already holds it, and the
    provenance written beside them."""

    name: str
    base_url: str
    files: Callable[[], list[str]]
    marker: str
    provenance: str
    flag: str  # how the commands are given a copy the user already has


SOURCES = {
    "nusax": Source(
        "NusaX", NUSAX_RAW, nusax_files, "mt/train.csv", "NusaX, CC BY-SA 4.0, Winata et al. 2023", "--data"
    ),
    "sib200": Source(
        "SIB-200",
        SIB200_RAW,
        sib200_files,
        "eng_Latn/train.tsv",
        "SIB-200, Apache 2.0, Adelani et al. 2024; FLORES-200 sentences, CC BY-SA 4.0",
        "--sib200",
    ),
}


def download(dataset: str, target: Path, base_url: str | None = None) -> Path:
    """Download every file of `dataset` into `target` (written to a temporary folder, renamed when complete);
    a folder that holds it already is left as it is."""
    source = SOURCES[dataset]
    if (target / source.marker).is_file():
        return target
    check_path(target, "--to")
    check_writable(target, "--to")
    with output_lock(target):
        recover(target.absolute())
        if (target / source.marker).is_file():
            return target
        if target.is_dir() and any(target.iterdir()):
            raise UserError(f"{target}: exists and is not a {source.name} download; choose another --to")
        fetch(source, target, base_url or source.base_url)
    return target


def fetch(source: Source, target: Path, base_url: str) -> None:
    with replaced_folder(target) as tmp:
        for rel in source.files():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with urllib.request.urlopen(f"{base_url}/{rel}", timeout=60) as resp, open(dest, "wb") as f:
                    shutil.copyfileobj(resp, f)
            except OSError as exc:
                raise UserError(
                    f"could not download {source.name} file {rel} ({exc}); check the network, or pass a copy "
                    f"you have with {source.flag} PATH"
                ) from None
        (tmp / "SOURCE.md").write_text(f"Downloaded from {base_url} ({source.provenance}).\n", "utf-8")
