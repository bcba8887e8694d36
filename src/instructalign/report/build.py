"""Compare runs: per-language and per-group weighted F1, changes vs. the baseline (and control) with
paired bootstrap intervals, continual-learning metrics, and similarity-vs-transfer correlation."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..config import ReportConfig
from ..errors import UserError
from ..evaluate.metrics import parse_roles
from ..languages import LANGUAGES
from .runs import Run, comparisons, load_predictions, parse_run
from .similarity import language_similarity
from .stats import bootstrap_example_diff, bootstrap_seed_diff, mean_std, pearson

CL_METRICS = {
    "L1": (
        "backward transfer (BWT, L1)",
        "change on the languages the model already knew; negative = forgetting",
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
    return task


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


class Comparer:
    """Changes of one run against a reference over a set of languages, with a 95% interval."""

    def __init__(self, task: str, resamples: int, seed: int):
        self.task, self.resamples, self.rng = task, resamples, np.random.default_rng(seed)
        self._preds: dict[tuple[str, int], dict | None] = {}

    def values(self, run: Run, langs: list[str]) -> list[float]:
        per_lang = run.per_language(self.task)
        return [float(np.mean([per_lang[lang][s] for lang in langs])) for s in range(run.seeds)]

    def compare(self, run: Run, ref: Run, langs: list[str]) -> dict:
        a, b = self.values(run, langs), self.values(ref, langs)
        out = {
            "delta": float(np.mean(a) - np.mean(b)),
            "lo": float("nan"),
            "hi": float("nan"),
            "method": None,
            "seeds_positive": None,
        }
        if run.seeds == ref.seeds and run.seeds >= 2:
            out["lo"], out["hi"] = bootstrap_seed_diff(a, b, self.resamples, self.rng)
            out["method"] = f"paired bootstrap over {run.seeds} seeds"
            out["seeds_positive"] = sum(x > y for x, y in zip(a, b))
            out["delta_std"] = float(np.std(np.subtract(a, b), ddof=1))
        elif run.seeds == ref.seeds == 1:
            diffs = self.example_bootstrap(run, ref, langs)
            if diffs is not None:
                out["lo"], out["hi"] = float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))
                out["method"] = "paired bootstrap over test examples (1 seed)"
        return out

    def arrays(self, run: Run) -> dict | None:
        key = (run.name, 0)
        if key not in self._preds:
            rows = load_predictions(run.results[0], self.task)
            if rows is None:
                self._preds[key] = None
            else:
                grouped: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
                for r in rows:
                    grouped[r["lang"]][r["template"]].append((r["gold"], r["pred"]))
                self._preds[key] = grouped
        return self._preds[key]

    def example_bootstrap(self, run: Run, ref: Run, langs: list[str]) -> np.ndarray | None:
        pa, pb = self.arrays(run), self.arrays(ref)
        if pa is None or pb is None:
            return None
        total = np.zeros(self.resamples)
        for lang in langs:
            ta, tb = pa.get(lang), pb.get(lang)
            if not ta or not tb or sorted(ta) != sorted(tb):
                return None
            templates = sorted(ta)
            gold = [g for g, _ in ta[templates[0]]]
            if any([g for g, _ in tb[t]] != gold or len(ta[t]) != len(gold) for t in templates):
                return None
            labels = sorted({g for g in gold} | {p for t in templates for _, p in ta[t] + tb[t]})
            index = {label: i for i, label in enumerate(labels)}
            g = np.array([index[x] for x in gold])
            a = np.array([[index[p] for _, p in ta[t]] for t in templates])
            b = np.array([[index[p] for _, p in tb[t]] for t in templates])
            total += bootstrap_example_diff(g, a, b, len(labels), self.resamples, self.rng)
        return total / len(langs)


def lang_label(code: str) -> str:
    lang = LANGUAGES.get(code)
    return f"{lang.name_en} ({code})" if lang else code


def make_report(cfg: ReportConfig) -> dict:
    """The report as data (tables, comparisons, similarity); `render.write_report` writes it."""
    if not cfg.output:
        raise UserError("no --output folder given")
    runs = [parse_run(spec) for spec in cfg.run]
    baseline_name = cfg.baseline or (runs[0].name if runs else None)
    task = check_runs(runs, baseline_name, cfg.control, cfg.task)
    by_name = {r.name: r for r in runs}
    base = by_name[baseline_name]
    langs, dropped = common_languages(runs, task)
    roles = parse_roles(cfg.roles) or base.results[0].get("roles") or {}
    roles = {role: [lang for lang in members if lang in langs] for role, members in roles.items()}
    roles = {role: members for role, members in roles.items() if members}
    role_of = {lang: role for role, members in roles.items() for lang in members}
    comparer = Comparer(task, cfg.bootstrap, cfg.seed)
    references = [base] + ([by_name[cfg.control]] if cfg.control and cfg.control != baseline_name else [])

    per_language = []
    for lang in langs:
        row = {"lang": lang, "name": lang_label(lang), "role": role_of.get(lang, "")}
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
        groups.append(row)

    templates = template_spread(runs, task, langs, roles)
    cl = continual_learning(groups, runs, references)
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
        "per_language": per_language,
        "groups": groups,
        "templates": templates,
        "continual_learning": cl,
        "similarity": similarity,
        "references": [r.name for r in references],
        "notes": cfg.notes,
    }
    return report


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
    rows = []
    for g in groups:
        if g["role"] not in CL_METRICS:
            continue
        name, meaning = CL_METRICS[g["role"]]
        for run, ref in comparisons(runs, references):
            rows.append(
                {
                    "metric": name,
                    "meaning": meaning,
                    "run": run.name,
                    "reference": ref.name,
                    **g[f"{run.name} vs {ref.name}"],
                }
            )
    return rows


def similarity_section(
    cfg: ReportConfig, runs: list[Run], base: Run, roles: dict, comparer: Comparer
) -> dict:
    l3, l2, l1 = roles.get("L3", []), roles.get("L2", []), roles.get("L1", [])
    if not l3 or not l2:
        return {
            "status": "not enough data",
            "reason": "similarity vs. transfer needs L2 and L3 languages (--roles)",
        }
    sim = language_similarity(cfg.similarity_data, l3 + l2 + l1)
    points = []
    for lang in l3:
        row = {
            "lang": lang,
            "name": lang_label(lang),
            "sim_L2": float(np.mean([sim[(lang, o)] for o in l2 if (lang, o) in sim])),
            "sim_L1": float(np.mean([sim[(lang, o)] for o in l1 if (lang, o) in sim]))
            if l1
            else float("nan"),
        }
        for run in runs:
            if run is not base:
                row[f"gain {run.name}"] = comparer.compare(run, base, [lang])["delta"]
        points.append(row)
    correlations = {}
    for run in runs:
        if run is base:
            continue
        result = pearson([p["sim_L2"] for p in points], [p[f"gain {run.name}"] for p in points])
        correlations[run.name] = (
            None if result is None else {"r": result[0], "p": result[1], "n": len(points)}
        )
    n = len(points)
    if n < 3:
        status, reason = (
            "not enough data",
            f"only {n} L3 language(s): a correlation needs at least 3 (the paper used more)",
        )
    elif n < 5:
        status, reason = (
            "few languages",
            f"only {n} L3 languages: the correlation is illustrative, not evidence",
        )
    else:
        status, reason = "ok", ""
    return {
        "status": status,
        "reason": reason,
        "points": points,
        "correlations": correlations,
        "source": cfg.similarity_data,
        "pairs": {f"{a}-{b}": v for (a, b), v in sim.items() if a < b},
    }
