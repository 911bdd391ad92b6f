"""What every command shares: exit codes and the console."""

from __future__ import annotations

import sys

from rich.console import Console

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def console() -> Console:
    """A terminal gets its own width; a pipe or CI log gets room for a whole table row."""
    return Console() if sys.stdout.isatty() else Console(width=160)
