"""Run `instructalign train` with the given flags and SIGKILL the process right after checkpoint STEP is
saved.

A deterministic stand-in for a crash: `python tests/kill_at.py STEP train-flags...`.
"""

import os
import signal
import sys

from transformers import TrainerCallback

from instructalign.cli import COMMANDS, config_for, make_parser
from instructalign.train import train


class KillAfterSave(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    step, flags = int(sys.argv[1]), sys.argv[2:]
    args = make_parser().parse_args(["train", *flags])
    assert COMMANDS["train"]
    train(config_for(args, "train"), callbacks=(KillAfterSave(step),))
