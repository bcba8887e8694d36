"""Keep README.md's flag tables true: they are generated from the config dataclasses, like `--help`.

`python -m instructalign.readme` rewrites every block between `<!-- flags:SECTION -->` and
`<!-- /flags -->`; a test fails when README.md and the fields disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .config import CONFIGS
from .flags import markdown_table

BLOCK = re.compile(r"(<!-- flags:(\w+) -->\n)(.*?)(<!-- /flags -->)", re.S)


def regenerate(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + markdown_table(CONFIGS[m.group(2)]) + "\n" + m.group(4), text)


def main(path: str = "README.md") -> int:
    readme = Path(path)
    text = readme.read_text("utf-8")
    new = regenerate(text)
    if new != text:
        readme.write_text(new, "utf-8")
        print(f"{path}: flag tables regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
