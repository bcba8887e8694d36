"""A seed's independent trainings and evaluations, spread over worker processes.

Each continual run starts from the same base and each evaluation needs only its own model, so they can run
side by side. On this project's 2-core machine two single-thread processes do ~1.25x the work of one
two-thread process (small matrices leave the second thread idle part of the time; see
`benchmarks/README.md`). A worker's progress bars and logs go to `logs/<job>.log`; the parent shows a live
table of every job (state, step of its progress bar, elapsed, remaining), read from those logs, and prints
each job as it finishes. `jobs=1` runs everything here, in order, with the usual progress bars.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..process import tune_process


@dataclass
class Job:
    name: str
    fn: Callable  # a module-level function (workers receive it by reference)
    args: tuple
    after: str | None = None  # the job whose completion this one waits for
    seconds: float = 0.0
    weight: float = 0.0  # its expected length, relative to the others: longer ones start first


def next_jobs(pending: list[Job], done: set[str], free: int) -> list[Job]:
    """The `free` jobs to start now among those ready: first the ones other jobs wait for (a training before
    the evaluations, which wait for trainings), then the heaviest, then in list order — so that the longest
    chain does not start last while a worker idles at the end."""
    waited = {j.after for j in pending}
    ready = [j for j in pending if j.after is None or j.after in done]
    return sorted(ready, key=lambda j: (j.name not in waited, -j.weight))[:free]


def worker_threads(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def die_with_parent() -> None:
    """Linux: stop this worker when the experiment process dies (a killed one leaves no training behind)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_logged(fn: Callable, args: tuple, log: str, threads: int) -> float:
    """Run `fn(*args)` in a worker with `threads` torch threads, its output going to `log`; seconds taken."""
    import torch

    die_with_parent()
    tune_process()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f, contextlib.redirect_stderr(f), contextlib.redirect_stdout(f):
        fn(*args)
    return time.perf_counter() - start


BAR = re.compile(r"(\d+)/(\d+) \[([\d:]+)<([\d:?]+)")  # a tqdm bar: step/total [elapsed<remaining


def log_progress(log: Path) -> tuple[int, int, str] | None:
    """(step, total, remaining) of the last progress bar a worker wrote to its log, read from the log's
    tail."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 8192))
            tail = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    bars = BAR.findall(tail)
    return (int(bars[-1][0]), int(bars[-1][1]), bars[-1][3]) if bars else None


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def progress_table(jobs: list[Job], state: dict[str, str], started: dict[str, float], logs: Path) -> Table:
    """One row per job: state, the step of its current bar, elapsed time and the bar's own estimate of the
    rest."""
    table = Table(
        title=f"{sum(s == 'done' for s in state.values())}/{len(jobs)} jobs done", title_justify="left"
    )
    for column in ("job", "state", "step", "elapsed", "remaining"):
        table.add_column(column, justify="left" if column in ("job", "state") else "right", no_wrap=True)
    for job in jobs:
        status, step, remaining = state[job.name], "", ""
        elapsed = (
            job.seconds
            if status == "done"
            else time.perf_counter() - started.get(job.name, time.perf_counter())
        )
        if status == "running" and (bar := log_progress(log_file(logs, job))):
            step, remaining = f"{bar[0]}/{bar[1]}", bar[2]
        colour = {"done": "green", "running": "yellow"}.get(status, "dim")
        table.add_row(
            job.name,
            f"[{colour}]{status}[/{colour}]",
            step,
            clock(elapsed) if status != "waiting" else "",
            remaining,
        )
    return table


def log_file(logs: Path, job: Job) -> Path:
    return logs / f"{job.name.replace(' ', '-').replace('+', '_')}.log"


def run_jobs(
    jobs: list[Job], n_workers: int, logs: Path, console: Console, refresh: float = 2.0, on_refresh=None
) -> dict[str, float]:
    """Run the jobs, each after the one it names, on `n_workers` processes; seconds per job. A live table
    shows every job's state and progress (read from the workers' logs every `refresh` seconds; `on_refresh`
    gets each table)."""
    if n_workers <= 1:
        for job in jobs:
            start = time.perf_counter()
            job.fn(*job.args)
            job.seconds = time.perf_counter() - start
        return {job.name: job.seconds for job in jobs}
    logs.mkdir(parents=True, exist_ok=True)
    threads = worker_threads(n_workers)
    done: set[str] = set()
    pending = list(jobs)
    running: dict[Future, Job] = {}
    context = multiprocessing.get_context("spawn")  # no forked torch thread pools
    console.print(f"{len(jobs)} jobs on {n_workers} processes x {threads} thread(s); logs in {logs}")
    state, started = {job.name: "waiting" for job in jobs}, {}

    def show() -> Table:
        table = progress_table(jobs, state, started, logs)
        if on_refresh:
            on_refresh(table)
        return table

    with (
        ProcessPoolExecutor(n_workers, mp_context=context) as pool,
        Live(show(), console=console, auto_refresh=False) as live,
    ):
        while pending or running:
            for job in next_jobs(pending, done, n_workers - len(running)):
                pending.remove(job)
                state[job.name], started[job.name] = "running", time.perf_counter()
                running[pool.submit(run_logged, job.fn, job.args, str(log_file(logs, job)), threads)] = job
            finished, _ = wait(running, timeout=refresh, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                job.seconds = future.result()  # a worker's error is raised here, with its message
                done.add(job.name)
                state[job.name] = "done"
                console.print(f"  done: {job.name} ({job.seconds / 60:.1f} min)")
            live.update(show(), refresh=True)
    return {job.name: job.seconds for job in jobs}


def prefixed(jobs: list[Job], prefix: str) -> list[Job]:
    """The same jobs under names unique across variants (e.g. model sizes and learning rates)."""
    if not prefix:
        return jobs
    return [replace(j, name=f"{prefix} {j.name}", after=j.after and f"{prefix} {j.after}") for j in jobs]
