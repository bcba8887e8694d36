import pytest
import yaml

from helpers import REPO
from instructalign.config import CONFIGS, BuildConfig, Recipe
from instructalign.configfile import load_config, read_recipe
from instructalign.errors import UserError
from instructalign.experiment.recipe import preset

SHIPPED = sorted(p for p in (REPO / "configs").rglob("*.yaml") if p.parent.name != "accelerate")
ACCELERATE = sorted((REPO / "configs" / "accelerate").glob("*.yaml"))


def test_configs_are_shipped():
    assert SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_loads(path):
    assert path.read_text().startswith("# instructalign "), "each config starts with the command that runs it"
    doc = yaml.safe_load(path.read_text())
    sections = [s for s in CONFIGS if s in doc] or list(CONFIGS)[:1]
    if "recipe" in doc and not {"demo", "study"} & set(doc):
        sections = ["demo"]  # a recipe alone configures the demo
    for section in sections:
        also = (Recipe,) if section in ("demo", "study") else ()
        cfg = load_config(CONFIGS[section], str(path), {}, section, also=also)
        assert cfg is not None
    if path.name == "demo.yaml":  # the demo's config writes out the demo's recipe
        assert read_recipe(Recipe, str(path), Recipe()) == preset(False, demo=True)
    elif "recipe" in doc:
        read_recipe(Recipe, str(path), Recipe())


def test_cli_flags_override_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("build:\n  targets: [jav]\n  seed: 3\n")
    cfg = load_config(BuildConfig, str(path), {"seed": 9, "targets": None}, "build")
    assert cfg.targets == ["jav"] and cfg.seed == 9


def test_config_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="c.yaml: expected a mapping"):
        load_config(BuildConfig, str(path), {}, "build")


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_configs_parse(path):
    doc = yaml.safe_load(path.read_text())
    assert doc["distributed_type"] and doc["num_processes"] >= 1


def test_the_demo_and_transfer_topic_base_is_applied_once():
    from instructalign.experiment.recipe import FULL, with_topics

    topics = with_topics(FULL)
    assert topics.base_topics == 4 and topics.base_full_steps == 3 * FULL.base_full_steps
    assert (
        with_topics(topics) == topics
    )  # a recipe that has topics (e.g. configs/demo.yaml) is not tripled again
    assert preset(False, demo=True).base_full_steps == topics.base_full_steps and preset(False) == FULL
