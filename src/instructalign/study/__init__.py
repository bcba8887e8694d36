"""The paper's studies, each one file declaring a `Study` and registered here: `instructalign study NAME`.

To add one: write study/NAME.py with `STUDY = Study(name, title, designs, findings)` (see objectives.py),
and add it to STUDIES below; the CLI's choices and the config's check come from this dict.
"""

from __future__ import annotations

from ..config import Recipe, StudyConfig
from ..errors import UserError
from ..experiment.study import Study
from . import guard, interpolate, objectives, replay, replay_source, scale, transfer, vocab

STUDIES: dict[str, Study] = {
    s.STUDY.name: s.STUDY
    for s in (objectives, replay, interpolate, transfer, scale, guard, vocab, replay_source)
}


def run_study(cfg: StudyConfig, recipe: Recipe, console=None) -> dict:
    """One registered study, run through the experiment loop."""
    from ..experiment.loop import run_experiment

    if cfg.study not in STUDIES:
        raise UserError(f"unknown study '{cfg.study}'; choose one of {', '.join(STUDIES)}")
    return run_experiment(STUDIES[cfg.study], cfg, recipe, console)


__all__ = ["STUDIES", "run_study"]
