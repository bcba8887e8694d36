"""Run an instructalign command and SIGKILL it at step N of a folder replace (`outputs.replaced_folder`).

`python tests/kill_at_rename.py N command flags...`: the replace's steps are its three renames (partial ->
ready, old target -> aside, ready -> target) and then the removal of the old folder; the process dies just
before step N (0, 1, 2 or 3), as a crash or a power cut would stop it.
"""

import os
import signal
import sys

from instructalign import outputs
from instructalign.cli import main

KILL_BEFORE = int(sys.argv[1])
steps = 0
real_rename, real_rmtree = os.rename, outputs.shutil.rmtree


def step() -> None:
    global steps
    if steps == KILL_BEFORE:
        os.kill(os.getpid(), signal.SIGKILL)
    steps += 1


def rename(src, dst, *args, **kwargs):
    if ".ready-" in str(src) or ".ready-" in str(dst) or ".old-" in str(dst):
        step()
    return real_rename(src, dst, *args, **kwargs)


def rmtree(path, *args, **kwargs):
    if ".old-" in str(path):
        step()
    return real_rmtree(path, *args, **kwargs)


if __name__ == "__main__":
    outputs.os.rename = rename
    outputs.shutil.rmtree = rmtree
    sys.exit(main(sys.argv[2:]))
