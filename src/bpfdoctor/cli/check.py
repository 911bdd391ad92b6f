"""``bpfdoctor check``: load each program of each object on its own."""

from __future__ import annotations

import sys

import click

from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, console


@click.command()
@click.argument("objects", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--program", "-p", "programs", multiple=True,
              help="Only this program (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (version 1).")
@click.option("--sarif", is_flag=True, help="SARIF 2.1.0 output for code scanning.")
@click.option("--verbose", "-v", is_flag=True, help="Show the whole verifier log of failures.")
@click.option("--log-level", type=click.IntRange(0, 7), default=None,
              help="Verifier log level for the retry of a failed load (default 1, plus stats).")
@click.option("--used-maps-only", is_flag=True,
              help="Create only the maps each program uses (default: every map of the object, "
                   "as libbpf does).")
def check(objects: tuple[str, ...], programs: tuple[str, ...], as_json: bool, sarif: bool,
          verbose: bool, log_level: int | None, used_maps_only: bool) -> None:
    """Load each program of each OBJECT on its own, one row per program."""
    from ..check import check_object
    from ..loader import LoadOptions
    from ..sys import kernel_available

    ok, reason = kernel_available()
    if not ok:
        click.echo(f"bpfdoctor: cannot use the bpf() system call: {reason}", err=True)
        sys.exit(EXIT_USAGE)
    opts = LoadOptions(stats=True, all_maps=not used_maps_only)
    if log_level is not None:
        opts.retry_log_level = log_level | 4
    results = [check_object(o, programs=programs or None, options=opts) for o in objects]
    if as_json and sarif:
        click.echo("bpfdoctor: --json and --sarif are exclusive", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        from ..report.json import dumps

        click.echo(dumps(results))
    elif sarif:
        from ..report import sarif as sarif_report

        click.echo(sarif_report.dumps(results))
    else:
        from ..report.text import render

        render(results, console(), verbose=verbose)
    if any(r.error is not None for r in results):
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAIL if any(r.failed for r in results) else EXIT_OK)


COMMANDS = [check]
