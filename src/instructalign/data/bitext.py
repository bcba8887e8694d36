"""Read parallel corpora behind one entry point, streaming rows of {language code: sentence}.

Formats, detected from the path given to `--bitext`:
- a NusaX-style folder: `mt/{train,valid,test}.csv`, one column per language (choose with `split`);
- a wide CSV/TSV whose header names languages (index columns such as `id` are ignored);
- a JSONL file of {"src_lang", "tgt_lang", "src", "tgt"};
- `hf:NAME[:CONFIG]`: a Hugging Face dataset (hub id or local folder), read with `datasets`, whose rows
  have a `translation` mapping, src/tgt fields, or one column per language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import csv_records, json_lines, utf8_lines
from ..languages import lookup, resolve

INDEX_COLUMNS = {"", "id", "idx", "index", "unnamed: 0", "label"}


@dataclass(frozen=True)
class Row:
    """One multi-parallel row: the same sentence in several languages, and where it came from."""

    texts: dict[str, str]
    where: str


def is_nusax_folder(path: Path) -> bool:
    return path.is_dir() and (path / "mt").is_dir()


def is_sib200_folder(path: Path) -> bool:
    """SIB-200's layout: <lang>_<Script>/{train,dev,test}.tsv, rows parallel by index_id."""
    return path.is_dir() and any(path.glob("*_*/*.tsv"))


def is_flores_folder(path: Path) -> bool:
    """FLORES-200's official layout: {dev,devtest}/<lang>_<Script>.{dev,devtest}, line-aligned."""
    return path.is_dir() and (any(path.glob("dev/*.dev")) or any(path.glob("devtest/*.devtest")))


def splits(split: str) -> list[str]:
    """'train+dev' -> ['train', 'dev'] (SIB-200 and FLORES folders read several splits at once)."""
    return [s.strip() for s in split.split("+") if s.strip()]


def bitext_files(spec: str, split: str) -> list[Path]:
    """The local files a bitext spec reads (for hashing into the manifest); none for a hub dataset."""
    if spec.startswith("hf:"):
        local = Path(spec[3:].split(":")[0])
        return sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else []
    path = Path(spec)
    if is_nusax_folder(path):
        return [path / "mt" / f"{split}.csv"]
    if is_sib200_folder(path):
        return sorted(f for s in splits(split) for f in path.glob(f"*_*/{s}.tsv"))
    if is_flores_folder(path):
        return sorted(f for s in splits(split) for f in path.glob(f"{s}/*.{s}"))
    return [path]


def read_bitext(spec: str, split: str = "train") -> Iterator[Row]:
    """Stream the rows of one bitext spec; user mistakes raise `UserError` naming file and line."""
    if spec.startswith("hf:"):
        yield from read_hf(spec[3:], split)
        return
    path = Path(spec)
    if not path.exists():
        raise UserError(f"{spec}: no such file or folder; check --bitext")
    if path.is_dir() and not is_nusax_folder(path):
        if is_sib200_folder(path):
            yield from read_sib200(path, split)
        elif is_flores_folder(path):
            yield from read_flores(path, split)
        else:
            raise UserError(
                f"{spec}: a folder must be NusaX (mt/{{split}}.csv), SIB-200 (<lang>_<Script>/{{split}}.tsv) "
                f"or FLORES-200 ({{dev,devtest}}/<lang>_<Script>.<split>); or give a file"
            )
        return
    if path.is_dir():
        csv_path = path / "mt" / f"{split}.csv"
        if not csv_path.is_file():
            raise UserError(f"{csv_path}: no such split file; choose --split train, valid or test")
        yield from read_wide_csv(csv_path)
    elif path.suffix.lower() in (".csv", ".tsv"):
        yield from read_wide_csv(path)
    elif path.suffix.lower() in (".jsonl", ".json"):
        yield from read_jsonl_pairs(path)
    else:
        raise UserError(f"{spec}: unknown bitext format; use a NusaX folder, .csv/.tsv, .jsonl or hf:NAME")


def sib200_column(path: Path) -> dict[str, str]:
    """index_id -> text of one SIB-200 language file."""
    records = csv_records(path)
    first = next(records, None)
    header = [h.strip() for h in first[1]] if first else []
    if "index_id" not in header or "text" not in header:
        raise UserError(
            f"{path}: a SIB-200 file needs index_id and text columns; found {', '.join(header) or 'nothing'}"
        )
    i, t = header.index("index_id"), header.index("text")
    rows = {}
    for line, cells in records:
        if len(cells) != len(header):
            raise UserError(f"{path} line {line}: expected {len(header)} cells, found {len(cells)}")
        rows[cells[i].strip()] = cells[t].strip()
    return rows


def read_sib200(path: Path, split: str) -> Iterator[Row]:
    """Rows joined on index_id across the language folders; folders of unknown languages are skipped
    (add a language under `languages:` in a config to use it)."""
    for s in splits(split):
        columns = {
            lookup(folder.name): sib200_column(folder / f"{s}.tsv")
            for folder in sorted(path.glob("*_*"))
            if (folder / f"{s}.tsv").is_file() and lookup(folder.name)
        }
        if not columns:
            raise UserError(
                f"{path}: no <lang>_<Script>/{s}.tsv of a known language; choose --split train, dev, test or "
                "train+dev"
            )
        for index_id in next(iter(columns.values())):
            texts = {code: col[index_id] for code, col in columns.items() if col.get(index_id)}
            yield Row(texts, f"{path} {s} index_id {index_id}")


def read_flores(path: Path, split: str) -> Iterator[Row]:
    """Rows of line-aligned FLORES-200 files {split}/<lang>_<Script>.{split}."""
    for s in splits(split):
        columns = {}
        for f in sorted(path.glob(f"{s}/*.{s}")):
            code = lookup(f.name.split(".")[0])
            if code:
                columns[code] = [line.rstrip("\n") for _, line in utf8_lines(f)]
        if not columns:
            raise UserError(
                f"{path}: no {s}/<lang>_<Script>.{s} files of a known language; choose --split dev, devtest "
                "or dev+devtest"
            )
        lengths = {code: len(lines) for code, lines in columns.items()}
        if len(set(lengths.values())) > 1:
            raise UserError(
                f"{path}/{s}: files are not line-aligned "
                f"({', '.join(f'{k} {v}' for k, v in lengths.items())} lines)"
            )
        for n in range(next(iter(lengths.values()))):
            texts = {code: lines[n].strip() for code, lines in columns.items() if lines[n].strip()}
            yield Row(texts, f"{path}/{s} line {n + 1}")


def columns_in_words(spec: str) -> str | None:
    """A CSV/TSV source's columns as read (language codes, and what is taken as a row index), for an error
    that has to say why a language was not found; None for other sources."""
    path = Path(spec)
    if path.suffix.lower() not in (".csv", ".tsv") or not path.is_file():
        return None
    header = next(csv_records(path), (0, []))[1]
    words = []
    for name in header:
        if name.strip().lower() == "id":
            words.append("id (a row index, not Indonesian: name that column ind)")
        elif name.strip().lower() in INDEX_COLUMNS:
            words.append(f"{name} (a row index)")
        else:
            words.append(f"{name} ({lookup(name) or 'unknown'})")
    return f"{path.name}'s columns: {', '.join(words)}"


def language_columns(path: Path, header: list[str]) -> dict[int, str]:
    """Map column index -> language code; unknown non-index columns are a user error."""
    columns = {}
    for i, name in enumerate(header):
        if name.strip().lower() in INDEX_COLUMNS:
            continue
        columns[i] = resolve(name, f"{path} header, column {i + 1}")
    if not columns:
        raise UserError(f"{path}: the header names no language column; name each column by its language")
    return columns


def read_wide_csv(path: Path) -> Iterator[Row]:
    if path.stat().st_size == 0:
        raise UserError(f"{path}: file is empty; it needs a header naming languages and one row per sentence")
    records = csv_records(path)
    first = next(records, None)
    if first is None:
        raise UserError(f"{path}: file is empty; it needs a header naming languages and one row per sentence")
    _, header = first
    columns = language_columns(path, header)
    n_rows = 0
    any_text = False
    for line, cells in records:
        if len(cells) != len(header):
            raise UserError(
                f"{path} line {line}: expected {len(header)} cells as in the header, found {len(cells)}; fix "
                "that row"
            )
        n_rows += 1
        texts = {code: cells[i].strip() for i, code in columns.items() if cells[i].strip()}
        any_text = any_text or bool(texts)
        yield Row(texts, f"{path}:{line}")
    if n_rows == 0:
        raise UserError(f"{path}: has a header but no rows; add one row per parallel sentence")
    if not any_text:
        raise UserError(f"{path}: every cell is empty; the file has no sentences")


def require_fields(obj: dict, names: tuple[str, ...], where: str) -> None:
    for name in names:
        if name not in obj:
            raise UserError(f"{where}: missing field '{name}'; each line needs {', '.join(names)}")
        if not isinstance(obj[name], str):
            raise UserError(f"{where}: field '{name}' must be a string")


def read_jsonl_pairs(path: Path) -> Iterator[Row]:
    fields = ("src_lang", "tgt_lang", "src", "tgt")
    for number, obj in json_lines(path):
        where = f"{path} line {number}"
        require_fields(obj, fields, where)
        src, tgt = (
            resolve(obj["src_lang"], f"{where}, src_lang"),
            resolve(obj["tgt_lang"], f"{where}, tgt_lang"),
        )
        texts = {k: v.strip() for k, v in ((src, obj["src"]), (tgt, obj["tgt"])) if v.strip()}
        yield Row(texts, f"{path}:{number}")


def parse_hf_spec(spec: str) -> tuple[str, str | None]:
    name, _, config = spec.partition(":")
    return name, (config or None)


def load_hf_split(name: str, config: str | None, split: str, streaming: bool = True):
    """A split of a Hugging Face dataset: `load_from_disk` for a saved folder, else `load_dataset`
    (streamed)."""
    import datasets

    local = Path(name)
    try:
        if local.is_dir() and ((local / "dataset_dict.json").exists() or (local / "state.json").exists()):
            ds = datasets.load_from_disk(str(local))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise UserError(f"hf:{name}: no split '{split}'; it has {', '.join(ds)}")
                ds = ds[split]
            return ds
        return datasets.load_dataset(name, config, split=split, streaming=streaming)
    except UserError:
        raise
    except FileNotFoundError as exc:
        raise UserError(f"hf:{name}: dataset not found ({exc}); give a hub id or a local folder") from None
    except Exception as exc:  # datasets raises many types for a bad name, config or split
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"hf:{name}{':' + config if config else ''}: could not load split '{split}' ({msg})"
        ) from None


def hf_row_texts(example: dict, where: str) -> dict[str, str]:
    """Language -> text for one dataset row, from a `translation` mapping, src/tgt fields or language
    columns."""
    if isinstance(example.get("translation"), dict):
        items = example["translation"].items()
        return {resolve(k, f"{where}, translation key"): str(v).strip() for k, v in items if str(v).strip()}
    if {"src_lang", "tgt_lang", "src", "tgt"} <= set(example):
        src, tgt = resolve(example["src_lang"], where), resolve(example["tgt_lang"], where)
        return {k: v.strip() for k, v in ((src, example["src"]), (tgt, example["tgt"])) if v and v.strip()}
    texts = {}
    for key, value in example.items():
        code = lookup(key)
        if code and isinstance(value, str) and value.strip():
            texts[code] = value.strip()
    return texts


def read_hf(spec: str, split: str) -> Iterator[Row]:
    name, config = parse_hf_spec(spec)
    dataset = load_hf_split(name, config, split)
    for i, example in enumerate(dataset):
        where = f"hf:{spec} row {i}"
        yield Row(hf_row_texts(example, where), where)
