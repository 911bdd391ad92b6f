"""The ``bpfdoctor`` command: a thin layer over the library.

Exit codes: 0 all good, 1 a program failed (the diagnosis is the output), 2 usage or input
error (a file that is not a usable BPF object, a missing file, bad options)."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from . import __version__

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def _console() -> Console:
    """A terminal gets its own width; a pipe or CI log gets room for a whole table row."""
    return Console() if sys.stdout.isatty() else Console(width=160)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpfdoctor")
def main() -> None:
    """Load eBPF objects and explain why they fail."""


@main.command()
@click.argument("objects", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--program", "-p", "programs", multiple=True,
              help="Only this program (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (version 1).")
@click.option("--verbose", "-v", is_flag=True, help="Show the whole verifier log of failures.")
@click.option("--log-level", type=click.IntRange(0, 7), default=None,
              help="Verifier log level for the retry of a failed load (default 1, plus stats).")
@click.option("--used-maps-only", is_flag=True,
              help="Create only the maps each program uses (default: every map of the object, "
                   "as libbpf does).")
def check(objects: tuple[str, ...], programs: tuple[str, ...], as_json: bool, verbose: bool,
          log_level: int | None, used_maps_only: bool) -> None:
    """Load each program of each OBJECT on its own, one row per program."""
    from .check import check_object
    from .loader import LoadOptions
    from .sys import kernel_available

    ok, reason = kernel_available()
    if not ok:
        click.echo(f"bpfdoctor: cannot use the bpf() system call: {reason}", err=True)
        sys.exit(EXIT_USAGE)
    opts = LoadOptions(stats=True, all_maps=not used_maps_only)
    if log_level is not None:
        opts.retry_log_level = log_level | 4
    results = [check_object(o, programs=programs or None, options=opts) for o in objects]
    if as_json:
        from .report.json import dumps

        click.echo(dumps(results))
    else:
        from .report.text import render

        render(results, _console(), verbose=verbose)
    if any(r.error is not None for r in results):
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAIL if any(r.failed for r in results) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
