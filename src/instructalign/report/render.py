"""Write the report: tables as markdown and CSV, plots as PNG, and a self-contained report.html."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from pathlib import Path

from .. import __version__
from ..files import write_atomically
from .plots import plots
from .runs import comparisons


def pct(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def mean_pm(ms: tuple[float, float], seeds: int) -> str:
    m, s = ms
    return pct(m) if seeds < 2 or math.isnan(s) else f"{pct(m)} ± {100 * s:.1f}"


def fmt_delta(c: dict) -> str:
    if c is None or math.isnan(c["delta"]):
        return "—"
    text = f"{100 * c['delta']:+.1f}"
    if not math.isnan(c["lo"]):
        text += f" [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}]"
    return text


def delta(c: dict | None) -> str:
    return fmt_delta(c) if c else "—"


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
        ["metric", "run", "vs", "Δ weighted F1", "interval method", "seeds > 0"],
        [
            [
                c["metric"],
                c["run"],
                c["reference"],
                delta(c),
                c["method"] or "—",
                "—" if c["seeds_positive"] is None else f"{c['seeds_positive']}/{seeds[c['run']]}",
            ]
            for c in report["continual_learning"]
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


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def provenance(report: dict) -> list[str]:
    lines = [f"instructalign {__version__}; task `{report['task']}`; baseline `{report['baseline']}`."]
    for run in report["runs"]:
        for i, (folder, r) in enumerate(zip(run.folders, run.results), 1):
            s = r.get("settings", {})
            v = r.get("versions", {})
            lines.append(
                f"`{run.name}` (seed {i} of {run.seeds}): model `{r.get('model')}`, data `{s.get('data')}`, limit {s.get('limit')}, "
                f"prompts {','.join(s.get('prompt_langs') or []) or 'all'}; results `{r['_path']}`; "
                f"transformers {v.get('transformers', '?')}, torch {v.get('torch', '?')}; command: "
                f"`instructalign eval --model {r.get('model')} --task {r.get('task')} --data {s.get('data')} --output {folder}`"
            )
    return lines


def sections(report: dict, t: dict) -> list[tuple[str, object]]:
    """The report as (kind, content) blocks, rendered to markdown and HTML alike."""
    blocks: list[tuple[str, object]] = [("h1", report["title"])]
    for note in report["notes"]:
        blocks.append(("p", note))
    blocks += [
        ("h2", "Group means (weighted F1 x100)"),
        (
            "p",
            "Mean ± standard deviation over seeds; Δ is the change versus the reference with a 95% paired "
            "bootstrap interval in brackets (over seeds when there are several, else over test examples).",
        ),
        ("table", t["groups"]),
        ("h2", "Continual-learning metrics"),
        (
            "p",
            "Backward transfer (BWT) is the change on L1, the languages the model already knew — negative "
            "values mean forgetting. Forward gain is the change on L2, the languages aligned in training. "
            "Zero-shot transfer is the change on L3, related languages never seen in training.",
        ),
        ("table", t["continual_learning"]),
        ("h2", "Per language (weighted F1 x100)"),
        ("img", "per_language.png"),
        ("table", t["per_language"]),
    ]
    if "delta_heatmap.png" in report.get("_images", {}):
        blocks.append(("img", "delta_heatmap.png"))
    blocks += [
        ("h2", "Prompt templates"),
        ("p", "Mean and spread of weighted F1 over prompt templates."),
        ("table", t["templates"]),
    ]
    sim = report["similarity"]
    blocks.append(("h2", "Language similarity and transfer"))
    if sim["status"] == "skipped":
        blocks.append(("p", f"Not computed: {sim['reason']}."))
    else:
        if sim["status"] == "not enough data":
            blocks.append(("p", f"**Not enough data:** {sim['reason']}."))
        elif sim["status"] == "few languages":
            blocks.append(("p", f"**Few languages:** {sim['reason']}."))
        if "similarity" in t:
            blocks.append(
                (
                    "p",
                    f"Similarity: symmetric chrF between translations of the same sentences in `{sim['source']}` "
                    "(training split), averaged over the L2 (or L1) languages.",
                )
            )
            blocks.append(("table", t["similarity"]))
            for name, c in sim["correlations"].items():
                text = (
                    f"`{name}`: Pearson r = {c['r']:.2f} (p = {c['p']:.3f}, n = {c['n']}) between similarity to L2 and L3 gain."
                    if c
                    else f"`{name}`: correlation undefined (fewer than 3 languages or no spread)."
                )
                blocks.append(("p", text))
        if "similarity_vs_gain.png" in report.get("_images", {}):
            blocks.append(("img", "similarity_vs_gain.png"))
    if report["dropped_languages"]:
        blocks.append(
            (
                "p",
                "Languages not evaluated in every run were left out: "
                + "; ".join(f"{k}: {', '.join(v)}" for k, v in report["dropped_languages"].items()),
            )
        )
    blocks.append(("h2", "Provenance"))
    blocks += [("p", line) for line in provenance(report)]
    return blocks


def to_markdown(blocks) -> str:
    out = []
    for kind, content in blocks:
        if kind == "h1":
            out.append(f"# {content}")
        elif kind == "h2":
            out.append(f"## {content}")
        elif kind == "p":
            out.append(str(content))
        elif kind == "table":
            out.append(markdown_table(*content))
        elif kind == "img":
            out.append(f"![{content}]({content})")
    return "\n\n".join(out) + "\n"


CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}img{max-width:100%}code{background:#f6f6f6}"
)


def inline_markup(text: str) -> str:
    import re

    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def to_html(blocks, images: dict[str, bytes]) -> str:
    parts = []
    for kind, content in blocks:
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{html.escape(str(content))}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{inline_markup(str(content))}</p>")
        elif kind == "table":
            parts.append(html_table(*content))
        elif kind == "img":
            data = base64.b64encode(images[content]).decode()
            parts.append(f'<p><img alt="{html.escape(content)}" src="data:image/png;base64,{data}"></p>')
    title = html.escape(blocks[0][1])
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    write_atomically(path, buf.getvalue())


def write_report(report: dict, out: str | Path) -> None:
    """report.md, report.html, one CSV per table and the PNG plots, each written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images = plots(report)
    report["_images"] = images
    t = tables(report)
    blocks = sections(report, t)
    for name, data in images.items():
        write_atomically(out / name, data)
    for name, (header, rows) in t.items():
        write_csv(out / f"{name}.csv", header, rows)
    write_atomically(out / "report.md", to_markdown(blocks))
    write_atomically(out / "report.html", to_html(blocks, images))
