"""Parity with libbpf: every program of every bundled example gets the same verdict and the
same errno from bpfdoctor as from a libbpf-based C loader (built here with gcc -lbpf) that
loads each program on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpfdoctor.check import check_object
from bpfdoctor.loader import LoadOptions
from support.build import compile_bpf, example_sources
from support.reference import run_reference

SOURCES = example_sources() + example_sources("failures")


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}" if p.parent.name == "failures" else p.name


@pytest.mark.parametrize("src", SOURCES, ids=_id)
def test_same_verdict_and_errno_as_libbpf(src: Path) -> None:
    obj = compile_bpf(src)
    ref = run_reference(obj)
    if len(ref) == 1 and ref[0].get("program") is None:
        # libbpf could not even open the object (e.g. legacy maps, which libbpf 1.x dropped);
        # there is nothing to compare program by program.
        pytest.skip(f"libbpf refuses the object: errno {ref[0].get('errno')}")
    ours = check_object(obj, options=LoadOptions())
    assert ours.error is None, ours.error
    got = {p.name: (p.verdict, p.errno_name) for p in ours.programs}
    want = {r["program"]: (r["verdict"], r["errno"]) for r in ref}
    assert got == want
