"""Write the report: tables as markdown and CSV, plots as PNG, and a self-contained report.html."""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..files import write_atomically, write_csv
from .blocks import Block, Caption, Heading, Headline, Image, Paragraph, Table, to_html, to_markdown
from .plots import plots
from .tables import cannot_do_notes, headline, headline_caption, tables


def provenance(report: dict) -> list[str]:
    lines = [f"instructalign {__version__}; task `{report['task']}`; baseline `{report['baseline']}`."]
    for run in report["runs"]:
        for i, (folder, r) in enumerate(zip(run.folders, run.results), 1):
            s = r.get("settings", {})
            v = r.get("versions", {})
            lines.append(
                f"`{run.name}` (seed {i} of {run.seeds}): model `{r.get('model')}`, data `{s.get('data')}`, "
                f"split {r.get('split') or s.get('split') or 'the task default'}, limit {s.get('limit')}, "
                f"prompts {','.join(s.get('prompt_langs') or []) or 'all'}; results `{r['_path']}`; "
                f"transformers {v.get('transformers', '?')}, torch {v.get('torch', '?')}; command: "
                f"`instructalign eval --model {r.get('model')} --task {r.get('task')} --data {s.get('data')}"
                + (f" --split {s['split']}" if s.get("split") else "")
                + (f" --limit {s['limit']}" if s.get("limit") else "")
                + f" --output {folder}`"
            )
    return lines


INTERVALS = (
    '"t, n=3 seeds": a Student-t interval on the per-seed paired differences (df = n − 1; with 2 seeds the '
    'multiplier is 12.7, so the interval is very wide). "boot": one seed per run, a paired bootstrap over '
    "test "
    'sentences; "shared ids": the languages are translations of the same sentences and each resample draws '
    "one set of sentence ids for every language, template and run. The interval method and n of each cell "
    "are in the continual-learning and verdict tables."
)


def sections(report: dict, t: dict, notes: list[str], images: dict[str, bytes]) -> list[Block]:
    """The report as blocks, rendered to markdown and HTML alike: the answer first (one table, its caption,
    the figure), then the notes, the tests, the tables and the provenance."""
    blocks: list[Block] = [Heading(report["title"], 1)]
    if report["groups"]:
        blocks += [Headline(*headline(report)), Caption(headline_caption(report))]
        blocks += [Paragraph(note) for note in cannot_do_notes(report)]
        blocks.append(Image("groups.png"))
    blocks += roles_note(report)
    blocks += [Paragraph(note) for note in notes]
    blocks += (
        verdict_blocks(report, t) + table_blocks(report, t, images) + similarity_blocks(report, t, images)
    )
    if report["dropped_languages"]:
        dropped = "; ".join(f"{k}: {', '.join(v)}" for k, v in report["dropped_languages"].items())
        blocks.append(Paragraph(f"Languages not evaluated in every run were left out: {dropped}"))
    return blocks + [Heading("Provenance")] + [Paragraph(line) for line in provenance(report)]


def roles_note(report: dict) -> list[Block]:
    """Where the language groups came from when no --roles named them, or why there are none."""
    if not report["roles"]:
        return [Paragraph(NO_ROLES)]
    if report.get("roles_from", "--roles") == "--roles":
        return []
    groups = "; ".join(f"{role} = {', '.join(langs)}" for role, langs in report["roles"].items())
    return [Paragraph(f"Language groups ({groups}) from {report['roles_from']}; `--roles` sets others.")]


NO_ROLES = (
    "**No language groups**: no `--roles` was given and no evaluation recorded any (eval records them for a "
    "model this project trained, from its data's pivots and targets), so the group means, verdicts and "
    "continual-learning rows are empty; give `--roles 'L1=eng,ind;L2=jav,sun;L3=mad'`."
)


def verdict_blocks(report: dict, t: dict) -> list[Block]:
    return [
        Heading("Verdicts"),
        Paragraph(
            "The paper's claims as stated tests on the group means (weighted F1 points). **L1 kept**: "
            f"non-inferiority versus the base with a margin of {report['margin']:g} points — the lower bound "
            "of (run − base) must lie above −margin. **Forgetting**: the interval of (run − base) on L1 "
            "lies below 0. **L2 gain** and **L3 transfer**: the interval of (run − control) lies above 0 "
            "(versus the base "
            'when there is no control). "Not shown" means the interval does not decide; it is not evidence '
            "of the opposite."
        ),
        Table(*t["verdicts"]),
    ]


def table_blocks(report: dict, t: dict, images: dict[str, bytes]) -> list[Block]:
    """Group means, continual-learning metrics, the probe curves, per language, per template."""
    blocks = [
        Heading("Group means (weighted F1 x100)"),
        Paragraph(
            "These are the primary results. Mean ± standard deviation over seeds; Δ is the change versus "
            "the reference with its 95% interval in brackets. " + INTERVALS
        ),
        Table(*t["groups"]),
        Heading("Continual-learning metrics"),
        Paragraph(
            "Versus the base: backward transfer (BWT, Lopez-Paz & Ranzato, 2017) is the change on L1, the "
            "languages the model already knew — negative values mean forgetting; forward gain is the change "
            "on L2, the languages aligned in training; zero-shot transfer is the change on L3, related "
            "languages never seen in training. Versus the control the rows are plain differences."
        ),
        Table(*t["continual_learning"]),
        *while_training(report),
        Heading("Per language (weighted F1 x100)"),
        Paragraph(
            "Per-language intervals are unadjusted (no correction for testing many languages): read them as "
            "descriptive; the group rows above are the primary results."
        ),
        Image("per_language.png"),
        Table(*t["per_language"]),
    ]
    if "delta_heatmap.png" in images:
        blocks.append(Image("delta_heatmap.png"))
    return blocks + [
        Heading("Prompt templates"),
        Paragraph("Mean and spread of weighted F1 over prompt templates."),
        Table(*t["templates"]),
    ]


def similarity_blocks(report: dict, t: dict, images: dict[str, bytes]) -> list[Block]:
    """Similarity to the L2 languages against the L3 gain, or why it was not computed."""
    sim = report["similarity"]
    blocks: list[Block] = [Heading("Language similarity and transfer")]
    if sim["status"] == "skipped":
        return blocks + [Paragraph(f"Not computed: {sim['reason']}.")]
    if sim["status"] == "not enough data":
        blocks.append(Paragraph(f"**Not enough data:** {sim['reason']}."))
    elif sim["status"] == "few languages":
        blocks.append(Paragraph(f"**Few languages:** {sim['reason']}."))
    if "similarity" in t:
        blocks.append(
            Paragraph(
                f"Similarity: symmetric chrF between translations of the same sentences in `{sim['source']}` "
                "(training split), averaged over the L2 (or L1) languages."
            )
        )
        blocks.append(Table(*t["similarity"]))
        blocks += [Paragraph(correlation_words(name, c)) for name, c in sim["correlations"].items()]
    if "similarity_vs_gain.png" in images:
        blocks.append(Image("similarity_vs_gain.png"))
    return blocks


def correlation_words(name: str, c: dict | None) -> str:
    if not c:
        return f"`{name}`: correlation undefined (fewer than 3 languages or no spread)."
    interval = (
        f" [{c['r_lo']:.2f}, {c['r_hi']:.2f}] (95%, Fisher z)"
        if c["r_lo"] == c["r_lo"]
        else " (no interval: n < 4)"
    )
    return (
        f"`{name}`: Pearson r = {c['r']:.2f}{interval}, p = {c['p']:.3f}; Spearman ρ = {c['rho']:.2f} (p = "
        f"{c['p_rho']:.3f}); n = {c['n']} L3 languages, between similarity to L2 and L3 gain."
    )


def while_training(report: dict) -> list[Block]:
    """The runs' probe curves (`train --monitor`), when their trainings kept any."""
    if not report.get("curves"):
        return []
    seeds = ", ".join(f"{name}: {len(h)}" for name, h in report["curves"].items())
    return [
        Heading("While training"),
        Paragraph(
            "Each group's weighted F1 on the probe of `train --monitor` (a small sample of the valid split, "
            "scored every few steps) against the training step: each seed a thin line, their mean a thick "
            f"one (seeds with a probe history — {seeds}). The probe is not the evaluation above: it shows "
            "when a change happened, the tables say how large it is."
        ),
        Image("training_curves.png"),
    ]


def write_report(report: dict, out: str | Path, notes: list[str] | None = None) -> None:
    """report.md, report.html, one CSV per table and the PNG plots, each written atomically; `notes`: the
    paragraphs after the answer (default: the report's own, from `report --notes`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(report)
    t = tables(report)
    blocks = sections(report, t, report["notes"] if notes is None else notes, images)
    for name, data in images.items():
        write_atomically(out / name, data)
    for name, (header, rows) in t.items():
        write_csv(out / f"{name}.csv", header, rows)
    write_atomically(out / "report.md", to_markdown(blocks))
    write_atomically(out / "report.html", to_html(blocks, images))
