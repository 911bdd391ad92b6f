"""Parity with libbpf on a corpus nobody here wrote: the BPF objects inside Debian's
libbpf-tools binaries (see bpfdoctor.corpus and tests/support/corpus.py).

For every distinct object (tools that are symlinks to another tool's binary carry a
byte-identical copy and are checked once, under the real binary's name):

* each program gets the same verdict and errno from ``bpfdoctor.check.check_object`` as from
  the libbpf reference loader, both loading it on its own;
* for each program both load, the kernel holds the same instructions for both loads
  (BPF_OBJ_GET_INFO_BY_FD xlated), map ids aside.

Failures here are the measure of the CO-RE/externs work: the assertion message names every
program that differs, the category, and both loaders' reasons.  ``benchmarks/corpus.py``
prints the same comparison for the whole corpus at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from bpfdoctor.corpus import CorpusError
from support.corpus import (
    ObjectOutcome,
    ProgramOutcome,
    compare_object,
    compare_xlated,
    corpus_objects,
)
from support.reference import read_xlated, run_reference


def _objects() -> list[Path] | str:
    try:
        return corpus_objects(distinct=True)
    except CorpusError as e:
        return str(e)


_OBJECTS = _objects()
# Without the package there is no corpus; that is a broken set-up (the bootstrap installs
# it), so it fails rather than skips.
_PARAMS = _OBJECTS if isinstance(_OBJECTS, list) else [pytest.param(None, id="no-corpus")]


def _id(p: Path | None) -> str:
    return p.name.removesuffix(".bpf.o") if p is not None else "no-corpus"


class _Outcomes:
    """One comparison per object per session, shared by the tests below (each object is
    loaded once by each loader, plus once more by bpfdoctor for its xlated dump)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cache: dict[Path, ObjectOutcome] = {}

    def get(self, obj: Path | None) -> ObjectOutcome:
        if obj is None:
            pytest.fail(f"no corpus: {_OBJECTS}", pytrace=False)
        if obj not in self.cache:
            self.cache[obj] = compare_object(obj, xlated=True, workdir=self.workdir)
        return self.cache[obj]


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> _Outcomes:
    return _Outcomes(tmp_path_factory.mktemp("corpus-xlated"))


def _describe(p: ProgramOutcome) -> str:
    lines = [f"{p.program}: [{p.mismatch}] libbpf {p.libbpf_verdict}/{p.libbpf_errno}, "
             f"ours {p.ours_verdict}/{p.ours_errno}"]
    if p.ours_message:
        lines.append(f"    ours:   {p.ours_error}: {p.ours_message}")
    if p.libbpf_message:
        lines.append(f"    libbpf: {p.libbpf_message}")
    return "\n".join(lines)


def test_corpus_is_complete() -> None:
    """libbpf-tools 0.26 has 52 distinct binaries, each embedding one object; a change in
    extraction that loses objects must not silently shrink the tests below."""
    assert isinstance(_OBJECTS, list), _OBJECTS
    assert len(_OBJECTS) >= 50, [p.name for p in _OBJECTS]


@pytest.mark.parametrize("obj", _PARAMS, ids=_id)
def test_same_verdict_and_errno_as_libbpf(obj: Path | None, outcomes: _Outcomes) -> None:
    res = outcomes.get(obj)
    assert res.programs, f"{res.name}: no programs"
    bad = [p for p in res.programs if not p.agrees]
    assert not bad, (f"{res.name}: {len(bad)} of {len(res.programs)} programs differ from "
                     "libbpf:\n" + "\n".join(_describe(p) for p in bad))


@pytest.mark.parametrize("obj", _PARAMS, ids=_id)
def test_same_xlated_as_libbpf(obj: Path | None, outcomes: _Outcomes) -> None:
    """Programs both loaders load end up as the same instructions in the kernel."""
    res = outcomes.get(obj)
    compared = [p for p in res.programs if p.xlated is not None]
    differ = [p for p in compared if p.xlated != "same"]
    assert not differ, (f"{res.name}: {len(differ)} of {len(compared)} programs both loaders "
                        "load differ in xlated instructions:\n"
                        + "\n".join(f"{p.program}: {p.xlated}" for p in differ))


# ---- the oracle's xlated dump, checked against bpftool ----------------------------------

BPFFS = Path("/sys/fs/bpf")


def _corpus_object(tool: str) -> Path:
    assert isinstance(_OBJECTS, list), _OBJECTS
    found = [p for p in _OBJECTS if p.name == f"{tool}.bpf.o"]
    assert found, f"{tool} is not in the corpus"
    return found[0]


def _bpftool_xlated(obj: Path, out: Path) -> dict[str, bytes]:
    """Every program of ``obj`` loaded by ``bpftool prog loadall`` (its own libbpf and
    loading code), with the raw xlated bytes of ``bpftool prog dump xlated ... file``."""
    bpftool = shutil.which("bpftool")
    if bpftool is None or not os.path.ismount(BPFFS):
        pytest.skip("needs bpftool and a mounted bpffs at /sys/fs/bpf")
    pindir = Path(tempfile.mkdtemp(prefix="bpfdoctor-corpus-", dir=BPFFS))
    dumps = {}
    try:
        subprocess.run([bpftool, "prog", "loadall", str(obj), str(pindir)], check=True,
                       capture_output=True, timeout=120)
        for pin in sorted(pindir.iterdir()):
            raw = out / f"{pin.name}.bpftool"
            subprocess.run([bpftool, "prog", "dump", "xlated", "pinned", str(pin), "file",
                            str(raw)], check=True, capture_output=True, timeout=60)
            dumps[pin.name] = raw.read_bytes()
    finally:
        shutil.rmtree(pindir, ignore_errors=True)
    return dumps


def test_reference_xlated_matches_bpftool(tmp_path: Path) -> None:
    """The reference loader's --xlated files hold what bpftool reads back from the kernel
    for the same object (execsnoop: CO-RE, maps, .rodata), map ids aside; and the
    comparison is not vacuous: two different programs compare as different."""
    obj = _corpus_object("execsnoop")
    rows = run_reference(obj, xlated_dir=tmp_path / "ref")
    assert [r["verdict"] for r in rows] == ["ok"] * len(rows) and len(rows) >= 2, rows
    ours = {r["program"]: read_xlated(r) for r in rows}
    theirs = _bpftool_xlated(obj, tmp_path)
    assert set(theirs) == set(ours)
    for name, raw in ours.items():
        assert raw and len(raw) % 8 == 0, name
        assert compare_xlated(raw, theirs[name]) is None, name
    a, b = sorted(ours)[:2]
    diff = compare_xlated(ours[a], theirs[b])
    assert diff is not None and diff.libbpf != diff.ours


def test_reference_xlated_only_for_loaded_programs(tmp_path: Path) -> None:
    """A program that fails has no xlated file and no "xlated" key (bindsnoop: two of its
    programs fail a CO-RE relocation on this kernel)."""
    rows = run_reference(_corpus_object("bindsnoop"), xlated_dir=tmp_path)
    verdicts = {r["program"]: r["verdict"] for r in rows}
    assert set(verdicts.values()) == {"ok", "fail"}, verdicts
    for r in rows:
        path = tmp_path / f"{r['program']}.xlated"
        assert path.exists() == (r["verdict"] == "ok"), r
        assert r.get("xlated") == (str(path) if r["verdict"] == "ok" else None)
