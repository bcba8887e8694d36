"""The report's figures (matplotlib, Agg): grouped bars, change heatmap, similarity-vs-gain scatter -> PNG
bytes."""

from __future__ import annotations

import io

from ..monitor_history import group_scores


def plots(report: dict) -> dict[str, bytes]:
    """PNG bytes of: grouped bars per language, change heatmap, similarity-vs-gain scatter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs, rows = report["runs"], report["per_language"]
    images = {}
    if report["groups"]:
        images["groups.png"] = group_bars(report, plt, np)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(rows) + 2), 4.5))
    width = 0.8 / len(runs)
    x = np.arange(len(rows))
    for i, run in enumerate(runs):
        means = [100 * r[run.name][0] for r in rows]
        errs = [100 * r[run.name][1] if run.seeds > 1 else 0 for r in rows]
        ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=errs, label=run.name, capsize=2)
    ax.set_xticks(x, [f"{r['name']} · {r['role']}" for r in rows], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("weighted F1 (x100)")
    ax.set_title(f"{report['task']}: weighted F1 per language")
    ax.legend(fontsize=8)
    images["per_language.png"] = save(fig, plt)

    base, others = report["baseline"], [r.name for r in runs if r.name != report["baseline"]]
    if others:
        grid = np.array([[100 * r[f"{name} vs {base}"]["delta"] for r in rows] for name in others])
        fig, ax = plt.subplots(figsize=(max(8, 0.8 * len(rows) + 2), 1.2 + 0.6 * len(others)))
        lim = max(1.0, float(np.nanmax(np.abs(grid))))
        im = ax.imshow(grid, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(others)), others, fontsize=8)
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7)
        fig.colorbar(im, ax=ax, label=f"Δ weighted F1 vs {base}")
        ax.set_title(f"Change versus {base}")
        images["delta_heatmap.png"] = save(fig, plt)

    if report.get("curves"):
        images["training_curves.png"] = run_curves(
            report["curves"], "While training: the probe of train --monitor"
        )
    sim = report["similarity"]
    if sim.get("points") and len(sim["points"]) >= 2:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        xs = np.array([p["sim_L2"] for p in sim["points"]])
        for name in others:
            ys = np.array([100 * p[f"gain {name}"] for p in sim["points"]])
            ax.scatter(xs, ys, label=name)
            if len(set(xs)) > 1:
                slope, intercept = np.polyfit(xs, ys, 1)
                grid_x = np.linspace(xs.min(), xs.max(), 20)
                corr = sim["correlations"].get(name)
                label = f"fit {name}" + (f" (r={corr['r']:.2f}, p={corr['p']:.2f})" if corr else "")
                ax.plot(grid_x, slope * grid_x + intercept, linestyle="--", label=label)
        for p in sim["points"]:
            ax.annotate(p["name"], (p["sim_L2"], 100 * p[f"gain {others[0]}"]), fontsize=8)
        ax.set_xlabel("similarity to the L2 languages (chrF between translations)")
        ax.set_ylabel(f"L3 gain vs {base} (weighted F1 x100)")
        ax.set_title("Language similarity and zero-shot transfer")
        ax.legend(fontsize=7)
        images["similarity_vs_gain.png"] = save(fig, plt)
    return images


def group_bars(report: dict, plt, np) -> bytes:
    """The headline figure: each group's mean per run, error bars the sd over seeds."""
    runs, groups = report["runs"], report["groups"]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.8 / len(runs)
    x = np.arange(len(groups))
    for i, run in enumerate(runs):
        means = [100 * g[run.name][0] for g in groups]
        errs = [100 * g[run.name][1] if run.seeds > 1 else 0 for g in groups]
        bars = ax.bar(x + i * width - 0.4 + width / 2, means, width, yerr=errs, label=run.name, capsize=2)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xticks(x, [f"{g['role']} ({len(g['languages'])} lang.)" for g in groups])
    ax.set_ylabel("weighted F1 (x100)")
    ax.set_title(f"{report['task']}: group means")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save(fig, plt)


def run_curves(histories: dict[str, list[list[dict]]], title: str) -> bytes:
    """One panel per group (L1, L2, L3): each run's seeds as thin lines and their mean (over the seeds probed
    at a step) as a thick one, weighted F1 x100 against the training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = {run: [group_scores(h) for h in seeds] for run, seeds in histories.items()}
    groups = list(
        dict.fromkeys(g for seeds in scored.values() for s in seeds for at in s.values() for g in at)
    )
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), squeeze=False, sharey=True)
    for ax, group in zip(axes[0], groups):
        for i, (run, seeds) in enumerate(scored.items()):
            color = f"C{i}"
            for seed in seeds:
                points = sorted((s, g[group]) for s, g in seed.items() if group in g)
                ax.plot([s for s, _ in points], [100 * v for _, v in points], color=color, alpha=0.35, lw=0.8)
            steps = sorted({s for seed in seeds for s, g in seed.items() if group in g})
            means = [
                sum(v := [100 * seed[s][group] for seed in seeds if group in seed.get(s, {})]) / len(v)
                for s in steps
            ]
            ax.plot(
                steps, means, color=color, lw=2.2, label=f"{run} ({len(seeds)} seed{'s' * (len(seeds) > 1)})"
            )
        ax.set_title(group)
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel("weighted F1 (x100), probe")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save(fig, plt)


def save(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
