"""The history `train --monitor` writes (OUT/monitor.csv: step, task, language, group, weighted F1, seconds)
and its curves: written and drawn at the end of training (OUT/monitor.png), drawn again by `report` for
every run whose training folder holds one (seeds as thin lines, their mean thick). No torch here."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .files import write_atomically

COLUMNS = ("step", "task", "language", "group", "weighted_f1", "seconds")


def group_scores(history: list[dict]) -> dict[int, dict[str, float]]:
    """step -> group -> mean weighted F1 over the probe's tasks."""
    sums: dict[int, dict[str, list[float]]] = {}
    for r in history:
        if not r["language"] and r["group"]:
            sums.setdefault(r["step"], {}).setdefault(r["group"], []).append(r["weighted_f1"])
    return {s: {g: sum(v) / len(v) for g, v in groups.items()} for s, groups in sums.items()}


def curves(history: list[dict]) -> bytes:
    """monitor.png: each group's weighted F1 (x100, mean over the probe's tasks) against the step."""
    return run_curves({"this run": [history]}, "train --monitor: each group while training")


def run_curves(histories: dict[str, list[list[dict]]], title: str) -> bytes:
    """One panel per group (L1, L2, L3): each run's seeds as thin lines and their mean (over the seeds probed
    at a step) as a thick one, weighted F1 x100 against the training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report.plots import save

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
            means = [sum(v := [100 * seed[s][group] for seed in seeds if group in seed.get(s, {})]) / len(v)
                     for s in steps]  # fmt: skip
            ax.plot(
                steps, means, color=color, lw=2.2, label=f"{run} ({len(seeds)} seed{'s' * (len(seeds) > 1)})"
            )
        ax.set_title(group)
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel("weighted F1 (x100), probe")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save(fig, plt)


def run_histories(models: list) -> list[list[dict]]:
    """The monitor histories of the trainings that wrote these models (a `train` output's final/ or best/),
    for those that have one."""
    out = []
    for model in models:
        folder = Path(model) if isinstance(model, str) else None
        if (
            folder is not None
            and folder.name in ("final", "best")
            and (history := read_history(folder.parent))
        ):
            out.append(history)
    return out


def read_history(out: Path) -> list[dict]:
    path = out / "monitor.csv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [{"step": int(r["step"]), "task": r["task"], "language": r["language"], "group": r["group"],
                 "weighted_f1": float(r["weighted_f1"]), "seconds": float(r["seconds"])} for r in csv.DictReader(f)]  # fmt: skip


def write_history(out: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomically(out / "monitor.csv", buffer.getvalue())
