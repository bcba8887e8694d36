import csv
import json
import re

import pytest

from helpers import write
from instructalign.cli import main
from instructalign.report.stats import pearson

LANGS = {"eng": "L1", "ind": "L1", "jav": "L2", "sun": "L2", "mad": "L3", "nij": "L3", "bbc": "L3"}
ROLES = {"L1": ["eng", "ind"], "L2": ["jav", "sun"], "L3": ["mad", "nij", "bbc"]}


def results(scores: dict[str, float]) -> dict:
    tasks = {
        lang: {
            "weighted_f1": f,
            "macro_f1": f,
            "accuracy": f,
            "n": 10,
            "weighted_f1_std": 0.01,
            "templates": {"en0": {"weighted_f1": f - 0.01}, "id0": {"weighted_f1": f + 0.01}},
        }
        for lang, f in scores.items()
    }
    return {
        "model": "m",
        "task": "nusax_senti",
        "kind": "classification",
        "tasks": {"nusax_senti": tasks},
        "groups": {},
        "roles": ROLES,
        "settings": {"data": "d", "limit": None, "prompt_langs": ["en", "id"]},
    }


def run_dir(tmp_path, name, scores):
    d = tmp_path / name
    write(d / "results.json", json.dumps(results(scores)))
    return d


BASE = {"eng": 0.70, "ind": 0.68, "jav": 0.50, "sun": 0.52, "mad": 0.48, "nij": 0.47, "bbc": 0.49}
ALIGNED = {"eng": 0.71, "ind": 0.69, "jav": 0.60, "sun": 0.58, "mad": 0.55, "nij": 0.50, "bbc": 0.53}


def test_tables_deltas_and_files(tmp_path):
    base, aligned = run_dir(tmp_path, "base", BASE), run_dir(tmp_path, "aligned", ALIGNED)
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--run",
                f"base={base}",
                "--run",
                f"aligned={aligned}",
                "--baseline",
                "base",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    for name in (
        "report.md",
        "report.html",
        "per_language.csv",
        "groups.csv",
        "templates.csv",
        "continual_learning.csv",
        "per_language.png",
        "delta_heatmap.png",
    ):
        assert (out / name).is_file(), name
    rows = {r["language"]: r for r in csv.DictReader(open(out / "per_language.csv", encoding="utf-8"))}
    assert rows["Javanese (jav)"]["base"] == "50.0" and rows["Javanese (jav)"]["aligned"] == "60.0"
    assert rows["Javanese (jav)"]["Δ aligned vs base"].startswith("+10.0")
    groups = {r["role"]: r for r in csv.DictReader(open(out / "groups.csv", encoding="utf-8"))}
    assert groups["L2"]["aligned"] == "59.0" and groups["L2"]["Δ aligned vs base"].startswith("+8.0")
    assert groups["L1"]["Δ aligned vs base"].startswith("+1.0")
    md = (out / "report.md").read_text()
    assert (
        "backward transfer (BWT, L1)" in md and "forward gain (L2)" in md and "zero-shot transfer (L3)" in md
    )
    templates = {
        (r["role"], r["run"]): r for r in csv.DictReader(open(out / "templates.csv", encoding="utf-8"))
    }
    assert templates[("L2", "base")]["mean over templates"] == "51.0"
    assert templates[("L2", "base")]["spread (std)"] == "1.4"  # std of 50 and 52


def test_seeds_give_mean_std_and_a_t_interval(tmp_path):
    base = [run_dir(tmp_path, f"b{s}", {k: v + 0.01 * s for k, v in BASE.items()}) for s in range(3)]
    al = [
        run_dir(
            tmp_path,
            f"a{s}",
            {k: v + 0.01 * s + (0.02 * s if LANGS[k] == "L2" else 0) for k, v in ALIGNED.items()},
        )
        for s in range(3)
    ]
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--run",
                "base=" + ",".join(map(str, base)),
                "--run",
                "aligned=" + ",".join(map(str, al)),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    groups = {r["role"]: r for r in csv.DictReader(open(out / "groups.csv", encoding="utf-8"))}
    # L2 deltas per seed: 8, 10, 12 -> mean 10, sd 2; t(0.975, 2) = 4.303 -> 10 +- 4.97
    assert groups["L2"]["base"] == "52.0 ± 1.0"
    assert (
        groups["L2"]["Δ aligned vs base"] == "+10.0 [+5.0, +15.0]"
    )  # the method is stated once, in a caption
    assert "a Student-t interval over the 3 paired per-seed differences" in (out / "report.md").read_text()
    cl = list(csv.DictReader(open(out / "continual_learning.csv", encoding="utf-8")))
    row = next(r for r in cl if r["metric"] == "forward gain (L2)")
    assert (
        row["seeds > 0"] == "3/3"
        and row["interval method"] == "Student-t over seeds"
        and row["n"] == "3 seeds"
    )
    md = (out / "report.md").read_text()
    assert "| aligned | L2 gain | L2 | base | +10.0 [+5.0, +15.0] | Student-t over seeds (n = 3 seeds)" in md


def test_pearson_matches_a_hand_computation():
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.5, 5.5, 8.0]
    mx, my = sum(x) / 4, sum(y) / 4
    r_hand = sum((a - mx) * (b - my) for a, b in zip(x, y)) / (
        sum((a - mx) ** 2 for a in x) ** 0.5 * sum((b - my) ** 2 for b in y) ** 0.5
    )
    r, p = pearson(x, y)
    assert r == pytest.approx(r_hand) and 0 < p < 0.05
    assert pearson([1.0, 2.0], [3.0, 4.0]) is None


def test_similarity_section_and_html_is_self_contained(tmp_path):
    bitext = write(
        tmp_path / "bi.csv",
        "english,indonesian,javanese,sundanese,madurese,ngaju,toba_batak\n"
        + "".join(
            f"The hotel {i} is clean,Hotel {i} itu bersih,Hotel {i} iku resik,Hotel {i} eta beresih,Hotel "
            f"{i} rowa berse,Hotel {i} te barasih,Hotel {i} i ias\n"
            for i in range(20)
        ),
    )
    base, aligned = run_dir(tmp_path, "base", BASE), run_dir(tmp_path, "aligned", ALIGNED)
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--run",
                f"base={base}",
                "--run",
                f"aligned={aligned}",
                "--similarity-data",
                str(bitext),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    md = (out / "report.md").read_text()
    assert "Pearson r =" in md and "illustrative" in md  # 3 L3 languages: flagged as few
    assert (out / "similarity_vs_gain.png").is_file()
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page)  # nothing external
    assert "<link" not in page and "<script" not in page


def test_single_l3_language_is_marked_not_enough_data(tmp_path):
    bitext = write(
        tmp_path / "bi.csv",
        "indonesian,javanese,madurese\n" + "".join(f"a {i},b {i},c {i}\n" for i in range(5)),
    )
    base, aligned = run_dir(tmp_path, "base", BASE), run_dir(tmp_path, "aligned", ALIGNED)
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--run",
                f"base={base}",
                "--run",
                f"aligned={aligned}",
                "--similarity-data",
                str(bitext),
                "--roles",
                "L1=ind;L2=jav;L3=mad",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    md = (out / "report.md").read_text()
    assert "**Not enough data:** only 1 L3 language(s)" in md and not re.search(r"\bnan\b", md.lower())


BAD = {
    "folder without results.json": (
        lambda t: ["--run", f"base={t / 'empty'}", "--run", f"x={run_dir(t, 'x', BASE)}"],
        "no results.json here",
    ),
    "disjoint languages": (
        lambda t: [
            "--run",
            f"base={run_dir(t, 'b', {'eng': 0.5})}",
            "--run",
            f"x={run_dir(t, 'x', {'jav': 0.5})}",
        ],
        "the runs share no evaluated language",
    ),
    "unknown baseline": (
        lambda t: [
            "--run",
            f"base={run_dir(t, 'b', BASE)}",
            "--run",
            f"x={run_dir(t, 'x', BASE)}",
            "--baseline",
            "bsae",
        ],
        "--baseline 'bsae' is not a run; runs: base, x",
    ),
    "malformed run": (lambda t: ["--run", "base", "--run", "x=y"], "--run 'base': write it as NAME=DIR"),
}


@pytest.mark.parametrize("case", BAD)
def test_report_bad_input(case, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    make, expected = BAD[case]
    assert main(["report", *make(tmp_path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "out" / "report.html").exists()


def trained_run(tmp_path, name, seed, scores, l1_curve):
    """An eval folder of a model that `train --monitor` wrote: OUT/final scored, OUT/monitor.csv beside it."""
    train_out = tmp_path / f"{name}-train-{seed}"
    lines = ["step,task,language,group,weighted_f1,seconds"] + [
        f"{step},nusax_senti,,{group},{value},0.5"
        for step, l1 in l1_curve.items()
        for group, value in (("L1", l1), ("L2", 0.5 + step / 1000))
    ]
    write(train_out / "monitor.csv", "\n".join(lines) + "\n")
    doc = results(scores) | {"model": str(train_out / "final")}
    return write(tmp_path / f"{name}-{seed}" / "results.json", json.dumps(doc)).parent


def test_the_report_draws_the_training_curves_of_monitored_runs(tmp_path):
    base = [run_dir(tmp_path, f"base{s}", BASE) for s in (0, 1)]  # the base was not trained here: no curve
    kept = [
        trained_run(tmp_path, "replay", s, ALIGNED, {0: 0.70, 100: 0.70 - s / 100, 200: 0.69}) for s in (0, 1)
    ]
    forgot = [trained_run(tmp_path, "no-replay", s, ALIGNED, {0: 0.70, 100: 0.55, 200: 0.40}) for s in (0, 1)]
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--run",
                f"base={base[0]},{base[1]}",
                "--run",
                f"replay={kept[0]},{kept[1]}",
                "--run",
                f"no-replay={forgot[0]},{forgot[1]}",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert (
        "## While training" in md
        and "replay: 2, no-replay: 2" in md
        and "base:" not in md.split("## While")[1][:400]
    )


def test_no_curves_section_without_a_monitor_history(tmp_path):
    base, aligned = run_dir(tmp_path, "base", BASE), run_dir(tmp_path, "aligned", ALIGNED)
    out = tmp_path / "report"
    assert main(["report", "--run", f"base={base}", "--run", f"aligned={aligned}", "--output", str(out)]) == 0
    assert (
        not (out / "training_curves.png").exists() and "While training" not in (out / "report.md").read_text()
    )
