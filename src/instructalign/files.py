"""Every file the package reads or writes goes through here: atomic writes, YAML/CSV/JSONL readers, hashes.

Writes go to a temporary name beside the target and are renamed into place, so an interrupted run leaves
either the old file or the new one, never half of one. Readers raise `UserError` naming file and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from .errors import UserError

# ---------------------------------------------------------------- writing


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes to a new temporary sibling and rename it onto `path` (removed on any
    error).

    The temporary file gets a random name and is created exclusively, without following a link, so nothing
    planted beside `path` is written through; the rename replaces a link at `path` itself, never its target.
    A write that fails (full disk, no permission) is a one-line UserError and leaves no temporary file.
    """
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        follow_umask(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise UserError(
            f"{path}: could not be written ({exc.strerror or exc}); free space or choose another --output"
        ) from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def umask() -> int:
    """The process's umask: from /proc on Linux (reading it does not change it), else set and set back."""
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("Umask:"))
        return int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def follow_umask(path: Path) -> None:
    """Give a file or folder made private by `mkstemp`/`mkdtemp` the mode the umask gives a new one."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask())


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """A CSV table (header, then rows), written atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomically(path, buf.getvalue())


def check_writable(folder: Path, flag: str = "--output") -> None:
    """Fail before any work when `folder` cannot be created or written: a probe file is written and removed
    in the folder (or its nearest existing parent), so nothing is left in the output folder itself."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: exists and is not a folder; choose another {flag}")
    existing = next(p for p in [folder, *folder.absolute().parents] if p.exists())
    if not existing.is_dir():
        raise UserError(f"{existing}: is a file, so {folder} cannot be created; choose another {flag}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".instructalign-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(
            f"{folder}: cannot write there ({exc.strerror or exc}); choose another {flag}"
        ) from None


def write_json(path: Path, obj) -> None:
    write_atomically(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


# ---------------------------------------------------------------- hashing


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """Where cached base models, downloads and similarity values live ($INSTRUCTALIGN_CACHE)."""
    return Path(os.environ.get("INSTRUCTALIGN_CACHE", Path.home() / ".cache" / "instructalign"))


def files_digest(paths: list[Path]) -> str:
    """A short hash of several files' contents, in order (cache keys)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(sha256_file(p).encode())
    return h.hexdigest()[:16]


COMPLETE = "instructalign_complete.json"  # written last into a folder: each file's size and sha256


def mark_complete(folder: Path, paths: list[Path]) -> None:
    """Record each file's size and sha256 (names relative to `folder`) as the folder's completion marker."""
    listed = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in paths
    }
    write_json(folder / COMPLETE, listed)


def completion_problem(folder: Path, verify: bool = True) -> str | None:
    """Why `folder` is not the complete folder its marker describes (None: it is): no marker, a file missing,
    another size, or (with `verify`) another sha256 (a file damaged in place keeps its size)."""
    marker = folder / COMPLETE
    if not marker.is_file():
        return "no completion marker (its writing was interrupted)"
    listed = read_json(marker, default=None)
    if not isinstance(listed, dict):
        return f"{COMPLETE} is damaged"
    for name, record in listed.items():
        if isinstance(record, int):  # markers of 0.2 checkpoints: the size only
            record = {"size": record, "sha256": None}
        if not isinstance(record, dict) or not isinstance(record.get("size"), int):
            return f"{COMPLETE} is damaged"
        size, digest = record["size"], record.get("sha256")
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} is truncated or changed"
        if verify and digest is not None and sha256_file(path) != digest:
            return f"{name} is damaged (its content no longer matches the sha256 saved with it)"
    return None


# ---------------------------------------------------------------- reading

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where built: ~10x faster


def parse_yaml(text: str):
    """`yaml.safe_load`, with libyaml's safe loader when PyYAML has it."""
    return yaml.load(text, Loader=_YAML_LOADER)


_MISSING = object()


def read_json(
    path: Path, default=_MISSING, what: str = "file", hint: str = "it may be damaged: rewrite or remove it"
):
    """A JSON document. A missing, unreadable or invalid file returns `default` when one is given (a cache or
    record that may not exist yet), else it is a one-line UserError naming the file."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        if default is not _MISSING:
            return default
        if isinstance(exc, FileNotFoundError):
            raise UserError(f"{path}: {what} not found; check the path") from None
        if isinstance(exc, OSError):
            raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        raise UserError(f"{path}: not valid JSON ({exc}); {hint}") from None


def read_yaml(path: Path, what: str = "file", hint: str = "check the path"):
    """A YAML document; a missing file or bad YAML is a one-line UserError."""
    if not path.is_file():
        raise UserError(f"{path}: {what} not found; {hint}")
    try:
        return parse_yaml(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None


def utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a file read as UTF-8, with a clear error on undecodable bytes."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"{path} line {number}: bytes that are not UTF-8 (at byte {exc.start}); re-save the file "
                    "as UTF-8"
                ) from None
            yield number, line.lstrip("\ufeff") if number == 1 else line


CSV_FIELD_LIMIT = 1 << 20  # characters in one CSV cell: far above any sentence or document row here


def csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV/TSV file, header included; the delimiter comes from the extension."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    lines = utf8_lines(path)
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.reader((line for _, line in lines), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            if cells:
                yield reader.line_num, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UserError(
                f"{path} line {start}: a cell of more than {csv.field_size_limit():,} characters starts here "
                f"(the row runs on to line {reader.line_num}); usually a quote left open swallows the lines "
                "after it: check the quoting of that row, or split a text that long"
            ) from None
        raise UserError(f"{path} line {reader.line_num}: malformed CSV ({exc}); check quoting") from None


def json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of a JSONL file; blank lines are skipped."""
    if path.stat().st_size == 0:
        raise UserError(f"{path}: file is empty; expected one JSON object per line")
    seen = False
    for number, line in utf8_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path} line {number}: invalid JSON ({exc.msg} at column {exc.colno}); fix that line"
            ) from None
        if not isinstance(obj, dict):
            raise UserError(f"{path} line {number}: expected a JSON object, found {type(obj).__name__}")
        seen = True
        yield number, obj
    if not seen:
        raise UserError(f"{path}: file has no JSON lines")
