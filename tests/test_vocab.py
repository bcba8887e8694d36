"""`instructalign vocab audit`: fertility per language, as the tokenizer itself counts it."""

import csv
import json

import pytest
import torch

import tiny
from helpers import write
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
    train = (
        ["eng,ind,bug"]
        + [
            f"The hotel {i} is clean.,Hotel {i} itu bersih.,{' '.join(words[(i + k) % 8] for k in range(5))} "
            f"{i}"
            for i in range(40)
        ]
        + ["A leak.,Bocor.," + LEAK]
    )
    root = tmp_path / "nusax"
    write(root / "mt" / "train.csv", "\n".join(train) + "\n")
    write(root / "sentiment" / "buginese" / "test.csv", f"id,text,label\n1,{LEAK},positive\n")
    return root


def extended(model, data, out, *flags):
    assert (
        main(
            [
                "vocab",
                "extend",
                "--model",
                model,
                "--data",
                str(data),
                "--langs",
                "bug",
                "--add",
                "40",
                "--output",
                str(out),
                *flags,
            ]
        )
        == 0
    )
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
    assert (
        main(
            [
                "train",
                "--model",
                str(out),
                "--data",
                str(data),
                "--max-steps",
                "3",
                "--lr",
                "1e-2",
                "--output",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    first = json.loads((out / "instructalign_vocab.json").read_text())["first_new_id"]
    key = next(k for k in load_file(str(out / "model.safetensors")) if "wte" in k)
    before, after = (
        load_file(str(out / "model.safetensors"))[key],
        load_file(str(tmp_path / "run" / "final" / "model.safetensors"))[key],
    )
    assert (before[first:] - after[first:]).abs().max() > 1e-4  # the new rows trained
    assert (
        main(
            [
                "eval",
                "--model",
                str(tmp_path / "run" / "final"),
                "--data",
                str(nusax),
                "--langs",
                "bug,eng",
                "--limit",
                "2",
                "--prompt-langs",
                "en",
                "--templates",
                "1",
                "--output",
                str(tmp_path / "ev"),
            ]
        )
        == 0
    )


def cuts(tok, words: list[str]) -> list[list[str]]:
    """Each word's tokens as it stands inside a sentence (after a space)."""
    return [
        tok.convert_ids_to_tokens(ids)
        for ids in tok([" " + w for w in words], add_special_tokens=False)["input_ids"]
    ]


def test_new_merges_continue_the_bpe_where_the_text_is_cut_most():
    from collections import Counter

    from instructalign.vocab.extend import tokenizer_with_new_tokens

    tok = tiny.tokenizer()
    words = ["makessing", "malempu", "ripakalebbi", "mappatabe", "sipakatau", "malebbi", "warekkada"]
    corpus = [" " + " ".join(words[i % 7 : i % 7 + 3] + ["makessing"] * (i % 3)) for i in range(30)]
    running = [w for s in corpus for w in s.split()]
    old = cuts(tok, running)
    pairs = Counter(
        p for pieces in old for p in zip(pieces, pieces[1:]) if p[0] + p[1] not in tok.get_vocab()
    )
    top = max(pairs.values())
    new_tok, first, merges = tokenizer_with_new_tokens(tok, corpus, 12, [])
    assert len(merges) == 12 and first == len(tok)
    assert merges[0] == min(p for p, c in pairs.items() if c == top)  # the most frequent pair first
    expected = []
    for pieces in old:  # the merges, applied in order to the old cuts, give the new tokenizer's cuts
        for a, b in merges:
            merged, i = [], 0
            while i < len(pieces):
                if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == (a, b):
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(pieces[i])
                    i += 1
            pieces = merged
        expected.append(pieces)
    assert cuts(new_tok, running) == expected
    saved = sum(map(len, old)) - sum(map(len, expected))
    assert saved >= top and len(new_tok(corpus[0])["input_ids"]) < len(tok(corpus[0])["input_ids"])


def test_pivot_data_protects_more_pivot_words(model, nusax_like, tmp_path, capsys, monkeypatch):
    tok = tiny.tokenizer()
    more = ["makessing", "malempu", "sipakatau"]  # Indonesian text that shares these (borrowed) words
    pivot_file = write(tmp_path / "more.csv", "ind\n" + "".join(f"Kami {w} sekali.\n" for w in more))
    plain = extended(model, nusax_like, tmp_path / "plain")
    protected = extended(model, nusax_like, tmp_path / "protected", "--pivot-data", str(pivot_file))
    from transformers import AutoTokenizer

    before = cuts(tok, more)
    assert cuts(AutoTokenizer.from_pretrained(protected), more) == before  # every word of the pivot data kept
    assert cuts(AutoTokenizer.from_pretrained(plain), more) != before  # which the extension would re-cut
    record = json.loads((protected / "instructalign_vocab.json").read_text())
    assert (
        0 < record["added"] <= 40 and record["pivot_sentences"] == 2 * 41 + 3
    )  # eng, ind of the data; 3 more
    bug_only = write(tmp_path / "bug.csv", "bug\nmakessing\n")
    import instructalign.models

    def no_weights(*args, **kwargs):
        raise AssertionError("the weights were loaded before the data was found wrong")

    monkeypatch.setattr(instructalign.models, "load_model", no_weights)
    args = [
        "vocab",
        "extend",
        "--model",
        model,
        "--data",
        str(nusax_like),
        "--langs",
        "bug",
        "--pivot-data",
        str(bug_only),
        "--output",
        str(tmp_path / "x"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no train text of the pivots (eng, ind)" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_a_tokenizer_that_is_not_byte_level_bpe_is_refused():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from instructalign.errors import UserError
    from instructalign.vocab.extend import tokenizer_state

    backend = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(
        UserError,
        match="tokenizer type WordLevel: vocab extend adds merges to byte-level BPE.*pieces to Unigram",
    ):
        tokenizer_state(PreTrainedTokenizerFast(tokenizer_object=backend))


def test_embeddings_warmup_trains_only_the_new_rows_then_everything(model, nusax_like, tmp_path):
    from safetensors.torch import load_file

    out = extended(model, nusax_like, tmp_path / "ext")
    first = json.loads((out / "instructalign_vocab.json").read_text())["first_new_id"]
    rows = [
        {"prompt": "Terjemahkan: Hotel itu bersih.", "target": "makessing senna' malempu"} for _ in range(8)
    ]
    data = write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent
    common = [
        "train",
        "--model",
        str(out),
        "--data",
        str(data),
        "--lr",
        "1e-2",
        "--weight-decay",
        "0.1",
        "--embeddings-warmup",
        "3",
        "--save-steps",
        "100",
    ]
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
    assert (
        main(
            [
                "train",
                "--model",
                model,
                "--data",
                str(data),
                "--embeddings-warmup",
                "2",
                "--output",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "holds no instructalign_vocab.json" in capsys.readouterr().err and not (tmp_path / "x").exists()


@pytest.fixture
def unigram_model(tmp_path):
    """A tiny mT5 (untied head) with a SentencePiece/Unigram tokenizer fit on the tiny corpus."""
    from tokenizers import SentencePieceUnigramTokenizer
    from transformers import MT5Config, MT5ForConditionalGeneration, PreTrainedTokenizerFast

    backend = SentencePieceUnigramTokenizer()
    backend.train_from_iterator(
        tiny.CORPUS,
        vocab_size=200,
        special_tokens=["<pad>", "</s>", "<unk>"],
        unk_token="<unk>",
        show_progress=False,
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    cfg = MT5Config(
        num_layers=1,
        num_decoder_layers=1,
        d_model=16,
        d_ff=32,
        num_heads=2,
        d_kv=8,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )
    MT5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "mt5")
    tok.save_pretrained(tmp_path / "mt5")
    return str(tmp_path / "mt5")


def test_a_unigram_tokenizer_gets_new_pieces(unigram_model, nusax_like, tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    out = extended(unigram_model, nusax_like, tmp_path / "ext")
    record = json.loads((out / "instructalign_vocab.json").read_text())
    old_tok, new_tok = AutoTokenizer.from_pretrained(unigram_model), AutoTokenizer.from_pretrained(out)
    first, n = record["first_new_id"], record["added"]
    assert record["kind"] == "unigram" and n == 40 and first == len(old_tok) and len(new_tok) == first + n
    assert all(
        new_tok.get_vocab()[t] == i for t, i in old_tok.get_vocab().items()
    )  # old pieces keep their ids
    old_model, new_model = (AutoModelForSeq2SeqLM.from_pretrained(p) for p in (unigram_model, out))
    old_rows, new_rows = old_model.get_input_embeddings().weight, new_model.get_input_embeddings().weight
    old_head, new_head = old_model.get_output_embeddings().weight, new_model.get_output_embeddings().weight
    for token, i in record["tokens"].items():
        pieces = [t.id for t in old_tok.backend_tokenizer.model.tokenize(token)]
        assert len(pieces) >= 2 and torch.allclose(new_rows[i], old_rows[pieces].mean(0), atol=1e-6), token
        assert torch.allclose(new_head[i], old_head[pieces].mean(0), atol=1e-6)  # the untied head's rows too
    bug = [line.split(",")[2] for line in (nusax_like / "mt" / "train.csv").read_text().splitlines()[1:41]]
    before, after = (sum(len(ids) for ids in t(bug)["input_ids"]) for t in (old_tok, new_tok))
    assert after < 0.8 * before  # the new language's text in fewer tokens
    pivots = ["Hotel 7 itu bersih.", "The hotel 7 is clean."]  # sentences of the pivots' text
    ids = old_tok(pivots, return_tensors="pt", padding=True)
    assert (
        new_tok(pivots, return_tensors="pt", padding=True)["input_ids"].tolist() == ids["input_ids"].tolist()
    )
    with torch.no_grad():
        a = old_model(**ids, decoder_input_ids=ids["input_ids"][:, :4]).logits
        b = new_model(**ids, decoder_input_ids=ids["input_ids"][:, :4]).logits[..., : old_rows.shape[0]]
    assert torch.allclose(a, b, atol=1e-6)  # the old tokens' logits unchanged
    assert not any("zqx" in t.lower() for t in record["tokens"])  # the test sentence reached no new piece
