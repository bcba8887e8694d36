"""The demo's worker pool: dependencies respected, a worker's error reaches the user, output goes to logs."""

import time
from pathlib import Path

import pytest
from rich.console import Console

from instructalign.demo.jobs import Job, run_jobs
from instructalign.errors import UserError


def stamp(path: str, seconds: float) -> None:
    start = time.time()
    time.sleep(seconds)
    print("working")
    Path(path).write_text(f"{start} {time.time()}")


def fail(message: str) -> None:
    raise UserError(message)


def times(path: Path) -> tuple[float, float]:
    start, end = path.read_text().split()
    return float(start), float(end)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_starts_only_after_the_job_it_waits_for(tmp_path, workers):
    jobs = [
        Job("train a", stamp, (str(tmp_path / "a"), 0.5)),
        Job("train b", stamp, (str(tmp_path / "b"), 0.1)),
        Job("eval a", stamp, (str(tmp_path / "ea"), 0.0), after="train a"),
    ]
    seconds = run_jobs(jobs, workers, tmp_path / "logs", Console(quiet=True))
    assert set(seconds) == {"train a", "train b", "eval a"}
    assert times(tmp_path / "ea")[0] >= times(tmp_path / "a")[1]
    if workers == 2:  # the two trainings ran side by side, and their output went to the logs
        assert times(tmp_path / "b")[0] < times(tmp_path / "a")[1]
        assert (tmp_path / "logs" / "train-a.log").read_text() == "working\n"


def test_a_workers_error_reaches_the_user_with_its_message(tmp_path):
    jobs = [Job("train a", fail, ("data.jsonl: line 3 is not JSON",))]
    with pytest.raises(UserError, match="line 3 is not JSON"):
        run_jobs(jobs, 2, tmp_path / "logs", Console(quiet=True))
