"""Keep evaluation texts out of training data.

`--exclude PATH` names evaluation texts: a NusaX folder (its sentiment test sets and mt/test.csv), a
CSV/TSV (its `text` column, or every language column), a JSONL file (its string fields) or a plain text
file (one sentence a line). Texts are compared after whitespace and case normalisation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import UserError
from ..files import csv_records, json_lines, utf8_lines
from .bitext import INDEX_COLUMNS, is_nusax_folder, is_sib200_folder, splits

NON_TEXT_FIELDS = {"id", "label", "lang", "src_lang", "tgt_lang", "language"}


def normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def nusax_eval_files(folder: Path) -> list[Path]:
    """A NusaX folder's held-out evaluation files: every sentiment test.csv and mt/test.csv."""
    files = sorted(folder.glob("sentiment/*/test.csv"))
    if (folder / "mt" / "test.csv").is_file():
        files.append(folder / "mt" / "test.csv")
    return files


def eval_files(folder: Path) -> list[Path]:
    """The held-out test files of a benchmark folder: NusaX, SIB-200 or NusaWrites (empty if none)."""
    if is_nusax_folder(folder) or (folder / "sentiment").is_dir():
        return nusax_eval_files(folder)
    if is_sib200_folder(folder):
        return sorted(folder.glob("*_*/test.tsv"))
    return sorted(folder.glob("*-test.csv"))  # NusaWrites: nusa_kalimat-senti-<lang>-test.csv


def exclusion_files(spec: str) -> list[Path]:
    path = Path(spec)
    if not path.exists():
        raise UserError(f"{spec}: no such file or folder; check --exclude")
    if path.is_dir():
        files = eval_files(path)
        if not files:
            raise UserError(
                f"{spec}: an --exclude folder must be a NusaX, SIB-200 or NusaWrites folder (with test "
                "files); or give a file"
            )
        return files
    return [path]


def texts_of_file(path: Path) -> set[str]:
    suffix = path.suffix.lower()
    texts: set[str] = set()
    if suffix in (".csv", ".tsv"):
        records = csv_records(path)
        first = next(records, None)
        if first is None:
            raise UserError(f"{path}: file is empty; --exclude needs evaluation texts")
        header = [h.strip().lower() for h in first[1]]
        columns = (
            [header.index("text")]
            if "text" in header
            else [i for i, h in enumerate(header) if h not in INDEX_COLUMNS]
        )
        for _, cells in records:
            texts.update(normalize(cells[i]) for i in columns if i < len(cells) and cells[i].strip())
    elif suffix in (".jsonl", ".json"):
        for _, obj in json_lines(path):
            texts.update(
                normalize(v)
                for k, v in obj.items()
                if k not in NON_TEXT_FIELDS and isinstance(v, str) and v.strip()
            )
    else:
        texts.update(normalize(line) for _, line in utf8_lines(path) if line.strip())
    return texts


def load_exclusions(specs: list[str]) -> tuple[set[str], list[Path]]:
    """The normalised texts of every --exclude spec, and the files they came from."""
    texts: set[str] = set()
    files: list[Path] = []
    for spec in specs:
        for path in exclusion_files(spec):
            texts |= texts_of_file(path)
            files.append(path)
    return texts, files


def without_evaluation_texts(rows, excluded: set[str], stats: Counter):
    """Replay rows whose target, prompt, or a line of the prompt (or what follows its label, as in
    'Text: ...') is an evaluation text are dropped and counted, as bitext pairs are."""
    for row in rows:
        if excluded and holds_evaluation_text(row, excluded):
            stats["replay_excluded"] += 1
            continue
        yield row


def holds_evaluation_text(row: dict, excluded: set[str]) -> bool:
    """Whether a replay row's answer, prompt, a line of its prompt, or what follows a label on it ('Text:
    ...') is an evaluation text; for a conversation, every turn's."""
    texts = [m["content"] for m in row["messages"]] if "messages" in row else [row["target"], row["prompt"]]
    pieces = list(texts)
    for text in texts:
        for line in text.splitlines():
            pieces += [line, line.partition(": ")[2]]
    return any(normalize(p) in excluded for p in pieces if p.strip())


def is_evaluation_split(split: str) -> bool:
    """Whether a split names a test set ('test', or one part of 'train+test')."""
    return "test" in splits(split.replace(",", "+"))


def benchmark_of(spec: str) -> Path | None:
    """The benchmark folder (NusaX, SIB-200, NusaWrites: one with test files) a source is, or that a file of
    it lies in (its folder or the one above)."""
    if spec.startswith("hf:"):
        return None
    path = Path(spec).resolve()
    return next((f for f in [path, *list(path.parents)[:2]] if f.is_dir() and eval_files(f)), None)


def guarded_files(specs: list[str], split: str) -> list[Path]:
    """A benchmark folder read for training text — given, or holding a file that is given — guards its own
    test sets (none when the test split itself is read, by permission: `--allow-eval-split`)."""
    if is_evaluation_split(split):
        return []
    folders = dict.fromkeys(f for f in map(benchmark_of, specs) if f is not None)
    return [f for folder in folders for f in eval_files(folder)]


def check_not_evaluation(specs: list[str], split: str, flag: str, allow: str | None) -> None:
    """Refuse to read an evaluation split, or a benchmark's test file given by its path, as training text;
    `allow` names the flag that permits it (None: never)."""
    permit = f", or pass {allow} if that is what you mean" if allow else ""
    if is_evaluation_split(split):
        raise UserError(
            f"--split {split}: a test split holds the evaluation's sentences; training on them makes every "
            f"test score meaningless: read train (or valid){permit}"
        )
    for spec in specs:
        folder = benchmark_of(spec)
        if folder is not None and Path(spec).resolve() in {f.resolve() for f in eval_files(folder)}:
            raise UserError(
                f"{flag} {spec}: the test file of {folder}, whose sentences are the evaluation's; give its "
                f"training split instead{permit}"
            )


def check_mostly_evaluation(stats: Counter, flag: str, allow: str) -> None:
    """After reading: a source whose pairs are nearly all (90% or more) evaluation sentences, dropped by the
    guard, was almost certainly a test set under another name."""
    excluded, used = stats["pairs_excluded"], stats["pairs_used"]
    if excluded and excluded >= 0.9 * (excluded + used):
        raise UserError(
            f"{flag}: {excluded:,} of {excluded + used:,} pairs are evaluation sentences (a test set under "
            f"another name?); train on text that is not the evaluation's, or pass {allow} if that is what "
            "you mean"
        )
