"""`instructalign study scale`: is the L2 gain over the control larger for larger models?

The stand-in at three sizes (the largest 8x the smallest in parameters), each with its own base built the same
way. A recipe tuned at one size confounds the comparison, so each size first picks its continual-tuning
learning rate on the valid split (seed 0, the same sweep of 0.5x, 1x and 2x the studies' rate, by
aligned+replay's L2 weighted F1; the control trains at the same rate). Only then are control and
aligned+replay compared on test, over the seeds.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..config import Recipe, StudyConfig
from ..experiment.design import REPLAY_ONLY, Design, aligned_replay
from ..experiment.estimate import estimate_minutes, minutes_words
from ..experiment.jobs import prefixed, run_jobs
from ..experiment.recipe import ALIGNED, BASE, CONTROL
from ..experiment.study import Experiment, Results, Study, runs_folder
from ..files import read_json, write_atomically, write_csv, write_json
from ..report import write_report
from ..report.blocks import Heading, Image, Paragraph, to_html, to_markdown
from ..report.plots import save
from ..report.stats import t_interval
from ..report.tables import fmt_delta
from .findings import against_zero, error_bars

# d_model, n_layer, n_head. The largest is the demo's stand-in (its bases and runs are shared with the other
# studies); a 6.4M top size would need ~150 min for 3 seeds on 2 cores, beyond the 90-minute budget.
SIZES = {"0.27M": (48, 2, 2), "0.77M": (96, 3, 4), "2.2M": (192, 3, 4)}
QUICK_SIZES = {"s": (32, 2, 2), "m": (64, 2, 2), "l": (128, 2, 2)}
LR_FACTORS = (0.5, 1.0, 2.0)
QUICK_LR_FACTORS = (1.0, 2.0)  # --quick: a smoke test of the pipeline, two rates


def lr_factors(quick: bool) -> tuple[float, ...]:
    return QUICK_LR_FACTORS if quick else LR_FACTORS


def size_recipes(recipe: Recipe, quick: bool) -> dict[str, Recipe]:
    sizes = QUICK_SIZES if quick else SIZES
    return {label: replace(recipe, d_model=d, n_layer=n, n_head=h) for label, (d, n, h) in sizes.items()}


def parameters(recipe: Recipe) -> int:
    """Parameters of the stand-in at this shape (GPT-2: tied embeddings, learned positions)."""
    d, v, p = recipe.d_model, recipe.vocab_size, recipe.n_positions
    return v * d + p * d + recipe.n_layer * (12 * d * d + 13 * d) + 2 * d


def group_score(eval_dir: Path, role: str) -> float:
    return read_json(eval_dir / "results.json")["groups"][role]["weighted_f1"]


def designs(recipe: Recipe) -> list[Design]:
    return [REPLAY_ONLY, aligned_replay(recipe.replay_share)]


def variants(exp: Experiment) -> dict[str, Recipe]:
    return size_recipes(exp.recipe, exp.cfg.quick)


def sweep(exp: Experiment, recipes: dict[str, Recipe]) -> tuple[dict[str, Recipe], list[dict]]:
    """Each size's learning rate chosen on valid (seed 0): {size: recipe}, and the sweep's rows."""
    from ..experiment.loop import plan  # torch: loaded when the study runs, not when the CLI starts

    cfg, console = exp.cfg, exp.console
    jobs, evals = [], {}
    for label, recipe in recipes.items():
        for factor in lr_factors(cfg.quick):
            r = replace(recipe, stage_lr=recipe.stage_lr * factor)
            js, evals[(label, factor)] = plan(exp, r, 0, split="valid", label=f"{label} lr x{factor:g}")
            if factor != lr_factors(cfg.quick)[0]:
                js = [j for j in js if j.name != f"eval {BASE}"]  # one base per size, evaluated once
            jobs += prefixed(js, f"{label} lr x{factor:g}")
    console.rule(f"learning-rate sweep on valid (seed 0): {len(jobs)} jobs to run")
    run_jobs(jobs, cfg.jobs, runs_folder(cfg, "sweep-logs"), console)
    rows, chosen = [], {}
    for label, recipe in recipes.items():
        scores = {}
        for factor in lr_factors(cfg.quick):
            e = evals[(label, factor)]
            scores[factor] = group_score(e[ALIGNED], "L2")
            rows.append(
                {
                    "size": label,
                    "lr": recipe.stage_lr * factor,
                    "L2 aligned+replay": scores[factor],
                    "L2 control": group_score(e[CONTROL], "L2"),
                    "L1 aligned+replay": group_score(e[ALIGNED], "L1"),
                }
            )
        best = max(lr_factors(cfg.quick), key=lambda f: scores[f])
        chosen[label] = replace(recipe, stage_lr=recipe.stage_lr * best)
    return chosen, rows


def announce(exp: Experiment, recipes: dict[str, Recipe]) -> str:
    cfg, recipe = exp.cfg, exp.recipe
    plan, factors = designs(recipe), lr_factors(cfg.quick)
    minutes = sum(
        estimate_minutes(r, len(plan) * len(factors), 1 + len(plan) * len(factors), 1, cfg.jobs)
        + estimate_minutes(r, len(plan), 1 + len(plan), cfg.seeds, cfg.jobs)
        for r in recipes.values()
    )
    return (
        "study scale: sizes "
        f"{', '.join(f'{k} ({parameters(r) / 1e6:.2f}M parameters)' for k, r in recipes.items())}; learning "
        f"rate x{', x'.join(f'{f:g}' for f in factors)} of {recipe.stage_lr:g} swept on valid (seed 0), then "
        f"control vs aligned+replay on {cfg.split} x {cfg.seeds} seed(s); {minutes_words(minutes)} on a "
        "2-core CPU if nothing is cached"
    )


def findings(exp: Experiment, results: Results) -> dict:
    """Each size's report in OUTPUT/size-<size>/, then the table across sizes, its figure and its notes."""
    cfg, sweep_rows = exp.cfg, exp.swept
    for label, report in results.reports.items():
        write_report(report, exp.output / f"size-{label}")
    chosen = results.recipes
    rows = scale_rows(chosen, results.reports, results.eval_dirs)
    write_outputs(cfg, exp.recipe, rows, sweep_rows, exp.seconds())
    record = {"study": "scale", "seeds": cfg.seeds, "quick": cfg.quick, "split": cfg.split, "rows": rows}
    record |= {"sweep": sweep_rows, "recipes": {k: asdict(r) for k, r in chosen.items()}}
    record |= {"minutes": exp.seconds() / 60}
    write_json(exp.output / "study_summary.json", record)
    for line in notes(cfg, rows, sweep_rows, record["minutes"] * 60)[1:]:
        exp.console.print(line.replace("**", ""))
    return record


def scale_rows(chosen: dict, reports: dict, eval_dirs: dict) -> list[dict]:
    """Per size: parameters, chosen lr, and the group changes with their intervals; the per-seed L2 gains."""
    rows = []
    for label, r in chosen.items():
        groups = {g["role"]: g for g in reports[label]["groups"]}
        per_seed = [
            group_score(Path(a), "L2") - group_score(Path(c), "L2")
            for a, c in zip(eval_dirs[label][ALIGNED], eval_dirs[label][CONTROL])
        ]
        rows.append(
            {
                "size": label,
                "parameters": parameters(r),
                "lr": r.stage_lr,
                "L2 vs control": groups["L2"].get(f"{ALIGNED} vs {CONTROL}"),
                "L1 vs base": groups["L1"].get(f"{ALIGNED} vs {BASE}"),
                "L2 control vs base": groups["L2"].get(f"{CONTROL} vs {BASE}"),
                "L2 gain per seed": per_seed,
            }
        )
    return rows


def trend(rows: list[dict]) -> dict:
    """Largest minus smallest size's L2 gain over the control, paired by seed (Student-t, 95%)."""
    diffs = np.subtract(rows[-1]["L2 gain per seed"], rows[0]["L2 gain per seed"])
    lo, hi = t_interval(diffs) if len(diffs) >= 2 else (float("nan"), float("nan"))
    return {
        "delta": float(diffs.mean()),
        "lo": lo,
        "hi": hi,
        "method": "Student-t over seeds",
        "n": len(diffs),
    }


def notes(cfg: StudyConfig, rows: list[dict], sweep_rows: list[dict], seconds: float) -> list[str]:
    header = [
        "size",
        "parameters",
        "lr (chosen on valid)",
        "L2: aligned+replay − control",
        "L1: aligned+replay − base",
        "L2: control − base",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["size"], f"{r['parameters'] / 1e6:.2f}M", f"{r['lr']:g}"]
        cells += [
            fmt_delta(r[k]) if r[k] else "—" for k in ("L2 vs control", "L1 vs base", "L2 control vs base")
        ]
        lines.append("| " + " | ".join(cells) + " |")
    sweep_lines = [
        "| size | lr | L2 aligned+replay | L2 control | L1 aligned+replay |",
        "|---|---|---|---|---|",
    ]
    for s in sweep_rows:
        sweep_lines.append(
            f"| {s['size']} | {s['lr']:g} | {100 * s['L2 aligned+replay']:.1f} | {100 * s['L2 control']:.1f} "
            f"| {100 * s['L1 aligned+replay']:.1f} |"
        )
    t = trend(rows)
    verdict = against_zero(
        t["lo"],
        t["hi"],
        above="the gain is larger for the largest model (interval above 0)",
        below="the gain is smaller for the largest model (interval below 0)",
        neither="not shown (the interval includes 0)",
        undefined="needs at least 2 seeds for an interval",
    )
    return [
        "Scale study",
        f"**Study scale** ({cfg.seeds} seed(s), {cfg.split} split; weighted F1 x100, 95% "
        f"intervals{'; quick mode: numbers mean little' if cfg.quick else ''}). Each size's learning rate "
        "was chosen on valid first (below); the test comparison uses only that rate.",
        "\n".join(lines),
        "**Does the L2 gain grow with size?** Largest minus smallest size, paired by seed: "
        f"{100 * t['delta']:+.1f} [{100 * t['lo']:+.1f}, {100 * t['hi']:+.1f}] — {verdict}.",
        "**Learning-rate sweep** (valid split, seed 0, weighted F1 x100; the lr with the highest L2 "
        "aligned+replay score is kept):",
        "\n".join(sweep_lines),
        "**What the miniature can tell.** These models know only NusaX text (a few hundred sentences per "
        f"language) and span {rows[0]['parameters'] / 1e6:.2f}M–{rows[-1]['parameters'] / 1e6:.1f}M "
        "parameters; BLOOMZ-560m to 7B differ in multilingual pretraining, not only size, so a trend here "
        "(or its absence) says how the method's gain depends on capacity at fixed data, not what a 7B model "
        f"will gain. Time: {seconds / 60:.1f} min. Figure: scale.png; table: study.csv; each size's report "
        "in size-<size>/report.md.",
    ]


def write_outputs(
    cfg: StudyConfig, recipe: Recipe, rows: list[dict], sweep_rows: list[dict], seconds: float
) -> None:
    out = Path(cfg.output)
    keys = ("L2 vs control", "L1 vs base", "L2 control vs base")
    header = ["size", "parameters", "lr"] + [f"{k} {p}" for k in keys for p in ("delta", "lo", "hi")]
    body = [
        [r["size"], str(r["parameters"]), f"{r['lr']:g}"]
        + [f"{100 * r[k][p]:.2f}" if r[k] else "" for k in keys for p in ("delta", "lo", "hi")]
        for r in rows
    ]
    write_csv(out / "study.csv", header, body)
    write_csv(
        out / "sweep.csv",
        ["size", "lr", "L2 aligned+replay", "L2 control", "L1 aligned+replay"],
        [[s["size"], f"{s['lr']:g}"] + [f"{100 * s[k]:.2f}" for k in list(s)[2:]] for s in sweep_rows],
    )
    image = figure(rows)
    write_atomically(out / "scale.png", image)
    text = notes(cfg, rows, sweep_rows, seconds)
    blocks = [Heading("InstructAlign study: scale", 1), *(Paragraph(t) for t in text[1:]), Image("scale.png")]
    write_atomically(out / "report.md", to_markdown(blocks))
    write_atomically(out / "report.html", to_html(blocks, {"scale.png": image}))


def figure(rows: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for key, label in (
        ("L2 vs control", "L2: aligned+replay − control"),
        ("L1 vs base", "L1: aligned+replay − base"),
    ):
        pts = [(r["parameters"], r[key]) for r in rows if r[key]]
        xs, cs = [p for p, _ in pts], [c for _, c in pts]
        ax.errorbar(xs, [100 * c["delta"] for c in cs], yerr=error_bars(cs), fmt="o-", capsize=3, label=label)
    ax.set_xscale("log")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("parameters")
    ax.set_ylabel("weighted F1 change (x100, 95% CI)")
    ax.set_title("study scale: gain by model size")
    ax.legend(fontsize=8)
    return save(fig, plt)


STUDY = Study(
    name="scale",
    question="is the L2 gain over the control larger for larger models (three sizes)",
    title="InstructAlign scale study: {variant}",
    designs=designs,
    findings=findings,
    variants=variants,
    sweep=sweep,
    announce=announce,
    user_model=False,
)
