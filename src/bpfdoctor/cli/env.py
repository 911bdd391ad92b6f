"""``bpfdoctor env``: the machine's side of loading BPF programs."""

from __future__ import annotations

import json
import sys

import click

from ._common import EXIT_FAIL, EXIT_OK, console


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Exit 1 when any finding is a problem.")
def env(as_json: bool, strict: bool) -> None:
    """Report kernel config, BTF, JIT, sysctls, lockdown/LSMs, capabilities, memlock,
    mounts and refused program kinds: each finding ok / warn / problem, with why and what
    to do."""
    from ..probe.env import PROBLEM, environment

    findings = environment()
    if as_json:
        click.echo(json.dumps({"version": 1, "findings": [f.to_dict() for f in findings]},
                              indent=2))
    else:
        from rich.table import Table

        t = Table(show_lines=False)
        for col in ("finding", "status", "value", "why / fix"):
            t.add_column(col, overflow="fold")
        style = {"ok": "green", "warn": "yellow", "problem": "bold red"}
        for f in findings:
            note = f.why + (f" → {f.fix}" if f.fix else "")
            t.add_row(f.name, f"[{style[f.status]}]{f.status}[/]", f.value, note)
        console().print(t)
    bad = any(f.status == PROBLEM for f in findings)
    sys.exit(EXIT_FAIL if strict and bad else EXIT_OK)


COMMANDS = [env]
