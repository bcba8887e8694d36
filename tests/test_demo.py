"""`instructalign demo --quick` end to end: the same pipeline and report as the full demo, smaller."""

import json
import re
from pathlib import Path

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
    # every run trained with --monitor: the report draws its probe curves (seeds thin, mean thick)
    assert "## While training" in md and (out / "training_curves.png").stat().st_size > 1000
    for run in ("replay-only", "aligned+replay", "aligned-no-replay"):
        assert f"{run}: 1" in md.split("## While training")[1][:800], run


def test_quick_demo_evaluates_twelve_languages_per_run(quick_demo):
    out, _ = quick_demo
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["quick"] and summary["seeds"] == 1 and summary["split"] == "test"
    assert set(summary["groups"]) == {"L1", "L2", "L3"}
    for run in ("base", "replay-only", "aligned+replay", "aligned-no-replay"):
        results = json.loads((Path(summary["eval_dirs"][run][0]) / "results.json").read_text())
        assert len(results["tasks"]["nusax_senti"]) == 12
        assert set(results["groups"]) == {"L1", "L2", "L3"}


def test_quick_demo_evaluates_every_model_on_sib200_and_says_first_whether_the_base_can_do_it(quick_demo):
    out, _ = quick_demo
    summary = json.loads((out / "demo_summary.json").read_text())
    topics = summary["sib200"]
    assert topics["majority_l1"] == pytest.approx(10.0, abs=0.5) and "at_floor" in topics
    md = (out / "report.md").read_text()
    paragraph = md.split("**A task learned in L1 only: SIB-200 topics**")[1].split("\n")[0]
    assert f"scores **{topics['base_l1']:.1f}** there against **{topics['majority_l1']:.1f}**" in paragraph
    # no verdict exactly when the base is at the floor
    assert ("**no verdict**" in paragraph) == topics["at_floor"]
    sib = (out / "sib200" / "report.md").read_text()
    for run in ("base", "replay-only", "aligned+replay", "aligned-no-replay"):
        assert f" {run} " in sib, run


def test_second_run_reuses_the_cached_base(quick_demo, nusax, sib200, monkeypatch, capsys):
    from rich.console import Console

    from instructalign.experiment.base import base_model
    from instructalign.experiment.recipe import preset

    _, cache = quick_demo
    bases = [p for p in (cache / "demo").glob("base-*") if p.is_dir()]
    assert len(bases) == 1 and (bases[0] / "model" / "config.json").is_file()
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(cache))
    # the demo's recipe: its base also learns SIB-200 topics
    model, data = base_model(nusax, preset(True, demo=True), 0, Console(), sib200)
    assert model == bases[0] / "model" and (data / "train.jsonl").is_file()
    assert "cached" in capsys.readouterr().out


def test_demo_without_nusax_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path))
    monkeypatch.delenv("INSTRUCTALIGN_NUSAX", raising=False)
    assert main(["demo", "--quick", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "instructalign data download nusax" in err and err.count("\n") == 1


def test_the_standin_tokenizer_sees_no_unseen_language_and_no_test_sentence(nusax, sib200, tmp_path):
    from instructalign.data.bitext import read_bitext
    from instructalign.data.build import dumps
    from instructalign.experiment.base import base_mix, sentiment_examples, tokenizer_texts, topic_examples
    from instructalign.experiment.recipe import L1, L2, L3

    topics = topic_examples(sib200, 0)
    senti = tmp_path / "sentiment.jsonl"
    senti.write_text("".join(dumps(r) + "\n" for r in sentiment_examples(nusax, 0) + topics), "utf-8")
    base_mix(nusax, senti, 0, tmp_path / "data")
    texts = tokenizer_texts(nusax, tmp_path / "data")
    train = list(read_bitext(str(nusax), "train"))
    l3 = {row.texts[lang] for row in train for lang in L3}
    l3_only = l3 - {row.texts[lang] for row in train for lang in L1 + L2}
    assert len(l3_only) > 0.9 * len(l3)
    held_out = [
        t for split in ("valid", "test") for row in read_bitext(str(nusax), split) for t in row.texts.values()
    ]
    # the topic task: its L1 train sentences are in, its dev and test sentences and every other language are
    # not
    sib_train = {r.texts["eng"] for r in read_bitext(str(sib200), "train")}
    sib_held_out = [
        t for split in ("dev", "test") for r in read_bitext(str(sib200), split) for t in r.texts.values()
    ]
    sib_other = [
        t for r in read_bitext(str(sib200), "train") for lang, t in r.texts.items() if lang not in L1
    ]
    assert len(topics) == 2 * len(sib_train) and {r["src_lang"] for r in topics} == set(L1)
    corpus = "\n".join(texts)
    assert sum(t in corpus for t in sorted(sib_train)[:50]) == 50
    for sentence in sorted(l3_only)[:150] + held_out[::12] + sib_held_out[::25] + sib_other[::40]:
        assert sentence not in corpus, sentence[:60]


def test_sib200_alignment_reads_train_and_dev_and_says_when_the_folder_is_missing(nusax, tmp_path):
    from instructalign.config import DemoConfig
    from instructalign.errors import UserError
    from instructalign.experiment.sources import align_source

    assert align_source(DemoConfig(align_data="nusax"), nusax) == (str(nusax), "train")
    bitext, split = align_source(DemoConfig(align_data="sib200"), nusax)
    assert split == "train+dev" and bitext.endswith("sib200")
    with pytest.raises(UserError, match="not a SIB-200 folder.*--sib200"):
        align_source(DemoConfig(align_data="sib200", sib200=str(tmp_path)), tmp_path / "nusax")


def test_two_demos_needing_the_same_base_take_turns(nusax, tmp_path, monkeypatch):
    import threading
    import time

    from rich.console import Console

    from instructalign.experiment import base
    from instructalign.experiment.recipe import QUICK

    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path))
    spans, found = [], []

    def slow_build(work, *args):
        start = time.monotonic()
        time.sleep(0.3)
        (work / "model").mkdir()
        (work / "model" / "config.json").write_text("{}")
        spans.append((start, time.monotonic()))

    def need_base():
        found.append((base.base_model(nusax, QUICK, 0, Console(quiet=True)), time.monotonic()))

    monkeypatch.setattr(base, "build_base", slow_build)
    threads = [threading.Thread(target=need_base) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [(start, end)] = spans  # built once: the second found it cached
    assert all(at >= end for _, at in found) and found[0][0] == found[1][0]


def test_a_wrong_sib200_folder_is_refused_before_the_base_trains_not_replaced(
    nusax, sib200, tmp_path, capsys, monkeypatch
):
    from instructalign.cli import main
    from instructalign.config import DemoConfig
    from instructalign.errors import UserError
    from instructalign.experiment.sources import sib200_folder

    wrong = tmp_path / "nowhere"
    with pytest.raises(UserError, match="nowhere: not a SIB-200 folder"):  # not the one beside NusaX instead
        sib200_folder(DemoConfig(sib200=str(wrong)), nusax)
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["demo", "--quick", "--data", str(nusax), "--sib200", str(wrong), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: not a SIB-200 folder" in err[0] and "--sib200" in err[0]
    # nothing trained or written
    assert not out.exists() and not list((tmp_path / "cache").glob("demo/base-*"))


def test_a_base_without_topics_needs_no_sib200_and_is_not_evaluated_on_it(tmp_path, monkeypatch):
    from dataclasses import replace

    from rich.console import Console

    from instructalign.config import StudyConfig
    from instructalign.demo import DEMO
    from instructalign.demo.topics import NOT_EVALUATED, topic_findings, topic_inputs
    from instructalign.experiment.loop import eval_jobs
    from instructalign.experiment.recipe import DEMO_QUICK
    from instructalign.experiment.study import Experiment

    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))  # no SIB-200 in the cache either
    cfg = StudyConfig(study="demo", sib200=None, output=str(tmp_path / "out"))
    lone = tmp_path / "nusax"  # NusaX with no SIB-200 beside it
    (lone / "mt").mkdir(parents=True)
    exp = Experiment(DEMO, cfg, replace(DEMO_QUICK, base_topics=0), lone, Console(quiet=True))
    assert topic_inputs(exp) is None  # found nowhere, and not asked for
    jobs = eval_jobs(exp, exp.recipe, "test", "base", "model", None, tmp_path / "eval")
    assert [j.name for j in jobs] == ["eval base"]  # NusaX only
    assert topic_findings(exp, None) == ([NOT_EVALUATED], {"evaluated": False})
    exp.prepared = "SIB-200 read"  # a base with topics: both evaluations
    jobs = eval_jobs(
        replace(exp, recipe=DEMO_QUICK), DEMO_QUICK, "test", "base", "model", None, tmp_path / "e"
    )
    assert [j.name for j in jobs] == ["eval base", "eval tasks base"]
