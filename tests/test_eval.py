import json

import pytest

import tiny
from helpers import nli_rows, write
from instructalign.cli import main
from instructalign.data.prompts import render
from instructalign.evaluate.metrics import classification_metrics, group_means, parse_roles
from instructalign.evaluate.spec import load_examples
from instructalign.evaluate.tasks import load_task


def test_metrics_on_a_hand_made_confusion_case():
    gold = ["pos", "pos", "pos", "neg", "neg", "neu"]
    pred = ["pos", "pos", "neg", "neg", "pos", "neu"]
    m = classification_metrics(gold, pred, ["neg", "neu", "pos"])
    # per class F1: pos P=2/3 R=2/3 -> 2/3; neg P=1/2 R=1/2 -> 1/2; neu 1
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 2 / 3 + 2 * 1 / 2 + 1 * 1) / 6)
    assert m["n"] == 6


def test_metrics_equal_scikit_learns_on_random_cases():
    """Labels never predicted, never gold, or both: scikit-learn's weighted/macro F1 (zero_division=0)."""
    import random

    from sklearn.metrics import accuracy_score, f1_score

    rng = random.Random(0)
    labels = ["a", "b", "c", "d"]
    for _ in range(200):
        n = rng.randint(1, 30)
        gold = [rng.choice(labels[: rng.randint(1, 4)]) for _ in range(n)]
        pred = [rng.choice(labels[rng.randint(0, 3) :]) for _ in range(n)]
        m = classification_metrics(gold, pred, labels)
        for average in ("weighted", "macro"):
            expected = f1_score(gold, pred, labels=labels, average=average, zero_division=0)
            assert m[f"{average}_f1"] == pytest.approx(expected, abs=1e-12), (gold, pred)
        assert m["accuracy"] == pytest.approx(accuracy_score(gold, pred))


def test_group_means_and_roles():
    roles = parse_roles("L1=eng,ind;L2=jav,sun;L3=mad")
    assert roles == {"L1": ["eng", "ind"], "L2": ["jav", "sun"], "L3": ["mad"]}
    per_lang = {"eng": {"weighted_f1": 0.8}, "ind": {"weighted_f1": 0.6}, "jav": {"weighted_f1": 0.5}}
    groups = group_means(per_lang, roles)
    assert groups["L1"]["weighted_f1"] == pytest.approx(0.7)
    assert groups["L2"] == {"weighted_f1": 0.5, "languages": ["jav"]}
    assert "L3" not in groups


def test_nusax_senti_golden_prompts():
    task = load_task("nusax_senti")
    assert len(task.templates["en"]) == 3 and len(task.templates["id"]) == 3
    assert render(task.templates["en"][0], text="Makanannya enak.", options=task.options("en")) == (
        'Makanannya enak.\nWhat would be the sentiment of the text above? "negative", "neutral", or '
        '"positive"?'
    )
    assert render(task.templates["id"][1], text="Makanannya enak.", options=task.options("id")) == (
        'Apakah sentimen dari teks berikut?\nTeks: Makanannya enak.\nJawab dengan "negatif", "netral", atau '
        '"positif":'
    )
    assert task.verbalizers["id"] == {"negative": "negatif", "neutral": "netral", "positive": "positif"}
    assert len(task.languages) == 12


FIXTURE_TASK = """
name: tiny_nli
kind: classification
languages: [ind, jav]
data: {path: "{lang}.jsonl"}
labels: [entailment, contradiction]
verbalizers:
  en: {entailment: "yes", contradiction: "no"}
templates:
  en: ["{premise}\\nQuestion: {hypothesis} Yes or no?"]
"""


def test_yaml_task_loader_on_a_fixture_task(tmp_path):
    task_file = write(tmp_path / "tiny_nli.yaml", FIXTURE_TASK)
    write(tmp_path / "data" / "ind.jsonl", nli_rows())
    task = load_task(str(task_file))
    rows = load_examples(task, str(tmp_path / "data"), "ind")
    assert len(rows) == 6 and task.template_ids(["en"]) == [("en0", "en", task.templates["en"][0])]
    assert (
        render(task.templates["en"][0], **rows[0])
        == "Hotel itu bersih 0.\nQuestion: Hotel itu kotor. Yes or no?"
    )


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return tiny.save(tiny.gpt2(), tmp_path_factory.mktemp("m") / "gpt2")


def nli_task(tmp_path, rows: list[dict]) -> list[str]:
    """The fixture task over `rows` (Indonesian), as eval flags."""
    write(tmp_path / "ind.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return [
        "--task",
        str(write(tmp_path / "nli.yaml", FIXTURE_TASK)),
        "--data",
        str(tmp_path),
        "--langs",
        "ind",
    ]


def test_prompts_cut_to_fit_max_length_are_counted_per_template(tiny_model_dir, tmp_path, capsys):
    from instructalign.models import load_tokenizer

    rows = [
        {"premise": "Hotel itu bersih " + "sekali " * (4 * i), "hypothesis": "Kotor.", "label": "entailment"}
        for i in range(6)
    ]
    task = nli_task(tmp_path, rows)
    tok = load_tokenizer(tiny_model_dir)
    lengths = [
        len(tok(render("{premise}\nQuestion: {hypothesis} Yes or no?", **r))["input_ids"]) for r in rows
    ]
    budget = sorted(lengths)[2] + 1  # three prompts fit, three are cut
    longest_choice = max(len(tok(c, add_special_tokens=False)["input_ids"]) for c in (" yes", " no"))
    out = tmp_path / "out"
    args = ["eval", "--model", tiny_model_dir, *task, "--max-length", str(budget + longest_choice)]
    assert main([*args, "--output", str(out)]) == 0
    per_template = json.loads((out / "results.json").read_text())["tasks"]["tiny_nli"]["ind"]["templates"]
    assert per_template["en0"]["prompts_truncated"] == sum(n > budget for n in lengths) == 3
    assert "3 prompts were cut from the left" in " ".join(capsys.readouterr().out.split())


def test_the_note_names_the_limit_that_cut_and_the_tokenizer_does_not_warn(tiny_model_dir, tmp_path, capfd):
    rows = [
        {"premise": "Hotel itu bersih " + "sekali " * 900, "hypothesis": "Kotor.", "label": "entailment"}
    ] * 2
    task = nli_task(tmp_path, rows)
    capfd.readouterr()
    assert main(["eval", "--model", tiny_model_dir, *task, "--output", str(tmp_path / "out")]) == 0
    out, err = capfd.readouterr()
    said = " ".join(out.split())
    assert (
        "2 prompts were cut from the left to fit the model's 256 positions (below --max-length 1024)" in said
    )
    assert "indexing errors" not in out + err  # the tokenizer's own overflow warning: not an error here


def test_eval_end_to_end_on_nusax(tiny_model_dir, nusax, tmp_path, capsys):
    out = tmp_path / "ev"
    rc = main(
        [
            "eval",
            "--model",
            tiny_model_dir,
            "--task",
            "nusax_senti",
            "--data",
            str(nusax),
            "--langs",
            "eng,jav,mad",
            "--limit",
            "12",
            "--roles",
            "L1=eng;L2=jav;L3=mad",
            "--batch-size",
            "5",
            "--output",
            str(out),
        ]
    )
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    jav = results["tasks"]["nusax_senti"]["jav"]
    assert set(jav) >= {"weighted_f1", "macro_f1", "accuracy", "n", "templates"}
    assert jav["n"] == 12 and len(jav["templates"]) == 6
    assert results["groups"]["L2"]["weighted_f1"] == pytest.approx(jav["weighted_f1"])
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 3 * 12 * 6
    p = preds[0]
    assert p["choices"] == [" negative", " neutral", " positive"] and len(p["scores"]) == 3
    assert p["pred"] == ["negative", "neutral", "positive"][max(range(3), key=lambda j: p["scores"][j])]
    assert "Javanese (jav)" in capsys.readouterr().out
    # predictions agree with the per-template metrics
    en0 = [q for q in preds if q["lang"] == "jav" and q["template"] == "en0"]
    assert sum(q["pred"] == q["gold"] for q in en0) / 12 == pytest.approx(jav["templates"]["en0"]["accuracy"])


def test_eval_on_a_fixture_task_with_two_columns_and_seq2seq(tmp_path):
    model_dir = tiny.save(tiny.t5(), tmp_path / "t5")
    task_file = write(tmp_path / "tiny_nli.yaml", FIXTURE_TASK)
    write(tmp_path / "data" / "ind.jsonl", nli_rows())
    write(tmp_path / "data" / "jav.jsonl", nli_rows(4))
    out = tmp_path / "ev"
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--task",
                str(task_file),
                "--data",
                str(tmp_path / "data"),
                "--prompt-langs",
                "en",
                "--normalize",
                "tokens",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"]["tiny_nli"]["jav"]["n"] == 4
    first = json.loads((out / "predictions.jsonl").read_text().splitlines()[0])
    assert "decision_scores" in first and first["prompt"].startswith("Hotel itu bersih")


def test_mt_task_reports_chrf_and_bleu(tiny_model_dir, nusax, tmp_path):
    out = tmp_path / "mt"
    assert (
        main(
            [
                "eval",
                "--model",
                tiny_model_dir,
                "--task",
                "nusax_mt",
                "--data",
                str(nusax),
                "--limit",
                "3",
                "--prompt-langs",
                "en",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())["tasks"]["nusax_mt"]
    assert set(results) == {"ind-jav", "jav-ind", "ind-sun", "sun-ind", "eng-jav", "jav-eng"}
    assert {"chrf", "bleu", "n"} <= set(results["ind-jav"]) and results["ind-jav"]["n"] == 3


BAD = {
    "unknown task": (
        lambda t, m: ["--task", "nusax_sentiment"],
        "unknown task 'nusax_sentiment'; shipped tasks: nusawrites_senti, nusax_mt, nusax_senti, sib200",
    ),
    "task yaml missing field": (
        lambda t, m: [
            "--task",
            str(
                write(
                    t / "x.yaml",
                    "name: x\nkind: classification\nlanguages: [ind]\ndata: {path: a}\nlabels: "
                    "[a]\ntemplates: {en: [t]}\n",
                )
            ),
        ],
        "x.yaml: missing field 'verbalizers'",
    ),
    "data file without the column": (
        lambda t, m: (
            ["--task", str(write(t / "nli.yaml", FIXTURE_TASK)), "--data", str(t), "--langs", "ind"]
            if write(t / "ind.jsonl", '{"premise": "a", "label": "entailment"}\n')
            else []
        ),
        "no column 'hypothesis'",
    ),
    "gold label without verbalizer": (
        lambda t, m: (
            ["--task", str(write(t / "nli.yaml", FIXTURE_TASK)), "--data", str(t), "--langs", "ind"]
            if write(t / "ind.jsonl", '{"premise": "a", "hypothesis": "b", "label": "neutral"}\n')
            else []
        ),
        "line 1: gold label 'neutral' has no verbalizer",
    ),
    "language without a file": (
        lambda t, m: ["--task", str(write(t / "nli.yaml", FIXTURE_TASK)), "--data", str(t), "--langs", "jav"],
        "jav.jsonl: no file for language 'jav'",
    ),
    "two task files with one name": (
        lambda t, m: [
            "--task",
            f"{write(t / 'nli.yaml', FIXTURE_TASK)},{write(t / 'b' / 'nli.yaml', FIXTURE_TASK)}",
        ],
        "two tasks would both write to OUTPUT/nli/",
    ),
    "missing model path": (
        lambda t, m: (
            [
                "--model",
                str(t / "no-model"),
                "--task",
                str(write(t / "nli.yaml", FIXTURE_TASK)),
                "--data",
                str(t),
                "--langs",
                "ind",
            ]
            if write(t / "ind.jsonl", nli_rows())
            else []
        ),
        "no-model: no model here",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_eval_bad_input(case, tiny_model_dir, tmp_path, capsys):
    make, expected = BAD[case]
    args = [
        "eval",
        "--model",
        tiny_model_dir,
        *make(tmp_path, tiny_model_dir),
        "--output",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "out" / "results.json").exists()
