"""What only a GPU machine can check; skipped without CUDA. Run as is there: `pytest tests/gpu`."""

import json

import pytest
import torch

import tiny
from helpers import write
from instructalign.cli import main
from instructalign.evaluate.scoring import score_choices

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

PROMPTS = ["Hotel itu sangat bersih dan nyaman.\nWhat would be the sentiment?", "Apakah sentimen?"]
CHOICES = [[" positive", " negative"], [" positif", " negatif"]]


@pytest.mark.parametrize("name", sorted(tiny.CAUSAL))
def test_scores_on_the_gpu_match_the_cpu(name):
    model, tok = tiny.CAUSAL[name](), tiny.tokenizer()
    cpu = score_choices(model, tok, PROMPTS, CHOICES, False)
    gpu = score_choices(model.cuda(), tok, PROMPTS, CHOICES, False)
    for a, b in zip(cpu, gpu):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-3)


def test_auto_precision_trains_in_bf16_with_the_target_loss(tmp_path):
    base = tiny.save(tiny.gpt2(dropout=0.0), tmp_path / "base")
    rows = [{"prompt": f"Terjemahkan: kalimat {i}", "target": f"ukara {i}"} for i in range(16)]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                base,
                "--data",
                str(data),
                "--output",
                str(out),
                "--max-steps",
                "4",
                "--precision",
                "auto",
                "--lr",
                "1e-3",
            ]
        )
        == 0
    )
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 4 and summary["train_loss"] == summary["train_loss"]  # finite, not NaN
