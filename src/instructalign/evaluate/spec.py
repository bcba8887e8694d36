"""A task as data (`TaskSpec`: its files, columns, labels, verbalizers and templates) and the rows it reads:
per-language CSV/TSV/JSONL files under `--data` (`data.path` with `{dir}`/`{lang}`/`{split}` slots) or a
Hugging Face dataset (`data.hf`, `data.config` with slots), checked against the task's columns and labels.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..data.bitext import load_hf_split
from ..data.prompts import slots
from ..errors import UserError
from ..files import csv_records, json_lines

CONNECTORS = {"en": "or", "id": "atau"}  # the word before the last option, per prompt language


@dataclass
class TaskSpec:
    name: str
    kind: str
    data: dict
    templates: dict[str, list[str]]  # prompt language -> templates
    languages: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    verbalizers: dict[str, dict[str, str]] = field(default_factory=dict)  # prompt language -> label -> word
    label_column: str = "label"
    id_column: str | None = None  # a column naming each sentence, shared by all languages of a parallel task
    target_delimiter: str = " "
    directions: list[tuple[str, str]] = field(default_factory=list)
    max_new_tokens: int = 64
    source: str = ""

    def fingerprint(self) -> str:
        """A short hash of what decides the scores: templates, labels, verbalizers, data and split."""
        keys = ("kind", "data", "templates", "languages", "labels", "verbalizers", "label_column")
        spec = {k: getattr(self, k) for k in keys} | {"delimiter": self.target_delimiter}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def options(self, prompt_lang: str) -> str:
        """The labels as a prompt lists them, as the original InstructAlign code did: each quoted, the last
        after 'or' ('atau' in Indonesian), joined by commas when there are more than two."""
        quoted = [f'"{self.verbalizers[prompt_lang][label]}"' for label in self.labels]
        quoted[-1] = f"{CONNECTORS.get(prompt_lang, 'or')} {quoted[-1]}"
        return (", " if len(quoted) > 2 else " ").join(quoted)

    def template_ids(self, prompt_langs: list[str], first: int | None = None) -> list[tuple[str, str, str]]:
        """(template id such as 'en0', prompt language, template) for the chosen prompt languages (the first
        `first` templates of each, when given)."""
        return [
            (f"{pl}{i}", pl, t)
            for pl in prompt_langs
            for i, t in enumerate(self.templates.get(pl, [])[:first])
        ]


def listed(doc: dict, key: str, where: str) -> list:
    value = doc[key]
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: '{key}' must be a YAML list, e.g. {key}: [a, b]; got {value!r}")
    return value


def parse_verbalizers(doc, spec: TaskSpec, where: str) -> dict[str, dict[str, str]]:
    """prompt language -> label -> word; every label has a word, and no two labels share one."""
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise UserError(
            f"{where}: 'verbalizers' maps a prompt language to {{label: word}}, e.g. en: {{positive: good}}"
        )
    words = {str(pl): {str(k): str(v) for k, v in w.items()} for pl, w in doc.items()}
    for pl in spec.templates:
        if pl not in words:
            raise UserError(f"{where}: templates in '{pl}' have no verbalizers; add verbalizers.{pl}")
        missing = [label for label in spec.labels if label not in words[pl]]
        if missing:
            raise UserError(f"{where}: verbalizers.{pl} has no word for label(s) {', '.join(missing)}")
        used = [words[pl][label].strip() for label in spec.labels]
        if len(set(used)) < len(used):
            raise UserError(
                f"{where}: verbalizers.{pl} gives two labels the same word ({', '.join(used)}); rank "
                "classification cannot tell them apart"
            )
    return words


def lang_file(task: TaskSpec, root: str | None, lang: str) -> Path:
    split = task.data.get("split", "test")
    directory = (task.data.get("dirs") or {}).get(lang, lang)
    try:
        relative = task.data["path"].format(dir=directory, lang=lang, split=split)
    except (KeyError, IndexError, ValueError) as exc:
        raise UserError(
            f"{task.source}: data.path '{task.data['path']}' has an unknown slot ({exc}); use {{lang}}, "
            f"{{dir}} or {{split}}"
        ) from None
    if root is None:
        raise UserError(f"task {task.name} reads files under --data; give --data PATH (e.g. a NusaX folder)")
    return Path(root) / relative


def read_rows(path: Path) -> list[dict]:
    """Rows of a CSV/TSV (header = column names) or JSONL file, with their line numbers."""
    if not path.is_file():
        raise UserError(f"{path}: no such file; check --data and the task's data.path")
    if path.suffix.lower() in (".jsonl", ".json"):
        return [dict(obj, _line=n) for n, obj in json_lines(path)]
    records = csv_records(path)
    first = next(records, None)
    if first is None:
        raise UserError(f"{path}: file is empty")
    header = first[1]
    rows = []
    for line, cells in records:
        if len(cells) != len(header):
            raise UserError(f"{path} line {line}: expected {len(header)} cells, found {len(cells)}")
        rows.append(dict(zip(header, cells), _line=line))
    return rows


def load_examples(task: TaskSpec, root: str | None, lang: str, limit: int | None = None) -> list[dict]:
    """The rows of one language of a classification task, checked against the task's columns and labels."""
    if "hf" in task.data:
        config = task.data.get("config")
        ds = load_hf_split(
            task.data["hf"],
            config.format(lang=lang) if config else None,
            task.data.get("split", "test"),
            streaming=False,
        )
        rows = [dict(r, _line=i) for i, r in enumerate(ds)]
        where = f"hf:{task.data['hf']}"
    else:
        path = lang_file(task, root, lang)
        if not path.is_file():
            raise UserError(
                f"{path}: no file for language '{lang}' of task {task.name}; check --data or drop it from "
                "--langs"
            )
        rows = read_rows(path)
        where = str(path)
    rows = first_rows(rows, limit, spread=bool(task.data.get("sorted_by_label")))
    if not rows:
        raise UserError(f"{where}: no examples (a header and no rows?); language '{lang}' needs test rows")
    columns = set().union(*(slots(t) for ts in task.templates.values() for t in ts)) - {"options"}
    columns |= {task.label_column}
    columns |= {task.id_column} if task.id_column else set()
    for row in rows[:1]:
        for column in columns:
            if column not in row:
                raise UserError(
                    f"{where}: no column '{column}' (the task's templates/labels need it); columns: "
                    f"{', '.join(k for k in row if k != '_line')}"
                )
    for row in rows:
        label = str(row[task.label_column])
        if label not in task.labels:
            raise UserError(
                f"{where} line {row['_line']}: gold label '{label}' has no verbalizer; task labels: "
                f"{', '.join(task.labels)}"
            )
    return rows


def first_rows(rows: list[dict], limit: int | None, spread: bool) -> list[dict]:
    """The first `limit` rows, or — for a file sorted by label (data.sorted_by_label) — `limit` rows spread
    evenly over it, so that every label keeps its share (the same rows in every language of a parallel task).
    """
    if not limit or limit >= len(rows):
        return rows
    if not spread:
        return rows[:limit]
    return [rows[i * len(rows) // limit] for i in range(limit)]


def load_bitext_rows(task: TaskSpec, root: str | None) -> list[dict[str, str]]:
    """Rows {lang code: sentence} of a translation task's wide CSV."""
    path = lang_file(task, root, "")
    rows = read_rows(path)
    columns = task.data.get("columns") or {}
    codes = sorted({c for d in task.directions for c in d})
    for code in codes:
        if rows and columns.get(code, code) not in rows[0]:
            raise UserError(
                f"{path}: no column '{columns.get(code, code)}' for language '{code}'; columns: "
                f"{', '.join(k for k in rows[0] if k != '_line')}"
            )
    return [{code: row[columns.get(code, code)] for code in codes} for row in rows]
