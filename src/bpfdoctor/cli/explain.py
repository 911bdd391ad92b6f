"""``bpfdoctor explain``: a diagnosis code in long form, or the diagnosis of a pasted log."""

from __future__ import annotations

import sys

import click

from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, console


@click.command()
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

    from ..diagnose import diagnose_log, lookup
    from ..report.diagnosis import render_cause, render_diagnosis

    out_console = console()
    if list_all:
        from ..diagnose import causes

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
            render_cause(cause, out_console)
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
    from ..verifier import extract_logs

    spec = None
    if obj is not None:
        from ..elf import load_collection_spec
        from ..errors import ObjectError

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
            out_console.print(f"[bold]{head}[/bold]")
            render_diagnosis(d, out_console, search=[str(Path(obj).parent)] if obj else None)
            out_console.print()
    sys.exit(EXIT_FAIL)


COMMANDS = [explain]
