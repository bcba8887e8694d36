"""The transfer study's outputs: its notes in words (per task and group, the pooled correlation and its
reading), transfer_points.csv and the similarity plot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..experiment.recipe import ALIGNED, BASE, CONTROL
from ..experiment.tasks import FLOOR_POINTS
from ..files import write_atomically, write_csv
from ..report.plots import save
from .findings import against_zero, error_bars, shown

# a base less than this many points above always guessing the most frequent label cannot do a task


def usable_points(points: list[dict], floors: dict[str, dict]) -> list[dict]:
    """The points of the tasks the base can do in L1 (the others get no verdict)."""
    return [p for p in points if not floors.get(p["task"], {}).get("at_floor")]


def r_text(c: dict | None) -> str:
    if c is None:
        return "undefined (fewer than 3 points or no spread)"
    interval = "" if math.isnan(c["r_lo"]) else f" [{c['r_lo']:+.2f}, {c['r_hi']:+.2f}] (95%, Fisher z)"
    spearman = f"Spearman ρ = {c['rho']:+.2f} (p = {c['p_rho']:.2f})"
    return f"r = {c['r']:+.2f}{interval}, p = {c['p']:.2f}; {spearman}; n = {c['n']}"


def group_table(reports: dict[str, dict]) -> str:
    """Per task and language group: aligned+replay against the control and the base, the control against the
    base."""
    header = [
        "task",
        "group",
        "languages",
        f"{ALIGNED} vs {CONTROL}",
        f"{ALIGNED} vs {BASE}",
        f"{CONTROL} vs {BASE}",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, report in reports.items():
        for g in report["groups"]:
            cells = [name, g["role"], ",".join(g["languages"])]
            cells += [
                delta_text(g.get(k))
                for k in (f"{ALIGNED} vs {CONTROL}", f"{ALIGNED} vs {BASE}", f"{CONTROL} vs {BASE}")
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def delta_text(c: dict | None) -> str:
    if not c:
        return "—"
    if math.isnan(c["lo"]):
        return f"{100 * c['delta']:+.1f}"
    return f"{100 * c['delta']:+.1f} [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}]"


def floor_table(floors: dict[str, dict]) -> str:
    lines = [
        "| task | base, L1 (eng, ind) | always the most frequent label | base above it | transfer verdicts |",
        "|---|---|---|---|---|",
    ]
    for task, f in floors.items():
        if f.get("stands_in"):
            lines.append(
                f"| {task} | — (no L1 test languages: {f['stands_in']}, the same task, stands in) | | | "
                f"{'refused' if f['at_floor'] else 'given'} |"
            )
            continue
        lines.append(
            f"| {task} | {f['base']:.1f} | {f['majority']:.1f} | {f['base'] - f['majority']:+.1f} | "
            f"{'refused: the base cannot do the task in L1' if f['at_floor'] else 'given'} |"
        )
    return "\n".join(lines)


def within_task_lines(corr: dict, reports: dict[str, dict], floors: dict[str, dict]) -> list[str]:
    """Per task, first: its L2 change over the control and the within-task correlation of L3 gain with
    similarity, each with its interval — or no verdict where the base cannot do the task in L1."""
    lines = []
    for task, report in reports.items():
        f = floors.get(task, {"at_floor": False})
        if f["at_floor"]:
            lines.append(
                f"- **{task}**: no verdict — the base cannot do this task in L1 ({f['base']:.1f} vs "
                f"{f['majority']:.1f} for always the most frequent label)."
            )
            continue
        l2 = next((g.get(f"{ALIGNED} vs {CONTROL}") for g in report["groups"] if g["role"] == "L2"), None)
        gain = (
            "not measured"
            if not l2
            else (
                f"{delta_text(l2)} ({'shown' if shown(l2) else 'not shown'}: interval "
                f"{'above' if shown(l2) else 'includes or below'} 0)"
            )
        )
        lines.append(
            f"- **{task}**: L2 change of {ALIGNED} over the control {gain}; L3 gain against similarity to L2 "
            f"within the task: {r_text(corr.get(f'gain_control ~ sim_mono, {task}'))}."
        )
    return lines


def transfer_notes(
    points: list[dict], corr: dict, reports: dict[str, dict], seeds: int, floors: dict[str, dict]
) -> list[str]:
    main = corr.get("gain_control ~ sim_mono")
    usable = usable_points(points, floors)
    n_l3 = sum(p["role"] == "L3" for p in usable)
    contrast = [100 * p["gain_control"]["delta"] for p in usable if p["role"] == "contrast"]
    l3_gain = [100 * p["gain_control"]["delta"] for p in usable if p["role"] == "L3"] or [math.nan]
    refused = [t for t, f in floors.items() if f["at_floor"]]
    verdict = against_zero(
        main["r_lo"] if main else math.nan,
        main["r_hi"] if main else math.nan,
        above="supported: the interval of r lies above 0",
        below="contradicted: the interval of r lies below 0",
        neither="not shown: the interval of r includes 0",
        undefined="not testable here (r undefined: fewer than 4 points, or no spread in gains)",
    )
    lines = [
        f"**Transfer study** ({seeds} seed(s); weighted F1 x100; 95% intervals, "
        f"{'Student-t over the paired seeds' if seeds > 1 else 'paired bootstrap over test sentences'}). "
        f"First, can the base do each task in L1? A task whose base L1 score is less than {FLOOR_POINTS:g} "
        "points above always predicting the most frequent label gets no transfer verdict:",
        floor_table(floors),
        "**Within each task**:\n" + "\n".join(within_task_lines(corr, reports, floors)),
        "Per task and group:",
        group_table(reports),
        f"**Pooled unseen languages** (n = {n_l3} task-language "
        f"points{'; left out: ' + ', '.join(refused) if refused else ''}). L3 gain of {ALIGNED} over the "
        f"control: mean {np.mean(l3_gain):+.1f} (range {min(l3_gain):+.1f} to {max(l3_gain):+.1f}); the "
        f"unrelated contrast languages: mean {np.mean(contrast) if contrast else float('nan'):+.1f}.",
        "**Gain over the control against similarity to L2 (trigram-profile cosine, the measure every point "
        f"has), pooled:** {r_text(main)}. The paper's claim (Pearson ≈ 0.96): {verdict}. Pooling mixes tasks "
        "whose gains differ in size, so the within-task correlations above come first.",
        f"Against the base instead: {r_text(corr.get('gain_base ~ sim_mono'))}. With chrF on parallel text "
        f"(NusaX and SIB-200 points only): {r_text(corr.get('gain_control ~ sim_chrf'))}. The two similarity "
        f"measures agree: {r_text(corr.get('sim_mono ~ sim_chrf'))}.",
        "Reading: the points are languages, not sentences, so the interval is wide at this n; the trigram "
        "measure also reflects each dataset's domain (a language's text comes from the tasks that have it). "
        "Figure: transfer.png; points: transfer_points.csv; each task's full report in <task>/report.md.",
    ]
    return lines


def write_transfer_outputs(out: Path, points: list[dict], corr: dict) -> None:
    header = ["task", "lang", "name", "role", "sim_mono", "sim_chrf"]
    header += [f"{g} {k}" for g in ("gain_control", "gain_base") for k in ("delta", "lo", "hi")]
    body = [
        [
            p["task"],
            p["lang"],
            p["name"],
            p["role"],
            f"{p['sim_mono']:.2f}",
            "" if math.isnan(p["sim_chrf"]) else f"{p['sim_chrf']:.2f}",
        ]
        + [f"{100 * p[g][k]:.2f}" for g in ("gain_control", "gain_base") for k in ("delta", "lo", "hi")]
        for p in points
    ]
    write_csv(out / "transfer_points.csv", header, body)
    write_atomically(out / "transfer.png", figure(points, corr.get("gain_control ~ sim_mono")))


def figure(points: list[dict], c: dict | None) -> bytes:
    """L3 gain over the control against trigram similarity to L2, one marker per task, contrast hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    markers = {"nusax_senti": "o", "sib200": "s", "nusawrites_senti": "^"}
    for task, marker in markers.items():
        for role in ("L3", "contrast"):
            pts = [p for p in points if p["task"] == task and p["role"] == role]
            if not pts:
                continue
            g = [p["gain_control"] for p in pts]
            ax.errorbar(
                [p["sim_mono"] for p in pts],
                [100 * x["delta"] for x in g],
                yerr=error_bars(g),
                fmt=marker,
                mfc="none" if role == "contrast" else None,
                capsize=2,
                alpha=0.8,
                label=f"{task} {'L3' if role == 'L3' else 'unrelated (contrast)'}",
            )
            for p in pts:
                ax.annotate(
                    p["lang"],
                    (p["sim_mono"], 100 * p["gain_control"]["delta"]),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
    l3 = [p for p in points if p["role"] == "L3"]
    if c is not None and len(l3) >= 3:
        xs = np.array([p["sim_mono"] for p in l3])
        ys = np.array([100 * p["gain_control"]["delta"] for p in l3])
        slope, intercept = np.polyfit(xs, ys, 1)
        grid = np.linspace(xs.min(), xs.max(), 20)
        ax.plot(grid, slope * grid + intercept, "k--", lw=1)
        ax.set_title(f"L3 transfer: r = {c['r']:+.2f} [{c['r_lo']:+.2f}, {c['r_hi']:+.2f}], n = {c['n']}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("similarity to the L2 languages (character-trigram cosine x100, train splits)")
    ax.set_ylabel(f"weighted F1 change, {ALIGNED} vs {CONTROL} (x100, 95% CI)")
    ax.legend(fontsize=7)
    return save(fig, plt)
