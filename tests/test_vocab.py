"""`instructalign vocab audit`: fertility per language, as the tokenizer itself counts it."""

import csv

import pytest

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
