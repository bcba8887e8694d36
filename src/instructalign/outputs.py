"""Output folders: never destroy what the user did not ask to replace, never write where a link points.

Every folder the package writes goes through here, before any expensive work; this is the only module that
renames or locks folders (a test keeps it so); it is long because every way of writing a folder lives here:

- `check_output`: `--output` is a folder or nothing yet (not a file, a link or a loop of links), writable,
  never one of the command's inputs, nor inside one (nor, for a command that replaces its output whole, a
  folder that holds an input).
- `check_owner`: an existing, non-empty output is refused unless this command wrote it before with the same
  settings (its `instructalign_output.json` says so) or `--overwrite` is given; `--overwrite` itself refuses
  `/`, the home folder, the working folder and the folders above it, and a folder holding files that
  instructalign did not write. `mark_owner` writes the record.
- `output_lock`: one writer per folder. A lock file beside the folder, created without following links and
  only trusted when it is a plain file of this user, holds the writer's pid under an advisory `flock`; a
  second writer is refused in one line naming that pid (or, with `wait`, takes its turn), and a lock whose
  process died is taken over with a notice (the kernel releases `flock` when a process dies, however it dies).
- `replaced_folder`: the new folder is written under a hidden temporary name made with a random suffix (and a
  record of who made it, for what), then swapped in by renames that a rerun can finish or roll back
  (`recover`): partial → ready → (old aside) → in place → old removed. A kill between any two steps leaves the
  old or the new folder complete, and the next run cleans up; `recover` trusts only temporaries of this user
  that carry that record.
- `built_once`: a cache folder (a stand-in base, tokenized data) built under a lock that waits, with the size
  and sha256 of each file in its completion marker: reused when they match, rebuilt with a notice when not.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError
from .files import check_writable, completion_problem, follow_umask, mark_complete, read_json, write_json

OWNER_FILE = "instructalign_output.json"
PENDING_FILE = ".instructalign_pending.json"  # inside a temporary folder: who made it, for which target
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


# how libraries that write without Python's IO report a failed write, by message only: safetensors' Rust
# IoError, and torch's PytorchStreamWriter after a short write ("file write failed", "unexpected pos N vs M")
FULL_WORDS = (
    "No space left on device",
    "StorageFull",
    "Disk quota exceeded",
    "File too large",
    "FileTooLarge",
    "file write failed",
    "unexpected pos",
)


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
                f"--output {output} holds {flag} {value}, which replacing it would delete; choose another "
                "--output"
            )


def check_path(folder: Path, flag: str = "--output") -> None:
    """A folder path that can be used: not a link (a link's target is the folder to name), not under a loop of
    links, not below a file."""
    try:
        folder.stat()
    except FileNotFoundError:
        pass
    except NotADirectoryError:
        raise UserError(
            f"{folder}: a part of this path is a file, not a folder; choose another {flag}"
        ) from None
    except OSError as exc:
        raise UserError(f"{folder}: cannot be used ({exc.strerror or exc}); choose another {flag}") from None
    if folder.is_symlink():
        raise UserError(
            f"{folder}: is a symbolic link (to {os.readlink(folder)}); give the folder it points to, or "
            f"choose another {flag}"
        )


def check_output(
    output: Path, inputs: list[tuple[str, str | None]], replaces: bool = False, roots: tuple[str, ...] = ()
) -> None:
    """The checks that need no lock, before any work: kind and writability, then the inputs. Creates
    nothing."""
    check_path(output)
    check_writable(output)
    check_inputs(output, inputs, replaces, roots)


def owner(folder: Path) -> dict | None:
    record = read_json(folder / OWNER_FILE, default=None)
    return record if isinstance(record, dict) else None


def listing(folder: Path, most: int = 3) -> str:
    """What a folder holds, in a few words: 'a.txt, b/ and 10 more'."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def check_overwrite(output: Path, ours: bool) -> None:
    """--overwrite deletes what `output` holds: refused for `/`, the home folder, the working folder and those
    above it, and a folder holding files that instructalign did not write (`ours` False)."""
    resolved = output.resolve()
    places = {Path("/"): "the root folder", Path.home().resolve(): "your home folder"}
    what = places.get(resolved) or ("the working folder" if resolved == Path.cwd().resolve() else None)
    if what is None and inside(Path.cwd(), resolved):
        what = "a folder above the working folder"
    if what is None and ours:
        return
    what = what or "a folder that instructalign did not write"
    raise UserError(
        f"--overwrite {output}: is {what}; replacing it would delete {listing(output)}; choose another "
        "--output (or remove those files yourself)"
    )


def check_owner(output: Path, command: str, settings: dict | None, overwrite: bool) -> None:
    """Refuse an existing, non-empty `output` unless this command wrote it with these `settings` (None: any
    settings of this command, for resumable commands) or `overwrite` is set (and allowed: `check_overwrite`).
    """
    if not output.is_dir() or not any(output.iterdir()):
        return
    record = owner(output)
    if overwrite:
        check_overwrite(output, record is not None)
        return
    if record is None or record.get("command") != command:
        wrote = f"instructalign {record['command']}" if record and record.get("command") else "something else"
        raise UserError(
            f"{output}: exists and holds files that {wrote} wrote, not 'instructalign {command}'; choose "
            "another --output, or pass --overwrite to replace them"
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


# ---------------------------------------------------------------- one writer per folder


def lock_path(folder: Path) -> Path:
    folder = folder.absolute()
    return folder.parent / f".{folder.name}.lock"


def open_lock(path: Path, folder: Path) -> int:
    """The lock file, opened without following a link; only a plain file of this user with one name is
    trusted (it is truncated and written). Anything else is a one-line UserError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise UserError(
            f"{folder}: its lock {path} cannot be made ({why}); the folder above must be writable and hold "
            "no link of that name: choose another --output"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_nlink != 1:
        os.close(fd)
        raise UserError(
            f"{folder}: its lock {path} is not a file this user made (another user's file, or a link); "
            "remove it if it is safe to, or choose another --output"
        )
    return fd


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def output_lock(folder: Path, wait: bool = False, notice=print) -> Iterator[None]:
    """Hold the lock of `folder` (a file beside it) for the block; a held lock is a one-line UserError, or
    with `wait` a turn to wait for (processes that build one cache take turns)."""
    path = lock_path(folder)
    while True:
        fd = open_lock(path, folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.read(fd, 64).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"{folder}: in use by another instructalign process (pid {holder}); wait for it to finish or "
                "choose another --output"
            ) from None
        try:  # the file may have been removed by its previous holder between our open and our flock
            same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
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
    """This user's hidden `.NAME.<stage>-*` folders beside `target` that carry the record a replace of
    `target` writes (a folder or link planted by someone else is never trusted)."""
    if not target.parent.is_dir():
        return []
    found = []
    for path in sorted(target.parent.glob(f".{glob.escape(target.name)}.{stage}-*")):
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            continue
        record = read_json(path / PENDING_FILE, default=None)
        if isinstance(record, dict) and record.get("target") == target.name:
            found.append(path)
    return found


def recover(target: Path, notice=print) -> None:
    """Finish or roll back a replace of `target` that a kill interrupted, and remove its temporaries.

    Call with the lock held: the hidden `.NAME.partial-*`, `.NAME.ready-*` and `.NAME.old-*` folders are then
    this command's own leftovers. A ready folder is complete: it goes in if the target is missing (the kill
    came after the old one was moved aside), else it is dropped; an old folder comes back if nothing else did.
    """
    target = target.absolute()
    for leftover in temporaries(target, "partial"):
        shutil.rmtree(leftover, ignore_errors=True)
    done = {
        "ready": "finished a replace that was interrupted (the new folder is in place)",
        "old": "rolled back a replace that was interrupted (the old folder is back)",
    }
    for stage, what in done.items():  # ready first: a complete new folder wins over the old one
        for folder in temporaries(target, stage):
            if target.exists() or target.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                os.rename(folder, target)
                notice(f"{target}: {what}")
    if target.is_dir() and not target.is_symlink():
        (target / PENDING_FILE).unlink(missing_ok=True)  # a kill between marking the old folder and moving it


def new_temporary(target: Path) -> Path:
    """A hidden folder beside `target` with a random suffix, made by this process (never one that existed),
    following the umask, with the record that lets `recover` trust it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    follow_umask(tmp)
    pending(tmp, target.name)
    return tmp


def pending(folder: Path, target: str) -> None:
    """The record in a folder on its way in or out that lets `recover` trust it."""
    write_json(folder / PENDING_FILE, {"target": target, "pid": os.getpid()})


@contextmanager
def replaced_folder(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `target`; on success it takes `target`'s place, on any error it
    is removed (a full disk becomes a one-line UserError). Hold `target`'s lock around it (`owned_output`)."""
    target = target.absolute()
    tmp = new_temporary(target)
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
    moved_aside = target.exists() or target.is_symlink()
    if moved_aside:
        if target.is_dir() and not target.is_symlink():
            pending(target, target.name)  # so that a rerun trusts it if a kill leaves it aside
        os.rename(target, old)
    os.rename(ready, target)
    (target / PENDING_FILE).unlink(missing_ok=True)
    if moved_aside:
        remove_folder(old)


def remove_folder(folder: Path) -> None:
    """Remove a folder (a link: the link only, never what it points to)."""
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def removed(folder: Path) -> None:
    """Remove a folder the way a replace removes the old one: moved aside first (a kill leaves it whole, and
    the next `recover` puts it back), then deleted."""
    folder = folder.absolute()
    pending(folder, folder.name)
    aside = folder.parent / f".{folder.name}.old-{secrets.token_hex(6)}"
    os.rename(folder, aside)
    remove_folder(aside)


# ---------------------------------------------------------------- caches


def built_once(folder: Path, build: Callable[[Path], None], notice=print) -> bool:
    """`folder`, built by `build(tmp)` once and then reused; whether it was reused.

    Processes that need the same folder take turns (a lock that waits): the later ones find it built. It is
    reused only when every file its completion marker lists has that size and sha256; a damaged or unfinished
    one is rebuilt with a notice."""
    folder = folder.absolute()
    with output_lock(folder, wait=True, notice=notice):
        recover(folder, notice)
        if folder.is_dir():
            problem = completion_problem(folder)
            if problem is None:
                return True
            notice(f"{folder}: {problem}; rebuilding it")
        with replaced_folder(folder) as tmp:
            build(tmp)
            mark_complete(tmp, [p for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != PENDING_FILE])
        return False
