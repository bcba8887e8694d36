"""How long an experiment takes with nothing cached, from step and prompt rates measured on this project's
2-core CPU: printed before any work, so that a user knows what they start."""

from __future__ import annotations

from ..config import Recipe

# measured for the demo's stand-in (d=192, 3 layers, batch 16) in `demo --seeds 3` on 2026-12-05, a 2-core CPU
# of
# 178 GFLOP/s single-thread (benchmarks/matmul_rate.py): a training step in one of two 1-thread workers (the
# mean of the three runs: 101, 139 and 169 s for 700 steps), a base step on 2 threads (239 s for 2,400 steps),
# NusaX prompts per second in a 1-thread worker (~445)
TRAIN_STEP_1_THREAD = 0.195
BASE_STEP_2_THREADS = 0.10
EVAL_PROMPTS_PER_SECOND_1_THREAD = 445
NUSAX_LANGUAGES, NUSAX_TEST = 12, 400
# what a job (and a base stage) costs besides its steps and prompts: a worker's start, imports, loading the
# model, tokenizing; from `demo --quick` (57-63 s on the machine above, the rates above accounting for 7 s)
JOB_OVERHEAD_S, STAGE_OVERHEAD_S = 6.0, 6.0


def minutes_words(minutes: float) -> str:
    """'about 0.9 min', 'about 27 min'."""
    return f"about {minutes:.{1 if minutes < 10 else 0}f} min"


def size_factor(recipe: Recipe) -> float:
    return max(0.1, (recipe.d_model / 192) ** 2 * recipe.n_layer / 3)


def estimate_minutes(
    recipe: Recipe, n_runs: int, n_evals: int, seeds: int, jobs: int, extra_prompts: int = 0
) -> float:
    """Rough wall time with nothing cached: bases, then trainings and evaluations (NusaX, and
    `extra_prompts` more per model) spread over `jobs`."""
    f = size_factor(recipe)
    base = (recipe.base_full_steps + recipe.base_target_steps) * BASE_STEP_2_THREADS * f
    base += 2 * STAGE_OVERHEAD_S
    prompts = NUSAX_LANGUAGES * (recipe.eval_limit or NUSAX_TEST) * 3 * len(recipe.eval_prompt_langs)
    prompts += extra_prompts
    work = n_runs * recipe.stage_steps * TRAIN_STEP_1_THREAD * f
    work += n_evals * prompts / EVAL_PROMPTS_PER_SECOND_1_THREAD * f
    work += (n_runs + n_evals * (2 if extra_prompts else 1)) * JOB_OVERHEAD_S
    return seeds * (base + work / max(1, min(jobs, 2))) / 60
