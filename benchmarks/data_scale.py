"""`data build` and `train` at real data sizes: examples/s, seconds to the first step and peak memory.

    python benchmarks/data_scale.py [--rows 10000,42000] [--data ../shared/data/nusax] [--old-up-to 250000]
                                    [--build-only]

For each size: a synthetic wide bitext (NusaX words resampled, 8-40 words a sentence, pivots ind,eng, targets
jav,sun: 24 examples a row with MT+TLM+XSS), `instructalign data build` on it with --workers 1 and 2 and with
the code of commit e99f35d (before the build was profiled and parallelised), side by side, checking that the
two worker counts write the same bytes; then `instructalign train`
with a tiny GPT-2 (`--max-steps 1`) twice: with an empty tokenized-data cache and again with it (a rerun or
another run on the same data). Each command runs as its own process under /usr/bin/time (wall seconds, peak
RSS). Side by side, the way train loaded data before the cache (every example tokenized into Python lists,
then `Dataset.from_list`), for sizes up to --old-up-to examples. Growth is versus the previous size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from common import nusax_path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "e99f35d"  # the build as the issue measured it (~3.2k examples/s)
OLD_LOADER = """
import sys, datasets
from collections import Counter
from pathlib import Path
from transformers import AutoTokenizer
from instructalign.train.data import tokenize_file
tok = AutoTokenizer.from_pretrained(sys.argv[2])
rows = list(tokenize_file(Path(sys.argv[1]), tok, False, 256, False, Counter()))
datasets.Dataset.from_list(rows)
"""


def words_by_language(nusax: Path) -> dict[str, list[str]]:
    columns = {"ind": "indonesian", "eng": "english", "jav": "javanese", "sun": "sundanese"}
    with open(nusax / "mt" / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {code: [w for r in rows for w in r[name].split()] for code, name in columns.items()}


def synthetic_bitext(path: Path, rows: int, words: dict[str, list[str]], seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(list(words))
        for _ in range(rows):
            n = rng.randint(8, 40)
            out.writerow([" ".join(rng.choices(pool, k=n)) for pool in words.values()])


def timed(argv: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, output) of one process."""
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M", *argv], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} failed:\n{proc.stderr[-3000:]}")
    seconds, kb = proc.stderr.strip().splitlines()[-1].split()[1:]
    return float(seconds), int(kb) / 1024, proc.stdout


def tiny_model(folder: Path, texts: Path) -> str:
    """A 2-layer GPT-2 (d=64) with a 2k BPE tokenizer fit on the bitext: built from a config, no download."""
    code = f"""
import csv, torch
from transformers import GPT2Config, GPT2LMHeadModel
from instructalign.tokenizer import train_bpe_tokenizer
rows = csv.reader(open({str(texts)!r}, encoding="utf-8"))
texts = [c for i, r in enumerate(rows) if 0 < i <= 2000 for c in r]
tok = train_bpe_tokenizer(texts, vocab_size=2000, model_max_length=256)
torch.manual_seed(0)
cfg = GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=256, vocab_size=len(tok),
                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id)
GPT2LMHeadModel(cfg).save_pretrained({str(folder)!r}); tok.save_pretrained({str(folder)!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return str(folder)


def baseline_source(folder: Path) -> Path:
    """The package's source at BASELINE_COMMIT, unpacked into `folder` (for PYTHONPATH)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "src"], check=True, capture_output=True
    ).stdout
    folder.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def builds(cli: list[str], bitext: Path, work: Path, env: dict, old_src: Path) -> dict:
    """data build with --workers 1, --workers 2 and the baseline commit's code, alternated in one run."""
    common = [
        "data",
        "build",
        "--bitext",
        str(bitext),
        "--pivots",
        "ind,eng",
        "--targets",
        "jav,sun",
        "--objectives",
        "mt,tlm,xss",
    ]
    w1 = timed([*cli, *common, "--workers", "1", "--output", str(work / "data-w1")], env)
    w2 = timed([*cli, *common, "--workers", "2", "--output", str(work / "data")], env)
    old = timed([*cli, *common, "--output", str(work / "data-old")], dict(env, PYTHONPATH=str(old_src)))
    same = (work / "data-w1" / "train.jsonl").read_bytes() == (work / "data" / "train.jsonl").read_bytes()
    examples = json.loads((work / "data" / "manifest.json").read_text())["counts"]["total"]
    return {
        "examples": examples,
        "w1_per_s": examples / w1[0],
        "w2_per_s": examples / w2[0],
        "old_per_s": examples / old[0],
        "w2_over_w1": w1[0] / w2[0],
        "w1_over_old": old[0] / w1[0],
        "identical": same,
        "build_mb": w2[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,42000", help="bitext rows per size, comma-separated")
    parser.add_argument("--data", default=None, help="NusaX folder (its words are resampled)")
    parser.add_argument(
        "--old-up-to", type=int, default=250_000, help="measure the old loader up to this many examples"
    )
    parser.add_argument("--build-only", action="store_true", help="measure data build only, not train")
    args = parser.parse_args()
    words = words_by_language(nusax_path(args.data))
    cli = [sys.executable, "-m", "instructalign.cli"]
    results, previous = [], None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_src = baseline_source(tmp / "baseline")
        for rows in [int(r) for r in args.rows.split(",")]:
            work = tmp / str(rows)
            work.mkdir()
            synthetic_bitext(work / "bitext.csv", rows, words)
            model = tiny_model(work / "model", work / "bitext.csv")
            env = dict(os.environ, INSTRUCTALIGN_CACHE=str(work / "cache"), OMP_NUM_THREADS="2")
            row = {"rows": rows} | builds(cli, work / "bitext.csv", work, env, old_src)
            print(json.dumps(row), flush=True)
            results.append(row)
            if args.build_only:
                continue
            examples = row["examples"]
            train = [
                *cli,
                "train",
                "--model",
                model,
                "--data",
                str(work / "data"),
                "--max-steps",
                "1",
                "--save-steps",
                "1",
                "--batch-size",
                "8",
                "--max-length",
                "256",
            ]
            first = timed([*train, "--output", str(work / "run1")], env)
            cached = timed([*train, "--output", str(work / "run2")], env)
            assert "reused cache" in cached[2], cached[2][-500:]
            old = (
                timed([sys.executable, "-c", OLD_LOADER, str(work / "data" / "train.jsonl"), model], env)
                if examples <= args.old_up_to
                else None
            )
            row |= {
                "train_first_s": first[0],
                "train_first_mb": first[1],
                "train_cached_s": cached[0],
                "train_cached_mb": cached[1],
                "old_loader_s": old[0] if old else None,
                "old_loader_mb": old[1] if old else None,
            }
            if previous:
                row["mb_growth"] = row["train_first_mb"] / previous["train_first_mb"] - 1
            previous = row
            print(json.dumps(row), flush=True)
    print(
        f"\n| rows | examples | build ex/s, 1 worker | 2 workers | {BASELINE_COMMIT} | 2 vs 1 | 1 vs "
        f"{BASELINE_COMMIT} | same bytes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['examples']:,} | {r['w1_per_s']:,.0f} | {r['w2_per_s']:,.0f} | "
            f"{r['old_per_s']:,.0f} | {r['w2_over_w1']:.2f}x | {r['w1_over_old']:.2f}x | {r['identical']} |"
        )
    if args.build_only:
        return
    print(
        "\n| rows | examples | data build ex/s (2 workers) | train to 1st step: first s / MB | cached s / "
        "MB | old loader s / MB |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        old = f"{r['old_loader_s']:.0f} / {r['old_loader_mb']:,.0f}" if r["old_loader_s"] else "—"
        growth = f" (+{100 * r['mb_growth']:.0f}%)" if "mb_growth" in r else ""
        print(
            f"| {r['rows']:,} | {r['examples']:,} | {r['w2_per_s']:,.0f} | {r['train_first_s']:.0f} / "
            f"{r['train_first_mb']:,.0f}{growth} | {r['train_cached_s']:.0f} / {r['train_cached_mb']:,.0f} | "
            f"{old} |"
        )


if __name__ == "__main__":
    main()
