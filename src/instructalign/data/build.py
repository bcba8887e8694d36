"""`instructalign data build`: bitext -> alignment instructions (+ replay) -> train.jsonl + manifest.json.

Reads top to bottom: check the settings, open the inputs, stream pairs through the objectives into a
temporary folder (chunks of pairs over worker processes, written in input order), sample and interleave
replay rows, write the manifest, then rename the folder into place. Same inputs and seed give byte-identical
files, whatever the number of workers: each pair draws from its own seeded stream.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from ..config import BuildConfig
from ..errors import UserError
from ..languages import resolve_list
from ..options import validate
from ..outputs import check_output, mark_owner, owned_output, replaced_folder
from .bitext import columns_in_words, read_bitext
from .chunks import chunk_examples, chunk_tasks, count_example, dumps, ordered_map, workers
from .contamination import (
    check_mostly_evaluation,
    check_not_evaluation,
    guarded_files,
    load_exclusions,
    normalize,
    texts_of_file,
    without_evaluation_texts,
)
from .manifest import build_settings, group, make_manifest
from .objectives import OBJECTIVES, ObjectiveContext, Pair
from .prompts import load_template_sets, select
from .replay import mix_positions, read_replay, replay_count_for, reservoir_sample


def parse_weights(weights: dict | str | None) -> dict[str, float]:
    if not weights:
        return {}
    if isinstance(weights, str):
        items = [w.split("=", 1) for w in weights.split(",") if w.strip()]
        if any(len(kv) != 2 for kv in items):
            raise UserError(f"--objective-weights '{weights}': write it as mt=1,tlm=1,xss=0.5")
        weights = {k.strip(): v for k, v in items}
    parsed = {}
    for name, value in weights.items():
        try:
            parsed[name] = float(value)
        except (TypeError, ValueError):
            raise UserError(f"objective weight for '{name}' must be a number, got '{value}'") from None
    return parsed


def check_settings(cfg: BuildConfig) -> tuple[list[str], list[str], list[str], dict[str, float]]:
    """Resolve and validate languages, objectives, weights and counts before any work is done."""
    if not cfg.output:
        raise UserError("no --output folder given")
    validate(cfg)
    inputs = [("--bitext", s) for s in cfg.bitext] + [("--replay", cfg.replay)]
    check_output(Path(cfg.output), inputs + [("--exclude", s) for s in cfg.exclude], replaces=True)
    if not cfg.allow_eval_split:
        check_not_evaluation(cfg.bitext, cfg.split, "--bitext", "--allow-eval-split")
    if not cfg.bitext:
        if cfg.replay and cfg.replay_count:
            check_counts(cfg)
            return [], [], [], {}  # a replay-only mix: the control run of an experiment
        raise UserError(
            "no --bitext given; name a NusaX folder, a CSV/TSV/JSONL file or hf:NAME (or only --replay with "
            "--replay-count)"
        )
    pivots = resolve_list(cfg.pivots, "--pivots")
    targets = resolve_list(cfg.targets, "--targets")
    if not pivots or not targets:
        raise UserError("give at least one language in --pivots and one in --targets")
    both = sorted(set(pivots) & set(targets))
    if both:
        raise UserError(
            f"--pivots and --targets both contain {','.join(both)}; a language can't be aligned with itself"
        )
    objectives = [
        o.strip() for o in (cfg.objectives.split(",") if isinstance(cfg.objectives, str) else cfg.objectives)
    ]
    for name in objectives:
        if name not in OBJECTIVES:
            raise UserError(f"unknown objective '{name}'; choose from {', '.join(OBJECTIVES)}")
    weights = parse_weights(cfg.objective_weights)
    for name, w in weights.items():
        if name not in objectives:
            raise UserError(
                f"--objective-weights names '{name}', which is not in --objectives {','.join(objectives)}"
            )
        if w < 0:
            raise UserError(f"--objective-weights {name}={w}: weights must be >= 0")
    check_counts(cfg)
    return pivots, targets, objectives, weights


def check_counts(cfg: BuildConfig) -> None:
    if cfg.replay_count is not None and cfg.replay_count < 0:
        raise UserError(f"--replay-count {cfg.replay_count}: must be >= 0")
    if cfg.replay_ratio is not None and not 0 <= cfg.replay_ratio < 1:
        raise UserError(f"--replay-ratio {cfg.replay_ratio}: must be in [0, 1)")
    if cfg.replay_count is not None and cfg.replay_ratio is not None:
        raise UserError("give --replay-count or --replay-ratio, not both")
    if (cfg.replay_count or cfg.replay_ratio) and not cfg.replay:
        raise UserError("--replay-count/--replay-ratio need --replay PATH")
    if cfg.max_pairs is not None and cfg.max_pairs < 0:
        raise UserError(f"--max-pairs {cfg.max_pairs}: must be >= 0")
    for name in ("mask_rate", "delete_rate"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise UserError(f"{name} {getattr(cfg, name)}: must be between 0 and 1")


def pairs_of(
    rows, pivots: list[str], targets: list[str], excluded: set[str], stats: Counter
) -> Iterator[Pair]:
    """Every (pivot, target) pair in each row, skipping excluded texts (counted in `stats`, as are pairs that
    repeat an earlier one: kept, but said in the manifest)."""
    seen: set[int] = set()  # 8-byte digests of the pairs used
    for row in rows:
        stats["rows"] += 1
        for a in pivots:
            for b in targets:
                if a not in row.texts or b not in row.texts:
                    continue
                if excluded and (normalize(row.texts[a]) in excluded or normalize(row.texts[b]) in excluded):
                    stats["pairs_excluded"] += 1
                    continue
                stats["pairs_used"] += 1
                digest = pair_digest(a, row.texts[a], b, row.texts[b])
                stats["pairs_duplicate"] += digest in seen
                seen.add(digest)
                yield Pair(a, row.texts[a], b, row.texts[b])


def pair_digest(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=8).digest(), "big")


def write_alignment(
    cfg, pivots, targets, objectives, weights, excluded, out_path: Path
) -> tuple[Counter, Counter]:
    """Stream every pair through the objectives into `out_path` (in chunks, over `cfg.workers` processes, in
    input order); return example counts and pair stats."""
    template_sets = load_template_sets(cfg.templates)
    prompt_langs = resolve_prompt_langs(cfg.prompt_langs)
    ctx = ObjectiveContext(
        templates={name: select(template_sets, name, prompt_langs) for name in objectives},
        mask_rate=cfg.mask_rate,
        delete_rate=cfg.delete_rate,
        permute_window=cfg.permute_window,
        xss_negatives=cfg.xss_negatives,
    )
    counts: Counter = Counter()
    stats: Counter = Counter()
    rows = (row for spec in cfg.bitext for row in read_bitext(spec, cfg.split))
    pairs = pairs_of(rows, pivots, targets, excluded, stats)
    pairs = pairs if cfg.max_pairs is None else islice(pairs, cfg.max_pairs)
    tasks = chunk_tasks(pairs, ctx, objectives, weights, cfg.seed)
    with open(out_path, "wb") as f:
        for text, chunk_counts in ordered_map(chunk_examples, tasks, workers(cfg.workers)):
            f.write(text)
            counts.update(chunk_counts)
    if "xss" in objectives:
        no_words = {ts.answers["no"] for ts, _ in ctx.templates["xss"]}
        stats["xss_negatives"] = sum(counts[f"xss_answer:{word}"] for word in no_words)
    if not cfg.allow_eval_split:
        check_mostly_evaluation(stats, f"--bitext {' '.join(cfg.bitext)}", "--allow-eval-split")
    seen = {code for key in group(counts, "pair") for code in key.split("-")}
    missing = [code for code in pivots + targets if code not in seen]
    if missing and cfg.max_pairs is not None and stats["pairs_used"] >= cfg.max_pairs:
        raise UserError(
            f"--max-pairs {cfg.max_pairs}: the first {cfg.max_pairs} pairs of --bitext hold none for "
            f"{','.join(missing)}; raise --max-pairs (in a demo or study recipe: stage_steps) so every "
            "language gets a pair"
        )
    if stats["pairs_used"] == 0 or missing:
        columns = "; ".join(filter(None, map(columns_in_words, cfg.bitext)))
        raise UserError(
            f"language(s) {','.join(missing or pivots + targets)} not found with a partner in --bitext "
            f"{' '.join(cfg.bitext)}; check --pivots/--targets against the file's languages"
            + (f" ({columns})" if columns else "")
        )
    return counts, stats


def resolve_prompt_langs(value) -> list[str]:
    langs = [p.strip() for p in (value.split(",") if isinstance(value, str) else value) if p.strip()]
    if not langs:
        raise UserError("--prompt-langs is empty; use en, id or both")
    return langs


def write_mix(
    align_path: Path, replay_rows: list[dict], out_path: Path, rng: random.Random, counts: Counter
) -> None:
    """Interleave replay rows at uniformly random positions among the alignment examples."""
    n_align = counts["source:align"]
    slots = mix_positions(n_align, len(replay_rows), rng)
    replay_iter = iter(replay_rows)
    with open(align_path, encoding="utf-8") as src, open(out_path, "w", encoding="utf-8") as out:
        for i in range(n_align + len(replay_rows)):
            if i in slots:
                ex = next(replay_iter)
                out.write(dumps(ex) + "\n")
                count_example(counts, ex)
            else:
                out.write(src.readline())


def oversampled(cfg: BuildConfig, rows: list[dict], wanted: int) -> list[dict]:
    """`wanted` rows from fewer: each repeated ⌊wanted/n⌋ or one more times (seeded), or a one-line refusal
    with --no-oversample."""
    asked = f"--replay-ratio {cfg.replay_ratio:g}" if cfg.replay_count is None else f"--replay-count {wanted}"
    if not cfg.oversample:
        raise UserError(
            f"{cfg.replay}: {len(rows):,} replay rows (after the evaluation-text guard), and {asked} asks "
            f"for {wanted:,}; give more replay data, ask for fewer, or drop --no-oversample to repeat them"
        )
    repeated = [rows[i % len(rows)] for i in range(wanted)]
    random.Random(f"{cfg.seed}:oversample").shuffle(repeated)
    return repeated


def build(cfg: BuildConfig) -> dict:
    """Build the training mix described by `cfg`; return the manifest (also written next to train.jsonl)."""
    pivots, targets, objectives, weights = check_settings(cfg)
    output = Path(cfg.output)
    excluded, exclude_files = load_exclusions(cfg.exclude)
    guard_files = [] if cfg.allow_eval_split else guarded_files(cfg.bitext, cfg.split)
    for path in guard_files:
        excluded |= texts_of_file(path)
    if cfg.replay and not cfg.replay.startswith("hf:") and not Path(cfg.replay).is_file():
        raise UserError(f"{cfg.replay}: replay file not found; check --replay")

    settings = build_settings(cfg)
    with owned_output(output, "data build", settings, cfg.overwrite), replaced_folder(output) as tmp:
        if cfg.bitext:
            counts, stats = write_alignment(
                cfg, pivots, targets, objectives, weights, excluded, tmp / "align.jsonl"
            )
        else:  # a replay-only mix
            counts, stats = Counter(), Counter()
            (tmp / "align.jsonl").touch()
        wanted = replay_count_for(counts["source:align"], cfg.replay_count, cfg.replay_ratio)
        replay_rows, available = [], 0
        if cfg.replay and wanted > 0:
            rows = without_evaluation_texts(read_replay(cfg.replay, cfg.replay_split), excluded, stats)
            replay_rows, available = reservoir_sample(rows, wanted, random.Random(f"{cfg.seed}:replay"))
            if available == 0:
                raise UserError(f"{cfg.replay}: replay source has no rows")
            if available < wanted:
                replay_rows = oversampled(cfg, replay_rows, wanted)
        write_mix(
            tmp / "align.jsonl", replay_rows, tmp / "train.jsonl", random.Random(f"{cfg.seed}:mix"), counts
        )
        (tmp / "align.jsonl").unlink()
        manifest = make_manifest(
            cfg, counts, stats, wanted, available, len(replay_rows), exclude_files, guard_files
        )
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8"
        )
        mark_owner(tmp, "data build", settings)
    return manifest
