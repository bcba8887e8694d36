"""The experiment loop: a `Study` becomes, for each seed, a base, trained runs, merges and evaluations
spread over worker processes (finished ones reused), then one report per variant and the study's findings.

Each seed reuses the cached stand-in base (or the user's --base-model); every continual run lives in a folder
named by a hash of what it trains (`runs.py`), so a rerun, a resumed run or another study reuses it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import fields, replace
from math import ceil
from pathlib import Path

from rich.console import Console

from ..config import MergeConfig, Recipe, StudyConfig, TrainConfig
from ..errors import UserError
from ..evaluate.spec import load_examples
from ..evaluate.tasks import load_task
from ..files import cache_dir, check_writable
from ..merge import merge
from ..options import validate
from ..outputs import check_output, mark_owner, owned_output
from .base import base_model, stage_config
from .design import LORA_LR_FACTOR, Design, evaluated
from .estimate import estimate_minutes, minutes_words
from .evaluation import compare_runs, evaluate_model
from .jobs import Job, prefixed, run_jobs
from .mixes import aligned_mix, control_mix, replay_pool
from .recipe import BASE, ROLES
from .runs import is_trained, prepared_train_run, run_folder, run_record, runs_root, train_run
from .sources import align_source, resolve_data, sib200_folder
from .study import Experiment, Results, Study


def run_experiment(study: Study, cfg: StudyConfig, recipe: Recipe, console: Console | None = None) -> dict:
    """The study, every input checked first and its output folder locked while it runs; its summary record."""
    console = console or Console()
    check_user_model(study, cfg)
    check_designs(study, recipe)
    if cfg.runs:
        check_writable(Path(cfg.runs), "--runs")
    exp = Experiment(study, cfg, recipe, check_inputs(cfg, recipe), console)
    exp.prepared = study.prepare(exp) if study.prepare else None
    with owned_output(exp.output, study.command, None, cfg.overwrite):
        exp.output.mkdir(parents=True, exist_ok=True)
        mark_owner(exp.output, study.command, None)
        return run_seeds(exp)


def run_seeds(exp: Experiment) -> dict:
    """Every seed's jobs over every variant, then the reports and the study's findings."""
    study, cfg = exp.study, exp.cfg
    variants = study.variants(exp) if study.variants else {"": exp.recipe}
    exp.console.print(study.announce(exp, variants) if study.announce else announce(exp))
    if study.sweep:
        variants, exp.swept = study.sweep(exp, variants)
    entries = evaluated(study.designs(exp.recipe))
    names = [BASE] + [name for name, _, _ in entries]
    eval_dirs = {label: {name: [] for name in names} for label in variants}
    for seed in range(cfg.seeds):
        jobs = []
        for label, recipe in variants.items():
            js, evals = plan(exp, recipe, seed, label=label)  # the base, then the mixes
            jobs += prefixed(js, label)
            for name in names:
                eval_dirs[label][name].append(str(evals[name]))
        t0 = time.perf_counter()  # "runs and evals": the jobs, the bases timed apart
        exp.console.rule(f"seed {seed}: {len(jobs)} jobs to run")
        exp.job_seconds[f"seed {seed}"] = run_jobs(jobs, cfg.jobs, runs_root(cfg, seed) / "logs", exp.console)
        exp.timings[f"runs and evals seed {seed}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    similarity = str(exp.nusax) if study.similarity else None
    reports = {
        label: compare_runs(dirs, study.title.format(variant=label), report_folder(exp, label), similarity)
        for label, dirs in eval_dirs.items()
    }
    exp.timings["report"] = time.perf_counter() - t0
    exp.timings["total"] = exp.seconds()
    return study.findings(exp, Results(reports, eval_dirs, entries, variants))


def report_folder(exp: Experiment, variant: str) -> Path:
    """The main report in OUTPUT; a variant's in OUTPUT/size-<variant>/ (the scale study's sizes)."""
    return exp.output / f"size-{variant}" if variant else exp.output


def announce(exp: Experiment) -> str:
    """The plan and its time estimate, printed before any work."""
    study, recipe, cfg = exp.study, exp.recipe, exp.cfg
    plan = study.designs(recipe)
    n_models = 1 + len(evaluated(plan))
    extra = study.extra_eval.prompts(recipe) if study.extra_eval and exp.prepared is not None else 0
    minutes = estimate_minutes(recipe, len(plan), n_models, cfg.seeds, cfg.jobs, extra)
    who = f"study {study.name}" if study.command == "study" else study.command
    return (
        f"{who}: {len(plan)} continual runs ({', '.join(d.name for d in plan)}), {n_models} models to "
        f"evaluate (the base included), x {cfg.seeds} seed(s); {minutes_words(minutes)} on a 2-core CPU if "
        "nothing is cached"
    )


def plan(
    exp: Experiment, recipe: Recipe, seed: int, split: str | None = None, label: str = ""
) -> tuple[list[Job], dict[str, Path]]:
    """One seed of the study's runs with `recipe`: the training, merging and evaluation jobs (finished ones
    left out) and every model's eval folder. `run_experiment` runs one per seed and variant; a study's sweep
    runs its own (other recipes, the valid split) with `jobs.run_jobs`."""
    cfg, split = exp.cfg, split or exp.cfg.split
    t0 = time.perf_counter()
    if cfg.base_model:
        base, base_data = cfg.base_model, Path(cfg.replay_data)
        base_dir = runs_root(cfg, seed) / f"base-{hashlib.sha256(cfg.base_model.encode()).hexdigest()[:10]}"
    else:
        topics = sib200_folder(cfg, exp.nusax) if recipe.base_topics else None
        base, base_data = base_model(exp.nusax, recipe, seed, exp.console, topics)
        base_dir = runs_root(cfg, seed) / base.parent.name
    exp.timings[" ".join(filter(None, ("base", label, f"seed {seed}")))] = time.perf_counter() - t0
    eval_name = f"eval-{split}-{recipe.eval_limit or 'all'}"
    jobs, evals = [], {BASE: base_dir / eval_name}
    jobs += eval_jobs(exp, recipe, split, BASE, base, None, evals[BASE])
    for design in exp.study.designs(recipe):
        folder = run_folder(cfg, recipe, design, seed)
        trained = None
        if not is_trained(folder, run_record(cfg, recipe, design, seed, base)):
            jobs.append(train_job(exp, recipe, design, base, base_data, seed, folder))
            trained = jobs[-1].name
        for name, _, alpha in evaluated([design]):
            model, after = folder / "model" / "final", trained
            if alpha is not None:
                model = folder / f"merged-{alpha:g}"
                if not (model / "config.json").is_file():
                    jobs.append(
                        Job(f"merge {name}", merged, (base, folder / "model" / "final", alpha, model), after)
                    )
                    after = jobs[-1].name
            evals[name] = folder / f"{eval_name}{'' if alpha is None else f'-{alpha:g}'}"
            jobs += eval_jobs(exp, recipe, split, name, model, after, evals[name])
    return jobs, evals


def train_job(
    exp: Experiment, recipe: Recipe, design: Design, base, base_data: Path, seed: int, folder: Path
) -> Job:
    """Build the run's mix now and return the job that trains it."""
    bitext, split = align_source(exp.cfg, exp.nusax)
    pool = pool_for(design, recipe, base, base_data, seed, folder.parent)
    pooled = design.train.get("replay_share") is not None or design.train.get("replay_guard") is not None
    if design.objectives:
        # two pools: a step budget of alignment rows and as many replay rows, sampled at the run's own share
        mix_recipe, share = (
            (replace(recipe, stage_steps=2 * recipe.stage_steps), 0.5)
            if pooled
            else (recipe, design.replay_share)
        )
        args = (bitext, split, pool, mix_recipe, seed, design.objectives, share, folder / "data")
        mix = aligned_mix(*args)
    else:
        mix = control_mix(pool, recipe, seed, folder / "data")
    stage = stage_config(
        recipe,
        str(base),
        mix,
        folder / "model",
        recipe.stage_steps,
        recipe.stage_lr,
        seed,
        recipe.stage_loss_on_prompt,
    )
    if design.lora:
        stage = replace(stage, lora=True, lr=recipe.stage_lr * LORA_LR_FACTOR)
    stage = replace(stage, **design.train)
    if recipe.monitor_every or stage.replay_guard is not None:
        stage = replace(
            stage,
            monitor=True,
            monitor_data=str(exp.nusax),
            monitor_roles=ROLES,
            monitor_every=recipe.monitor_every or 100,
            monitor_limit=recipe.monitor_limit,
        )
    record = run_record(exp.cfg, recipe, design, seed, base)
    # alignment rows (a sentence and its translation or its noised copy) run longer than replay rows
    weight = 1.0 + (1.0 - design.replay_share if design.objectives else 0.0)
    if design.before_train:
        args = (stage, folder, record, design.before_train, exp.nusax, exp.cfg)
        return Job(f"train {design.name}", prepared_train_run, args, weight=weight)
    return Job(f"train {design.name}", train_run, (stage, folder, record), weight=weight)


def pool_for(design: Design, recipe: Recipe, base, base_data: Path, seed: int, runs: Path) -> Path:
    """The replay pool a run draws from, made once per seed's runs folder: the base's instruction data (or
    what the design's replay source writes from the base), repeated to a step budget of rows."""
    needed = recipe.stage_steps * recipe.batch_size
    source, name = base_data, f"replay_pool-{needed}.jsonl"
    if design.replay_source:
        rows = ceil(design.replay_share * needed)  # as many as the mix draws
        what = json.dumps([design.replay_source.key, str(base), rows])  # a base (and its seed) writes its own
        digest = hashlib.sha256(what.encode()).hexdigest()[:10]
        source, name = runs / f"replay_source-{digest}.jsonl", f"replay_pool-{digest}-{needed}.jsonl"
        if not source.is_file():
            runs.mkdir(parents=True, exist_ok=True)
            design.replay_source.make(Path(base), base_data, source, rows, seed)
    pool = runs / name
    if not pool.is_file():
        runs.mkdir(parents=True, exist_ok=True)
        replay_pool(source, needed, pool)
    return pool


def merged(base: str | Path, tuned: Path, alpha: float, out: Path) -> None:
    merge(MergeConfig(base=str(base), tuned=str(tuned), alpha=alpha, output=str(out), overwrite=True))


def eval_jobs(exp: Experiment, recipe: Recipe, split: str, name: str, model, after, out: Path) -> list[Job]:
    """A model's NusaX evaluation, and the study's other tasks (each unless done)."""
    jobs = []
    if not (out / "results.json").is_file():
        jobs.append(Job(f"eval {name}", evaluate_model, (model, exp.nusax, recipe, split, out), after))
    extra = exp.study.extra_eval  # evaluated only where `prepare` read its tasks' data
    if (
        extra
        and exp.prepared is not None
        and not all((extra.folder(out) / t / "results.json").is_file() for t in extra.tasks)
    ):
        args = (model, exp.prepared, recipe, split, extra.folder(out))
        jobs.append(Job(f"eval tasks {name}", extra.run, args, after))
    return jobs


def check_designs(study: Study, recipe: Recipe) -> None:
    """Each run's own train settings name `train` settings, with values of their types and ranges."""
    names = {f.name for f in fields(TrainConfig)}
    for design in study.designs(recipe):
        unknown = sorted(set(design.train) - names)
        if unknown:
            raise UserError(
                f"study {study.name}: run {design.name} sets {', '.join(unknown)}, not a setting of "
                "instructalign train"
            )
        validate(replace(TrainConfig(), **design.train))


def check_user_model(study: Study, cfg: StudyConfig) -> None:
    """A user's base model needs its replay data, and some studies build their own stand-ins."""
    if not cfg.base_model:
        return
    if not study.user_model:
        raise UserError(f"study {study.name} builds its own stand-in models; drop --base-model")
    if not cfg.replay_data:
        raise UserError(
            "--base-model needs --replay-data: the model's earlier instruction data (JSONL or a data build "
            "folder)"
        )
    data = Path(cfg.replay_data)
    if not (data.is_file() or (data / "train.jsonl").is_file()):
        raise UserError(f"{data}: no such JSONL file or data build folder (train.jsonl); check --replay-data")


def check_inputs(cfg: StudyConfig, recipe: Recipe) -> Path:
    """Every stage's settings and inputs, before the base model trains: the NusaX folder and its files,
    the recipe (types, ranges, a head count that divides the width), the output folder, the split."""
    validate(cfg)
    validate(recipe)
    if recipe.d_model % recipe.n_head:
        raise UserError(f"recipe: n_head {recipe.n_head} must divide d_model {recipe.d_model}")
    if not 0 <= recipe.replay_share < 1:
        raise UserError(f"recipe: replay_share {recipe.replay_share} must be in [0, 1)")
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
