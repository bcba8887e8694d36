"""Experience replay: sample earlier instruction data (xP3's {inputs, targets} rows) and mix it in.

Sampling is uniform over the whole stream (reservoir sampling with a seeded RNG), so a 78M-row xP3
split costs one pass and memory for the sample only.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import UserError
from ..files import json_lines
from .bitext import load_hf_split, parse_hf_spec


def replay_example(prompt: str, target: str, separator: str | None = None) -> dict:
    """A replay row as a training example. `separator` is what stands between prompt and target when
    the source model was trained (None: instructalign's own rule, a space unless either side has one)."""
    example = {
        "prompt": prompt,
        "target": target,
        "objective": "replay",
        "src_lang": None,
        "tgt_lang": None,
        "prompt_lang": None,
        "source": "replay",
    }
    if separator is not None:
        example["separator"] = separator
    return example


# xP3 rows {inputs, targets} are joined as BLOOMZ/mT0 were finetuned on them (bigscience Megatron-DeepSpeed
# finetune_t0, and the encoder-decoder split of mT0): inputs then targets, token sequences concatenated,
# nothing added between them. Rows {prompt, target} follow instructalign's own rule (a space).
FORMATS = {("inputs", "targets"): "", ("prompt", "target"): None}


def _row_to_example(obj: dict, where: str) -> dict:
    for (prompt_key, target_key), separator in FORMATS.items():
        if prompt_key in obj and target_key in obj:
            prompt, target = obj[prompt_key], obj[target_key]
            if not isinstance(prompt, str) or not isinstance(target, str):
                raise UserError(f"{where}: fields '{prompt_key}' and '{target_key}' must be strings")
            return replay_example(prompt, target, separator)
    raise UserError(
        f"{where}: a replay row needs 'inputs' and 'targets' (xP3 format) or 'prompt' and 'target'"
    )


def read_replay(spec: str, split: str = "train") -> Iterator[dict]:
    """Stream replay rows as training examples from a JSONL file or hf:NAME[:CONFIG]."""
    if spec.startswith("hf:"):
        name, config = parse_hf_spec(spec[3:])
        for i, obj in enumerate(load_hf_split(name, config, split)):
            yield _row_to_example(obj, f"{spec} row {i}")
        return
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"{spec}: replay file not found; check --replay")
    for number, obj in json_lines(path):
        yield _row_to_example(obj, f"{path} line {number}")


def reservoir_sample(rows: Iterable[dict], k: int, rng: random.Random) -> tuple[list[dict], int]:
    """A uniform sample of `k` rows from a stream of unknown length (Algorithm R), and the stream length."""
    sample: list[dict] = []
    n = 0
    for n, row in enumerate(rows, 1):
        if len(sample) < k:
            sample.append(row)
        else:
            j = rng.randrange(n)
            if j < k:
                sample[j] = row
    rng.shuffle(sample)
    return sample, n


def replay_count_for(n_align: int, count: int | None, ratio: float | None) -> int:
    """How many replay rows to mix in: an explicit count, or the count that makes `ratio` of the mix."""
    if count is not None:
        return count
    if ratio is not None:
        return round(ratio / (1.0 - ratio) * n_align)
    return 0


def mix_positions(n_align: int, n_replay: int, rng: random.Random) -> set[int]:
    """Uniformly random slots of the final file that hold replay rows."""
    return set(rng.sample(range(n_align + n_replay), n_replay))
