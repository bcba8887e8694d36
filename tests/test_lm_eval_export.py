"""The ecosystem: exported lm-evaluation-harness tasks score exactly as `instructalign eval` does, our results
read in lm-eval's schema, and every model card the project writes carries metadata the hub parses."""

import json
import os
import subprocess
import sys

import pytest

import tiny
from helpers import write
from instructalign.cli import main
from instructalign.evaluate.tasks import load_task

LANGS = "jav,eng"
LM_EVAL = """
import json, sys
import lm_eval
from lm_eval.tasks import TaskManager
model, tasks_dir, out, chat = sys.argv[1:5]
res = lm_eval.simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", device="cpu",
    tasks=sys.argv[5:], task_manager=TaskManager(include_path=tasks_dir), batch_size=8, log_samples=True,
    apply_chat_template=chat == "chat")
preds = {t: {s["doc"]["ia_id"]: max(range(len(s["filtered_resps"])), key=lambda j: s["filtered_resps"][j][0])
             for s in samples} for t, samples in res["samples"].items()}
json.dump({"results": res["results"], "preds": preds}, open(out, "w"), default=str)
"""


@pytest.fixture(scope="module", params=["raw", "chat"])
def model(request, tmp_path_factory):
    """A tiny GPT-2 (raw text), and a tiny ChatML model that both tools score in its chat template (ours by
    default, lm-eval with --apply_chat_template); each context holds every prompt: past it, the two tools
    cut long prompts differently."""
    folder = tmp_path_factory.mktemp("m")
    if request.param == "chat":
        return request.param, tiny.chat_model("chatml", folder / "chatml", positions=2048)
    return request.param, tiny.save(tiny.gpt2(dropout=0.0, positions=1024), folder / "gpt2")


@pytest.mark.slow
def test_lm_eval_on_the_exported_tasks_gives_our_predictions_and_scores(model, nusax, sib200, tmp_path):
    pytest.importorskip("lm_eval")
    fmt, model = model
    data = f"nusax_senti={nusax},sib200={sib200}"
    common = ["--task", "nusax_senti,sib200", "--data", data, "--langs", LANGS, "--limit", "6"]
    assert main(["export", "lm-eval", *common, "--output", str(tmp_path / "tasks")]) == 0
    assert (
        main(["eval", "--model", model, *common, "--output", str(tmp_path / "ours"), "--lm-eval-results"])
        == 0
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            LM_EVAL,
            model,
            str(tmp_path / "tasks"),
            str(tmp_path / "lm.json"),
            fmt,
            "ia_nusax_senti",
            "ia_sib200",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads((tmp_path / "lm.json").read_text())
    compared = 0
    for task in ("nusax_senti", "sib200"):
        labels = load_task(task).labels  # doc_to_choice lists the verbalizers in this order
        results = json.loads((tmp_path / "ours" / task / "results.json").read_text())
        ours = [
            json.loads(x) for x in (tmp_path / "ours" / task / "predictions.jsonl").read_text().splitlines()
        ]
        for lang, per_lang in results["tasks"][task].items():
            for tid, metrics in per_lang["templates"].items():
                name = f"ia_{task}_{lang}_{tid}"
                mine = {r["id"]: r["pred"] for r in ours if r["lang"] == lang and r["template"] == tid}
                their = theirs["preds"][name]
                assert len(their) == len(mine) == 6
                for doc_id, index in their.items():
                    assert labels[index] == mine[doc_id], (name, doc_id)
                    compared += 1
                assert theirs["results"][name]["f1,none"] == pytest.approx(metrics["weighted_f1"], abs=1e-6)
                assert theirs["results"][name]["acc,none"] == pytest.approx(metrics["accuracy"], abs=1e-6)
            group = theirs["results"][f"ia_{task}_{lang}"]["f1,none"]
            assert group == pytest.approx(per_lang["weighted_f1"], abs=1e-6)  # the mean over templates
        mine_schema = json.loads((tmp_path / "ours" / task / "lm_eval_results.json").read_text())
        for name, row in mine_schema["results"].items():
            assert row["f1,none"] == pytest.approx(theirs["results"][name]["f1,none"], abs=1e-6), name
            assert row["acc,none"] == pytest.approx(theirs["results"][name]["acc,none"], abs=1e-6), name
    assert compared == 2 * 2 * 6 * 6  # tasks x languages x templates x sentences
    recorded = json.loads((tmp_path / "ours" / "nusax_senti" / "results.json").read_text())["chat_template"]
    assert recorded == {"raw": "none", "chat": "the tokenizer's"}[fmt]


def test_a_translation_task_is_refused_in_one_line(tmp_path, nusax, capsys):
    assert (
        main(
            ["export", "lm-eval", "--task", "nusax_mt", "--data", str(nusax), "--output", str(tmp_path / "x")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a translation task is not exported" in err
    assert not (tmp_path / "x").exists()


def test_the_export_writes_the_exact_prompts_and_runs_from_anywhere(tmp_path, nusax):
    import yaml

    assert (
        main(
            [
                "export",
                "lm-eval",
                "--data",
                str(nusax),
                "--langs",
                "bug",
                "--prompt-langs",
                "id",
                "--limit",
                "3",
                "--output",
                str(tmp_path / "tasks"),
            ]
        )
        == 0
    )
    folder = tmp_path / "tasks" / "nusax_senti"
    names = sorted(p.stem for p in folder.glob("ia_*.yaml"))
    assert names == ["ia_nusax_senti_bug_id0", "ia_nusax_senti_bug_id1", "ia_nusax_senti_bug_id2"]
    text = (folder / "ia_nusax_senti_bug_id0.yaml").read_text()
    doc = yaml.safe_load(text.replace("!function ", ""))
    assert (
        doc["doc_to_text"]
        == '{{ text }}\nApakah sentimen dari teks tersebut? "negatif", "netral", atau "positif"?'
    )
    assert doc["doc_to_choice"] == ["negatif", "netral", "positif"] and doc["target_delimiter"] == " "
    rows = [json.loads(x) for x in (folder / "data" / "bug.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["ia_label"] in (0, 1, 2) for r in rows)
    assert "data_file" in text and str(tmp_path) not in text  # relative: the folder can move


# ---------------------------------------------------------------- model cards


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A base with a card of its own, a built data folder, and full, LoRA and merged models from it."""
    tmp = tmp_path_factory.mktemp("cards")
    base = tiny.save(tiny.gpt2(), tmp / "base")
    write(
        tmp / "base" / "README.md",
        "---\nbase_model: bigscience/bloomz-560m\nlicense: bigscience-bloom-rail-1.0\n---\n# base\n",
    )
    bitext = write(
        tmp / "b.csv", "ind,jav\n" + "".join(f"Hotel {i} bersih.,Hotel {i} resik.\n" for i in range(12))
    )
    data = tmp / "data"
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
                str(data),
            ]
        )
        == 0
    )
    train = [
        "train",
        "--model",
        base,
        "--data",
        str(data),
        "--max-steps",
        "2",
        "--save-steps",
        "2",
        "--batch-size",
        "2",
        "--base-model-id",
        "org/tiny-bloomz",  # the hub id of the local base, whose own card names *its* base
    ]
    assert main([*train, "--output", str(tmp / "full")]) == 0
    assert main([*train, "--lora", "--lora-targets", "c_attn", "--output", str(tmp / "lora")]) == 0
    assert (
        main(
            [
                "merge",
                "--base",
                base,
                "--tuned",
                str(tmp / "full" / "final"),
                "--output",
                str(tmp / "merged"),
                "--base-model-id",
                "org/tiny-bloomz",
            ]
        )
        == 0
    )
    return tmp


@pytest.mark.parametrize(
    "folder, library, relation",
    [
        ("full/final", "transformers", "finetune"),
        ("lora/final", "peft", "adapter"),
        ("merged", "transformers", "merge"),
    ],
)
def test_every_card_the_project_writes_has_hub_metadata(runs, folder, library, relation):
    from huggingface_hub import ModelCard

    card = ModelCard.load(runs / folder / "README.md")
    manifest = json.loads((runs / "data" / "manifest.json").read_text())
    assert (
        card.data.language
        == [*manifest["settings"]["pivots"], *manifest["settings"]["targets"]]
        == ["ind", "jav"]
    )
    assert card.data.base_model == "org/tiny-bloomz"  # given: never bloomz-560m, the local base's own base
    assert card.data.base_model_relation == relation
    assert card.data.library_name == library and card.data.pipeline_tag == "text-generation"
    assert card.data.license == "bigscience-bloom-rail-1.0"
    assert {"instructalign", "continual-learning", "crosslingual-alignment"} <= set(card.data.tags)
    assert "# " in card.text  # the prose is still there


def test_card_adds_a_model_index_that_round_trips(runs, nusax):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    model = runs / "full" / "final"
    out = runs / "eval"
    assert (
        main(
            [
                "eval",
                "--model",
                str(model),
                "--data",
                str(nusax),
                "--langs",
                "jav,ind",
                "--limit",
                "4",
                "--roles",
                "L1=ind;L2=jav",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert main(["card", "--model", str(model), "--eval", str(out)]) == 0
    card = ModelCard.load(model / "README.md")
    name, parsed = model_index_to_eval_results(card.data.to_dict()["model-index"])
    results = json.loads((out / "results.json").read_text())
    by_config = {r.dataset_config: r.metric_value for r in parsed}
    assert name == "full"  # the run folder's name, not final/
    assert by_config == {
        "jav": round(100 * results["tasks"]["nusax_senti"]["jav"]["weighted_f1"], 2),
        "ind": round(100 * results["tasks"]["nusax_senti"]["ind"]["weighted_f1"], 2),
        "L1": round(100 * results["groups"]["L1"]["weighted_f1"], 2),
        "L2": round(100 * results["groups"]["L2"]["weighted_f1"], 2),
    }
    assert all(
        r.metric_type == "f1" and r.dataset_type == "nusax_senti" and r.dataset_split == "test"
        for r in parsed
    )
    assert main(["card", "--model", str(model), "--eval", str(out)]) == 0  # again: replaced, not doubled
    assert (
        len(model_index_to_eval_results(ModelCard.load(model / "README.md").data.to_dict()["model-index"])[1])
        == 4
    )
