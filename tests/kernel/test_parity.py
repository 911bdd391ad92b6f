"""Parity with libbpf: every program of every bundled example gets the same verdict and the
same errno from bpfdoctor as from a libbpf-based C loader (built here with gcc -lbpf) that
loads each program on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpfdoctor import load_collection_spec
from bpfdoctor.check import check_object
from bpfdoctor.loader import LoadOptions
from bpfdoctor.spec import MapKind
from support.build import compile_bpf, example_sources
from support.reference import run_reference

SOURCES = example_sources() + example_sources("failures")


def _id(p: Path) -> str:
    return f"{p.parent.name}/{p.name}" if p.parent.name == "failures" else p.name


@pytest.mark.parametrize("src", SOURCES, ids=_id)
def test_same_verdict_and_errno_as_libbpf(src: Path) -> None:
    obj = compile_bpf(src)
    ref = run_reference(obj)
    ours = check_object(obj, options=LoadOptions(all_maps=True))
    assert ours.error is None, ours.error
    if len(ref) == 1 and ref[0].get("program") is None:
        # libbpf refused the whole object.  The one known, deliberate difference: legacy
        # `SEC("maps")` definitions, which libbpf 1.x dropped and bpfdoctor (like
        # cilium/ebpf) still loads.  Anything else is a parity failure.
        spec = load_collection_spec(obj)
        assert ref[0]["errno"] == "ENOTSUP", ref
        assert any(m.kind == MapKind.LEGACY for m in spec.maps.values()), ref
        assert all(p.verdict == "ok" for p in ours.programs), ours.programs
        return
    got = {p.name: (p.verdict, p.errno_name) for p in ours.programs}
    want = {r["program"]: (r["verdict"], r["errno"]) for r in ref}
    assert got == want
