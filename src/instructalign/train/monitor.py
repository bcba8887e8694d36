"""`train --monitor`: forgetting watched while it happens, and `--keep-best`: the probed step to keep.

At step 0 and every `--monitor-every` steps the model being trained is scored on a small probe —
classification tasks on a valid split, `--monitor-limit` sentences per language — by the same
rank-classification code as `eval` (`evaluate_classification`), so a probe at step k equals `instructalign
eval` on checkpoint-k. Each probe appends to OUT/monitor.csv (step, task, language, group, weighted F1,
seconds), writes TensorBoard scalars per group and prints one line; at the end, OUT/monitor.png draws each
group against the step. Rank 0 probes; under DDP the other ranks wait at the next step's all-reduce. After a
resume the history up to the resumed step is kept.

`--keep-best l2` keeps in OUT/best/ the probed step with the highest L2 mean; `l1-kept-l2[:MARGIN]` the one
with the highest L2 among those whose L1 is at least step 0's minus MARGIN points (default 2).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
from transformers import TrainerCallback

from ..chat import ChatFormat
from ..config import EvalConfig, TrainConfig
from ..errors import UserError
from ..evaluate.classification import evaluate_classification, render_prompts
from ..evaluate.metrics import group_means, parse_roles
from ..evaluate.run import data_roots, prepare, task_names
from ..files import read_json, write_atomically, write_json
from ..monitor_history import group_scores, read_history, write_history
from ..options import flag
from ..outputs import replaced_folder
from ..report.plots import run_curves

DEFAULT_MARGIN = 2.0
MONITOR_TITLE = "train --monitor: each group while training"  # monitor.png: each group against the step


@dataclass
class Probe:
    """The probe's tasks, read and checked before training, and the settings they are scored with."""

    eval_cfg: EvalConfig
    prepared: list  # evaluate.run.PreparedTask, one per task
    roles: dict[str, list[str]]


@dataclass
class KeepBest:
    rule: str  # "l2" or "l1-kept-l2"
    margin: float = DEFAULT_MARGIN


def parse_keep_best(value: str | None) -> KeepBest | None:
    if not value:
        return None
    rule, _, margin = value.partition(":")
    if rule not in ("l2", "l1-kept-l2") or (margin and rule == "l2"):
        raise UserError(f"--keep-best {value}: give l2, or l1-kept-l2 with an optional :MARGIN (points)")
    try:
        points = float(margin) if margin else DEFAULT_MARGIN
    except ValueError:
        points = math.nan
    if not math.isfinite(points) or points < 0:
        raise UserError(f"--keep-best {value}: the margin after ':' must be a number of points, 0 or more")
    return KeepBest(rule, points)


def default_roles(cfg: TrainConfig, languages: list[str]) -> dict[str, list[str]]:
    """L1 = the data build's pivots, L2 = its targets, L3 = the task's other languages (from
    manifest.json)."""
    manifest = read_json(Path(cfg.data) / "manifest.json", default={})
    settings = manifest.get("settings") if isinstance(manifest, dict) else None
    settings = settings if isinstance(settings, dict) else {}
    pivots, targets = settings.get("pivots") or [], settings.get("targets") or []
    if not targets:
        raise UserError(
            f"{cfg.data}: its manifest names no target languages; give --monitor-roles 'L1=..;L2=..'"
        )
    roles = {"L1": [x for x in languages if x in pivots], "L2": [x for x in languages if x in targets]}
    roles["L3"] = [x for x in languages if x not in pivots and x not in targets]
    return {k: v for k, v in roles.items() if v}


def prepare_probe(cfg: TrainConfig) -> Probe | None:
    """Every probe file read and checked before the model loads; None without --monitor."""
    if not cfg.monitor:
        if cfg.keep_best:
            raise UserError("--keep-best needs --monitor (the probes it chooses from)")
        defaults = TrainConfig()
        unused = [
            flag(f.name)
            for f in fields(cfg)
            if f.name.startswith("monitor_") and getattr(cfg, f.name) != getattr(defaults, f.name)
        ]
        if unused:
            raise UserError(
                f"{', '.join(unused)} set without --monitor, which would ignore them: add --monitor"
            )
        return None
    parse_keep_best(cfg.keep_best)
    if not cfg.monitor_data:
        raise UserError(
            "--monitor needs --monitor-data: the folder of the probe's task files (e.g. a NusaX folder, for "
            "the default --monitor-task nusax_senti)"
        )
    if cfg.keep_best and cfg.max_steps and cfg.max_steps < cfg.monitor_every:
        raise UserError(
            f"--keep-best with --max-steps {cfg.max_steps} below --monitor-every {cfg.monitor_every}: the "
            "only probe would be the untrained step 0; probe more often (--monitor-every) or train longer"
        )
    if cfg.monitor_split == "test":
        raise UserError(
            "--monitor-split test: choosing a checkpoint on the test split is selection on the evaluation "
            "set; probe the valid split (the default) and evaluate the chosen model on test"
        )
    eval_cfg = EvalConfig(
        model=cfg.model,
        task=cfg.monitor_task,
        data=cfg.monitor_data,
        split=cfg.monitor_split,
        limit=cfg.monitor_limit,
        prompt_langs=cfg.monitor_prompt_langs,
        batch_size=64,
        templates=cfg.monitor_templates,
        output="(monitor)",
    )
    names = task_names(cfg.monitor_task)
    roots = data_roots(cfg.monitor_data, names)
    prepared = [prepare(eval_cfg, n, roots[n], Path("."), len(names) > 1, cfg.monitor_limit) for n in names]
    for p in prepared:
        if p.task.kind != "classification":
            raise UserError(f"--monitor-task {p.task.name}: only classification tasks can be probed")
    languages = list(dict.fromkeys(lang for p in prepared for lang in p.langs))
    roles = parse_roles(cfg.monitor_roles) if cfg.monitor_roles else default_roles(cfg, languages)
    return Probe(eval_cfg, prepared, roles)


@dataclass
class MonitorCallback(TrainerCallback):
    """Probes at step 0 and every `every` steps; keeps monitor.csv, and best/ when asked."""

    probe: Probe
    out: Path
    every: int
    tokenizer: object
    seq2seq: bool
    keep: KeepBest | None = None
    tensorboard: bool = True  # the probe's group means as TensorBoard scalars too (--report-to)
    describe: Callable[[Path], None] | None = None  # writes the run's settings and card into best/
    fmt: ChatFormat | None = None  # the format the model trains in: the probe prompts it the same way
    trainer: object = None  # set once the trainer exists: best/ is saved through it
    history: list[dict] = field(default_factory=list)
    best: dict | None = None
    writer: object = None
    prompts: dict = field(default_factory=dict)  # task name -> its PromptSet, rendered at the first probe

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self.history = [r for r in read_history(self.out) if r["step"] <= state.global_step]
        self.best = self.choose_best()
        if state.global_step == 0 and not self.history:
            self.run(0, model)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.is_world_process_zero and state.global_step % self.every == 0:
            self.run(state.global_step, model)

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.history:
            write_atomically(
                self.out / "monitor.png", run_curves({"this run": [self.history]}, MONITOR_TITLE)
            )

    def run(self, step: int, model) -> None:
        start, rows = time.perf_counter(), []
        group_of = {lang: g for g, langs in self.probe.roles.items() for lang in langs}
        training = model.training
        model.eval()
        with torch.no_grad():
            for p in self.probe.prepared:
                if p.task.name not in self.prompts:  # the same rows every probe: rendered and tokenized once
                    self.prompts[p.task.name] = render_prompts(
                        p.task,
                        p.data,
                        self.tokenizer,
                        p.prompt_langs,
                        self.probe.eval_cfg.templates,
                        self.fmt,
                    )
                per_lang, _ = evaluate_classification(
                    model,
                    self.tokenizer,
                    self.seq2seq,
                    p.task,
                    p.data,
                    p.prompt_langs,
                    self.probe.eval_cfg,
                    self.prompts[p.task.name],
                )
                rows += [
                    {
                        "step": step,
                        "task": p.task.name,
                        "language": lang,
                        "group": group_of.get(lang, ""),
                        "weighted_f1": m["weighted_f1"],
                    }
                    for lang, m in per_lang.items()
                ]
                for role, g in group_means(per_lang, self.probe.roles).items():
                    rows.append(
                        {
                            "step": step,
                            "task": p.task.name,
                            "language": "",
                            "group": role,
                            "weighted_f1": g["weighted_f1"],
                        }
                    )
        model.train(training)
        seconds = time.perf_counter() - start
        for r in rows:
            r["seconds"] = round(seconds, 3)
        self.history += rows
        write_history(self.out, self.history)
        self.report(step, rows, seconds)
        best = self.choose_best()
        if best != self.best:
            self.best = best
            self.save_best()

    def report(self, step: int, rows: list[dict], seconds: float) -> None:
        means = {r["group"]: r["weighted_f1"] for r in rows if not r["language"]}
        words = "  ".join(f"{g} {100 * v:.1f}" for g, v in means.items())
        print(f"monitor step {step}: {words} (weighted F1 x100, {seconds:.1f} s)", flush=True)
        if not self.tensorboard:
            return
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.out / "tensorboard"))
        for group, value in means.items():
            self.writer.add_scalar(f"monitor/{group}", 100 * value, step)
        self.writer.flush()

    def choose_best(self) -> dict | None:
        """The best probed step under the rule, and why; None without --keep-best or probes."""
        if not self.keep:
            return None
        steps = group_scores(self.history)
        if not steps:
            return None
        first = steps[min(steps)]
        allowed = {
            s: g
            for s, g in steps.items()
            if self.keep.rule == "l2" or g.get("L1", 0) >= first.get("L1", 0) - self.keep.margin / 100
        }
        step = max(sorted(allowed), key=lambda s: allowed[s].get("L2", 0))  # ties: the earliest step
        why = (
            "highest L2"
            if self.keep.rule == "l2"
            else (
                f"highest L2 among the probes whose L1 is at least step {min(steps)}'s minus "
                f"{self.keep.margin:g} points"
            )
        )
        return {"step": step, "rule": self.keep.rule, "why": why, "groups": steps[step]}

    def save_best(self) -> None:
        """OUT/best/: the model as trained at the best step, written to a temporary folder and swapped in."""
        with replaced_folder(self.out / "best") as tmp:
            self.trainer.save_model(str(tmp))
            write_json(tmp / "instructalign_best.json", self.best)
            if self.describe:
                self.describe(tmp)
