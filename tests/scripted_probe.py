"""`instructalign train` whose monitor probe returns scripted scores instead of scoring the model.

`python tests/scripted_probe.py SCRIPT KILL_AT train-flags...`: SCRIPT is JSON {step: L1 weighted F1} (L1's
languages get that score, every other language 0.5); KILL_AT > 0 SIGKILLs the process right after that
checkpoint is saved (0: never). The probe's scoring is replaced; everything else (the guard, checkpoints,
resume) runs as in `instructalign train`.
"""

import json
import sys

from instructalign.cli import config_for, make_parser
from instructalign.train import monitor, train
from kill_at import KillAfterSave

if __name__ == "__main__":
    script = {int(k): v for k, v in json.loads(sys.argv[1]).items()}
    kill_at, flags = int(sys.argv[2]), sys.argv[3:]
    probing = {}
    real_run = monitor.MonitorCallback.run

    def run(self, step, model):
        probing.update(step=step, l1=set(self.probe.roles.get("L1", [])))
        return real_run(self, step, model)

    def scripted(model, tokenizer, seq2seq, task, data, prompt_langs, cfg, prompts=None):
        score = script[probing["step"]]
        return {lang: {"weighted_f1": score if lang in probing["l1"] else 0.5} for lang in data}, []

    monitor.MonitorCallback.run = run
    monitor.evaluate_classification = scripted
    callbacks = (KillAfterSave(kill_at),) if kill_at else ()
    train(config_for(make_parser().parse_args(["train", *flags]), "train"), callbacks=callbacks)
