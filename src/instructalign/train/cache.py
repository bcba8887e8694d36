"""Tokenize a train.jsonl once: a memory-mapped Arrow file of encoded examples, reused by every run that
needs the same tokens.

Why pyarrow record batches (and not `datasets.map` or `Dataset.from_list`): examples stream from the file
through the tokenizer in chunks straight into an Arrow IPC stream on disk, so memory holds one chunk, never
the whole data set; `datasets.Dataset.from_file` then memory-maps the result for the `Trainer`. The lengths
go to a numpy file, which the length-grouped sampler reads instead of a Python list per example.

The cache lives in `$INSTRUCTALIGN_CACHE/tokenized/<key>/`, the key a hash of what changes the tokens: the
data file's sha256, the tokenizer's files, max length, loss on the prompt, causal or seq2seq, and this
format's version. It is built once (`outputs.built_once`: other processes of a launch wait, then reuse it),
its files' sizes and sha256 in its completion marker, so an interrupted or damaged build is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from ..files import cache_dir, read_json, write_json
from ..outputs import built_once

FORMAT = 2  # bump when the stored columns or their meaning change (2: replay.npy)
CHUNK = 10_000  # examples per Arrow record batch


def tokenizer_digest(tokenizer) -> str:
    """sha256 over the files the tokenizer saves (vocabulary, merges, special tokens, settings)."""
    h = hashlib.sha256(type(tokenizer).__name__.encode())
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        for path in sorted(Path(tmp).iterdir()):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cache_key(
    data_sha256: str,
    tokenizer,
    seq2seq: bool,
    max_length: int,
    loss_on_prompt: bool,
    chat: list | None = None,
) -> str:
    """The tokenized cache's key; `chat` (a template and system prompt) only when the rows are conversations,
    so raw-text keys stay as they were."""
    parts = [FORMAT, data_sha256, tokenizer_digest(tokenizer), seq2seq, max_length, loss_on_prompt]
    parts += [chat] if chat is not None else []
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def write_arrow(examples, folder: Path) -> Counter:
    """Stream encoded examples into folder/data.arrow, their lengths into folder/lengths.npy and whether each
    is a replay row into folder/replay.npy."""
    import pyarrow as pa

    schema = pa.schema(
        [
            ("input_ids", pa.list_(pa.int32())),
            ("labels", pa.list_(pa.int32())),
            ("length", pa.int32()),
            ("n_target", pa.int32()),
        ]
    )
    lengths: list[np.ndarray] = []
    replayed: list[bool] = []  # one byte per example in the end: 1M examples, 1 MB
    written = Counter()
    with pa.OSFile(str(folder / "data.arrow"), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        batch: list[dict] = []
        for example in examples:
            batch.append(example)
            replayed.append(bool(example.get("replay")))
            if len(batch) >= CHUNK:
                lengths.append(write_batch(writer, schema, batch))
                written["rows"] += len(batch)
                batch = []
        if batch:
            lengths.append(write_batch(writer, schema, batch))
            written["rows"] += len(batch)
    np.save(folder / "lengths.npy", np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int32))
    np.save(folder / "replay.npy", np.asarray(replayed, dtype=bool))
    return written


def write_batch(writer, schema, batch: list[dict]) -> np.ndarray:
    import pyarrow as pa

    columns = {name: [e[name] for e in batch] for name in schema.names}
    writer.write_batch(
        pa.record_batch(
            [pa.array(columns[n], type=schema.field(n).type) for n in schema.names], schema=schema
        )
    )
    return np.asarray(columns["length"], dtype=np.int32)


def cached_dataset(key: str, build) -> tuple[object, np.ndarray, Counter, bool]:
    """(memory-mapped dataset, lengths, tokenization counts, reused?) for `key`; `build(folder)` writes a
    missing (or damaged) cache (data.arrow, lengths.npy, replay.npy) and returns its counts."""
    import datasets

    folder = cache_dir() / "tokenized" / key
    reused = built_once(folder, lambda tmp: write_json(tmp / "stats.json", dict(build(tmp))))
    stats = Counter(read_json(folder / "stats.json"))
    return (
        datasets.Dataset.from_file(str(folder / "data.arrow")),
        np.load(folder / "lengths.npy"),
        stats,
        reused,
    )


def replay_flags(key: str) -> np.ndarray:
    """Whether each example of the tokenized cache `key` is a replay row (bool, in the dataset's order)."""
    return np.load(cache_dir() / "tokenized" / key / "replay.npy")
