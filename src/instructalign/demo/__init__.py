"""`instructalign demo`: the offline end-to-end experiment (recipe, stand-in base, runs, summary)."""

from .recipe import FULL, QUICK, preset
from .run import run_demo

__all__ = ["FULL", "QUICK", "preset", "run_demo"]
