"""What `data synth-replay` reads before a model loads: the prompts to answer (each as a conversation ending
with the user's turn) and the openings a model without a chat template continues into prompts."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from ..chat import messages_of
from ..errors import UserError
from ..files import json_lines, read_yaml, utf8_lines

OPENINGS = Path(__file__).with_name("openings.yaml")


def read_prompts(path: Path, limit: int | None) -> list[list[dict]]:
    """Each prompt as a conversation that ends with the user's turn: lines of text, or JSONL rows."""
    if not path.is_file():
        raise UserError(f"{path}: prompts file not found; check --prompts")
    if path.suffix == ".jsonl":
        found = (prompt_of(obj, f"{path} line {number}") for number, obj in json_lines(path))
    else:
        found = ([user(line.strip())] for _, line in utf8_lines(path) if line.strip())
    prompts = list(islice(found, limit))
    if not prompts:
        raise UserError(f"{path}: no prompts in it; one a line, or JSONL rows with a prompt")
    return prompts


def prompt_of(row: dict, where: str) -> list[dict]:
    """A JSONL row's conversation up to the turn to answer: messages (ending with the user, or an assistant
    turn, which is dropped), or the prompt of a prompt/target, Alpaca or xP3 row."""
    if "messages" in row:
        turns = row["messages"]
        if isinstance(turns, list) and turns and isinstance(turns[-1], dict):
            turns = turns[:-1] if turns[-1].get("role") == "assistant" else turns
        return messages_of({"messages": [*turns, {"role": "assistant", "content": "-"}]}, where)[:-1]
    if "instruction" in row:
        text = "\n\n".join(p for p in (row.get("instruction"), row.get("input")) if isinstance(p, str) and p)
    else:
        text = row.get("prompt", row.get("inputs"))
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{where}: a prompt row has messages, prompt, instruction or inputs (a string)")
    return [user(text)]


def read_openings(path: str | None) -> list[str]:
    """--seed-prompts (one a line), else the shipped English and Indonesian openings."""
    if path is None:
        shipped = read_yaml(OPENINGS)
        return [o for lang in sorted(shipped) for o in shipped[lang]]
    if not Path(path).is_file():
        raise UserError(f"{path}: openings file not found; check --seed-prompts")
    found = [line.strip() for _, line in utf8_lines(Path(path)) if line.strip()]
    if not found:
        raise UserError(f"{path}: no openings in it; one a line")
    return found


def user(text: str) -> dict:
    return {"role": "user", "content": text}
