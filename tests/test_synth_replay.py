"""Replay written by the model itself when its instruction data is private (`data synth-replay`): answers that
are the model's own continuations in its own format, prompts it writes itself, reproducible files that
`data build --replay` takes, and bad input refused before a model loads (issue: "Replay when the model's old
data is private")."""

import json

import pytest
import torch

import tiny
from helpers import write
from instructalign.cli import main

PROMPTS = [q for q, _ in tiny.CONVERSATIONS[:5]] + ["Apa ibu kota Jawa Timur?"]


@pytest.fixture(scope="module")
def chat(tmp_path_factory) -> str:
    """A tiny ChatML model that has learned tiny.CONVERSATIONS."""
    return tiny.taught(tiny.chat_model("chatml", tmp_path_factory.mktemp("m") / "chatml"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> str:
    """The same without a chat template: it learned "prompt answer<eos>"."""
    return tiny.taught(tiny.chat_model("none", tmp_path_factory.mktemp("m") / "plain"))


def greedy(model_dir: str, ids: list[int], stops: set[int], most: int) -> list[int]:
    """The greedy continuation by plain forward passes, one token at a time (no cache, no padding)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    out = []
    with torch.no_grad():
        for _ in range(most):
            token = int(model(torch.tensor([ids + out])).logits[0, -1].argmax())
            if token in stops:
                break
            out.append(token)
    return out


def synth(*args: str) -> int:
    return main(["data", "synth-replay", *args])


def rows_of(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "replay.jsonl").read_text().splitlines()]


def test_answers_are_the_models_greedy_continuation_of_its_rendered_prompt(chat, tmp_path):
    from transformers import AutoTokenizer

    prompts = write(tmp_path / "p.txt", "\n".join(PROMPTS) + "\n")
    out = tmp_path / "out"
    args = ["--model", chat, "--prompts", str(prompts), "--temperature", "0", "--max-new-tokens", "24"]
    assert synth(*args, "--batch-size", "4", "--keep-cut", "--output", str(out)) == 0  # left-padded batches
    tok = AutoTokenizer.from_pretrained(chat)
    end = tok.convert_tokens_to_ids(tiny.END_OF_TURN["chatml"].strip())
    expected = {}
    for prompt in PROMPTS:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
        answer = tok.decode(
            greedy(chat, ids["input_ids"], {end, tok.eos_token_id}, 24), skip_special_tokens=True
        )
        expected[prompt] = answer.strip()
    rows = rows_of(out)
    assert {r["messages"][0]["content"]: r["messages"][1]["content"] for r in rows} == expected
    assert all(r["synthesized"] and [m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)
    learned = dict(tiny.CONVERSATIONS)
    assert all(expected[p] == learned[p] for p in PROMPTS[:5])  # it answers as it was taught, in its format
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"]["chat_template"] == "the tokenizer's" and manifest["counts"]["generated"] == 6


def test_the_model_writes_its_own_prompts_reproducibly_and_data_build_takes_them(chat, tmp_path):
    args = ["--model", chat, "--n", "16", "--seed", "0"]
    assert synth(*args, "--output", str(tmp_path / "a")) == 0
    assert synth(*args, "--output", str(tmp_path / "b"), "--batch-size", "16") == 0
    assert synth("--model", chat, "--n", "16", "--seed", "1", "--output", str(tmp_path / "c")) == 0
    first = (tmp_path / "a" / "replay.jsonl").read_bytes()
    assert first == (tmp_path / "b" / "replay.jsonl").read_bytes()  # same seed: the same file
    assert first != (tmp_path / "c" / "replay.jsonl").read_bytes()
    rows = rows_of(tmp_path / "a")
    assert len(rows) == 16 and len({r["messages"][0]["content"] for r in rows}) == 16  # distinct prompts
    counts = json.loads((tmp_path / "a" / "manifest.json").read_text())["counts"]
    assert counts["prompts_generated"] >= 16 and counts["generated"] >= 16
    replay = str(tmp_path / "a" / "replay.jsonl")
    assert (
        main(["data", "build", "--replay", replay, "--replay-count", "16", "--output", str(tmp_path / "d")])
        == 0
    )
    built = [json.loads(line) for line in (tmp_path / "d" / "train.jsonl").read_text().splitlines()]
    assert sorted(json.dumps(r["messages"]) for r in built) == sorted(json.dumps(r["messages"]) for r in rows)


def test_a_model_without_a_template_answers_raw_prompts_and_continues_openings(plain, tmp_path):
    from transformers import AutoTokenizer

    rows = [{"prompt": PROMPTS[0], "target": "?"}, {"instruction": "Say hello.", "output": "?"}]
    prompts = write(tmp_path / "p.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert (
        synth(
            "--model", plain, "--prompts", str(prompts), "--temperature", "0", "--output", str(tmp_path / "o")
        )
        == 0
    )
    tok = AutoTokenizer.from_pretrained(plain)
    for row in rows_of(tmp_path / "o"):
        ids = greedy(plain, tok(row["prompt"])["input_ids"], {tok.eos_token_id}, 64)
        assert (
            row["target"]
            == tok.decode(ids, skip_special_tokens=True).strip()
            == dict(tiny.CONVERSATIONS)[row["prompt"]]
        )
    openings = write(tmp_path / "openings.txt", "Translate to English:\nName a\n")
    assert (
        synth("--model", plain, "--n", "4", "--seed-prompts", str(openings), "--output", str(tmp_path / "s"))
        == 0
    )
    written = rows_of(tmp_path / "s")
    assert written and all(r["prompt"].startswith(("Translate to English:", "Name a")) for r in written)
    assert all("\n" not in r["prompt"] for r in written)  # an opening is continued to the end of its line


def test_bad_input_is_one_line_before_any_model_loads(fails, chat, tmp_path):
    prompts = write(
        tmp_path / "p.jsonl", json.dumps({"prompt": "ok"}) + "\n" + json.dumps({"text": "x"}) + "\n"
    )
    out = ["--output", str(tmp_path / "o")]
    fails(["data", "synth-replay", "--model", "nowhere/none", *out], "give --n N")
    fails(["data", "synth-replay", "--model", chat, "--n", "2", "--top-p", "1.5", *out], "--top-p 1.5")
    fails(["data", "synth-replay", "--model", chat, "--prompts", str(tmp_path / "no.txt"), *out], "not found")
    fails(
        ["data", "synth-replay", "--model", "nowhere/none", "--prompts", str(prompts), *out], "p.jsonl line 2"
    )
    fails(
        [
            "data",
            "synth-replay",
            "--model",
            chat,
            "--prompts",
            str(prompts),
            "--seed-prompts",
            str(prompts),
            *out,
        ],
        "drop it with --prompts",
    )
    fails(
        ["data", "synth-replay", "--model", chat, "--n", "2", "--chat-template", "no.jinja", *out],
        "no such file",
    )
    assert not (tmp_path / "o").exists()
    fails(
        ["data", "synth-replay", "--model", chat, "--n", "2", "--min-chars", "999", *out], "no row survived"
    )
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.*"))  # nothing half-written
