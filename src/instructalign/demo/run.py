"""`instructalign demo`: the whole method end to end, offline, on NusaX and a small stand-in for BLOOMZ.

1. A base model that plays BLOOMZ's part (`base.py`), cached between runs.
2. Three continual-tuning runs of the same length from that base: aligned+replay (MT+TLM+XSS over 7 L2
   languages, half of every batch replayed), aligned-no-replay, and replay-only (the control).
3. NusaX sentiment on all 12 languages for the four models, and `instructalign report` over them.

Every stage goes through the package's own `data build`, `train`, `eval` and `report` functions.
"""

from __future__ import annotations

import resource
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from ..config import DemoConfig, DemoRecipe, EvalConfig, ReportConfig
from ..errors import UserError
from ..evaluate.run import evaluate
from ..evaluate.tasks import load_examples, load_task
from ..files import cache_dir, check_writable, write_json
from ..options import validate
from ..outputs import check_output, mark_owner, owned_output
from ..report import make_report, write_report
from ..train import train
from .base import base_model, stage_config
from .data import align_source, resolve_data, stage_mixes
from .jobs import Job, run_jobs
from .recipe import BASELINE, CONTROL, ROLES, RUNS
from .summary import print_summary, summary


def recipe_eval_config(recipe: DemoRecipe, model: Path, split: str, **fields) -> EvalConfig:
    """An evaluation with the recipe's prompts, sentence limit, batch and precision (`fields` name the rest)."""
    return EvalConfig(
        model=str(model),
        split=split,
        prompt_langs=list(recipe.eval_prompt_langs),
        limit=recipe.eval_limit,
        batch_size=64,
        precision=recipe.eval_precision,
        overwrite=True,  # the experiment owns its run folders
        **fields,
    )


def evaluate_model(model: Path, nusax: Path, recipe: DemoRecipe, split: str, out: Path) -> Path:
    config = recipe_eval_config(
        recipe, model, split, task="nusax_senti", data=str(nusax), roles=ROLES, output=str(out)
    )
    evaluate(config, console=Console(quiet=True))
    return out


def run_seed(
    nusax: Path, cfg: DemoConfig, recipe: DemoRecipe, seed: int, console, timings, job_seconds
) -> dict:
    """One seed: base model, the three continual runs, and the four evaluations -> eval folder per run."""
    t0 = time.perf_counter()
    base, base_data = base_model(nusax, recipe, seed, console)
    timings[f"base seed {seed}"] = time.perf_counter() - t0
    work = Path(cfg.output) / "runs" / f"seed{seed}"
    t0 = time.perf_counter()
    bitext, split = align_source(cfg, nusax)
    mixes = stage_mixes(bitext, split, base_data, recipe, seed, work / "data")
    console.rule(
        f"seed {seed}: {len(mixes)} continual runs of {recipe.stage_steps} steps ({cfg.align_data} alignment), "
        f"then {len(RUNS)} evaluations on {cfg.split}"
    )
    models, jobs = {BASELINE: base}, []
    for name, mix in mixes.items():
        shutil.rmtree(work / name, ignore_errors=True)
        stage = stage_config(
            recipe,
            str(base),
            mix,
            work / name,
            recipe.stage_steps,
            recipe.stage_lr,
            seed,
            recipe.stage_loss_on_prompt,
        )
        jobs.append(Job(f"train {name}", train, (stage,)))
        models[name] = work / name / "final"
    evals = {name: work / "eval" / name for name in RUNS}
    for name in RUNS:
        args = (models[name], nusax, recipe, cfg.split, evals[name])
        jobs.append(
            Job(f"eval {name}", evaluate_model, args, after=None if name == BASELINE else f"train {name}")
        )
    job_seconds[f"seed {seed}"] = run_jobs(jobs, cfg.jobs, work / "logs", console)
    timings[f"runs and evals seed {seed}"] = time.perf_counter() - t0
    for name in RUNS[1:]:
        for ckpt in (work / name).glob("checkpoint-*"):
            shutil.rmtree(ckpt)  # the final model is kept; checkpoints only served resumption
    return {name: str(folder) for name, folder in evals.items()}


def compare_runs(
    eval_dirs: dict[str, list[str]], title: str, out: Path, similarity_data=None, roles: str = ROLES
) -> dict:
    """The report over every run's eval folders (one per seed), against the base and the replay-only control."""
    return make_report(
        ReportConfig(
            run=[f"{name}={','.join(folders)}" for name, folders in eval_dirs.items()],
            baseline=BASELINE,
            control=CONTROL,
            roles=roles,
            similarity_data=similarity_data,
            title=title,
            output=str(out),
            overwrite=True,  # the experiment owns its report folders
        )
    )


def check_demo(cfg: DemoConfig, recipe: DemoRecipe) -> Path:
    """Every stage's settings and inputs, before the base model trains: the NusaX folder and its files,
    the recipe (types, ranges, a head count that divides the width), the output folder, the split."""
    validate(cfg)
    validate(recipe)
    if recipe.d_model % recipe.n_head:
        raise UserError(f"demo recipe: n_head {recipe.n_head} must divide d_model {recipe.d_model}")
    if not 0 <= recipe.replay_share < 1:
        raise UserError(f"demo recipe: replay_share {recipe.replay_share} must be in [0, 1)")
    nusax = resolve_data(cfg.data)
    task = load_task("nusax_senti")
    task.data["split"] = cfg.split
    for lang in task.languages:
        load_examples(task, str(nusax), lang, recipe.eval_limit)
    for name in ("english", "indonesian"):
        if not (nusax / "sentiment" / name / "train.csv").is_file():
            raise UserError(
                f"{nusax}: no sentiment/{name}/train.csv (the base model's L1 data); check --data"
            )
    align_source(cfg, nusax)
    check_writable(cache_dir(), "$INSTRUCTALIGN_CACHE (the cache of base models)")
    check_output(Path(cfg.output), [("--data", str(nusax)), ("--sib200", cfg.sib200)])
    return nusax


def run_demo(cfg: DemoConfig, recipe: DemoRecipe, console: Console | None = None) -> dict:
    """The demo, its output folder checked first and locked while it runs."""
    console = console or Console()
    nusax = check_demo(cfg, recipe)
    out = Path(cfg.output)
    with owned_output(out, "demo", None, cfg.overwrite):
        out.mkdir(parents=True, exist_ok=True)
        mark_owner(out, "demo", None)
        return demo_seeds(cfg, recipe, nusax, out, console)


def demo_seeds(cfg: DemoConfig, recipe: DemoRecipe, nusax: Path, out: Path, console: Console) -> dict:
    """Every seed's base, runs and evaluations, then the report and demo_summary.json."""
    timings: dict[str, float] = {}
    job_seconds: dict[str, dict[str, float]] = {}
    eval_dirs: dict[str, list[str]] = {name: [] for name in RUNS}
    start = time.perf_counter()
    for seed in range(cfg.seeds):
        for name, folder in run_seed(nusax, cfg, recipe, seed, console, timings, job_seconds).items():
            eval_dirs[name].append(folder)
    t0 = time.perf_counter()
    title = "InstructAlign demo: teaching 7 Indonesian languages to a small model"
    report = compare_runs(eval_dirs, title, out, similarity_data=str(nusax))
    timings["report"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    report["notes"] = summary(report, recipe, cfg, timings)
    write_report(report, out)
    record = {
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # Linux: KiB
        "peak_memory_mb_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "seeds": cfg.seeds,
        "quick": cfg.quick,
        "split": cfg.split,
        "recipe": asdict(recipe),
        "align_data": cfg.align_data,
        "jobs": cfg.jobs,
        "timings_seconds": timings,
        "job_seconds": job_seconds,
        "groups": {g["role"]: {r: g[r][0] for r in RUNS} for g in report["groups"]},
    }
    write_json(out / "demo_summary.json", record)
    print_summary(report, timings, out, console)
    return record
