"""`instructalign data preview`: a built folder's first examples exactly as `train` will see them — the same
reading, chat format and tokenization (`data.tokenize_file`) — with the tokens that carry the loss marked."""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..chat import chat_format, check_setting, trained_setting
from ..config import DataPreviewConfig
from ..errors import UserError
from ..models import is_encoder_decoder, load_model_config, load_tokenizer
from .data import IGNORE, tokenize_file


def preview(cfg: DataPreviewConfig, console: Console | None = None) -> list[dict]:
    """Print the first `cfg.n` encoded examples (marked text, or JSON lines); returns them."""
    if not cfg.data or not cfg.model:
        raise UserError("data preview needs --data (a data build folder) and --model")
    data_file = Path(cfg.data) / "train.jsonl"
    if not data_file.is_file():
        raise UserError(
            f"{cfg.data}: no train.jsonl here; give a folder written by 'instructalign data build'"
        )
    check_setting(cfg.chat_template)
    seq2seq = is_encoder_decoder(load_model_config(cfg.model))
    tokenizer = load_tokenizer(cfg.model)
    fmt = chat_format(tokenizer, cfg.chat_template, seq2seq, cfg.system, trained_setting(cfg.model))
    examples = tokenize_file(
        data_file, tokenizer, seq2seq, cfg.max_length, cfg.loss_on_prompt and not seq2seq, Counter(), fmt=fmt
    )
    shown = [{"input_ids": e["input_ids"], "labels": e["labels"]} for e in islice(examples, cfg.n)]
    console = console or Console()
    for i, example in enumerate(shown):
        if cfg.json:
            print(json.dumps(example))
            continue
        console.rule(f"example {i + 1} ({'raw text' if fmt.raw else f'chat template: {fmt.source}'})")
        console.print(marked(tokenizer, example, seq2seq), highlight=False)
    if not cfg.json:
        console.print("[bold green]green[/]: the tokens that carry the loss")
    return shown


def marked(tokenizer, example: dict, seq2seq: bool) -> str:
    """The example's text, its loss-bearing tokens in green (an encoder-decoder's labels are the
    decoder's)."""
    if seq2seq:
        source = escape(tokenizer.decode(example["input_ids"]))
        return f"{source}\n[bold green]{escape(tokenizer.decode(example['labels']))}[/]"
    pieces = []
    for token, label in zip(example["input_ids"], example["labels"]):
        text = escape(tokenizer.decode([token]))
        pieces.append(f"[bold green]{text}[/]" if label != IGNORE else text)
    return "".join(pieces)
