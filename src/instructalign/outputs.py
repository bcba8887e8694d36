"""Output folders: never destroy what the user did not ask to replace.

Every command that writes a folder goes through here, before any expensive work:

- `check_inputs`: `--output` is never one of the command's inputs, nor inside one (nor, for a command that
  replaces its output whole, a folder that holds an input).
- `check_owner`: an existing, non-empty output is refused unless this command wrote it before with the same
  settings (its `instructalign_output.json` says so) or `--overwrite` is given. `mark_owner` writes the record.
- `output_lock`: one writer per folder. A lock file beside the folder holds the writer's pid under an advisory
  `flock`; a second writer is refused in one line naming that pid, and a lock whose process died is taken
  over with a notice (the kernel releases `flock` when a process dies, however it dies).
- `replaced_folder`: the new folder is written under a hidden temporary name, then swapped in by renames
  that a rerun can finish or roll back (`recover`): partial → ready → (old aside) → in place → old removed.
  A kill between any two steps leaves the old or the new folder complete, and the next run cleans up.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError
from .files import check_writable, read_json, write_json

OWNER_FILE = "instructalign_output.json"
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


# how libraries that write without Python's IO report a failed write, by message only: safetensors' Rust
# IoError, and torch's PytorchStreamWriter after a short write ("file write failed", "unexpected pos N vs M")
FULL_WORDS = ("No space left on device", "StorageFull", "Disk quota exceeded", "File too large", "FileTooLarge",
              "file write failed", "unexpected pos")  # fmt: skip


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says a write ran out of space (or past a file-size limit)."""
    if isinstance(exc, OSError) and exc.errno in DISK_FULL:
        return True
    return isinstance(exc, Exception) and any(w in str(exc) for w in FULL_WORDS)


def disk_full_error(where: Path, exc: BaseException) -> UserError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a write failed"
    return UserError(f"{where}: the disk is full ({reason}); free space and rerun (nothing partial was kept)")


# ---------------------------------------------------------------- inputs and owners


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies inside it (both resolved)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_inputs(
    output: Path, inputs: list[tuple[str, str | None]], replaces: bool = False, roots: tuple[str, ...] = ()
) -> None:
    """Refuse an --output that is an input ((flag, path) pairs) or inside one; when the command replaces its
    output whole (`replaces`), also one that holds an input. Flags in `roots` name data roots that a command
    only reads from (eval's --data): an output beside the data, inside that root, is fine."""
    for flag, value in inputs:
        if not value or not Path(value).expanduser().exists():
            continue  # a hub id, or nothing given
        source = Path(value).expanduser()
        if flag in roots and output.resolve() != source.resolve():
            continue
        if inside(output, source):
            where = "is" if output.resolve() == source.resolve() else "is inside"
            raise UserError(f"--output {output} {where} {flag} {value}; write the result to another folder")
        if replaces and inside(source, output):
            raise UserError(
                f"--output {output} holds {flag} {value}, which replacing it would delete; choose another --output"
            )


def owner(folder: Path) -> dict | None:
    record = read_json(folder / OWNER_FILE, default=None)
    return record if isinstance(record, dict) else None


def check_owner(output: Path, command: str, settings: dict | None, overwrite: bool) -> None:
    """Refuse an existing, non-empty `output` unless this command wrote it with these `settings` (None: any
    settings of this command, for resumable commands) or `overwrite` is set."""
    if overwrite or not output.is_dir() or not any(output.iterdir()):
        return
    record = owner(output)
    if record is None or record.get("command") != command:
        wrote = f"instructalign {record['command']}" if record and record.get("command") else "something else"
        raise UserError(
            f"{output}: exists and holds files that {wrote} wrote, not 'instructalign {command}'; "
            "choose another --output, or pass --overwrite to replace them"
        )
    if settings is not None and record.get("settings") != json.loads(json.dumps(settings)):
        old = record.get("settings") or {}
        diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        raise UserError(
            f"{output}: output folder exists, written by 'instructalign {command}' with other settings "
            f"({', '.join(diff) or 'unknown'}); choose another --output, or pass --overwrite to replace it"
        )


def mark_owner(folder: Path, command: str, settings: dict | None) -> None:
    write_json(folder / OWNER_FILE, {"command": command, "settings": settings})


def check_output(
    output: Path, inputs: list[tuple[str, str | None]], replaces: bool = False, roots: tuple[str, ...] = ()
) -> None:
    """The checks that need no lock, before any work: kind and writability, then the inputs. Creates nothing."""
    check_writable(output)
    check_inputs(output, inputs, replaces, roots)


# ---------------------------------------------------------------- one writer per folder


def lock_path(folder: Path) -> Path:
    folder = folder.absolute()
    return folder.parent / f".{folder.name}.lock"


def lock_holder(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def output_lock(folder: Path, notice=print) -> Iterator[None]:
    """Hold the lock of `folder` (a file beside it) for the block; a held lock is a one-line UserError."""
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"{folder}: in use by another instructalign process (pid {lock_holder(path)}); "
                "wait for it to finish or choose another --output"
            ) from None
        try:  # the file may have been removed by its previous holder between our open and our flock
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    previous = os.read(fd, 64).decode("utf-8", "replace").strip()
    if previous.isdigit() and int(previous) != os.getpid() and not pid_alive(int(previous)):
        notice(f"{folder}: lock left by process {previous}, which is no longer running; taken over")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            os.close(fd)


def is_main_process() -> bool:
    """Rank 0 of a torchrun/accelerate launch (or a plain process): the one that locks and writes."""
    return os.environ.get("RANK", "0") == "0"


@contextmanager
def maybe_locked(folder: Path) -> Iterator[None]:
    """`output_lock` on the main process of a launch; the other ranks write nothing of their own."""
    if is_main_process():
        with output_lock(folder):
            yield
    else:
        yield


@contextmanager
def owned_output(output: Path, command: str, settings: dict | None, overwrite: bool) -> Iterator[None]:
    """The lock of `output`, a replace that a kill interrupted finished or rolled back, then `check_owner`:
    hold it around all the work that writes `output`."""
    with output_lock(output):
        recover(output.absolute())
        check_owner(output, command, settings, overwrite)
        yield


# ---------------------------------------------------------------- replacing a folder, recoverably


def temporaries(target: Path, stage: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{stage}-*")) if target.parent.is_dir() else []


def recover(target: Path, notice=print) -> None:
    """Finish or roll back a replace of `target` that a kill interrupted, and remove its temporaries.

    Call with the lock held: the hidden `.NAME.partial-*`, `.NAME.ready-*` and `.NAME.old-*` folders are then
    this command's own leftovers. A ready folder is complete: it goes in if the target is missing (the kill
    came after the old one was moved aside), else it is dropped; an old folder comes back if nothing else did.
    """
    for leftover in temporaries(target, "partial"):
        shutil.rmtree(leftover, ignore_errors=True)
    done = {"ready": "finished a replace that was interrupted (the new folder is in place)",
            "old": "rolled back a replace that was interrupted (the old folder is back)"}  # fmt: skip
    for stage, what in done.items():  # ready first: a complete new folder wins over the old one
        for folder in temporaries(target, stage):
            if target.exists():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                os.rename(folder, target)
                notice(f"{target}: {what}")


@contextmanager
def replaced_folder(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `target`; on success it takes `target`'s place, on any error it is
    removed (a full disk becomes a one-line UserError). Use it inside `owned_output(target, ...)`."""
    target = target.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(exc):
            raise disk_full_error(target, exc) from None
        raise
    suffix = tmp.name.rsplit("-", 1)[-1]
    ready = target.parent / f".{target.name}.ready-{suffix}"
    old = target.parent / f".{target.name}.old-{suffix}"
    os.rename(tmp, ready)
    if target.exists():
        os.rename(target, old)
    os.rename(ready, target)
    shutil.rmtree(old, ignore_errors=True)
