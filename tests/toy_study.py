"""A study declared outside the package, as a user would write one: two continual runs compared."""

from instructalign.config import Recipe
from instructalign.experiment.design import REPLAY_ONLY, Design
from instructalign.experiment.study import Study
from instructalign.study.findings import study_findings


def designs(recipe: Recipe) -> list[Design]:
    return [REPLAY_ONLY, Design("mt-only", ("mt",), recipe.replay_share)]


STUDY = Study(name="toy", title="A toy study", designs=designs, findings=study_findings)
