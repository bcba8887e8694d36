"""The report's blocks, typed: each renders itself as markdown and as HTML, so that report.md and the
self-contained report.html are written from one list and say the same."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2

    def markdown(self) -> str:
        return f"{'#' * self.level} {self.text}"

    def html(self, images: dict[str, bytes]) -> str:
        return f"<h{self.level}>{html.escape(self.text)}</h{self.level}>"


@dataclass(frozen=True)
class Paragraph:
    text: str

    def markdown(self) -> str:
        return self.text

    def html(self, images: dict[str, bytes]) -> str:
        return f"<p>{inline_markup(self.text)}</p>"


@dataclass(frozen=True)
class Caption:
    text: str

    def markdown(self) -> str:
        return f"*{self.text}*"

    def html(self, images: dict[str, bytes]) -> str:
        return f'<p class="caption">{inline_markup(self.text)}</p>'


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        return markdown_table(self.header, self.rows)

    def html(self, images: dict[str, bytes]) -> str:
        return html_table(self.header, self.rows)


@dataclass(frozen=True)
class Headline:
    """The answer table: its last column a verdict, marked by its word (shown, not shown, not testable)."""

    header: list[str]
    rows: list[list[str]]
    kinds: list[str]

    def markdown(self) -> str:
        marked = [r[:-1] + [f"**{r[-1]}**" if k == "shown" else r[-1]] for r, k in zip(self.rows, self.kinds)]
        return markdown_table(self.header, marked)

    def html(self, images: dict[str, bytes]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in r[:-1])
            + f'<td class="v-{kind.replace(" ", "-") or "none"}">{html.escape(r[-1])}</td></tr>'
            for r, kind in zip(self.rows, self.kinds)
        )
        return f'<table id="headline"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


@dataclass(frozen=True)
class Image:
    name: str  # a PNG written beside the report

    def markdown(self) -> str:
        return f"![{self.name}]({self.name})"

    def html(self, images: dict[str, bytes]) -> str:
        data = base64.b64encode(images[self.name]).decode()
        name = html.escape(self.name)
        return f'<p><img id="{name[:-4]}" alt="{name}" src="data:image/png;base64,{data}"></p>'


Block = Heading | Paragraph | Caption | Table | Headline | Image


def to_markdown(blocks: list[Block]) -> str:
    return "\n\n".join(b.markdown() for b in blocks) + "\n"


CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.2em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.5em;margin:0.3em 0}"
    "table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px "
    "8px;"
    "text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}"
    "img{max-width:100%}code{background:#f6f6f6}p.caption{font-size:0.85em;color:#555;margin:0.2em 0 0.6em}"
    "#headline{font-size:1em}#headline td{white-space:nowrap}"
    "#headline td:last-child,#headline th:last-child{text-align:left}"
    ".v-shown{background:#d9f2dd;color:#14532d;font-weight:600}.v-not-shown{background:#f1f1f1;color:#444}"
    ".v-not-testable{background:#fdebd3;color:#7c2d12;font-weight:600}#groups{max-height:330px}"
)


def inline_markup(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def to_html(blocks: list[Block], images: dict[str, bytes]) -> str:
    title = html.escape(blocks[0].text)
    return (
        "<!DOCTYPE html>\n<html><head><meta "
        f"charset='utf-8'><title>{title}</title><style>{CSS}</style></head>"
        "<body>\n" + "\n".join(b.html(images) for b in blocks) + "\n</body></html>\n"
    )
