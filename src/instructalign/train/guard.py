"""`train --replay-share S` and `--replay-guard MARGIN`: alignment and replay rows drawn as two pools, at a
share of replay that is fixed, or that reacts to forgetting.

Every slot of every batch holds one candidate from each pool (each pool walked in its own seeded order,
reshuffled at each pass, sorted by length within runs of 50 batches so that batches pad little) and a
uniform number u; the trainer keeps the replay candidate where u < the share of
the step being trained, else the alignment one. Slots are fixed by their index, so a resume, DDP and gradient
accumulation see the same candidates, and the choice is made when the step starts — after the probes of the
steps before it — whatever the data loader has prefetched.

The guard's rule (documented, tested): after each probe (the monitor's, at step k > 0), let drop = L1 at
step 0 − L1 at step k, in weighted-F1 points. drop > MARGIN: the share rises by 0.1 (at most 0.9);
drop <= MARGIN / 2 (L1 recovered): it falls by 0.1, never below the starting share; else it holds.
A change applies from step k + 1. The schedule is saved in each checkpoint (`replay_guard.json`) and, with
the replay rows it used (counted from the slots), in train_summary.json.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from transformers import TrainerCallback

from ..errors import UserError
from ..files import read_json, write_json
from ..monitor_history import group_scores
from .cache import replay_flags
from .data import PaddingCollator

GUARD_STATE = "replay_guard.json"  # in each checkpoint: the share schedule, for an exact resume
STEP, CAP = 0.1, 0.9  # the guard's rule: the share's change per probe, and its ceiling


@dataclass
class ShareSchedule:
    """The replay share of each step: `changes` holds (first step, share) pairs, step 1 first."""

    start: float
    margin: float | None = None  # points of L1; None: a fixed share
    changes: list[list] = field(default_factory=list)

    def __post_init__(self):
        if not self.changes:
            self.changes = [[1, self.start]]

    def share_at(self, step: int) -> float:
        """The share of training step `step` (1-based: the first step trained is 1)."""
        return next(share for first, share in reversed(self.changes) if first <= step)

    def observe(self, step: int, l1: float, l1_first: float) -> float:
        """Apply the rule to the probe of step `step` (L1 as weighted F1 in [0, 1]); the share from step +
        1."""
        current = self.share_at(step + 1)
        if self.margin is None or step == 0:
            return current
        drop = 100 * (l1_first - l1)
        if drop > self.margin:
            new = min(CAP, current + STEP)
        elif drop <= self.margin / 2:
            new = max(self.start, current - STEP)
        else:
            new = current
        new = round(new, 6)
        if new != current:
            self.changes = [c for c in self.changes if c[0] <= step] + [[step + 1, new]]
        return new

    def state(self) -> dict:
        return {"start": self.start, "margin": self.margin, "changes": self.changes}

    @classmethod
    def from_state(cls, state: dict) -> ShareSchedule:
        return cls(state["start"], state["margin"], [list(c) for c in state["changes"]])


class PairedSlots(torch.utils.data.Dataset):
    """Slot i: the i-th alignment candidate, the i-th replay candidate and u_i, from the examples of `dataset`
    split by `replayed` into two pools, each in its own seeded order per pass."""

    def __init__(self, dataset, replayed: np.ndarray, slots: int, seed: int, lengths=None, group: int = 1):
        self.dataset, self.slots, self.seed = dataset, slots, seed
        self.pools = (np.flatnonzero(~replayed), np.flatnonzero(replayed))
        self.lengths, self.group = lengths, group

    def __len__(self) -> int:
        return self.slots

    @lru_cache(maxsize=8)  # noqa: B019 — one slot object per run; a pass's order is reused for its slots
    def order(self, pool: int, epoch: int) -> np.ndarray:
        """A seeded permutation of the pool; with lengths, sorted longest first within runs of `group` rows
        (as the length-grouped sampler does with its megabatches), so that a batch's rows pad little."""
        order = np.random.default_rng([self.seed, pool, epoch]).permutation(self.pools[pool])
        if self.lengths is None or self.group <= 1:
            return order
        runs = [order[i : i + self.group] for i in range(0, len(order), self.group)]
        return np.concatenate([r[np.argsort(-self.lengths[r], kind="stable")] for r in runs])

    def candidate(self, pool: int, i: int) -> dict:
        epoch, at = divmod(i, len(self.pools[pool]))
        return self.dataset[int(self.order(pool, epoch)[at])]

    def u(self, i: int) -> float:
        return random.Random((self.seed << 40) | i).random()

    def __getitem__(self, i: int) -> dict:
        return {"align": self.candidate(0, i), "replay": self.candidate(1, i), "u": self.u(i)}

    def replay_used(self, schedule: ShareSchedule, steps: int, global_batch: int) -> int:
        """Replay rows trained on in steps 1..`steps`, all processes together: slot i belongs to step
        i // global_batch + 1 (the sampler is sequential; each step takes the next global batch of slots)."""
        return sum(self.u(i) < schedule.share_at(i // global_batch + 1) for i in range(steps * global_batch))


def check_pools(replayed: np.ndarray, data: str) -> None:
    if replayed.all() or not replayed.any():
        kind = "alignment" if replayed.all() else "replay"
        raise UserError(
            f"{data}/train.jsonl: no {kind} rows; --replay-share/--replay-guard draw from both pools (rows "
            "marked source: replay come from 'data build --replay')"
        )


@dataclass
class PairedCollator:
    """Pads both candidates of each slot into one batch (alignment rows first, then replay rows) and keeps u;
    tokens are counted when rows are chosen (`choose`), into `counts`."""

    pad: object  # a PaddingCollator of its own (its counts include candidates never trained on)
    counts: object  # the run's PaddingCollator.counts

    def __call__(self, features: list[dict]) -> dict:
        batch = self.pad([f["align"] for f in features] + [f["replay"] for f in features])
        batch["u"] = torch.tensor([f["u"] for f in features], dtype=torch.float64)
        batch["n_target"] = torch.tensor([f[k]["n_target"] for k in ("align", "replay") for f in features])
        return batch


def choose(batch: dict, share: float, counts, seq2seq: bool) -> tuple[dict, int]:
    """The trained rows of a paired batch: slot j's replay candidate where u_j < share, else its alignment
    one; padding beyond the longest chosen row removed. Returns the batch and its number of replay rows."""
    u = batch.pop("u")
    n_target = batch.pop("n_target")
    slots = len(u)
    replay = u < share
    rows = torch.arange(slots) + slots * replay.long()
    chosen = {k: v[rows] for k, v in batch.items()}
    width = int(chosen["attention_mask"].sum(1).max())
    chosen["input_ids"], chosen["attention_mask"] = (
        chosen["input_ids"][:, :width],
        chosen["attention_mask"][:, :width],
    )
    if not seq2seq:
        chosen["labels"] = chosen["labels"][:, :width]
    counts["real_tokens"] += int(chosen["attention_mask"].sum()) + (
        int((chosen["labels"] != -100).sum()) if seq2seq else 0
    )
    counts["padded_tokens"] += chosen["attention_mask"].numel() + (chosen["labels"].numel() if seq2seq else 0)
    counts["target_tokens"] += int(n_target[rows].sum())
    counts["examples"] += slots
    return chosen, int(replay.sum())


class GuardCallback(TrainerCallback):
    """Reads each probe's L1 (from the monitor, on rank 0), applies the rule, shares the new share with every
    rank, logs it, and saves the schedule into each checkpoint."""

    def __init__(self, schedule: ShareSchedule, monitor):
        self.schedule, self.monitor = schedule, monitor

    def on_step_end(self, args, state, control, **kwargs):
        if self.schedule.margin is None or state.global_step % self.monitor.every:
            return
        changes = [self.schedule.changes]
        if state.is_world_process_zero:
            self.react(state.global_step)
            changes = [self.schedule.changes]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast_object_list(changes, src=0)
            self.schedule.changes = changes[0]

    def react(self, step: int) -> None:
        scores = group_scores(self.monitor.history)
        if step not in scores or 0 not in scores or "L1" not in scores[step]:
            return
        before = self.schedule.share_at(step + 1)
        after = self.schedule.observe(step, scores[step]["L1"], scores[0]["L1"])
        if after != before:
            print(
                f"replay guard step {step}: L1 {100 * scores[step]['L1']:.1f} vs {100 * scores[0]['L1']:.1f} "
                f"at step 0 (margin {self.schedule.margin:g}): replay share {before:g} -> {after:g}",
                flush=True,
            )

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            write_json(
                Path(args.output_dir) / f"checkpoint-{state.global_step}" / GUARD_STATE, self.schedule.state()
            )


@dataclass
class Pools:
    """Everything a two-pool run adds: its slots, their collator, the share schedule and its callback."""

    slots: PairedSlots
    collator: PairedCollator
    schedule: ShareSchedule
    callback: GuardCallback
    global_batch: int

    @classmethod
    def make(cls, cfg, dataset, replayed: np.ndarray, lengths, args, resume, collator, monitor) -> Pools:
        check_pools(replayed, cfg.data)
        start = cfg.replay_share if cfg.replay_share is not None else round(float(replayed.mean()), 4)
        saved = resume and read_json(Path(resume) / GUARD_STATE, default=None)
        schedule = ShareSchedule.from_state(saved) if saved else ShareSchedule(start, cfg.replay_guard)
        global_batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
        slots = PairedSlots(
            dataset, replayed, cfg.max_steps * global_batch, cfg.seed, lengths, 50 * global_batch
        )
        paired = PairedCollator(PaddingCollator(collator.pad_id, collator.seq2seq), collator.counts)
        print(
            f"two pools: {int((~replayed).sum()):,} alignment and {int(replayed.sum()):,} replay rows; "
            f"replay share {schedule.share_at(1):g}"
            + (
                f", guarded (margin {cfg.replay_guard:g} points)"
                if cfg.replay_guard is not None
                else ", fixed"
            )
        )
        return cls(slots, paired, schedule, GuardCallback(schedule, monitor), global_batch)

    def summary(self, steps: int) -> dict:
        used = self.slots.replay_used(self.schedule, steps, self.global_batch)
        return {
            "replay_schedule": self.schedule.state(),
            "replay_rows_used": used,
            "align_rows_used": steps * self.global_batch - used,
        }


def check_pool_settings(cfg) -> None:
    """The two-pool settings, checked before anything loads."""
    if cfg.replay_share is not None and cfg.replay_share > 1:
        raise UserError(f"--replay-share {cfg.replay_share:g}: a share of each batch, in [0, 1]")
    if cfg.replay_guard is not None and not cfg.monitor:
        raise UserError("--replay-guard needs --monitor: it reacts to the probe's L1")
    if (cfg.replay_share is not None or cfg.replay_guard is not None) and not cfg.max_steps:
        flag = "--replay-guard" if cfg.replay_guard is not None else "--replay-share"
        raise UserError(
            f"{flag} draws each step's rows from two pools: give --max-steps (epochs do not apply)"
        )


def two_pools(cfg, dataset, lengths, cache_key: str, args, resume, collator, monitor) -> Pools | None:
    """--replay-share/--replay-guard: the slots, their collator, the share schedule (restored from the
    checkpoint resumed from) and its callback; None for plain sampling."""
    if cfg.replay_share is None and cfg.replay_guard is None:
        return None
    lengths = lengths if cfg.group_by_length else None
    return Pools.make(cfg, dataset, replay_flags(cache_key), lengths, args, resume, collator, monitor)
