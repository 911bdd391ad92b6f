"""The ``bpfdoctor`` command: a thin layer over the library.

Exit codes: 0 all good, 1 a program failed (the diagnosis is the output), 2 usage or input
error (a file that is not a usable BPF object, a missing file, bad options).

Each module of this package holds one command (or a group) and lists it in ``COMMANDS``;
they are all registered on :func:`main` here, so adding a command touches one new file."""

from __future__ import annotations

import importlib
import pkgutil

import click

from .. import __version__
from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, console

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "console", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpfdoctor")
def main() -> None:
    """Load eBPF objects and explain why they fail."""


for _m in sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")):
    for _cmd in importlib.import_module(f"{__name__}.{_m}").COMMANDS:
        main.add_command(_cmd)


if __name__ == "__main__":  # pragma: no cover
    main()
