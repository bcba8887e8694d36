"""What a person sees first: report.html, rendered by headless Chromium at 1280 px, opens with the headline
table and the group figure above the fold; a model that cannot do the task is said so, and its verdicts are
"not testable"."""

import csv
import json
import os
import re
import shutil
import subprocess

import pytest

from helpers import write
from instructalign.cli import main

ROLES = {
    "L1": ["eng", "ind"],
    "L2": ["jav", "sun", "min", "bjn", "ban", "ace", "bug"],
    "L3": ["mad", "nij", "bbc"],
}
RUNS = {"base": 0.45, "replay-only": 0.50, "aligned+replay": 0.55, "aligned-no-replay": 0.30}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEMO_NOTES = [  # as long as the demo's own notes: the setup must not push the answer off the first screen
    "**Setup.** " + "A 3-layer GPT-2-style decoder stands in for BLOOMZ, instruction-tuned on L1 only. " * 6,
    "**What this run shows** (weighted F1 x100): "
    + "L2 gain from alignment: +5.1 [+0.1, +10.0] — shown. " * 5,
    "**Scale.** " + "The paper's claims are about BLOOMZ and need a GPU. " * 4,
    "**Time.** base seed 0: 2.7 min, runs and evals seed 0: 6.8 min, report: 0.3 min.",
]


def results(level: float, seed: int, predicted=None) -> dict:
    langs = [lang for members in ROLES.values() for lang in members]
    per = {}
    for i, lang in enumerate(langs):
        f = level + 0.01 * ((i + seed) % 3)
        template = {
            "weighted_f1": f,
            "majority_f1": 0.2,
            "predicted": predicted or {"negative": 5, "positive": 5},
        }
        per[lang] = {
            "weighted_f1": f,
            "macro_f1": f,
            "accuracy": f,
            "n": 10,
            "weighted_f1_std": 0.01,
            "majority_f1": 0.2,
            "templates": {"en0": template, "id0": template},
            "predicted": {k: 2 * v for k, v in template["predicted"].items()},
        }
    return {
        "model": "m",
        "task": "nusax_senti",
        "kind": "classification",
        "tasks": {"nusax_senti": per},
        "groups": {},
        "roles": ROLES,
        "settings": {"data": "d", "limit": 150, "prompt_langs": ["en", "id"]},
    }


def demo_like_report(tmp_path, predicted_by_run=None) -> tuple:
    args = ["report"]
    for name, level in RUNS.items():
        folders = []
        for seed in range(3):
            folder = tmp_path / "runs" / f"{name}-{seed}"
            write(
                folder / "results.json",
                json.dumps(results(level + 0.01 * seed, seed, (predicted_by_run or {}).get(name))),
            )
            folders.append(str(folder))
        args += ["--run", f"{name}={','.join(folders)}"]
    config = write(tmp_path / "report.yaml", json.dumps({"notes": DEMO_NOTES}))
    out = tmp_path / "report"
    args += ["--baseline", "base", "--control", "replay-only", "--config", str(config), "--output", str(out)]
    assert main(args) == 0
    return out


POSITIONS = """<script>
const box = (id) => {
  const r = document.getElementById(id).getBoundingClientRect(); return [r.top, r.bottom]; };
document.body.setAttribute("data-pos", JSON.stringify({headline: box("headline"), figure: box("groups"),
  width: document.documentElement.clientWidth}));
</script></body>"""


def chromium(*args) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,900",
        "--virtual-time-budget=3000",
    ]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_first_screen_holds_the_headline_table_and_the_figure(tmp_path):
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("needs chromium (apt-get install chromium)")
    out = demo_like_report(tmp_path)
    page = (out / "report.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", POSITIONS, 1))
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    dom = chromium(profile, "--dump-dom", probe.as_uri())
    found = re.search(r'data-pos="([^"]+)"', dom.stdout)
    assert found, dom.stderr[-2000:]
    pos = json.loads(found.group(1).replace("&quot;", '"'))
    assert pos["width"] == 1280
    assert pos["headline"][1] <= 900, pos  # the whole table is on the first screen
    assert pos["figure"][1] <= 900, pos  # and so is the figure under it
    assert pos["headline"][0] < pos["figure"][0]
    shot = tmp_path / "first-screen.png"
    chromium(profile, f"--screenshot={shot}", (out / "report.html").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
    if os.environ.get("INSTRUCTALIGN_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["INSTRUCTALIGN_KEEP_SCREENSHOT"])


def test_the_headline_leads_both_pages_with_verdicts_and_one_caption(tmp_path):
    out = demo_like_report(tmp_path)
    md = (out / "report.md").read_text()
    first = md.split("\n\n")
    assert first[0].startswith("# ") and first[1].startswith("| group | base | replay-only | aligned+replay")
    assert "Δ vs replay-only" in first[1] and "L2 gain: " in first[1]
    assert first[2].startswith("*Weighted F1 x100") and "Student-t interval over the 3 paired" in first[2]
    assert first[3] == "![groups.png](groups.png)" and first[4].startswith("**Setup.**")
    assert "(t, n=3 seeds)" not in md.split("## Verdicts")[0]  # the method is stated once, not per number
    html = (out / "report.html").read_text()
    assert html.index('id="headline"') < html.index('id="groups"') < html.index("Setup.")
    assert re.search(r'<td class="v-(shown|not-shown)">L2 gain: ', html)


def test_a_model_that_always_predicts_one_label_is_named_and_not_tested(tmp_path):
    out = demo_like_report(tmp_path, predicted_by_run={"replay-only": {"negative": 20}})
    md = (out / "report.md").read_text()
    assert (
        "**Cannot do the task** (verdicts that rest on these are not testable): `replay-only` on L1, L2, L3 "
        "predicts 'negative' for 100% of prompts." in md
    )
    rows = csv.DictReader(open(out / "verdicts.csv", encoding="utf-8"))
    verdicts = {(r["run"], r["claim"], r["group"]): r for r in rows}
    assert verdicts[("aligned+replay", "L2 gain", "L2")]["verdict"].startswith(
        "not testable (`replay-only` predicts"
    )
    assert verdicts[("aligned+replay", "L1 kept", "L1")]["verdict"] != "not testable"  # the base can
    assert "L2 gain: not testable" in md.split("\n\n")[1]
    out = demo_like_report(tmp_path / "b", predicted_by_run={"aligned-no-replay": {"negative": 20}})
    rows = csv.DictReader(open(out / "verdicts.csv", encoding="utf-8"))
    verdicts = {(r["run"], r["claim"], r["group"]): r["verdict"] for r in rows}
    assert (
        verdicts[("aligned-no-replay", "forgetting", "L1")] == "shown"
    )  # a run that lost the task did forget
    assert verdicts[("aligned-no-replay", "L1 kept", "L1")] == "not shown"
    assert verdicts[("aligned-no-replay", "L2 gain", "L2")].startswith(
        "not testable (`aligned-no-replay` predicts"
    )


def test_a_model_below_the_majority_baseline_cannot_do_the_task():
    from instructalign.evaluate.metrics import cannot_do, label_spread

    gold = ["business"] * 6 + ["sports"] * 2 + ["health"] * 2
    spread = label_spread(gold, ["business"] * 10, ["business", "sports", "health"])
    assert spread["majority_f1"] == pytest.approx(
        0.6 * 2 * 6 / 16
    )  # always 'business': F1 0.75 on 60% support
    assert cannot_do(spread["predicted"], 0.45, spread["majority_f1"]).startswith(
        "predicts 'business' for 100%"
    )
    varied = {"business": 5, "sports": 3, "health": 2}
    assert "not above always predicting the most frequent label (45.0)" in cannot_do(varied, 0.40, 0.45)
    assert cannot_do(varied, 0.60, 0.45) is None
