"""`Study`: an experiment declared in one place — its runs, what else it evaluates, and what it concludes.

The demo and every study are a `Study`; `loop.run_experiment` turns one into trained, evaluated and reported
runs for each seed. A new study is one file that declares a `Study` and one line in `study.STUDIES`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import Recipe, StudyConfig
from .design import Design


def runs_folder(cfg: StudyConfig, name: str) -> Path:
    """A folder under the study's runs (--runs, default OUTPUT/runs): a seed's runs, a sweep's logs."""
    return Path(cfg.runs or Path(cfg.output) / "runs") / name


@dataclass(frozen=True)
class ExtraEval:
    """Tasks a study evaluates every model on besides NusaX sentiment, in one evaluation per model."""

    tasks: tuple[str, ...]  # each writes <folder>/<task>/results.json
    folder: Callable[[Path], Path]  # a model's NusaX eval folder -> the folder of these tasks' results
    run: Callable  # run(model, prepared, recipe, split, folder): module-level, so workers get it by reference
    prompts: Callable[[Recipe], int]  # prompts per model (for the time estimate)


@dataclass(frozen=True)
class Study:
    name: str
    title: str  # the report's title
    designs: Callable[[Recipe], list[Design]]  # the continual runs (the base is evaluated besides)
    findings: Callable[[Experiment, Results], dict]  # writes the study's outputs; returns its summary record
    question: str = ""  # what it asks, in one line (`study --help`, README's list)
    command: str = "study"  # the command whose output folder this is
    similarity: bool = False  # the report's language-similarity section (NusaX parallel text)
    prepare: Callable[[Experiment], Any] | None = None  # reads and checks more data before any training
    extra_eval: ExtraEval | None = None
    variants: Callable[[Experiment], dict[str, Recipe]] | None = None  # several recipes (e.g. sizes)
    # choose the variants' recipes first: (chosen recipes, what the sweep measured, kept in Experiment.swept)
    sweep: Callable[[Experiment, dict[str, Recipe]], tuple[dict[str, Recipe], Any]] | None = None
    announce: Callable[[Experiment, dict[str, Recipe]], str] | None = None  # the plan line, if not the usual
    user_model: bool = True  # whether it runs on --base-model instead of the stand-in


@dataclass
class Experiment:
    """A study being run: its settings, inputs, what `prepare` read, and the time each part took."""

    study: Study
    cfg: StudyConfig
    recipe: Recipe
    nusax: Path
    console: Console
    prepared: Any = None
    swept: Any = None  # what the study's sweep measured
    timings: dict[str, float] = field(default_factory=dict)
    job_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    start: float = field(default_factory=time.perf_counter)

    @property
    def output(self) -> Path:
        return Path(self.cfg.output)

    def seconds(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class Results:
    """Every variant's report and eval folders: {variant: report}, {variant: {run name: [folder per seed]}}.
    A study without variants has one, named ""."""

    reports: dict[str, dict]
    eval_dirs: dict[str, dict[str, list[str]]]
    names: list[tuple[str, Design, float | None]]  # every evaluated run but the base
    recipes: dict[str, Recipe]  # each variant's recipe (after the sweep, if the study has one)
