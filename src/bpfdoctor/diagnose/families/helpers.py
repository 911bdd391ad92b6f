"""Causes of the 'helpers' family (BD3xx): calls to helpers and kfuncs the kernel refuses.

Also holds the small log-reading utilities the other families of this group share (the
helper a ``call`` instruction names, the instruction that last wrote a register)."""

from __future__ import annotations

import re

from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import call_at, first_match, origin, prog_type, where, writer

POISON_HELPER_ID = 195896080
"""libbpf's poisoned CO-RE instruction (``call 0xbad2310``): a reloc cause, not a helper."""



# --------------------------------------------------------------------------- matchers

_UNKNOWN = re.compile(r"invalid func (\S+?)#(-?\d+)")


def _helper_unknown(ev: Evidence) -> Match | None:
    hit = first_match(_UNKNOWN, ev.log.error_lines)
    if hit is None or int(hit.group(2)) == POISON_HELPER_ID:
        return None
    name, hid = hit.group(1), int(hit.group(2))
    label = f"helper #{hid}" if name == "unknown" else f"helper {name}#{hid}"
    return Match(f"insn {ev.log.error_insn} calls {label}, which this kernel does not "
                 "implement (it is newer than the kernel, or the id is wrong)",
                 details={"helper": None if name == "unknown" else name, "helper_id": hid})


_NOT_ALLOWED = re.compile(r"(?:program of this type cannot use helper|unknown func) "
                          r"(\S+?)#(-?\d+)")


def _helper_not_allowed(ev: Evidence) -> Match | None:
    hit = first_match(_NOT_ALLOWED, ev.log.error_lines)
    if hit is None or int(hit.group(2)) == POISON_HELPER_ID:
        return None
    name, hid = hit.group(1), int(hit.group(2))
    ptype = prog_type(ev)
    kind = f"{ptype} programs" if ptype else "this program type"
    return Match(f"{name} (helper #{hid}) is not available to {kind}; the call is at insn "
                 f"{ev.log.error_insn}{where(ev, ev.log.error_insn)}",
                 details={"helper": name, "helper_id": hid, "prog_type": ptype})


_ARG_TYPE = re.compile(r"^R(\d) type=(\S+) expected=(.+?)\s*$")


_MAP_TYPE_ARG = re.compile(r"cannot pass map_type (\d+) into func (\S+?)#(\d+)")
_ZERO_SIZE = re.compile(r"^R(\d+) invalid zero-sized read")


def _helper_arg_type(ev: Evidence) -> Match | None:
    mt = first_match(_MAP_TYPE_ARG, ev.log.error_lines)
    if mt is not None:
        from ...sys import MapType

        num, func = int(mt.group(1)), mt.group(2)
        try:
            mname = MapType(num).name.lower()
        except ValueError:
            mname = f"type {num}"
        return Match(f"{func} is called at insn {ev.log.error_insn}"
                     f"{where(ev, ev.log.error_insn)} with a {mname} map, a map type it does "
                     "not accept", details={"helper": func, "map_type": mname})
    zs = first_match(_ZERO_SIZE, ev.log.error_lines)
    if zs is not None:
        call = call_at(ev.log, ev.log.error_insn)
        callee = call[0] if call else "the called function"
        return Match(f"{callee} gets a memory argument whose size (R{zs.group(1)}) may be 0 "
                     f"at insn {ev.log.error_insn}{where(ev, ev.log.error_insn)}; the size "
                     "must be proven to be at least 1", details={"register": f"R{zs.group(1)}"})
    hit = first_match(_ARG_TYPE, ev.log.error_lines)
    if hit is None:
        return None
    m = hit
    reg, got, want = int(m.group(1)), m.group(2), m.group(3)
    if got == "inv":  # before 5.18 scalars were printed as 'inv'
        got = "scalar"
    call = call_at(ev.log, ev.log.error_insn)
    callee = f"{call[0]}" if call else "the called function"
    details: dict[str, object] = {"register": f"R{reg}", "arg": reg, "got": got,
                                  "expected": [w.strip() for w in want.split(",")]}
    if call:
        details["helper"] = call[0]
    setter = writer(ev.log, reg, ev.log.error_insn)
    producer = origin(ev.log, reg, ev.log.error_insn)
    source = producer if producer is not None and producer.opcode == 0x85 else None
    tail = ""
    if source is not None:
        made_by = call_at(ev.log, source.idx)
        state = ev.log.error_state
        rs = state.reg(reg) if state is not None else None
        of_map = f"(&{rs.map_name})" if rs is not None and rs.map_name else ""
        name = made_by[0] if made_by else "a call"
        tail = f", the result of {name}{of_map} at insn {source.idx}{where(ev, source.idx)}"
        details["from_call"] = name
        details["from_insn"] = source.idx
        if rs is not None and rs.map_name:
            details["map"] = rs.map_name
    elif setter is not None:
        tail = f", set at insn {setter.idx} ({setter.text})"
    if got.endswith("_or_null"):
        tail += " that was not checked for NULL"
    return Match(f"argument {reg} of {callee} (R{reg}) is {got}{tail}, but it must be "
                 f"{want}", details=details)


# helpers marked gpl_only; kfuncs (all GPL-only) since 5.13
_GPL = re.compile(r"cannot call (?:GPL-restricted function|kernel function) from non-GPL "
                  r"compatible program")


def _gpl_only(ev: Evidence) -> Match | None:
    if first_match(_GPL, ev.log.error_lines) is None:
        return None
    call = call_at(ev.log, ev.log.error_insn)
    lic = ev.program.license if ev.program is not None else None
    if lic is None and ev.spec is not None:
        lic = ev.spec.license
    callee = call[0] if call else "a GPL-only helper or kfunc"
    lic_text = f'"{lic}"' if lic else "not GPL-compatible"
    return Match(f"{callee} at insn {ev.log.error_insn}{where(ev, ev.log.error_insn)} is "
                 f"GPL-only and the program's license is {lic_text}",
                 details={"helper": call[0] if call else None, "license": lic})


_KFUNC = [
    (re.compile(r"calling kernel function (\S+) is not allowed"), "not-allowed"),
    (re.compile(r"kernel function (\S+) args#(\d+) (.+)$"), "arg"),
    (re.compile(r"invalid kernel function call not eliminated in verifier pass"), "weak"),
    (re.compile(r"kernel btf_id (\d+) is not a function"), "not-function"),
]


def _kfunc(ev: Evidence) -> Match | None:
    for pattern, kind in _KFUNC:
        hit = first_match(pattern, ev.log.error_lines)
        if hit is None:
            continue
        m = hit
        at = f"insn {ev.log.error_insn}{where(ev, ev.log.error_insn)}"
        if kind == "not-allowed":
            ptype = prog_type(ev)
            kind_of = f"{ptype} programs" if ptype else "this program type"
            return Match(f"kfunc {m.group(1)} at {at} is not registered for {kind_of} in "
                         "this kernel", details={"kfunc": m.group(1), "reason": kind,
                                                 "prog_type": ptype})
        if kind == "arg":
            return Match(f"argument {m.group(2)} of kfunc {m.group(1)} at {at} has the "
                         f"wrong type: {m.group(3)}",
                         details={"kfunc": m.group(1), "arg": int(m.group(2)), "reason": kind})
        if kind == "weak":
            return Match("a __weak kfunc this kernel does not have is called on a reachable "
                         "path; guard the call with bpf_ksym_exists()",
                         details={"reason": kind})
        return Match(f"the call at {at} names BTF id {m.group(1)}, which is not a function "
                     "in the kernel's BTF", details={"btf_id": int(m.group(1)), "reason": kind})
    return None


register(Cause(
    code="BD301", slug="helper-unknown", family="helpers", priority=60,
    title="Call to a helper this kernel does not have",
    explanation=("Helpers are numbered; each kernel knows the ids up to the last helper it "
                 "was built with. A call to a higher id means the program was written for a "
                 "newer kernel (or the id is corrupt), and the verifier cannot check or run "
                 "a function it has no prototype for."),
    fix=("Check for the helper at load time and fall back to an older one, e.g. with\n"
         "if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))\n"
         "    bpf_loop(n, cb, &ctx, 0);\nelse\n    /* a bounded for loop */;\n"
         "or require a kernel that has it."),
    matcher=_helper_unknown))

register(Cause(
    code="BD302", slug="helper-not-allowed", family="helpers", priority=60,
    title="Helper not available to this program type",
    explanation=("Every program type has its own table of helpers, chosen for what that hook "
                 "may safely do. Packet-rewriting helpers are reserved for tc and similar "
                 "hooks, tracing helpers for tracing programs, and so on. Calling a helper "
                 "outside its table is refused even if the kernel implements it."),
    fix=("Move the logic to a program type that offers the helper (e.g. SEC(\"tc\") for\n"
         "bpf_skb_store_bytes), or use a helper this type offers:\n"
         "SEC(\"tc\")\nint rewrite(struct __sk_buff *skb) { bpf_skb_store_bytes(...); }"),
    matcher=_helper_not_allowed))

register(Cause(
    code="BD303", slug="helper-arg-type", family="helpers", priority=70,
    title="Helper argument of the wrong type",
    explanation=("The verifier checks every argument of a helper call against the helper's "
                 "prototype: a map argument must be a map pointer loaded from a map "
                 "reference, a memory argument must point to stack, map value or packet "
                 "memory, and so on. A register holding another kind of value (often a "
                 "scalar, because the pointer was lost or never set) is refused."),
    fix=("Pass the expected kind of value, e.g. a map by reference, a key on the stack:\n"
         "__u32 key = 0;\nv = bpf_map_lookup_elem(&my_map, &key);"),
    matcher=_helper_arg_type))

register(Cause(
    code="BD304", slug="gpl-only", family="helpers", priority=50,
    title="GPL-only helper in a non-GPL program",
    explanation=("Some helpers and kfuncs expose kernel internals (memory reads, tracing "
                 "output) and are marked gpl_only. The kernel lets only programs whose "
                 "license string is GPL-compatible (\"GPL\", \"GPL v2\", \"Dual BSD/GPL\", "
                 "\"Dual MIT/GPL\", ...) call them."),
    fix=("If the program may be licensed under the GPL, say so:\n"
         "char LICENSE[] SEC(\"license\") = \"Dual BSD/GPL\";\n"
         "otherwise avoid the GPL-only helper."),
    matcher=_gpl_only))

register(Cause(
    code="BD305", slug="kfunc-unavailable", family="helpers", priority=55,
    title="Kernel function (kfunc) call refused",
    explanation=("kfuncs are kernel functions exported to BPF per program type, with their "
                 "argument types checked against the kernel's BTF. The call is refused when "
                 "the kfunc is not registered for this program type, when an argument does "
                 "not match its BTF prototype, or when a __weak kfunc the kernel does not "
                 "have is still called on a path the verifier can reach."),
    fix=("Use the kfunc from a program type it is registered for, pass arguments of its BTF\n"
         "types, and guard optional kfuncs:\n"
         "if (bpf_ksym_exists(bpf_kfunc_name))\n    bpf_kfunc_name(...);"),
    matcher=_kfunc))
