"""Reading the verifier's story for the cause families: which instruction wrote a register,
where a value came from, which helper a call names, the C line of an instruction.  One copy,
shared by every family."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ...verifier.log import Insn, VerifierLog
from ...verifier.regs import RegState
from ..engine import source_for
from ..model import Evidence

_CALL_NAME = re.compile(r"call ([A-Za-z_][\w.]*)#(-?\d+)")
_CALL_ANY = re.compile(r"call (?!pc[+-])(\S+)")

_MOV = re.compile(r"^[rw](\d+) = [rw](\d+)$")
_WRITES = re.compile(r"^[rw](\d+) (?:[-+*/%&|^]|<<|>>|s>>|s/|s%)?=(?!=)")
_CALL = re.compile(r"^call ([A-Za-z_][A-Za-z0-9_]*)")
_STORE = re.compile(r"^(?:lock )?\*\((u8|u16|u32|u64) \*\)\(r(\d+) ([-+]\d+)\)")
_LOAD = re.compile(r"^[rw]\d+ = \*\((u8|u16|u32|u64) \*\)\(r(\d+) ([-+]\d+)\)")


def first_match(pattern: re.Pattern[str], lines: Iterable[str]) -> re.Match[str] | None:
    """The first error line ``pattern`` finds (``search``), or None."""
    for line in lines:
        m = pattern.search(line)
        if m:
            return m
    return None


def path_before(log: VerifierLog, idx: int | None) -> list[int]:
    """Instructions on the failing path before ``idx``, most recent first."""
    path = log.path
    if idx is not None and idx in path:
        cut = len(path) - 1 - path[::-1].index(idx)
        path = path[:cut]
    return path[::-1]


def writer(log: VerifierLog, reg: int, before: int | None) -> Insn | None:
    """The last instruction on the failing path (before ``before``) that wrote ``reg``: an
    assignment or ALU op on it, or a helper/kfunc call for R0."""
    for idx in path_before(log, before):
        if idx not in log.insns:
            continue
        ins = log.insns[idx]
        if ins.opcode == 0x85:
            if reg == 0 or (1 <= reg <= 5 and ins.is_helper_call):
                return ins
            continue
        m = _WRITES.match(ins.text)
        if m and int(m.group(1)) == reg:
            return ins
    return None


def origin(log: VerifierLog, reg: int, before: int | None) -> Insn | None:
    """Where the value in ``reg`` came from: :func:`writer`, followed back through plain
    register moves (``r6 = r0``) to the call or load that produced it."""
    seen = 0
    ins = writer(log, reg, before)
    while ins is not None and seen < 64:
        m = _MOV.match(ins.text)
        if not m:
            return ins
        seen += 1
        ins = writer(log, int(m.group(2)), ins.idx)
    return ins


def callee(ins: Insn | None) -> str | None:
    """``bpf_map_lookup_elem`` for ``call bpf_map_lookup_elem#1``; None for other insns."""
    if ins is None or ins.opcode != 0x85:
        return None
    m = _CALL.match(ins.text)
    return m.group(1) if m and not ins.text.startswith("call pc") else None


def reg_at_error(ev: Evidence, reg: int) -> RegState | None:
    """What the verifier knew about ``reg`` at the failing instruction (None without
    states in the log)."""
    st = ev.log.error_state
    return st.reg(reg) if st is not None else None


def error_insn(ev: Evidence) -> Insn | None:
    return ev.log.error_instruction


def insn_ref(ins: Insn | None, idx: int | None = None) -> str:
    """``insn 9 (`lock *(u64 *)(r0 +0) += r1`)``, or ``insn 9``, or ``the failing
    instruction`` when the log names none."""
    if ins is not None:
        return f"insn {ins.idx} (`{ins.text}`)"
    return f"insn {idx}" if idx is not None else "the failing instruction"


def access_of(ins: Insn | None) -> tuple[str, int, int, int] | None:
    """``(kind, size, base register, offset)`` of a load or store instruction; kind is
    ``read`` or ``write``."""
    if ins is None:
        return None
    m = _STORE.match(ins.text)
    kind = "write"
    if m is None:
        m = _LOAD.match(ins.text)
        kind = "read"
    if m is None:
        return None
    return kind, int(m.group(1)[1:]) // 8, int(m.group(2)), int(m.group(3))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def call_at(log: VerifierLog, idx: int | None) -> tuple[str, int | None] | None:
    """``(name, id)`` of the helper or kfunc called by instruction ``idx``, per the log's
    disassembly (``call bpf_map_lookup_elem#1``, ``call bpf_obj_new_impl``); None when the
    log does not show that instruction or it is not a call."""
    if idx is None or idx not in log.insns:
        return None
    ins = log.insns[idx]
    if ins.opcode != 0x85:
        return None
    m = _CALL_NAME.match(ins.text)
    if m:
        return m.group(1), int(m.group(2))
    m2 = _CALL_ANY.match(ins.text)
    return (m2.group(1), None) if m2 else None




def where(ev: Evidence, idx: int | None) -> str:
    """`` (line N)`` for instruction ``idx`` (from the log's source lines or the object's BTF
    line info, as the diagnosis itself), ``""`` when neither knows it."""
    loc = source_for(ev, idx)
    return f" (line {loc.line})" if loc is not None and loc.line else ""


def prog_type(ev: Evidence) -> str | None:
    """``socket_filter`` for the program's type, when the object is known."""
    if ev.program is None:
        return None
    from ...sys import ProgType

    try:
        return ProgType(ev.program.type).name.lower()
    except ValueError:
        return None
