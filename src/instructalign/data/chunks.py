"""Making alignment examples in parallel: pairs in fixed chunks, each chunk's examples made by a worker
process and returned in input order, so that the output is the same bytes whatever the number of workers.

Each pair draws from its own seeded random stream, and a chunk's XSS sentence pool starts from the previous
chunk's sentences: a chunk needs nothing from any other worker.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain, islice
from json.encoder import encode_basestring as _quote

from .objectives import OBJECTIVES, Pair, SentencePool

_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
EXAMPLE_KEYS = ("objective", "prompt", "prompt_lang", "source", "src_lang", "target", "tgt_lang")  # sorted
_QUOTED_KEYS = tuple(f"{_quote(k)}: " for k in EXAMPLE_KEYS)


def dumps(example: dict) -> str:
    """json.dumps(example, ensure_ascii=False, sort_keys=True), byte for byte; an alignment example (these
    keys, text values) is joined directly, the encoder's work without its per-call set-up."""
    if len(example) == len(EXAMPLE_KEYS) and all(type(v) is str for v in example.values()):
        try:
            return "{" + ", ".join([k + _quote(example[n]) for k, n in zip(_QUOTED_KEYS, EXAMPLE_KEYS)]) + "}"
        except KeyError:
            pass
    return _ENCODE(example)


def repeats(weight: float, rng: random.Random) -> int:
    """Examples per pair direction for a weight: its integer part, plus one with its fractional chance."""
    whole = int(weight)
    return whole + (rng.random() < weight - whole)


def count_example(counts: Counter, ex: dict) -> None:
    add_counts(counts, example_kind(ex))


def example_kind(ex: dict) -> tuple:
    """What the manifest counts of an example: source, objective, languages, and an XSS answer."""
    return (
        ex["source"],
        ex["objective"],
        ex["src_lang"],
        ex["tgt_lang"],
        ex["target"] if ex["objective"] == "xss" else None,
    )


def add_counts(counts: Counter, kind: tuple, n: int = 1) -> None:
    source, objective, src, tgt, answer = kind
    counts[f"source:{source}"] += n
    counts[f"objective:{objective}"] += n
    if src:
        counts[f"pair:{'-'.join(sorted((src, tgt)))}"] += n
        counts[f"direction:{src}->{tgt}"] += n
    if answer is not None:
        counts[f"xss_answer:{answer}"] += n


CHUNK_PAIRS = 1000  # pairs per unit of work: fixed, so that the output does not depend on --workers


def pair_rng(seed: int, index: int) -> random.Random:
    """The random stream of the `index`-th pair: its examples are the same whichever worker makes them."""
    return random.Random((seed << 40) | index)


def chunk_examples(task: tuple) -> tuple[bytes, Counter]:
    """One chunk's examples as UTF-8 JSONL, and their counts. The XSS sentence pool starts from the previous
    chunk's sentences and grows through this one, so a chunk needs nothing from any other worker."""
    ctx, objectives, weights, seed, first, previous, pairs = task
    ctx = replace(ctx, pool=SentencePool())
    for pair in previous:
        ctx.pool.add(pair.lang_a, pair.text_a)
        ctx.pool.add(pair.lang_b, pair.text_b)
    lines, kinds = [], Counter()
    for i, pair in enumerate(pairs):
        rng = pair_rng(seed, first + i)
        for name in objectives:
            for _ in range(repeats(weights.get(name, 1.0), rng)):
                for ex in OBJECTIVES[name](pair, ctx, rng):
                    lines.append(dumps(ex))
                    kinds[example_kind(ex)] += 1
        ctx.pool.add(pair.lang_a, pair.text_a)
        ctx.pool.add(pair.lang_b, pair.text_b)
    counts = Counter()
    for kind, n in kinds.items():
        add_counts(counts, kind, n)
    return ("\n".join(lines) + "\n" if lines else "").encode("utf-8"), counts


def chunk_tasks(pairs: Iterator[Pair], ctx, objectives, weights, seed: int) -> Iterator[tuple]:
    previous, first = [], 0
    while chunk := list(islice(pairs, CHUNK_PAIRS)):
        yield (ctx, objectives, weights, seed, first, previous, chunk)
        previous, first = chunk, first + len(chunk)


def workers(asked: int | None) -> int:
    """--workers, else the cores this process may use."""
    if asked:
        return asked
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def start_method() -> str:
    """fork (instant) on Linux unless torch is loaded, whose threads make forking unsafe; else spawn."""
    return "fork" if sys.platform.startswith("linux") and "torch" not in sys.modules else "spawn"


def ordered_map(fn, tasks: Iterator, n: int) -> Iterator:
    """fn over tasks, results in input order: here for one worker or a single task, else over `n` fresh
    processes with at most 2n tasks in flight (memory stays flat however long the input)."""
    tasks = iter(tasks)
    head = list(islice(tasks, 2))
    if n <= 1 or len(head) < 2:
        yield from map(fn, chain(head, tasks))
        return
    with multiprocessing.get_context(start_method()).Pool(n) as pool:
        pending: deque = deque()
        for task in chain(head, tasks):
            pending.append(pool.apply_async(fn, (task,)))
            if len(pending) >= 2 * n:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
