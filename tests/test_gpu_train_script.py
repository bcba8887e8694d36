"""`benchmarks/gpu_train.py` runs at a toy size on the CPU, as it would on a GPU: four arms, each on its
loss path, the two loss paths at the same loss."""

import json
import subprocess
import sys

import pytest

from helpers import REPO


@pytest.mark.slow
def test_gpu_train_script_runs_every_arm_at_a_toy_size_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_train.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_train.py"),
            "--device",
            "cpu",
            "--tiny",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--seq",
            "48",
            "--batch",
            "2",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    arms = json.loads(out.read_text())["arms"]
    assert {name: a["loss_path"] for name, a in arms.items()} == {
        "full, head on targets": "head on targets",
        "full, model loss": "model's own loss",
        "LoRA, head on targets": "head on targets",
        "LoRA, model loss": "model's own loss",
    }
    for training in ("full", "LoRA"):  # the same examples and steps: the same training loss on either path
        on, off = arms[f"{training}, head on targets"], arms[f"{training}, model loss"]
        assert on["train_loss"] == pytest.approx(off["train_loss"], abs=1e-4)
    assert all(a["tokens_per_second"] > 0 for a in arms.values())
    assert "| LoRA, head on targets | head on targets |" in proc.stdout
