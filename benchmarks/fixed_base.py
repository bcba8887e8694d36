"""The demo's three continual runs on one fixed base for several seeds: how much of the L2 gain's spread is
the continual runs' own, with the base held fixed (as a user's BLOOMZ is), rather than the bases'.

    python benchmarks/fixed_base.py BASE_FOLDER OUTPUT [--seeds 3] [--data ../shared/data/nusax]

BASE_FOLDER: a cached stand-in base (`~/.cache/instructalign/demo/base-*`, holding `model/` and `data/`, its
instruction data, which the runs replay). The runs, evaluations and report are the demo's (the user-model
path of `run_experiment`); `benchmarks/seed_power.py OUTPUT` then reads the per-seed gains.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from instructalign.config import StudyConfig
from instructalign.demo import DEMO
from instructalign.experiment.loop import run_experiment
from instructalign.experiment.recipe import preset

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("output")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "nusax"))
    args = parser.parse_args()
    if (
        not (args.base / "model" / "config.json").is_file()
        or not (args.base / "data" / "train.jsonl").is_file()
    ):
        raise SystemExit(f"{args.base}: not a cached base (model/config.json and data/train.jsonl)")
    cfg = StudyConfig(
        study="demo",
        data=args.data,
        output=args.output,
        seeds=args.seeds,
        base_model=str(args.base / "model"),
        replay_data=str(args.base / "data"),
    )
    run_experiment(DEMO, cfg, preset(False, demo=True))


if __name__ == "__main__":
    main()
