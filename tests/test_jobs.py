"""The demo's worker pool: dependencies respected, a worker's error reaches the user, output goes to logs."""

import os
import re
import time
from pathlib import Path

import pytest
from rich.console import Console

from instructalign.errors import UserError
from instructalign.experiment.jobs import Job, run_jobs


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


def count(steps: int, pause: float) -> None:
    """A worker job with a tqdm bar, as train and eval have."""
    from tqdm import tqdm

    for _ in tqdm(range(steps), desc="train", mininterval=0):
        time.sleep(pause)


def test_the_live_view_updates_while_two_workers_train(tmp_path):
    from rich.console import Console as RichConsole

    snapshots = []

    def keep(table) -> None:
        console = RichConsole(record=True, width=120, file=open(os.devnull, "w"))
        console.print(table)
        snapshots.append(console.export_text())

    jobs = [
        Job("train a", count, (12, 0.25)),
        Job("train b", count, (12, 0.25)),
        Job("eval a", count, (2, 0.0), after="train a"),
    ]
    run_jobs(jobs, 2, tmp_path / "logs", Console(quiet=True), refresh=0.3, on_refresh=keep)
    both = [s for s in snapshots if s.count("running") == 2]
    steps = [tuple(int(x) for x in re.findall(r"train [ab]\s*│\s*running\s*│\s*(\d+)/12", s)) for s in both]
    steps = [s for s in steps if len(s) == 2]
    assert len(steps) >= 3, snapshots  # refreshed several times while both trained side by side
    assert steps[-1][0] > steps[0][0] and steps[-1][1] > steps[0][1]  # and each one's step moved on
    assert "3/3 jobs done" in snapshots[-1] and "waiting" in snapshots[0]


def test_trainings_that_evaluations_wait_for_start_first_the_heaviest_first():
    from instructalign.experiment.jobs import next_jobs

    jobs = [
        Job("eval base", print, ()),
        Job("train control", print, (), weight=1.0),
        Job("eval control", print, (), after="train control"),
        Job("train aligned", print, (), weight=1.5),
        Job("eval aligned", print, (), after="train aligned"),
        Job("train no-replay", print, (), weight=2.0),
        Job("eval no-replay", print, (), after="train no-replay"),
    ]
    first = next_jobs(jobs, set(), 2)
    assert [j.name for j in first] == ["train no-replay", "train aligned"]
    rest = [j for j in jobs if j not in first]
    assert [j.name for j in next_jobs(rest, set(), 1)] == ["train control"]
    later = [j for j in rest if j.name != "train control"]
    # with the control trained, its evaluation and the base's are ready; nothing waits on either: list order
    assert [j.name for j in next_jobs(later, {"train control"}, 5)] == ["eval base", "eval control"]
