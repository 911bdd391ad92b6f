"""Causes of the 'memory' family (BD1xx): loads and stores the verifier cannot prove safe.

Every matcher keys on the verifier's own message (``check_mem_access()``,
``check_mem_region_access()``, ``check_packet_access()``, ``check_ctx_access()``,
``adjust_ptr_min_max_vals()`` in ``kernel/bpf/verifier.c``), in its current and older
wordings (``inv`` for ``scalar`` before 5.19), then fills the summary in from the parsed
state and the instructions on the failing path.  When the log carries no states (a pasted
level-1 log, or only the message), the summary falls back to what the message itself says.

The small helpers at the top (:func:`origin`, :func:`reg_at_error`, ...) are shared with the
``stack`` family.
"""

from __future__ import annotations

import re

from ...btf import Struct
from ...errors import BTFError
from ...sys.consts import ProgType
from ...verifier.log import Insn, VerifierLog
from ...verifier.regs import RegState
from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import (
    _MOV,
    _WRITES,
    access_of,
    callee,
    error_insn,
    first_match,
    insn_ref,
    origin,
    path_before,
    plural,
    prog_type,
    reg_at_error,
    writer,
)


def describe_origin(log: VerifierLog, reg: int, before: int | None,
                    state: RegState | None = None) -> tuple[str, dict[str, object]]:
    """`` it holds the result of bpf_map_lookup_elem(&counts) at insn 5`` (with a leading
    space) and the matching details, or ``("", {})`` when the log does not show it."""
    src = origin(log, reg, before)
    if src is None:
        return "", {}
    helper = callee(src)
    if helper is not None:
        arg = f"&{state.map_name}" if state is not None and state.map_name else ""
        return (f" it holds the result of {helper}({arg}) at insn {src.idx}",
                {"helper": helper, "origin_insn": src.idx})
    return f" it was set at insn {src.idx} (`{src.text}`)", {"origin_insn": src.idx}


def _bounds(r: RegState | None) -> str:
    """``[0, 0x7fffffff8]`` from the register's bounds, or empty."""
    if r is None:
        return ""
    lo = r.smin if r.smin is not None else r.umin
    hi = r.umax if r.umax is not None else r.smax
    if lo is None and hi is None:
        return ""
    return f"[{_num(lo)}, {_num(hi)}]"


def _num(v: int | None) -> str:
    """A bound the way the verifier prints it: decimal when small, hex beyond 16 bits."""
    if v is None:
        return "?"
    return hex(v) if abs(v) > 0xFFFF else str(v)


# --------------------------------------------------------------------------- BD101

_NULL_DEREF = re.compile(r"\bR(\d+) invalid mem access '([A-Za-z0-9_]*or_null[A-Za-z0-9_]*)'")


def _null_check(ev: Evidence) -> Match | None:
    m = first_match(_NULL_DEREF, ev.log.error_lines)
    if m is None:
        return None
    reg, typ = int(m.group(1)), m.group(2)
    ins = error_insn(ev)
    st = reg_at_error(ev, reg)
    how, details = describe_origin(ev.log, reg, ev.log.error_insn, st)
    where = f" and is dereferenced at {insn_ref(ins, ev.log.error_insn)}"
    summary = (f"R{reg} may be NULL ({typ}):{how}{where} without a NULL check" if how else
               f"R{reg} may be NULL ({typ}) and is dereferenced at "
               f"{insn_ref(ins, ev.log.error_insn)} without a NULL check")
    details.update(register=reg, type=typ)
    if st is not None and st.map_name:
        details["map"] = st.map_name
    return Match(summary, details=details)


register(Cause(
    code="BD101", slug="null-check-missing", family="memory", priority=100,
    title="Pointer used before its NULL check",
    explanation=(
        "Some helpers and kfuncs return either a valid pointer or NULL: bpf_map_lookup_elem() "
        "when the key is absent, bpf_ringbuf_reserve() when the ring is full, "
        "bpf_sk_lookup_tcp() when no socket matches. The verifier types their result "
        "'..._or_null' and refuses any access through it until the program has compared it "
        "with NULL; after the comparison, the non-NULL branch holds a usable pointer. Copies "
        "of the register share the same id, so checking any copy is enough, but arithmetic "
        "on the pointer before the check is refused too."),
    fix=("Compare the pointer with NULL right after the call, before any use:\n"
         "  val = bpf_map_lookup_elem(&map, &key);\n"
         "  if (!val)\n"
         "      return 0;\n"
         "  __sync_fetch_and_add(val, 1);"),
    matcher=_null_check))


# --------------------------------------------------------------------------- BD102

_MAP_OOB = re.compile(r"invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)")
_MEM_OOB = re.compile(r"invalid access to memory, mem_size=(\d+) off=(-?\d+) size=(\d+)")
_REG_RANGE = re.compile(r"\bR(\d+) (min|max) value is outside of the allowed memory range")


def _map_value_bounds(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    m = first_match(_MAP_OOB, lines)
    what = "map value"
    if m is None:
        m = first_match(_MEM_OOB, lines)
        what = "memory region"
    if m is None:
        return None
    size_total, off, size = int(m.group(1)), int(m.group(2)), int(m.group(3))
    ins = error_insn(ev)
    acc = access_of(ins)
    reg = None
    rng = first_match(_REG_RANGE, lines)
    if rng is not None:
        reg = int(rng.group(1))
    elif acc is not None:
        reg = acc[2]
    st = reg_at_error(ev, reg) if reg is not None else None
    details: dict[str, object] = {"value_size": size_total, "off": off, "size": size}
    owner = ""
    if st is not None and st.map_name:
        owner = f" of map {st.map_name}"
        details["map"] = st.map_name
    if reg is not None:
        details["register"] = reg
    verb = f"{acc[0]}s" if acc is not None else "accesses"
    span = f"bytes {off}..{off + size - 1}" if size > 1 else f"byte {off}"
    variable = st is not None and st.var_off is not None and st.var_off[1] != 0
    summary = (f"{insn_ref(ins, ev.log.error_insn)} {verb} {span} of a {size_total}-byte "
               f"{what}{owner}")
    if variable and st is not None:
        summary += (f": R{reg} carries a variable offset in {_bounds(st)}, and its "
                    f"{rng.group(2) if rng else 'extreme'} value reaches outside the value")
        details["offset_range"] = _bounds(st)
    elif off < 0:
        summary += ", before its start"
    else:
        summary += f", past its end by {off + size - size_total} byte(s)"
    return Match(summary, details=details)


register(Cause(
    code="BD102", slug="map-value-bounds", family="memory", priority=110,
    title="Access outside the map value",
    explanation=(
        "A pointer to a map value (or to memory from bpf_ringbuf_reserve() and similar) "
        "points at exactly value_size bytes. The verifier adds the access's offset and size "
        "to what it knows about the pointer's offset and refuses the access unless every "
        "byte lies inside the value. It usually means the C type used for the value is "
        "larger than the map's declared value type, a struct field or array index beyond "
        "the end, or an index whose possible range (min..max) reaches past the end."),
    fix=("Make the pointer type match the map's value type, and bound variable indices "
         "against the array length:\n"
         "  struct val *v = bpf_map_lookup_elem(&map, &key);   /* same type as __type(value) */\n"
         "  if (!v || idx >= ARRAY_SIZE(v->slots))\n"
         "      return 0;\n"
         "  v->slots[idx]++;"),
    matcher=_map_value_bounds))


# --------------------------------------------------------------------------- BD103

_UNBOUNDED = re.compile(r"\bR(\d+) (unbounded memory access|min value is negative)")


def _unbounded(ev: Evidence) -> Match | None:
    m = first_match(_UNBOUNDED, ev.log.error_lines)
    if m is None:
        return None
    reg, kind = int(m.group(1)), m.group(2)
    ins = error_insn(ev)
    st = reg_at_error(ev, reg)
    details: dict[str, object] = {"register": reg}
    target = "memory"
    if st is not None and st.is_pointer:
        details["type"] = st.type_name
        target = st.type_name.replace("_", " ")
        if st.map_name:
            target = f"a value of map {st.map_name}"
            details["map"] = st.map_name
            if st.value_size is not None:
                target += f" ({st.value_size} bytes)"
                details["value_size"] = st.value_size
    rng = _bounds(st)
    if rng:
        details["offset_range"] = rng
    problem = ("an offset that may be negative" if kind.startswith("min")
               else "an offset with no upper bound")
    summary = (f"R{reg} points into {target} plus {problem}"
               f"{f' (range {rng})' if rng else ''}, and {insn_ref(ins, ev.log.error_insn)} "
               f"accesses memory through it")
    added = _index_source(ev, reg)
    if added:
        summary += f"; the offset was added at {added}"
    return Match(summary, details=details)


_ADD_REG = re.compile(r"^r(\d+) \+= r(\d+)$")


def _index_source(ev: Evidence, reg: int) -> str:
    """``insn 12 (`r0 += r6`)``: the last addition of a register to ``reg`` on the path."""
    for idx in path_before(ev.log, ev.log.error_insn):
        if idx not in ev.log.insns:
            continue
        ins = ev.log.insns[idx]
        m = _ADD_REG.match(ins.text)
        if m and int(m.group(1)) == reg:
            return insn_ref(ins)
        w = _WRITES.match(ins.text)
        if w and int(w.group(1)) == reg and not m:
            mv = _MOV.match(ins.text)
            if mv is None:
                return ""
            reg = int(mv.group(2))
    return ""


register(Cause(
    code="BD103", slug="unbounded-access", family="memory", priority=120,
    title="Memory access with an unbounded index",
    explanation=(
        "The pointer was moved by a value the verifier cannot bound: typically an array "
        "index read from the context, a map or a helper, with no comparison that limits it. "
        "The verifier tracks a minimum and maximum for every scalar; a pointer plus such a "
        "scalar may point anywhere, so the access is refused. 'min value is negative' is the "
        "same problem for the lower bound: a signed index that may be below zero."),
    fix=("Compare the index with the array length (unsigned) before using it, or mask it:\n"
         "  if (idx >= NR_SLOTS)      /* idx unsigned */\n"
         "      return 0;\n"
         "  v->slots[idx]++;\n"
         "  /* or: idx &= NR_SLOTS - 1;  for a power-of-two length */"),
    matcher=_unbounded))


# --------------------------------------------------------------------------- BD104

_PKT = re.compile(r"invalid access to packet, off=(-?\d+) size=(\d+), "
                  r"R(\d+)\(id=(\d+),off=(-?\d+),r=(\d+)\)")
_PKT_OUTSIDE = re.compile(r"\bR(\d+) offset is outside of the packet")


def _packet_bounds(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    m = first_match(_PKT, lines)
    outside = first_match(_PKT_OUTSIDE, lines)
    if m is None and outside is None:
        return None
    ins = error_insn(ev)
    acc = access_of(ins)
    verb = f"{acc[0]}s" if acc else "accesses"
    where = insn_ref(ins, ev.log.error_insn)
    if m is None:
        assert outside is not None
        reg = int(outside.group(1))
        return Match(f"{where} {verb} packet data through R{reg} beyond the range proven "
                     f"by the last comparison with data_end", details={"register": reg})
    off, size, reg, rng = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(6))
    summary = (f"{where} {verb} {plural(size, 'byte')} at packet offset {off} through R{reg}, "
               f"but only {plural(rng, 'byte')} from the packet start were proven to be "
               f"before data_end (r={rng})")
    return Match(summary, details={"register": reg, "off": off, "size": size,
                                   "range": rng, "needed": off + size})


register(Cause(
    code="BD104", slug="packet-bounds", family="memory", priority=90,
    title="Packet access without a data_end check",
    explanation=(
        "Direct packet access starts from ctx->data with zero bytes known to be present. "
        "Only a comparison of a packet pointer with ctx->data_end teaches the verifier that "
        "bytes exist, and only up to the compared offset (the 'r=' range printed for packet "
        "pointers). An access that reaches beyond the proven range is refused, because the "
        "packet may be shorter. The check must be on the same path as the access and on a "
        "pointer derived from the same packet pointer."),
    fix=("Compare the end of what you read with data_end before reading it:\n"
         "  struct iphdr *ip = (void *)(eth + 1);\n"
         "  if ((void *)(ip + 1) > data_end)\n"
         "      return XDP_PASS;\n"
         "  if (ip->protocol == IPPROTO_ICMP) ..."),
    matcher=_packet_bounds))


# --------------------------------------------------------------------------- BD105

_CTX = re.compile(r"invalid bpf_context access off=(-?\d+) size=(\d+)")
_CTX_MODIFIED = re.compile(r"dereference of modified ctx ptr R(\d+) off=(-?\d+) disallowed")
_CTX_OTHER = [
    (re.compile(r"negative offset ctx ptr R(\d+) off=(-?\d+) disallowed"),
     "accesses the context at a negative offset through R{0}"),
    (re.compile(r"variable ctx access var_off=(\(.*?\)) disallowed"),
     "accesses the context at a variable offset ({0})"),
    (re.compile(r"BPF_ATOMIC stores into R(\d+) ctx is not allowed"),
     "uses an atomic operation on the context through R{0}"),
]


def _ctx_access(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    ins = error_insn(ev)
    where = insn_ref(ins, ev.log.error_insn)
    mod = first_match(_CTX_MODIFIED, lines)
    if mod is not None:
        reg, off = int(mod.group(1)), int(mod.group(2))
        return Match(f"{where} dereferences R{reg}, the context pointer moved by {off} bytes; "
                     f"the context may only be accessed at constant offsets from the "
                     f"unmodified pointer", details={"register": reg, "off": off})
    for pattern, what in _CTX_OTHER:
        o = first_match(pattern, lines)
        if o is not None:
            return Match(f"{where} {what.format(*o.groups())}; the context may only be "
                         "accessed with plain loads and stores at constant offsets from the "
                         "unmodified pointer", details={"message": o.string.strip()})
    m = first_match(_CTX, lines)
    if m is None:
        return None
    off, size = int(m.group(1)), int(m.group(2))
    acc = access_of(ins)
    details: dict[str, object] = {"off": off, "size": size}
    if acc is not None:
        details.update(access=acc[0], register=acc[2])
    if acc is not None and acc[0] == "write":
        summary = (f"{where} writes {plural(size, 'byte')} at offset {off} of the context, a "
                   f"field this program type may read but not write (or not access at all)")
    elif acc is not None:
        summary = (f"{where} reads {plural(size, 'byte')} at offset {off} of the context, "
                   f"which this program type does not allow: no such field, a field not "
                   f"available to it, or a partial or misaligned read")
    else:
        summary = (f"{where} accesses {plural(size, 'byte')} at offset {off} of the "
                   f"context, which this program type does not allow")
    ptype = prog_type(ev)
    if ptype is not None:
        details["program_type"] = ptype
        summary = summary.replace("this program type", f"a {ptype} program")
    field_name = _ctx_field(ev, off)
    if field_name is not None:
        details["field"] = field_name
        summary = summary.replace(f"at offset {off} of the context",
                                  f"at offset {off} of the context ({field_name})")
    return Match(summary, details=details)


_CTX_STRUCT = {
    ProgType.SOCKET_FILTER: "__sk_buff", ProgType.SCHED_CLS: "__sk_buff",
    ProgType.SCHED_ACT: "__sk_buff", ProgType.CGROUP_SKB: "__sk_buff",
    ProgType.LWT_IN: "__sk_buff", ProgType.LWT_OUT: "__sk_buff",
    ProgType.LWT_XMIT: "__sk_buff", ProgType.LWT_SEG6LOCAL: "__sk_buff",
    ProgType.SK_SKB: "__sk_buff", ProgType.FLOW_DISSECTOR: "__sk_buff",
    ProgType.XDP: "xdp_md", ProgType.SK_MSG: "sk_msg_md", ProgType.CGROUP_SOCK: "bpf_sock",
    ProgType.CGROUP_SOCK_ADDR: "bpf_sock_addr", ProgType.SOCK_OPS: "bpf_sock_ops",
    ProgType.SK_LOOKUP: "bpf_sk_lookup", ProgType.CGROUP_SYSCTL: "bpf_sysctl",
    ProgType.CGROUP_SOCKOPT: "bpf_sockopt", ProgType.SK_REUSEPORT: "sk_reuseport_md",
    ProgType.PERF_EVENT: "bpf_perf_event_data",
}
"""The UAPI struct a program type's context is declared as (``include/uapi/linux/bpf.h``)."""


def _ctx_field(ev: Evidence, off: int) -> str | None:
    """``__sk_buff.mark`` for offset 8 of a socket filter's context, from the object's BTF
    (which describes the UAPI struct when the program uses it); None when unknown."""
    if ev.program is None or ev.spec is None or ev.spec.btf is None:
        return None
    name = _CTX_STRUCT.get(ev.program.type)  # type: ignore[call-overload]
    if name is None:
        return None
    btf = ev.spec.btf
    for tid in btf.find(name, Struct):
        st = btf.type_by_id(tid)
        assert isinstance(st, Struct)
        for mem in st.members:
            start = mem.offset_bits // 8
            try:
                size = btf.sizeof(mem.type)
            except BTFError:  # an unsized member cannot be the one at off
                continue
            if mem.name and start <= off < start + size:
                return f"{name}.{mem.name}"
    return None


register(Cause(
    code="BD105", slug="ctx-access", family="memory", priority=130,
    title="Context field not accessible",
    explanation=(
        "The context (the program's first argument) is not ordinary memory: the verifier "
        "checks each load and store against a per-program-type list of fields, then rewrites "
        "it into an access to the real kernel structure. A field may be readable but not "
        "writable for one program type (skb->mark in socket filters), not available at all "
        "(skb->tc_classid outside tc), or accessible only with its exact size. Moving the "
        "context pointer and dereferencing it later is refused for the same reason."),
    fix=("Access context fields directly with their declared type, and only the ones your "
         "program type allows; write from a program type that may write them:\n"
         "  SEC(\"tc\")                      /* not SEC(\"socket\") */\n"
         "  int prog(struct __sk_buff *skb)\n"
         "  {\n"
         "      skb->mark = 0x10;"),
    matcher=_ctx_access))


# --------------------------------------------------------------------------- BD106

_SCALAR_DEREF = re.compile(r"\bR(\d+) invalid mem access '(scalar|inv)'")


def _scalar_deref(ev: Evidence) -> Match | None:
    m = first_match(_SCALAR_DEREF, ev.log.error_lines)
    if m is None:
        return None
    reg = int(m.group(1))
    ins = error_insn(ev)
    src = origin(ev.log, reg, ev.log.error_insn)
    details: dict[str, object] = {"register": reg}
    summary = (f"R{reg} holds a plain number (scalar), not a pointer the verifier knows, and "
               f"{insn_ref(ins, ev.log.error_insn)} dereferences it")
    if src is not None:
        details["origin_insn"] = src.idx
        helper = callee(src)
        if helper is not None:
            details["helper"] = helper
            summary += f"; the number is the result of {helper} at insn {src.idx}"
        elif _loaded_from_ctx(ev.log, src):
            details["from_context"] = True
            summary += (f"; it was loaded from a context field at insn {src.idx} "
                        f"(`{src.text}`)")
        else:
            summary += f"; it was set at insn {src.idx} (`{src.text}`)"
    return Match(summary, details=details)


def _loaded_from_ctx(log: VerifierLog, ins: Insn) -> bool:
    """``ins`` loads through a register that holds the context: per the state printed at
    that point, or because it is R1 and nothing on the path wrote R1 before."""
    acc = access_of(ins)
    if acc is None or acc[0] != "read":
        return False
    st = log.state_before(ins.idx)
    base = st.reg(acc[2]) if st is not None else None
    if base is not None:
        return base.type == "ctx"
    return acc[2] == 1 and writer(log, 1, ins.idx) is None and bool(log.path) and \
        log.path[0] == 0


register(Cause(
    code="BD106", slug="scalar-deref", family="memory", priority=140,
    title="Dereference of a number, not a pointer",
    explanation=(
        "The verifier only allows loads and stores through pointers whose target it knows: "
        "the context, the stack, map values, packet data, BTF-typed kernel objects. A value "
        "read from a context field, a map or a helper's return is a scalar, even when it "
        "holds an address (a user-space pointer argument, a kernel address kept in a map). "
        "Dereferencing a scalar could read any memory, so it is refused."),
    fix=("Copy the memory with the probe-read helper for its address space:\n"
         "  char buf[64];\n"
         "  if (bpf_probe_read_user_str(buf, sizeof(buf), (void *)ctx->filename) < 0)\n"
         "      return 0;\n"
         "  if (buf[0] != '/') ...\n"
         "(For kernel pointers use bpf_probe_read_kernel(), or BTF-typed pointers in "
         "fentry/tp_btf programs.)"),
    matcher=_scalar_deref))


# --------------------------------------------------------------------------- BD107

_MAP_RO = re.compile(r"write into map forbidden, value_size=(\d+) off=(-?\d+) size=(\d+)")
_RDONLY = re.compile(r"\bR(\d+) cannot write into (\S+)")
_PKT_RO = re.compile(r"cannot write into packet")


def _readonly_write(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    ins = error_insn(ev)
    where = insn_ref(ins, ev.log.error_insn)
    m = first_match(_MAP_RO, lines)
    if m is not None:
        vs, off, size = int(m.group(1)), int(m.group(2)), int(m.group(3))
        details: dict[str, object] = {"value_size": vs, "off": off, "size": size}
        acc = access_of(ins)
        st = reg_at_error(ev, acc[2]) if acc is not None else None
        name = st.map_name if st is not None else None
        why = "read-only for programs (BPF_F_RDONLY_PROG, or a frozen .rodata map)"
        if name is not None:
            details["map"] = name
            why = _map_ro_reason(ev, name) or why
        owner = f" of map {name}" if name else ""
        return Match(f"{where} writes {plural(size, 'byte')} at offset {off} into a value"
                     f"{owner}, which is {why}", details=details)
    r = first_match(_RDONLY, lines)
    if r is not None:
        reg, typ = int(r.group(1)), r.group(2)
        return Match(f"{where} writes through R{reg}, which points to read-only memory "
                     f"({typ})", details={"register": reg, "type": typ})
    if first_match(_PKT_RO, lines) is not None:
        return Match(f"{where} writes packet data, which this program type may only read",
                     details={"target": "packet"})
    return None


_BPF_F_RDONLY_PROG = 1 << 7


def _map_ro_reason(ev: Evidence, name: str) -> str | None:
    """Why ``name`` is read-only, from the object's map spec, when it is known."""
    if ev.spec is None:
        return None
    spec = ev.spec.maps.get(name)
    if spec is None:  # the kernel keeps 15 characters of a map's name
        found = [m for n, m in ev.spec.maps.items() if n[:15] == name[:15]]
        spec = found[0] if len(found) == 1 else None
    if spec is None:
        return None
    if spec.flags & _BPF_F_RDONLY_PROG:
        return "read-only for programs: the map is created with BPF_F_RDONLY_PROG"
    if spec.freeze:
        return (f"read-only: {spec.section or name} is frozen after loading, so the "
                f"verifier treats it as constant")
    return None


register(Cause(
    code="BD107", slug="readonly-write", family="memory", priority=150,
    title="Write into read-only memory",
    explanation=(
        "The program stores into memory it may only read. Maps created with "
        "BPF_F_RDONLY_PROG, and .rodata (const volatile globals), which libbpf freezes "
        "before loading, give programs read-only values; memory returned as 'rdonly_mem' "
        "(e.g. from some helpers and kfuncs) and packet data of some program types are "
        "read-only too. The verifier enforces this at every store and at helper arguments "
        "that write."),
    fix=("Keep writable state in a separate, writable map (or in .bss/.data globals):\n"
         "  struct { __uint(type, BPF_MAP_TYPE_HASH); /* no BPF_F_RDONLY_PROG */ ... } "
         "counters SEC(\".maps\");\n"
         "  __u64 *hits = bpf_map_lookup_elem(&counters, &key);\n"
         "  if (hits)\n"
         "      (*hits)++;"),
    matcher=_readonly_write))


# --------------------------------------------------------------------------- BD108

_PTR_ARITH = [
    re.compile(r"\bR(?P<reg>\d+) pointer arithmetic on (?P<type>\S+) prohibited"),
    re.compile(r"math between (?P<type>\S+) pointer and register with unbounded min value"),
    re.compile(r"math between (?P<type>\S+) pointer and (?P<value>-?\d+) is not allowed"),
    re.compile(r"value (?P<value>-?\d+) makes (?P<type>\S+) pointer be out of bounds"),
    re.compile(r"(?P<type>\S+) pointer offset (?P<value>-?\d+) is not allowed"),
    re.compile(r"\bR(?P<reg>\d+) 32-bit pointer arithmetic prohibited"),
    re.compile(r"\bR(?P<reg>\d+) pointer arithmetic with \S+ operator prohibited"),
    re.compile(r"\bR(?P<reg>\d+) bitwise operator \S+ on pointer prohibited"),
    re.compile(r"\bR(?P<reg>\d+) pointer [-+*/&|^<>]+ pointer prohibited"),
    re.compile(r"\bR(?P<reg>\d+) tried to subtract pointer from scalar"),
    re.compile(r"\bR(?P<reg>\d+) subtraction from stack pointer prohibited"),
    re.compile(r"\bR(?P<reg>\d+) tried to add from different maps, paths or scalars"),
]
_ALU_REGS = re.compile(r"^[rw](\d+) (\S+)= [rw](\d+)$")


def _pointer_arith(ev: Evidence) -> Match | None:
    m = None
    for pat in _PTR_ARITH:
        m = first_match(pat, ev.log.error_lines)
        if m is not None:
            break
    if m is None:
        return None
    groups = m.groupdict()
    ins = error_insn(ev)
    where = insn_ref(ins, ev.log.error_insn)
    details: dict[str, object] = {"message": m.group(0)}
    if groups.get("type"):
        details["pointer_type"] = groups["type"]
    if groups.get("reg"):
        details["register"] = int(groups["reg"])
    if groups.get("value"):
        details["value"] = int(groups["value"])
    alu = _ALU_REGS.match(ins.text) if ins is not None else None
    if "unbounded min value" in m.group(0) and alu is not None:
        dst, src = int(alu.group(1)), int(alu.group(3))
        st = reg_at_error(ev, dst)
        ptr = groups.get("type") or "a"
        if st is not None and st.map_name:
            ptr += f" (map {st.map_name})"
            details["map"] = st.map_name
        details.update(register=dst, offset_register=src)
        summary = (f"{where} adds R{src}, a number with no known lower bound, to R{dst}, a "
                   f"{ptr} pointer; the verifier refuses pointer math it cannot bound")
        how, more = describe_origin(ev.log, src, ev.log.error_insn)
        if how:
            summary += f" (R{src}:{how})"
            details.update({f"offset_{k}": v for k, v in more.items()})
        return Match(summary, details=details)
    if "null-check it first" in m.string:
        reg = groups.get("reg")
        summary = (f"{where} moves R{reg}, which may still be NULL ({groups.get('type')}); "
                   f"pointer arithmetic is allowed only after the NULL check")
        return Match(summary, details=details)
    summary = f"{where} does pointer arithmetic the verifier refuses: {m.group(0)}"
    return Match(summary, details=details)


register(Cause(
    code="BD108", slug="pointer-arith", family="memory", priority=160,
    title="Pointer arithmetic not allowed",
    explanation=(
        "The verifier lets programs add and subtract bounded scalars to most pointers, and "
        "nothing else. It refuses arithmetic on pointers that may still be NULL (check them "
        "first), on pointer types that have no arithmetic (the context after some accesses, "
        "map pointers, sockets), with operators other than add/subtract, in 32-bit ALU "
        "instructions, and with a scalar whose lower bound is unknown or a constant so large "
        "the pointer would leave its object: the resulting pointer could not be checked."),
    fix=("Null-check before moving a pointer, and bound the offset before adding it:\n"
         "  if (!v)\n"
         "      return 0;\n"
         "  if (idx >= sizeof(v->buf))     /* unsigned compare */\n"
         "      return 0;\n"
         "  v->buf[idx] = 1;"),
    matcher=_pointer_arith))
