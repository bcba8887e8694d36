"""`train --replay-share` and `--replay-guard`: two pools, a share that follows the documented rule, a
schedule that survives a SIGKILL and resume, and rows chosen per slot as the share says."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import tiny
from helpers import REPO, write
from instructalign.cli import main
from instructalign.train.guard import PairedSlots, ShareSchedule, choose

# L1 at each probe (every 2 steps): it falls 10 points (steps 2-8), then recovers (10, 12)
SCRIPT = {0: 0.80, 2: 0.70, 4: 0.70, 6: 0.70, 8: 0.70, 10: 0.795, 12: 0.80}
EXPECTED = [[1, 0.0], [3, 0.1], [5, 0.2], [7, 0.3], [9, 0.4], [11, 0.3], [13, 0.2]]


def test_the_rule_raises_the_share_when_l1_falls_and_lowers_it_when_l1_recovers():
    schedule = ShareSchedule(0.0, margin=2.0)
    for step, l1 in SCRIPT.items():
        schedule.observe(step, l1, SCRIPT[0])
    assert schedule.changes == EXPECTED
    assert [schedule.share_at(s) for s in (1, 2, 3, 8, 9, 10, 11, 12, 13)] == [
        0,
        0,
        0.1,
        0.3,
        0.4,
        0.4,
        0.3,
        0.3,
        0.2,
    ]
    held = ShareSchedule(0.0, margin=2.0)
    held.observe(2, 0.785, 0.80)  # 1.5 points down: within the margin, not recovered: the share holds
    assert held.changes == [[1, 0.0]]
    capped = ShareSchedule(0.85, margin=2.0)
    capped.observe(2, 0.5, 0.8)
    capped.observe(4, 0.5, 0.8)
    assert capped.share_at(5) == 0.9  # at most 0.9
    fixed = ShareSchedule(0.3)  # no margin: a fixed share
    fixed.observe(2, 0.1, 0.8)
    assert fixed.changes == [[1, 0.3]]


def test_each_pool_is_walked_whole_in_each_pass_and_slots_are_fixed():
    replayed = np.array([False, True, False, True, False, False])
    slots = PairedSlots(list(range(6)), replayed, 12, seed=3)
    items = [slots[i] for i in range(12)]
    assert sorted(x["align"] for x in items[:4]) == [0, 2, 4, 5] and sorted(
        x["align"] for x in items[4:8]
    ) == [0, 2, 4, 5]
    assert sorted(x["replay"] for x in items[:2]) == [1, 3]
    again = PairedSlots(list(range(6)), replayed, 12, seed=3)
    assert [again[i] for i in (11, 0, 5)] == [items[11], items[0], items[5]]  # any order of access
    assert (
        slots.replay_used(ShareSchedule(0.0), 3, 4) == 0 and slots.replay_used(ShareSchedule(1.0), 3, 4) == 12
    )
    lengths = np.array([5, 9, 2, 7, 8, 1])
    grouped = PairedSlots(list(range(6)), replayed, 12, seed=3, lengths=lengths, group=2)
    aligned = [grouped[i]["align"] for i in range(4)]  # one pass of the alignment pool, in runs of 2
    assert sorted(aligned) == [0, 2, 4, 5] and all(
        lengths[a] >= lengths[b] for a, b in (aligned[:2], aligned[2:])
    )


def test_choose_keeps_the_replay_candidate_where_u_is_below_the_share():
    ids = torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0], [5, 6, 7, 0], [8, 9, 0, 0]])  # align 0,1 then replay 0,1
    batch = {
        "input_ids": ids,
        "attention_mask": (ids > 0).long(),
        "labels": torch.where(ids > 0, ids, -100),
        "u": torch.tensor([0.2, 0.7], dtype=torch.float64),
        "n_target": torch.tensor([1, 1, 2, 2]),
    }
    counts = {"real_tokens": 0, "padded_tokens": 0, "target_tokens": 0, "examples": 0}
    chosen, replayed = choose(batch, 0.5, counts, seq2seq=False)
    assert replayed == 1
    assert chosen["input_ids"].tolist() == [[5, 6, 7], [3, 0, 0]]  # slot 0 replay (u 0.2 < 0.5), slot 1 align
    assert counts == {"real_tokens": 4, "padded_tokens": 6, "target_tokens": 3, "examples": 2}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, nusax):
    tmp = tmp_path_factory.mktemp("guard")
    rows = [
        {"prompt": f"Terjemahkan ke bahasa Jawa: kalimat {i}", "target": f"ukara {i}", "source": "align"}
        for i in range(20)
    ] + [
        {"inputs": f"Sentimen teks ini? bagus {i}", "targets": "positif", "source": "replay"}
        for i in range(12)
    ]
    data = write(tmp / "data" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    base = tiny.save(tiny.gpt2(dropout=0.0), tmp / "base")
    flags = [
        "--model",
        base,
        "--data",
        str(data),
        "--max-steps",
        "12",
        "--save-steps",
        "6",
        "--batch-size",
        "4",
        "--lr",
        "5e-3",
        "--seed",
        "2",
        "--monitor",
        "--monitor-data",
        str(nusax),
        "--monitor-limit",
        "2",
        "--monitor-every",
        "2",
        "--monitor-roles",
        "L1=eng,ind;L2=jav,sun",
        "--replay-share",
        "0",
        "--replay-guard",
        "2",
    ]
    return tmp, flags


def scripted(tmp, flags, name, kill_at=0):
    out = tmp / name
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "scripted_probe.py"),
            json.dumps(SCRIPT),
            str(kill_at),
            *flags,
            "--output",
            str(out),
        ],
        env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "tests")),
        capture_output=True,
        text=True,
    )
    return out, proc


@pytest.mark.slow
def test_the_guard_raises_the_share_and_its_schedule_survives_a_sigkill_and_resume(guarded):
    tmp, flags = guarded
    full, proc = scripted(tmp, flags, "full")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "replay guard step 2: L1 70.0 vs 80.0 at step 0 (margin 2): replay share 0 -> 0.1" in proc.stdout
    summary = json.loads((full / "train_summary.json").read_text())
    assert summary["replay_schedule"]["changes"] == EXPECTED  # the last probe (step 12) decides step 13 on
    assert (
        0 < summary["replay_rows_used"] < 12 * 4
        and summary["align_rows_used"] == 48 - summary["replay_rows_used"]
    )
    killed, proc = scripted(tmp, flags, "killed", kill_at=6)
    assert proc.returncode == -signal.SIGKILL and not (killed / "final").exists()
    assert json.loads((killed / "checkpoint-6" / "replay_guard.json").read_text())["changes"] == EXPECTED[:4]
    killed, proc = scripted(tmp, flags, "killed")  # the same command again: resumes from checkpoint-6
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = json.loads((killed / "train_summary.json").read_text())
    assert resumed["resumed_from"] == "checkpoint-6"
    assert resumed["replay_schedule"] == summary["replay_schedule"]
    assert resumed["replay_rows_used"] == summary["replay_rows_used"]
    a, b = (
        load_file(str(full / "final" / "model.safetensors")),
        load_file(str(killed / "final" / "model.safetensors")),
    )
    assert all(torch.equal(a[k], b[k]) for k in a), "the resumed run ends with other weights"


def test_the_guard_needs_the_monitor_and_max_steps(guarded, capsys):
    tmp, flags = guarded
    plain = flags[: flags.index("--monitor")] + flags[flags.index("--replay-share") :]
    assert main(["train", *plain, "--output", str(tmp / "x")]) == 2
    assert "--replay-guard needs --monitor" in capsys.readouterr().err
    no_steps = flags[: flags.index("--max-steps")] + flags[flags.index("--save-steps") :]
    assert main(["train", *no_steps, "--output", str(tmp / "y")]) == 2
    assert "give --max-steps" in capsys.readouterr().err
    assert not (tmp / "x").exists() and not (tmp / "y").exists()


def test_two_pools_need_replay_rows(tmp_path, capsys):
    data = write(
        tmp_path / "d" / "train.jsonl",
        "".join(json.dumps({"prompt": f"a {i}", "target": "b"}) + "\n" for i in range(8)),
    ).parent
    base = tiny.save(tiny.gpt2(dropout=0.0), tmp_path / "base")
    code = main(
        [
            "train",
            "--model",
            base,
            "--data",
            str(data),
            "--max-steps",
            "2",
            "--replay-share",
            "0.5",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2 and "no replay rows" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_fixed_share_trains_on_the_rows_it_reports(guarded, monkeypatch):
    """--replay-share alone: every step's rows are chosen at that share, and the replay rows the trainer chose
    are the ones train_summary.json reports."""
    import instructalign.train.guard as guard
    import instructalign.train.trainer as trainer

    tmp, flags = guarded
    fixed = flags[: flags.index("--monitor")] + ["--replay-share", "0.5"]
    chosen = []
    real_choose = guard.choose

    def recording(batch, share, counts, seq2seq):
        out = real_choose(batch, share, counts, seq2seq)
        chosen.append((share, out[1], len(out[0]["input_ids"])))
        return out

    monkeypatch.setattr(trainer, "choose", recording)  # the trainer chooses each slot's row
    assert main(["train", *fixed, "--output", str(tmp / "fixed")]) == 0
    summary = json.loads((tmp / "fixed" / "train_summary.json").read_text())
    assert len(chosen) == 12 and {share for share, _, _ in chosen} == {0.5}
    assert (
        sum(n for _, n, _ in chosen) == summary["replay_rows_used"] and 12 < summary["replay_rows_used"] < 36
    )
    assert summary["replay_schedule"] == {"start": 0.5, "margin": None, "changes": [[1, 0.5]]}
