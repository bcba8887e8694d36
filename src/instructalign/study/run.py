"""`instructalign study NAME`: one of the paper's studies on the demo's stand-in, as one resumable command.

Each seed reuses the demo's cached base; every continual run lives in a folder named by a hash of its
settings, so a rerun (or a resumed, interrupted study) reuses the finished runs and evaluations. The runs
and evaluations of a seed go through the demo's worker pool; one `report` compares them all.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .. import __version__
from ..config import DemoRecipe, MergeConfig, StudyConfig
from ..demo.base import base_model, stage_config
from ..demo.data import align_source, aligned_mix, control_mix, replay_pool
from ..demo.jobs import Job, run_jobs
from ..demo.recipe import BASELINE as BASE
from ..demo.run import check_demo, compare_runs, evaluate_model
from ..errors import UserError
from ..files import check_writable, files_digest, write_json
from ..merge import merge
from ..outputs import mark_owner, owned_output
from ..report import write_report
from ..report.tables import fmt_delta
from ..train import train
from .designs import LORA_LR_FACTOR, Design, designs, run_names
from .findings import estimate_minutes, findings, study_table, write_study_outputs
from .scale import run_scale
from .transfer import (
    EXTRA_TASKS,
    ROLES,
    check_transfer,
    correlations,
    evaluate_tasks,
    extra_prompts,
    task_folders,
    tasks_dir,
    transfer_notes,
    transfer_points,
    write_transfer_outputs,
)


def runs_root(cfg: StudyConfig, seed: int) -> Path:
    return Path(cfg.runs or Path(cfg.output) / "runs") / f"seed{seed}"


def run_settings(cfg: StudyConfig, recipe: DemoRecipe, design: Design, seed: int) -> list:
    """What a run trains: the parts of its folder's name hash."""
    settings = [design.objectives, design.replay_share, design.lora]
    key_parts = [__version__, settings, asdict(recipe), seed, cfg.align_data]
    if cfg.base_model:  # the stand-in's runs keep their names; a user's model is part of the key
        key_parts += [cfg.base_model, cfg.replay_data]
    return key_parts


def run_folder(cfg: StudyConfig, recipe: DemoRecipe, design: Design, seed: int) -> Path:
    """The run's folder, named by what it trains (not by the design's name, so that studies share runs)."""
    key = json.dumps(run_settings(cfg, recipe, design, seed), sort_keys=True)
    what = "+".join(design.objectives) or "replay"
    slug = f"{what}-r{design.replay_share:g}{'-lora' if design.lora else ''}"
    return runs_root(cfg, seed) / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


RECORD = "run.json"  # in a run folder: what trained it and the hash of the weights it left


def run_record(cfg: StudyConfig, recipe: DemoRecipe, design: Design, seed: int, base) -> dict:
    return json.loads(json.dumps({"settings": run_settings(cfg, recipe, design, seed), "base": str(base)}))


def weights_digest(model: Path) -> str:
    return files_digest(sorted(model.glob("*.safetensors")) + sorted(model.glob("*.bin")))


def train_run(stage, folder: Path, record: dict) -> None:
    """Train a study run, then record what trained it and the weights it left (`is_trained` checks both)."""
    train(stage)
    write_json(folder / RECORD, record | {"weights": weights_digest(folder / "model" / "final")})


def is_trained(folder: Path, record: dict) -> bool:
    """Whether `folder` holds this run, trained; a folder holding anything else is refused in one line."""
    model = folder / "model"
    if not ((model / "final" / "config.json").is_file() and (model / "train_summary.json").is_file()):
        return False
    saved = folder / RECORD
    try:
        found = json.loads(saved.read_text("utf-8"))
    except (OSError, ValueError):
        found = adopt_earlier_run(folder, record)
    if not isinstance(found, dict) or {k: found.get(k) for k in record} != record:
        raise UserError(
            f"{folder}: holds a model that this study did not train with these settings ({RECORD} missing or "
            "different); remove the folder (or choose another --runs) and rerun"
        )
    if found.get("weights") != weights_digest(model / "final"):
        raise UserError(
            f"{folder}: its weights changed since they were trained (the hash in {RECORD} differs); "
            "remove the folder and rerun"
        )
    return True


def adopt_earlier_run(folder: Path, record: dict) -> dict | None:
    """A run trained before run records existed is reused when its own train_config.json says it started
    from this base on this folder's data; its record is then written."""
    try:
        trained = json.loads((folder / "model" / "train_config.json").read_text("utf-8"))["settings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if trained.get("model") != record["base"] or trained.get("data") != str(folder / "data"):
        return None
    found = record | {"weights": weights_digest(folder / "model" / "final")}
    write_json(folder / RECORD, found)
    return found


def train_job(
    cfg, recipe, design: Design, base: str | Path, base_data: Path, nusax: Path, seed: int, folder: Path
) -> Job:
    """Build the run's mix now and return the job that trains it."""
    bitext, split = align_source(cfg, nusax)
    pool = folder.parent / f"replay_pool-{recipe.stage_steps * recipe.batch_size}.jsonl"
    if not pool.is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        replay_pool(base_data, recipe.stage_steps * recipe.batch_size, pool)
    if design.objectives:
        args = (bitext, split, pool, recipe, seed, design.objectives, design.replay_share, folder / "data")
        mix = aligned_mix(*args)
    else:
        mix = control_mix(pool, recipe, seed, folder / "data")
    stage = stage_config(recipe, str(base), mix, folder / "model", recipe.stage_steps, recipe.stage_lr, seed)
    if design.lora:
        stage = replace(stage, lora=True, lr=recipe.stage_lr * LORA_LR_FACTOR)
    record = run_record(cfg, recipe, design, seed, base)
    return Job(f"train {design.name}", train_run, (stage, folder, record))


def merged(base: str | Path, tuned: Path, alpha: float, out: Path) -> None:
    merge(MergeConfig(base=str(base), tuned=str(tuned), alpha=alpha, output=str(out), overwrite=True))


def seed_jobs(
    cfg: StudyConfig, recipe: DemoRecipe, plan: list[Design], nusax: Path, seed: int, console, folders
):
    """The seed's training, merging and evaluation jobs (finished ones left out) and every eval folder."""
    if cfg.base_model:
        base, base_data = cfg.base_model, Path(cfg.replay_data)
        base_dir = runs_root(cfg, seed) / f"base-{hashlib.sha256(cfg.base_model.encode()).hexdigest()[:10]}"
    else:
        base, base_data = base_model(nusax, recipe, seed, console)
        base_dir = runs_root(cfg, seed) / base.parent.name
    eval_name = f"eval-{cfg.split}-{recipe.eval_limit or 'all'}"
    jobs, evals = [], {BASE: base_dir / eval_name}
    jobs += eval_jobs(cfg, recipe, BASE, base, None, evals[BASE], nusax, folders)
    for design in plan:
        folder = run_folder(cfg, recipe, design, seed)
        trained = None
        if not is_trained(folder, run_record(cfg, recipe, design, seed, base)):
            jobs.append(train_job(cfg, recipe, design, base, base_data, nusax, seed, folder))
            trained = jobs[-1].name
        for name, _, alpha in run_names(cfg.study, [design]):
            model, after = folder / "model" / "final", trained
            if alpha is not None:
                model = folder / f"merged-{alpha:g}"
                if not (model / "config.json").is_file():
                    jobs.append(
                        Job(f"merge {name}", merged, (base, folder / "model" / "final", alpha, model), after)
                    )
                    after = jobs[-1].name
            evals[name] = folder / f"{eval_name}{'' if alpha is None else f'-{alpha:g}'}"
            jobs += eval_jobs(cfg, recipe, name, model, after, evals[name], nusax, folders)
    return jobs, evals


def eval_jobs(cfg, recipe, name: str, model: Path, after, out: Path, nusax: Path, folders) -> list[Job]:
    """A model's NusaX evaluation, and for the transfer study its SIB-200 + NusaWrites one (unless done)."""
    jobs = []
    if not (out / "results.json").is_file():
        jobs.append(Job(f"eval {name}", evaluate_model, (model, nusax, recipe, cfg.split, out), after))
    extra = tasks_dir(out)
    if folders and not all((extra / t / "results.json").is_file() for t in EXTRA_TASKS):
        jobs.append(
            Job(f"eval tasks {name}", evaluate_tasks, (model, folders, recipe, cfg.split, extra), after)
        )
    return jobs


def run_study(cfg: StudyConfig, recipe: DemoRecipe, console: Console | None = None) -> dict:
    """The study, its output folder (and shared --runs folder) checked first and locked while it runs."""
    console = console or Console()
    check_user_model(cfg)
    if cfg.runs:
        check_writable(Path(cfg.runs), "--runs")
    nusax = check_demo(cfg, recipe)
    out = Path(cfg.output)
    with owned_output(out, "study", None, cfg.overwrite):
        out.mkdir(parents=True, exist_ok=True)
        mark_owner(out, "study", None)
        if cfg.study == "scale":
            return run_scale(cfg, recipe, console, seed_jobs)
        return run_plan(cfg, recipe, nusax, console)


def run_plan(cfg: StudyConfig, recipe: DemoRecipe, nusax: Path, console: Console) -> dict:
    """Every seed's jobs, then the report, the study's table and its findings."""
    plan = designs(cfg.study, recipe.replay_share)
    names = [BASE] + [name for name, _, _ in run_names(cfg.study, plan)]
    extra = extra_prompts(recipe) if cfg.study == "transfer" else 0
    minutes = estimate_minutes(recipe, len(plan), len(names), cfg.seeds, cfg.jobs, extra)
    console.print(
        f"study {cfg.study}: {len(plan)} continual runs ({', '.join(d.name for d in plan)}), "
        f"{len(names)} models to evaluate (the base included), "
        f"x {cfg.seeds} seed(s); about {minutes:.0f} min on a 2-core CPU if nothing is cached"
    )
    folders = task_folders(cfg, nusax) if cfg.study == "transfer" else None
    texts = check_transfer(folders, recipe, cfg.split) if folders else None
    start, eval_dirs = time.perf_counter(), {name: [] for name in names}
    for seed in range(cfg.seeds):
        jobs, evals = seed_jobs(cfg, recipe, plan, nusax, seed, console, folders)
        console.rule(f"seed {seed}: {len(jobs)} jobs to run")
        run_jobs(jobs, cfg.jobs, runs_root(cfg, seed) / "logs", console)
        for name in names:
            eval_dirs[name].append(str(evals[name]))
    report = compare_runs(eval_dirs, f"InstructAlign study: {cfg.study}", Path(cfg.output))
    rows = study_table(report, run_names(cfg.study, plan))
    report["notes"] = findings(cfg, recipe, report, rows, time.perf_counter() - start)
    if folders:
        report["notes"] += transfer_findings(cfg, report, eval_dirs, folders, texts)
    write_report(report, cfg.output)
    write_study_outputs(cfg, report, rows)
    record = {"study": cfg.study, "seeds": cfg.seeds, "quick": cfg.quick, "split": cfg.split, "rows": rows}
    record |= {"recipe": asdict(recipe), "minutes": (time.perf_counter() - start) / 60}
    write_json(Path(cfg.output) / "study_summary.json", record)
    console.print(results_table(cfg.study, rows))
    for note in report["notes"][2:]:
        console.print(note.replace("**", ""))
    return record


def check_user_model(cfg: StudyConfig) -> None:
    """A user's base model needs its replay data, and the scale study builds its own stand-ins."""
    if not cfg.base_model:
        return
    if cfg.study == "scale":
        raise UserError("study scale builds the stand-in at three sizes; drop --base-model")
    if not cfg.replay_data:
        raise UserError(
            "--base-model needs --replay-data: the model's earlier instruction data (JSONL or a data build folder)"
        )
    data = Path(cfg.replay_data)
    if not (data.is_file() or (data / "train.jsonl").is_file()):
        raise UserError(f"{data}: no such JSONL file or data build folder (train.jsonl); check --replay-data")


def transfer_findings(
    cfg: StudyConfig, report: dict, eval_dirs: dict, folders: dict, texts: dict
) -> list[str]:
    """Each extra task's report in OUTPUT/<task>/, then the pooled unseen-language analysis and its figure."""
    reports = {"nusax_senti": report}
    for task in EXTRA_TASKS:
        dirs = {
            name: [str(tasks_dir(Path(d)) / task) for d in seed_dirs] for name, seed_dirs in eval_dirs.items()
        }
        out = Path(cfg.output) / task
        reports[task] = compare_runs(dirs, f"InstructAlign transfer study: {task}", out, roles=ROLES[task])
        write_report(reports[task], out)
    points = transfer_points(reports, folders, texts)
    corr = correlations(points)
    write_transfer_outputs(Path(cfg.output), points, corr)
    return transfer_notes(points, corr, reports, cfg.seeds)


def results_table(study: str, rows: list[dict]) -> Table:
    table = Table(title=f"study {study}: weighted F1 change x100 [95% interval]", title_justify="left")
    for column in ("run", "L1 vs base", "L2 vs control", "L3 vs control"):
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=True)
    for r in rows:
        cells = [
            fmt_delta(r[k], tag=False) if r[k] else "—"
            for k in ("L1 vs base", "L2 vs control", "L3 vs control")
        ]
        table.add_row(r["run"], *cells)
    return table
