"""Safe on a shared machine: no write through a planted link, no deleted home or working folder, a one-line
error for an odd folder, evaluation sentences never read as training text by accident, and every silent
case of the last probe either refused in one line or said. (Run as root, permissions do not stop a write:
the locks' refusals are probed with a folder or another user's file planted where the lock goes.)"""

import json
import os
import stat
from pathlib import Path

import pytest

import tiny
from helpers import WIDE_CSV, nli_rows, write
from instructalign import outputs
from instructalign.cli import main
from instructalign.files import write_json

MERGE = ["merge", "--alpha", "0.5"]
NLI_TASK = """name: tiny_nli
kind: classification
languages: [ind]
data: {path: "{lang}.jsonl"}
labels: [entailment, contradiction]
verbalizers: {en: {entailment: "yes", contradiction: "no"}}
templates: {en: ["{premise} Question: {hypothesis}? yes or no?"]}
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    return tiny.save(tiny.gpt2(seed=0), tmp / "base"), tiny.save(tiny.gpt2(seed=1), tmp / "tuned")


def merge_into(pair, out, *more) -> list[str]:
    base, tuned = pair
    return [*MERGE, "--base", base, "--tuned", tuned, "--output", str(out), *more]


@pytest.fixture
def task(tmp_path) -> list[str]:
    """A small classification task's flags for eval: its YAML and its data folder."""
    write(tmp_path / "data" / "ind.jsonl", nli_rows(6))
    return ["--task", str(write(tmp_path / "nli.yaml", NLI_TASK)), "--data", str(tmp_path / "data")]


def bitext(tmp_path) -> list[str]:
    return ["--bitext", str(write(tmp_path / "b.csv", WIDE_CSV)), "--pivots", "ind", "--targets", "jav"]


# ---------------------------------------------------------------- planted links


@pytest.mark.parametrize("command", ["merge", "data build", "eval"])
def test_a_link_planted_as_the_lock_is_never_written_through(pair, model_dir, task, tmp_path, fails, command):
    victim = write(tmp_path / "victim.txt", "precious\n")
    out = tmp_path / "out"
    (tmp_path / ".out.lock").symlink_to(victim)
    argv = {
        "merge": merge_into(pair, out),
        "data build": ["data", "build", *bitext(tmp_path), "--output", str(out)],
        "eval": ["eval", "--model", model_dir, *task, "--output", str(out)],
    }[command]
    fails(argv, "its lock")
    assert victim.read_text() == "precious\n" and not out.exists()


def test_a_lock_that_is_another_kind_of_file_is_refused_in_one_line(pair, tmp_path, fails):
    (
        tmp_path / ".out.lock"
    ).mkdir()  # what a read-only parent or a planted folder leaves: no lock can be made
    fails(merge_into(pair, tmp_path / "out"), "its lock")
    assert not (tmp_path / "out").exists()


def test_an_atomic_write_never_follows_a_planted_temporary(tmp_path):
    victim = write(tmp_path / "victim.txt", "precious\n")
    for name in (".results.json.tmp", ".results.json.x.tmp"):
        (tmp_path / name).symlink_to(victim)
    write_json(tmp_path / "results.json", {"ok": True})
    assert victim.read_text() == "precious\n" and json.loads((tmp_path / "results.json").read_text()) == {
        "ok": 1
    }


def test_a_planted_ready_folder_is_not_adopted_and_a_glob_name_is_escaped(tmp_path):
    target = tmp_path / "nusax"
    write(tmp_path / ".nusax.ready-fake" / "mt" / "train.csv", "ind,jav\nfake,fake\n")  # no record: not ours
    outputs.recover(target, notice=lambda _: None)
    assert not target.exists()
    other = tmp_path / ".a1.partial-live"  # a live temporary of output `a1`
    write(other / "x", "in progress")
    outputs.pending(other, "a1")
    outputs.recover(tmp_path / "a[1]", notice=lambda _: None)  # `a[1]` as a glob would match `a1`
    assert (other / "x").is_file()


def test_a_link_as_output_or_a_loop_of_links_is_one_line(pair, model_dir, task, tmp_path, fails):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    for out in ("loop", "link"):
        fails(merge_into(pair, tmp_path / out), "choose another --output")
        fails(
            ["data", "build", *bitext(tmp_path), "--output", str(tmp_path / out)], "choose another --output"
        )
        fails(
            ["eval", "--model", model_dir, *task, "--output", str(tmp_path / out)], "choose another --output"
        )
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------- --overwrite never empties a home


def test_overwrite_refuses_the_home_and_the_working_folder_and_keeps_both(pair, tmp_path, fails, monkeypatch):
    home = tmp_path / "home"
    write(home / "thesis.txt", "five years\n")
    work = home / "project"
    write(work / "notes.txt", "keep\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    fails(merge_into(pair, str(home), "--overwrite"), "is your home folder")  # as a shell expands ~
    fails(merge_into(pair, ".", "--overwrite"), "is the working folder")
    fails(["data", "build", *bitext(tmp_path), "--output", str(home), "--overwrite"], "is your home folder")
    assert (home / "thesis.txt").read_text() == "five years\n" and (
        work / "notes.txt"
    ).read_text() == "keep\n"


def test_overwrite_refuses_a_folder_of_files_instructalign_did_not_write(pair, tmp_path, fails):
    out = tmp_path / "mine"
    write(out / "paper.tex", "draft")
    err = fails(merge_into(pair, out, "--overwrite"), "a folder that instructalign did not write")
    assert "paper.tex" in err and (out / "paper.tex").read_text() == "draft"
    assert main(merge_into(pair, tmp_path / "merged")) == 0  # its own earlier output it does replace
    assert main(merge_into(pair, tmp_path / "merged", "--overwrite", "--alpha", "1")) == 0


def test_eval_overwrite_replaces_the_whole_folder(model_dir, task, tmp_path):
    out = tmp_path / "e"
    common = ["eval", "--model", model_dir, *task]
    assert main([*common, "--output", str(out)]) == 0
    write(out / "stale.txt", "from an earlier run")
    assert main([*common, "--output", str(out), "--limit", "3", "--overwrite"]) == 0
    assert (
        not (out / "stale.txt").exists()
        and json.loads((out / "results.json").read_text())["settings"]["limit"] == 3
    )


# ---------------------------------------------------------------- vocab extend and export


def test_vocab_extend_never_deletes_its_own_inputs_and_refuses_an_adapter(model_dir, tmp_path, nusax, fails):
    data = tmp_path / "text"
    write(data / "b.csv", WIDE_CSV)
    before = sorted(p.name for p in Path(model_dir).iterdir())
    args = ["vocab", "extend", "--model", model_dir, "--data", str(data), "--langs", "jav", "--overwrite"]
    fails([*args, "--output", model_dir], "is --model")
    fails([*args, "--output", str(data)], "is --data")
    assert sorted(p.name for p in Path(model_dir).iterdir()) == before and (data / "b.csv").is_file()
    adapter = write(tmp_path / "adapter" / "adapter_config.json", '{"base_model_name_or_path": "x"}').parent
    fails(
        [
            "vocab",
            "extend",
            "--model",
            str(adapter),
            "--data",
            str(data),
            "--langs",
            "jav",
            "--output",
            str(tmp_path / "o"),
        ],
        "a LoRA adapter",
    )


def test_a_task_name_that_would_leave_the_output_folder_is_refused(tmp_path, fails):
    write(tmp_path / "data" / "ind.jsonl", nli_rows(4))
    for name in ("../../escaped", "a\nb: !function x"):
        task = write(tmp_path / "t.yaml", NLI_TASK.replace("name: tiny_nli", f"name: {json.dumps(name)}"))
        fails(
            [
                "export",
                "lm-eval",
                "--task",
                str(task),
                "--data",
                str(tmp_path / "data"),
                "--output",
                str(tmp_path / "out" / "x"),
            ],
            "may hold only letters, digits",
        )
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- evaluation sentences stay out


def test_data_build_refuses_a_test_split_and_a_test_file_unless_allowed(nusax, tmp_path, fails):
    args = ["data", "build", "--pivots", "ind", "--targets", "jav", "--objectives", "mt"]
    fails([*args, "--bitext", str(nusax), "--split", "test", "--output", str(tmp_path / "a")], "--split test")
    test_file = str(nusax / "mt" / "test.csv")
    fails([*args, "--bitext", test_file, "--output", str(tmp_path / "b")], "the test file of")
    copy = write(tmp_path / "renamed.csv", (nusax / "mt" / "test.csv").read_text())  # the test set, renamed
    fails(
        [*args, "--bitext", str(copy), "--exclude", str(nusax), "--output", str(tmp_path / "c")],
        "are evaluation sentences",
    )
    assert not any((tmp_path / x).exists() for x in "abc")
    assert main([*args, "--bitext", test_file, "--allow-eval-split", "--output", str(tmp_path / "d")]) == 0


def test_vocab_extend_never_learns_from_a_test_file(model_dir, nusax, tmp_path, fails):
    test_file = str(nusax / "mt" / "test.csv")
    argv = ["vocab", "extend", "--model", model_dir, "--data", test_file, "--langs", "jav", "--output"]
    fails([*argv, str(tmp_path / "o")], "the test file of")


# ---------------------------------------------------------------- silent cases now said


def test_train_settings_that_would_be_ignored_are_refused(model_dir, train_data, tmp_path, fails):
    run = [
        "train",
        "--model",
        model_dir,
        "--data",
        str(train_data),
        "--output",
        str(tmp_path / "r"),
        "--max-steps",
        "2",
    ]
    fails([*run, "--monitor-every", "5"], "--monitor-every set without --monitor")
    fails([*run, "--lora", "--embeddings-lr", "1e-3"], "--embeddings-lr")
    fails([*run, "--monitor", "--monitor-data", str(tmp_path), "--keep-best", "l1-kept-l2:nan"], "0 or more")
    fails([*run, "--monitor", "--monitor-data", str(tmp_path), "--keep-best", "l1-kept-l2:-5"], "0 or more")
    fails([*run, "--monitor"], "--monitor needs --monitor-data")
    assert not (tmp_path / "r").exists()


def test_keep_best_with_no_probe_after_step_0_is_refused(model_dir, train_data, nusax, tmp_path, fails):
    fails(
        [
            "train",
            "--model",
            model_dir,
            "--data",
            str(train_data),
            "--output",
            str(tmp_path / "r"),
            "--max-steps",
            "4",
            "--monitor",
            "--monitor-data",
            str(nusax),
            "--keep-best",
            "l2",
        ],
        "the only probe would be the untrained step 0",
    )


def test_a_cache_that_is_a_file_is_one_line_for_train(model_dir, train_data, tmp_path, fails, monkeypatch):
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(write(tmp_path / "cache", "a file")))
    fails(
        ["train", "--model", model_dir, "--data", str(train_data), "--output", str(tmp_path / "r")],
        "INSTRUCTALIGN_CACHE",
    )
    assert not (tmp_path / "r").exists()


def test_a_home_path_in_yaml_is_the_home_folder(tmp_path, monkeypatch):
    from instructalign.config import BuildConfig
    from instructalign.configfile import load_config

    monkeypatch.setenv("HOME", str(tmp_path))
    config = write(tmp_path / "c.yaml", "output: ~/built\nbitext: [~/b.csv]\n")
    cfg = load_config(BuildConfig, str(config), {}, "build")
    assert cfg.output == str(tmp_path / "built") and cfg.bitext == [str(tmp_path / "b.csv")]


# ---------------------------------------------------------------- damaged files: one line


def test_damaged_manifest_card_and_results_are_one_line(pair, tmp_path, fails):
    built = write(tmp_path / "built" / "manifest.json", '{"counts": [1, 2]}').parent
    fails(["data", "stats", str(built)], "not a manifest that 'instructalign data build' wrote")
    model = tmp_path / "merged"
    assert main(merge_into(pair, model)) == 0
    results = write(tmp_path / "e" / "results.json", json.dumps({"kind": "classification", "task": "t"}))
    card = ["card", "--model", str(model), "--eval", str(results.parent)]
    fails(card, "not the results of 'instructalign eval'")
    write(model / "README.md", "---\nbase_model: [unclosed\n---\n")
    fails(card, "front matter cannot be read")


def test_a_pickled_model_and_one_that_needs_its_own_code_are_one_line(task, tmp_path, fails):
    import torch

    class Runs:  # an object whose unpickling would run a command
        def __reduce__(self):
            return (os.system, ("echo ran",))

    pickled = tiny.save(tiny.gpt2(), tmp_path / "pickled")
    Path(pickled, "model.safetensors").unlink()
    torch.save({"x": Runs()}, Path(pickled, "pytorch_model.bin"))
    fails(["eval", "--model", pickled, *task, "--output", str(tmp_path / "o")], "a pickled weights file")
    custom = Path(tiny.save(tiny.gpt2(), tmp_path / "custom"))
    config = json.loads((custom / "config.json").read_text())
    config |= {"model_type": "mymodel", "auto_map": {"AutoConfig": "code.Config"}}
    write(custom / "config.json", json.dumps(config))
    write(custom / "code.py", "raise SystemExit('the folder's code ran')\n")
    fails(["eval", "--model", str(custom), *task, "--output", str(tmp_path / "o")], "never runs")


def test_output_folders_follow_the_umask(pair, tmp_path):
    old = os.umask(0o022)
    try:
        assert main(merge_into(pair, tmp_path / "merged")) == 0
        assert main(["data", "build", *bitext(tmp_path), "--output", str(tmp_path / "built")]) == 0
    finally:
        os.umask(old)
    for folder in ("merged", "built"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o755
        assert stat.S_IMODE((tmp_path / folder / "instructalign_output.json").stat().st_mode) == 0o644
