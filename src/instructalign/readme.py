"""Keep the docs' generated tables true: the flag tables (docs/cli.md) come from the config dataclasses, like
`--help`, and the list of studies (README.md, docs/cli.md) from the registry (`study.STUDIES`).

`python -m instructalign.readme` rewrites every block between `<!-- flags:SECTION -->` and `<!-- /flags -->`,
and between `<!-- studies -->` and `<!-- /studies -->`; a test fails when the docs and the code disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .config import CONFIGS
from .flags import markdown_table
from .study import STUDIES

BLOCK = re.compile(r"(<!-- flags:(\w+) -->\n)(.*?)(<!-- /flags -->)", re.S)
STUDY_BLOCK = re.compile(r"(<!-- studies -->\n)(.*?)(<!-- /studies -->)", re.S)


def study_table() -> str:
    """Every registered study and the question it asks."""
    rows = ["| study | asks |", "| --- | --- |"]
    rows += [f"| `{name}` | {study.question} |" for name, study in STUDIES.items()]
    return "\n".join(rows)


def regenerate(text: str) -> str:
    text = BLOCK.sub(lambda m: m.group(1) + markdown_table(CONFIGS[m.group(2)]) + "\n" + m.group(4), text)
    return STUDY_BLOCK.sub(lambda m: m.group(1) + study_table() + "\n" + m.group(3), text)


GENERATED = ("README.md", "docs/cli.md")  # the files whose tables come from the code


def main(root: str = ".") -> int:
    for name in GENERATED:
        path = Path(root) / name
        text = path.read_text("utf-8")
        new = regenerate(text)
        if new != text:
            path.write_text(new, "utf-8")
            print(f"{path}: generated tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
