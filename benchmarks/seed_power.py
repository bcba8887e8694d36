"""How many seeds a demo's L2 gain over the control needs: the spread between seeds against the spread from
test sentences, and the chance that a Student-t test over n seeds shows the gain.

    python benchmarks/seed_power.py OUTPUT   # a demo output folder (runs/seedN/...), two seeds or more

For each seed: aligned+replay − control on the L2 group (weighted F1 x100) and its standard error from a
paired bootstrap over test sentences (the report's own, `report/compare.py`). Then, taking the seeds' mean and
sd as the truth (a planning figure, not a test): the probability that the 95% Student-t interval over n seeds
lies above 0 (noncentral t), and how many of the subsets of 3 of these seeds give "shown".
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
from pathlib import Path

import numpy as np
from scipy import stats

from instructalign.experiment.recipe import L2
from instructalign.report.compare import Comparer
from instructalign.report.runs import parse_run
from instructalign.report.stats import t_interval

TASK = "nusax_senti"


def seed_folders(output: Path, pattern: str) -> list[Path]:
    found = [p for p in output.glob(f"runs/seed*/{pattern}/eval-test-*") if (p / "results.json").is_file()]
    found.sort(key=lambda p: int(p.parts[-3][4:]))  # NusaX's evaluations (the other tasks' are a level down)
    if len(found) < 2:
        raise SystemExit(
            f"{output}: needs a demo output with 2 seeds or more (runs/seedN/{pattern}/eval-test-*)"
        )
    return found


def per_seed(output: Path, resamples: int) -> list[tuple[float, float]]:
    """(L2 gain, its bootstrap standard error over test sentences) per seed."""
    pairs = zip(seed_folders(output, "mt+tlm+xss-r0.5-*"), seed_folders(output, "replay-r0-*"))
    out = []
    for aligned, control in pairs:
        run, ref = parse_run(f"aligned={aligned}"), parse_run(f"control={control}")
        comparer = Comparer(TASK, resamples, seed=0)
        gain = comparer.compare(run, ref, L2)["delta"]
        diffs, _, _ = comparer.sentence_bootstrap(run, ref, L2)
        out.append((100 * gain, 100 * float(np.std(diffs, ddof=1))))
    return out


def power(mean: float, sd: float, n: int, level: float = 0.95) -> float:
    """P(the Student-t interval over n seeds lies above 0) when the per-seed gain is N(mean, sd^2)."""
    critical = stats.t.ppf(0.5 + level / 2, n - 1)
    return float(1 - stats.nct.cdf(critical, n - 1, mean / (sd / math.sqrt(n))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    seeds = per_seed(args.output, args.resamples)
    gains = [g for g, _ in seeds]
    for i, (g, se) in enumerate(seeds):
        print(f"seed {i}: L2 gain {g:+.1f}, standard error over test sentences {se:.2f}")
    mean, sd = statistics.fmean(gains), statistics.stdev(gains)
    sentence_var = statistics.fmean(se**2 for _, se in seeds)
    print(
        f"over {len(gains)} seeds: mean {mean:+.1f}, sd {sd:.2f}; test sentences' share of the between-seed "
        f"variance {sentence_var / sd**2:.0%}"
    )
    lo, hi = t_interval(gains)
    print(f"Student-t 95% interval over these seeds: [{lo:+.1f}, {hi:+.1f}]")
    for n in range(3, 9):
        print(f"  n = {n} seeds: P(shown) = {power(mean, sd, n):.2f}")
    subsets = list(itertools.combinations(gains, 3))
    shown = sum(t_interval(list(s))[0] > 0 for s in subsets)
    print(f"subsets of 3 of these seeds that show the gain: {shown} of {len(subsets)}")


if __name__ == "__main__":
    main()
