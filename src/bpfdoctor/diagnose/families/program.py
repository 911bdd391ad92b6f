"""Causes of the 'program' family (BD6xx): the program as a whole breaks a rule of its type or
of the instruction set: its return value, malformed or unreachable instructions, pointers
leaked to places unprivileged programs may not put them."""

from __future__ import annotations

import re

from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import first_match, where, writer

# 6.6+: "... R0 has smin=5 smax=5 should have been in [0, 1]" / "has unknown scalar value";
# before: "... R0 has value (0x5; 0x0) should have been in (0x0; 0x1)"; and
# "... R0 is not a known value (ptr_)".
_RETVAL = re.compile(r"At (.+?) the register R(\d+) (has (?:value )?(.+?)|is not a known value"
                     r" \((.*?)\))(?: should have been in (.+?))?\s*$")


_BOUND = re.compile(r"\b(smin|smax)=(-?\w+)")
_TNUM = re.compile(r"\((0x[0-9a-f]+); (0x[0-9a-f]+)\)")


def _describe(value: str) -> str:
    """The kernel's rendering of R0 in words: ``smin=5 smax=5`` -> ``5``, ``smin=0
    smax=7`` -> ``a value in [0, 7]``, tnum ``(0x5; 0x0)`` -> ``5``."""
    bounds = dict(_BOUND.findall(value))
    if "smin" in bounds and "smax" in bounds:
        lo, hi = bounds["smin"], bounds["smax"]
        return lo if lo == hi else f"a value in [{lo}, {hi}]"
    t = _TNUM.fullmatch(value.strip())
    if t is not None and int(t.group(2), 16) == 0:
        return str(int(t.group(1), 16))
    if value.strip() == "unknown scalar value":
        return "a value the verifier knows nothing about"
    return value.strip()


def _return_value(ev: Evidence) -> Match | None:
    hit = first_match(_RETVAL, ev.log.error_lines)
    if hit is None:
        return None
    m = hit
    where_ctx, reg = m.group(1), int(m.group(2))
    value = (_describe(m.group(4)) if m.group(4) is not None
             else f"a {m.group(5) or 'non-scalar'} pointer")
    allowed = m.group(6)
    details: dict[str, object] = {"register": f"R{reg}", "value": value, "allowed": allowed,
                                  "context": where_ctx}
    exit_insn = ev.log.error_insn
    setter = writer(ev.log, reg, exit_insn)
    insn = None
    set_at = ""
    if setter is not None:
        insn = setter.idx
        details["set_at"] = setter.idx
        set_at = f", set at insn {setter.idx}{where(ev, setter.idx)} ({setter.text})"
    want = f", but it must be in {allowed}" if allowed else ", but it must be a known scalar"
    return Match(f"at {where_ctx} R{reg} is {value}{set_at}{want}", insn=insn, details=details)


_INVALID = [
    re.compile(r"unreachable insn (\d+)"),
    re.compile(r"jump out of range from insn (\d+) to (-?\d+)"),
    re.compile(r"invalid BPF_LD_IMM insn"),
    re.compile(r"invalid bpf_ld_imm64 insn|unrecognized bpf_ld_imm64 insn"),
    re.compile(r"unknown opcode ([0-9a-fx]+)"),
    re.compile(r"invalid insn idx (\d+)"),
    re.compile(r"last insn is not an exit or jmp"),
    re.compile(r"(BPF_\S+) uses reserved fields"),
    re.compile(r"^R(\d+) is invalid$"),
    re.compile(r"frame pointer is read only"),
    re.compile(r"^div by zero$"),  # a constant divisor of 0 (BPF_K): refused as written
]


def _invalid_insn(ev: Evidence) -> Match | None:
    for pattern in _INVALID:
        hit = first_match(pattern, ev.log.error_lines)
        if hit is None:
            continue
        line = hit.string.strip()
        at = ev.log.error_insn
        loc = f" (insn {at}{where(ev, at)})" if at is not None else ""
        return Match(f"the instruction stream is malformed: {line}{loc}",
                     details={"message": line})
    return None


_LEAK = re.compile(r"R(\d+) leaks addr (?:into (\S+(?: function)?)|as return value)")
_PTR_CMP = re.compile(r"R(\d+) pointer comparison prohibited")


def _pointer_leak(ev: Evidence) -> Match | None:
    hit = first_match(_LEAK, ev.log.error_lines)
    at = ev.log.error_insn
    loc = f"insn {at}{where(ev, at)}" if at is not None else "an instruction"
    if hit is not None:
        reg, dest = int(hit.group(1)), hit.group(2) or "the return value"
        return Match(f"{loc} stores the pointer in R{reg} into {dest}, which would reveal a "
                     "kernel address to an unprivileged program",
                     details={"register": f"R{reg}", "into": dest})
    hit = first_match(_PTR_CMP, ev.log.error_lines)
    if hit is not None:
        reg = int(hit.group(1))
        return Match(f"{loc} compares the pointer in R{reg}, which an unprivileged program "
                     "may not do", details={"register": f"R{reg}", "into": None})
    return None


register(Cause(
    code="BD601", slug="return-value", family="program", priority=60,
    title="Return value outside what the program type allows",
    explanation=("Many program types give the return value a meaning (a verdict, an action): "
                 "cgroup_skb and cgroup_sock accept only 0 or 1, XDP an XDP action, LSM "
                 "programs 0 or a negative errno, and so on. The verifier checks the range of "
                 "R0 at every exit and refuses any path that may return something else, "
                 "including a pointer or a value it knows nothing about."),
    fix=("Return only the values the hook defines; keep other information in a map:\n"
         "if (bad) {\n    bump(&reasons, REASON_X);\n    return 0;   /* drop */\n}\n"
         "return 1;       /* allow */"),
    matcher=_return_value))

register(Cause(
    code="BD602", slug="invalid-insn", family="program", priority=60,
    title="Malformed or unreachable instruction",
    explanation=("Before simulating anything the verifier checks the instruction stream: "
                 "every opcode must exist, reserved fields must be zero, jumps must land "
                 "inside the program, a 64-bit immediate load takes two slots, the last "
                 "instruction must be an exit or a jump, and no instruction may be "
                 "unreachable. Compilers do not produce such code; hand-written assembly, "
                 "bad relocation or patching does."),
    fix=("Rebuild the object with clang -O2 -target bpf; if instructions are patched by\n"
         "hand or by a tool, check the jump offsets and ld_imm64 pairs, e.g.\n"
         "BPF_LD_IMM64(BPF_REG_1, val) /* two slots */, BPF_JMP_A(off) /* off in slots */"),
    matcher=_invalid_insn))

register(Cause(
    code="BD603", slug="pointer-leak", family="program", priority=60,
    title="Kernel pointer exposed by an unprivileged program",
    explanation=("Without CAP_BPF/CAP_PERFMON (or with bpf_jit_harden), the verifier keeps "
                 "kernel addresses secret: a pointer may not be stored into a map, the "
                 "context or other memory user space can read, returned, or compared with "
                 "another pointer, since any of these would let the program learn a kernel "
                 "address."),
    fix=("Store or return a value derived from the data, not the pointer itself, or load the\n"
         "program with CAP_BPF and CAP_PERFMON:\n"
         "*out = *ptr;   /* not: *out = (long)ptr; */"),
    matcher=_pointer_leak))
