"""Never destroy what the user did not ask to replace: outputs that are inputs or hold other files, one
writer per folder, replaces that survive a kill at any step, a full disk, and runs of a study that are not
what they claim to be. Each refusal is one line, exit 2, and the user's files are untouched."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

import tiny
from helpers import REPO, cli, env, write
from instructalign import outputs
from instructalign.cli import main
from instructalign.errors import UserError


def hidden_leftovers(folder) -> list[str]:
    """Temporaries of a replace, or a lock, left beside `folder`."""
    return [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    return tiny.save(tiny.gpt2(seed=0), tmp / "base"), tiny.save(tiny.gpt2(seed=1), tmp / "tuned")


def merge_args(base, tuned, alpha, out, *more) -> list[str]:
    return ["merge", "--base", base, "--tuned", tuned, "--alpha", str(alpha), "--output", str(out), *more]


# ---------------------------------------------------------------- what --output may be


def test_merge_into_a_users_folder_is_refused_and_the_folder_kept(fails, pair, tmp_path, monkeypatch):
    """The issue's case verbatim: mkdir homework; echo important > homework/thesis.txt; merge --output
    homework."""
    base, tuned = pair
    monkeypatch.chdir(tmp_path)
    os.mkdir("homework")
    with open("homework/thesis.txt", "w") as f:
        f.write("important\n")
    fails(merge_args(base, tuned, 0.5, "homework"), "pass --overwrite to replace them")
    assert sorted(os.listdir("homework")) == ["thesis.txt"]
    assert open("homework/thesis.txt").read() == "important\n"
    assert hidden_leftovers(tmp_path / "homework") == []


@pytest.mark.parametrize(
    "where, expected",
    [
        ("tuned", "is --tuned"),
        ("inside tuned", "is inside --tuned"),
        ("base", "is --base"),
        ("holds tuned", "holds --tuned"),
    ],
)
def test_merge_never_writes_over_its_own_inputs(fails, tmp_path, where, expected):
    run = tmp_path / "run"
    tuned = tiny.save(tiny.gpt2(seed=1), run / "final")
    base = tiny.save(tiny.gpt2(seed=0), tmp_path / "base")
    out = {"tuned": tuned, "inside tuned": f"{tuned}/merged", "base": base, "holds tuned": run}[where]
    before = {p: p.read_bytes() for p in [*run.rglob("*"), *(tmp_path / "base").rglob("*")] if p.is_file()}
    fails(merge_args(base, tuned, 0.5, out), expected)
    after = {p: p.read_bytes() for p in [*run.rglob("*"), *(tmp_path / "base").rglob("*")] if p.is_file()}
    assert after == before


def test_merge_reruns_into_its_own_folder_and_replaces_other_settings_only_when_asked(fails, pair, tmp_path):
    base, tuned = pair
    out = tmp_path / "merged"
    assert main(merge_args(base, tuned, 0.5, out)) == 0
    assert main(merge_args(base, tuned, 0.5, out)) == 0  # the same command again: its own folder
    fails(merge_args(base, tuned, 1.0, out), "with other settings (alpha)")
    assert json.loads((out / "instructalign_merge.json").read_text())["alpha"] == 0.5
    assert main(merge_args(base, tuned, 1.0, out, "--overwrite")) == 0
    assert json.loads((out / "instructalign_merge.json").read_text())["alpha"] == 1.0
    assert hidden_leftovers(out) == []


def test_data_build_into_a_folder_it_did_not_write_is_refused(fails, tmp_path):
    out = write(tmp_path / "notes" / "todo.txt", "keep me").parent
    bitext = write(tmp_path / "b.csv", "ind,jav\n" + "".join(f"kalimat {i},ukara {i}\n" for i in range(6)))
    args = ["data", "build", "--bitext", str(bitext), "--pivots", "ind", "--targets", "jav", "--output"]
    fails([*args, str(out)], "pass --overwrite to replace them")
    assert (out / "todo.txt").read_text() == "keep me"
    fails([*args, str(tmp_path)], "holds --bitext")  # replacing it would delete the input


def test_eval_does_not_write_into_the_model_folder(fails, tmp_path, nusax):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    args = ["eval", "--model", model, "--data", str(nusax), "--limit", "2", "--output"]
    fails([*args, f"{model}/eval"], "is inside --model")
    fails([*args, str(nusax)], "is --data")
    assert not (tmp_path / "m" / "eval").exists()


# ---------------------------------------------------------------- a replace killed at every step


@pytest.mark.slow
@pytest.mark.parametrize("kill_before", [0, 1, 2, 3])
def test_a_replace_killed_at_any_step_leaves_one_complete_folder(pair, tmp_path, kill_before):
    base, tuned = pair
    out = tmp_path / "merged"
    assert main(merge_args(base, tuned, 0.5, out)) == 0
    killed = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "kill_at_rename.py"),
            str(kill_before),
            *merge_args(base, tuned, 1.0, out, "--overwrite"),
        ],
        env=env(),
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    # what the next run finds and repairs: the old folder or the new one, complete, and nothing hidden
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    outputs.recover(copy / "merged", notice=lambda _: None)
    alpha = json.loads((copy / "merged" / "instructalign_merge.json").read_text())["alpha"]
    assert alpha == (0.5 if kill_before < 2 else 1.0)
    assert load_file(str(copy / "merged" / "model.safetensors"))
    assert [p.name for p in copy.iterdir() if p.name.startswith(".merged.")] == [".merged.lock"]

    # and the rerun itself finishes the job
    assert main(merge_args(base, tuned, 1.0, out, "--overwrite")) == 0
    assert json.loads((out / "instructalign_merge.json").read_text())["alpha"] == 1.0
    assert load_file(str(out / "model.safetensors"))
    assert hidden_leftovers(out) == []


# ---------------------------------------------------------------- one writer per folder


def train_args(model, data, out, steps=2) -> list[str]:
    return [
        "train",
        "--model",
        model,
        "--data",
        str(data),
        "--output",
        str(out),
        "--max-steps",
        str(steps),
        "--save-steps",
        str(steps),
        "--batch-size",
        "2",
    ]


@pytest.mark.slow
def test_two_trainings_into_one_folder_one_is_refused_the_other_completes(fails, tmp_path, train_data):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    out = tmp_path / "run"
    first = subprocess.Popen(
        cli(*train_args(model, train_data, out, steps=150)),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / ".run.lock"
    deadline = time.time() + 120
    while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
        assert first.poll() is None and time.time() < deadline, first.communicate()
        time.sleep(0.2)
    fails(
        train_args(model, train_data, out, steps=150),
        f"in use by another instructalign process (pid {first.pid})",
    )
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-2000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 150 and (out / "final" / "model.safetensors").is_file()
    assert not lock.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_notice(tmp_path, train_data, capsys):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write(tmp_path / ".run.lock", f"{dead.pid}\n")
    assert main(train_args(model, train_data, tmp_path / "run")) == 0
    assert (
        f"lock left by process {dead.pid}, which is no longer running; taken over" in capsys.readouterr().out
    )
    assert (tmp_path / "run" / "final" / "config.json").is_file()


# ---------------------------------------------------------------- failed starts and full disks


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--lr", "nan"], "--lr: expects a finite number or none, got 'nan'"),
        (["--lr", "inf"], "--lr: expects a finite number or none, got 'inf'"),
        (["--seed", "-1"], "--seed: must be at least 0"),
        (["--seed", str(2**32)], "--seed: must be below 4,294,967,296"),
    ],
)
def test_numbers_out_of_range_are_refused_and_the_corrected_run_works(
    fails, tmp_path, train_data, flags, expected
):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    out = tmp_path / "run"
    fails([*train_args(model, train_data, out), *flags], expected)
    assert not out.exists()
    assert main(train_args(model, train_data, out)) == 0


def test_a_training_that_fails_after_it_started_leaves_nothing_behind(tmp_path, train_data):
    from transformers import TrainerCallback

    from instructalign.cli import config_for, make_parser
    from instructalign.train import train

    class Boom(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise RuntimeError("boom")

    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    out = tmp_path / "run"
    args = make_parser().parse_args([*train_args(model, train_data, out), "--lr", "1e-3"])
    with pytest.raises(RuntimeError, match="boom"):
        train(config_for(args, "train"), callbacks=(Boom(),))
    assert not out.exists()  # no train_config.json or tensorboard/ to refuse the corrected rerun
    assert main([*train_args(model, train_data, out), "--lr", "2e-3"]) == 0


def limited_run(argv, max_bytes: int) -> subprocess.CompletedProcess:
    """`argv` with files capped at `max_bytes` (writes past it fail with EFBIG, as on a full disk)."""

    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return subprocess.run(argv, env=env(), capture_output=True, text=True, preexec_fn=cap)


@pytest.mark.slow
def test_a_full_disk_during_merge_is_one_line_and_leaves_nothing(pair, tmp_path):
    base, tuned = pair
    size = os.path.getsize(f"{tuned}/model.safetensors")
    proc = limited_run(cli(*merge_args(base, tuned, 0.5, tmp_path / "merged")), size // 2)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and "the disk is full" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_full_disk_during_a_checkpoint_leaves_no_partial_checkpoint(tmp_path, train_data):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    size = os.path.getsize(f"{model}/model.safetensors")
    out = tmp_path / "run"
    proc = limited_run(
        cli(*train_args(model, train_data, out)), int(size * 1.5)
    )  # weights fit, optimizer not
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "the disk is full" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert not out.exists() or not list(out.glob("checkpoint-*")) and not (out / "final").exists()


# ---------------------------------------------------------------- shared state, checked before work


def test_a_cache_that_is_a_file_is_refused_before_the_demo_starts(fails, tmp_path, nusax, monkeypatch):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(write(tmp_path / "cache", "not a folder")))
    fails(["demo", "--quick", "--data", str(nusax), "--output", str(tmp_path / "out")], "INSTRUCTALIGN_CACHE")
    assert not (tmp_path / "out").exists()


def test_study_runs_that_is_a_file_is_refused_before_work(fails, tmp_path, nusax):
    runs = write(tmp_path / "runs", "a file")
    fails(
        [
            "study",
            "replay",
            "--quick",
            "--data",
            str(nusax),
            "--runs",
            str(runs),
            "--output",
            str(tmp_path / "out"),
        ],
        "--runs",
    )
    assert not (tmp_path / "out").exists()


def test_a_model_the_study_did_not_train_is_refused(tmp_path):
    from instructalign.experiment.runs import RECORD, is_trained, weights_digest

    folder = tmp_path / "mt-r0.5-abc"
    model = tiny.save(tiny.gpt2(), folder / "model" / "final")
    write(folder / "model" / "train_summary.json", "{}")
    record = {"settings": ["0.2.0", [["mt"], 0.5, False]], "base": "/cache/base-1/model"}
    with pytest.raises(UserError, match=f"this study did not train with these settings \\({RECORD} missing"):
        is_trained(folder, record)  # a foreign model, placed there by hand
    write(folder / RECORD, json.dumps(record | {"weights": weights_digest(folder / "model" / "final")}))
    assert is_trained(folder, record)
    with pytest.raises(UserError, match="with these settings"):
        is_trained(folder, record | {"base": "/another/base"})
    tiny.save(tiny.gpt2(seed=5), model)  # weights replaced after training
    with pytest.raises(UserError, match="its weights changed since they were trained"):
        is_trained(folder, record)


def test_a_finished_lora_run_is_recognised_as_trained(tmp_path):
    from instructalign.experiment.runs import RECORD, is_trained, weights_digest

    folder = tmp_path / "mt-r0-lora-abc"
    final = folder / "model" / "final"  # an adapter only: adapter_config.json, no config.json
    write(final / "adapter_config.json", "{}")
    (final / "adapter_model.safetensors").write_bytes(b"weights")
    write(folder / "model" / "train_summary.json", "{}")
    record = {"settings": ["0.3.0", [["mt"], 0.0, True]], "base": "/cache/base-1/model"}
    write(folder / RECORD, json.dumps(record | {"weights": weights_digest(final)}))
    assert is_trained(folder, record)  # a rerun does not train it again


# ---------------------------------------------------------------- small holes


def test_an_empty_or_repeated_list_is_refused(fails, tmp_path):
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    base = ["eval", "--model", model, "--output", str(tmp_path / "e")]
    fails([*base, "--langs", ","], "--langs: ',' names nothing")
    fails([*base, "--prompt-langs", "en,en"], "--prompt-langs: 'en' is given twice")


def test_a_config_with_only_another_commands_section_is_refused(fails, tmp_path, train_data):
    config = write(tmp_path / "c.yaml", "eval:\n  limit: 5\n")
    model = tiny.save(tiny.gpt2(), tmp_path / "m")
    fails(
        [*train_args(model, train_data, tmp_path / "run"), "--config", str(config)],
        "no 'train:' section, only eval:",
    )


def test_duplicate_pairs_are_counted_and_warned_about(tmp_path, capsys):
    bitext = write(tmp_path / "b.csv", "ind,jav\n" + "Hotel itu bersih.,Hotel iku resik.\n" * 20)
    out = tmp_path / "out"
    assert (
        main(
            [
                "data",
                "build",
                "--bitext",
                str(bitext),
                "--pivots",
                "ind",
                "--targets",
                "jav",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "19 of 20 pairs (95%) repeat an earlier pair" in err
    assert "every XSS example answers 'yes'" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pairs"]["duplicates"] == 19 and manifest["counts"]["xss_negatives"] == 0


def test_an_oversized_csv_cell_is_named_honestly(fails, tmp_path):
    bitext = write(tmp_path / "b.csv", 'ind,jav\nbaik,apik\n"never closed,x\n' + "more text\n" * 150_000)
    fails(
        [
            "data",
            "build",
            "--bitext",
            str(bitext),
            "--pivots",
            "ind",
            "--targets",
            "jav",
            "--output",
            str(tmp_path / "out"),
        ],
        "line 3: a cell of more than",
    )


def test_langs_choose_the_directions_of_a_translation_task(tmp_path, nusax):
    from instructalign.config import EvalConfig
    from instructalign.evaluate.run import prepare

    cfg = EvalConfig(model="m", task="nusax_mt", data=str(nusax), langs=["sun"], output=str(tmp_path / "o"))
    prepared = prepare(cfg, "nusax_mt", str(nusax), tmp_path / "o", False, 2)
    assert prepared.task.directions == [("ind", "sun"), ("sun", "ind")]
    with pytest.raises(UserError, match="--langs bug: not in task nusax_mt"):
        prepare(
            EvalConfig(model="m", task="nusax_mt", langs=["bug"], output="o"),
            "nusax_mt",
            str(nusax),
            tmp_path / "o",
            False,
            2,
        )
