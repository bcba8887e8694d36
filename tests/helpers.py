"""Plain helpers the tests share (fixtures live in conftest.py): the repository, files written in one line,
a small parallel CSV, the CLI as a subprocess, a classification task's rows and a data build."""

import json
import os
import sys
from pathlib import Path

from instructalign.cli import main

REPO = Path(__file__).resolve().parents[1]

WIDE_CSV = (
    "id,indonesian,javanese,sundanese\n"
    "0,Saya suka makan nasi goreng di pagi hari.,Aku seneng mangan sega goreng ing wayah esuk.,"
    "Abdi resep tuang sangu goreng isuk-isuk.\n"
    "1,Hotel itu sangat bersih dan nyaman.,Hotel iku resik banget lan kepenak.,Hotel eta beresih pisan jeung "
    "merenah.\n"
    "2,Pelayanannya lambat sekali hari ini.,Pelayanane alon banget dina iki.,Palayananana lambat pisan poe "
    "ieu.\n"
    "3,Harga tiketnya murah dan terjangkau.,Regane tiket murah lan kejangkau.,Harga tiketna murah jeung "
    "kajangkau.\n"
)


def write(path: Path, text: str | bytes) -> Path:
    """Write a file (its folders made first); returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def cli(*args: str) -> list[str]:
    """The argv of `instructalign ARGS` run as its own process."""
    return [sys.executable, "-m", "instructalign.cli", *args]


def env() -> dict:
    """The environment of such a process: one thread, and the tests' helper modules importable."""
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "tests"))


def nli_rows(n: int = 6) -> str:
    """JSONL rows of a small NLI-like classification task (id, premise, hypothesis, label)."""
    rows = [
        {
            "id": i,
            "premise": f"Hotel itu bersih {i}.",
            "hypothesis": "Hotel itu kotor.",
            "label": "entailment" if i % 2 else "contradiction",
        }
        for i in range(n)
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


def build_data(folder: Path, *args: str) -> tuple[int, list[dict], Path]:
    """`instructalign data build ARGS --output FOLDER/out`: (exit code, rows written, output folder)."""
    out = folder / "out"
    rc = main(["data", "build", *args, "--output", str(out)])
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()] if rc == 0 else []
    return rc, rows, out
