"""program family (BD6xx) on real logs (examples/failures/return_value.bpf.c on 6.18) and on
the exact messages of older kernels and of unprivileged loads (this machine loads as root,
so pointer-leak messages are taken verbatim from kernel/bpf/verifier.c)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpfdoctor.diagnose import diagnose_log, lookup

LOGS = Path(__file__).resolve().parent / "data" / "logs"


def test_return_value_points_at_the_write_of_r0() -> None:
    d = diagnose_log((LOGS / "return_value.L5.log").read_text(), errno=22)
    assert (d.code, d.slug) == ("BD601", "return-value")
    assert d.details["register"] == "R0" and d.details["allowed"] == "[0, 1]"
    assert d.details["value"] == "a value in [0, 4294967295]"
    assert d.details["set_at"] == 10 and d.insn == 10
    assert d.source is not None and d.source.line == 37
    assert "set at insn 10 (line 37)" in d.summary and "[0, 1]" in d.summary


@pytest.mark.parametrize("msg, value, allowed", [
    ("At program exit the register R0 has smin=5 smax=5 should have been in [0, 1]",
     "5", "[0, 1]"),
    # 5.x wording: tnums
    ("At program exit the register R0 has value (0x5; 0x0) should have been in (0x0; 0x1)",
     "5", "(0x0; 0x1)"),
    ("At program exit the register R0 has unknown scalar value should have been in [0, 1]",
     "a value the verifier knows nothing about", "[0, 1]"),
    ("At program exit the register R0 is not a known value (map_value_or_null)",
     "a map_value_or_null pointer", None),
])
def test_return_value_wordings(msg: str, value: str, allowed: str | None) -> None:
    d = diagnose_log(f"4: (b7) r0 = 5                       ; R0=5\n5: (95) exit\n{msg}\n")
    assert d.slug == "return-value"
    assert d.details["value"] == value and d.details["allowed"] == allowed
    assert d.details["set_at"] == 4


@pytest.mark.parametrize("msg", [
    "unreachable insn 7",
    "jump out of range from insn 3 to 40",
    "invalid BPF_LD_IMM insn",
    "unknown opcode 8d",
    "last insn is not an exit or jmp",
    "BPF_ALU uses reserved fields",
    "invalid insn idx 12 insn_cnt 12",
])
def test_invalid_insn(msg: str) -> None:
    d = diagnose_log(f"{msg}\n", errno=22)
    assert (d.code, d.slug) == ("BD602", "invalid-insn")
    assert msg in d.summary and d.details["message"] == msg


def test_unreachable_insn_number_is_the_error_insn() -> None:
    d = diagnose_log("unreachable insn 7\n")
    assert d.insn == 7 and "(insn 7)" in d.summary


@pytest.mark.parametrize("msg, reg, into", [
    ("R1 leaks addr into map", "R1", "map"),
    ("R3 leaks addr into ctx", "R3", "ctx"),
    ("R2 leaks addr into mem", "R2", "mem"),
    ("R1 leaks addr into helper function", "R1", "helper function"),
    ("R0 leaks addr as return value", "R0", "the return value"),
])
def test_pointer_leak(msg: str, reg: str, into: str) -> None:
    d = diagnose_log(f"9: (7b) *(u64 *)(r0 +0) = r1\n{msg}\n", errno=13)
    assert (d.code, d.slug) == ("BD603", "pointer-leak")
    assert d.details == {"register": reg, "into": into}
    assert f"pointer in {reg} into {into}" in d.summary and "insn 9" in d.summary


def test_pointer_comparison() -> None:
    d = diagnose_log("4: (5d) if r1 != r2 goto pc+1\nR1 pointer comparison prohibited\n")
    assert d.slug == "pointer-leak" and d.details["register"] == "R1"


def test_catalogue_entries() -> None:
    for code, slug in [("BD601", "return-value"), ("BD602", "invalid-insn"),
                       ("BD603", "pointer-leak")]:
        c = lookup(code)
        assert c is not None and c.slug == slug and c.family == "program" and "\n" in c.fix
