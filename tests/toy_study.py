"""A study declared outside the package, as a user would write one: the replay-only control, an MT-only run,
and a run with training settings no shipped study uses and a preparation step of its own."""

from functools import partial
from pathlib import Path

from instructalign.config import Recipe
from instructalign.experiment.design import REPLAY_ONLY, Design, Preparation
from instructalign.experiment.study import Study
from instructalign.study.findings import study_findings

SCALE = 0.9  # the preparation's change to the base: its embedding rows scaled


def scaled_base(scale: float, base: str, folder: Path, nusax: Path, cfg) -> Path:
    """The preparation step: the base with its input embeddings scaled, written into the run folder once."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = folder / "scaled"
    if not (out / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(base)
        with torch.no_grad():
            model.get_input_embeddings().weight.mul_(scale)
        model.save_pretrained(out)
        AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def designs(recipe: Recipe) -> list[Design]:
    prepared = Preparation(partial(scaled_base, SCALE), key=("scaled", SCALE), tag="-scaled")
    own = {"lr_scheduler": "constant", "max_grad_norm": 0.5}
    return [
        REPLAY_ONLY,
        Design("mt-only", ("mt",), recipe.replay_share),
        Design("mt-own", ("mt",), recipe.replay_share, train=own, before_train=prepared, tag="-const"),
    ]


STUDY = Study(name="toy", title="A toy study", designs=designs, findings=study_findings)
