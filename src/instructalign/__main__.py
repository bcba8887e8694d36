"""`python -m instructalign ...`: the same as the `instructalign` command."""

from .cli import entry

entry()
