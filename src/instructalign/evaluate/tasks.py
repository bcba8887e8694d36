"""Tasks are data: a YAML file names the files, columns, labels, verbalizers and templates (`spec.TaskSpec`),
and its `kind:` (`kinds.KINDS`) says what else it declares and how it is evaluated.

Classification tasks are scored by rank classification; translation tasks by generation + sacrebleu.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import yaml

from ..errors import UserError
from ..files import parse_yaml
from .kinds import KINDS
from .spec import TaskSpec

NAME = re.compile(r"[A-Za-z0-9_.-]+")


def task_name(value, where: str) -> str:
    """A task's name, which becomes folder names and lm-eval YAML keys: letters, digits, '_', '.' and '-'."""
    name = str(value)
    if not NAME.fullmatch(name) or set(name) == {"."}:
        raise UserError(
            f"{where}: task name {name!r} may hold only letters, digits, '_', '.' and '-' (it names folders "
            "and YAML keys); rename it"
        )
    return name


def builtin_tasks() -> dict[str, Path]:
    folder = resources.files(__package__).joinpath("tasks")
    return {f.name[:-5]: Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml")}


def load_task(name_or_path: str, templates_set: str | None = None) -> TaskSpec:
    """A shipped task by name, or a task YAML file; `templates_set` picks one of its named template sets."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        shipped = builtin_tasks()
        if name_or_path not in shipped:
            raise UserError(
                f"unknown task '{name_or_path}'; shipped tasks: {', '.join(sorted(shipped))}, or give a task "
                "YAML file"
            )
        path = shipped[name_or_path]
    elif not path.is_file():
        raise UserError(f"{name_or_path}: task file not found; check --task")
    try:
        doc = parse_yaml(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise UserError(
            f"{path}: a task file is a mapping (name, kind, data, labels, verbalizers, templates)"
        )
    return parse_task(with_template_set(doc, templates_set, str(path)), str(path))


def with_template_set(doc: dict, name: str | None, where: str) -> dict:
    """The task with `template_sets[name]` as its templates (the default templates when name is None)."""
    if name is None:
        return doc
    sets = doc.get("template_sets") or {}
    if name not in sets:
        known = ", ".join(sorted(sets)) or "none"
        raise UserError(f"{where}: no template set '{name}' (named sets: {known}); check --templates-set")
    return doc | {"templates": sets[name]}


def parse_task(doc: dict, where: str) -> TaskSpec:
    name = doc.get("kind", "classification")
    if name not in KINDS:
        raise UserError(f"{where}: kind '{name}' is not one of {', '.join(KINDS)}")
    kind = KINDS[name]
    for key in kind.required:
        if key not in doc:
            raise UserError(
                f"{where}: missing field '{key}' (a {name} task needs {', '.join(kind.required)})"
            )
    data = doc["data"]
    if not isinstance(data, dict) or not ("path" in data or "hf" in data):
        raise UserError(f"{where}: field 'data' needs 'path' (files under --data) or 'hf' (a dataset name)")
    templates = doc["templates"]
    if not isinstance(templates, dict) or not all(isinstance(v, list) and v for v in templates.values()):
        raise UserError(f"{where}: 'templates' maps a prompt language to a non-empty list of templates")
    spec = TaskSpec(
        name=task_name(doc["name"], where),
        kind=name,
        data=data,
        templates={str(k): [str(t) for t in v] for k, v in templates.items()},
        label_column=str(doc.get("label_column", "label")),
        id_column=str(doc["id_column"]) if doc.get("id_column") else None,
        target_delimiter=str(doc.get("target_delimiter", " ")),
        max_new_tokens=int(doc.get("max_new_tokens", 64)),
        source=where,
    )
    kind.parse(spec, doc, where)
    return spec
