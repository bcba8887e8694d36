"""The `hf:` paths users take, on local datasets written with `datasets` (no hub): configs, splits of a
DatasetDict, translation / src-tgt / language-column rows, and xP3-shaped replay."""

import json
from collections import Counter

import pytest

from helpers import build_data, write

datasets = pytest.importorskip("datasets")


def jsonl(path, rows):
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@pytest.fixture(scope="module")
def hub_like(tmp_path_factory):
    """A script-free dataset folder laid out as on the hub: README.md declares configs and their splits."""
    root = tmp_path_factory.mktemp("hub") / "flores_like"
    jsonl(
        root / "jav-ind" / "train.jsonl",
        [{"translation": {"jav": f"Aku mangan {i}.", "ind": f"Saya makan {i}."}} for i in range(5)],
    )
    jsonl(root / "jav-ind" / "test.jsonl", [{"translation": {"jav": "Tes.", "ind": "Tes."}}])
    jsonl(
        root / "sun-ind" / "train.jsonl",
        [{"src_lang": "ind", "tgt_lang": "sun", "src": f"Satu {i}.", "tgt": f"Hiji {i}."} for i in range(3)],
    )
    write(
        root / "README.md",
        """---
configs:
- config_name: jav-ind
  data_files:
  - split: train
    path: jav-ind/train.jsonl
  - split: test
    path: jav-ind/test.jsonl
- config_name: sun-ind
  data_files:
  - split: train
    path: sun-ind/train.jsonl
---
A local stand-in for a hub dataset.
""",
    )
    return root


@pytest.fixture(scope="module")
def xp3_like(tmp_path_factory):
    """xP3's documented layout: one config per language, a train split of {"inputs", "targets"} rows."""
    root = tmp_path_factory.mktemp("hub") / "xP3"
    jsonl(
        root / "en" / "xp3_en_0.jsonl",
        [
            {
                "inputs": f"Sentence 1: A {i}.\nSentence 2: B {i}.\n"
                "Question: Can we rewrite Sentence 1 to Sentence 2? Yes or No?",
                "targets": "Yes" if i % 2 else "No",
            }
            for i in range(20)
        ],
    )
    jsonl(
        root / "id" / "xp3_id_0.jsonl", [{"inputs": f"Terjemahkan: {i}", "targets": f"{i}"} for i in range(4)]
    )
    write(
        root / "README.md",
        """---
configs:
- config_name: en
  data_files:
  - split: train
    path: en/*.jsonl
- config_name: id
  data_files:
  - split: train
    path: id/*.jsonl
---
""",
    )
    return root


MT_FROM_IND = ("--objectives", "mt", "--pivots", "ind")


def test_hf_name_config_reads_that_config_and_split(hub_like, tmp_path):
    rc, rows, _ = build_data(tmp_path, *MT_FROM_IND, "--bitext", f"hf:{hub_like}:jav-ind", "--targets", "jav")
    assert rc == 0 and Counter(r["tgt_lang"] for r in rows) == {"jav": 5, "ind": 5}
    rc, rows, _ = build_data(
        tmp_path / "t",
        *MT_FROM_IND,
        "--bitext",
        f"hf:{hub_like}:jav-ind",
        "--split",
        "test",
        "--allow-eval-split",
        "--targets",
        "jav",
    )
    assert rc == 0 and len(rows) == 2


def test_src_tgt_rows(hub_like, tmp_path):
    rc, rows, _ = build_data(tmp_path, *MT_FROM_IND, "--bitext", f"hf:{hub_like}:sun-ind", "--targets", "sun")
    assert rc == 0 and Counter(r["tgt_lang"] for r in rows) == {"sun": 3, "ind": 3}
    assert {r["target"] for r in rows if r["tgt_lang"] == "sun"} == {"Hiji 0.", "Hiji 1.", "Hiji 2."}


def test_a_split_of_a_saved_dataset_dict(tmp_path, capsys):
    saved = tmp_path / "dd"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"indonesian": ["Satu.", "Dua."], "javanese": ["Siji.", "Loro."]}
            ),
            "validation": datasets.Dataset.from_dict({"indonesian": ["Tiga."], "javanese": ["Telu."]}),
        }
    ).save_to_disk(str(saved))
    rc, rows, _ = build_data(
        tmp_path, *MT_FROM_IND, "--bitext", f"hf:{saved}", "--split", "validation", "--targets", "jav"
    )
    assert rc == 0 and {r["target"] for r in rows} == {"Telu.", "Tiga."}
    rc, _, _ = build_data(
        tmp_path / "x",
        *MT_FROM_IND,
        "--bitext",
        f"hf:{saved}",
        "--split",
        "test",
        "--allow-eval-split",
        "--targets",
        "jav",
    )
    assert rc == 2 and "no split 'test'; it has train, validation" in capsys.readouterr().err


def test_unknown_config_is_one_line(hub_like, tmp_path, capsys):
    rc, _, _ = build_data(tmp_path, *MT_FROM_IND, "--bitext", f"hf:{hub_like}:xx-yy", "--targets", "jav")
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "xx-yy" in err


def test_xp3_shaped_replay_from_a_config(hub_like, xp3_like, tmp_path):
    rc, rows, out = build_data(
        tmp_path,
        *MT_FROM_IND,
        "--bitext",
        f"hf:{hub_like}:jav-ind",
        "--targets",
        "jav",
        "--replay",
        f"hf:{xp3_like}:en",
        "--replay-count",
        "6",
        "--seed",
        "3",
    )
    assert rc == 0
    replay = [r for r in rows if r["source"] == "replay"]
    assert len(replay) == 6 and all(r["prompt"].startswith("Sentence 1:") for r in replay)
    assert {r["target"] for r in replay} <= {"Yes", "No"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replay"]["used"] == 6 and manifest["replay"]["available"] == 20


def test_xp3_rows_keep_bloomz_joining_and_evaluation_texts_stay_out(hub_like, xp3_like, tmp_path):
    from instructalign.train.data import read_examples

    held_out = write(tmp_path / "eval.txt", "Sentence 1: A 3.\n")  # an evaluation text inside xP3 prompts
    rc, rows, out = build_data(
        tmp_path,
        *MT_FROM_IND,
        "--bitext",
        f"hf:{hub_like}:jav-ind",
        "--targets",
        "jav",
        "--replay",
        f"hf:{xp3_like}:en",
        "--replay-count",
        "100",
        "--exclude",
        str(held_out),
    )
    assert rc == 0
    replay = [r for r in rows if r["source"] == "replay"]
    assert len(replay) == 100 and not any("A 3." in r["prompt"] for r in replay)  # 19 rows, repeated
    assert len({r["prompt"] for r in replay}) == 19
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replay"]["excluded_as_evaluation_text"] == 1
    joined = {p: t for p, t in read_examples(out / "train.jsonl")}
    xp3_prompt = replay[0]["prompt"]
    assert joined[xp3_prompt] == replay[0]["target"]  # xP3: nothing added between inputs and targets
    align = next(r for r in rows if r["source"] == "align")
    assert joined[align["prompt"]] == " " + align["target"]  # instructalign's own rows: one space
