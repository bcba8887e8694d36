"""The paper's studies (objective ablation, replay amount) as one command on the demo's stand-in."""

from .run import run_study

__all__ = ["run_study"]
