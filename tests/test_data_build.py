import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from helpers import WIDE_CSV, write
from instructalign.cli import main
from instructalign.data.contamination import normalize

L2 = "jav,sun,min,bjn,ban,ace,bug"


def build(*args: str) -> int:
    return main(["data", "build", *args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def nusax_build(nusax, tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "out"
    args = [
        "--bitext",
        str(nusax),
        "--split",
        "train",
        "--pivots",
        "ind,eng",
        "--targets",
        L2,
        "--objectives",
        "mt,tlm,xss",
        "--seed",
        "7",
        "--output",
        str(out),
    ]
    assert build(*args) == 0
    return out, args


def test_nusax_build_covers_every_objective_language_and_direction(nusax_build):
    out, _ = nusax_build
    rows = read_jsonl(out / "train.jsonl")
    directions = Counter((r["objective"], r["src_lang"], r["tgt_lang"]) for r in rows)
    for objective in ("mt", "tlm", "xss"):
        for pivot in ("ind", "eng"):
            for target in L2.split(","):
                assert directions[(objective, pivot, target)] == 500
                assert directions[(objective, target, pivot)] == 500
    assert all(r["source"] == "align" and r["prompt"] and r["target"] for r in rows)


def test_xss_labels_are_balanced(nusax_build):
    rows = [r for r in read_jsonl(nusax_build[0] / "train.jsonl") if r["objective"] == "xss"]
    yes = sum(r["target"] in ("Yes", "Ya") for r in rows)
    assert 0.4 <= yes / len(rows) <= 0.6
    assert {r["target"] for r in rows} == {"Yes", "No", "Ya", "Tidak"}


def test_tlm_inputs_differ_from_targets(nusax_build):
    rows = [r for r in read_jsonl(nusax_build[0] / "train.jsonl") if r["objective"] == "tlm"]
    # the clean target never appears in the prompt, except when both languages share the sentence verbatim
    copied = sum(r["target"] in r["prompt"] for r in rows)
    assert copied / len(rows) < 0.02


def test_no_sentiment_test_sentence_is_emitted(nusax_build, nusax):
    test_texts = set()
    for f in nusax.glob("sentiment/*/test.csv"):
        with open(f, encoding="utf-8") as fh:
            test_texts |= {normalize(r["text"]) for r in csv.DictReader(fh)}
    rows = read_jsonl(nusax_build[0] / "train.jsonl")
    assert len(test_texts) > 4000
    assert not {normalize(r["target"]) for r in rows} & test_texts
    blob = normalize("\n".join(r["prompt"] for r in rows[::7]))
    # sentences, not one-word texts ("menu" is a NusaX test text and a word of many prompts); sorted, so the
    # sample does not change with the interpreter's string hashing
    sentences = sorted(t for t in test_texts if len(t.split()) >= 4)
    assert not any(t in blob for t in sentences[::10])


def test_same_inputs_and_seed_give_the_same_bytes(nusax_build, tmp_path):
    out, args = nusax_build
    again = tmp_path / "again"
    assert build(*args[:-1], str(again)) == 0
    assert (again / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()
    assert (again / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()


def test_manifest_counts_and_hashes(nusax_build):
    manifest = json.loads((nusax_build[0] / "manifest.json").read_text())
    assert manifest["counts"]["total"] == 42000
    assert manifest["counts"]["by_objective"] == {"mt": 14000, "tlm": 14000, "xss": 14000}
    assert manifest["counts"]["by_language_pair"]["ind-jav"] == 3000
    assert manifest["seed"] == 7 and manifest["version"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", rec["sha256"]) for rec in manifest["inputs"])


def test_exclude_drops_pairs_holding_evaluation_text(tmp_path, nusax):
    with open(nusax / "sentiment" / "indonesian" / "test.csv", encoding="utf-8") as fh:
        leaked = next(csv.DictReader(fh))["text"]
    bitext = write(tmp_path / "bi.csv", WIDE_CSV + f'4,"{leaked}",Kalimat jawa.,Kalimah sunda.\n')
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            str(bitext),
            "--targets",
            "jav,sun",
            "--pivots",
            "ind",
            "--exclude",
            str(nusax),
            "--output",
            str(out),
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pairs"]["excluded_as_evaluation_text"] == 2
    assert manifest["pairs"]["used"] == 8
    assert leaked not in (out / "train.jsonl").read_text("utf-8")


def test_objective_weights_scale_counts(tmp_path):
    bitext = write(tmp_path / "bi.csv", WIDE_CSV)
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            str(bitext),
            "--pivots",
            "ind",
            "--targets",
            "jav",
            "--objectives",
            "mt,tlm,mlm",
            "--objective-weights",
            "mt=2,tlm=0",
            "--output",
            str(out),
        )
        == 0
    )
    counts = json.loads((out / "manifest.json").read_text())["counts"]["by_objective"]
    assert counts == {"mt": 16, "mlm": 8}


def test_tsv_jsonl_and_prompt_language_choice(tmp_path):
    tsv = write(tmp_path / "bi.tsv", WIDE_CSV.replace(",", "\t"))
    jsonl = write(
        tmp_path / "bi.jsonl",
        "\n".join(
            json.dumps({"src_lang": "ind", "tgt_lang": "bug", "src": f"Kalimat {i}.", "tgt": f"Ada {i}."})
            for i in range(5)
        )
        + "\n",
    )
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            str(tsv),
            "--bitext",
            str(jsonl),
            "--pivots",
            "ind",
            "--targets",
            "jav,bug",
            "--objectives",
            "mt",
            "--prompt-langs",
            "id",
            "--output",
            str(out),
        )
        == 0
    )
    rows = read_jsonl(out / "train.jsonl")
    assert Counter(r["tgt_lang"] for r in rows) == {"jav": 4, "bug": 5, "ind": 9}
    assert all(r["prompt_lang"] == "id" for r in rows)


def test_hf_dataset_from_local_folders(tmp_path):
    datasets = pytest.importorskip("datasets")
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict(
        {"translation": [{"id": "Halo dunia.", "jv": "Halo donya."}] * 3}
    ).save_to_disk(str(saved))
    files = tmp_path / "files"
    write(
        files / "train.jsonl",
        "\n".join(json.dumps({"indonesian": f"Satu {i}.", "sundanese": f"Hiji {i}."}) for i in range(4))
        + "\n",
    )
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            f"hf:{saved}",
            "--bitext",
            f"hf:{files}",
            "--pivots",
            "ind",
            "--targets",
            "jav,sun",
            "--objectives",
            "mt",
            "--output",
            str(out),
        )
        == 0
    )
    rows = read_jsonl(out / "train.jsonl")
    assert Counter(r["tgt_lang"] for r in rows) == {"jav": 3, "sun": 4, "ind": 7}


def replay_file(tmp_path, n=1000):
    return write(
        tmp_path / "xp3.jsonl",
        "\n".join(json.dumps({"inputs": f"Q{i}", "targets": f"A{i}"}) for i in range(n)) + "\n",
    )


def test_replay_count_mixes_a_uniform_seeded_sample(tmp_path):
    bitext, replay = write(tmp_path / "bi.csv", WIDE_CSV), replay_file(tmp_path)
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            str(bitext),
            "--pivots",
            "ind",
            "--targets",
            "jav",
            "--replay",
            str(replay),
            "--replay-count",
            "100",
            "--seed",
            "1",
            "--output",
            str(out),
        )
        == 0
    )
    rows = read_jsonl(out / "train.jsonl")
    replayed = [int(r["prompt"][1:]) for r in rows if r["source"] == "replay"]
    assert len(replayed) == 100 and len(set(replayed)) == 100
    assert max(replayed) > 800 and min(replayed) < 200  # drawn from the whole file, not a head buffer
    assert all(r["objective"] == "replay" for r in rows if r["source"] == "replay")
    positions = [i for i, r in enumerate(rows) if r["source"] == "replay"]
    assert positions[0] < 50 and positions[-1] > len(rows) - 50  # interleaved, not appended
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["by_source"] == {"align": 24, "replay": 100}


def test_replay_ratio_sets_the_share(tmp_path):
    bitext, replay = write(tmp_path / "bi.csv", WIDE_CSV), replay_file(tmp_path)
    out = tmp_path / "out"
    assert (
        build(
            "--bitext",
            str(bitext),
            "--pivots",
            "ind",
            "--targets",
            "jav,sun",
            "--replay",
            str(replay),
            "--replay-ratio",
            "0.5",
            "--output",
            str(out),
        )
        == 0
    )
    by_source = json.loads((out / "manifest.json").read_text())["counts"]["by_source"]
    assert by_source["replay"] == by_source["align"] == 48


def test_data_stats_prints_the_manifest(nusax_build, capsys):
    assert main(["data", "stats", str(nusax_build[0])]) == 0
    out = capsys.readouterr().out
    assert "42,000 examples" in out and "ind-jav" in out and "xss" in out


def test_two_workers_write_the_same_bytes_as_one(nusax, tmp_path, monkeypatch):
    from instructalign.data import chunks as build_module

    monkeypatch.setattr(build_module, "CHUNK_PAIRS", 300)  # many chunks from a small corpus: both paths run
    out = {}
    for workers in (1, 2):
        args = [
            "data",
            "build",
            "--bitext",
            str(nusax),
            "--split",
            "train",
            "--pivots",
            "ind,eng",
            "--targets",
            "jav,sun",
            "--objectives",
            "mt,tlm,xss,mlm",
            "--seed",
            "3",
            "--workers",
            str(workers),
            "--output",
            str(tmp_path / f"w{workers}"),
        ]
        assert main(args) == 0
        out[workers] = (tmp_path / f"w{workers}" / "train.jsonl").read_bytes()
    assert out[1] == out[2] and out[1].count(b"\n") > 10 * 300
    manifest = json.loads((tmp_path / "w2" / "manifest.json").read_text())
    assert manifest["counts"]["xss_negatives"] > 0.4 * manifest["counts"]["by_objective"]["xss"]
    assert "workers" not in manifest["settings"]  # a rerun with other --workers is the same build
