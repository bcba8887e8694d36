"""Experience replay: sample earlier instruction data and mix it in — rows in any format users hold it in
(chat messages, ShareGPT, Alpaca, xP3, prompt/target), each converted once.

Sampling is uniform over the whole stream (reservoir sampling with a seeded RNG), so a 78M-row xP3
split costs one pass and memory for the sample only.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..chat import messages_of
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
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
FORMAT_NAMES = (
    "messages [{role, content}] (OpenAI, TRL), conversations [{from, value}] (ShareGPT), "
    "instruction/input/output (Alpaca), inputs/targets (xP3) or prompt/target"
)


def conversation_example(messages: list[dict]) -> dict:
    """A replay row that keeps its own turns (trained in the model's chat format)."""
    return {"messages": messages} | {
        k: v for k, v in replay_example("", "").items() if k not in ("prompt", "target")
    }


def sharegpt_messages(turns, where: str) -> list[dict]:
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise UserError(f"{where}: 'conversations' must be a list of {{from, value}} turns (ShareGPT)")
    unknown = sorted({str(t.get("from")) for t in turns} - set(SHAREGPT_ROLES))
    if unknown:
        raise UserError(f"{where}: ShareGPT speaker {unknown[0]!r}; known: {', '.join(SHAREGPT_ROLES)}")
    return [{"role": SHAREGPT_ROLES[t["from"]], "content": t.get("value")} for t in turns]


def alpaca_example(obj: dict, where: str) -> dict:
    """Alpaca's instruction (and input, after a blank line) as the prompt, its output as the target."""
    parts = [obj.get("instruction"), obj.get("input") or ""]
    if not all(isinstance(p, str) for p in [*parts, obj.get("output")]):
        raise UserError(f"{where}: Alpaca fields 'instruction', 'input' and 'output' must be strings")
    return replay_example("\n\n".join(p for p in parts if p), obj["output"])


def _row_to_example(obj: dict, where: str) -> dict:
    """One replay row, in any of the formats users hold instruction data in, as a training example."""
    if "messages" in obj:
        return conversation_example(messages_of(obj, where))
    if "conversations" in obj:
        return conversation_example(
            messages_of({"messages": sharegpt_messages(obj["conversations"], where)}, where)
        )
    if "instruction" in obj and "output" in obj:
        return alpaca_example(obj, where)
    for (prompt_key, target_key), separator in FORMATS.items():
        if prompt_key in obj and target_key in obj:
            prompt, target = obj[prompt_key], obj[target_key]
            if not isinstance(prompt, str) or not isinstance(target, str):
                raise UserError(f"{where}: fields '{prompt_key}' and '{target_key}' must be strings")
            return replay_example(prompt, target, separator)
    raise UserError(
        f"{where}: a replay row is one of: {FORMAT_NAMES}; this one has {', '.join(obj) or 'nothing'}"
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
