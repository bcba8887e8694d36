"""What `train --monitor` costs: the same training with and without the probe, alternated in one run.

    python benchmarks/monitor_overhead.py --model BASE_MODEL --data BUILT_DATA [--nusax ../shared/data/nusax]
        [--steps 300] [--every 100] [--limit 50] [--repeats 2] [--batch-size 16]

For the demo's recipe give a cached stand-in base (`$INSTRUCTALIGN_CACHE/demo/base-*/model`) and one of a demo
run's mixes (`runs/seedN/<run>/data`). Each training is its own process (wall seconds from /usr/bin/time);
the probe's own seconds come from monitor.csv.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from common import nusax_path


def timed(argv: list[str]) -> float:
    proc = subprocess.run(["/usr/bin/time", "-f", "TIME %e", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} failed:\n{proc.stderr[-3000:]}")
    return float(proc.stderr.strip().splitlines()[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--nusax")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    nusax = nusax_path(args.nusax)
    train = [
        sys.executable,
        "-m",
        "instructalign.cli",
        "train",
        "--model",
        args.model,
        "--data",
        args.data,
        "--max-steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--lr",
        "5e-4",
        "--max-length",
        "384",
        "--save-steps",
        str(10**6),
        "--precision",
        "fp32",
    ]
    probe = [
        "--monitor",
        "--monitor-data",
        str(nusax),
        "--monitor-every",
        str(args.every),
        "--monitor-limit",
        str(args.limit),
    ]
    plain, monitored, probe_seconds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            plain.append(timed([*train, "--output", f"{tmp}/plain{r}"]))
            monitored.append(timed([*train, *probe, "--output", f"{tmp}/monitored{r}"]))
            with open(Path(tmp) / f"monitored{r}" / "monitor.csv", encoding="utf-8") as f:
                seconds = {row["step"]: float(row["seconds"]) for row in csv.DictReader(f)}
            probe_seconds.append(sum(seconds.values()))
            print(
                f"round {r}: plain {plain[-1]:.1f} s, monitored {monitored[-1]:.1f} s ({len(seconds)} "
                f"probes, {probe_seconds[-1]:.1f} s in them)",
                flush=True,
            )
    best_plain, best_monitored = min(plain), min(monitored)
    print(
        f"\n{args.steps} steps, a probe every {args.every} (step 0 included), {args.limit} valid sentences "
        f"per language: best plain {best_plain:.1f} s, best monitored {best_monitored:.1f} s, overhead "
        f"{100 * (best_monitored / best_plain - 1):.0f}% (probes {min(probe_seconds):.1f} s)"
    )


if __name__ == "__main__":
    main()
