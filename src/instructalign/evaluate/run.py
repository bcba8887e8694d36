"""`instructalign eval`: run a task over languages and templates, write results.json + predictions.jsonl.

Reads top to bottom: load the task and the model, score every (language, template) by rank
classification (or generate translations), compute metrics, write the files atomically, print a table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..chat import ChatFormat, chat_format, check_setting, trained_setting
from ..config import EvalConfig, as_dict
from ..errors import UserError
from ..files import read_json, write_atomically, write_json
from ..models import load_model
from ..options import validate
from ..outputs import check_output, mark_owner, owned_output, replaced_folder
from .kinds import KINDS
from .metrics import parse_roles
from .tasks import TaskSpec, load_task, task_name

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def torch_dtype(precision: str) -> torch.dtype:
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return DTYPES[precision]


def check_settings(cfg: EvalConfig, task: TaskSpec, several: bool = False) -> tuple[list[str], list[str]]:
    """The task's languages and prompt languages to run (its kind decides how --langs applies)."""
    if not cfg.model:
        raise UserError("no --model given; name a hub id or a model folder")
    if not cfg.output:
        raise UserError("no --output folder given")
    validate(cfg)
    check_setting(cfg.chat_template)
    prompt_langs = resolve_prompt_langs(cfg.prompt_langs) or list(task.templates)
    for pl in prompt_langs:
        if pl not in task.templates:
            raise UserError(f"task {task.name} has no '{pl}' templates; it has {', '.join(task.templates)}")
    return KINDS[task.kind].languages(task, cfg.langs, several), prompt_langs


def resolve_prompt_langs(value) -> list[str]:
    return [p.strip() for p in (value.split(",") if isinstance(value, str) else value) if p.strip()]


def task_names(value: str) -> list[str]:
    names = [t.strip() for t in str(value).split(",") if t.strip()]
    if not names:
        raise UserError("--task is empty; name a shipped task (e.g. nusax_senti) or a task YAML file")
    if len(set(names)) < len(names):
        raise UserError(f"--task {value}: a task is named twice")
    stems = [task_name(Path(n).stem, f"--task {value}") for n in names]
    clash = sorted({s for s in stems if stems.count(s) > 1})
    if clash:
        raise UserError(
            f"--task {value}: two tasks would both write to OUTPUT/{clash[0]}/; rename one of the task files"
        )
    return names


def data_roots(value: str | None, names: list[str]) -> dict[str, str | None]:
    """--data as one folder for every task, or TASK=PATH pairs (comma-separated), one per task."""
    if not value or "=" not in value:
        return {name: value for name in names}
    roots = {}
    for part in value.split(","):
        name, sep, path = part.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UserError(
                f"--data {value}: '{part}' is not TASK=PATH; give one PATH or TASK=PATH,TASK=PATH"
            )
        roots[name.strip()] = path.strip()
    key = {n: n if n in roots else Path(n).stem for n in names}  # a task file: named by its path or stem
    missing = [n for n in names if key[n] not in roots]
    extra = [k for k in roots if k not in key.values()]
    if missing or extra:
        problem = f"no folder for {', '.join(missing)}" if missing else f"{', '.join(extra)} is not in --task"
        raise UserError(f"--data {value}: {problem}; give TASK=PATH for each task of --task")
    return {n: roots[key[n]] for n in names}


@dataclass
class PreparedTask:
    """A task with its languages, prompt languages and rows, all read and checked before the model loads."""

    task: TaskSpec
    langs: list[str]
    prompt_langs: list[str]
    data: dict | list
    output: Path
    settings: dict  # this task's own run: --task, --data and --limit as they apply to it alone


def prepare(
    cfg: EvalConfig, name: str, root: str | None, output: Path, several: bool, limit: int | None
) -> PreparedTask:
    task = load_task(name, cfg.templates_set)
    if cfg.split:
        task.data["split"] = cfg.split
    langs, prompt_langs = check_settings(cfg, task, several)
    data = KINDS[task.kind].rows(task, root, langs, cfg.langs, several, limit)
    settings = as_dict(cfg) | {"task": name, "data": root, "limit": limit, "output": str(output)}
    settings.pop("overwrite")
    return PreparedTask(task, langs, prompt_langs, data, output, settings)


def task_limit(limit: int | dict | None, limits: dict | None, name: str) -> int | None:
    """A task's row limit: `limits` (given in code), else --limit TASK=N, else one --limit N for every
    task."""
    if limits and name in limits:
        return limits[name]
    return limit.get(name) if isinstance(limit, dict) else limit


def evaluate(
    cfg: EvalConfig, console: Console | None = None, limits: dict[str, int] | None = None, also=None
) -> dict:
    """Evaluate one task (results in --output) or several (results in --output/<task>/), loading the
    model once; `limits` gives a task its own row limit instead of --limit; `also(results, folder, kind)`
    writes more files beside each task's results, inside the output's lock (`export.lmeval` writes lm-eval's
    schema this way). Returns the results, or {task: results} for several tasks."""
    names = task_names(cfg.task)
    several = len(names) > 1
    roots = data_roots(cfg.data, names)
    out = Path(cfg.output or ".")  # prepare() refuses a missing --output
    if isinstance(cfg.limit, dict) and set(cfg.limit) - set(names):
        odd = ", ".join(sorted(set(cfg.limit) - set(names)))
        raise UserError(
            f"--limit {odd}: not a task of --task {cfg.task}; give TASK=N for the tasks evaluated"
        )
    prepared = [
        prepare(
            cfg,
            name,
            roots[name],
            out / Path(name).stem if several else out,
            several,
            task_limit(cfg.limit, limits, name),
        )
        for name in names
    ]  # every file read and checked before the model loads
    inputs = [("--model", cfg.model)] + [("--data", r) for r in roots.values()]
    check_output(out, inputs, replaces=True, roots=("--data",))
    settings = {k: v for k, v in as_dict(cfg).items() if k not in ("output", "batch_size", "overwrite")}
    settings["limits"] = limits
    console = console or Console()
    announce(prepared, cfg, console)
    with owned_output(out, "eval", settings, cfg.overwrite), replaced_folder(out) as tmp:
        model, tokenizer, seq2seq = load_model(cfg.model, torch_dtype(cfg.precision), cfg.allow_partial)
        tokenizer.model_max_length = int(1e30)  # prompts are cut here, to fit: no "indexing errors" warning
        if torch.cuda.is_available():
            model = model.cuda()
        results = {}
        fmt = chat_format(tokenizer, cfg.chat_template, seq2seq, cfg.system, trained_setting(cfg.model))
        console.print(f"format: {'raw text' if fmt.raw else f'chat template ({fmt.source})'}")
        for p in prepared:
            task_cfg, source = with_roles(cfg, p.langs, console)
            results[p.task.name], predictions = evaluate_prepared(
                model, tokenizer, seq2seq, p, task_cfg, console, fmt
            )
            results[p.task.name]["roles_from"] = source
            folder = tmp / p.output.relative_to(out)  # the output is written whole, then swapped in
            write_outputs(folder, results[p.task.name], predictions)
            if also is not None:
                also(results[p.task.name], folder, KINDS[p.task.kind])
            print_results(results[p.task.name], console)
        mark_owner(tmp, "eval", settings)
    return results if several else next(iter(results.values()))


MANY_PROMPTS = 2000  # above this, the announcement says how to score fewer


def announce(prepared: list[PreparedTask], cfg: EvalConfig, console: Console) -> None:
    """How many prompts the evaluation will score, per task, and (when many) how to narrow it."""
    counts = {p.task.name: KINDS[p.task.kind].prompts(p, cfg) for p in prepared}
    words = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    total = sum(counts.values())
    hint = " (fewer: --langs, --prompt-langs, --templates N, --limit N)" if total > MANY_PROMPTS else ""
    console.print(f"scoring {total:,} prompts: {words}{hint}")


def with_roles(cfg: EvalConfig, langs: list[str], console: Console) -> tuple[EvalConfig, str | None]:
    """The settings with the task's language groups: --roles, else the ones the model's training data names
    (said on the console); and where they came from (None: no groups)."""
    if cfg.roles:
        return cfg, "--roles"
    roles, source = trained_roles(cfg.model, langs)
    if roles:
        words = "; ".join(f"{role} = {','.join(members)}" for role, members in roles.items())
        console.print(f"language groups from {source}: {words} (--roles sets others)")
    return replace(cfg, roles=roles or None), source


def trained_roles(model: str, langs: list[str]) -> tuple[dict[str, list[str]], str | None]:
    """Language groups from the data the model was trained on, when this project trained it (a train output's
    final/ or best/, or a merge of one): L1 = the data's pivots, L2 = its targets, L3 = the task's other
    languages; and where they came from. ({}, None) for any other model."""
    folder = Path(model)
    merged = read_json(folder / "instructalign_merge.json", default=None)
    if isinstance(merged, dict) and merged.get("tuned"):
        folder = Path(merged["tuned"])
    trained = read_json(folder / "instructalign_train_config.json", default=None)
    data = trained.get("data") if isinstance(trained, dict) else None
    manifest = read_json(Path(data) / "manifest.json", default=None) if data else None
    settings = manifest.get("settings") if isinstance(manifest, dict) else None
    if not isinstance(settings, dict) or not settings.get("targets"):
        return {}, None
    pivots, targets = settings.get("pivots") or [], settings["targets"]
    roles = {
        "L1": [x for x in langs if x in pivots],
        "L2": [x for x in langs if x in targets],
        "L3": [x for x in langs if x not in pivots and x not in targets],
    }
    return {
        k: v for k, v in roles.items() if v
    }, f"the training data's manifest ({Path(data) / 'manifest.json'})"


def evaluate_prepared(
    model, tokenizer, seq2seq, prepared: PreparedTask, cfg: EvalConfig, console, fmt: ChatFormat | None = None
) -> tuple[dict, list[dict]]:
    task, prompt_langs = prepared.task, prepared.prompt_langs
    per_lang, predictions, groups = KINDS[task.kind].evaluate(
        model, tokenizer, seq2seq, prepared, cfg, console, fmt
    )
    results = {
        "model": cfg.model,
        "task": task.name,
        "kind": task.kind,
        "tasks": {task.name: per_lang},
        "groups": groups,
        "roles": parse_roles(cfg.roles),
        "partial_weights": model.instructalign_partial,  # what --allow-partial let through (empty: none)
        "id_column": task.id_column,  # predictions' ids name the same sentence in every language
        "task_fingerprint": task.fingerprint(),
        "prompt_langs": prompt_langs,
        "split": task.data.get("split", "test"),
        **(fmt.record() if fmt is not None else {"chat_template": "none", "system": None}),
        "settings": prepared.settings,
        "versions": versions(),
    }
    return results, predictions


def write_outputs(out: Path, results: dict, predictions: list[dict]) -> None:
    """predictions.jsonl first, then results.json naming its hash: a kill between the two renames leaves
    a pair the report recognises as mismatched (and refuses) instead of mixing two runs."""
    out.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    write_atomically(out / "predictions.jsonl", text)
    results["predictions_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    write_json(out / "results.json", results)


def versions() -> dict[str, str]:
    import transformers

    return {
        "instructalign": __version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }


def print_results(results: dict, console: Console) -> None:
    table = Table(title=f"{results['task']} — {results['model']}", title_justify="left")
    table.add_column("language")
    KINDS[results["kind"]].show(results, table, console)
