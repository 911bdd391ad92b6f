"""Human output of ``bpfdoctor check``: one veristat-style row per program, then the details
of every failure (the verifier's error line and the end of its log)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..check import ObjectResult, ProgramResult

_TAIL = 8


def _num(v: int | None) -> str:
    return "-" if v is None else str(v)


def _verdict(p: ProgramResult) -> Text:
    if p.verdict == "ok":
        return Text("ok", style="green")
    if p.verdict == "fail":
        return Text("FAIL", style="bold red")
    return Text(p.verdict, style="yellow")


def _object_table(o: ObjectResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold", pad_edge=False,
                  padding=(0, 1), collapse_padding=True)
    for col, just in (("Program", "left"), ("Type", "left"), ("Verdict", "left"),
                      ("Errno", "left"), ("Insns", "right"), ("States", "right"),
                      ("Peak", "right"), ("Time(us)", "right"), ("Xlated(B)", "right")):
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for p in o.programs:
        s = p.stats
        table.add_row(p.name, p.type, _verdict(p), p.errno_name or "-",
                      _num(s.insns_processed), _num(s.total_states), _num(s.peak_states),
                      _num(s.verification_us), _num(p.xlated_bytes))
    return table


def render(objects: Sequence[ObjectResult], console: Console, *, verbose: bool = False) -> None:
    """One table per object (veristat's columns), then every failure with the verifier's error
    line and the end of its log."""
    for n, o in enumerate(objects):
        if n:
            console.print()
        if o.error is not None:
            console.print(Text.assemble((o.path, "bold"), ": ", ("ERROR", "bold magenta"),
                                        f" ({o.error.kind}) ", o.error.message))
            continue
        if not o.programs:
            console.print(Text.assemble((o.path, "bold"), ": no programs"))
            continue
        console.print(Text(o.path, style="bold"))
        console.print(_object_table(o))
    for o in objects:
        for w in o.warnings:
            console.print(Text(f"warning: {o.path}: {w}", style="yellow"))
        for p in o.programs:
            if p.verdict != "fail":
                continue
            console.print()
            console.print(Text.assemble((f"{p.name}", "bold"), f" ({p.section}, {o.path}): ",
                                        (p.errno_name or "?", "red"), " ", p.message or ""))
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
