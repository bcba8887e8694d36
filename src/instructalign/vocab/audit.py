"""`instructalign vocab audit`: how a model's tokenizer cuts each language's training text.

Per language, on the sentences of a parallel source's training split (the same sources as `data build`):
tokens per word, characters per token, the share of words cut into 3 or more pieces, and the share of
tokens that are byte fragments (a SentencePiece byte-fallback piece such as <0xE1>, or a byte-level BPE
token that is not whole UTF-8 on its own) or the unknown token. The pivot languages are audited beside the
others, for comparison. A language the tokenizer was not built for shows many tokens per word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..config import VocabAuditConfig
from ..data.bitext import read_bitext
from ..errors import UserError
from ..files import check_writable, write_csv
from ..languages import resolve_list
from ..models import load_tokenizer
from ..outputs import check_path

BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
COLUMNS = (
    "language",
    "role",
    "sentences",
    "words",
    "tokens",
    "tokens_per_word",
    "chars_per_token",
    "words_3plus_pieces",
    "byte_or_unknown_tokens",
)


@dataclass(frozen=True)
class Fertility:
    sentences: int
    words: int
    tokens: int
    chars: int
    split_words: int  # words cut into 3+ pieces
    fragment_tokens: int  # byte fragments and unknown tokens

    def row(self) -> dict:
        return {
            "sentences": self.sentences,
            "words": self.words,
            "tokens": self.tokens,
            "tokens_per_word": self.tokens / max(self.words, 1),
            "chars_per_token": self.chars / max(self.tokens, 1),
            "words_3plus_pieces": self.split_words / max(self.words, 1),
            "byte_or_unknown_tokens": self.fragment_tokens / max(self.tokens, 1),
        }


def fragment_ids(tokenizer, ids: set[int]) -> set[int]:
    """The ids among `ids` that are byte fragments or the unknown token."""
    out = {i for i in ids if i == tokenizer.unk_token_id}
    for i in ids - out:
        piece = tokenizer.convert_ids_to_tokens(i)
        if isinstance(piece, str) and BYTE_PIECE.match(piece) or "\ufffd" in tokenizer.decode([i]):
            out.add(i)
    return out


def fertility(tokenizer, sentences: list[str]) -> Fertility:
    """How `tokenizer` cuts these sentences (each whole, without special tokens) and their words (each with a
    leading space, as it stands inside a sentence)."""
    encoded = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    words = [w for s in sentences for w in s.split()]
    distinct = sorted(set(words))
    pieces = dict(
        zip(distinct, map(len, tokenizer([" " + w for w in distinct], add_special_tokens=False)["input_ids"]))
    )
    fragments = fragment_ids(tokenizer, {i for ids in encoded for i in ids})
    return Fertility(
        sentences=len(sentences),
        words=len(words),
        tokens=sum(map(len, encoded)),
        chars=sum(len(s) for s in sentences),
        split_words=sum(pieces[w] >= 3 for w in words),
        fragment_tokens=sum(i in fragments for ids in encoded for i in ids),
    )


def texts_by_language(
    sources: list[str], split: str, langs: list[str], limit: int | None
) -> dict[str, list[str]]:
    """Each language's distinct sentences (up to `limit`) from the sources' rows, in reading order."""
    found: dict[str, dict[str, None]] = {}
    for source in sources:
        for row in read_bitext(source, split):
            for lang, text in row.texts.items():
                if (not langs or lang in langs) and text.strip():
                    seen = found.setdefault(lang, {})
                    if limit is None or len(seen) < limit:
                        seen[text.strip()] = None
    return {lang: list(found[lang]) for lang in sorted(found)}


def check(cfg: VocabAuditConfig) -> None:
    if not cfg.model:
        raise UserError("no --model given; name a hub id or a model (or tokenizer) folder")
    if not cfg.data:
        raise UserError(
            "no --data given: a parallel source as for 'data build --bitext' (NusaX, SIB-200, CSV, JSONL, "
            "hf:)"
        )
    if cfg.output:
        check_path(Path(cfg.output))
        check_writable(Path(cfg.output))
    if "test" in re.split(r"[+,]", cfg.split):
        raise UserError(
            f"--split {cfg.split}: the audit reads training text; test sentences stay unseen (use train or "
            "valid)"
        )


def audit(cfg: VocabAuditConfig) -> list[dict]:
    """Every language's fertility row (pivots first), on the console and in OUTPUT/audit.csv."""
    check(cfg)
    langs = resolve_list(cfg.langs, "--langs") if cfg.langs else []
    pivots = resolve_list(cfg.pivots, "--pivots")
    tokenizer = load_tokenizer(cfg.model)  # before the text is read: a wrong --model fails fast
    texts = texts_by_language(
        cfg.data, cfg.split, sorted(set(langs) | set(pivots)) if langs else [], cfg.limit
    )
    missing = [lang for lang in langs if lang not in texts]
    if missing or not texts:
        raise UserError(
            f"--langs {','.join(missing or langs)}: no text of these languages in {', '.join(cfg.data)} "
            f"({cfg.split} split)"
        )
    order = [p for p in pivots if p in texts] + [lang for lang in texts if lang not in pivots]
    rows = [
        {"language": lang, "role": "pivot" if lang in pivots else "audited"}
        | fertility(tokenizer, texts[lang]).row()
        for lang in order
    ]
    show(rows, cfg)
    if cfg.output:
        write(rows, Path(cfg.output))
    return rows


def show(rows: list[dict], cfg: VocabAuditConfig) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"vocab audit: {cfg.model}, {cfg.split} split", title_justify="left")
    for name in ("language", "role", "words", "tok/word", "chars/tok", "3+ pieces", "byte/unk"):
        table.add_column(name, justify="left" if name in ("language", "role") else "right")
    for r in rows:
        table.add_row(
            r["language"],
            r["role"],
            f"{r['words']:,}",
            f"{r['tokens_per_word']:.2f}",
            f"{r['chars_per_token']:.2f}",
            f"{100 * r['words_3plus_pieces']:.1f}%",
            f"{100 * r['byte_or_unknown_tokens']:.2f}%",
        )
    Console().print(table)


def write(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    body = [[f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in COLUMNS] for r in rows]
    write_csv(out / "audit.csv", list(COLUMNS), body)
    print(f"wrote {out / 'audit.csv'}")
