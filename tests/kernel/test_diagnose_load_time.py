"""Diagnoses of what the loader resolves at load time, on the real kernel.

* core-relo-failed (BD701): programs whose CO-RE relocations this kernel cannot satisfy
  (tests/data/core_fail.bpf.c) are diagnosed by the field, type or enum value the kernel
  lacks, at the poisoned instruction, not as an unknown helper;
* kfunc-unavailable (BD305): a kfunc the program type is not offered
  (tests/data/kfunc_not_allowed.bpf.c), refused the same way under libbpf."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bpfdoctor.diagnose import diagnose_error
from bpfdoctor.elf import load_collection_spec
from bpfdoctor.errors import VerifierError
from bpfdoctor.loader import Collection, LoadOptions
from support.build import BUILD, compile_bpf, find_clang
from support.reference import run_reference

DATA = Path(__file__).resolve().parents[1] / "data"
OUT = BUILD / "diagnose-core"


@pytest.fixture(scope="module")
def core_fail() -> Path:
    """core_fail.bpf.c built against this kernel's vmlinux.h."""
    bpftool = shutil.which("bpftool")
    if bpftool is None or find_clang() is None:
        pytest.skip("bpftool and clang are needed to build the CO-RE object")
    OUT.mkdir(parents=True, exist_ok=True)
    header = OUT / "vmlinux.h"
    tmp = OUT / f"vmlinux.h.{os.getpid()}.tmp"
    with tmp.open("wb") as f:
        subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format",
                        "c"], stdout=f, check=True)
    os.replace(tmp, header)
    return compile_bpf(DATA / "core_fail.bpf.c", out=OUT / "core_fail.o", extra=[f"-I{OUT}"])


EXPECTED = {
    "unguarded_state": ("task_struct___old", "field 'state' does not exist"),
    "missing_enumval": ("pid_type___future", "enum value 'PIDTYPE_FUTURE___future'"),
    "signed_ctx": ("pt_regs___signed", "only pointers and unsigned integers"),
}


@pytest.mark.parametrize("prog", sorted(EXPECTED))
def test_core_relo_failed_names_the_missing_member(core_fail: Path, prog: str) -> None:
    spec = load_collection_spec(core_fail)
    with pytest.raises(VerifierError) as ei:
        Collection(spec, programs=[prog])
    err = ei.value
    d = diagnose_error(err, spec.programs[prog], spec)
    assert (d.code, d.slug) == ("BD701", "core-relo-failed"), d.summary
    local, reason = EXPECTED[prog]
    assert d.details["local_type"].endswith(local), d.details
    assert reason in d.summary and reason in d.details["reason"]
    # the relocation named is the one poisoned at the instruction the verifier stopped at
    assert d.insn is not None and d.details["relo_insn"] in (d.insn, d.insn - 1)
    poisoned = {r.relo.insn for r in err.core_relocations if r.poisoned}
    assert d.details["relo_insn"] in poisoned
    # ... and its C line is that instruction's, per the object's line info
    rec = spec.programs[prog].source_line(d.insn)
    assert rec is not None and d.source is not None and d.source.line == rec.line
    assert "unknown#" not in d.summary


def test_kfunc_not_allowed_for_program_type() -> None:
    src = DATA / "kfunc_not_allowed.bpf.c"
    obj = compile_bpf(src, out=OUT / "kfunc_not_allowed.o")
    (ref,) = run_reference(obj, log=True)
    assert ref["verdict"] == "fail" and ref["errno"] == "EACCES", ref
    spec = load_collection_spec(obj)
    (name,) = spec.programs
    with pytest.raises(VerifierError) as ei:
        Collection(spec, programs=[name], options=LoadOptions(all_maps=True)).close()
    assert ei.value.errno_name == "EACCES"
    assert "calling kernel function bpf_task_from_pid is not allowed" in str(ref["log"])
    d = diagnose_error(ei.value, spec.programs[name], spec)
    assert (d.code, d.slug) == ("BD305", "kfunc-unavailable")
    assert d.details == {"kfunc": "bpf_task_from_pid", "reason": "not-allowed",
                         "prog_type": "socket_filter"}
    bug = next(i for i, line in enumerate(src.read_text().splitlines(), 1)
               if "BUG" in line and not line.startswith("//"))
    assert d.source is not None and d.source.line == bug
    assert f"(line {bug})" in d.summary and "socket_filter programs" in d.summary
