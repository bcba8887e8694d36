"""The shipped classification tasks run end to end on a tiny model, on the data in ../shared/data."""

import json

import pytest

from instructalign.cli import main
from instructalign.data.prompts import render
from instructalign.evaluate.tasks import load_task


def test_options_are_listed_as_the_original_code_lists_them():
    task = load_task("sib200")
    assert task.options("en").startswith('"science/technology", "travel", ') and task.options("en").endswith(
        ', or "geography"'
    )
    senti = load_task("nusawrites_senti")
    assert (
        senti.options("en") == '"negative" or "positive"'
        and senti.options("id") == '"negatif" atau "positif"'
    )
    assert render(senti.templates["id"][0], text="Enak.", options=senti.options("id")) == (
        'Enak.\nApakah sentimen dari teks tersebut? "negatif" atau "positif"?'
    )


@pytest.mark.parametrize(
    "task, folder, langs", [("sib200", "sib200", "jav,fij"), ("nusawrites_senti", "nusawrites", "rej,jav")]
)
def test_shipped_task_runs_on_a_tiny_model(task, folder, langs, model_dir, nusax, tmp_path):
    data = nusax.parent / folder
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--task",
                task,
                "--data",
                str(data),
                "--langs",
                langs,
                "--limit",
                "6",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"][task]) == set(langs.split(",")) and results["split"] == "test"
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 6 * 6 and all('"' in r["prompt"] for r in rows)


def test_unknown_language_for_a_task_is_one_line(model_dir, nusax, tmp_path, capsys):
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--task",
                "sib200",
                "--data",
                str(nusax.parent / "sib200"),
                "--langs",
                "mad",
                "--output",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--langs mad: not in task sib200" in err


PAPER_PROMPTS = {
    "en": [
        "{text}\nWhat would be the sentiment of the text above? {options}?",
        "What is the sentiment of this text?\nText: {text}\nAnswer with {options}:",
        "Text: {text}\n\nPlease classify the sentiment of above text. Answer with {options}:",
    ],
    "id": [
        "{text}\nApakah sentimen dari teks tersebut? {options}?",
        "Apakah sentimen dari teks berikut?\nTeks: {text}\nJawab dengan {options}:",
        "Teks: {text}\n\nTolong prediksikan sentimen dari teks diatas. Jawab dengan {options}:",
    ],
}


def test_nusax_senti_uses_the_papers_six_prompts_with_its_option_list():
    task = load_task("nusax_senti")
    assert task.templates == PAPER_PROMPTS
    assert task.options("en") == '"negative", "neutral", or "positive"'  # to_prompt: quoted, data label order
    assert task.options("id") == '"negatif", "netral", atau "positif"'
    assert render(task.templates["en"][1], text="Good.", options=task.options("en")) == (
        'What is the sentiment of this text?\nText: Good.\nAnswer with "negative", "neutral", or "positive":'
    )


def test_the_earlier_phrasings_stay_available_as_a_named_set(model_dir, nusax, tmp_path, capsys):
    extended = load_task("nusax_senti", "extended")
    assert extended.templates["en"][1] == "What is the sentiment of this text?\nText: {text}\nAnswer:"
    assert extended.fingerprint() != load_task("nusax_senti").fingerprint()  # reports refuse to mix them
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--data",
                str(nusax),
                "--langs",
                "jav",
                "--limit",
                "3",
                "--templates-set",
                "extended",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    prompts = [json.loads(line)["prompt"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(prompts) == 18 and not any('"' in p for p in prompts)
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--data",
                str(nusax),
                "--templates-set",
                "short",
                "--output",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no template set 'short' (named sets: extended)" in err


def test_several_tasks_load_the_model_once_and_match_single_task_runs(
    model_dir, nusax, tmp_path, monkeypatch
):
    import instructalign.evaluate.run as run

    loads = []
    real = run.load_model
    monkeypatch.setattr(run, "load_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    data = (
        f"nusax_senti={nusax},sib200={nusax.parent / 'sib200'},nusawrites_senti={nusax.parent / 'nusawrites'}"
    )
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--task",
                "nusax_senti,sib200,nusawrites_senti",
                "--data",
                data,
                "--langs",
                "jav,mad,rej",
                "--limit",
                "4",
                "--output",
                str(tmp_path / "all"),
            ]
        )
        == 0
    )
    assert len(loads) == 1
    langs = {
        t: set(json.loads((tmp_path / "all" / t / "results.json").read_text())["tasks"][t])
        for t in ("nusax_senti", "sib200", "nusawrites_senti")
    }
    assert langs == {
        "nusax_senti": {"jav", "mad"},
        "sib200": {"jav"},
        "nusawrites_senti": {"jav", "mad", "rej"},
    }
    assert (
        main(
            [
                "eval",
                "--model",
                model_dir,
                "--task",
                "sib200",
                "--data",
                str(nusax.parent / "sib200"),
                "--langs",
                "jav",
                "--limit",
                "4",
                "--output",
                str(tmp_path / "one"),
            ]
        )
        == 0
    )
    scores = [
        [x for line in (d / "predictions.jsonl").read_text().splitlines() for x in json.loads(line)["scores"]]
        for d in (tmp_path / "all" / "sib200", tmp_path / "one")
    ]
    assert scores[0] == pytest.approx(scores[1], abs=1e-4)


def test_each_task_can_have_its_own_row_limit(model_dir, nusax, tmp_path):
    from instructalign.config import EvalConfig
    from instructalign.evaluate.run import evaluate

    cfg = EvalConfig(
        model=model_dir,
        task="sib200,nusawrites_senti",
        langs="jav",
        limit=4,
        prompt_langs="en",
        data=f"sib200={nusax.parent / 'sib200'},nusawrites_senti={nusax.parent / 'nusawrites'}",
        output=str(tmp_path / "o"),
    )
    evaluate(cfg, limits={"sib200": 2})
    rows = {
        t: len((tmp_path / "o" / t / "predictions.jsonl").read_text().splitlines())
        for t in ("sib200", "nusawrites_senti")
    }
    assert rows == {"sib200": 2 * 3, "nusawrites_senti": 4 * 3}  # rows x the three English templates
    settings = {
        t: json.loads((tmp_path / "o" / t / "results.json").read_text())["settings"]
        for t in ("sib200", "nusawrites_senti")
    }
    # each results.json records the run that reproduces it alone
    assert [(s["task"], s["data"], s["limit"], s["output"]) for s in settings.values()] == [
        (t, str(nusax.parent / folder), n, str(tmp_path / "o" / t))
        for t, folder, n in (("sib200", "sib200", 2), ("nusawrites_senti", "nusawrites", 4))
    ]


def test_limit_per_task_on_the_command_line(model_dir, nusax, tmp_path, capsys):
    data = f"sib200={nusax.parent / 'sib200'},nusawrites_senti={nusax.parent / 'nusawrites'}"
    args = [
        "eval",
        "--model",
        model_dir,
        "--task",
        "sib200,nusawrites_senti",
        "--data",
        data,
        "--langs",
        "jav",
        "--prompt-langs",
        "en",
    ]
    assert main([*args, "--limit", "sib200=2,nusawrites_senti=3", "--output", str(tmp_path / "o")]) == 0
    rows = {
        t: len((tmp_path / "o" / t / "predictions.jsonl").read_text().splitlines())
        for t in ("sib200", "nusawrites_senti")
    }
    assert rows == {"sib200": 2 * 3, "nusawrites_senti": 3 * 3}
    capsys.readouterr()
    assert main([*args, "--limit", "sib200=2,nusax_senti=3", "--output", str(tmp_path / "p")]) == 2
    assert "--limit nusax_senti: not a task of --task" in capsys.readouterr().err
    assert main([*args, "--limit", "sib200=0", "--output", str(tmp_path / "q")]) == 2


@pytest.mark.parametrize(
    "data, message",
    [
        (
            "nusax_senti={nusax}",
            "--data nusax_senti={nusax}: no folder for sib200; give TASK=PATH for each task",
        ),
        ("{nusax}", "sentiment/acehnese/test.csv"),  # one folder for both: sib200's files are not there
    ],
)
def test_several_tasks_check_every_folder_before_the_model_loads(
    data, message, model_dir, nusax, tmp_path, capsys
):
    data, message = data.format(nusax=nusax), message.format(nusax=nusax)
    code = main(
        [
            "eval",
            "--model",
            model_dir,
            "--task",
            "nusax_senti,sib200",
            "--data",
            data,
            "--output",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "o").exists()
    assert message in err or "sib200" in err


def test_a_limit_on_sib200_keeps_every_topic_and_the_same_sentences_in_every_language(nusax):
    # SIB-200's test files list the topics in blocks: the first 150 rows would hold no entertainment or
    # geography
    from collections import Counter

    from instructalign.evaluate.spec import load_examples

    task = load_task("sib200")
    rows = {lang: load_examples(task, str(nusax.parent / "sib200"), lang, 28) for lang in ("jav", "fra")}
    assert set(Counter(r["category"] for r in rows["jav"])) == set(task.labels)
    assert [r["index_id"] for r in rows["jav"]] == [r["index_id"] for r in rows["fra"]]
    senti = load_task("nusax_senti")  # files in no label order: the first N rows, as before
    assert load_examples(senti, str(nusax), "jav", 5) == load_examples(senti, str(nusax), "jav")[:5]
