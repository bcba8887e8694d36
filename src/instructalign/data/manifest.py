"""The manifest of a built folder: counts per objective, language pair, direction and source, the settings,
and the sha256 of every input, so that a folder says what made it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .. import __version__
from ..config import BuildConfig, as_dict
from ..files import sha256_file
from .bitext import bitext_files


def group(counts: Counter, prefix: str) -> dict[str, int]:
    return {k[len(prefix) + 1 :]: v for k, v in sorted(counts.items()) if k.startswith(prefix + ":")}


def input_record(path: Path, role: str) -> dict:
    return {"role": role, "path": str(path), "sha256": sha256_file(path)}


def build_settings(cfg: BuildConfig) -> dict:
    """What decides the output's content: every setting but where it goes and how many processes make it."""
    return {k: v for k, v in as_dict(cfg).items() if k not in ("output", "overwrite", "workers")}


def make_manifest(cfg, counts, stats, wanted, available, used, exclude_files, guard_files) -> dict:
    inputs = [
        input_record(p, "bitext") for spec in cfg.bitext for p in bitext_files(spec, cfg.split) if p.is_file()
    ]
    inputs += [
        {"role": "bitext", "path": spec, "sha256": None}
        for spec in cfg.bitext
        if spec.startswith("hf:") and not bitext_files(spec, cfg.split)
    ]
    if cfg.replay:
        replay_path = Path(cfg.replay)
        inputs.append(
            input_record(replay_path, "replay")
            if replay_path.is_file()
            else {"role": "replay", "path": cfg.replay, "sha256": None}
        )
    inputs += [input_record(p, "exclude") for p in exclude_files]
    inputs += [input_record(p, "exclude (automatic: test split of the NusaX folder)") for p in guard_files]
    settings = build_settings(cfg)
    return {
        "package": "instructalign",
        "version": __version__,
        "seed": cfg.seed,
        "settings": settings,
        "inputs": inputs,
        "counts": {
            "total": counts["source:align"] + counts["source:replay"],
            "by_source": group(counts, "source"),
            "by_objective": group(counts, "objective"),
            "by_language_pair": group(counts, "pair"),
            "by_direction": group(counts, "direction"),
            "xss_answers": group(counts, "xss_answer"),
            "xss_negatives": stats["xss_negatives"],
        },
        "pairs": {
            "rows_read": stats["rows"],
            "used": stats["pairs_used"],
            "duplicates": stats["pairs_duplicate"],
            "excluded_as_evaluation_text": stats["pairs_excluded"],
        },
        "replay": {
            "requested": wanted,
            "available": available,
            "used": used,
            "repeat_factor": round(used / available, 3) if used > available > 0 else 1.0,
            "excluded_as_evaluation_text": stats["replay_excluded"],
        },
    }
