"""Rows and tokens per second of `data synth-replay`'s generation (batched, left-padded, with the KV cache)
against one prompt at a time, side by side in one run, on the demo's stand-in shape (d=192, 3 layers) and on
a ~100M-parameter shape of the same architecture (d=768, 12 layers: GPT-2 small's body), with freshly
initialised weights: every row generates exactly `--new-tokens` tokens (no stop token), so the two ways do the
same work. Prompts are NusaX training sentences in the sentiment template's shape.

    python benchmarks/synth_replay.py [--data ../shared/data/nusax] [--prompts 64] [--new-tokens 32]
        [--batch-size 32] [--shapes standin,100m] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from common import nusax_path, tiny_model
from matmul_rate import gflops

from instructalign.data.bitext import read_bitext
from instructalign.models import load_model
from instructalign.synth.generate import Sampling, generate

SHAPES = {"standin": {}, "100m": {"d_model": 768, "n_layer": 12, "n_head": 12}}


def prompts_of(nusax: Path, n: int) -> list[str]:
    texts = [row.texts["ind"] for row in read_bitext(str(nusax), "train")][:n]
    return [f"{t}\nWhat is the sentiment of the text above? positive, neutral, or negative?" for t in texts]


def timed(model, tok, ids: list[list[int]], batch_size: int, new_tokens: int) -> tuple[float, int]:
    """Seconds and tokens generated for all prompts at `batch_size` (greedy, no stop token)."""
    sampling = Sampling(0.0, 1.0, new_tokens)
    start = time.perf_counter()
    never = [model.config.vocab_size]  # an id the model cannot produce: every row runs to new_tokens
    out = generate(model, tok, ids, sampling, 0, batch_size, stop_ids=never)
    return time.perf_counter() - start, sum(g.tokens for g in out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--shapes", default="standin,100m")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    nusax = nusax_path(args.data)
    rate = gflops()
    torch.set_num_threads(args.threads)
    print(f"single-thread fp32 matrix product: {rate:.0f} GFLOP/s; {args.threads} threads for generation")
    print(f"{args.prompts} prompts, {args.new_tokens} new tokens each, batch {args.batch_size} vs 1")
    print("| shape | parameters | batched rows/s | tokens/s | one at a time rows/s | tokens/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.shapes.split(","):
            model, tok, _ = load_model(tiny_model(nusax, Path(tmp) / name, **SHAPES[name]))
            ids = [tok(t)["input_ids"] for t in prompts_of(nusax, args.prompts)]
            timed(model, tok, ids[:2], 2, 2)  # warm-up
            batched, n_batched = timed(model, tok, ids, args.batch_size, args.new_tokens)
            single, n_single = timed(model, tok, ids, 1, args.new_tokens)
            assert n_batched == n_single == len(ids) * args.new_tokens
            params = sum(t.numel() for t in model.parameters()) / 1e6
            print(
                f"| {name} | {params:.1f}M | {len(ids) / batched:.1f} | {n_batched / batched:,.0f} | "
                f"{len(ids) / single:.1f} | {n_single / single:,.0f} | {single / batched:.1f}x |"
            )


if __name__ == "__main__":
    main()
