"""Training examples -> token ids with prompt-masked labels, and the collator and sampler that batch them.

Causal models see `prompt + target + EOS` with labels -100 on the prompt; encoder-decoder models see the
prompt in the encoder and `target + EOS` as labels. Too-long examples lose prompt tokens from the left,
never target tokens; an example whose target alone does not fit is dropped. Both are counted. Under a chat
template (`chat.py`) every row is a conversation, labelled on its assistant turns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler

from ..chat import ChatFormat, conversation, encode, messages_of, single_turn
from ..errors import UserError
from ..files import json_lines, sha256_file
from .cache import cache_key, cached_dataset, write_arrow

IGNORE = -100


@dataclass(frozen=True)
class Row:
    """A training row: a prompt and its target (as data build writes alignment and most replay rows), or a
    conversation (`messages`, a replay row that keeps its own turns)."""

    prompt: str | None
    target: str | None
    separator: str | None  # what stood between prompt and target when the source model was trained
    messages: list | None
    replay: bool
    where: str

    def pair(self) -> tuple[str, str]:
        """(prompt, target as it follows the prompt) for the raw format; a one-exchange conversation too."""
        if self.messages is not None:
            prompt, target = single_turn(self.messages, self.where)
            return prompt, joined_target(prompt, target)
        if isinstance(self.separator, str):
            return self.prompt, self.separator + self.target
        return self.prompt, joined_target(self.prompt, self.target)

    def turns(self, system: str | None) -> list[dict]:
        """The row as a conversation: its own turns, or [system?, user: prompt, assistant: target]."""
        return self.messages if self.messages is not None else conversation(self.prompt, self.target, system)


def read_examples(path: Path) -> Iterator[tuple[str, str]]:
    """(prompt, target as it follows the prompt) of every line of a train.jsonl (inputs/targets rows too)."""
    return (row.pair() for row in read_rows(path))


def read_rows(path: Path) -> Iterator[Row]:
    """Every line of a train.jsonl as a `Row`; a row is replay when its `source` is "replay" (as `data build`
    marks the rows it mixes in from earlier instruction data).

    A row's `separator` (set for xP3 replay rows: nothing) says how its source model joined the two;
    without one, `joined_target` puts a space between them."""
    if not path.is_file():
        raise UserError(f"{path}: not found; --data must be a folder written by 'instructalign data build'")
    for number, obj in json_lines(path):
        where, replay = f"{path} line {number}", obj.get("source") == "replay"
        if "messages" in obj:
            yield Row(None, None, None, messages_of(obj, where), replay, where)
            continue
        prompt = obj.get("prompt", obj.get("inputs"))
        target = obj.get("target", obj.get("targets"))
        if not isinstance(prompt, str) or not isinstance(target, str):
            raise UserError(
                f"{where}: needs string fields 'prompt' and 'target' (or 'inputs' and 'targets'), or "
                "'messages'"
            )
        yield Row(prompt, target, obj.get("separator", "" if "inputs" in obj else None), None, replay, where)


def joined_target(prompt: str, target: str) -> str:
    """The target as it follows the prompt: a space between them unless one side already has one."""
    return target if not prompt or prompt[-1].isspace() or target[:1].isspace() else " " + target


def encode_causal(
    prompt_ids: list[int],
    target_ids: list[int],
    eos: int,
    max_length: int,
    loss_on_prompt: bool,
    stats: Counter,
) -> dict | None:
    target_ids = target_ids + [eos]
    if len(target_ids) > max_length:
        stats["dropped_target_too_long"] += 1
        return None
    room = max_length - len(target_ids)
    if len(prompt_ids) > room:
        stats["truncated_prompt"] += 1
        prompt_ids = prompt_ids[len(prompt_ids) - room :]
    input_ids = prompt_ids + target_ids
    labels = (list(prompt_ids) if loss_on_prompt else [IGNORE] * len(prompt_ids)) + target_ids
    return {"input_ids": input_ids, "labels": labels, "length": len(input_ids), "n_target": len(target_ids)}


def encode_seq2seq(
    prompt_ids: list[int], target_ids: list[int], eos: int, max_length: int, stats: Counter
) -> dict | None:
    target_ids = target_ids + [eos]
    if len(target_ids) > max_length:
        stats["dropped_target_too_long"] += 1
        return None
    if len(prompt_ids) > max_length:
        stats["truncated_prompt"] += 1
        prompt_ids = prompt_ids[len(prompt_ids) - max_length :]
    return {
        "input_ids": prompt_ids,
        "labels": target_ids,
        "length": len(prompt_ids) + len(target_ids),
        "n_target": len(target_ids),
    }


def tokenize_file(
    path: Path,
    tokenizer,
    seq2seq: bool,
    max_length: int,
    loss_on_prompt: bool,
    stats: Counter,
    chunk: int = 1000,
    fmt: ChatFormat | None = None,
) -> Iterator[dict]:
    """Stream encoded examples from a train.jsonl: raw text tokenized in chunks with the fast tokenizer, or
    (`fmt` with a template) each row as a conversation in the model's chat format."""
    if fmt is not None and not fmt.raw:
        for row in read_rows(path):
            stats["examples"] += 1
            ids, labels = encode(tokenizer, fmt, row.turns(fmt.system), loss_on_prompt, stats)
            enc = fit_conversation(ids, labels, max_length, stats)
            if enc is not None:
                yield enc | {"replay": row.replay}
        return
    buffer: list[tuple[str, str, bool]] = []

    def flush() -> Iterator[dict]:
        prompt_ids = tokenizer([p for p, _, _ in buffer])["input_ids"]
        target_ids = tokenizer([t for _, t, _ in buffer], add_special_tokens=False)["input_ids"]
        for p, t, (_, _, replayed) in zip(prompt_ids, target_ids, buffer):
            stats["examples"] += 1
            stats["shortest_target"] = min(stats.get("shortest_target", 10**9), len(t) + 1)
            enc = (
                encode_seq2seq(p, t, tokenizer.eos_token_id, max_length, stats)
                if seq2seq
                else encode_causal(p, t, tokenizer.eos_token_id, max_length, loss_on_prompt, stats)
            )
            if enc is not None:
                yield enc | {"replay": replayed}
        buffer.clear()

    for row in read_rows(path):
        buffer.append((*row.pair(), row.replay))
        if len(buffer) >= chunk:
            yield from flush()
    if buffer:
        yield from flush()


def fit_conversation(ids: list[int], labels: list[int], max_length: int, stats: Counter) -> dict | None:
    """A conversation cut to `max_length` from the left (its ends, the assistant turns' ends among them, are
    never cut); dropped when its last assistant turn alone does not fit. Both are counted."""
    n_target = sum(label != IGNORE for label in labels)
    last = max((i for i, label in enumerate(labels) if label != IGNORE), default=-1)
    stats["shortest_target"] = min(stats.get("shortest_target", 10**9), n_target)
    if n_target == 0 or last + 1 - first_of_last_turn(labels, last) > max_length:
        stats["dropped_target_too_long"] += 1
        return None
    if len(ids) > max_length:
        stats["truncated_prompt"] += 1
        ids, labels = ids[len(ids) - max_length :], labels[len(labels) - max_length :]
    n_target = sum(label != IGNORE for label in labels)
    return {"input_ids": ids, "labels": labels, "length": len(ids), "n_target": n_target}


def first_of_last_turn(labels: list[int], last: int) -> int:
    """Where the labelled run that ends at `last` (the last assistant turn) begins."""
    start = last
    while start > 0 and labels[start - 1] != IGNORE:
        start -= 1
    return start


def build_dataset(
    path: Path,
    tokenizer,
    seq2seq: bool,
    max_length: int,
    loss_on_prompt: bool,
    data_sha256: str | None = None,
    fmt: ChatFormat | None = None,
):
    """(memory-mapped `datasets.Dataset` of encoded examples, their lengths as numpy, counts, cache key,
    reused?): tokenized once per data file, tokenizer and settings (`cache.py`), reused after that."""
    chat = None if fmt is None or fmt.raw else [fmt.template, fmt.system]
    key = cache_key(data_sha256 or sha256_file(path), tokenizer, seq2seq, max_length, loss_on_prompt, chat)

    def build(folder: Path) -> Counter:
        stats: Counter = Counter()
        written = write_arrow(
            tokenize_file(path, tokenizer, seq2seq, max_length, loss_on_prompt, stats, fmt=fmt), folder
        )
        if stats["examples"] == 0:
            raise UserError(f"{path}: no examples; rebuild the data folder")
        if not written["rows"]:
            raise UserError(
                f"--max-length {max_length} is smaller than the shortest target ({stats['shortest_target']} "
                "tokens with EOS); raise --max-length"
            )
        return stats

    dataset, lengths, stats, reused = cached_dataset(key, build)
    return dataset, lengths, stats, key, reused


@dataclass
class PaddingCollator:
    """Pads a batch to its longest example (labels with -100) and counts real vs. padded tokens."""

    pad_id: int
    seq2seq: bool
    counts: Counter = field(default_factory=Counter)

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        label_width = max(len(f["labels"]) for f in features) if self.seq2seq else width
        labels = torch.full((len(features), label_width), IGNORE, dtype=torch.long)
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            ids[i, :n] = torch.tensor(f["input_ids"])
            mask[i, :n] = 1
            labels[i, : len(f["labels"])] = torch.tensor(f["labels"])
        self.counts["real_tokens"] += int(mask.sum()) + (
            sum(len(f["labels"]) for f in features) if self.seq2seq else 0
        )
        self.counts["padded_tokens"] += mask.numel() + (labels.numel() if self.seq2seq else 0)
        self.counts["target_tokens"] += sum(f["n_target"] for f in features)
        self.counts["examples"] += len(features)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def padding_share(self) -> float:
        return 1 - self.counts["real_tokens"] / max(self.counts["padded_tokens"], 1)


class SeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped order drawn from `seed + epoch`: the same on every process and after a resume."""

    def __init__(self, batch_size: int, lengths, seed: int):
        """`lengths`: a list or a numpy array (read as is: no Python object per example is made)."""
        super().__init__(batch_size, lengths=lengths)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return super().__iter__()


def report_truncation(stats, max_length: int) -> None:
    if stats["truncated_prompt"] or stats["dropped_target_too_long"]:
        print(
            f"max-length {max_length}: {stats['truncated_prompt']} prompts cut from the left, "
            f"{stats['dropped_target_too_long']} examples dropped (target alone too long)"
        )
