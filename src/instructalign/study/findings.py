"""A study's results: its main table, its figure, a time estimate and what it shows in plain words."""

from __future__ import annotations

import math
from pathlib import Path

from ..config import DemoRecipe, StudyConfig
from ..files import write_atomically
from ..report.render import write_csv
from ..report.tables import fmt_delta
from .designs import CONTROL, Design

# seconds measured on the project's 2-core CPU for the demo's stand-in (d=192, 3 layers, batch 16)
TRAIN_STEP_1_THREAD = 0.285
BASE_STEP_2_THREADS = 0.17
EVAL_PROMPTS_PER_SECOND_1_THREAD = 170
NUSAX_LANGUAGES, NUSAX_TEST = 12, 400


def size_factor(recipe: DemoRecipe) -> float:
    return max(0.1, (recipe.d_model / 192) ** 2 * recipe.n_layer / 3)


def estimate_minutes(
    recipe: DemoRecipe, n_runs: int, n_evals: int, seeds: int, jobs: int, extra_prompts: int = 0
) -> float:
    """Rough wall time with nothing cached: bases, then trainings and evaluations (NusaX, and
    `extra_prompts` more per model) spread over `jobs`."""
    f = size_factor(recipe)
    base = (recipe.base_full_steps + recipe.base_target_steps) * BASE_STEP_2_THREADS * f
    prompts = NUSAX_LANGUAGES * (recipe.eval_limit or NUSAX_TEST) * 3 * len(recipe.eval_prompt_langs)
    prompts += extra_prompts
    work = n_runs * recipe.stage_steps * TRAIN_STEP_1_THREAD * f
    work += n_evals * prompts / EVAL_PROMPTS_PER_SECOND_1_THREAD * f
    return seeds * (base + work / max(1, min(jobs, 2))) / 60


ROLES_VS = (
    ("L1", "base", "base"),
    ("L2", "base", "base"),
    ("L2", CONTROL, "control"),
    ("L3", CONTROL, "control"),
)


def study_table(report: dict, entries: list[tuple[str, Design, float | None]]) -> list[dict]:
    """Per evaluated model: L1 and L2 change vs the base, L2 and L3 vs the control (95% intervals)."""
    groups = {g["role"]: g for g in report["groups"]}
    rows = []
    for name, d, alpha in entries:
        row = {"run": name, "objectives": "+".join(d.objectives) or "none", "replay_share": d.replay_share}
        row |= {"lora": d.lora, "alpha": alpha, "design": d.name}
        for role, ref, label in ROLES_VS:
            row[f"{role} vs {label}"] = groups[role].get(f"{name} vs {ref}") if role in groups else None
        rows.append(row)
    return rows


def shown(c: dict | None, above: float = 0.0) -> bool:
    return c is not None and not math.isnan(c["lo"]) and c["lo"] > above


def against_zero(lo: float, hi: float, above: str, below: str, neither: str, undefined: str) -> str:
    """The reading of a 95% interval against 0: a two-sided test at the 5% level, or no test at all."""
    if math.isnan(lo) or math.isnan(hi):
        return undefined
    return above if lo > 0 else below if hi < 0 else neither


def findings(
    cfg: StudyConfig, recipe: DemoRecipe, report: dict, rows: list[dict], seconds: float
) -> list[str]:
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
        f"{'quick mode: numbers mean little' if cfg.quick else 'the demo recipe'}; weighted F1 x100, 95% intervals).",
        "\n".join(lines),
        f"**What it shows.** L2 gain over the replay-only control shown (interval above 0) for: "
        f"{', '.join(gains) or 'no run'}; largest point estimate: "
        f"{best['run'] + ' ' + fmt_delta(best['L2 vs control'], tag=False) if best else 'none'}. "
        f"L1 kept (non-inferiority vs the base, margin {report['margin']:g}) for: {', '.join(kept) or 'no run'}. "
        "Runs are compared on the same step budget; a difference between two runs needs its own interval "
        "(these intervals are each run against the control, unadjusted for multiple comparisons).",
        f"**Time.** {seconds / 60:.1f} min. Figure: {cfg.study}.png; table: study.csv.",
    ]
    return words


def write_study_outputs(cfg: StudyConfig, report: dict, rows: list[dict]) -> None:
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
    if cfg.study != "transfer":  # the transfer study's figure is its similarity plot (transfer.py)
        write_atomically(out / f"{cfg.study}.png", figure(cfg.study, rows))


def error_bars(changes: list[dict]) -> list[list[float]] | None:
    """matplotlib's asymmetric yerr (x100) for a list of changes with intervals; None if any has none."""
    if any(math.isnan(c["lo"]) for c in changes):
        return None
    return [[100 * (c["delta"] - c["lo"]) for c in changes], [100 * (c["hi"] - c["delta"]) for c in changes]]


def figure(study: str, rows: list[dict]) -> bytes:
    """objectives: L2 and L3 change vs the control per run; replay: L1 and L2 change vs the base along the
    replay share; interpolate: the Pareto plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.plots import save

    fig, ax = plt.subplots(figsize=(7, 4.5))
    if study == "interpolate":
        pareto(ax, rows)
    elif study == "replay":
        replay_curve(ax, rows)
    else:
        for i, role in enumerate(("L2", "L3")):
            pts = [(j, r[f"{role} vs control"]) for j, r in enumerate(rows) if r[f"{role} vs control"]]
            ax.errorbar([j + 0.15 * i for j, _ in pts], [100 * c["delta"] for _, c in pts],
                        yerr=error_bars([c for _, c in pts]),
                        fmt="o", capsize=3, label=f"{role} vs control")  # fmt: skip
        ax.set_xticks(range(len(rows)), [r["run"] for r in rows])
        ax.set_ylabel("weighted F1 change (x100)")
        ax.legend(fontsize=8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title(f"study {study}: 95% intervals")
    return save(fig, plt)


def replay_curve(ax, rows: list[dict]) -> None:
    """L1 and L2 change vs the base (intervals) against the replay share; the replay-only control at 1."""
    share = {r["run"]: 1.0 if r["run"] == CONTROL else r["replay_share"] for r in rows}
    for i, role in enumerate(("L1", "L2")):
        pts = sorted((share[r["run"]], r[f"{role} vs base"]) for r in rows if r[f"{role} vs base"])
        ax.errorbar([x + 0.006 * i for x, _ in pts], [100 * c["delta"] for _, c in pts],
                    yerr=error_bars([c for _, c in pts]), fmt="o-", capsize=3, label=f"{role} vs base")  # fmt: skip
    ax.set_xlabel("replay share of every batch (1 = replay-only control)")
    ax.set_ylabel("weighted F1 change (x100)")
    ax.legend(fontsize=8)


def pareto(ax, rows: list[dict]) -> None:
    """L1 change against L2 change, both vs the base: one line per run through its α, the control a point."""
    ax.plot([0], [0], "ks", label="base (α = 0)")
    for design in dict.fromkeys(r["design"] for r in rows):
        pts = [r for r in rows if r["design"] == design and r["L1 vs base"] and r["L2 vs base"]]
        xs = [100 * r["L1 vs base"]["delta"] for r in pts]
        ys = [100 * r["L2 vs base"]["delta"] for r in pts]
        line = ax.plot([0, *xs] if pts and pts[0]["alpha"] else xs, [0, *ys] if pts and pts[0]["alpha"] else ys,
                       "o-" if design != CONTROL else "D", label=design)[0]  # fmt: skip
        for r, x, y in zip(pts, xs, ys):
            ax.errorbar(
                x,
                y,
                xerr=error_bars([r["L1 vs base"]]),
                yerr=error_bars([r["L2 vs base"]]),
                color=line.get_color(),
                capsize=2,
            )
            if r["alpha"] is not None:
                ax.annotate(
                    f"α={r['alpha']:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("L1 change vs base (forgetting < 0)")
    ax.set_ylabel("L2 change vs base")
    ax.legend(fontsize=8)
