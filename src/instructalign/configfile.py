"""Config files: a YAML file holds one command's settings at top level, or a section per command (`build:`,
`train:`, `eval:`, and the experiments' `recipe:`), so that one file can describe a whole experiment.

Every value passes through its field's type (`options.setting_value`), as a flag's does, so a setting and a
flag fail with the same one-line errors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from . import languages
from .config import CONFIGS, RECIPE_SECTIONS
from .errors import UserError
from .files import read_yaml
from .options import flag, setting_value

SECTIONS = (*CONFIGS, *RECIPE_SECTIONS)  # every section a config file may hold


def read_section(path: str, section: str) -> dict[str, Any]:
    """The settings of `section` in a YAML config (or its top level), plus a top-level `languages:`."""
    doc = read_yaml(Path(path), "config file", "check --config")
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping of settings")
    present = [k for k in doc if k in SECTIONS]
    if isinstance(doc.get(section), dict):
        body = doc[section]
    elif present and not (section in ("demo", "study") and set(present) <= {*RECIPE_SECTIONS, section}):
        raise UserError(
            f"{path}: no '{section}:' section, only {', '.join(k + ':' for k in present)} (settings of "
            f"another command); add a '{section}:' section or give this command its own --config"
        )
    else:
        body = doc
    data = {k: v for k, v in body.items() if k not in SECTIONS}
    if body is not doc and "languages" in doc:
        data.setdefault("languages", doc["languages"])
    return data


def load_config(cls, path: str | None, overrides: dict[str, Any], section: str, also: tuple = ()):
    """A `cls` config from YAML `path` (its `section` if it has one) and non-None `overrides` (flags).

    Every value is converted by its field's type; `also` names other classes whose settings may share
    the section (the demo's recipe), which are then left to their own loader.
    """
    known = {f.name for f in dataclasses.fields(cls)}
    shared = {f.name for other in also for f in dataclasses.fields(other)}
    values: dict[str, Any] = {}
    extra = []
    if path:
        raw = read_section(path, section)
        for key, value in raw.items():
            if key == "languages":
                extra = value
            elif key in known:
                values[key] = setting_value(cls, key, value, f"{path}: setting '{key}'")
            elif key not in shared:
                raise UserError(
                    f"{path}: unknown setting '{key}' for {section}; known: "
                    f"{', '.join(sorted(known | shared))}"
                )
    for key, value in overrides.items():
        if value is not None and key in known:
            values[key] = setting_value(cls, key, value, flag(key))
    languages.register(values.get("languages") or extra or [], path or "command line")
    if "languages" not in known:
        values.pop("languages", None)
    return cls(**values)


def read_recipe(cls, path: str | None, preset):
    """`preset` with the settings of `cls` that a config file's `recipe:` (or older `demo:`) section writes,
    and only those."""
    if not path:
        return preset
    names = {f.name for f in dataclasses.fields(cls)}
    doc = read_yaml(Path(path), "config file", "check --config")
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping of settings")
    if "recipe" in doc and not isinstance(doc["recipe"], dict):
        raise UserError(f"{path}: 'recipe:' must be a mapping of settings, e.g. recipe: {{stage_steps: 700}}")
    section = next((s for s in RECIPE_SECTIONS if isinstance(doc.get(s), dict)), None)
    if section is None and any(k in SECTIONS for k in doc):
        return preset  # e.g. a study: section alone: the recipe stays the preset
    raw = doc[section] if section else doc
    unknown = sorted(set(raw) - names) if section == "recipe" else []  # demo: also holds the demo's flags
    if unknown:
        raise UserError(
            f"{path}: unknown setting '{unknown[0]}' in recipe:; known: {', '.join(sorted(names))}"
        )
    changed = {k: setting_value(cls, k, v, f"{path}: setting '{k}'") for k, v in raw.items() if k in names}
    return dataclasses.replace(preset, **changed)
