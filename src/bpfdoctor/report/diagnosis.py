"""A diagnosis for people: the cause, the C line in its context with the faulty line marked,
the register state that mattered, the path that reached it, and the fix."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..diagnose import Cause, Diagnosis

_CONTEXT = 2


def source_excerpt(file: str | None, line: int | None, search: list[str] | None = None,
                   context: int = _CONTEXT) -> list[tuple[int, str]]:
    """Lines ``line-context .. line+context`` of the C file, if it can be found (as recorded
    in the BTF, or next to the object); empty otherwise."""
    if not file or not line:
        return []
    candidates = [Path(file)] + [Path(d) / Path(file).name for d in (search or [])]
    for c in candidates:
        try:
            lines = c.read_text(errors="replace").splitlines()
        except OSError:
            continue
        lo, hi = max(1, line - context), min(len(lines), line + context)
        return [(n, lines[n - 1]) for n in range(lo, hi + 1)]
    return []


def render_diagnosis(d: Diagnosis, console: Console, *, search: list[str] | None = None,
                     indent: str = "  ") -> None:
    console.print(Text.assemble(indent, (f"{d.code} {d.slug}", "bold red"), f": {d.title}"))
    console.print(Text(indent + d.summary))
    if d.source is not None and d.source.line:
        where = f"{d.source.file or '?'}:{d.source.line}"
        console.print(Text(f"{indent}at {where}", style="cyan"))
        excerpt = source_excerpt(d.source.file, d.source.line, search)
        if excerpt:
            for n, text in excerpt:
                mark = ">" if n == d.source.line else " "
                style = "bold" if n == d.source.line else "dim"
                console.print(Text(f"{indent}{mark} {n:5d} | {text}", style=style))
        elif d.source.text:
            console.print(Text(f"{indent}> {d.source.line:5d} | {d.source.text}", style="bold"))
    if d.insn is not None:
        console.print(Text(f"{indent}instruction {d.insn}", style="dim"))
    for reg, state in d.registers.items():
        console.print(Text(f"{indent}{reg} = {state}", style="yellow"))
    if d.path:
        hops = ", ".join(f"{a}->{b}" for a, b in d.path)
        console.print(Text(f"{indent}path: branches taken {hops}", style="dim"))
    for e in d.evidence[:6]:
        console.print(Text(f"{indent}| {e}", style="dim"))
    console.print(Text(f"{indent}fix: ", style="green") + Text(d.fix.splitlines()[0]))
    for line in d.fix.splitlines()[1:]:
        console.print(Text(f"{indent}     {line}"))


def render_cause(c: Cause, console: Console) -> None:
    """``bpfdoctor explain CODE``: the long form of a cause."""
    console.print(Text.assemble((f"{c.code} {c.slug}", "bold"), f" ({c.family})"))
    console.print(Text(c.title, style="bold"))
    console.print()
    console.print(c.explanation)
    console.print()
    console.print(Text("How to fix it:", style="green"))
    console.print(c.fix)
