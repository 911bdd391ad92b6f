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
    if as_json and sarif:
        click.echo("bpfdoctor: --json and --sarif are exclusive", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        from .report.json import dumps

        click.echo(dumps(results))
    elif sarif:
        from .report import sarif as sarif_report

        click.echo(sarif_report.dumps(results))
    else:
        from .report.text import render

        render(results, _console(), verbose=verbose)
    if any(r.error is not None for r in results):
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FAIL if any(r.failed for r in results) else EXIT_OK)


@main.command()
@click.argument("what", required=False, default="-")
@click.option("--object", "obj", type=click.Path(dir_okay=False),
              help="The object the log came from: adds C source lines and map names.")
@click.option("--program", "-p", help="Which program of --object the log belongs to.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--list", "list_all", is_flag=True, help="List every diagnosis code.")
def explain(what: str, obj: str | None, program: str | None, as_json: bool,
            list_all: bool) -> None:
    """Explain a diagnosis CODE or SLUG (e.g. BD101, null-check-missing), or diagnose a
    verifier log pasted in FILE (or on standard input with '-'): a plain kernel log, libbpf or
    bpftool -d output, cilium/ebpf or bcc errors."""
    import json
    from pathlib import Path

    from .diagnose import diagnose_log, lookup
    from .report.diagnosis import render_cause, render_diagnosis

    console = _console()
    if list_all:
        from .diagnose import causes

        for c in sorted(causes(), key=lambda c: c.code):
            click.echo(f"{c.code}  {c.slug:24s} {c.title}")
        sys.exit(EXIT_OK)
    cause = lookup(what) if what != "-" and not Path(what).exists() else None
    if cause is not None:
        if as_json:
            click.echo(json.dumps({"code": cause.code, "slug": cause.slug, "title": cause.title,
                                   "family": cause.family, "explanation": cause.explanation,
                                   "fix": cause.fix}, indent=2))
        else:
            render_cause(cause, console)
        sys.exit(EXIT_OK)
    if what != "-" and not Path(what).exists():
        click.echo(f"bpfdoctor: '{what}' is neither a diagnosis code or slug nor a file "
                   "(see `bpfdoctor explain --help`)", err=True)
        sys.exit(EXIT_USAGE)
    try:
        raw = sys.stdin.buffer.read() if what == "-" else Path(what).read_bytes()
    except OSError as e:
        click.echo(f"bpfdoctor: cannot read {what}: {e.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    from .verifier import extract_logs

    spec = None
    if obj is not None:
        from .elf import load_collection_spec
        from .errors import ObjectError

        try:
            spec = load_collection_spec(obj)
        except ObjectError as e:
            click.echo(f"bpfdoctor: {e}", err=True)
            sys.exit(EXIT_USAGE)
    logs = extract_logs(raw)
    if not logs:
        click.echo("bpfdoctor: no verifier log found in the input", err=True)
        sys.exit(EXIT_USAGE)
    out = []
    for ex in logs:
        ps = None
        if spec is not None:
            name = program or ex.program
            if name is None and len(spec.programs) == 1:
                name = next(iter(spec.programs))
            ps = spec.programs.get(name) if name else None
        d = diagnose_log(ex.lines, errno=ex.errno, program=ps, spec=spec)
        out.append((ex, d))
    if as_json:
        click.echo(json.dumps({"version": 1, "logs": [
            {"program": ex.program, "format": ex.format, "errno": ex.errno,
             "diagnosis": d.to_dict()} for ex, d in out]}, indent=2))
    else:
        for ex, d in out:
            head = f"{ex.program or 'program'} ({ex.format} log)"
            console.print(f"[bold]{head}[/bold]")
            render_diagnosis(d, console, search=[str(Path(obj).parent)] if obj else None)
            console.print()
    sys.exit(EXIT_FAIL)


if __name__ == "__main__":  # pragma: no cover
    main()
