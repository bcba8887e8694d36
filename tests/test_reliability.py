"""Fail fast, fail clean: every mistake of the 'fail fast' issue is one line, exit 2, nothing half-written,
found before the expensive work, and the corrected command works afterwards."""

import json
import os

import pytest
from safetensors.torch import load_file, save_file

from helpers import nli_rows, write
from instructalign.cli import main

NLI_TASK = """
name: tiny_nli
kind: classification
languages: [ind, jav]
data: {path: "{lang}.jsonl"}
id_column: id
labels: [entailment, contradiction]
verbalizers:
  en: {entailment: "yes", contradiction: "no"}
templates:
  en: ["{premise}\\nQuestion: {hypothesis} Yes or no?"]
"""


@pytest.fixture
def task(tmp_path):
    write(tmp_path / "data" / "ind.jsonl", nli_rows(8))
    write(tmp_path / "data" / "jav.jsonl", nli_rows(8))
    return ["--task", str(write(tmp_path / "nli.yaml", NLI_TASK)), "--data", str(tmp_path / "data")]


def evaluate(model_dir, task, out, *extra):
    assert main(["eval", "--model", model_dir, *task, "--output", str(out), *extra]) == 0
    return out


# ---------------------------------------------------------------- silent wrong successes


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--epochs", "0"], "--epochs: must be above 0"),
        (["--epochs", "-1"], "--epochs: must be above 0"),
        (["--max-steps", "0"], "--max-steps: must be at least 1"),
        (["--lr", "-1e-4"], "--lr: must be above 0, got '-1e-4'"),
        (["--lora-r", "0"], "--lora-r: must be at least 1"),
        (["--lr-scheduler", "cosin"], "--lr-scheduler: expects one of linear, cosine"),
    ],
)
def test_train_settings_are_checked_before_anything_is_written(
    fails, model_dir, train_data, tmp_path, flags, expected
):
    out = tmp_path / "run"
    fails(["train", "--model", model_dir, "--data", str(train_data), "--output", str(out), *flags], expected)
    assert not out.exists()


def test_a_corrected_train_command_runs_after_a_refused_one(fails, model_dir, train_data, tmp_path):
    base = ["train", "--model", model_dir, "--data", str(train_data), "--output", str(tmp_path / "run")]
    fails([*base, "--lr-scheduler", "cosin", "--max-steps", "2"], "cosin")
    assert main([*base, "--lr-scheduler", "cosine", "--max-steps", "2", "--save-steps", "2"]) == 0
    assert (tmp_path / "run" / "final" / "config.json").is_file()


@pytest.mark.parametrize(
    "length, expected", [("0", "must be at least 8"), ("3", "must be at least 8"), ("12", "leaves")]
)
def test_eval_max_length_that_cannot_hold_a_prompt(fails, model_dir, task, tmp_path, length, expected):
    fails(
        ["eval", "--model", model_dir, *task, "--max-length", length, "--output", str(tmp_path / "o")],
        expected,
    )
    assert not (tmp_path / "o").exists()


def drop_a_tensor(model_dir, target):
    import shutil

    shutil.copytree(model_dir, target)
    weights = load_file(target / "model.safetensors")
    del weights[next(k for k in weights if "mlp.c_fc.weight" in k)]
    save_file(weights, target / "model.safetensors", metadata={"format": "pt"})
    return str(target)


def test_missing_weights_are_an_error_unless_allowed_and_then_marked(fails, model_dir, task, tmp_path):
    partial = drop_a_tensor(model_dir, tmp_path / "partial")
    fails(["eval", "--model", partial, *task, "--output", str(tmp_path / "o")], "missing: transformer.h")
    assert not (tmp_path / "o").exists()
    out = evaluate(partial, task, tmp_path / "o", "--allow-partial")
    marked = json.loads((out / "results.json").read_text())["partial_weights"]
    assert marked and "missing" in marked[0]


def test_labels_sharing_one_word_are_refused(fails, model_dir, tmp_path):
    same = NLI_TASK.replace('contradiction: "no"', 'contradiction: "yes"')
    write(tmp_path / "ind.jsonl", nli_rows(8))
    fails(
        [
            "eval",
            "--model",
            model_dir,
            "--task",
            str(write(tmp_path / "t.yaml", same)),
            "--data",
            str(tmp_path),
            "--langs",
            "ind",
            "--output",
            str(tmp_path / "o"),
        ],
        "gives two labels the same word",
    )


# ---------------------------------------------------------------- report: incomparable runs


def test_report_refuses_runs_evaluated_differently(fails, model_dir, task, tmp_path):
    a = evaluate(model_dir, task, tmp_path / "a")
    b = evaluate(model_dir, task, tmp_path / "b", "--split", "valid")
    c = evaluate(model_dir, task, tmp_path / "c", "--limit", "4")
    d = evaluate(model_dir, task, tmp_path / "d", "--limit", "6")
    out = ["--output", str(tmp_path / "r")]
    fails(["report", "--run", f"x={a}", "--run", f"y={b}", *out], "split 'valid' differs")
    fails(["report", "--run", f"x={c}", "--run", f"y={d}", *out], "limit 6 differs")
    fails(["report", "--run", f"x={a},{a}", "--run", f"y={a}", *out], "given twice")
    assert not (tmp_path / "r").exists()
    assert (
        main(["report", "--run", f"x={a}", "--run", f"y={evaluate(model_dir, task, tmp_path / 'e')}", *out])
        == 0
    )
    md = (tmp_path / "r" / "report.md").read_text()
    assert "split test, limit None" in md


def test_report_refuses_predictions_from_another_eval(fails, model_dir, task, tmp_path):
    a = evaluate(model_dir, task, tmp_path / "a")
    b = evaluate(model_dir, task, tmp_path / "b", "--limit", "4")
    (a / "predictions.jsonl").write_bytes((b / "predictions.jsonl").read_bytes())  # a kill between renames
    c = evaluate(model_dir, task, tmp_path / "c")
    fails(
        ["report", "--run", f"x={a}", "--run", f"y={c}", "--output", str(tmp_path / "r")],
        "predictions.jsonl: does not belong to",
    )


def test_report_bad_files_are_one_line(fails, model_dir, task, tmp_path):
    a, c = evaluate(model_dir, task, tmp_path / "a"), evaluate(model_dir, task, tmp_path / "c")
    out = ["--output", str(tmp_path / "r")]
    results = json.loads((a / "results.json").read_text())
    text = (c / "predictions.jsonl").read_text()
    (c / "predictions.jsonl").write_text(text[:-7])  # cut inside the last line
    results_c = json.loads((c / "results.json").read_text())
    results_c.pop("predictions_sha256")
    (c / "results.json").write_text(json.dumps(results_c))
    fails(["report", "--run", f"x={a}", "--run", f"y={c}", *out], "predictions.jsonl line")
    del results["tasks"]["tiny_nli"]["ind"]["weighted_f1"]
    (a / "results.json").write_text(json.dumps(results))
    fails(["report", "--run", f"x={a}", "--run", f"y={c}", *out], "has no weighted_f1")
    for n in ("0", "-5"):
        fails(
            ["report", "--run", f"x={a}", "--run", f"y={c}", "--bootstrap", n, *out],
            "--bootstrap: must be at least",
        )


# ---------------------------------------------------------------- output locations


@pytest.mark.parametrize("command", ["eval", "train", "report", "build"])
def test_an_output_that_is_a_file_fails_before_the_work(
    fails, command, model_dir, task, train_data, tmp_path
):
    target = write(tmp_path / "taken", "a file")
    argv = {
        "eval": ["eval", "--model", model_dir, *task],
        "train": ["train", "--model", model_dir, "--data", str(train_data), "--max-steps", "1"],
        "report": ["report", "--run", f"x={tmp_path}", "--run", f"y={tmp_path}"],
        "build": [
            "data",
            "build",
            "--bitext",
            str(write(tmp_path / "b.csv", "ind,jav\na,b\n")),
            "--targets",
            "jav",
            "--pivots",
            "ind",
        ],
    }[command]
    fails(
        [
            *(["data", "build"] if command == "build" else [command]),
            *argv[2 if command == "build" else 1 :],
            "--output",
            str(target),
        ],
        "exists and is not a folder",
    )


def test_an_output_that_cannot_be_written_fails_before_the_work(fails, model_dir, task):
    fails(["eval", "--model", model_dir, *task, "--output", "/proc/instructalign-out"], "cannot write there")


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(fails, model_dir, task, tmp_path, monkeypatch):
    from instructalign import files

    real = files.os.fdopen

    class FullDisk:
        """A file that takes 10 bytes, then reports the disk full."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: FullDisk(real(fd, mode)))
    fails(["eval", "--model", model_dir, *task, "--output", str(tmp_path / "o")], "No space left on device")
    assert not (tmp_path / "o").exists() and not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


# ---------------------------------------------------------------- demo: every stage checked first


@pytest.mark.parametrize(
    "flags, config, expected",
    [
        (["--split", "tset"], None, "--split: expects one of test, valid"),
        ([], "demo:\n  eval_limit: 0\n", "setting 'eval_limit': must be at least 1"),
        ([], "demo:\n  n_head: 5\n", "n_head 5 must divide d_model 192"),
        ([], "demo:\n  stage_stpes: 5\n", "unknown setting 'stage_stpes'"),
    ],
)
def test_demo_mistakes_fail_before_the_base_model(
    fails, nusax, tmp_path, monkeypatch, flags, config, expected
):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    extra = ["--config", str(write(tmp_path / "d.yaml", config))] if config else []
    fails(["demo", "--data", str(nusax), "--output", str(tmp_path / "o"), *flags, *extra], expected)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "o").exists()


# ---------------------------------------------------------------- tracebacks that became one line


def test_damaged_weights_in_eval_and_train(fails, model_dir, task, train_data, tmp_path):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(model_dir, damaged)
    data = (damaged / "model.safetensors").read_bytes()
    (damaged / "model.safetensors").write_bytes(data[: len(data) // 2])
    fails(["eval", "--model", str(damaged), *task, "--output", str(tmp_path / "o")], "damaged")
    fails(
        ["train", "--model", str(damaged), "--data", str(train_data), "--output", str(tmp_path / "t")],
        "damaged",
    )
    (damaged / "model.safetensors").unlink()
    fails(["eval", "--model", str(damaged), *task, "--output", str(tmp_path / "o")], "could not be loaded")


def test_vocabulary_that_does_not_match_the_weights(fails, model_dir, task, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    config = json.loads((other / "config.json").read_text())
    config["vocab_size"] += 7
    (other / "config.json").write_text(json.dumps(config))
    fails(["eval", "--model", str(other), *task, "--output", str(tmp_path / "o")], str(other))


def test_damaged_adapter(fails, model_dir, task, train_data, tmp_path):
    run = tmp_path / "lora"
    assert (
        main(
            [
                "train",
                "--model",
                model_dir,
                "--data",
                str(train_data),
                "--output",
                str(run),
                "--lora",
                "--lora-r",
                "2",
                "--max-steps",
                "1",
                "--save-steps",
                "5",
            ]
        )
        == 0
    )
    adapter = run / "final" / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:40])
    fails(
        ["eval", "--model", str(run / "final"), *task, "--output", str(tmp_path / "o")],
        "adapter could not be loaded",
    )


@pytest.mark.parametrize(
    "change, files, expected",
    [
        (lambda t: t, {"ind.jsonl": ""}, "file is empty"),
        (
            lambda t: t.replace('data: {path: "{lang}.jsonl"}', 'data: {path: "{lang}.csv"}'),
            {"ind.csv": "id,premise,hypothesis,label\n"},
            "no examples (a header and no rows?)",
        ),
        (
            lambda t: t.replace('en: {entailment: "yes", contradiction: "no"}', "en: [yes, no]"),
            {},
            "'verbalizers' maps a prompt language",
        ),
        (lambda t: t.replace("{lang}.jsonl", "{language}.jsonl"), {}, "has an unknown slot ('language')"),
        (
            lambda t: t.replace("languages: [ind, jav]", "languages: jav"),
            {},
            "'languages' must be a YAML list",
        ),
        (
            lambda t: t.replace("labels: [entailment, contradiction]", "labels: entailment"),
            {},
            "'labels' must be a YAML list",
        ),
    ],
    ids=[
        "empty file",
        "header-only csv",
        "verbalizers as a list",
        "unknown slot",
        "languages as text",
        "labels as text",
    ],
)
def test_task_and_data_mistakes_before_the_model_loads(fails, tmp_path, change, files, expected):
    for name, text in files.items():
        write(tmp_path / "data" / name, text)
    task_file = write(tmp_path / "t.yaml", change(NLI_TASK))
    # a model path that does not exist: the data and task must be refused before it is even looked at
    fails(
        [
            "eval",
            "--model",
            str(tmp_path / "no-model-yet"),
            "--task",
            str(task_file),
            "--data",
            str(tmp_path / "data"),
            "--langs",
            "ind",
            "--output",
            str(tmp_path / "o"),
        ],
        expected,
    )


def test_damaged_train_config_json(fails, model_dir, train_data, tmp_path):
    out = tmp_path / "run"
    argv = [
        "train",
        "--model",
        model_dir,
        "--data",
        str(train_data),
        "--output",
        str(out),
        "--max-steps",
        "2",
    ]
    write(out / "train_config.json", "{not json")
    fails(argv, "train_config.json: damaged")


def test_config_languages_as_text_is_named_plainly(fails, tmp_path):
    config = write(tmp_path / "c.yaml", "languages: jav\nbuild:\n  targets: [jav]\n")
    fails(
        ["data", "build", "--config", str(config), "--bitext", "x.csv", "--output", str(tmp_path / "o")],
        "'languages' is a YAML list of mappings",
    )


def test_other_data_message_reads_well(fails, model_dir, train_data, tmp_path):
    out = tmp_path / "run"
    argv = [
        "train",
        "--model",
        model_dir,
        "--data",
        str(train_data),
        "--output",
        str(out),
        "--max-steps",
        "2",
        "--save-steps",
        "1",
    ]
    assert main(argv) == 0
    with open(train_data / "train.jsonl", "a") as f:
        f.write(json.dumps({"prompt": "p", "target": "t"}) + "\n")
    os.remove(out / "train_summary.json")
    fails(argv, "holds a run with other data (train.jsonl changed)")
