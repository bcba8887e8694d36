"""`python -m instructalign ...`: the same as the `instructalign` command."""

import sys

from .cli import main

sys.exit(main())
