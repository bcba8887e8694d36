"""`instructalign study transfer`: do gains on unseen languages track their similarity to the aligned ones?

The base, the replay-only control and aligned+replay are evaluated on three tasks (NusaX sentiment, SIB-200
topics, NusaWrites sentiment). Every unseen (L3) language of every task becomes one point: its gain
(aligned+replay against the control, and against the base) and its similarity to the seven L2 languages.
The points are pooled across tasks for one correlation with a 95% interval; the languages unrelated to the
L2 set (SIB-200's French, German, Swahili, Yoruba, Vietnamese) are shown as a contrast, outside the fit.

Similarity is measured two ways (report/similarity.py): character-trigram profile cosine from each
language's train-split text of the three tasks (every point has it: the pooled correlation uses it), and
chrF between translations where parallel text exists (NusaX mt/train, SIB-200 train), as a check.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from rich.console import Console

from ..config import DemoRecipe, StudyConfig
from ..demo.data import sib200_folder
from ..demo.recipe import L2
from ..demo.recipe import ROLES as NUSAX_ROLES
from ..demo.run import recipe_eval_config
from ..errors import UserError
from ..evaluate.run import evaluate
from ..evaluate.tasks import load_examples, load_task
from ..files import write_atomically
from ..languages import LANGUAGES
from ..report.render import write_csv
from ..report.similarity import language_similarity, monolingual_similarity
from ..report.stats import correlation
from .findings import against_zero, error_bars

ALIGNED, CONTROL, BASE = "aligned+replay", "replay-only", "base"
EXTRA_TASKS = ("sib200", "nusawrites_senti")
ROLES = {
    "nusax_senti": NUSAX_ROLES,
    "sib200": "L1=eng,ind;L2=jav,sun,min,bjn,ban,ace,bug;L3=zsm,tgl,ceb,ilo,war,pag,plt,mri,smo,fij;"
    "contrast=fra,deu,swh,yor,vie",
    "nusawrites_senti": "L2=jav,min,sun;L3=abs,bew,bhp,btk,mad,mak,mui,rej",
}


def task_folders(cfg: StudyConfig, nusax: Path) -> dict[str, Path]:
    """Each task's data folder: NusaX (--data), SIB-200 (--sib200) and NusaWrites (--nusawrites), the latter
    two found beside NusaX when not given."""
    nusawrites = next(
        (
            Path(c)
            for c in (
                cfg.nusawrites,
                os.environ.get("INSTRUCTALIGN_NUSAWRITES"),
                str(nusax.parent / "nusawrites"),
            )
            if c and any(Path(c).glob("nusa_kalimat-senti-*-test.csv"))
        ),
        None,
    )
    if nusawrites is None:
        where = cfg.nusawrites or nusax.parent / "nusawrites"
        raise UserError(
            f"{where}: not a NusaWrites folder (nusa_kalimat-senti-<lang>-test.csv); pass --nusawrites PATH"
        )
    return {"nusax_senti": nusax, "sib200": sib200_folder(cfg, nusax), "nusawrites_senti": nusawrites}


def check_transfer(folders: dict[str, Path], recipe: DemoRecipe, split: str) -> dict[str, list[str]]:
    """Every evaluated file read and checked before any training; returns each language's train-split text
    (all tasks pooled), from which the monolingual similarity is computed."""
    texts: dict[str, list[str]] = {}
    for name, folder in folders.items():
        task = load_task(name)
        for lang in task.languages:
            task.data["split"] = split
            load_examples(task, str(folder), lang, recipe.eval_limit)
            task.data["split"] = "train"
            texts.setdefault(lang, []).extend(str(r["text"]) for r in load_examples(task, str(folder), lang))
    return texts


# SIB-200 costs ~5x NusaWrites per prompt for the stand-in (7 labels of several tokens each; FLORES sentences
# in languages its tokenizer never saw run long), so the study reads 56 of its 204 test sentences per
# language (8 per topic, spread over the file); NusaWrites gets the recipe's eval_limit.
SIB200_LIMIT = 56


def tasks_dir(eval_dir: Path) -> Path:
    """Where a model's SIB-200 and NusaWrites results live, beside its NusaX results."""
    return eval_dir.with_name(f"{eval_dir.name}-tasks-sib{SIB200_LIMIT}")


def evaluate_tasks(model: Path, folders: dict[str, Path], recipe: DemoRecipe, split: str, out: Path) -> Path:
    """SIB-200 and NusaWrites in one evaluation (the model loaded once, each task with its sentence limit):
    out/<task>/results.json."""
    sib_limit = min(recipe.eval_limit or SIB200_LIMIT, SIB200_LIMIT)
    tasks = ("sib200", "nusawrites_senti")
    data = ",".join(f"{task}={folders[task]}" for task in tasks)
    config = recipe_eval_config(recipe, model, split, task=",".join(tasks), data=data, output=str(out))
    evaluate(config, console=Console(quiet=True), limits={"sib200": sib_limit})
    return out


def extra_prompts(recipe: DemoRecipe) -> int:
    """Prompts of one model's SIB-200 + NusaWrites evaluation (x5 for SIB-200's longer, multi-token prompts)."""
    per = 3 * len(recipe.eval_prompt_langs)
    limit = recipe.eval_limit or 500
    return per * (5 * 24 * min(limit, SIB200_LIMIT) + 11 * min(limit, 500))


def transfer_points(
    reports: dict[str, dict], folders: dict[str, Path], texts: dict[str, list[str]]
) -> list[dict]:
    """One point per (task, unseen or contrast language): its gains and its similarity to the L2 set."""
    points = []
    for name, report in reports.items():
        rows = {r["lang"]: r for r in report["per_language"]}
        unseen = [(lang, role) for role in ("L3", "contrast") for lang in report["roles"].get(role, [])]
        langs = [lang for lang, _ in unseen]
        mono = monolingual_similarity(texts, langs, L2)
        parallel = {}
        if name in ("nusax_senti", "sib200"):
            split = "train"
            parallel = language_similarity(str(folders[name]), langs, L2, split)
        for lang, role in unseen:
            row = rows[lang]
            points.append(
                {
                    "task": name,
                    "lang": lang,
                    "name": LANGUAGES[lang].name_en,
                    "role": role,
                    "sim_mono": float(np.mean([mono[(lang, o)] for o in L2 if (lang, o) in mono])),
                    "sim_chrf": mean_or_nan([parallel[(lang, o)] for o in L2 if (lang, o) in parallel]),
                    "gain_control": row[f"{ALIGNED} vs {CONTROL}"],
                    "gain_base": row[f"{ALIGNED} vs {BASE}"],
                }
            )
    return points


def mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def correlations(points: list[dict]) -> dict:
    """Pooled L3 correlations of gain with similarity: Pearson with its Fisher-z 95% interval, Spearman, n,
    for each gain and measure; within-task ones too; and the two measures' agreement. (A percentile
    bootstrap over languages covered only ~91% at n = 20 in simulation, so it is not offered.)"""
    l3 = [p for p in points if p["role"] == "L3"]
    out = {}
    for gain in ("gain_control", "gain_base"):
        for sim in ("sim_mono", "sim_chrf"):
            pts = [p for p in l3 if not math.isnan(p[sim])]
            xs, ys = [p[sim] for p in pts], [100 * p[gain]["delta"] for p in pts]
            out[f"{gain} ~ {sim}"] = correlation(xs, ys)
        for task in dict.fromkeys(p["task"] for p in l3):
            pts = [p for p in l3 if p["task"] == task]
            out[f"{gain} ~ sim_mono, {task}"] = correlation(
                [p["sim_mono"] for p in pts], [100 * p[gain]["delta"] for p in pts]
            )
    both = [p for p in points if not math.isnan(p["sim_chrf"])]
    out["sim_mono ~ sim_chrf"] = correlation([p["sim_mono"] for p in both], [p["sim_chrf"] for p in both])
    return out


def r_text(c: dict | None) -> str:
    if c is None:
        return "undefined (fewer than 3 points or no spread)"
    interval = "" if math.isnan(c["r_lo"]) else f" [{c['r_lo']:+.2f}, {c['r_hi']:+.2f}] (95%, Fisher z)"
    return f"r = {c['r']:+.2f}{interval}, p = {c['p']:.2f}; Spearman ρ = {c['rho']:+.2f} (p = {c['p_rho']:.2f}); n = {c['n']}"


def group_table(reports: dict[str, dict]) -> str:
    """Per task and language group: aligned+replay against the control and the base, the control against the base."""
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


def transfer_notes(points: list[dict], corr: dict, reports: dict[str, dict], seeds: int) -> list[str]:
    main = corr.get("gain_control ~ sim_mono")
    n_l3 = sum(p["role"] == "L3" for p in points)
    contrast = [100 * p["gain_control"]["delta"] for p in points if p["role"] == "contrast"]
    l3_gain = [100 * p["gain_control"]["delta"] for p in points if p["role"] == "L3"]
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
        "Per task and group:",
        group_table(reports),
        f"**Pooled unseen languages** (n = {n_l3} task-language points: NusaX, NusaWrites and SIB-200 L3). "
        f"L3 gain of {ALIGNED} over the control: mean {np.mean(l3_gain):+.1f} (range {min(l3_gain):+.1f} to "
        f"{max(l3_gain):+.1f}); the unrelated contrast languages: mean "
        f"{np.mean(contrast) if contrast else float('nan'):+.1f}.",
        f"**Gain over the control against similarity to L2 (trigram-profile cosine, the measure every point has):** "
        f"{r_text(main)}. The paper's claim (Pearson ≈ 0.96): {verdict}.",
        f"Against the base instead: {r_text(corr.get('gain_base ~ sim_mono'))}. With chrF on parallel text "
        f"(NusaX and SIB-200 points only): {r_text(corr.get('gain_control ~ sim_chrf'))}. The two similarity "
        f"measures agree: {r_text(corr.get('sim_mono ~ sim_chrf'))}.",
        "Within each task (trigram cosine, gain over the control): "
        + "; ".join(
            f"{k.split(', ')[1]}: {r_text(v)}"
            for k, v in corr.items()
            if k.startswith("gain_control ~ sim_mono, ")
        )
        + ".",
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

    from ..report.plots import save

    fig, ax = plt.subplots(figsize=(7.5, 5))
    markers = {"nusax_senti": "o", "sib200": "s", "nusawrites_senti": "^"}
    for task, marker in markers.items():
        for role in ("L3", "contrast"):
            pts = [p for p in points if p["task"] == task and p["role"] == role]
            if not pts:
                continue
            g = [p["gain_control"] for p in pts]
            ax.errorbar([p["sim_mono"] for p in pts], [100 * x["delta"] for x in g], yerr=error_bars(g), fmt=marker,
                        mfc="none" if role == "contrast" else None, capsize=2, alpha=0.8,
                        label=f"{task} {'L3' if role == 'L3' else 'unrelated (contrast)'}")  # fmt: skip
            for p in pts:
                ax.annotate(p["lang"], (p["sim_mono"], 100 * p["gain_control"]["delta"]), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
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
