"""One definition per option: YAML values converted by field type, flags and README generated from fields."""

import re
import subprocess
import sys

import pytest

from helpers import REPO, write
from instructalign.cli import main, make_parser
from instructalign.config import CONFIGS, EvalConfig, Recipe, TrainConfig
from instructalign.configfile import load_config, read_recipe
from instructalign.errors import UserError
from instructalign.experiment.recipe import FULL, QUICK
from instructalign.flags import cli_fields
from instructalign.options import flag
from instructalign.readme import regenerate


def test_yaml_values_are_converted_by_the_fields_type(tmp_path):
    path = write(
        tmp_path / "c.yaml",
        'train:\n  lr: 1e-5\n  batch_size: "8"\n  lora_targets: "q_proj, v_proj"\n  lora: "false"\n',
    )
    cfg = load_config(TrainConfig, str(path), {}, "train")
    assert cfg.lr == 1e-5 and isinstance(cfg.lr, float)
    assert cfg.batch_size == 8 and isinstance(cfg.batch_size, int)
    assert cfg.lora_targets == ["q_proj", "v_proj"]
    assert cfg.lora is False


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("precision: fp64", "setting 'precision': expects one of auto, fp32, bf16, fp16, got 'fp64'"),
        ("batch_size: [4]", "setting 'batch_size': expects a whole number, got [4]"),
        ("max_steps: 2.7", "setting 'max_steps': expects a whole number or none, got 2.7"),
        ("lr: -1e-4", "setting 'lr': must be above 0, got '-1e-4'"),
        ("lora: maybe", "setting 'lora': expects true or false, got 'maybe'"),
        ("lr_scheduler: cosin", "setting 'lr_scheduler': expects one of linear, cosine"),
        ("epochs: 0", "setting 'epochs': must be above 0, got 0"),
        ("max_steps: 0", "setting 'max_steps': must be at least 1, got 0"),
    ],
)
def test_a_wrong_value_is_one_line_naming_file_and_setting(tmp_path, setting, expected):
    path = write(tmp_path / "c.yaml", f"train:\n  {setting}\n")
    with pytest.raises(UserError) as err:
        load_config(TrainConfig, str(path), {}, "train")
    assert str(err.value).startswith(f"{path}: ") and expected in str(err.value)
    assert "\n" not in str(err.value)


def test_flags_are_converted_and_checked_the_same_way(tmp_path, capsys):
    assert main(["train", "--model", "m", "--data", "d", "--output", "o", "--lr", "-1e-4"]) == 2
    assert capsys.readouterr().err == "error: --lr: must be above 0, got '-1e-4'\n"
    assert main(["eval", "--model", "m", "--output", "o", "--precision", "float32"]) == 2
    assert "--precision: expects one of auto, fp32, bf16, fp16" in capsys.readouterr().err


def test_the_same_idea_has_the_same_flag_in_every_command():
    def flags(section):
        return {flag(f.name) for f in cli_fields(CONFIGS[section])}

    assert "--prompt-langs" in flags("build") & flags("eval")
    assert "--precision" in flags("train") & flags("eval")
    assert "--split" in flags("build") & flags("eval") & flags("demo")
    assert not {"--dtype", "--prompt-lang", "--eval-split"} & set().union(*map(flags, CONFIGS))


@pytest.mark.parametrize("section", ["recipe", "demo"])  # demo: is the recipe section's older name
def test_quick_keeps_a_yaml_value_equal_to_the_full_default(tmp_path, section):
    # stage_steps: 700 is the full recipe's default; with --quick it must still be 700, not QUICK's 60
    path = write(tmp_path / "d.yaml", f"{section}:\n  stage_steps: 700\n  stage_lr: 2e-4\n")
    recipe = read_recipe(Recipe, str(path), QUICK)
    assert recipe.stage_steps == 700 and recipe.stage_lr == 2e-4
    assert recipe.d_model == QUICK.d_model != FULL.d_model


DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def docs_text() -> str:
    return "\n".join(p.read_text("utf-8") for p in DOCS)


def test_the_generated_tables_are_up_to_date():
    cli = (REPO / "docs" / "cli.md").read_text("utf-8")
    readme = (REPO / "README.md").read_text("utf-8")
    assert regenerate(cli) == cli and regenerate(readme) == readme, "run: python -m instructalign.readme"
    for section in CONFIGS:
        assert f"<!-- flags:{section} -->" in cli
    assert "<!-- studies -->" in readme


def test_the_docs_name_studies_only_from_the_registry():
    from instructalign.study import STUDIES

    mentioned = set(re.findall(r"(?:instructalign |`)study (\w+)", docs_text())) - {"NAME"}
    assert mentioned and mentioned <= set(STUDIES)
    assert all(study.question for study in STUDIES.values())  # the generated list's second column


@pytest.mark.parametrize(
    "command", [["data", "build"], ["train"], ["eval"], ["report"], ["merge"], ["demo"], ["study"]]
)
def test_the_flag_tables_match_help(command):
    section = "build" if command[0] == "data" else command[0]
    cli = (REPO / "docs" / "cli.md").read_text("utf-8")
    block = re.search(rf"<!-- flags:{section} -->\n(.*?)<!-- /flags -->", cli, re.S).group(1)
    in_docs = set(re.findall(r"\| `(--[a-z0-9-]+)", block))
    help_text = subprocess.run(
        [sys.executable, "-m", "instructalign.cli", *command, "--help"], capture_output=True, text=True
    ).stdout
    help_text = re.sub(r"-\n\s+", "-", help_text)  # a flag the help wrapped at one of its hyphens
    in_help = set(re.findall(r"(--[a-z0-9-]+)", help_text)) - {"--help", "--config"}
    in_help = {f for f in in_help if not f.startswith("--no-")}
    assert in_docs == in_help


def test_the_readme_is_short_and_starts_with_the_users_own_model():
    readme = (REPO / "README.md").read_text("utf-8").splitlines()
    first = "\n".join(readme[:80])
    assert len(readme) <= 400
    assert all(f"instructalign {c}" in first for c in ("data build", "train", "eval", "report", "card"))


def test_every_link_of_the_docs_leads_somewhere():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text("utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}"


def test_every_module_is_short_or_says_why():
    for path in sorted((REPO / "src" / "instructalign").rglob("*.py")):
        lines = path.read_text("utf-8").splitlines()
        if len(lines) > 320:
            assert "long because" in "\n".join(lines[:15]), (
                f"{path.name}: {len(lines)} lines, no reason given"
            )


def test_parser_builds_for_every_command():
    parser = make_parser()
    args = parser.parse_args(["eval", "--prompt-langs", "en", "--limit", "3"])
    assert args.prompt_langs == "en" and args.limit == "3"  # text until load_config converts it
    assert load_config(EvalConfig, None, {"limit": args.limit}, "eval").limit == 3


def test_a_misspelt_recipe_setting_is_refused(tmp_path):
    path = write(tmp_path / "r.yaml", "recipe:\n  stage_stepz: 700\n")
    with pytest.raises(
        UserError, match=r"r\.yaml: unknown setting 'stage_stepz' in recipe:; known: .*stage_steps"
    ):
        read_recipe(Recipe, str(path), QUICK)


def test_train_help_groups_every_flag_by_topic():
    from instructalign.config import TrainConfig
    from instructalign.flags import cli_fields

    grouped = [name for names in TrainConfig.GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(f.name for f in cli_fields(TrainConfig))  # each field once
    help_text = subprocess.run(
        [sys.executable, "-m", "instructalign.cli", "train", "--help"], capture_output=True, text=True
    ).stdout
    assert all(f"\n{title}:\n" in help_text for title in TrainConfig.GROUPS)
