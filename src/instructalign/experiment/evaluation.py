"""An experiment's evaluations and reports: every model scored on NusaX sentiment with the recipe's prompts
and sentence limit, and one report comparing the runs against the base and the replay-only control."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..config import EvalConfig, Recipe, ReportConfig
from ..report import make_report
from .recipe import BASE, CONTROL, ROLES


def recipe_eval_config(recipe: Recipe, model: Path, split: str, **fields) -> EvalConfig:
    """An evaluation with the recipe's prompts, sentence limit, batch and precision (`fields` name the
    rest)."""
    return EvalConfig(
        model=str(model),
        split=split,
        prompt_langs=list(recipe.eval_prompt_langs),
        limit=recipe.eval_limit,
        batch_size=64,
        precision=recipe.eval_precision,
        chat_template=recipe.chat_template,
        overwrite=True,  # the experiment owns its run folders
        **fields,
    )


def evaluate_model(model: Path, nusax: Path, recipe: Recipe, split: str, out: Path) -> Path:
    from ..evaluate.run import evaluate  # torch: imported by the worker that evaluates

    config = recipe_eval_config(
        recipe, model, split, task="nusax_senti", data=str(nusax), roles=ROLES, output=str(out)
    )
    evaluate(config, console=Console(quiet=True))
    return out


def compare_runs(
    eval_dirs: dict[str, list[str]], title: str, out: Path, similarity_data=None, roles: str = ROLES
) -> dict:
    """The report over every run's eval folders (one per seed), against the base and the replay-only
    control."""
    return make_report(
        ReportConfig(
            run=[f"{name}={','.join(folders)}" for name, folders in eval_dirs.items()],
            baseline=BASE,
            control=CONTROL,
            roles=roles,
            similarity_data=similarity_data,
            title=title,
            output=str(out),
            overwrite=True,  # the experiment owns its report folders
        )
    )
