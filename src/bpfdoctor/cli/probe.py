"""``bpfdoctor probe``: which program and map types this kernel supports.

Partial: program types, tracing/lsm attach kinds and map types.  Helpers per type, kfuncs
and the per-kernel cache are not built yet."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ..probe.features import probe_btf_kinds, supports_map_type, supports_prog_type, verdict
from ..probe.minimal import ProbeResult
from ..sys import MapType, ProgType
from ._common import EXIT_OK, console


def _row(r: ProbeResult | None) -> dict[str, str | None]:
    if r is None:
        return {"verdict": "not probed", "errno": None, "evidence": "target not in vmlinux BTF"}
    return {"verdict": verdict(r), "errno": r.errno_name, "evidence": r.describe()}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def probe(as_json: bool) -> None:
    """Probe which program types, tracing attach kinds and map types this kernel accepts."""
    data = {
        "prog_types": {p.name.lower(): _row(supports_prog_type(p))
                       for p in ProgType if p != ProgType.UNSPEC},
        "attach_kinds": {k: _row(r) for k, r in probe_btf_kinds().items()},
        "map_types": {m.name.lower(): _row(supports_map_type(m))
                      for m in MapType if m.value != 0},
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        raise SystemExit(EXIT_OK)
    out = console()
    for section, rows in data.items():
        t = Table(title=section.replace("_", " "))
        t.add_column("kind")
        t.add_column("verdict")
        t.add_column("evidence")
        for name, row in rows.items():
            t.add_row(name, str(row["verdict"]), str(row["evidence"]))
        out.print(t)
    raise SystemExit(EXIT_OK)


COMMANDS = [probe]
