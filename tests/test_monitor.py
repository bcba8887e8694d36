"""`train --monitor` and `--keep-best`: the probe is `eval` on the model being trained, the test split is
refused before training, and the kept step follows the documented rule."""

import csv
import json

import pytest

import tiny
from helpers import write
from instructalign.cli import main


@pytest.fixture
def run(tmp_path, nusax):
    rows = [{"prompt": f"Terjemahkan: kalimat {i}", "target": f"ukara {i}"} for i in range(24)]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    model = tiny.save(tiny.gpt2(dropout=0.1), tmp_path / "m")
    args = [
        "train",
        "--model",
        model,
        "--data",
        str(data),
        "--max-steps",
        "6",
        "--save-steps",
        "3",
        "--save-total-limit",
        "5",
        "--batch-size",
        "4",
        "--lr",
        "5e-3",
        "--monitor",
        "--monitor-data",
        str(nusax),
        "--monitor-limit",
        "8",
        "--monitor-every",
        "3",
        "--monitor-templates",
        "3",
        "--monitor-roles",
        "L1=eng,ind;L2=jav,sun",
    ]
    return tmp_path, args


def monitor_rows(out):
    with open(out / "monitor.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_probe_equals_eval_on_the_checkpoint_of_that_step(run, nusax, capsys):
    tmp, args = run
    out = tmp / "out"
    assert main([*args, "--keep-best", "l1-kept-l2", "--output", str(out)]) == 0
    assert "monitor step 0: L1 " in capsys.readouterr().out
    rows = monitor_rows(out)
    assert sorted({int(r["step"]) for r in rows}) == [0, 3, 6]
    assert (out / "monitor.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the curves, drawn at the end
    assert {r["group"] for r in rows if not r["language"]} == {"L1", "L2"}  # the groups --monitor-roles names
    probed = {r["language"]: float(r["weighted_f1"]) for r in rows if r["step"] == "3" and r["language"]}
    assert len(probed) == 12 and len(set(probed.values())) > 1
    evaluated = tmp / "eval3"
    assert (
        main(
            [
                "eval",
                "--model",
                str(out / "checkpoint-3"),
                "--data",
                str(nusax),
                "--split",
                "valid",
                "--limit",
                "8",
                "--prompt-langs",
                "en",
                "--output",
                str(evaluated),
            ]
        )
        == 0
    )
    results = json.loads((evaluated / "results.json").read_text())["tasks"]["nusax_senti"]
    for lang, f1 in probed.items():
        assert abs(results[lang]["weighted_f1"] - f1) < 1e-6, lang
    best = json.loads((out / "train_summary.json").read_text())["best"]
    assert best["rule"] == "l1-kept-l2" and best["step"] in (0, 3, 6)
    assert json.loads((out / "best" / "instructalign_best.json").read_text())["step"] == best["step"]
    assert (out / "best" / "config.json").is_file()


def test_the_test_split_is_refused_before_training(run, capsys):
    tmp, args = run
    assert main([*args, "--monitor-split", "test", "--output", str(tmp / "out")]) == 2
    err = capsys.readouterr().err
    assert "selection on the evaluation set" in err and err.count("\n") == 1
    assert not (tmp / "out").exists()


def test_keep_best_needs_the_monitor(run, capsys):
    tmp, args = run
    plain = args[: args.index("--monitor")]
    assert main([*plain, "--keep-best", "l2", "--output", str(tmp / "out")]) == 2
    assert "--keep-best needs --monitor" in capsys.readouterr().err


@pytest.mark.parametrize(("rule", "step"), [("l2", 3), ("l1-kept-l2", 6), ("l1-kept-l2:15", 3)])
def test_keep_best_picks_the_documented_step(rule, step, tmp_path):
    from instructalign.train.monitor import MonitorCallback, parse_keep_best

    scripted = {0: (0.60, 0.40), 3: (0.50, 0.55), 6: (0.59, 0.50), 9: (0.40, 0.30)}  # step: (L1, L2)
    history = [
        {"step": s, "task": "t", "language": "", "group": g, "weighted_f1": v, "seconds": 1.0}
        for s, (l1, l2) in scripted.items()
        for g, v in (("L1", l1), ("L2", l2))
    ]
    monitor = MonitorCallback(None, tmp_path, 3, None, False, parse_keep_best(rule), history=history)
    assert monitor.choose_best()["step"] == step  # l1-kept-l2: step 3 lost 10 points of L1, step 6 only 1


def test_default_groups_come_from_the_datas_manifest(tmp_path):
    from instructalign.config import TrainConfig
    from instructalign.train.monitor import default_roles

    write(
        tmp_path / "manifest.json", json.dumps({"settings": {"pivots": ["ind", "eng"], "targets": ["jav"]}})
    )
    roles = default_roles(TrainConfig(data=str(tmp_path)), ["eng", "ind", "jav", "sun", "mad"])
    assert roles == {"L1": ["eng", "ind"], "L2": ["jav"], "L3": ["sun", "mad"]}
