"""`instructalign vocab audit`: fertility per language, as the tokenizer itself counts it."""

import csv
import json

import pytest
import torch

import tiny
from conftest import write
from instructalign.cli import main
from instructalign.config import VocabAuditConfig
from instructalign.vocab.audit import audit, fertility

ROWS = [  # eng and ind as the tiny tokenizer was fit on them; "bug" made of words it never saw
    (
        "The hotel is very clean and comfortable.",
        "Hotel itu sangat bersih dan nyaman.",
        "Otèlé éro makessing senna'.",
    ),
    (
        "The service is very slow today.",
        "Pelayanannya lambat sekali hari ini.",
        "Pelayanangngé malemmaé ssennang.",
    ),
]


@pytest.fixture
def source(tmp_path):
    lines = ["eng,ind,bug"] + [",".join(f'"{t}"' for t in row) for row in ROWS]
    return write(tmp_path / "bitext.csv", "\n".join(lines) + "\n")


@pytest.fixture
def model(tmp_path):
    return tiny.save(tiny.gpt2(), tmp_path / "m")


def test_fertility_counts_what_the_tokenizer_makes(model, source, tmp_path):
    tok = tiny.tokenizer()
    sentences = [r[2] for r in ROWS]
    f = fertility(tok, sentences)
    words = [w for s in sentences for w in s.split()]
    assert f.words == len(words) and f.tokens == sum(
        len(tok(s, add_special_tokens=False)["input_ids"]) for s in sentences
    )
    assert f.split_words == sum(len(tok(" " + w, add_special_tokens=False)["input_ids"]) >= 3 for w in words)
    rows = {
        r["language"]: r
        for r in audit(VocabAuditConfig(model=model, data=[str(source)], output=str(tmp_path / "a")))
    }
    assert (
        rows["bug"]["tokens_per_word"] > 1.5 * rows["eng"]["tokens_per_word"]
    )  # the unseen language is cut finer
    assert (
        rows["bug"]["byte_or_unknown_tokens"] > 0 == rows["eng"]["byte_or_unknown_tokens"]
    )  # è, é: byte pieces
    assert [r["role"] for r in rows.values()] == ["pivot", "pivot", "audited"]
    with open(tmp_path / "a" / "audit.csv", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert [r["language"] for r in written] == ["eng", "ind", "bug"]
    assert float(written[2]["tokens_per_word"]) == pytest.approx(rows["bug"]["tokens_per_word"], abs=1e-4)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--split", "test"], "the audit reads training text"),
        (["--langs", "jav"], "--langs jav: no text of these languages"),
        (["--model", "/nope"], "/nope: no tokenizer could be loaded"),
    ],
)
def test_audit_bad_input(flags, message, model, source, tmp_path, capsys):
    args = [
        "vocab",
        "audit",
        "--model",
        model,
        "--data",
        str(source),
        "--output",
        str(tmp_path / "a"),
        *flags,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "a").exists()


# ---------------------------------------------------------------- vocab extend

LEAK = " ".join(["zqxwo"] * 40)  # a test sentence that also sits in the training source


@pytest.fixture
def nusax_like(tmp_path):
    """A NusaX-shaped folder whose mt/train.csv leaks one sentiment test sentence."""
    words = [
        "makessing",
        "senna'",
        "malempu",
        "ripakalebbi",
        "mappatabe",
        "sipakatau",
        "malebbi",
        "warekkada",
    ]
    train = ["eng,ind,bug"] + [
        f"The hotel {i} is clean.,Hotel {i} itu bersih.,{' '.join(words[(i + k) % 8] for k in range(5))} {i}"
        for i in range(40)
    ] + ["A leak.,Bocor.," + LEAK]  # fmt: skip
    root = tmp_path / "nusax"
    write(root / "mt" / "train.csv", "\n".join(train) + "\n")
    write(root / "sentiment" / "buginese" / "test.csv", f"id,text,label\n1,{LEAK},positive\n")
    return root


def extended(model, data, out, *flags):
    assert main(["vocab", "extend", "--model", model, "--data", str(data), "--langs", "bug", "--add", "40",
                 "--output", str(out), *flags]) == 0  # fmt: skip
    return out


def test_mean_rows_old_ids_and_old_logits(model, nusax_like, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = extended(model, nusax_like, tmp_path / "ext")
    old_tok, new_tok = AutoTokenizer.from_pretrained(model), AutoTokenizer.from_pretrained(out)
    old_model, new_model = (
        AutoModelForCausalLM.from_pretrained(model),
        AutoModelForCausalLM.from_pretrained(out),
    )
    record = json.loads((out / "instructalign_vocab.json").read_text())
    first, n = record["first_new_id"], record["added"]
    assert n == 40 and first == len(old_tok) and len(new_tok) == first + n
    old_vocab, new_vocab = old_tok.get_vocab(), new_tok.get_vocab()
    assert all(new_vocab[t] == i for t, i in old_vocab.items())  # every old token keeps its id
    old_rows, new_rows = old_model.get_input_embeddings().weight, new_model.get_input_embeddings().weight
    for token, i in record["tokens"].items():
        pieces = old_tok(new_tok.decode([i]), add_special_tokens=False)["input_ids"]
        assert len(pieces) >= 2 and torch.allclose(new_rows[i], old_rows[pieces].mean(0), atol=1e-6), token
    text = "The hotel is very clean and comfortable."
    ids = old_tok(text, return_tensors="pt")["input_ids"]
    assert new_tok(text, return_tensors="pt")["input_ids"].tolist() == ids.tolist()  # tokenizes the same
    with torch.no_grad():
        a, b = old_model(ids).logits, new_model(ids).logits[..., : old_rows.shape[0]]
    assert torch.allclose(a, b, atol=1e-6)
    assert not any("zqx" in t.lower() for t in record["tokens"])  # the test sentence reached no new token
    (nusax_like / "sentiment" / "buginese" / "test.csv").unlink()  # without the guard it would have
    unguarded = json.loads(
        (extended(model, nusax_like, tmp_path / "unguarded") / "instructalign_vocab.json").read_text()
    )
    assert any("zqx" in t.lower() for t in unguarded["tokens"])


def test_focus_rows_are_weighted_sums_of_old_rows(model, nusax_like, tmp_path):
    from transformers import AutoModelForCausalLM

    out = extended(model, nusax_like, tmp_path / "focus", "--init", "focus")
    mean = extended(model, nusax_like, tmp_path / "mean")
    a = AutoModelForCausalLM.from_pretrained(out).get_input_embeddings().weight
    b = AutoModelForCausalLM.from_pretrained(mean).get_input_embeddings().weight
    first = json.loads((out / "instructalign_vocab.json").read_text())["first_new_id"]
    old = AutoModelForCausalLM.from_pretrained(model).get_input_embeddings().weight
    assert a[first:].isfinite().all() and not (a[first:] - b[first:]).abs().max() < 1e-6  # another method
    assert (a[first:].norm(dim=1) <= old.norm(dim=1).max() + 1e-5).all()  # convex combinations of old rows


def test_the_extended_model_trains_its_new_rows_and_evaluates(model, nusax_like, nusax, tmp_path):
    from safetensors.torch import load_file

    out = extended(model, nusax_like, tmp_path / "ext")
    rows = [
        {"prompt": "Terjemahkan: Hotel itu bersih.", "target": "makessing senna' malempu"} for _ in range(8)
    ]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    assert main(["train", "--model", str(out), "--data", str(data), "--max-steps", "3", "--lr", "1e-2",
                 "--output", str(tmp_path / "run")]) == 0  # fmt: skip
    first = json.loads((out / "instructalign_vocab.json").read_text())["first_new_id"]
    key = next(k for k in load_file(str(out / "model.safetensors")) if "wte" in k)
    before, after = (
        load_file(str(out / "model.safetensors"))[key],
        load_file(str(tmp_path / "run" / "final" / "model.safetensors"))[key],
    )
    assert (before[first:] - after[first:]).abs().max() > 1e-4  # the new rows trained
    assert main(["eval", "--model", str(tmp_path / "run" / "final"), "--data", str(nusax), "--langs", "bug,eng",
                 "--limit", "2", "--prompt-langs", "en", "--templates", "1", "--output", str(tmp_path / "ev")]) == 0  # fmt: skip


def test_a_tokenizer_that_is_not_byte_level_bpe_is_refused():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from instructalign.errors import UserError
    from instructalign.vocab.extend import byte_level_bpe

    backend = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(
        UserError, match="tokenizer type WordLevel: vocab extend adds merges to byte-level BPE"
    ):
        byte_level_bpe(PreTrainedTokenizerFast(tokenizer_object=backend))


def test_embeddings_warmup_trains_only_the_new_rows_then_everything(model, nusax_like, tmp_path):
    from safetensors.torch import load_file

    out = extended(model, nusax_like, tmp_path / "ext")
    first = json.loads((out / "instructalign_vocab.json").read_text())["first_new_id"]
    rows = [
        {"prompt": "Terjemahkan: Hotel itu bersih.", "target": "makessing senna' malempu"} for _ in range(8)
    ]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    common = ["train", "--model", str(out), "--data", str(data), "--lr", "1e-2", "--weight-decay", "0.1",
              "--embeddings-warmup", "3", "--save-steps", "100"]  # fmt: skip
    base = load_file(str(out / "model.safetensors"))
    for steps in ("3", "5"):
        assert main([*common, "--max-steps", steps, "--output", str(tmp_path / f"w{steps}")]) == 0
    warm = load_file(str(tmp_path / "w3" / "final" / "model.safetensors"))
    key = next(k for k in base if "wte" in k)
    assert (warm[key][first:] - base[key][first:]).abs().max() > 1e-4  # the new rows trained
    assert torch.equal(warm[key][:first], base[key][:first])  # old rows untouched, weight decay too
    assert all(torch.equal(warm[k], base[k]) for k in base if k != key)  # and every other weight
    after = load_file(str(tmp_path / "w5" / "final" / "model.safetensors"))
    assert any(not torch.equal(after[k], base[k]) for k in base if k != key)  # after 3 steps, everything


def test_embeddings_lr_and_bad_warmup_input(model, nusax_like, tmp_path, capsys):
    from safetensors.torch import load_file

    out = extended(model, nusax_like, tmp_path / "ext")
    rows = [
        {"prompt": "Terjemahkan: Hotel itu bersih.", "target": "makessing senna' malempu"} for _ in range(8)
    ]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    common = ["train", "--model", str(out), "--data", str(data), "--lr", "1e-2", "--max-steps", "2"]
    assert main([*common, "--embeddings-lr", "1e-12", "--output", str(tmp_path / "slow")]) == 0
    base, slow = (
        load_file(str(out / "model.safetensors")),
        load_file(str(tmp_path / "slow" / "final" / "model.safetensors")),
    )
    key = next(k for k in base if "wte" in k)
    assert (slow[key] - base[key]).abs().max() < 1e-6  # the embeddings at their own, tiny rate
    assert any((slow[k] - base[k]).abs().max() > 1e-4 for k in base if k != key)  # the rest at --lr
    assert main(["train", "--model", model, "--data", str(data), "--embeddings-warmup", "2",
                 "--output", str(tmp_path / "x")]) == 2  # fmt: skip
    assert "holds no instructalign_vocab.json" in capsys.readouterr().err and not (tmp_path / "x").exists()
