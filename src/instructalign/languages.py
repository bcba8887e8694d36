"""Languages as data: ISO 639-3 code -> names and aliases, loaded from `languages.yaml`.

A user adds a language from a config file (`languages: [{code, name_en, name_id, aliases}]`) through
`register`, without editing code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from .errors import UserError
from .files import parse_yaml


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-3
    name_en: str  # used in English prompts
    name_id: str  # used in Indonesian prompts ("bahasa Jawa")
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def name(self, prompt_lang: str) -> str:
        """The language's name as a prompt in `prompt_lang` ('en' or 'id') writes it."""
        return self.name_id if prompt_lang == "id" else self.name_en


def _load_builtin() -> dict[str, Language]:
    rows = parse_yaml(resources.files(__package__).joinpath("languages.yaml").read_text("utf-8"))
    return {row["code"]: _from_row(row, "languages.yaml") for row in rows}


def _from_row(row: dict, where: str) -> Language:
    missing = [k for k in ("code", "name_en") if not row.get(k)]
    if missing:
        raise UserError(f"{where}: language entry {row!r} lacks {', '.join(missing)}; give code and name_en")
    return Language(
        code=str(row["code"]),
        name_en=str(row["name_en"]),
        name_id=str(row.get("name_id") or row["name_en"]),
        aliases=tuple(str(a) for a in row.get("aliases") or ()),
    )


LANGUAGES: dict[str, Language] = _load_builtin()


def register(rows: list[dict], where: str = "config") -> None:
    """Add (or override) languages given as config rows."""
    if rows and not isinstance(rows, list):
        raise UserError(
            f"{where}: 'languages' is a YAML list of mappings, e.g. languages: [{{code: rej, name_en: "
            f"Rejang}}]; got {rows!r}"
        )
    for row in rows or []:
        if not isinstance(row, dict):
            raise UserError(f"{where}: each entry under 'languages' must be a mapping with code and name_en")
        lang = _from_row(row, where)
        LANGUAGES[lang.code] = lang


def _alias_index() -> dict[str, str]:
    index = {}
    for lang in LANGUAGES.values():
        for key in (lang.code, lang.name_en, *lang.aliases):
            index[key.lower()] = lang.code
    return index


def lookup(name: str) -> str | None:
    """The ISO code for a code, English name or alias (case-insensitive), or None."""
    return _alias_index().get(name.strip().lower())


def label(code: str) -> str:
    """'Javanese (jav)': a language as tables name it (the code alone for one not known)."""
    lang = LANGUAGES.get(code)
    return f"{lang.name_en} ({code})" if lang else code


def resolve(name: str, where: str) -> str:
    """Like `lookup`, but a name that is not known is a user error naming `where`."""
    code = lookup(name)
    if code is None:
        raise UserError(
            f"{where}: unknown language '{name}'; known codes: {', '.join(sorted(LANGUAGES))} (add one under "
            "'languages:' in a config file)"
        )
    return code


def resolve_list(names: str | list[str] | None, where: str) -> list[str]:
    """Resolve 'jav,sun' or ['jav', 'sun'] to codes, keeping order and dropping repeats."""
    if names is None:
        return []
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    codes = []
    for n in names:
        code = resolve(str(n), where)
        if code not in codes:
            codes.append(code)
    return codes
