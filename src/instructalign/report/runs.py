"""Read eval outputs into runs: a name and one results.json (with predictions) per seed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..evaluate.metrics import cannot_do
from ..files import json_lines, read_json, sha256_file


@dataclass
class Run:
    name: str
    folders: list[Path]
    results: list[dict]

    @property
    def seeds(self) -> int:
        return len(self.results)

    def per_language(self, task: str) -> dict[str, list[float]]:
        """Weighted F1 (mean over templates) per language, one value per seed."""
        langs = self.results[0]["tasks"][task]
        return {
            lang: [r["tasks"][task][lang]["weighted_f1"] for r in self.results if lang in r["tasks"][task]]
            for lang in langs
        }

    def cannot_do(self, task: str, langs: list[str]) -> str | None:
        """Why this run cannot do the task on these languages (None when it can, or when its results predate
        the check): its answers pooled over languages, templates and seeds."""
        predicted: Counter = Counter()
        scores, floors = [], []
        for r in self.results:
            for lang in langs:
                m = r["tasks"][task].get(lang) or {}
                predicted.update(m.get("predicted", {}))
                if "majority_f1" in m:
                    scores.append(m["weighted_f1"])
                    floors.append(m["majority_f1"])
        if not predicted and not floors:
            return None
        floor = sum(floors) / len(floors) if floors else None
        return cannot_do(dict(predicted), sum(scores) / len(scores) if scores else 1.0, floor)

    def per_template(self, task: str) -> dict[str, dict[str, list[float]]]:
        out: dict[str, dict[str, list[float]]] = {}
        for r in self.results:
            for lang, m in r["tasks"][task].items():
                for tid, t in m.get("templates", {}).items():
                    out.setdefault(lang, {}).setdefault(tid, []).append(t["weighted_f1"])
        return out


def task_folders(folder: Path) -> dict[str, Path]:
    """The task subfolders of an eval output that scored several tasks (OUTPUT/<task>/results.json)."""
    if not folder.is_dir() or (folder / "results.json").is_file():
        return {}
    return {p.parent.name: p.parent for p in sorted(folder.glob("*/results.json"))}


def find_results(folder: Path, task: str | None = None) -> Path:
    """results.json in the folder, the one of `task` in a several-task eval output, or the single one below it
    (a train output holding an eval)."""
    if (folder / "results.json").is_file():
        return folder / "results.json"
    tasks = task_folders(folder)
    if task and Path(task).stem in tasks:
        return tasks[Path(task).stem] / "results.json"
    found = sorted(folder.rglob("results.json")) if folder.is_dir() else []
    if len(found) == 1:
        return found[0]
    if len(tasks) > 1 and len(tasks) == len(found):
        raise UserError(
            f"{folder}: holds the results of several tasks ({', '.join(tasks)}); pick one with --task, or "
            "leave --task out for one report per task"
        )
    if not folder.exists():
        raise UserError(f"{folder}: no such folder; check --run")
    if not found:
        raise UserError(f"{folder}: no results.json here; run 'instructalign eval --output {folder}' first")
    raise UserError(
        f"{folder}: holds several results.json ({', '.join(str(p) for p in found[:3])}); name one folder"
    )


def load_results(path: Path) -> dict:
    doc = read_json(path, what="eval result", hint="rerun instructalign eval")
    if not isinstance(doc, dict) or not isinstance(doc.get("tasks"), dict):
        raise UserError(f"{path}: not an instructalign eval result (no 'tasks')")
    for task, langs in doc["tasks"].items():
        for lang, m in (langs or {}).items():
            if doc.get("kind", "classification") == "classification" and "weighted_f1" not in (m or {}):
                raise UserError(
                    f"{path}: task {task}, language {lang} has no weighted_f1; rerun instructalign eval"
                )
    doc["_path"] = str(path)
    return doc


def parse_run(spec: str, task: str | None = None) -> Run:
    name, sep, folders = spec.partition("=")
    if not sep or not name.strip() or not folders.strip():
        raise UserError(f"--run '{spec}': write it as NAME=DIR or NAME=DIR1,DIR2,DIR3 (one folder per seed)")
    paths = [Path(f.strip()) for f in folders.split(",") if f.strip()]
    return Run(name.strip(), paths, [load_results(find_results(p, task)) for p in paths])


def run_tasks(specs: list[str]) -> list[str]:
    """The tasks every run's first folder holds as a several-task eval output (empty for one-task folders)."""
    folders = [Path(spec.partition("=")[2].split(",")[0].strip()) for spec in specs]
    common = [set(task_folders(f)) for f in folders]
    return sorted(set.intersection(*common)) if common and all(common) else []


def load_predictions(result: dict, task: str) -> list[dict] | None:
    path = Path(result["_path"]).with_name("predictions.jsonl")
    if not path.is_file():
        return None
    expected = result.get("predictions_sha256")
    if expected and sha256_file(path) != expected:
        raise UserError(
            f"{path}: does not belong to {result['_path']} (written by another or an interrupted eval); "
            "rerun instructalign eval"
        )
    return [obj for _, obj in json_lines(path) if "gold" in obj]


def comparisons(runs: list[Run], references: list[Run]) -> list[tuple[Run, Run]]:
    """(run, reference) pairs: every run against the baseline, and the others against the control."""
    baseline = references[0]
    return [
        (run, ref)
        for ref in references
        for run in runs
        if run is not ref and not (ref is not baseline and run is baseline)
    ]
