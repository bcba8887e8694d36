"""`instructalign demo --quick` end to end: the same pipeline and report as the full demo, smaller."""

import json
import re

import pytest

from instructalign.cli import main


@pytest.fixture(scope="module")
def quick_demo(nusax, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("INSTRUCTALIGN_CACHE", str(cache))
    assert main(["demo", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    yield out, cache
    mp.undo()


def test_quick_demo_writes_a_report_with_the_four_runs(quick_demo):
    out, _ = quick_demo
    md = (out / "report.md").read_text()
    for run in ("base", "replay-only", "aligned+replay", "aligned-no-replay"):
        assert f"| {run} " in md or f" {run} |" in md, run
    for section in (
        "Group means",
        "Continual-learning metrics",
        "Per language",
        "Language similarity and transfer",
        "Provenance",
    ):
        assert f"## {section}" in md
    assert "**What this run shows**" in md and "valid split" in md and "test split" in md
    assert "configs/paper/bloomz-560m.yaml" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3
    groups = {line.split("|")[1].strip() for line in md.splitlines() if re.match(r"\| L[123] \|", line)}
    assert groups == {"L1", "L2", "L3"}


def test_quick_demo_evaluates_twelve_languages_per_run(quick_demo):
    out, _ = quick_demo
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["quick"] and summary["seeds"] == 1 and summary["split"] == "test"
    assert set(summary["groups"]) == {"L1", "L2", "L3"}
    for run in ("base", "replay-only", "aligned+replay", "aligned-no-replay"):
        results = json.loads(next((out / "runs" / "seed0" / "eval" / run).glob("results.json")).read_text())
        assert len(results["tasks"]["nusax_senti"]) == 12
        assert set(results["groups"]) == {"L1", "L2", "L3"}


def test_second_run_reuses_the_cached_base(quick_demo, nusax, monkeypatch, capsys):
    from rich.console import Console

    from instructalign.demo.base import base_model
    from instructalign.demo.recipe import QUICK

    _, cache = quick_demo
    bases = list((cache / "demo").glob("base-*"))
    assert len(bases) == 1 and (bases[0] / "model" / "config.json").is_file()
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(cache))
    model, data = base_model(nusax, QUICK, 0, Console())
    assert model == bases[0] / "model" and (data / "train.jsonl").is_file()
    assert "cached" in capsys.readouterr().out


def test_demo_without_nusax_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path))
    monkeypatch.delenv("INSTRUCTALIGN_NUSAX", raising=False)
    assert main(["demo", "--quick", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "instructalign data download nusax" in err and err.count("\n") == 1
