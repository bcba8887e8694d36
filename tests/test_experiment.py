"""The experiment layer: the demo and every study are declared `Study`s run by one loop, and a new study is
one file plus one line in the registry."""

import ast
import csv
import json
from pathlib import Path

import pytest

from helpers import REPO
from instructalign.cli import main

PACKAGE = REPO / "src" / "instructalign"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved to absolute names."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, (base, node.module)))
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("package", ["study", "experiment"])
def test_studies_and_the_experiment_engine_do_not_import_the_demo(package):
    for path in sorted((PACKAGE / package).glob("*.py")):
        demo = {m for m in imported_modules(path) if m.startswith("instructalign.demo")}
        assert not demo, f"{path.relative_to(REPO)} imports {demo}"


def test_the_demo_and_every_study_run_through_the_same_loop(monkeypatch, nusax, tmp_path):
    from instructalign.experiment import loop
    from instructalign.study import STUDIES

    ran = []
    monkeypatch.setattr(loop, "run_experiment", lambda study, cfg, recipe, console=None: ran.append(study))
    assert main(["demo", "--quick", "--data", str(nusax), "--output", str(tmp_path / "d")]) == 0
    for name in STUDIES:
        assert main(["study", name, "--quick", "--data", str(nusax), "--output", str(tmp_path / name)]) == 0
    assert [s.name for s in ran] == ["demo", *STUDIES] and ran[0].command == "demo"


def test_an_unknown_study_in_code_is_one_line(nusax, tmp_path):
    from instructalign.config import StudyConfig
    from instructalign.errors import UserError
    from instructalign.experiment.recipe import QUICK
    from instructalign.study import run_study

    with pytest.raises(UserError, match="unknown study 'nope'; choose one of objectives"):
        run_study(StudyConfig(study="nope", data=str(nusax), output=str(tmp_path)), QUICK)


@pytest.mark.slow
def test_a_study_added_from_a_test_file_runs_end_to_end(monkeypatch, nusax, tmp_path, capsys):
    import toy_study
    from instructalign.study import STUDIES

    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(STUDIES, "toy", toy_study.STUDY)  # the one registry line
    out = tmp_path / "toy"
    assert main(["study", "toy", "--quick", "--data", str(nusax), "--output", str(out)]) == 0
    assert "study toy: 3 continual runs (replay-only, mt-only, mt-own)" in " ".join(
        capsys.readouterr().out.split()
    )
    with open(out / "study.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == ["replay-only", "mt-only", "mt-own"] and rows[1]["objectives"] == "mt"
    assert rows[1]["L2 vs control delta"] and rows[0]["L1 vs base delta"] and rows[2]["L2 vs control delta"]
    summary = json.loads((out / "study_summary.json").read_text())
    assert summary["study"] == "toy" and "## Group means" in (out / "report.md").read_text()
    # the run's own settings and its preparation, declared in the test file only: trained from the prepared
    # base
    [own] = (out / "runs" / "seed0").glob("mt-r*-const-scaled-*")
    trained = json.loads((own / "model" / "train_config.json").read_text())["settings"]
    assert trained["lr_scheduler"] == "constant" and trained["max_grad_norm"] == 0.5
    assert trained["model"] == str(own / "scaled") and (own / "scaled" / "config.json").is_file()
    [plain] = [p for p in (out / "runs" / "seed0").glob("mt-r*") if p != own]
    assert (
        json.loads((plain / "model" / "train_config.json").read_text())["settings"]["lr_scheduler"]
        == "cosine"
    )


def test_a_design_with_a_setting_train_does_not_have_is_one_line(nusax, tmp_path):
    from instructalign.config import StudyConfig
    from instructalign.errors import UserError
    from instructalign.experiment.design import Design
    from instructalign.experiment.loop import run_experiment
    from instructalign.experiment.recipe import QUICK
    from instructalign.experiment.study import Study

    odd = Study(
        "odd", "odd", lambda r: [Design("x", ("mt",), 0.5, train={"lerning_rate": 1.0})], lambda e, r: {}
    )
    with pytest.raises(UserError, match="run x sets lerning_rate, not a setting of instructalign train"):
        run_experiment(odd, StudyConfig(data=str(nusax), output=str(tmp_path / "o")), QUICK)
    wrong = Study(
        "odd", "odd", lambda r: [Design("x", ("mt",), 0.5, train={"max_grad_norm": -1})], lambda e, r: {}
    )
    with pytest.raises(UserError, match="--max-grad-norm: must be at least 0"):
        run_experiment(wrong, StudyConfig(data=str(nusax), output=str(tmp_path / "o")), QUICK)
    assert not (tmp_path / "o").exists()


def test_read_json_names_the_file_or_returns_the_default(tmp_path):
    from instructalign.errors import UserError
    from instructalign.files import read_json

    damaged = tmp_path / "run.json"
    damaged.write_text('{"settings": [1, 2', "utf-8")
    assert read_json(damaged, default=None) is None and read_json(tmp_path / "none.json", default={}) == {}
    with pytest.raises(UserError, match=r"run\.json: not valid JSON .*rewrite or remove it"):
        read_json(damaged)
    with pytest.raises(UserError, match=r"none\.json: eval result not found"):
        read_json(tmp_path / "none.json", what="eval result")


def test_every_task_kind_declares_parsing_rows_scoring_and_display():
    from instructalign.evaluate.kinds import KINDS
    from instructalign.evaluate.tasks import builtin_tasks, load_task

    for kind in KINDS.values():
        assert all(callable(getattr(kind, m)) for m in ("parse", "languages", "rows", "evaluate", "show"))
    shipped = {load_task(name).kind for name in builtin_tasks()}
    assert shipped == set(KINDS)  # every kind has a shipped task, every shipped task a kind
