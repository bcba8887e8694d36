"""Command-line flags and README tables, generated from the config dataclasses (see `options.py`).

A flag's value stays text here; `options.load_config` converts it by the field's type, so a flag and a
YAML setting pass through the same checks and fail with the same one-line errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
from typing import Any, Literal, Union, get_args, get_origin

from .options import field_docs, field_types, flag


def cli_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ""
    if value in (None, [], {}, ()):
        return ""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    if isinstance(value, dict):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f"default {value}"


def metavar(tp) -> str | None:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return metavar(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return "{" + ",".join(str(a) for a in args) + "}"
    if origin in (list, tuple):
        return "A,B"
    if origin is dict:
        return "K=V,K=V"
    return {int: "N", float: "X"}.get(tp, None)


def is_bool(tp) -> bool:
    return tp is bool or (get_origin(tp) in (Union, types.UnionType) and bool in get_args(tp))


def help_text(cls, f: dataclasses.Field) -> str:
    text = field_docs(cls).get(f.name, "")
    default = default_text(f)
    return f"{text} ({default})" if default else text


def add_flags(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of `cls`, in argument groups by topic where the class names them (`GROUPS`); values
    stay text until `load_config` converts them by type."""
    groups = {title: parser.add_argument_group(title) for title in getattr(cls, "GROUPS", {})}
    where = {name: groups[title] for title, names in getattr(cls, "GROUPS", {}).items() for name in names}
    for f in cli_fields(cls):
        group = where.get(f.name, parser)
        tp = field_types(cls)[f.name]
        help_ = help_text(cls, f).replace("%", "%%")
        if is_bool(tp):
            group.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif f.metadata.get("repeat"):
            group.add_argument(flag(f.name), action="append", default=None, help=help_ + " (repeatable)")
        else:
            group.add_argument(flag(f.name), default=None, metavar=metavar(tp), help=help_)


def overrides(args: argparse.Namespace, cls) -> dict[str, Any]:
    return {f.name: getattr(args, f.name, None) for f in cli_fields(cls)}


NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def allow_negative_numbers(parser: argparse.ArgumentParser) -> None:
    """`--lr -1e-4` reads -1e-4 as a value (argparse alone only knows -1 and -0.5), so it can be refused."""
    parser._negative_number_matcher = NEGATIVE_NUMBER  # noqa: SLF001 (argparse has no public hook)


def markdown_table(cls) -> str:
    """The README table of a command's flags, from the same fields as `--help`."""
    rows = ["| flag | meaning |", "| --- | --- |"]
    for f in cli_fields(cls):
        tp = field_types(cls)[f.name]
        shown = "TEXT" if f.metadata.get("repeat") else metavar(tp) or "TEXT"
        name = f"`{flag(f.name)} {shown}`"
        if is_bool(tp):
            name = f"`{flag(f.name)}` / `--no-{f.name.replace('_', '-')}`"
        text = help_text(cls, f) + (" (repeatable)" if f.metadata.get("repeat") else "")
        rows.append(f"| {name} | {text.replace('|', '/')} |")
    return "\n".join(rows)
