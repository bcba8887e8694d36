"""Every user mistake: one line on stderr naming the file/line/field, exit 2, and no output left behind."""

import json

import pytest

from helpers import WIDE_CSV, write
from instructalign.cli import main

GOOD = ["--pivots", "ind", "--targets", "jav"]


def bitext(tmp_path, name, content):
    return ["--bitext", str(write(tmp_path / name, content))]


def replay(tmp_path, content):
    return ["--replay", str(write(tmp_path / "replay.jsonl", content)), "--replay-count", "3"]


CASES = {
    "missing path": (lambda t: ["--bitext", str(t / "nope.csv"), *GOOD], "nope.csv: no such file"),
    "empty file": (lambda t: [*bitext(t, "e.csv", ""), *GOOD], "e.csv: file is empty"),
    "header only": (
        lambda t: [*bitext(t, "h.csv", "indonesian,javanese\n"), *GOOD],
        "h.csv: has a header but no rows",
    ),
    "ragged rows": (
        lambda t: [*bitext(t, "r.csv", "indonesian,javanese\na,b\nc,d,e\n"), *GOOD],
        "r.csv line 3: expected 2 cells",
    ),
    "unknown language": (
        lambda t: [*bitext(t, "u.csv", "indonesian,klingon\na,b\n"), *GOOD],
        "column 2: unknown language 'klingon'; known codes: abs, ace",
    ),
    "language not in file": (
        lambda t: [*bitext(t, "n.csv", WIDE_CSV), "--pivots", "ind", "--targets", "bug"],
        "bug not found with a partner in --bitext",
    ),
    "pair budget too small for every language": (
        lambda t: [
            *bitext(
                t,
                "p.jsonl",
                '{"src_lang":"ind","tgt_lang":"jav","src":"a","tgt":"b"}\n'
                '{"src_lang":"ind","tgt_lang":"sun","src":"c","tgt":"d"}\n',
            ),
            *["--pivots", "ind", "--targets", "jav,sun", "--max-pairs", "1"],
        ],
        "--max-pairs 1: the first 1 pairs of --bitext hold none for sun; raise --max-pairs",
    ),
    "undecodable bytes": (
        lambda t: [*bitext(t, "b.csv", b"indonesian,javanese\na,b\n\xff\xfe,c\n"), *GOOD],
        "b.csv line 3: bytes that are not UTF-8",
    ),
    "broken json": (
        lambda t: [
            *bitext(t, "j.jsonl", '{"src_lang":"ind","tgt_lang":"jav","src":"a","tgt":"b"}\n{"src_lang": \n'),
            *GOOD,
        ],
        "j.jsonl line 2: invalid JSON",
    ),
    "missing json field": (
        lambda t: [*bitext(t, "m.jsonl", '{"src_lang":"ind","tgt_lang":"jav","src":"a"}\n'), *GOOD],
        "m.jsonl line 1: missing field 'tgt'",
    ),
    "all-empty cells": (
        lambda t: [*bitext(t, "a.csv", "indonesian,javanese\n,\n , \n"), *GOOD],
        "a.csv: every cell is empty",
    ),
    "pivot equal to target": (
        lambda t: [*bitext(t, "p.csv", WIDE_CSV), "--pivots", "ind,jav", "--targets", "jav"],
        "both contain jav",
    ),
    "unknown objective": (
        lambda t: [*bitext(t, "o.csv", WIDE_CSV), *GOOD, "--objectives", "mt,foo"],
        "unknown objective 'foo'; choose from mt, tlm, xss, mlm",
    ),
    "bad replay json": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, *replay(t, '{"inputs": "q"\n')],
        "replay.jsonl line 1: invalid JSON",
    ),
    "replay row without fields": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, *replay(t, '{"question": "q"}\n')],
        "replay.jsonl line 1: a replay row is one of: messages",
    ),
    "missing replay file": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, "--replay", str(t / "none.jsonl")],
        "none.jsonl: replay file not found",
    ),
    "negative replay count": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, "--replay", "r.jsonl", "--replay-count", "-5"],
        "--replay-count: must be at least 0, got '-5'",
    ),
    "negative weight": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, "--objective-weights", "mt=-1"],
        "weights must be >= 0",
    ),
    "replay ratio out of range": (
        lambda t: [*bitext(t, "x.csv", WIDE_CSV), *GOOD, "--replay", "r.jsonl", "--replay-ratio", "1.5"],
        "must be in [0, 1)",
    ),
    "unknown config key": (
        lambda t: ["--config", str(write(t / "c.yaml", "bitext: [x]\ntargetz: [jav]\n"))],
        "c.yaml: unknown setting 'targetz'",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    make_args, expected = CASES[case]
    out = tmp_path / "out"
    rc = main(["data", "build", *make_args(tmp_path), "--output", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no temporary folder left


def test_existing_output_is_not_overwritten_without_flag(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "data",
        "build",
        "--bitext",
        str(write(tmp_path / "x.csv", WIDE_CSV)),
        *GOOD,
        "--output",
        str(out),
    ]
    assert main(args) == 0
    before = (out / "train.jsonl").read_bytes()
    assert main([*args, "--seed", "5"]) == 2
    assert "output folder exists" in capsys.readouterr().err
    assert (out / "train.jsonl").read_bytes() == before
    assert main([*args, "--seed", "5", "--overwrite"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5


def test_cli_process_exits_2_without_traceback(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "instructalign.cli",
            "data",
            "build",
            "--bitext",
            str(tmp_path / "none"),
            "--targets",
            "jav",
            "--output",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr
