"""Human output of ``bpfdoctor check``: one veristat-style row per program, then the details
of every failure (the verifier's error line and the end of its log)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..check import ObjectResult, ProgramResult
from .diagnosis import render_diagnosis

_TAIL = 8


def _num(v: int | None) -> str:
    return "-" if v is None else str(v)


def _verdict(p: ProgramResult) -> Text:
    if p.verdict == "ok":
        return Text("ok", style="green")
    if p.verdict == "fail":
        return Text("FAIL", style="bold red")
    return Text(p.verdict, style="yellow")


def _table(objects: Sequence[ObjectResult]) -> Table:
    """One row per program, veristat's columns; the object is named on its first row (and
    left out when there is only one object)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False,
                  padding=(0, 1), collapse_padding=True)
    many = len(objects) > 1
    cols = [("Object", "left")] if many else []
    cols += [("Program", "left"), ("Type", "left"), ("Verdict", "left"), ("Errno", "left"),
             ("Insns", "right"), ("States", "right"), ("Peak", "right"),
             ("Time(us)", "right"), ("Xlated(B)", "right"), ("Diagnosis", "left")]
    for col, just in cols:
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for o in objects:
        first = [o.path.rsplit("/", 1)[-1]] if many else []
        if o.error is not None or not o.programs:
            what = Text(f"ERROR ({o.error.kind})", style="bold magenta") if o.error else \
                Text("no programs", style="yellow")
            d = o.diagnosis if o.error is not None else None
            table.add_row(*first, "-", "-", what, *["-"] * 6, d.slug if d else "-")
            continue
        for p in o.programs:
            s = p.stats
            table.add_row(*first, p.name, p.type, _verdict(p), p.errno_name or "-",
                          _num(s.insns_processed), _num(s.total_states), _num(s.peak_states),
                          _num(s.verification_us), _num(p.xlated_bytes),
                          p.diagnosis.slug if p.diagnosis is not None else "")
            first = [""] if many else []
    return table


def render(objects: Sequence[ObjectResult], console: Console, *, verbose: bool = False) -> None:
    """The table, then every object error and every failure with the verifier's error line
    and the end of its log."""
    if len(objects) == 1:
        console.print(Text(objects[0].path, style="bold"))
    console.print(_table(objects))
    for o in objects:
        if o.error is not None:
            console.print()
            console.print(Text.assemble((o.path, "bold"), ": ", (o.error.kind, "magenta"),
                                        ": ", o.error.message))
            d = o.diagnosis
            if d is not None:
                console.print(Text.assemble("  ", (f"{d.code} {d.slug}", "bold cyan"),
                                            f": {d.title}"))
                console.print(Text("  fix: " + d.fix.replace("\n", "\n       ")))
    for o in objects:
        for w in o.warnings:
            console.print(Text(f"warning: {o.path}: {w}", style="yellow"))
        for p in o.programs:
            if p.verdict != "fail":
                continue
            console.print()
            console.print(Text.assemble((f"{p.name}", "bold"), f" ({p.section}, {o.path}): ",
                                        (p.errno_name or "?", "red"), " ", p.message or ""))
            if p.diagnosis is not None:
                render_diagnosis(p.diagnosis, console, search=[str(Path(o.path).parent)])
                if not verbose:
                    continue
            tail = p.log if verbose else p.log[-_TAIL:]
            if tail:
                if not verbose and len(p.log) > _TAIL:
                    console.print(Text(f"  ... {len(p.log) - _TAIL} earlier log lines "
                                       "(--verbose shows all)", style="dim"))
                for line in tail:
                    console.print(Text("  " + line, style="dim"))
            if p.truncated:
                console.print(Text("  (verifier log truncated: only its end was kept)",
                                   style="yellow"))
