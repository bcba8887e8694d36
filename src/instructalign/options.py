"""One definition per option: a config dataclass field is the flag, the YAML setting and the help text.

A field's type converts values written in YAML or on the command line (`1e-5` is a number, `a,b` a list,
`Literal[...]` lists the choices), its docstring is the `--help` line and the README row, and
`metadata` adds what a type cannot say (`at_least`, a repeatable flag, a YAML-only setting).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
import os
import textwrap
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .errors import UserError

NONE_WORDS = {"none", "null", "~"}
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def at_least(low: float) -> dict:
    """Field metadata: the value (when set) must be >= low."""
    return {"min": low}


def above(low: float) -> dict:
    """Field metadata: the value (when set) must be > low."""
    return {"above": low}


SEED = {"min": 0, "below": 2**32}  # numpy's and torch's seeds: [0, 2^32)
REPEAT = {"repeat": True}  # a flag given several times, each value whole (paths may hold commas)
PATH = {"path": True}  # a file or folder: `~` is the home folder, in YAML as on the command line
PATHS = {"repeat": True, "path": True}  # several paths, one per flag
YAML_ONLY = {"cli": False}  # a setting of config files, not a flag


@functools.cache
def field_docs(cls) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (litgpt style)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, after in zip(body, body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(after, ast.Expr)
                and isinstance(getattr(after, "value", None), ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


@functools.cache
def field_types(cls) -> dict[str, Any]:
    return get_type_hints(cls)


# ------------------------------------------------------------------ converting values by type


def describe(tp) -> str:
    """A type in words, for error messages and the README."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) if a is not type(None) else "none" for a in args)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {describe(args[0])}s (a YAML list or a,b,c)"
    if origin is dict:
        return f"a mapping of {describe(args[0])} to {describe(args[1])} (a YAML mapping or k=v,k=v)"
    return {bool: "true or false", int: "a whole number", float: "a finite number", str: "a text"}.get(
        tp, str(tp)
    )


class Invalid(ValueError):
    pass


def convert(tp, value):
    """`value` (from YAML or a flag) as type `tp`, or raise Invalid."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in NONE_WORDS):
            if type(None) in args:
                return None
        for option in (a for a in args if a is not type(None)):
            try:
                return convert(option, value)
            except Invalid:
                continue
        raise Invalid
    if origin is Literal:
        if str(value) in [str(a) for a in args]:
            return str(value)
        raise Invalid
    if origin in (list, tuple):
        items = split_list(value)
        converted = [convert(args[0], v) for v in items]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        pairs = split_mapping(value)
        return {convert(args[0], k): convert(args[1], v) for k, v in pairs.items()}
    return convert_scalar(tp, value)


def convert_scalar(tp, value):
    if isinstance(value, (list, dict)) or value is None:
        raise Invalid
    if tp is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise Invalid
    if tp is int:
        if isinstance(value, bool):
            raise Invalid
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if value.is_integer():
                return int(value)
            raise Invalid
        try:
            return int(str(value).strip())
        except ValueError:
            raise Invalid from None
    if tp is float:
        if isinstance(value, bool):
            raise Invalid
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise Invalid from None
        if not math.isfinite(number):  # nan and inf pass every range check and poison training
            raise Invalid
        return number
    if tp is str:
        return str(value)
    if tp is dict:
        if isinstance(value, dict):
            return value
        raise Invalid
    raise Invalid


def split_list(value) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    raise Invalid


def split_mapping(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        out = {}
        for part in (p.strip() for p in value.split(",") if p.strip()):
            key, sep, val = part.partition("=")
            if not sep:
                raise Invalid
            out[key.strip()] = val.strip()
        return out
    raise Invalid


def setting_value(cls, name: str, value, where: str):
    """`value` converted to field `name` of `cls`; a one-line UserError naming `where` otherwise."""
    f = {f.name: f for f in dataclasses.fields(cls)}[name]
    tp = field_types(cls)[name]
    try:
        converted = convert(tp, value)
    except Invalid:
        raise UserError(f"{where}: expects {describe(tp)}, got {value!r}") from None
    low, above_, below_ = (f.metadata.get(k) for k in ("min", "above", "below"))
    items = [] if converted is None else converted.values() if isinstance(converted, dict) else [converted]
    for item in items:
        if low is not None and item < low:
            raise UserError(f"{where}: must be at least {low}, got {value!r}")
        if above_ is not None and item <= above_:
            raise UserError(f"{where}: must be above {above_}, got {value!r}")
        if below_ is not None and item >= below_:
            raise UserError(f"{where}: must be below {below_:,}, got {value!r}")
    if isinstance(converted, (list, tuple)):
        check_list(converted, value, where)
    if f.metadata.get("path"):
        converted = expand_home(converted)
    return converted


def expand_home(value):
    """`~/x` as the home folder's x (a shell does this for flags, not in YAML); lists item by item."""
    if isinstance(value, str) and value.startswith("~"):
        return os.path.expanduser(value)
    if isinstance(value, list):
        return [expand_home(v) for v in value]
    return value


def check_list(items, value, where: str) -> None:
    """A list given as text must name something (`--langs ,` is a mistake, not 'all'), and name it once."""
    if not items and isinstance(value, str):
        raise UserError(f"{where}: {value!r} names nothing; leave the setting out to use its default")
    seen = set()
    for item in items:
        key = item.lower() if isinstance(item, str) else repr(item)
        if key in seen:
            raise UserError(f"{where}: {item!r} is given twice; name each value once")
        seen.add(key)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def validate(cfg) -> None:
    """Check every field of a config built in code (a loaded one is checked already) by type and range."""
    for f in dataclasses.fields(cfg):
        setting_value(type(cfg), f.name, getattr(cfg, f.name), flag(f.name))
