"""Failures found before BPF_PROG_LOAD (no verifier log) still get a specific diagnosis, and
the same verdict and errno as libbpf."""

from __future__ import annotations

from pathlib import Path

from bpfdoctor.check import check_object
from support.build import BUILD, compile_bpf
from support.reference import run_reference

DATA = Path(__file__).parent.parent / "data"
SRC = DATA / "load_time_missing.bpf.c"


def _check(obj: Path):  # type: ignore[no-untyped-def]
    res = check_object(obj)
    assert res.error is None
    (prog,) = res.programs
    (ref,) = run_reference(obj)
    assert (prog.verdict, prog.errno_name) == (ref["verdict"], ref["errno"])
    return prog


def test_missing_attach_target() -> None:
    p = _check(compile_bpf(SRC, BUILD / "tests" / "load_time_target.o", extra=[]))
    assert p.verdict == "fail" and p.errno_name == "ESRCH"
    assert p.diagnosis.slug == "attach-target-missing"
    assert "no_such_function_xyz" in p.diagnosis.summary
    assert p.diagnosis.details["target"] == "no_such_function_xyz"
    assert p.diagnosis.details["did_you_mean"] == []


def test_attach_target_typo_did_you_mean() -> None:
    """The closest names come from the running kernel's BTF."""
    p = _check(compile_bpf(SRC, BUILD / "tests" / "load_time_typo.o", extra=["-DTYPO_TARGET"]))
    assert p.diagnosis.slug == "attach-target-missing"
    assert p.diagnosis.details["did_you_mean"][0] == "do_unlinkat"
    assert "did you mean 'do_unlinkat'" in p.diagnosis.summary


def test_missing_kfunc() -> None:
    p = _check(compile_bpf(SRC, BUILD / "tests" / "load_time_kfunc.o",
                           extra=["-DMISSING_KFUNC"]))
    assert p.verdict == "fail"
    assert p.diagnosis.slug == "extern-unresolved"
    assert "bpf_no_such_kfunc_xyz" in p.diagnosis.summary and "kfunc" in p.diagnosis.summary
