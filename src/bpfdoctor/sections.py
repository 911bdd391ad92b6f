"""The ELF section name → program type table.

libbpf decides a program's type, expected attach type and load flags from the name of the ELF
section it lives in (``SEC("tracepoint/syscalls/sys_enter_openat")``).  We keep the same rules,
as data, so that an object behaves the same under bpfdoctor as under libbpf, and so that an
unknown name can be answered with a did-you-mean.

Matching rules (libbpf's): a pattern ending in ``/`` matches names with that prefix; a pattern
ending in ``+`` matches the bare word or the word followed by ``/`` and anything; any other
pattern must match exactly.  The first matching row wins, so order matters.  A leading ``?``
in the section name marks the program "not loaded by default" and is not part of the match.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import IntFlag

from .sys import AttachType, ProgType


class SecFlags(IntFlag):
    NONE = 0
    EXP_ATTACH_OPT = 1
    """expected_attach_type may be dropped on kernels that do not know it"""
    ATTACHABLE = 2
    ATTACH_BTF = 4
    """the part after the first ``/`` names a BTF function/tracepoint to attach to"""
    SLEEPABLE = 8
    XDP_FRAGS = 16
    USDT = 32


ATTACHABLE_OPT = SecFlags.ATTACHABLE | SecFlags.EXP_ATTACH_OPT


@dataclass(frozen=True)
class SectionDef:
    pattern: str
    prog_type: ProgType
    attach_type: AttachType | None
    flags: SecFlags
    attach_kind: str | None = None
    """How a program of this section is attached (``tracepoint``, ``kprobe``, ``trace``...)."""

    def matches(self, name: str) -> bool:
        p = self.pattern
        if p.endswith("/"):
            return name.startswith(p)
        if p.endswith("+"):
            stem = p[:-1]
            return name == stem or name.startswith(stem + "/")
        return name == p

    @property
    def stem(self) -> str:
        return self.pattern.rstrip("+/")


def _d(pattern: str, ptype: str, atype: str | None, flags: SecFlags = SecFlags.NONE,
       attach: str | None = None) -> SectionDef:
    return SectionDef(pattern, ProgType[ptype], AttachType[atype] if atype else None, flags,
                      attach)


_N = SecFlags.NONE
_A = SecFlags.ATTACHABLE
_B = SecFlags.ATTACH_BTF
_S = SecFlags.SLEEPABLE
_F = SecFlags.XDP_FRAGS
_U = SecFlags.USDT

SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", "SOCKET_FILTER", None, _N, "socket"),
    _d("sk_reuseport/migrate", "SK_REUSEPORT", "SK_REUSEPORT_SELECT_OR_MIGRATE", _A),
    _d("sk_reuseport", "SK_REUSEPORT", "SK_REUSEPORT_SELECT", _A),
    _d("kprobe+", "KPROBE", None, _N, "kprobe"),
    _d("uprobe+", "KPROBE", None, _N, "uprobe"),
    _d("uprobe.s+", "KPROBE", None, _S, "uprobe"),
    _d("kretprobe+", "KPROBE", None, _N, "kprobe"),
    _d("uretprobe+", "KPROBE", None, _N, "uprobe"),
    _d("uretprobe.s+", "KPROBE", None, _S, "uprobe"),
    _d("kprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", _N, "kprobe_multi"),
    _d("kretprobe.multi+", "KPROBE", "TRACE_KPROBE_MULTI", _N, "kprobe_multi"),
    _d("kprobe.session+", "KPROBE", "TRACE_KPROBE_SESSION", _N, "kprobe_multi"),
    _d("uprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", _N, "uprobe_multi"),
    _d("uretprobe.multi+", "KPROBE", "TRACE_UPROBE_MULTI", _N, "uprobe_multi"),
    _d("uprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", _S, "uprobe_multi"),
    _d("uretprobe.multi.s+", "KPROBE", "TRACE_UPROBE_MULTI", _S, "uprobe_multi"),
    _d("ksyscall+", "KPROBE", None, _N, "ksyscall"),
    _d("kretsyscall+", "KPROBE", None, _N, "ksyscall"),
    _d("usdt+", "KPROBE", None, _U, "usdt"),
    _d("usdt.s+", "KPROBE", None, _U | _S, "usdt"),
    _d("tc/ingress", "SCHED_CLS", "TCX_INGRESS", _N, "tcx"),
    _d("tc/egress", "SCHED_CLS", "TCX_EGRESS", _N, "tcx"),
    _d("tcx/ingress", "SCHED_CLS", "TCX_INGRESS", _N, "tcx"),
    _d("tcx/egress", "SCHED_CLS", "TCX_EGRESS", _N, "tcx"),
    _d("tc", "SCHED_CLS", None, _N, "tc"),
    _d("classifier", "SCHED_CLS", None, _N, "tc"),
    _d("action", "SCHED_ACT", None, _N, "tc"),
    _d("netkit/primary", "SCHED_CLS", "NETKIT_PRIMARY", _N, "netkit"),
    _d("netkit/peer", "SCHED_CLS", "NETKIT_PEER", _N, "netkit"),
    _d("tracepoint+", "TRACEPOINT", None, _N, "tracepoint"),
    _d("tp+", "TRACEPOINT", None, _N, "tracepoint"),
    _d("raw_tracepoint+", "RAW_TRACEPOINT", None, _N, "raw_tp"),
    _d("raw_tp+", "RAW_TRACEPOINT", None, _N, "raw_tp"),
    _d("raw_tracepoint.w+", "RAW_TRACEPOINT_WRITABLE", None, _N, "raw_tp"),
    _d("raw_tp.w+", "RAW_TRACEPOINT_WRITABLE", None, _N, "raw_tp"),
    _d("tp_btf+", "TRACING", "TRACE_RAW_TP", _B, "trace"),
    _d("fentry+", "TRACING", "TRACE_FENTRY", _B, "trace"),
    _d("fmod_ret+", "TRACING", "MODIFY_RETURN", _B, "trace"),
    _d("fexit+", "TRACING", "TRACE_FEXIT", _B, "trace"),
    _d("fentry.s+", "TRACING", "TRACE_FENTRY", _B | _S, "trace"),
    _d("fmod_ret.s+", "TRACING", "MODIFY_RETURN", _B | _S, "trace"),
    _d("fexit.s+", "TRACING", "TRACE_FEXIT", _B | _S, "trace"),
    _d("freplace+", "EXT", None, _B, "trace"),
    _d("lsm+", "LSM", "LSM_MAC", _B, "lsm"),
    _d("lsm.s+", "LSM", "LSM_MAC", _B | _S, "lsm"),
    _d("lsm_cgroup+", "LSM", "LSM_CGROUP", _B),
    _d("iter+", "TRACING", "TRACE_ITER", _B, "iter"),
    _d("iter.s+", "TRACING", "TRACE_ITER", _B | _S, "iter"),
    _d("syscall", "SYSCALL", None, _S),
    _d("xdp.frags/devmap", "XDP", "XDP_DEVMAP", _F),
    _d("xdp/devmap", "XDP", "XDP_DEVMAP", _A),
    _d("xdp.frags/cpumap", "XDP", "XDP_CPUMAP", _F),
    _d("xdp/cpumap", "XDP", "XDP_CPUMAP", _A),
    _d("xdp.frags", "XDP", "XDP", _F, "xdp"),
    _d("xdp", "XDP", "XDP", ATTACHABLE_OPT, "xdp"),
    _d("perf_event", "PERF_EVENT", None, _N, "perf_event"),
    _d("lwt_in", "LWT_IN", None),
    _d("lwt_out", "LWT_OUT", None),
    _d("lwt_xmit", "LWT_XMIT", None),
    _d("lwt_seg6local", "LWT_SEG6LOCAL", None),
    _d("sockops", "SOCK_OPS", "CGROUP_SOCK_OPS", ATTACHABLE_OPT, "cgroup"),
    _d("sk_skb/stream_parser", "SK_SKB", "SK_SKB_STREAM_PARSER", ATTACHABLE_OPT),
    _d("sk_skb/stream_verdict", "SK_SKB", "SK_SKB_STREAM_VERDICT", ATTACHABLE_OPT),
    _d("sk_skb", "SK_SKB", None),
    _d("sk_msg", "SK_MSG", "SK_MSG_VERDICT", ATTACHABLE_OPT),
    _d("lirc_mode2", "LIRC_MODE2", "LIRC_MODE2", ATTACHABLE_OPT),
    _d("flow_dissector", "FLOW_DISSECTOR", "FLOW_DISSECTOR", ATTACHABLE_OPT),
    _d("cgroup_skb/ingress", "CGROUP_SKB", "CGROUP_INET_INGRESS", ATTACHABLE_OPT, "cgroup"),
    _d("cgroup_skb/egress", "CGROUP_SKB", "CGROUP_INET_EGRESS", ATTACHABLE_OPT, "cgroup"),
    _d("cgroup/skb", "CGROUP_SKB", None),
    _d("cgroup/sock_create", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", _A, "cgroup"),
    _d("cgroup/sock_release", "CGROUP_SOCK", "CGROUP_INET_SOCK_RELEASE", _A, "cgroup"),
    _d("cgroup/sock", "CGROUP_SOCK", "CGROUP_INET_SOCK_CREATE", ATTACHABLE_OPT, "cgroup"),
    _d("cgroup/post_bind4", "CGROUP_SOCK", "CGROUP_INET4_POST_BIND", _A, "cgroup"),
    _d("cgroup/post_bind6", "CGROUP_SOCK", "CGROUP_INET6_POST_BIND", _A, "cgroup"),
    _d("cgroup/bind4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_BIND", _A, "cgroup"),
    _d("cgroup/bind6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_BIND", _A, "cgroup"),
    _d("cgroup/connect4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_CONNECT", _A, "cgroup"),
    _d("cgroup/connect6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_CONNECT", _A, "cgroup"),
    _d("cgroup/connect_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_CONNECT", _A, "cgroup"),
    _d("cgroup/sendmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_SENDMSG", _A, "cgroup"),
    _d("cgroup/sendmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_SENDMSG", _A, "cgroup"),
    _d("cgroup/sendmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_SENDMSG", _A, "cgroup"),
    _d("cgroup/recvmsg4", "CGROUP_SOCK_ADDR", "CGROUP_UDP4_RECVMSG", _A, "cgroup"),
    _d("cgroup/recvmsg6", "CGROUP_SOCK_ADDR", "CGROUP_UDP6_RECVMSG", _A, "cgroup"),
    _d("cgroup/recvmsg_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_RECVMSG", _A, "cgroup"),
    _d("cgroup/getpeername4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETPEERNAME", _A, "cgroup"),
    _d("cgroup/getpeername6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETPEERNAME", _A, "cgroup"),
    _d("cgroup/getpeername_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETPEERNAME", _A, "cgroup"),
    _d("cgroup/getsockname4", "CGROUP_SOCK_ADDR", "CGROUP_INET4_GETSOCKNAME", _A, "cgroup"),
    _d("cgroup/getsockname6", "CGROUP_SOCK_ADDR", "CGROUP_INET6_GETSOCKNAME", _A, "cgroup"),
    _d("cgroup/getsockname_unix", "CGROUP_SOCK_ADDR", "CGROUP_UNIX_GETSOCKNAME", _A, "cgroup"),
    _d("cgroup/sysctl", "CGROUP_SYSCTL", "CGROUP_SYSCTL", _A, "cgroup"),
    _d("cgroup/getsockopt", "CGROUP_SOCKOPT", "CGROUP_GETSOCKOPT", _A, "cgroup"),
    _d("cgroup/setsockopt", "CGROUP_SOCKOPT", "CGROUP_SETSOCKOPT", _A, "cgroup"),
    _d("cgroup/dev", "CGROUP_DEVICE", "CGROUP_DEVICE", ATTACHABLE_OPT, "cgroup"),
    _d("struct_ops+", "STRUCT_OPS", None),
    _d("struct_ops.s+", "STRUCT_OPS", None, _S),
    _d("sk_lookup", "SK_LOOKUP", "SK_LOOKUP", _A),
    _d("netfilter", "NETFILTER", "NETFILTER"),
)


@dataclass(frozen=True)
class SectionMatch:
    """What a section name says about the program inside it."""

    section: str
    definition: SectionDef
    autoload: bool
    """False for ``SEC("?...")``: libbpf does not load such programs unless asked."""

    @property
    def attach_target(self) -> str:
        """The part of the name after the first ``/`` (``sys_enter_openat`` in
        ``tracepoint/syscalls/sys_enter_openat``: for tracepoints it is ``syscalls/...``)."""
        name = self.section.lstrip("?")
        _, _, rest = name.partition("/")
        return rest

    @property
    def sleepable(self) -> bool:
        return bool(self.definition.flags & SecFlags.SLEEPABLE)


def match_section(section: str) -> SectionMatch | None:
    """The first table row that matches ``section`` (``?`` prefix allowed), or None."""
    autoload = not section.startswith("?")
    name = section[1:] if not autoload else section
    for d in SECTION_DEFS:
        if d.matches(name):
            return SectionMatch(section, d, autoload)
    return None


def suggest_section(section: str, n: int = 3) -> list[str]:
    """Did-you-mean candidates for an unknown section name, from the table's stems.

    Compares the section's first component (before ``/``) with each stem and, for names with
    a ``/``, keeps the user's suffix so the suggestion is a whole, usable SEC name."""
    name = section.lstrip("?")
    head, sep, tail = name.partition("/")
    stems = sorted({d.pattern.rstrip("+") for d in SECTION_DEFS})
    heads = sorted({s.split("/")[0] for s in stems})
    out: list[str] = []
    for cand in difflib.get_close_matches(name, stems, n=n, cutoff=0.6):
        out.append(cand)
    for cand in difflib.get_close_matches(head, heads, n=n, cutoff=0.6):
        full = f"{cand}{sep}{tail}"
        if full not in out and full != name and match_section(full) is not None:
            out.append(full)
    return out[:n]
