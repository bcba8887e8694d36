import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tiny
from helpers import REPO, cli, write
from instructalign.cli import main
from instructalign.train.data import IGNORE, PaddingCollator, encode_causal


def examples(n=24):
    rows = []
    for i in range(n):
        rows.append(
            {
                "prompt": "Translate the following text from Indonesian to Javanese.\n"
                f"Text: Hotel itu sangat bersih {i}.",
                "target": "Hotel iku resik banget lan kepenak.",
                "objective": "mt",
                "source": "align",
            }
        )
        rows.append(
            {
                "inputs": "What would be the sentiment of the text above? The service is very slow today.",
                "targets": "negative",
                "source": "replay",
            }
        )
    return rows


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    write(d / "train.jsonl", "".join(json.dumps(r) + "\n" for r in examples()))
    return d


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(Path(folder) / "model.safetensors"))


def train(model_dir, data_dir, out, *extra) -> int:
    return main(
        [
            "train",
            "--model",
            str(model_dir),
            "--data",
            str(data_dir),
            "--output",
            str(out),
            "--lr",
            "3e-3",
            "--batch-size",
            "4",
            "--logging-steps",
            "5",
            *extra,
        ]
    )


def test_prompt_tokens_carry_label_minus_100():
    stats = Counter()
    enc = encode_causal([5, 6, 7], [8, 9], eos=1, max_length=10, loss_on_prompt=False, stats=stats)
    assert enc["input_ids"] == [5, 6, 7, 8, 9, 1]
    assert enc["labels"] == [IGNORE, IGNORE, IGNORE, 8, 9, 1]
    assert encode_causal([5, 6, 7], [8, 9], 1, 10, True, stats)["labels"] == [5, 6, 7, 8, 9, 1]


def test_too_long_examples_lose_prompt_tokens_never_target_tokens():
    stats = Counter()
    enc = encode_causal(list(range(10, 20)), [8, 9], eos=1, max_length=6, loss_on_prompt=False, stats=stats)
    assert enc["input_ids"] == [17, 18, 19, 8, 9, 1] and enc["labels"][-3:] == [8, 9, 1]
    assert (
        encode_causal([5], [8, 9, 10, 11, 12, 13], eos=1, max_length=6, loss_on_prompt=False, stats=stats)
        is None
    )
    assert stats == {"truncated_prompt": 1, "dropped_target_too_long": 1}


def test_collator_pads_labels_with_minus_100_and_counts_padding():
    c = PaddingCollator(pad_id=0, seq2seq=False)
    batch = c(
        [
            {"input_ids": [5, 6, 7], "labels": [IGNORE, 6, 7], "n_target": 2},
            {"input_ids": [5], "labels": [5], "n_target": 1},
        ]
    )
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [5, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert c.padding_share() == pytest.approx(2 / 6)


@pytest.mark.parametrize("make", [tiny.bloom, tiny.t5], ids=["bloom", "t5"])
def test_training_changes_weights_and_lowers_target_loss(make, data_dir, tmp_path):
    base = tiny.save(make(), tmp_path / "base")
    out = tmp_path / "run"
    assert (
        train(
            base,
            data_dir,
            out,
            "--max-steps",
            "36",
            "--save-steps",
            "36",
            "--lr-scheduler",
            "constant",
            "--lr",
            "5e-3",
        )
        == 0
    )
    before, after = weights(base), weights(out / "final")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 36 and summary["target_tokens"] > 0 and 0 <= summary["padding_share"] < 0.5
    history = json.loads((out / "checkpoint-36" / "trainer_state.json").read_text())["log_history"]
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses[-1] < 0.6 * losses[0], losses
    assert (out / "final" / "README.md").read_text().count("target tokens only") == 1
    assert any((out / "tensorboard").rglob("events.out.tfevents*"))


def test_lora_trains_only_adapter_weights(data_dir, tmp_path):
    base = tiny.save(tiny.bloom(), tmp_path / "base")
    out = tmp_path / "lora"
    assert (
        train(base, data_dir, out, "--lora", "--lora-r", "4", "--max-steps", "6", "--save-steps", "100") == 0
    )
    adapter = load_file(str(out / "final" / "adapter_model.safetensors"))
    assert adapter and all("lora_" in k for k in adapter)
    assert not (out / "final" / "model.safetensors").exists()
    from instructalign.models import load_model

    model, _, _ = load_model(str(out / "final"))
    base_w = weights(base)
    trained = {n: p for n, p in model.named_parameters() if "lora_" not in n}
    for name, p in trained.items():
        key = name.replace("base_model.model.", "").replace(".base_layer", "")
        if key in base_w:
            assert torch.equal(p.detach(), base_w[key]), name
    merged = tmp_path / "merged"
    assert (
        train(
            base,
            data_dir,
            merged,
            "--lora",
            "--lora-r",
            "4",
            "--max-steps",
            "6",
            "--save-steps",
            "100",
            "--merge-lora",
        )
        == 0
    )
    mw = weights(merged / "final")
    assert any(not torch.equal(mw[k], base_w[k]) for k in base_w if k in mw)


@pytest.mark.slow
@pytest.mark.parametrize(
    "make", [tiny.bloom, tiny.gpt2, tiny.llama, tiny.qwen2], ids=["bloom", "gpt2", "llama", "qwen2"]
)
def test_lora_with_the_head_on_targets_ends_with_the_weights_of_the_models_own_loss(make, data_dir, tmp_path):
    base = tiny.save(make(), tmp_path / "base")
    common = ["--lora", "--lora-r", "4", "--max-steps", "6", "--save-steps", "100", "--lr", "5e-3"]
    assert train(base, data_dir, tmp_path / "fast", *common) == 0
    assert train(base, data_dir, tmp_path / "own", *common, "--no-head-on-targets") == 0
    paths = {
        json.loads((tmp_path / r / "train_summary.json").read_text())["loss_path"] for r in ("fast", "own")
    }
    assert paths == {"head on targets", "model's own loss"}
    a = load_file(str(tmp_path / "fast" / "final" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "own" / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 2e-5, worst
    assert any(k.endswith("lora_B.weight") and a[k].abs().max() > 1e-4 for k in a)  # the adapters did train


RESUME_ARGS = ["--lr", "3e-3", "--batch-size", "2", "--max-steps", "40", "--save-steps", "10", "--seed", "3"]


@pytest.fixture(scope="module")
def resume_setup(tmp_path_factory):
    """A 40-step run, uninterrupted, as the reference for every resume test."""
    tmp = tmp_path_factory.mktemp("resume")
    data = tmp / "data"
    write(data / "train.jsonl", "".join(json.dumps(r) + "\n" for r in examples(40)))
    torch.manual_seed(0)
    base = tiny.save(tiny.gpt2(), tmp / "base")
    args = ["--model", base, "--data", str(data), *RESUME_ARGS]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(
        cli("train", *args, "--output", str(tmp / "full")), check=True, env=env, capture_output=True
    )
    return tmp, args, env


def killed_run(tmp, args, env, step: int, name: str):
    """The same run, SIGKILLed right after checkpoint `step` is saved (deterministic: a callback does it)."""
    out = tmp / name
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "kill_at.py"), str(step), *args, "--output", str(out)],
        env=env,
        capture_output=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (out / "final").exists() and (out / f"checkpoint-{step}").is_dir()
    return out


def resume_and_compare(tmp, args, env, out, resumed_from: str):
    resumed = subprocess.run(
        cli("train", *args, "--output", str(out)), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == resumed_from and summary["steps"] == 40
    a, b = weights(tmp / "full" / "final"), weights(out / "final")
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    return resumed.stdout


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(resume_setup):
    tmp, args, env = resume_setup
    out = killed_run(tmp, args, env, 20, "killed")
    resume_and_compare(tmp, args, env, out, "checkpoint-20")


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        "optimizer.pt",
        "scheduler.pt",
        "truncated weights",
        "no marker",
        "flipped weights",
        "flipped optimizer",
    ],
)
def test_resume_skips_an_incomplete_checkpoint_and_falls_back(resume_setup, damage):
    tmp, args, env = resume_setup
    out = killed_run(tmp, args, env, 30, f"damaged-{damage.replace(' ', '-')}")
    newest = out / "checkpoint-30"
    if damage == "truncated weights":
        data = (newest / "model.safetensors").read_bytes()
        (newest / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif damage == "no marker":
        (newest / "instructalign_complete.json").unlink()
    elif damage.startswith("flipped"):  # damaged in place: same size, other bytes
        path = newest / ("model.safetensors" if damage == "flipped weights" else "optimizer.pt")
        data = bytearray(path.read_bytes())
        middle = len(data) - 64  # in the tensors' bytes, past any header
        data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
        path.write_bytes(bytes(data))
    else:
        (newest / damage).unlink()
    stdout = resume_and_compare(tmp, args, env, out, "checkpoint-20")
    assert "checkpoint-30: skipped, cannot resume from it" in stdout


@pytest.mark.slow
def test_lora_resume_after_sigkill_matches_an_uninterrupted_run(resume_setup):
    """LoRA with the target-only head: killed after checkpoint 10, resumed, the adapter equals one
    uninterrupted run's."""
    tmp, args, env = resume_setup
    lora = [
        *args[: args.index("--max-steps")],
        "--max-steps",
        "20",
        "--save-steps",
        "10",
        "--seed",
        "3",
        "--lora",
        "--lora-r",
        "4",
    ]
    full = tmp / "lora-full"
    subprocess.run(cli("train", *lora, "--output", str(full)), check=True, env=env, capture_output=True)
    out = killed_run(tmp, lora, env, 10, "lora-killed")
    resumed = subprocess.run(
        cli("train", *lora, "--output", str(out)), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"] == "checkpoint-10" and summary["loss_path"] == "head on targets"
    a = load_file(str(full / "final" / "adapter_model.safetensors"))
    b = load_file(str(out / "final" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and any(k.endswith("lora_B.weight") and a[k].abs().max() > 1e-4 for k in a)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


BAD = {
    "missing model path": (
        lambda t, d: ["--model", str(t / "nope"), "--data", str(d)],
        "nope: no model here",
    ),
    "data folder without train.jsonl": (lambda t, d: ["--data", str(t)], "no train.jsonl here"),
    "broken line": (
        lambda t, d: [
            "--data",
            str(write(t / "bad" / "train.jsonl", '{"prompt": "a", "target": "b"}\n{"prompt": \n').parent),
        ],
        "train.jsonl line 2: invalid JSON",
    ),
    "max-length below the shortest target": (
        lambda t, d: ["--data", str(d), "--max-length", "2"],
        "--max-length 2 is smaller than the shortest target",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_train_bad_input(case, data_dir, tmp_path, capsys):
    base = tiny.save(tiny.bloom(), tmp_path / "base")
    make, expected = BAD[case]
    out = tmp_path / "out"
    assert main(["train", "--model", base, "--output", str(out), *make(tmp_path, data_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err, err
    assert not (out / "final").exists()


def test_output_of_another_run_is_refused_and_kept(data_dir, tmp_path, capsys):
    base = tiny.save(tiny.bloom(), tmp_path / "base")
    out = tmp_path / "run"
    assert train(base, data_dir, out, "--max-steps", "4", "--save-steps", "2") == 0
    checkpoint = weights(out / "checkpoint-4")
    shutil.rmtree(out / "final")  # as if the run had been killed: checkpoints only
    assert train(base, data_dir, out, "--max-steps", "4", "--save-steps", "2", "--lr", "1e-2") == 2
    err = capsys.readouterr().err
    assert "holds a run with different settings (lr)" in err and "choose a new --output" in err
    assert weights(out / "checkpoint-4").keys() == checkpoint.keys()
    assert all(
        torch.equal(weights(out / "checkpoint-4")[k], v) for k, v in checkpoint.items()
    )  # nothing overwritten


@pytest.mark.slow
def test_two_process_cpu_run_with_torchrun(data_dir, tmp_path):
    base = tiny.save(tiny.bloom(), tmp_path / "base")
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run(
        [
            str(torchrun),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29561",
            "-m",
            "instructalign.cli",
            "train",
            "--model",
            base,
            "--data",
            str(data_dir),
            "--output",
            str(out),
            "--max-steps",
            "6",
            "--save-steps",
            "3",
            "--batch-size",
            "2",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 6
    assert (out / "final" / "model.safetensors").is_file()


@pytest.mark.parametrize("make", [tiny.bloom, tiny.gpt2], ids=["bloom", "gpt2"])
def test_target_position_loss_equals_the_models_own_loss(make):
    from transformers import TrainingArguments

    from instructalign.train.trainer import AlignTrainer

    model = make().train()
    torch.manual_seed(0)
    ids = torch.randint(3, 200, (3, 12))
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0
    labels = ids.clone()
    labels[:, :7] = IGNORE
    labels[2, 9:] = IGNORE
    model.eval()  # no dropout: both paths see the same activations
    trainer = AlignTrainer(
        model=model, args=TrainingArguments(output_dir="/tmp/ia-loss-test", report_to=[], use_cpu=True)
    )
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    assert trainer.target_positions_only(model)
    ours = trainer.compute_loss(model, dict(batch))
    reference = model(**batch).loss
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)


def test_target_position_loss_accepts_a_wrapped_model():
    """A DataParallel (or other) wrapper has no `base_model`: the shortcut must unwrap it first."""
    from transformers import TrainingArguments

    from instructalign.train.trainer import AlignTrainer

    model = tiny.gpt2().eval()
    ids = torch.randint(3, 200, (2, 10))
    labels = ids.clone()
    labels[:, :5] = IGNORE
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    trainer = AlignTrainer(
        model=model, args=TrainingArguments(output_dir="/tmp/ia-loss-test", report_to=[], use_cpu=True)
    )
    wrapped = torch.nn.DataParallel(model)  # on a CPU-only machine it simply calls the module
    assert trainer.compute_loss(wrapped, dict(batch)).item() == pytest.approx(
        model(**batch).loss.item(), rel=1e-5
    )
