"""A training's output folder: which run it holds (train_config.json: every setting and the data's hash), its
checkpoints (complete, and the newest one whose files match their sha256), and the cleaning after a failure,
so that a rerun with the same settings resumes, another run is refused, and a failed start leaves nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..config import TrainConfig, as_dict
from ..errors import UserError
from ..files import read_json, sha256_file
from ..outputs import check_overwrite, owner, removed
from .trainer import checkpoint_problem

RUN_FILE = "train_config.json"


def run_identity(cfg: TrainConfig, data_file: Path) -> dict:
    """What must match for a rerun to resume: every setting (logging aside) and the data's hash."""
    settings = {
        k: v
        for k, v in as_dict(cfg).items()
        if k not in ("output", "logging_steps", "save_total_limit", "overwrite", "report_to", "base_model_id")
    }
    return {"settings": settings, "data_sha256": sha256_file(data_file)}


def is_complete(out: Path) -> bool:
    """Whether `out` holds a finished run: its summary and a final model (full weights, or a LoRA adapter)."""
    final = any((out / "final" / name).is_file() for name in ("config.json", "adapter_config.json"))
    return final and (out / "train_summary.json").is_file()


def checkpoint_folders(out: Path) -> list[Path]:
    """checkpoint-N folders, oldest first."""
    return sorted(
        (p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )


def checkpoints(out: Path) -> list[Path]:
    """Checkpoints that look complete (marker, files, sizes), oldest first; contents are not hashed here."""
    return [p for p in checkpoint_folders(out) if checkpoint_problem(p, verify=False) is None]


def newest_checkpoint(out: Path) -> Path | None:
    """The newest checkpoint whose files all match the sha256 saved with them; each newer one that does not
    is named with why it is skipped, and the run resumes from an older one."""
    for folder in reversed(checkpoint_folders(out)):
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder
        print(f"{folder.name}: skipped, cannot resume from it ({problem})")
    return None


def foreign_content(out: Path, identity: dict) -> str | None:
    """Why `out` holds something this run must not write into (None: empty, or this run's own folder)."""
    if not out.is_dir() or not any(out.iterdir()):
        return None
    saved = out / RUN_FILE
    if not saved.is_file():
        if checkpoints(out):
            return "checkpoints of an unknown run"
        return "files that 'instructalign train' did not write"
    previous = read_json(saved, default=None)
    if not isinstance(previous, dict) or "settings" not in previous:
        return f"{RUN_FILE}: damaged, so this folder's run cannot be identified"
    if previous == identity:
        return None
    diff = [
        k
        for k in set(previous["settings"]) | set(identity["settings"])
        if previous["settings"].get(k) != identity["settings"].get(k)
    ]
    return (
        f"a run with different settings ({', '.join(sorted(diff))})"
        if diff
        else "a run with other data (train.jsonl changed)"
    )


def claim_run(out: Path, identity: dict, overwrite: bool = False) -> None:
    """Refuse a folder that holds something other than this run (unless `overwrite`: then it is removed,
    moved aside first so that a kill leaves either the old folder or none)."""
    problem = foreign_content(out, identity)
    if problem and not overwrite:
        raise UserError(
            f"{out}: holds {problem}; rerun with the same settings to resume, choose a new --output to start "
            "fresh, or pass --overwrite to replace the folder"
        )
    if problem:
        check_overwrite(out, ours=(out / RUN_FILE).is_file() or owner(out) is not None)
        removed(out)
        print(f"{out}: --overwrite: removed what it held ({problem})")


def clean_failed_start(out: Path, fresh: bool) -> None:
    """After a failure: no partial checkpoint or final model left as if complete, and when the run had saved
    nothing resumable yet (`fresh` and no complete checkpoint), nothing of it at all, so that a corrected
    rerun starts clean."""
    for folder in checkpoint_folders(out):
        if checkpoint_problem(folder, verify=False) is not None:
            shutil.rmtree(folder, ignore_errors=True)
    if fresh and not checkpoints(out) and out.is_dir():
        (out / RUN_FILE).unlink(missing_ok=True)
        shutil.rmtree(out / "tensorboard", ignore_errors=True)
        if not any(out.iterdir()):
            out.rmdir()
