"""FLORES-domain bitext offline: the SIB-200 layout (joined on index_id) and the official FLORES-200 layout
(line-aligned), with their test sentences kept out of training data."""

import json
from collections import Counter

from helpers import build_data, write
from instructalign.data.bitext import read_bitext


def sib_like(root, rows_by_split):
    """<lang>_<Script>/{split}.tsv with index_id, category, text; rows deliberately in another order per
    language."""
    for split, rows in rows_by_split.items():
        for lang in ("eng_Latn", "jav_Latn", "sun_Latn", "xyz_Latn"):
            ordered = rows if lang != "jav_Latn" else rows[::-1]
            body = "".join(f"{i}\tsports\t{lang[:3]} {text}\n" for i, text in ordered)
            write(root / lang / f"{split}.tsv", "index_id\tcategory\ttext\n" + body)
    return root


def test_sib200_rows_are_joined_on_index_id_and_unknown_languages_skipped(tmp_path):
    root = sib_like(tmp_path / "sib", {"train": [(5, "five"), (7, "seven")], "dev": [(9, "nine")]})
    rows = list(read_bitext(str(root), "train"))
    assert [r.texts for r in rows] == [
        {"eng": "eng five", "jav": "jav five", "sun": "sun five"},
        {"eng": "eng seven", "jav": "jav seven", "sun": "sun seven"},
    ]
    assert len(list(read_bitext(str(root), "train+dev"))) == 3


def test_flores_layout_is_line_aligned(tmp_path):
    root = tmp_path / "flores"
    write(root / "dev" / "eng_Latn.dev", "One.\nTwo.\n")
    write(root / "dev" / "jav_Latn.dev", "Siji.\nLoro.\n")
    write(root / "devtest" / "eng_Latn.devtest", "Three.\n")
    write(root / "devtest" / "jav_Latn.devtest", "Telu.\n")
    rows = list(read_bitext(str(root), "dev+devtest"))
    assert [r.texts for r in rows] == [
        {"eng": "One.", "jav": "Siji."},
        {"eng": "Two.", "jav": "Loro."},
        {"eng": "Three.", "jav": "Telu."},
    ]


def test_sib200_test_split_and_excluded_texts_never_reach_training(tmp_path):
    root = sib_like(tmp_path / "sib", {"train": [(1, "one"), (2, "two"), (3, "held")], "test": [(3, "held")]})
    eval_texts = write(tmp_path / "eval.txt", "jav two\n")  # as if an evaluation set held this sentence
    rc, rows, out = build_data(
        tmp_path,
        "--objectives",
        "mt",
        "--bitext",
        str(root),
        "--pivots",
        "eng",
        "--targets",
        "jav,sun",
        "--exclude",
        str(eval_texts),
    )
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    texts = {r["target"] for r in rows} | {r["prompt"] for r in rows}
    assert not any("held" in t for t in texts)  # the folder's own test split, guarded automatically
    assert not any("two" in t for t in texts if "jav" in t)
    assert Counter(r["tgt_lang"] for r in rows) == {"sun": 2, "eng": 3, "jav": 1}
    assert any("test.tsv" in i["path"] for i in manifest["inputs"] if i["role"].startswith("exclude"))


def test_the_issue_command_on_the_shipped_sib200(sib200, nusax, tmp_path):
    rc, rows, out = build_data(
        tmp_path,
        "--objectives",
        "mt",
        "--bitext",
        str(sib200),
        "--pivots",
        "eng",
        "--targets",
        "jav,sun,min,bjn,ban,ace,bug",
        "--exclude",
        str(nusax),
    )
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(rows) == 701 * 7 * 2  # every train sentence, 7 languages, both directions
    guarded = [i["path"] for i in manifest["inputs"] if i["role"].startswith("exclude")]
    assert any("sentiment" in p for p in guarded) and sum("test.tsv" in p for p in guarded) == 24
