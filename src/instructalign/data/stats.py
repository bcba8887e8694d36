"""`instructalign data stats DIR`: the manifest of a built folder as readable tables."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..files import read_json


def read_manifest(folder: str) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise UserError(f"{path}: not found; give a folder written by 'instructalign data build'")
    return read_json(path, what="manifest")


def count_table(title: str, counts: dict[str, int], total: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("examples", justify="right")
    table.add_column("share", justify="right")
    for key, n in counts.items():
        table.add_row(key, f"{n:,}", f"{100 * n / max(total, 1):.1f}%")
    return table


def print_stats(folder: str, console: Console | None = None) -> dict:
    manifest = read_manifest(folder)
    try:
        return show_stats(folder, manifest, console or Console())
    except (KeyError, TypeError, AttributeError):
        raise UserError(
            f"{Path(folder) / 'manifest.json'}: not a manifest that 'instructalign data build' wrote "
            "(damaged?); rebuild the folder"
        ) from None


def show_stats(folder: str, manifest: dict, console: Console) -> dict:
    counts = manifest["counts"]
    total = counts["total"]
    console.print(
        f"[bold]{folder}[/bold]: {total:,} examples, seed {manifest['seed']}, instructalign "
        f"{manifest['version']}"
    )
    for key in ("by_source", "by_objective", "by_language_pair", "xss_answers"):
        if counts.get(key):
            console.print(count_table(key.replace("_", " "), counts[key], sum(counts[key].values())))
    pairs, replay = manifest["pairs"], manifest["replay"]
    console.print(
        f"pairs used {pairs['used']:,}, dropped as evaluation text {pairs['excluded_as_evaluation_text']:,}; "
        f"replay rows used {replay['used']:,} of {replay['requested']:,} requested ({replay['available']:,} "
        "available)"
    )
    inputs = Table(title="inputs", title_justify="left")
    for col in ("role", "path", "sha256"):
        inputs.add_column(col)
    for rec in manifest["inputs"]:
        if not rec["role"].startswith("exclude"):
            inputs.add_row(rec["role"], rec["path"], (rec["sha256"] or "-")[:16])
    console.print(inputs)
    n_exclude = sum(rec["role"].startswith("exclude") for rec in manifest["inputs"])
    if n_exclude:
        console.print(f"{n_exclude} evaluation file(s) guarded against (see manifest.json)")
    return manifest
