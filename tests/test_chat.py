"""Chat models in their own format: conversations trained with exactly `apply_chat_template`'s ids and the
loss on the assistant turns only, replay data in the formats users hold it, and prompts scored after the
rendered user turn (issue: "Today's chat models, first-class")."""

import json

import pytest
import torch

import tiny
from helpers import WIDE_CSV, write
from instructalign.cli import main

KINDS = ["chatml", "llama3", "gemma", "mistral"]
REPLAY = [
    {
        "messages": [
            {"role": "user", "content": "Apa ibu kota Indonesia?"},
            {"role": "assistant", "content": "Jakarta."},
            {"role": "user", "content": "Dan Jawa Barat?"},
            {"role": "assistant", "content": "Bandung."},
        ]
    },
    {"conversations": [{"from": "human", "value": "Say hello."}, {"from": "gpt", "value": "Hello."}]},
    {"instruction": "Translate to English.", "input": "Selamat pagi.", "output": "Good morning."},
    {"inputs": "Is the hotel clean? Yes or No?", "targets": "Yes"},
    {"prompt": "Sebutkan warna langit.", "target": "Biru."},
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Alignment pairs of a small bitext with a replay file holding one row of every format."""
    root = tmp_path_factory.mktemp("chat")
    replay = write(root / "replay.jsonl", "".join(json.dumps(r) + "\n" for r in REPLAY))
    args = [
        "data",
        "build",
        "--bitext",
        str(write(root / "b.csv", WIDE_CSV)),
        "--pivots",
        "ind",
        "--targets",
        "jav",
        "--objectives",
        "mt",
        "--replay",
        str(replay),
        "--replay-count",
        "5",
        "--output",
        str(root / "d"),
    ]
    assert main(args) == 0
    return root


def rows_of(built) -> list[dict]:
    return [json.loads(line) for line in (built / "d" / "train.jsonl").read_text().splitlines()]


def test_data_build_takes_messages_sharegpt_alpaca_xp3_and_prompt_target_rows(built):
    replayed = [r for r in rows_of(built) if r["source"] == "replay"]
    conversations = [r["messages"] for r in replayed if "messages" in r]
    assert len(replayed) == 5 and len(conversations) == 2
    assert {m[-1]["content"] for m in conversations} == {"Bandung.", "Hello."}
    pairs = {r["prompt"]: r["target"] for r in replayed if "prompt" in r}
    assert pairs["Translate to English.\n\nSelamat pagi."] == "Good morning."  # Alpaca: instruction, input
    assert pairs["Is the hotel clean? Yes or No?"] == "Yes"


def test_a_conversation_that_does_not_alternate_is_refused_with_its_line(tmp_path, fails):
    bad = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    replay = write(tmp_path / "r.jsonl", json.dumps(REPLAY[1]) + "\n" + json.dumps(bad) + "\n")
    fails(
        [
            "data",
            "build",
            "--bitext",
            str(write(tmp_path / "b.csv", WIDE_CSV)),
            "--pivots",
            "ind",
            "--targets",
            "jav",
            "--replay",
            str(replay),
            "--replay-count",
            "2",
            "--output",
            str(tmp_path / "o"),
        ],
        "r.jsonl line 2",
    )


def labelled_runs(tokenizer, ids: list[int], labels: list[int]) -> list[str]:
    """The texts of the runs of labelled tokens, in order."""
    runs, current = [], []
    for token, label in zip(ids, labels):
        if label != -100:
            current.append(token)
        elif current:
            runs.append(current)
            current = []
    runs += [current] if current else []
    return [tokenizer.decode(run) for run in runs]


@pytest.mark.parametrize("kind", KINDS)
def test_preview_gives_the_templates_ids_and_labels_exactly_on_the_assistant_turns(
    built, kind, tmp_path, capsys
):
    from transformers import AutoTokenizer

    model = tiny.chat_model(kind, tmp_path / kind)
    capsys.readouterr()
    assert main(["data", "preview", "--data", str(built / "d"), "--model", model, "--n", "40", "--json"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    tokenizer, end = AutoTokenizer.from_pretrained(model), tiny.END_OF_TURN[kind]
    for row, example in zip(rows_of(built), shown):
        messages = row.get("messages") or [
            {"role": "user", "content": row["prompt"]},
            {"role": "assistant", "content": row["target"]},
        ]
        assert example["input_ids"] == tokenizer.apply_chat_template(messages)["input_ids"]
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        assert labelled_runs(tokenizer, example["input_ids"], example["labels"]) == [a + end for a in answers]
    assert len(shown) == len(rows_of(built)) == 13  # 8 MT pairs and 5 replay rows, the multi-turn one whole


def test_train_keeps_a_template_given_as_a_file_and_eval_meets_the_model_in_it(built, tmp_path):
    from transformers import AutoTokenizer

    model = tiny.chat_model("none", tmp_path / "plain")
    template = write(tmp_path / "chatml.jinja", tiny.TEMPLATES["chatml"])
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                model,
                "--data",
                str(built / "d"),
                "--chat-template",
                str(template),
                "--max-steps",
                "2",
                "--batch-size",
                "2",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert AutoTokenizer.from_pretrained(out / "final").chat_template == tiny.TEMPLATES["chatml"]
    assert json.loads((out / "train_summary.json").read_text())["chat_template"] == str(template)
    write(
        tmp_path / "t" / "ind.jsonl",
        "".join(
            json.dumps({"text": "Hotel itu bersih.", "label": lab}) + "\n" for lab in ("positive", "negative")
        ),
    )
    task = write(tmp_path / "t.yaml", TASK)
    assert (
        main(
            [
                "eval",
                "--model",
                str(out / "final"),
                "--task",
                str(task),
                "--data",
                str(tmp_path / "t"),
                "--output",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "e" / "results.json").read_text())["chat_template"] == "the tokenizer's"


TASK = """name: tiny_senti
kind: classification
languages: [ind]
data: {path: "{lang}.jsonl"}
labels: [positive, negative]
verbalizers: {en: {positive: good, negative: bad}}
templates: {en: ["{text}\\nIs this good or bad?"]}
"""


@pytest.mark.parametrize("kind", ["chatml", "llama3"])
def test_eval_scores_each_label_as_the_assistants_answer_after_the_rendered_prompt(kind, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = tiny.chat_model(kind, tmp_path / kind)
    write(tmp_path / "t" / "ind.jsonl", json.dumps({"text": "Hotel itu bersih.", "label": "positive"}) + "\n")
    task = write(tmp_path / "t.yaml", TASK)
    assert (
        main(
            [
                "eval",
                "--model",
                model,
                "--task",
                str(task),
                "--data",
                str(tmp_path / "t"),
                "--output",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    [record] = [json.loads(x) for x in (tmp_path / "e" / "predictions.jsonl").read_text().splitlines()]
    tokenizer, lm = AutoTokenizer.from_pretrained(model), AutoModelForCausalLM.from_pretrained(model)
    user = [{"role": "user", "content": "Hotel itu bersih.\nIs this good or bad?"}]
    prompt = tokenizer.apply_chat_template(user, add_generation_prompt=True)["input_ids"]
    assert record["prompt"] == tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
    for word, score in zip(("good", "bad"), record["scores"]):
        answer = tokenizer(word, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = lm(torch.tensor([prompt + answer])).logits[0].log_softmax(-1)
        expected = sum(float(logits[len(prompt) - 1 + i, t]) for i, t in enumerate(answer))
        assert abs(score - expected) < 1e-4


def test_a_template_that_renders_a_beginning_differently_is_refused(built, tmp_path, fails):
    dated = tiny.TEMPLATES["chatml"].replace(
        "{%- if add_generation_prompt %}", "{%- if add_generation_prompt %}{{- 'Today: 26 Jul 2024\\n' }}"
    )  # the generation prompt says something the whole conversation does not
    model = tiny.chat_model("chatml", tmp_path / "m")
    template = write(tmp_path / "dated.jinja", dated)
    fails(
        ["data", "preview", "--data", str(built / "d"), "--model", model, "--chat-template", str(template)],
        "is not the beginning of the whole",
    )


def test_template_settings_a_model_cannot_take_are_one_line(built, tmp_path, fails):
    gemma = tiny.chat_model("gemma", tmp_path / "g")
    fails(
        ["data", "preview", "--data", str(built / "d"), "--model", gemma, "--system", "Be brief."],
        "System role not supported",
    )
    t5 = tiny.save(tiny.t5(), tmp_path / "t5")
    template = write(tmp_path / "c.jinja", tiny.TEMPLATES["chatml"])
    fails(
        ["data", "preview", "--data", str(built / "d"), "--model", t5, "--chat-template", str(template)],
        "an encoder-decoder model",
    )
    fails(
        ["data", "preview", "--data", str(built / "d"), "--model", gemma, "--chat-template", "nope.jinja"],
        "no such file",
    )


def test_a_model_without_a_template_trains_on_raw_text_as_before(built, tmp_path, capsys, fails):
    from transformers import AutoTokenizer

    model = tiny.chat_model("none", tmp_path / "plain")
    fails(
        ["data", "preview", "--data", str(built / "d"), "--model", model],
        "line 9: a conversation of 2 exchanges",
    )
    single = tmp_path / "single"
    single.mkdir()
    (single / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_of(built)[:8]))
    capsys.readouterr()
    assert main(["data", "preview", "--data", str(single), "--model", model, "--n", "1", "--json"]) == 0
    [shown] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    row, tokenizer = rows_of(built)[0], AutoTokenizer.from_pretrained(model)
    prompt = tokenizer(row["prompt"])["input_ids"]
    target = tokenizer(" " + row["target"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert shown == {"input_ids": prompt + target, "labels": [-100] * len(prompt) + target}
