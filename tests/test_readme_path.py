"""README's "Adapt your model to a new language", run as written (a tiny model as `my-model`, NusaX's
Indonesian and Buginese training sentences as `pairs.tsv`; only the step count and the sentences scored are
cut down), so that the first thing a user copies works."""

import csv
import json
import re
import shlex

import pytest

import tiny
from helpers import REPO, write
from instructalign.cli import main

SMALLER = {
    "--max-steps 1000": "--max-steps 2 --monitor-limit 4",
    "--output out/eval-": "--limit 4 --output out/eval-",
}


def readme_commands() -> list[str]:
    """The commands of the README's first bash block under 'Adapt your model', lines joined."""
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme[readme.index("## Adapt your model to a new language") :]
    block = section[section.index("```bash\n") + 8 : section.index("```", section.index("```bash\n") + 8)]
    lines = re.sub(r"\\\n\s*", "", block).splitlines()
    return [line for line in lines if line.startswith("instructalign ")]


@pytest.mark.slow
def test_the_readme_path_runs_as_written(nusax, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    tiny.chat_model("llama3", tmp_path / "my-model")  # today's chat model: trained in its own template
    with open(nusax / "mt" / "train.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:60]
    write(
        tmp_path / "pairs.tsv", "ind\tbug\n" + "".join(f"{r['indonesian']}\t{r['buginese']}\n" for r in rows)
    )
    write(
        tmp_path / "replay.jsonl",
        "".join(
            json.dumps({"prompt": f"Ulangi: {r['indonesian']}", "target": r["indonesian"]}) + "\n"
            for r in rows[:20]
        ),
    )
    commands = readme_commands()
    assert [c.split()[1] for c in commands] == [
        "vocab",
        "vocab",
        "data",
        "data",
        "train",
        "eval",
        "eval",
        "report",
        "merge",
        "card",
    ]
    for command in commands:
        for long, short in SMALLER.items():
            command = command.replace(long, short)
        command = command.replace("../shared/data/nusax", str(nusax))
        assert main(shlex.split(command)[1:]) == 0, command
    assert "language groups from" in capsys.readouterr().out  # eval and report found L1 = ind, L2 = bug
    assert (tmp_path / "out" / "report" / "report.html").is_file()
    card = (tmp_path / "out" / "run" / "final" / "README.md").read_text()
    assert "## Results" in card and "tokenizer.apply_chat_template(" in card  # prompted as it was trained
    assert (tmp_path / "out" / "merged" / "config.json").is_file()
    summary = json.loads((tmp_path / "out" / "run" / "train_summary.json").read_text())
    scored = json.loads((tmp_path / "out" / "eval-tuned" / "results.json").read_text())
    assert summary["chat_template"] == scored["chat_template"] == "the tokenizer's"
