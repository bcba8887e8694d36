"""`instructalign data synth-replay`: replay data for a model whose own instruction data is private, written
by the model itself (self-synthesized rehearsal).

With `--prompts` the model answers them. Without, it writes the prompt too: a chat model samples a user turn
from its template's user-turn prefix until that turn's end (Magpie), a model without a template continues an
instruction opening to the end of the line. Rows pass the filters (`filters.py`) and are written, with a
manifest, through the project's output protocol; `data build --replay DIR/replay.jsonl` takes them.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import __version__
from ..chat import ChatFormat, chat_format, check_setting, render, trained_setting
from ..config import SynthReplayConfig, as_dict
from ..errors import UserError
from ..files import sha256_file
from ..models import load_model
from ..options import validate
from ..outputs import check_output, mark_owner, owned_output, replaced_folder
from .filters import REASONS, Bounds, kept_rows
from .generate import Sampling, generate
from .prompts import read_openings, read_prompts, user

COMMAND = "data synth-replay"
MARK = "\x00turn\x00"  # stands for a turn's content when the template's own text around it is wanted
MAX_ROUNDS = 8  # without --prompts: rounds of generation before settling for fewer rows than --n


@dataclass(frozen=True)
class Model:
    """The loaded model with its tokenizer and format."""

    model: object
    tokenizer: object
    fmt: ChatFormat
    seq2seq: bool


def synth_replay(cfg: SynthReplayConfig, console: Console | None = None) -> dict:
    """Write OUTPUT/replay.jsonl and OUTPUT/manifest.json; returns the manifest."""
    console = console or Console()
    prompts = check(cfg)
    openings = None if prompts is not None else read_openings(cfg.seed_prompts)
    out = Path(cfg.output)
    settings = {k: v for k, v in as_dict(cfg).items() if k not in ("output", "overwrite")}
    with owned_output(out, COMMAND, settings, cfg.overwrite):
        m = load(cfg)
        t0 = time.perf_counter()
        with progress_bar(console) as bar:
            if prompts is not None:
                rows, counts = answered(m, cfg, prompts, bar)
            else:
                rows, counts = self_prompted(m, cfg, openings, bar)
        seconds = time.perf_counter() - t0
        if not rows:
            raise UserError(
                f"{cfg.model}: no row survived the filters ({describe(counts)}); see --keep-cut, "
                "--max-new-tokens and --min-chars"
            )
        manifest = make_manifest(cfg, m, settings, counts, len(rows), seconds)
        with replaced_folder(out) as tmp:
            text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
            (tmp / "replay.jsonl").write_text(text, "utf-8")
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
            mark_owner(tmp, COMMAND, settings)
    if cfg.n and prompts is None and len(rows) < cfg.n:
        console.print(f"[yellow]warning[/]: {len(rows)} of the {cfg.n} rows asked for survived the filters")
    console.print(f"{len(rows):,} replay rows ({describe(counts)}) in {out / 'replay.jsonl'}")
    return manifest


def check(cfg: SynthReplayConfig) -> list | None:
    """Every setting and input checked before a model loads; the prompts to answer (None: self-prompted)."""
    validate(cfg)
    if not cfg.model or not cfg.output:
        raise UserError("data synth-replay needs --model and --output")
    if not cfg.prompts and not cfg.n:
        raise UserError(
            "give --n N (the model writes prompts and answers) or --prompts FILE (it answers them)"
        )
    if cfg.top_p > 1:
        raise UserError(f"--top-p {cfg.top_p}: expects a share in (0, 1]")
    if cfg.prompts and cfg.seed_prompts:
        raise UserError("--seed-prompts starts prompts the model writes itself; drop it with --prompts")
    check_setting(cfg.chat_template)
    check_output(Path(cfg.output), [("--prompts", cfg.prompts), ("--seed-prompts", cfg.seed_prompts)], True)
    return read_prompts(Path(cfg.prompts), cfg.n) if cfg.prompts else None


def load(cfg: SynthReplayConfig) -> Model:
    model, tokenizer, seq2seq = load_model(cfg.model)
    fmt = chat_format(tokenizer, cfg.chat_template, seq2seq, cfg.system, trained_setting(cfg.model))
    if not cfg.prompts and seq2seq:
        raise UserError(
            f"{cfg.model}: an encoder-decoder model does not write its own prompts; give --prompts"
        )
    return Model(model, tokenizer, fmt, seq2seq)


# ---------------------------------------------------------------- generation


def answered(m: Model, cfg: SynthReplayConfig, prompts: list[list[dict]], bar, seed: str = "") -> tuple:
    """(rows, counts): each prompt answered, the rows the filters keep."""
    sampling = Sampling(cfg.temperature, cfg.top_p, cfg.max_new_tokens)
    ids = [prompt_ids(m, cfg, turns) for turns in prompts]
    stops, stop_text = stop_of(m, "assistant")
    answers = generate(
        m.model,
        m.tokenizer,
        ids,
        sampling,
        f"{cfg.seed}{seed}:answers",
        cfg.batch_size,
        stops,
        stop_text,
        advance=ticker(bar, "answers", len(ids)),
    )
    counts = Counter(generated=len(answers), tokens=sum(a.tokens for a in answers))
    texts = [(turns[-1]["content"], a.text, a.ended) for turns, a in zip(prompts, answers)]
    keep = kept_rows(texts, bounds(cfg), set(), counts, distinct_prompts=False)
    return [row(m, cfg, prompts[i], answers[i].text) for i in keep], counts


def self_prompted(m: Model, cfg: SynthReplayConfig, openings: list[str], bar) -> tuple:
    """(rows, counts): rounds of prompts written by the model and then answered, until --n rows are kept."""
    rows, counts, seen = [], Counter(), set()
    for round_ in range(MAX_ROUNDS):
        need = cfg.n - len(rows)
        if need <= 0:
            break
        prompts, prompt_counts = written_prompts(m, cfg, openings, 2 * need, round_, seen, bar)
        counts.update(prompt_counts)
        if prompts:
            new, answer_counts = answered(m, cfg, prompts, bar, seed=f":{round_}")
            counts.update(answer_counts)
            rows += new[:need]
    return rows, counts


def written_prompts(m: Model, cfg: SynthReplayConfig, openings, count: int, round_: int, seen: set, bar):
    """`count` prompts the model writes (distinct from every earlier one), and the counts of those dropped."""
    sampling = Sampling(cfg.prompt_temperature, cfg.top_p, cfg.max_prompt_tokens)
    if m.fmt.raw:
        rng = random.Random(f"{cfg.seed}:{round_}:openings")
        starts = [rng.choice(openings) for _ in range(count)]
        ids = [m.tokenizer(s)["input_ids"] for s in starts]
        stops, stop_text = [m.tokenizer.eos_token_id], "\n"
    else:
        starts = [""] * count
        ids = [prefix_ids(m, cfg)] * count
        stops, stop_text = stop_of(m, "user")
    written = generate(
        m.model,
        m.tokenizer,
        ids,
        sampling,
        f"{cfg.seed}:{round_}:prompts",
        cfg.batch_size,
        stops,
        stop_text,
        advance=ticker(bar, "prompts", count),
    )
    texts = [(f"{s} {w.text}".strip(), "-", w.ended) for s, w in zip(starts, written)]
    counts = Counter(prompts_generated=len(written), prompt_tokens=sum(w.tokens for w in written))
    dropped = Counter()
    keep = kept_rows(texts, Bounds(), seen, dropped, distinct_prompts=True)
    counts.update({f"prompts_{k}": v for k, v in dropped.items()})
    system = [{"role": "system", "content": cfg.system}] if cfg.system else []
    return [[*system, user(texts[i][0])] for i in keep], counts


def prompt_ids(m: Model, cfg: SynthReplayConfig, turns: list[dict]) -> list[int]:
    """A prompt's ids as training saw them: the rendered conversation up to the assistant's turn, or the raw
    prompt (with the tokenizer's special tokens, as `train` encodes it)."""
    if m.fmt.raw:
        if len(turns) > 1:
            raise UserError("a prompt of several turns needs a chat template (--chat-template)")
        return m.tokenizer(turns[0]["content"])["input_ids"]
    system = (
        [{"role": "system", "content": cfg.system}] if cfg.system and turns[0]["role"] != "system" else []
    )
    text = render(m.tokenizer, m.fmt, [*system, *turns], generation_prompt=True)
    return m.tokenizer(text, add_special_tokens=False)["input_ids"]


def prefix_ids(m: Model, cfg: SynthReplayConfig) -> list[int]:
    """The template's text before a user turn's content (after a system turn, if any): where Magpie starts."""
    system = [{"role": "system", "content": cfg.system}] if cfg.system else []
    text = render(m.tokenizer, m.fmt, [*system, user(MARK)])
    return m.tokenizer(text[: text.index(MARK)], add_special_tokens=False)["input_ids"]


def stop_of(m: Model, role: str) -> tuple[list[int], str | None]:
    """What ends a `role` turn: the eos token, and the text the template writes right after the turn's content
    (as a token id when it is one token, else as a stop string)."""
    eos = m.tokenizer.eos_token_id
    stops = [eos] if eos is not None else []
    if m.fmt.raw:
        return stops, None
    turns = [user(MARK)] if role == "user" else [user("x"), {"role": "assistant", "content": MARK}]
    text = render(m.tokenizer, m.fmt, turns)
    after = text[text.index(MARK) + len(MARK) :].strip().split("\n")[0].strip()
    if not after:
        return stops, None
    ids = m.tokenizer(after, add_special_tokens=False)["input_ids"]
    return (stops + ids, None) if len(ids) == 1 else (stops, after)


def row(m: Model, cfg: SynthReplayConfig, turns: list[dict], answer: str) -> dict:
    """A replay row: messages under a chat template, prompt/target in the raw format; marked synthesized."""
    if m.fmt.raw:
        return {"prompt": turns[-1]["content"], "target": answer, "synthesized": True}
    system = (
        [{"role": "system", "content": cfg.system}] if cfg.system and turns[0]["role"] != "system" else []
    )
    return {"messages": [*system, *turns, {"role": "assistant", "content": answer}], "synthesized": True}


def bounds(cfg: SynthReplayConfig) -> Bounds:
    return Bounds(cfg.min_chars, cfg.max_chars, cfg.keep_cut)


# ---------------------------------------------------------------- reporting


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tokens]:,} tokens"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def ticker(bar: Progress, name: str, total: int):
    """A bar's advance(rows, tokens) callback: rows done, and the tokens generated so far."""
    task, seen = bar.add_task(name, total=total, tokens=0), Counter()

    def advance(rows: int, tokens: int) -> None:
        seen["tokens"] += tokens
        bar.update(task, advance=rows, tokens=seen["tokens"])

    return advance


def describe(counts: Counter) -> str:
    dropped = [f"{counts[r]} {r.replace('_', ' ')}" for r in REASONS if counts[r]]
    return f"{counts['generated']:,} generated" + (f", dropped: {', '.join(dropped)}" if dropped else "")


def make_manifest(cfg, m: Model, settings: dict, counts: Counter, kept: int, seconds: float) -> dict:
    tokens = counts["tokens"] + counts["prompt_tokens"]
    return {
        "command": COMMAND,
        "version": __version__,
        "model": cfg.model,
        "mode": "answers to --prompts" if cfg.prompts else "prompts and answers by the model",
        "prompts_sha256": sha256_file(Path(cfg.prompts)) if cfg.prompts else None,
        "format": m.fmt.record(),
        "settings": settings,
        "rows": kept,
        "counts": dict(sorted(counts.items())),
        "seconds": round(seconds, 2),
        "rows_per_second": round(kept / seconds, 2) if seconds else None,
        "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
    }
