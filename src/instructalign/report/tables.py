"""The report's tables as (header, rows) of strings: what report.md, report.html and the CSV files show."""

from __future__ import annotations

import math

from .runs import comparisons


def pct(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def mean_pm(ms: tuple[float, float], seeds: int) -> str:
    m, s = ms
    return pct(m) if seeds < 2 or math.isnan(s) else f"{pct(m)} ± {100 * s:.1f}"


def method_tag(c: dict) -> str:
    """How an interval was made, in a few words: method and n (see `stats.py`)."""
    if c.get("unit") == "seeds":
        return f"t, n={c['n']} seeds"
    if c.get("unit") == "sentences":
        return f"boot, n={c['n']} sent." + (", shared ids" if "shared" in (c["method"] or "") else "")
    return ""


def fmt_delta(c: dict, tag: bool = True) -> str:
    if c is None or math.isnan(c["delta"]):
        return "—"
    text = f"{100 * c['delta']:+.1f}"
    if not math.isnan(c["lo"]):
        text += f" [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}]"
        if tag and method_tag(c):
            text += f" ({method_tag(c)})"
    return text


def delta(c: dict | None) -> str:
    return fmt_delta(c, tag=False) if c else "—"


def interval_words(c: dict | None) -> str:
    """How an interval was made, in a sentence: stated once in a caption, not after every number."""
    if not c or c.get("unit") is None:
        return "no interval (one seed and no predictions to resample)"
    if c["unit"] == "seeds":
        return f"a Student-t interval over the {c['n']} paired per-seed differences"
    shared = (
        "; each resample draws one set of sentence ids for every language, template and run"
        if "shared" in (c["method"] or "")
        else ""
    )
    return f"a paired bootstrap over {c['n']} test sentences of one seed{shared}"


CLAIM_OF_ROLE = {"L1": "L1 kept", "L2": "L2 gain", "L3": "L3 transfer"}


def method_run(report: dict) -> str | None:
    """The run the report is about: the first that is neither the baseline nor the control."""
    return next((r.name for r in report["runs"] if r.name not in report["references"]), None)


def control_run(report: dict) -> str | None:
    """The control the report compares against (None when there is none besides the baseline)."""
    return report["control"] if report["control"] in report["references"][1:] else None


def headline(report: dict) -> tuple[list[str], list[list[str]], list[str]]:
    """Per group: every run's mean, the method's change vs the control and vs the base, and its verdict;
    plus each row's verdict word (for colour)."""
    runs, base, method, control = report["runs"], report["baseline"], method_run(report), control_run(report)
    refs = [r for r in (control, base) if r]
    header = ["group"] + [r.name for r in runs] + [f"Δ vs {r}" for r in refs] + ["verdict"]
    rows, kinds = [], []
    for g in report["groups"]:
        found = next(
            (
                v
                for v in report["verdicts"]
                if v["run"] == method and v["claim"] == CLAIM_OF_ROLE.get(g["role"])
            ),
            None,
        )
        kind = found["verdict"] if found else ""
        rows.append(
            [f"{g['role']} ({len(g['languages'])})"]
            + [mean_pm(g[r.name], r.seeds) for r in runs]
            + [delta(g.get(f"{method} vs {r}")) for r in refs]
            + [f"{found['claim']}: {kind}" if found else "—"]
        )
        kinds.append(kind)
    return header, rows, kinds


def headline_caption(report: dict) -> str:
    method, base, control = method_run(report), report["baseline"], control_run(report)
    first = next((g.get(f"{method} vs {base}") for g in report["groups"]), None)
    seeds = max(r.seeds for r in report["runs"])
    versus = f"`{control}` (the control)" if control else f"`{base}`"
    return (
        "Weighted F1 x100 per language group (its number of languages in brackets), "
        f"mean{' ± sd over ' + str(seeds) + ' seeds' if seeds > 1 else ' of one seed'}. Δ is the change of "
        f"`{method}` with its 95% interval: {interval_words(first)}. Verdicts are stated tests: **L1 kept** "
        f"= non-inferiority versus `{base}` (lower bound above −{report['margin']:g} points); **L2 gain** "
        "and **L3 transfer** = the "
        f'interval versus {versus} lies above 0. "Not shown" means the interval does not decide; "not '
        'testable" means a model the claim rests on cannot do the task on that group.'
    )


def cannot_do_notes(report: dict) -> list[str]:
    """One paragraph naming every model that cannot do the task, on which groups and why."""
    found: dict[tuple[str, str], list[str]] = {}
    for g in report["groups"]:
        for run, why in g.get("cannot_do", {}).items():
            found.setdefault((run, why.removesuffix(": the model cannot do this task")), []).append(g["role"])
    if not found:
        return []
    items = [f"`{run}` on {', '.join(roles)} {why}" for (run, why), roles in found.items()]
    return [
        "**Cannot do the task** (verdicts that rest on these are not testable): " + "; ".join(items) + "."
    ]


def tables(report: dict) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Every table of the report as (header, rows) of strings."""
    runs, refs = report["runs"], report["references"]
    pairs = [
        (run.name, ref.name)
        for run, ref in comparisons(runs, [r for name in refs for r in runs if r.name == name])
    ]
    seeds = {run.name: run.seeds for run in runs}
    out = {}
    header = ["role", "languages"] + [r.name for r in runs] + [f"Δ {a} vs {b}" for a, b in pairs]
    out["groups"] = (
        header,
        [
            [g["role"], ", ".join(g["languages"])]
            + [mean_pm(g[r.name], seeds[r.name]) for r in runs]
            + [delta(g[f"{a} vs {b}"]) for a, b in pairs]
            for g in report["groups"]
        ],
    )
    header = ["language", "role"] + [r.name for r in runs] + [f"Δ {a} vs {b}" for a, b in pairs]
    out["per_language"] = (
        header,
        [
            [row["name"], row["role"]]
            + [mean_pm(row[r.name], seeds[r.name]) for r in runs]
            + [delta(row[f"{a} vs {b}"]) for a, b in pairs]
            for row in report["per_language"]
        ],
    )
    out["continual_learning"] = (
        ["metric", "run", "vs", "Δ weighted F1 [95% interval]", "interval method", "n", "seeds > 0"],
        [
            [
                c["metric"],
                c["run"],
                c["reference"],
                fmt_delta(c, tag=False),
                c["method"] or "—",
                "—" if c["n"] is None else f"{c['n']} {c['unit']}",
                "—" if c["seeds_positive"] is None else f"{c['seeds_positive']}/{seeds[c['run']]}",
            ]
            for c in report["continual_learning"]
        ],
    )
    out["verdicts"] = (
        ["run", "claim", "group", "vs", "Δ [95% interval]", "interval method", "test", "verdict"],
        [
            [
                v["run"],
                v["claim"],
                v["role"],
                v["reference"],
                fmt_delta(v["comparison"], tag=False),
                f"{v['comparison']['method'] or '—'}"
                + (
                    f" (n = {v['comparison']['n']} {v['comparison']['unit']})" if v["comparison"]["n"] else ""
                ),
                v["test"],
                v["verdict"] + (f" ({v['why']})" if v.get("why") else ""),
            ]
            for v in report["verdicts"]
        ],
    )
    out["templates"] = (
        ["role", "run", "mean over templates", "spread (std)", "per template"],
        [
            [
                t["role"],
                t["run"],
                pct(t["mean"]),
                pct(t["std"]),
                " ".join(f"{k}={pct(v)}" for k, v in t["templates"].items()),
            ]
            for t in report["templates"]
        ],
    )
    sim = report["similarity"]
    if sim.get("points"):
        gain_cols = [k for k in sim["points"][0] if k.startswith("gain ")]
        out["similarity"] = (
            ["L3 language", "chrF to L2", "chrF to L1"] + [f"{g} (Δ F1)" for g in gain_cols],
            [
                [p["name"], f"{p['sim_L2']:.1f}", "—" if math.isnan(p["sim_L1"]) else f"{p['sim_L1']:.1f}"]
                + [pct(p[g]) for g in gain_cols]
                for p in sim["points"]
            ],
        )
    return out
