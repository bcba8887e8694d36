"""Distributed and accumulated training equal one big batch (CPU, gloo): DDP 2 x B and grad-accum 2 x B
against one process with batch 2B, ranks see disjoint data, and an FSDP run saves a loadable model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

import tiny
from helpers import REPO, write

TOLERANCE = 2e-5  # fp32 on CPU; the gloo all-reduce sums in another order than one process does
ENV = dict(os.environ, OMP_NUM_THREADS="1")
RECORD = str(REPO / "tests" / "record_batches.py")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    rows = [
        {
            "prompt": f"Terjemahkan ke bahasa Jawa: kalimat nomor {i}" + " x" * (i % 7),
            "target": f"ukara nomer {i}" + " y" * (i % 5),
        }
        for i in range(48)
    ]
    data = write(tmp / "data" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    base = tiny.save(tiny.gpt2(dropout=0.0), tmp / "base")
    return tmp, [
        "--model",
        base,
        "--data",
        str(data),
        "--max-steps",
        "6",
        "--save-steps",
        "100",
        "--lr",
        "5e-3",
        "--seed",
        "4",
    ]


def train(tmp, common, name, *flags, processes=1):
    out = tmp / name
    launcher = (
        [sys.executable]
        if processes == 1
        else [
            str(Path(sys.executable).with_name("torchrun")),
            "--nproc_per_node",
            str(processes),
            "--master_port",
            "29563",
        ]
    )
    proc = subprocess.run(
        [*launcher, RECORD, str(tmp / f"{name}-batches"), *common, *flags, "--output", str(out)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def weights(folder):
    return load_file(str(folder / "final" / "model.safetensors"))


def batches(out, rank=0):
    record = out.with_name(f"{out.name}-batches") / f"rank{rank}.jsonl"  # beside the run: train owns out/
    return [json.loads(line) for line in record.read_text().splitlines()]


def assert_same_weights(a, b, base=None):
    wa, wb = weights(a), weights(b)
    initial = load_file(str((base or a.parent / "base") / "model.safetensors"))
    assert wa.keys() == wb.keys()
    worst = max((wa[k] - wb[k]).abs().max().item() for k in wa)
    moved = max((wa[k] - initial[k]).abs().max().item() for k in wa)
    assert moved > 1e-3  # training changed the weights, so equality means something
    assert worst < TOLERANCE, worst


@pytest.mark.slow
def test_grad_accumulation_equals_one_big_batch(setup):
    tmp, common = setup
    big = train(tmp, common, "big", "--batch-size", "4")
    accumulated = train(tmp, common, "accum", "--batch-size", "2", "--grad-accum", "2")
    assert_same_weights(big, accumulated)
    # the same examples, in the same order: micro-batches of two make up each batch of four
    # (the data loader may prepare a batch beyond the last step: compare the 6 steps trained on)
    micro = batches(accumulated)[:12]
    assert [sorted(map(tuple, b)) for b in batches(big)[:6]] == [
        sorted(map(tuple, a + b)) for a, b in zip(micro[::2], micro[1::2])
    ]


@pytest.mark.slow
def test_ddp_two_processes_equal_one_process_with_the_global_batch(setup):
    tmp, common = setup
    big = tmp / "big" if (tmp / "big" / "final").exists() else train(tmp, common, "big", "--batch-size", "4")
    ddp = train(tmp, common, "ddp", "--batch-size", "2", processes=2)
    summary = json.loads((ddp / "train_summary.json").read_text())
    assert (
        summary["processes"] == 2 and summary["loss_path"] == "head on targets"
    )  # target-only under DDP too
    assert_same_weights(big, ddp)
    rank0, rank1 = batches(ddp, 0), batches(ddp, 1)
    assert len(rank0) >= 6 and len(rank1) >= 6
    for step, (a, b) in enumerate(zip(rank0[:6], rank1[:6])):
        assert not set(map(tuple, a)) & set(map(tuple, b)), f"step {step}: ranks share an example"
        assert sorted(map(tuple, a + b)) == sorted(map(tuple, batches(big)[step]))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["bloom", "llama", "qwen2"])
def test_ddp_head_on_targets_ends_with_the_weights_of_the_models_own_loss(arch, setup):
    """Under DDP (2 gloo processes) the target-only head trains to the weights that one process with the
    global batch and the model's own loss (every position through the head) reaches."""
    tmp, common = setup
    make = getattr(tiny, arch)
    base = tiny.save(make(), tmp / f"base-{arch}")
    flags = [*common[2:], "--model", base]  # the shared data and schedule, this architecture's base
    own = train(tmp, flags, f"own-{arch}", "--batch-size", "4", "--no-head-on-targets")
    ddp = train(tmp, flags, f"ddp-{arch}", "--batch-size", "2", processes=2)
    paths = [json.loads((r / "train_summary.json").read_text())["loss_path"] for r in (own, ddp)]
    assert paths == ["model's own loss", "head on targets"]
    assert_same_weights(own, ddp, base=Path(base))


CPU_FSDP = """compute_environment: LOCAL_MACHINE
distributed_type: FSDP
mixed_precision: 'no'
num_machines: 1
num_processes: 2
use_cpu: true
main_process_port: 29571
fsdp_config:
  fsdp_version: 2
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: GPT2Block
  fsdp_state_dict_type: SHARDED_STATE_DICT
  fsdp_cpu_ram_efficient_loading: false
  fsdp_reshard_after_forward: true
"""


@pytest.mark.slow
def test_fsdp_run_saves_a_full_loadable_model(setup):
    """FSDP2 over 2 CPU processes (gloo), sharded state dict: final/ holds every weight, gathered, and
    loads."""
    from instructalign.models import load_model

    tmp, common = setup
    config = write(tmp / "cpu_fsdp.yaml", CPU_FSDP)
    out = tmp / "fsdp"
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    proc = subprocess.run(
        [
            accelerate,
            "launch",
            "--config_file",
            str(config),
            "-m",
            "instructalign.cli",
            "train",
            *common,
            "--batch-size",
            "2",
            "--save-steps",
            "3",
            "--output",
            str(out),
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    trained, base = weights(out), load_file(str(tmp / "base" / "model.safetensors"))
    assert trained.keys() == base.keys() and all(trained[k].shape == base[k].shape for k in base)
    assert max((trained[k] - base[k]).abs().max().item() for k in base) > 1e-4
    model, _, _ = load_model(str(out / "final"))
    assert (out / "checkpoint-6" / "instructalign_complete.json").is_file()
    assert sum(p.numel() for p in model.parameters()) == sum(
        t.numel() for k, t in base.items() if "lm_head" not in k
    )
