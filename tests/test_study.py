"""`instructalign study NAME --quick`: every study end to end on the quick stand-in, and resumed for free."""

import csv
import json

import pytest

from instructalign.cli import main
from instructalign.config import Recipe
from instructalign.experiment.design import evaluated
from instructalign.study import STUDIES

pytestmark = pytest.mark.slow


def designs(study: str, share: float):
    return STUDIES[study].designs(Recipe(replay_share=share))


def run_names(study: str, plan):
    return evaluated(plan)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("cache")
    mp.setenv("INSTRUCTALIGN_CACHE", str(folder))
    yield folder
    mp.undo()


def rows(out):
    with open(out / "study.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("study", ["objectives", "replay", "interpolate"])
def test_a_quick_study_runs_end_to_end_and_reports_every_run(study, cache, nusax, tmp_path, capsys):
    out = tmp_path / study
    assert main(["study", study, "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps at its width
    assert "about" in printed and "min on a 2-core CPU" in printed  # the plan and its estimate come first
    table = rows(out)
    assert [r["run"] for r in table] == [name for name, _, _ in run_names(study, designs(study, 0.5))]
    assert all(r["L2 vs control delta"] for r in table if r["run"] != "replay-only")
    assert (out / f"{study}.png").stat().st_size > 1000 and "## Group means" in (
        out / "report.md"
    ).read_text()
    if study == "interpolate":  # each tuned run merged toward the base, a model card naming both parents
        cards = list(out.glob("runs/seed0/*/merged-0.5/README.md"))
        assert len(cards) == 3 and all("0.5" in c.read_text() for c in cards)
    summary = json.loads((out / "study_summary.json").read_text())
    assert summary["study"] == study and len(summary["rows"]) == len(table)


def test_a_rerun_reuses_every_finished_run_and_evaluation(cache, nusax, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["study", "objectives", "--quick", "--data", str(nusax), "--output", str(out)]
    assert main(args) == 0
    first = rows(out)
    capsys.readouterr()
    assert main(args) == 0
    assert "seed 0: 0 jobs to run" in capsys.readouterr().out
    assert rows(out) == first


def test_studies_train_each_run_for_the_same_steps_with_its_own_objectives():
    objectives = {d.name: d for d in designs("objectives", 0.5)}
    assert objectives["mt"].objectives == ("mt",) and objectives["all"].objectives == (
        "mt",
        "tlm",
        "xss",
        "mlm",
    )
    assert objectives["replay-only"].objectives == () and objectives["xss"].replay_share == 0.5
    shares = [d.replay_share for d in designs("replay", 0.5) if d.objectives]
    assert shares == [0.0, 0.1, 0.25, 0.5, 0.75]


def test_interpolate_evaluates_each_tuned_run_merged_at_four_alphas_and_lora_at_the_same_budget():
    plan = designs("interpolate", 0.5)
    names = [name for name, _, _ in run_names("interpolate", plan)]
    assert names[0] == "replay-only" and len(names) == 1 + 3 * 4
    assert "aligned-no-replay@0.25" in names and "lora-no-replay@1" in names
    lora = next(d for d in plan if d.lora)
    assert lora.objectives == ("mt", "tlm", "xss") and lora.replay_share == 0.0


def test_studies_share_a_run_that_trains_the_same_thing():
    from instructalign.config import StudyConfig
    from instructalign.experiment.design import Design
    from instructalign.experiment.runs import run_folder

    cfg, recipe = StudyConfig(runs="/r"), Recipe()
    by_study = {
        s: {d.name: run_folder(cfg, recipe, d, 0) for d in designs(s, 0.5)}
        for s in ("replay", "interpolate", "transfer")
    }
    assert (
        by_study["replay"]["share-0.5"]
        == by_study["interpolate"]["aligned+replay"]
        == by_study["transfer"]["aligned+replay"]
    )
    assert by_study["replay"]["share-0"] == by_study["interpolate"]["aligned-no-replay"]
    assert by_study["interpolate"]["lora-no-replay"] != by_study["interpolate"]["aligned-no-replay"]
    assert run_folder(cfg, recipe, Design("x", ("mt",), 0.5), 0) != run_folder(
        cfg, recipe, Design("x", ("mt",), 0.5), 1
    )


@pytest.mark.extended
def test_transfer_study_pools_unseen_languages_of_three_tasks(cache, nusax, tmp_path, capsys):
    out = tmp_path / "transfer"
    assert main(["study", "transfer", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    with open(out / "transfer_points.csv", encoding="utf-8") as f:
        points = list(csv.DictReader(f))
    l3 = [p for p in points if p["role"] == "L3"]
    assert len(l3) >= 10 and {p["task"] for p in l3} == {"nusax_senti", "sib200", "nusawrites_senti"}
    assert all(p["sim_mono"] for p in points) and not any(
        p["sim_chrf"] for p in points if p["task"] == "nusawrites_senti"
    )
    assert {p["lang"] for p in points if p["role"] == "contrast"} == {"fra", "deu", "swh", "yor", "vie"}
    for task in ("sib200", "nusawrites_senti"):
        assert "## Group means" in (out / task / "report.md").read_text()
    report = (out / "report.md").read_text()
    refused = {t for t in ("nusax_senti", "sib200", "nusawrites_senti") if f"**{t}**: no verdict" in report}
    usable = [p for p in l3 if p["task"] not in refused]
    assert (
        f"n = {len(usable)} task-language points" in report and "can the base do each task in L1?" in report
    )
    assert (out / "transfer.png").stat().st_size > 1000


def test_transfer_verdicts_are_refused_for_a_task_the_base_cannot_do_in_l1(tmp_path):
    from instructalign.study.transfer import l1_floors, tasks_dir
    from instructalign.study.transfer_report import transfer_notes

    def result(task, scores):  # weighted F1 per L1 language; always guessing the majority label scores 0.10
        langs = {lang: {"weighted_f1": f, "majority_f1": 0.10} for lang, f in scores.items()}
        return json.dumps({"tasks": {task: langs}})

    base_dirs = []
    for seed, (senti, topic) in enumerate(((0.60, 0.12), (0.64, 0.13))):
        folder = tmp_path / f"seed{seed}" / "eval"
        (folder).mkdir(parents=True)
        (folder / "results.json").write_text(result("nusax_senti", {"eng": senti, "ind": senti}))
        (tasks_dir(folder) / "sib200").mkdir(parents=True)
        (tasks_dir(folder) / "sib200" / "results.json").write_text(
            result("sib200", {"eng": topic, "ind": topic})
        )
        base_dirs.append(str(folder))
    floors = l1_floors(base_dirs)
    assert floors["nusax_senti"]["base"] == pytest.approx(62.0) and not floors["nusax_senti"]["at_floor"]
    assert floors["sib200"]["base"] == pytest.approx(12.5) and floors["sib200"]["majority"] == pytest.approx(
        10.0
    )
    assert floors["sib200"]["at_floor"]  # 2.5 points above always guessing: less than the 5 required
    assert not floors["nusawrites_senti"]["at_floor"]  # no L1 test set: NusaX sentiment stands in
    assert l1_floors([str(tmp_path / "missing")])["sib200"]["at_floor"]  # no score: no verdict either
    delta = {"delta": 0.05, "lo": 0.01, "hi": 0.09, "method": "t"}
    reports = {
        task: {"groups": [{"role": "L2", "languages": ["jav"], "aligned+replay vs replay-only": delta}]}
        for task in ("nusax_senti", "sib200")
    }
    points = [{"task": t, "role": "L3", "gain_control": delta} for t in ("nusax_senti", "sib200", "sib200")]
    notes = "\n".join(transfer_notes(points, {}, reports, 2, floors))
    assert "**sib200**: no verdict — the base cannot do this task in L1 (12.5 vs 10.0" in notes
    assert "**nusax_senti**: L2 change of aligned+replay over the control +5.0 [+1.0, +9.0] (shown" in notes
    assert "n = 1 task-language points; left out: sib200" in notes
    assert (
        notes.index("can the base do each task in L1?")
        < notes.index("**Within each task**")
        < notes.index("pooled:")
    )


def test_scale_sizes_span_eight_times_the_parameters_and_the_count_is_exact():
    from transformers import GPT2Config, GPT2LMHeadModel

    from instructalign.study.scale import parameters, size_recipes

    recipes = list(size_recipes(Recipe(), quick=False).values())
    for r in recipes:
        config = GPT2Config(
            vocab_size=r.vocab_size,
            n_positions=r.n_positions,
            n_embd=r.d_model,
            n_layer=r.n_layer,
            n_head=r.n_head,
        )
        assert parameters(r) == GPT2LMHeadModel(config).num_parameters()
    assert parameters(recipes[-1]) >= 8 * parameters(recipes[0])


@pytest.mark.extended
def test_scale_study_sweeps_the_rate_on_valid_then_compares_on_test(cache, nusax, tmp_path, capsys):
    out = tmp_path / "scale"
    assert main(["study", "scale", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps at its width
    assert "swept on valid" in printed and "about" in printed
    with open(out / "sweep.csv", encoding="utf-8") as f:
        sweep = list(csv.DictReader(f))
    table = rows(out)
    assert [r["size"] for r in table] == ["s", "m", "l"] and len(sweep) == 3 * 2
    for r in table:  # each size keeps a rate from its own sweep
        assert r["lr"] in {s["lr"] for s in sweep if s["size"] == r["size"]}
    assert (
        "seed 0: 9 jobs to run" in printed
    )  # the chosen rate's trainings are reused: only the test evals run
    assert (out / "scale.png").stat().st_size > 1000 and "Does the L2 gain grow with size?" in (
        out / "report.md"
    ).read_text()
    for size in ("s", "m", "l"):
        assert "## Group means" in (out / f"size-{size}" / "report.md").read_text()


@pytest.mark.extended
def test_a_study_runs_on_a_users_model_given_in_a_config(cache, nusax, tmp_path, capsys):
    import tiny

    model = tiny.save(tiny.bloom(), tmp_path / "bloom")
    replay = tmp_path / "replay.jsonl"
    replay.write_text(
        "".join(json.dumps({"prompt": f"Say {w}.", "target": w}) + "\n" for w in ("yes", "no", "ok"))
    )
    config = tmp_path / "mine.yaml"
    config.write_text(f"study:\n  base_model: {model}\n  replay_data: {replay}\ndemo:\n  eval_limit: 4\n")
    out = tmp_path / "mine"
    args = ["study", "replay", "--quick", "--config", str(config), "--data", str(nusax), "--output", str(out)]
    assert main(args) == 0
    table = rows(out)
    assert len(table) == 6 and all(r["L2 vs control delta"] for r in table if r["run"] != "replay-only")
    trained = json.loads(next(out.glob("runs/seed0/mt+tlm+xss-r0.5-*/model/final/config.json")).read_text())
    assert trained["model_type"] == "bloom"  # the user's model was tuned, not the stand-in
    assert main(args) == 0 and "seed 0: 0 jobs to run" in capsys.readouterr().out


def test_a_users_model_without_its_replay_data_is_one_line(nusax, tmp_path, capsys):
    assert (
        main(
            [
                "study",
                "replay",
                "--base-model",
                "bigscience/bloomz-560m",
                "--data",
                str(nusax),
                "--output",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "--base-model needs --replay-data" in err and not (tmp_path / "o").exists()
    )


@pytest.mark.slow
def test_guard_study_reports_the_replay_rows_each_run_used_and_the_curves(cache, nusax, tmp_path, capsys):
    out = tmp_path / "guard"
    assert main(["study", "guard", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    table = rows(out)
    assert [r["run"] for r in table] == [
        "replay-only",
        "replay-0.5",
        "replay-0.1",
        "no-replay",
        "guard-from-0",
    ]
    report = (out / "report.md").read_text()
    table = report.split("| run | replay rows used")[1].split("\n\n")[0].splitlines()
    used = {}
    for name in ("replay-0.5", "replay-0.1", "no-replay"):
        line = next(x for x in table if x.startswith(f"| {name} | "))
        used[name] = int(line.split("|")[2].replace(",", ""))
    assert used["no-replay"] == 0 < used["replay-0.1"] < used["replay-0.5"]  # rows from train_summary.json
    assert "**The question.**" in report and "## While training" in report
    assert (out / "training_curves.png").stat().st_size > 1000
    summaries = [json.loads(p.read_text()) for p in out.glob("runs/seed0/*guard2*/model/train_summary.json")]
    assert len(summaries) == 1 and summaries[0]["replay_schedule"]["margin"] == 2.0


@pytest.mark.extended
def test_vocab_study_extends_a_base_that_never_saw_l2(cache, nusax, tmp_path, capsys):
    out = tmp_path / "vocab"
    assert main(["study", "vocab", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    assert [r["run"] for r in rows(out)] == ["replay-only", "no-extension", "extended-mean", "extended-focus"]
    extended = sorted(out.glob("runs/seed0/*vocab2000*/extended/instructalign_vocab.json"))
    assert len(extended) == 2 and {json.loads(p.read_text())["init"] for p in extended} == {"mean", "focus"}
    report = (out / "report.md").read_text()
    table = report.split("| starting tokenizer |")[1].split("\n\n")[0].splitlines()
    cells = {x.split("|")[1].strip(): x.split("|") for x in table if x.startswith("| ")}
    protected, unprotected = cells["extended-mean"], cells["extended, pivots unprotected (tokenizer only)"]
    assert float(protected[3].strip().rstrip("%")) < 0  # fewer L2 tokens per word than the base's
    assert float(protected[5].strip().rstrip("%")) < 0  # on held-out text too
    recut = lambda row, k: int(row[k].split(" of ")[0].replace(",", ""))  # noqa: E731
    assert recut(protected, 7) < recut(unprotected, 7)  # protecting the pivots re-cuts fewer L1 word types
    assert recut(protected, 8) <= recut(unprotected, 8)  # and fewer running words
    assert "`extended-mean` vs `no-extension` on L2:" in report and "train target tokens/s" in report


def test_the_demo_says_whether_its_base_can_do_sib200_before_any_topic_verdict():
    from instructalign.config import Recipe
    from instructalign.demo.topics import topic_paragraph

    gain = {"verdict": "shown", "comparison": {"delta": 0.06, "lo": 0.02, "hi": 0.10, "method": "t"}}
    claims = {"L2 gain": gain, "L3 transfer": gain | {"verdict": "not shown"}}
    able = {"base": 36.7, "majority": 10.0, "at_floor": False}
    text = topic_paragraph(able, claims, Recipe())
    assert "scores **36.7** there against **10.0** for always the most frequent topic" in text
    assert "on L2 (the 7 aligned languages" in text and "+6.0 [+2.0, +10.0]" in text and "**shown**" in text
    assert "**not shown**" in text  # each claim keeps its own verdict
    floor = topic_paragraph(able | {"base": 12.0, "at_floor": True}, claims, Recipe())
    # at the floor, no change is reported as a result
    assert "**no verdict**" in floor and "+6.0" not in floor


@pytest.mark.extended
def test_replay_source_study_replays_what_the_base_wrote(cache, nusax, tmp_path, capsys):
    out = tmp_path / "replay-source"
    assert main(["study", "replay-source", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    assert [r["run"] for r in rows(out)] == [
        "replay-only",
        "aligned+replay",
        "synth-answers",
        "synth-prompts+answers",
        "aligned-no-replay",
    ]
    manifests = {
        p.parent: json.loads(p.read_text()) for p in out.glob("runs/seed0/replay_source-*/manifest.json")
    }
    assert {m["mode"] for m in manifests.values()} == {
        "answers to --prompts",
        "prompts and answers by the model",
    }
    for folder, manifest in manifests.items():
        replayed = (
            folder.with_suffix(".jsonl").read_text().splitlines()
        )  # what the run's mix drew replay from
        assert len(replayed) == manifest["rows"] > 0 and all(json.loads(x)["synthesized"] for x in replayed)
    built = [
        json.loads(x)
        for p in out.glob("runs/seed0/*synth-answers*/data/train.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert any(r["source"] == "replay" for r in built)
    assert "**The question.**" in (out / "report.md").read_text()
    assert (out / "replay-source.png").stat().st_size > 1000
