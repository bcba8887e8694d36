"""train tokenizes a train.jsonl once: the memory-mapped cache gives exactly the examples and batch order of a
fresh tokenization, a changed file or tokenizer builds a new one, and an interrupted build is never trusted.
"""

import json
from collections import Counter

import numpy as np
import pytest

import tiny
from helpers import write
from instructalign import outputs
from instructalign.files import COMPLETE, sha256_file
from instructalign.train.cache import replay_flags
from instructalign.train.data import SeededLengthGroupedSampler, build_dataset, tokenize_file


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tokenized"


def data(tmp_path, n=30, word="ukara"):
    rows = [
        {"prompt": f"Terjemahkan: kalimat {i}" + " x" * (i % 7), "target": f"{word} {i}" + " y" * (i % 4)}
        for i in range(n)
    ]
    return write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def test_the_cache_gives_the_same_examples_and_batches_as_a_fresh_tokenization(tmp_path, cache):
    path, tok = data(tmp_path), tiny.tokenizer()
    fresh = list(tokenize_file(path, tok, False, 24, False, Counter()))
    dataset, lengths, stats, key, reused = build_dataset(path, tok, False, 24, False)
    assert not reused and stats["examples"] == 30 and stats["truncated_prompt"] > 0
    stored = [
        {k: v for k, v in e.items() if k != "replay"} for e in fresh
    ]  # replay flags: a file of their own
    assert [dataset[i] for i in range(len(dataset))] == stored  # ids, labels, length, n_target: all equal
    assert replay_flags(key).tolist() == [e["replay"] for e in fresh] == [False] * 30
    assert lengths.dtype == np.int32 and lengths.tolist() == [e["length"] for e in fresh]
    order = lambda lens: list(iter(SeededLengthGroupedSampler(8, lens, seed=3)))  # noqa: E731
    assert order(lengths) == order([e["length"] for e in fresh])  # the sampler reads the numpy lengths
    again = build_dataset(path, tok, False, 24, False)
    assert again[3:] == (key, True) and [again[0][i] for i in range(30)] == stored


def test_a_changed_file_tokenizer_or_setting_builds_a_new_cache(tmp_path, cache):
    path, tok = data(tmp_path), tiny.tokenizer()
    key = build_dataset(path, tok, False, 24, False)[3]
    assert build_dataset(path, tok, False, 32, False)[3:] != (key, True)  # max length
    assert build_dataset(path, tok, False, 24, True)[3] != key  # loss on the prompt
    other = tiny.tokenizer().__class__.from_pretrained(tiny.save(tiny.gpt2(), tmp_path / "m"))
    other.add_tokens(["ukara"])
    assert build_dataset(path, other, False, 24, False)[3] != key  # another tokenizer
    data(tmp_path, word="tembung")  # the file itself changed
    new = build_dataset(path, tok, False, 24, False)
    assert new[3] != key and not new[4]
    assert build_dataset(path, tok, False, 24, False)[3:] == (new[3], True)


def test_an_interrupted_build_leaves_nothing_a_later_run_trusts(tmp_path, cache, monkeypatch):
    from instructalign.train import cache as token_cache

    path, tok = data(tmp_path), tiny.tokenizer()
    real = token_cache.write_batch
    calls = []

    def dies(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C halfway through
        return real(*args)

    monkeypatch.setattr(token_cache, "CHUNK", 10)
    monkeypatch.setattr(token_cache, "write_batch", dies)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(path, tok, False, 24, False)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    key = token_cache.cache_key(sha256_file(path), tok, False, 24, False)
    killed = (
        cache / f".{key}.partial-x"
    )  # what a build killed with SIGKILL leaves: half a file, and its record
    write(killed / "data.arrow", "half")
    outputs.pending(killed, key)
    monkeypatch.setattr(token_cache, "write_batch", real)
    dataset, _, _, built, reused = build_dataset(path, tok, False, 24, False)
    assert built == key and not reused and len(dataset) == 30 and (cache / key / COMPLETE).is_file()
    assert not killed.exists()


def test_a_damaged_cache_of_the_same_size_is_rebuilt_not_reused(tmp_path, cache, capsys):
    path, tok = data(tmp_path), tiny.tokenizer()
    first = build_dataset(path, tok, False, 24, False)
    arrow = cache / first[3] / "data.arrow"
    damaged = bytearray(arrow.read_bytes())
    damaged[-200] ^= 0xFF  # one byte flipped in place: the size is the same
    arrow.write_bytes(bytes(damaged))
    capsys.readouterr()
    again = build_dataset(path, tok, False, 24, False)
    out = capsys.readouterr().out
    assert not again[4] and "data.arrow is damaged" in out and "rebuilding it" in out
    assert [list(x) for x in again[0]["input_ids"]] == [list(x) for x in first[0]["input_ids"]]
    assert build_dataset(path, tok, False, 24, False)[4]  # the rebuilt cache is trusted again


@pytest.mark.slow
def test_replay_sampling_from_a_million_rows_keeps_memory_flat(tmp_path):
    import random
    import tracemalloc

    from instructalign.data.contamination import without_evaluation_texts
    from instructalign.data.replay import read_replay, reservoir_sample

    path = tmp_path / "xp3.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(1_000_000):
            f.write(f'{{"inputs": "Translate to Javanese: sentence number {i}", "targets": "ukara {i}"}}\n')
    tracemalloc.start()
    stats = Counter()
    rows = without_evaluation_texts(read_replay(str(path)), {"ukara 5"}, stats)
    sample, seen = reservoir_sample(rows, 100, random.Random(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seen == 999_999 and stats["replay_excluded"] == 1 and len(sample) == 100
    assert peak < 5 * 2**20, peak  # one streaming pass: a few rows and the sample, not the 1M rows (~500 MB)
    again, _ = reservoir_sample(
        without_evaluation_texts(read_replay(str(path)), {"ukara 5"}, Counter()), 100, random.Random(0)
    )
    assert again == sample  # seeded: the same sample every time
