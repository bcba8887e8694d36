"""Prompt templates as data: YAML files of phrasings per objective and prompt language.

A template is a string with `{field}` slots; `render` fills only the named slots, so braces inside the
inserted text are never re-read. Shipped files live in `templates/`; a user adds one with
`--templates FILE.yaml` (same format: objective, prompt_lang, templates, and answers for xss).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..errors import UserError
from ..files import parse_yaml

_SLOT = re.compile(r"\{(\w+)\}")

FIELDS = {
    "mt": {"src_lang", "tgt_lang", "src"},
    "tlm": {"context_lang", "context", "noisy_lang", "noisy"},
    "xss": {"lang_a", "text_a", "lang_b", "text_b"},
    "mlm": {"lang", "noisy"},
}


@dataclass(frozen=True)
class TemplateSet:
    objective: str
    prompt_lang: str
    templates: tuple[str, ...]
    answers: dict[str, str] = field(default_factory=dict)  # xss only: {"yes": ..., "no": ...}


def slots(template: str) -> set[str]:
    return set(_SLOT.findall(template))


@functools.lru_cache(maxsize=4096)
def _pieces(template: str) -> tuple[tuple[tuple[str, str, str], ...], str]:
    """A template cut once into (text before a slot, slot name, slot as written) and the text after the
    last."""
    pieces, last = [], 0
    for m in _SLOT.finditer(template):
        pieces.append((template[last : m.start()], m.group(1), m.group(0)))
        last = m.end()
    return tuple(pieces), template[last:]


def render(template: str, **values: str) -> str:
    """Fill `{name}` slots of `template` with `values` in one pass (a slot without a value stays as
    written)."""
    pieces, tail = _pieces(template)
    out = []
    for text, name, raw in pieces:
        out.append(text)
        out.append(str(values[name]) if name in values else raw)
    out.append(tail)
    return "".join(out)


def parse_template_file(text: str, where: str) -> TemplateSet:
    try:
        doc = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{where}: expected a mapping with objective, prompt_lang and templates")
    for key in ("objective", "prompt_lang", "templates"):
        if key not in doc:
            raise UserError(f"{where}: missing field '{key}'")
    objective = doc["objective"]
    if objective not in FIELDS:
        raise UserError(f"{where}: unknown objective '{objective}'; choose from {', '.join(FIELDS)}")
    templates = doc["templates"]
    if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
        raise UserError(f"{where}: 'templates' must be a non-empty list of strings")
    for i, t in enumerate(templates, 1):
        extra = slots(t) - FIELDS[objective]
        if extra:
            raise UserError(
                f"{where}: template {i} uses unknown field(s) {sorted(extra)}; {objective} templates may use "
                f"{sorted(FIELDS[objective])}"
            )
    answers = doc.get("answers") or {}
    if objective == "xss" and set(answers) != {"yes", "no"}:
        raise UserError(
            f"{where}: xss templates need answers with keys 'yes' and 'no' (quote them: YAML reads bare "
            "yes/no as booleans)"
        )
    return TemplateSet(
        objective, str(doc["prompt_lang"]), tuple(templates), {k: str(v) for k, v in answers.items()}
    )


def builtin_template_sets() -> list[TemplateSet]:
    folder = resources.files(__package__).joinpath("templates")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return [parse_template_file(f.read_text("utf-8"), f"templates/{f.name}") for f in files]


def load_template_sets(extra_files: list[str] | None = None) -> list[TemplateSet]:
    """Shipped template sets plus the user's files (a user file adds phrasings; it does not replace)."""
    sets = builtin_template_sets()
    for path in extra_files or []:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{path}: template file not found; check --templates")
        sets.append(parse_template_file(p.read_text("utf-8"), path))
    return sets


def select(sets: list[TemplateSet], objective: str, prompt_langs: list[str]) -> list[tuple[TemplateSet, str]]:
    """All (set, template) choices for an objective in the given prompt languages, in a stable order."""
    chosen = [
        (s, t)
        for s in sets
        if s.objective == objective and s.prompt_lang in prompt_langs
        for t in s.templates
    ]
    if not chosen:
        raise UserError(
            f"no {objective} templates for prompt language(s) {','.join(prompt_langs)}; add a --templates "
            "file"
        )
    return chosen
