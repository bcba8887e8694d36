"""A user's own model and bitext, from vocabulary to card, without traps: each step gives the result asked
for, or one line that names the fix (issue: "Your model, your bitext")."""

import json
import shutil
from pathlib import Path

import pytest
import torch

import tiny
from helpers import WIDE_CSV, nli_rows, write
from instructalign.cli import main

NLI = """name: {name}
kind: classification
languages: [ind, jav, sun]
data: {{path: "{{lang}}.jsonl"}}
labels: [entailment, contradiction]
verbalizers: {{en: {{entailment: "yes", contradiction: "no"}}}}
templates: {{en: ["{{premise}} Question: {{hypothesis}}? yes or no?"]}}
"""


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's folder: a model, an Indonesian-Javanese bitext built into training data, and a small task."""
    root = tmp_path_factory.mktemp("user")
    model = tiny.save(tiny.gpt2(), root / "model")
    bitext = write(root / "pairs.csv", WIDE_CSV)
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
                "--objectives",
                "mt",
                "--output",
                str(root / "data"),
            ]
        )
        == 0
    )
    for lang in ("ind", "jav", "sun"):
        write(root / "tasks" / f"{lang}.jsonl", nli_rows(6))
    for name in ("nli_a", "nli_b"):
        write(root / f"{name}.yaml", NLI.format(name=name))
    return root, model


def train(root: Path, model: str, out: str, *more: str) -> Path:
    args = ["train", "--model", model, "--data", str(root / "data"), "--max-steps", "2", "--batch-size", "2"]
    assert main([*args, "--output", str(root / out), *more]) == 0
    return root / out


def embedding(model: Path) -> torch.Tensor:
    from instructalign.models import load_model

    loaded, _, _ = load_model(str(model))
    loaded = loaded.merge_and_unload() if hasattr(loaded, "merge_and_unload") else loaded
    return loaded.get_input_embeddings().weight.detach()


def test_new_tokens_train_under_lora_unless_frozen(user):
    root, model = user
    extended = root / "extended"
    assert (
        main(
            [
                "vocab",
                "extend",
                "--model",
                model,
                "--data",
                str(root / "pairs.csv"),
                "--langs",
                "jav",
                "--add",
                "20",
                "--pivots",
                "ind",
                "--output",
                str(extended),
            ]
        )
        == 0
    )
    first = json.loads((extended / "instructalign_vocab.json").read_text())["first_new_id"]
    before = embedding(extended)
    rows = embedding(train(root, str(extended), "lora-rows", "--lora", "--lr", "1e-2") / "final")
    assert not torch.equal(rows[first:], before[first:]) and torch.equal(rows[:first], before[:first])
    frozen = embedding(
        train(root, str(extended), "lora-frozen", "--lora", "--lora-new-tokens", "frozen") / "final"
    )
    assert torch.equal(frozen, before)


def test_lora_without_lr_trains_at_1e4_and_full_tuning_at_the_papers_rate(user):
    root, model = user
    lora = json.loads((train(root, model, "lora", "--lora") / "train_config.json").read_text())
    full = json.loads((train(root, model, "full") / "train_config.json").read_text())
    assert lora["settings"]["lr"] == 1e-4 and full["settings"]["lr"] == 1e-5


def test_eval_records_the_groups_of_the_training_data_and_report_uses_them(user, capsys):
    root, model = user
    trained = train(root, model, "trained-for-report") / "final"
    task = ["--task", str(root / "nli_a.yaml"), "--data", str(root / "tasks")]
    for name, path in (("base", model), ("trained", trained)):
        assert main(["eval", "--model", str(path), *task, "--output", str(root / f"eval-{name}")]) == 0
    recorded = json.loads((root / "eval-trained" / "results.json").read_text())
    assert recorded["roles"] == {"L1": ["ind"], "L2": ["jav"], "L3": ["sun"]}
    assert "scoring 18 prompts" in capsys.readouterr().out
    out = root / "report"
    assert (
        main(
            [
                "report",
                "--run",
                f"base={root / 'eval-base'}",
                "--run",
                f"trained={root / 'eval-trained'}",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    groups = (out / "groups.csv").read_text().splitlines()
    assert any(line.startswith("L2,") and any(c.isdigit() for c in line) for line in groups), groups
    assert "from the evaluation of `trained` (the training data's manifest" in (out / "report.md").read_text()


def test_report_reads_a_several_task_eval_folder(user, capsys, fails):
    root, model = user
    data = f"nli_a={root / 'tasks'},nli_b={root / 'tasks'}"
    tasks = f"{root / 'nli_a.yaml'},{root / 'nli_b.yaml'}"
    for name in ("one", "two"):
        argv = ["eval", "--model", model, "--task", tasks, "--data", data, "--roles", "L1=ind;L2=jav"]
        assert main([*argv, "--output", str(root / f"both-{name}")]) == 0
    runs = ["--run", f"one={root / 'both-one'}", "--run", f"two={root / 'both-two'}"]
    assert main(["report", *runs, "--output", str(root / "per-task")]) == 0
    assert (root / "per-task" / "nli_a" / "report.md").is_file() and (root / "per-task" / "nli_b").is_dir()
    assert main(["report", *runs, "--task", "nli_b", "--output", str(root / "one-task")]) == 0
    assert "nli_b" in (root / "one-task" / "report.md").read_text()


def test_card_adds_this_models_results_and_refuses_another_models(user, fails):
    root, model = user
    run = train(root, model, "carded")
    other = train(root, model, "other", "--seed", "3")
    task = ["--task", str(root / "nli_a.yaml"), "--data", str(root / "tasks"), "--limit", "4"]
    assert main(["eval", "--model", str(run / "final"), *task, "--output", str(root / "eval-carded")]) == 0
    assert main(["eval", "--model", str(other / "final"), *task, "--output", str(root / "eval-other")]) == 0
    fails(["card", "--model", str(run / "final"), "--eval", str(root / "eval-other")], "not of")
    assert main(["card", "--model", str(run / "final"), "--eval", str(root / "eval-carded")]) == 0
    card = (run / "final" / "README.md").read_text()
    assert "name: carded" in card and "## Results" in card and "## Usage" in card
    assert "first 4 per language" in card and "AutoModelForCausalLM" in card


def test_a_base_from_the_hub_cache_is_named_by_its_hub_id_not_its_own_base(user):
    root, model = user
    snapshot = root / "hub" / "models--Org--Tiny-Instruct" / "snapshots" / "0123abc"
    shutil.copytree(model, snapshot)
    write(
        snapshot / "README.md", "---\nbase_model: Org/Tiny\nlicense: apache-2.0\n---\n# the instruct model\n"
    )
    card = (train(root, str(snapshot), "from-cache") / "final" / "README.md").read_text()
    assert "base_model: Org/Tiny-Instruct" in card and "base_model: Org/Tiny\n" not in card
    local = root / "local-copy"
    shutil.copytree(snapshot, local)
    card = (train(root, str(local), "from-local") / "final" / "README.md").read_text()
    assert "Org/Tiny" not in card  # a local copy's own card names its base, not it
    named = train(root, str(local), "named", "--base-model-id", "Org/Tiny-Instruct") / "final" / "README.md"
    assert "base_model: Org/Tiny-Instruct" in named.read_text()


def test_merge_without_alpha_is_peft_merge_and_unload(user):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    root, model = user
    adapter = train(root, model, "adapter", "--lora", "--lr", "1e-2") / "final"
    assert main(["merge", "--tuned", str(adapter), "--output", str(root / "merged")]) == 0
    expected = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model), str(adapter))
    expected = expected.merge_and_unload().state_dict()
    merged = AutoModelForCausalLM.from_pretrained(str(root / "merged")).state_dict()
    assert all(torch.equal(merged[k], expected[k]) for k in expected)
    assert json.loads((root / "merged" / "instructalign_merge.json").read_text())["alpha"] == 1.0


def test_replay_at_the_asked_share_repeats_rows_or_refuses(user, fails, capsys):
    root, _ = user
    replay = write(
        root / "replay.jsonl",
        "".join(json.dumps({"prompt": f"q{i}", "target": f"a{i}"}) + "\n" for i in range(3)),
    )
    args = [
        "data",
        "build",
        "--bitext",
        str(root / "pairs.csv"),
        "--pivots",
        "ind",
        "--targets",
        "jav,sun",
        "--replay",
        str(replay),
        "--replay-ratio",
        "0.5",
    ]
    assert main([*args, "--output", str(root / "oversampled")]) == 0
    assert "repeated" in capsys.readouterr().err
    manifest = json.loads((root / "oversampled" / "manifest.json").read_text())
    share = manifest["replay"]["used"] / manifest["counts"]["total"]
    assert abs(share - 0.5) <= 0.02 and manifest["replay"]["repeat_factor"] > 1
    fails([*args, "--no-oversample", "--output", str(root / "refused")], "drop --no-oversample")


def test_report_to_none_writes_no_tensorboard_and_an_absent_tool_is_one_line(user, fails):
    root, model = user
    run = train(root, model, "quiet", "--report-to", "none")
    assert not (run / "tensorboard").exists()
    if not __import__("importlib").util.find_spec("wandb"):
        fails(
            [
                "train",
                "--model",
                model,
                "--data",
                str(root / "data"),
                "--output",
                str(root / "w"),
                "--report-to",
                "wandb",
            ],
            "pip install wandb",
        )


def test_an_id_column_is_named_as_a_row_index_in_the_error(tmp_path, fails):
    bitext = write(tmp_path / "pairs.tsv", "id\tbug\nSaya makan.\tUsanre.\n")
    fails(
        [
            "data",
            "build",
            "--bitext",
            str(bitext),
            "--pivots",
            "ind",
            "--targets",
            "bug",
            "--output",
            str(tmp_path / "o"),
        ],
        "id (a row index, not Indonesian: name that column ind)",
    )
