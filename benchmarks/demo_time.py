"""One demo seed, stage by stage, with the 0.1 settings and today's, side by side in one run.

    python benchmarks/demo_time.py [--data ../shared/data/nusax] [--fraction 0.2]

Both run the real `instructalign demo` code on the same data from an empty cache (the base model is
trained). `--fraction` scales every step count and the evaluated sentences of both settings alike, so
fixed costs (process start, model loading, the report) weigh more in a scaled run than in a full one;
`--fraction 1` measures the full demo (about 25 minutes for both).

old (0.1):  base 1200+600 steps, runs 3 x 800 steps one after another, 4 evaluations of all 400 test
            sentences with bf16 weights, all in one process with 2 threads
new (0.2):  base 700+300 steps, runs 3 x 400 steps and 4 evaluations of the first 200 test sentences in
            fp32, spread over 2 single-thread worker processes
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from common import nusax_path

from instructalign.config import DemoConfig, Recipe
from instructalign.demo import run_demo

OLD = replace(
    Recipe(),
    base_full_steps=1200,
    base_full_lr=1e-3,
    base_target_steps=600,
    base_target_lr=5e-4,
    stage_steps=800,
    stage_lr=5e-4,
    eval_limit=400,
    eval_precision="bf16",
)
NEW = Recipe()


def scaled(recipe: Recipe, fraction: float) -> Recipe:
    steps = ("base_full_steps", "base_target_steps", "stage_steps", "eval_limit")
    return replace(recipe, **{k: max(1, round(getattr(recipe, k) * fraction)) for k in steps})


def measure(nusax: Path, recipe: Recipe, jobs: int, work: Path) -> dict[str, float]:
    os.environ["INSTRUCTALIGN_CACHE"] = str(work / "cache")
    cfg = DemoConfig(data=str(nusax), output=str(work / "out"), jobs=jobs)
    timings = run_demo(cfg, recipe)["timings_seconds"]
    return {
        "base model": timings["base seed 0"],
        "runs + evaluations": timings["runs and evals seed 0"],
        "report": timings["report"],
        "total": timings["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args()
    nusax = nusax_path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        old = measure(nusax, scaled(OLD, args.fraction), 1, Path(tmp) / "old")
        new = measure(nusax, scaled(NEW, args.fraction), 2, Path(tmp) / "new")
    print(f"\none demo seed at fraction {args.fraction:g} of the steps and sentences (minutes)")
    print(f"{'stage':<22}{'old':>8}{'new':>8}{'old/new':>9}")
    for stage in old:
        print(f"{stage:<22}{old[stage] / 60:>8.2f}{new[stage] / 60:>8.2f}{old[stage] / new[stage]:>8.2f}x")
    print(json.dumps({"fraction": args.fraction, "old_seconds": old, "new_seconds": new}))


if __name__ == "__main__":
    main()
