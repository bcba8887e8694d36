"""Compare runs: per-language and per-group weighted F1, changes vs. the baseline (and control) with
paired bootstrap intervals, continual-learning metrics, and similarity-vs-transfer correlation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..config import ReportConfig
from ..errors import UserError
from ..evaluate.metrics import parse_roles
from ..files import check_writable
from ..languages import label
from ..monitor_history import run_histories
from .compare import Comparer
from .runs import Run, comparisons, parse_run
from .similarity import similarity_section
from .stats import mean_std

CL_METRICS = {  # role -> (name versus the base, meaning)
    "L1": (
        "backward transfer (BWT, L1)",
        "change on the languages the model already knew; negative = forgetting (Lopez-Paz & Ranzato, 2017)",
    ),
    "L2": ("forward gain (L2)", "change on the languages seen in alignment; the method's target"),
    "L3": ("zero-shot transfer (L3)", "change on related languages never seen in training"),
}


def check_runs(runs: list[Run], baseline: str, control: str | None, task: str | None) -> str:
    names = [r.name for r in runs]
    if len(runs) < 2:
        raise UserError("give at least two --run NAME=DIR (a baseline and a run to compare)")
    if len(set(names)) != len(names):
        raise UserError(f"--run names must be unique; got {', '.join(names)}")
    for name, flag in ((baseline, "--baseline"), (control, "--control")):
        if name is not None and name not in names:
            raise UserError(f"{flag} '{name}' is not a run; runs: {', '.join(names)}")
    task = task or next(iter(runs[0].results[0]["tasks"]))
    for run in runs:
        for r in run.results:
            if task not in r["tasks"]:
                raise UserError(f"{r['_path']}: has no results for task '{task}'")
            if r.get("kind", "classification") != "classification":
                raise UserError(
                    f"{r['_path']}: task '{task}' is not a classification task; report compares weighted F1"
                )
    check_comparable([r for run in runs for r in run.results])
    return task


COMPARABLE = {  # what must be equal for two eval runs to be compared, and where results.json keeps it
    "split": lambda r: r.get("split") or (r.get("settings") or {}).get("split"),
    "limit": lambda r: (r.get("settings") or {}).get("limit"),
    "prompt languages": lambda r: r.get("prompt_langs") or (r.get("settings") or {}).get("prompt_langs"),
    "task definition": lambda r: r.get("task_fingerprint"),
    "task": lambda r: r.get("task"),
}


def check_comparable(results: list[dict]) -> None:
    """Refuse runs that cannot be compared: one folder twice, or another split, limit, prompt set or task."""
    seen: dict[str, str] = {}
    for r in results:
        where = str(Path(r["_path"]).resolve())
        if where in seen:
            raise UserError(f"{r['_path']}: given twice (two seeds or runs cannot share one eval folder)")
        seen[where] = r["_path"]
    first = results[0]
    for r in results[1:]:
        for what, get in COMPARABLE.items():
            if get(r) != get(first):
                raise UserError(
                    f"{r['_path']}: {what} {get(r)!r} differs from {first['_path']} ({get(first)!r}); "
                    "compare runs evaluated the same way"
                )


def common_languages(runs: list[Run], task: str) -> tuple[list[str], dict[str, list[str]]]:
    per_run = {run.name: set.intersection(*(set(r["tasks"][task]) for r in run.results)) for run in runs}
    common = [lang for lang in runs[0].results[0]["tasks"][task] if all(lang in s for s in per_run.values())]
    if not common:
        raise UserError(
            "the runs share no evaluated language: "
            + "; ".join(f"{n}: {','.join(sorted(s))}" for n, s in per_run.items())
        )
    dropped = {name: sorted(s - set(common)) for name, s in per_run.items() if s - set(common)}
    return common, dropped


def make_report(cfg: ReportConfig) -> dict:
    """The report as data (tables, comparisons, similarity); `render.write_report` writes it."""
    if not cfg.output:
        raise UserError("no --output folder given")
    check_writable(Path(cfg.output))
    runs = [parse_run(spec, cfg.task) for spec in cfg.run]
    baseline_name = cfg.baseline or (runs[0].name if runs else None)
    task = check_runs(runs, baseline_name, cfg.control, cfg.task)
    by_name = {r.name: r for r in runs}
    base = by_name[baseline_name]
    langs, dropped = common_languages(runs, task)
    roles, roles_from = report_roles(cfg, [base, *runs])
    roles = {role: [lang for lang in members if lang in langs] for role, members in roles.items()}
    roles = {role: members for role, members in roles.items() if members}
    role_of = {lang: role for role, members in roles.items() for lang in members}
    comparer = Comparer(task, cfg.bootstrap, cfg.seed)
    references = [base] + ([by_name[cfg.control]] if cfg.control and cfg.control != baseline_name else [])

    per_language = []
    for lang in langs:
        row = {"lang": lang, "name": label(lang), "role": role_of.get(lang, "")}
        for run in runs:
            row[run.name] = mean_std(run.per_language(task)[lang])
        for run, ref in comparisons(runs, references):
            row[f"{run.name} vs {ref.name}"] = comparer.compare(run, ref, [lang])
        per_language.append(row)

    groups = []
    for role, members in roles.items():
        row = {"role": role, "languages": members}
        for run in runs:
            row[run.name] = mean_std(comparer.values(run, members))
        for run, ref in comparisons(runs, references):
            row[f"{run.name} vs {ref.name}"] = comparer.compare(run, ref, members)
        row["cannot_do"] = {run.name: why for run in runs if (why := run.cannot_do(task, members))}
        groups.append(row)

    templates = template_spread(runs, task, langs, roles)
    cl = continual_learning(groups, runs, references)
    control = by_name[cfg.control] if cfg.control and cfg.control != baseline_name else None
    claims = verdicts(groups, runs, base, control, cfg.margin / 100)
    similarity = (
        similarity_section(cfg, runs, base, roles, comparer)
        if cfg.similarity_data
        else {"status": "skipped", "reason": "no --similarity-data given (e.g. the NusaX folder)"}
    )

    report = {
        "title": cfg.title,
        "task": task,
        "baseline": base.name,
        "control": cfg.control,
        "runs": runs,
        "languages": langs,
        "dropped_languages": dropped,
        "roles": roles,
        "roles_from": roles_from,
        "per_language": per_language,
        "groups": groups,
        "templates": templates,
        "continual_learning": cl,
        "verdicts": claims,
        "margin": cfg.margin,
        "similarity": similarity,
        # train --monitor histories of the runs' trainings: run -> one history per seed that has one
        "curves": {r.name: h for r in runs if (h := run_histories([x.get("model") for x in r.results]))},
        "references": [r.name for r in references],
        "notes": cfg.notes,
    }
    return report


def report_roles(cfg: ReportConfig, runs: list[Run]) -> tuple[dict[str, list[str]], str]:
    """The language groups (--roles, else the first run whose evaluation recorded some) and where they came
    from, in words for the report."""
    if cfg.roles:
        return parse_roles(cfg.roles), "--roles"
    for run in runs:
        recorded, source = run.results[0].get("roles"), run.results[0].get("roles_from")
        if recorded:  # an eval's own --roles are as good as the report's; a training manifest's are said
            said = f"the evaluation of `{run.name}` ({source})"
            return recorded, "--roles" if source in (None, "--roles") else said
    return {}, ""


def template_spread(runs: list[Run], task: str, langs: list[str], roles: dict[str, list[str]]) -> list[dict]:
    """Mean and spread over templates of each run's weighted F1, per role (all languages if no roles)."""
    rows = []
    for role, members in (roles or {"all": langs}).items():
        for run in runs:
            per_t = run.per_template(task)
            tids = sorted({t for lang in members for t in per_t.get(lang, {})})
            values = {
                t: float(np.mean([np.mean(per_t[lang][t]) for lang in members if t in per_t.get(lang, {})]))
                for t in tids
            }
            if values:
                m, s = mean_std(list(values.values()))
                rows.append({"role": role, "run": run.name, "mean": m, "std": s, "templates": values})
    return rows


def continual_learning(groups: list[dict], runs: list[Run], references: list[Run]) -> list[dict]:
    """CL metrics are changes versus the base; changes versus the control are named as such."""
    rows = []
    base = references[0]
    for g in groups:
        if g["role"] not in CL_METRICS:
            continue
        name, meaning = CL_METRICS[g["role"]]
        for run, ref in comparisons(runs, references):
            if ref is not base:
                name_, meaning_ = f"difference vs control ({g['role']})", f"change versus `{ref.name}`"
            else:
                name_, meaning_ = name, meaning
            rows.append(
                {"metric": name_, "meaning": meaning_, "run": run.name, "reference": ref.name}
                | g[f"{run.name} vs {ref.name}"]
            )
    return rows


def verdict(run: Run, group: dict, claim: str, reference: Run, test: str, passed) -> dict:
    """A claim's verdict; "not testable" when a model it rests on cannot do the task on that group: the
    reference, or — for a gain (L2, L3) — the run itself. On L1 a run that lost the task is the evidence
    (forgetting shown, L1 not kept), so there only the base can block the test."""
    c = group[f"{run.name} vs {reference.name}"]
    result = "no interval" if math.isnan(c["lo"]) else "shown" if passed(c) else "not shown"
    gain = claim in ("L2 gain", "L3 transfer")
    blocked = [n for n in (reference.name, run.name if gain else None) if n in group["cannot_do"]]
    why = f"`{blocked[0]}` {group['cannot_do'][blocked[0]]}" if blocked else None
    return {"run": run.name, "claim": claim, "role": group["role"], "reference": reference.name} | {
        "test": test,
        "verdict": "not testable" if why else result,
        "why": why,
        "comparison": c,
    }


def verdicts(
    groups: list[dict], runs: list[Run], base: Run, control: Run | None, margin: float
) -> list[dict]:
    """The paper's claims as stated tests on the group intervals, for every run but the references.

    - L1 kept: non-inferiority versus the base, lower bound of (run - base) above -margin.
    - forgetting: the interval of (run - base) on L1 lies below 0.
    - L2 gain, L3 transfer: the interval of (run - control) lies above 0 (versus the base without a control).
    "Not shown" means the interval does not decide: it is not evidence of the opposite.
    """
    by_role = {g["role"]: g for g in groups}
    ref = control or base
    out = []
    for run in (r for r in runs if r is not base and r is not control):
        if "L1" in by_role:
            out.append(
                verdict(
                    run,
                    by_role["L1"],
                    "L1 kept",
                    base,
                    f"non-inferiority: lower bound > -{100 * margin:.1f}",
                    lambda c: c["lo"] > -margin,
                )
            )
            out.append(
                verdict(run, by_role["L1"], "forgetting", base, "interval below 0", lambda c: c["hi"] < 0)
            )
        for role, claim in (("L2", "L2 gain"), ("L3", "L3 transfer")):
            if role in by_role:
                out.append(verdict(run, by_role[role], claim, ref, "interval above 0", lambda c: c["lo"] > 0))
    return out
