"""A seed's independent trainings and evaluations, spread over worker processes.

Each continual run starts from the same base and each evaluation needs only its own model, so they can run
side by side. On this project's 2-core machine two single-thread processes do ~1.25x the work of one
two-thread process (small matrices leave the second thread idle part of the time; see
`benchmarks/README.md`). A worker's progress bars and logs go to `logs/<job>.log`; the parent prints each
job as it finishes. `jobs=1` runs everything here, in order, with the usual progress bars.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console


@dataclass
class Job:
    name: str
    fn: Callable  # a module-level function (workers receive it by reference)
    args: tuple
    after: str | None = None  # the job whose completion this one waits for
    seconds: float = 0.0


def worker_threads(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def die_with_parent() -> None:
    """Linux: stop this worker when the demo process dies (a killed demo leaves no training behind)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_logged(fn: Callable, args: tuple, log: str, threads: int) -> float:
    """Run `fn(*args)` in a worker with `threads` torch threads, its output going to `log`; seconds taken."""
    import torch

    from ..process import tune_process

    die_with_parent()
    tune_process()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f, contextlib.redirect_stderr(f), contextlib.redirect_stdout(f):
        fn(*args)
    return time.perf_counter() - start


def run_jobs(jobs: list[Job], n_workers: int, logs: Path, console: Console) -> dict[str, float]:
    """Run the jobs, each after the one it names, on `n_workers` processes; seconds per job."""
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
    with ProcessPoolExecutor(n_workers, mp_context=context) as pool:
        while pending or running:
            for job in [j for j in pending if j.after is None or j.after in done]:
                pending.remove(job)
                log = str(logs / f"{job.name.replace(' ', '-').replace('+', '_')}.log")
                running[pool.submit(run_logged, job.fn, job.args, log, threads)] = job
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                job.seconds = future.result()  # a worker's error is raised here, with its message
                done.add(job.name)
                console.print(f"  done: {job.name} ({job.seconds / 60:.1f} min)")
    return {job.name: job.seconds for job in jobs}
