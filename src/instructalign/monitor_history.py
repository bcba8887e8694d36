"""The history `train --monitor` writes (OUT/monitor.csv: step, task, language, group, weighted F1, seconds),
read back by `report` for every run whose training folder holds one (`report.plots.run_curves` draws it). No
torch here."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .files import write_atomically

COLUMNS = ("step", "task", "language", "group", "weighted_f1", "seconds")


def group_scores(history: list[dict]) -> dict[int, dict[str, float]]:
    """step -> group -> mean weighted F1 over the probe's tasks."""
    sums: dict[int, dict[str, list[float]]] = {}
    for r in history:
        if not r["language"] and r["group"]:
            sums.setdefault(r["step"], {}).setdefault(r["group"], []).append(r["weighted_f1"])
    return {s: {g: sum(v) / len(v) for g, v in groups.items()} for s, groups in sums.items()}


def run_histories(models: list) -> list[list[dict]]:
    """The monitor histories of the trainings that wrote these models (a `train` output's final/ or best/),
    for those that have one."""
    out = []
    for model in models:
        folder = Path(model) if isinstance(model, str) else None
        if (
            folder is not None
            and folder.name in ("final", "best")
            and (history := read_history(folder.parent))
        ):
            out.append(history)
    return out


def read_history(out: Path) -> list[dict]:
    path = out / "monitor.csv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [
            {
                "step": int(r["step"]),
                "task": r["task"],
                "language": r["language"],
                "group": r["group"],
                "weighted_f1": float(r["weighted_f1"]),
                "seconds": float(r["seconds"]),
            }
            for r in csv.DictReader(f)
        ]


def write_history(out: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomically(out / "monitor.csv", buffer.getvalue())
