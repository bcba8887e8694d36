"""`instructalign demo`: the offline end-to-end experiment, one more `Study` (its three continual runs, each
model evaluated on NusaX sentiment and on SIB-200 topics)."""

from __future__ import annotations

from dataclasses import asdict

from ..config import DemoConfig, Recipe, StudyConfig
from ..experiment.design import NO_REPLAY_RUN, REPLAY_ONLY, Design, aligned_replay
from ..experiment.recipe import FULL, QUICK, preset
from ..experiment.study import Study
from .findings import demo_findings
from .topics import TOPICS, topic_inputs


def designs(recipe: Recipe) -> list[Design]:
    return [REPLAY_ONLY, aligned_replay(recipe.replay_share), NO_REPLAY_RUN]


DEMO = Study(
    name="demo",
    title="InstructAlign demo: teaching 7 Indonesian languages to a small model",
    designs=designs,
    findings=demo_findings,
    command="demo",
    similarity=True,
    prepare=topic_inputs,  # SIB-200 topics: a second task, learned by the base in L1 only
    extra_eval=TOPICS,
)


def run_demo(cfg: DemoConfig, recipe: Recipe, console=None) -> dict:
    from ..experiment.loop import run_experiment

    return run_experiment(DEMO, StudyConfig(**asdict(cfg), study="demo"), recipe, console)


__all__ = ["DEMO", "FULL", "QUICK", "preset", "run_demo"]
