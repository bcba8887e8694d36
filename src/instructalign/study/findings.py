"""A study's results: its main table, its figure, its summary and what it shows in plain words."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from ..config import Recipe, StudyConfig
from ..experiment.design import Design
from ..experiment.recipe import BASE, CONTROL
from ..experiment.study import Experiment, Results
from ..files import read_json, write_atomically, write_csv, write_json
from ..report import write_report
from ..report.plots import save
from ..report.tables import fmt_delta

ROLES_VS = (
    ("L1", BASE, "base"),
    ("L2", BASE, "base"),
    ("L2", CONTROL, "control"),
    ("L3", CONTROL, "control"),
)


def study_table(report: dict, entries: list[tuple[str, Design, float | None]]) -> list[dict]:
    """Per evaluated model: L1 and L2 change vs the base, L2 and L3 vs the control (95% intervals)."""
    groups = {g["role"]: g for g in report["groups"]}
    rows = []
    for name, d, alpha in entries:
        share = d.train.get("replay_share", d.replay_share)  # two pools: the sampled share
        row = {"run": name, "objectives": "+".join(d.objectives) or "none", "replay_share": share}
        row |= {"lora": d.lora, "alpha": alpha, "design": d.name}
        for role, ref, label in ROLES_VS:
            row[f"{role} vs {label}"] = groups[role].get(f"{name} vs {ref}") if role in groups else None
        rows.append(row)
    return rows


def training_summary(eval_folder: str | Path) -> dict:
    """The train_summary.json of the training whose model an eval folder scored ({} where there is none)."""
    model = read_json(Path(eval_folder) / "results.json", default={}).get("model")
    return (
        read_json(Path(model).parent / "train_summary.json", default={})
        if isinstance(model, str) and model
        else {}
    )


def shown(c: dict | None, above: float = 0.0) -> bool:
    return c is not None and not math.isnan(c["lo"]) and c["lo"] > above


def against_zero(lo: float, hi: float, above: str, below: str, neither: str, undefined: str) -> str:
    """The reading of a 95% interval against 0: a two-sided test at the 5% level, or no test at all."""
    if math.isnan(lo) or math.isnan(hi):
        return undefined
    return above if lo > 0 else below if hi < 0 else neither


def findings(cfg: StudyConfig, recipe: Recipe, report: dict, rows: list[dict], seconds: float) -> list[str]:
    header = ["run", "objectives", "replay share", "L1 vs base", "L2 vs control", "L3 vs control"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["run"], r["objectives"], f"{r['replay_share']:g}"]
        cells += [fmt_delta(r[k]) if r[k] else "—" for k in ("L1 vs base", "L2 vs control", "L3 vs control")]
        lines.append("| " + " | ".join(cells) + " |")
    aligned = [r for r in rows if r["run"] != CONTROL and r["L2 vs control"]]
    gains = [r["run"] for r in aligned if shown(r["L2 vs control"])]
    kept = [r["run"] for r in rows if r["L1 vs base"] and shown(r["L1 vs base"], -report["margin"] / 100)]
    best = max(aligned, key=lambda r: r["L2 vs control"]["delta"], default=None)
    words = [
        f"**Study {cfg.study}** ({cfg.seeds} seed(s), {cfg.split} split, {recipe.stage_steps} steps per run, "
        f"{'quick mode: numbers mean little' if cfg.quick else 'the demo recipe'}; weighted F1 x100, 95% "
        "intervals).",
        "\n".join(lines),
        "**What it shows.** L2 gain over the replay-only control shown (interval above 0) for: "
        f"{', '.join(gains) or 'no run'}; largest point estimate: "
        f"{best['run'] + ' ' + fmt_delta(best['L2 vs control'], tag=False) if best else 'none'}. L1 kept "
        f"(non-inferiority vs the base, margin {report['margin']:g}) for: {', '.join(kept) or 'no run'}. "
        "Runs are compared on the same step budget; a difference between two runs needs its own interval "
        "(these intervals are each run against the control, unadjusted for multiple comparisons).",
        f"**Time.** {seconds / 60:.1f} min. Figure: {cfg.study}.png; table: study.csv.",
    ]
    return words


def write_study_outputs(cfg: StudyConfig, rows: list[dict], draw: Callable | None) -> None:
    """study.csv, and the study's figure (`draw(ax, rows)`) as <study>.png."""
    out = Path(cfg.output)
    keys = ("L1 vs base", "L2 vs base", "L2 vs control", "L3 vs control")
    header = ["run", "objectives", "replay_share", "lora", "alpha"]
    header += [f"{k} {p}" for k in keys for p in ("delta", "lo", "hi")]
    body = [
        [
            r["run"],
            r["objectives"],
            f"{r['replay_share']:g}",
            str(r["lora"]).lower(),
            "" if r["alpha"] is None else f"{r['alpha']:g}",
        ]
        + [f"{100 * r[k][p]:.2f}" if r[k] else "" for k in keys for p in ("delta", "lo", "hi")]
        for r in rows
    ]
    write_csv(out / "study.csv", header, body)
    if draw:
        write_atomically(out / f"{cfg.study}.png", figure(cfg.study, rows, draw))


def error_bars(changes: list[dict]) -> list[list[float]] | None:
    """matplotlib's asymmetric yerr (x100) for a list of changes with intervals; None if any has none."""
    if any(math.isnan(c["lo"]) for c in changes):
        return None
    return [[100 * (c["delta"] - c["lo"]) for c in changes], [100 * (c["hi"] - c["delta"]) for c in changes]]


def figure(study: str, rows: list[dict], draw: Callable) -> bytes:
    """The study's figure: `draw(ax, rows)` on one axes, a zero line and the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw(ax, rows)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title(f"study {study}: 95% intervals")
    return save(fig, plt)


def study_findings(
    exp: Experiment, results: Results, draw: Callable | None = None, more: Callable | None = None
) -> dict:
    """A one-report study's outputs: the report with its findings (and `more(exp, results)` notes), study.csv,
    its figure, study_summary.json, and the table and findings on the console."""
    cfg, report = exp.cfg, results.reports[""]
    rows = study_table(report, results.names)
    notes = findings(cfg, exp.recipe, report, rows, exp.seconds()) + (more(exp, results) if more else [])
    write_report(report, cfg.output, notes)
    write_study_outputs(cfg, rows, draw)
    record = {"study": cfg.study, "seeds": cfg.seeds, "quick": cfg.quick, "split": cfg.split, "rows": rows}
    record |= {"recipe": asdict(exp.recipe), "minutes": exp.seconds() / 60}
    write_json(Path(cfg.output) / "study_summary.json", record)
    exp.console.print(results_table(cfg.study, rows))
    for note in notes[2:]:
        exp.console.print(note.replace("**", ""))
    return record


def results_table(study: str, rows: list[dict]) -> Table:
    table = Table(title=f"study {study}: weighted F1 change x100 [95% interval]", title_justify="left")
    for column in ("run", "L1 vs base", "L2 vs control", "L3 vs control"):
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=True)
    for r in rows:
        cells = [
            fmt_delta(r[k], tag=False) if r[k] else "—"
            for k in ("L1 vs base", "L2 vs control", "L3 vs control")
        ]
        table.add_row(r["run"], *cells)
    return table
