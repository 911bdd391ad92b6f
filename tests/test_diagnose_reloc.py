"""reloc family (BD7xx).  core-relo-failed is checked on the real kernel in
tests/kernel/test_diagnose_reloc_kernel.py; here the matcher's choice of relocation, and the
map-reference messages (the loader never produces them; the text is the kernel's)."""

from __future__ import annotations

import pytest

from bpfdoctor.btf import CoreReloKind
from bpfdoctor.btf.core import CoreResult
from bpfdoctor.diagnose import diagnose, diagnose_log, lookup
from bpfdoctor.diagnose.model import Evidence
from bpfdoctor.spec import CoreReloRec
from bpfdoctor.verifier import parse_log

POISONED = """\
0: R1=ctx() R10=fp0
; struct task_struct___old *t = (void *)bpf_get_current_task(); @ core_fail.bpf.c:28
0: (85) call bpf_get_current_task#35  ; R0=scalar()
1: (85) call unknown#195896080
invalid func unknown#195896080
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def _result(insn: int, access: str, reason: str, poisoned: bool = True) -> CoreResult:
    return CoreResult(relo=CoreReloRec(insn, 5, "0:0", int(CoreReloKind.FIELD_BYTE_OFFSET)),
                      kind=CoreReloKind.FIELD_BYTE_OFFSET, local_type="task_struct___old",
                      access=access, poisoned=poisoned, reason=reason)


def test_core_relo_failed_picks_the_relocation_at_the_error_insn() -> None:
    results = [_result(7, "task_struct___old.flags", "elsewhere"),
               _result(1, "task_struct___old.state",
                       "field 'state' does not exist in struct task_struct in this kernel"),
               _result(1, "task_struct___old.pid", "resolved", poisoned=False)]
    d = diagnose(Evidence(log=parse_log(POISONED), errno=22, core_relocations=results))
    assert (d.code, d.slug) == ("BD701", "core-relo-failed")
    assert d.details["access"] == "task_struct___old.state" and d.details["relo_insn"] == 1
    assert d.details["kind"] == "byte_off"
    assert "field 'state' does not exist in struct task_struct" in d.summary
    assert "insn 1 (line 28)" in d.summary


def test_second_slot_of_a_poisoned_ld_imm64() -> None:
    log = POISONED.replace("1: (85) call unknown", "2: (85) call unknown")
    results = [_result(1, "task_struct___old.state", "gone"),
               _result(9, "task_struct___old.other", "gone too")]
    d = diagnose(Evidence(log=parse_log(log), core_relocations=results))
    assert d.details["relo_insn"] == 1


def test_core_relo_failed_without_results_still_explains() -> None:
    d = diagnose_log(POISONED)
    assert d.slug == "core-relo-failed" and "unknown#" not in d.summary
    assert "CO-RE relocation" in d.summary


@pytest.mark.parametrize("msg, details", [
    ("fd 7 is not pointing to valid bpf_map", {"fd": 7}),
    ("fd 7 is not pointing to valid bpf_map or btf", {"fd": 7}),
    ("invalid access to map value pointer, value_size=16 off=24",
     {"value_size": 16, "off": 24}),
])
def test_map_reloc(msg: str, details: dict[str, int]) -> None:
    d = diagnose_log(f"0: (18) r1 = 0x0\n{msg}\n", errno=22)
    assert (d.code, d.slug) == ("BD702", "map-reloc")
    assert d.details == details


def test_map_reloc_direct_value() -> None:
    d = diagnose_log("no direct value access support for this map type\n")
    assert d.slug == "map-reloc" and "no direct value access" in d.summary


def test_catalogue_entries() -> None:
    for code, slug in [("BD701", "core-relo-failed"), ("BD702", "map-reloc")]:
        c = lookup(code)
        assert c is not None and c.slug == slug and c.family == "reloc" and "\n" in c.fix
