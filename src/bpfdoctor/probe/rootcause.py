"""The root cause of a load failure that comes without a verifier log.

``EPERM`` with an empty log has several causes that need opposite fixes: a missing
capability, ``kernel.unprivileged_bpf_disabled``, an LSM or kernel policy refusing a whole
kind of program, memlock on old kernels.  libbpf answers every one with "try raising ulimit
-l".  Here the answer comes from evidence: the capabilities this process holds against those
the program type needs, and the outcome of trivial programs of the same kind (and of sibling
kinds) loaded into this kernel — the same refusal for ``r0 = 0; exit`` proves the kernel or
the environment refuses the kind, not the program.

Probes run once per process per kind (results cached); each closes what it opened.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..errors import BpfDoctorError
from ..sys import AttachType, MapType, ProgType
from .minimal import ProbeResult, probe_map, probe_program

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24
CAP_PERFMON = 38
CAP_BPF = 39
CAP_NAMES = {CAP_NET_ADMIN: "CAP_NET_ADMIN", CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
             CAP_SYS_RESOURCE: "CAP_SYS_RESOURCE", CAP_PERFMON: "CAP_PERFMON",
             CAP_BPF: "CAP_BPF"}

# The kernel's is_net_admin_prog_type() and is_perfmon_prog_type() (kernel/bpf/syscall.c):
# on top of CAP_BPF these program types need CAP_NET_ADMIN or CAP_PERFMON.
NET_ADMIN_TYPES = {ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP, ProgType.LWT_IN,
                   ProgType.LWT_OUT, ProgType.LWT_XMIT, ProgType.LWT_SEG6LOCAL,
                   ProgType.SK_SKB, ProgType.SK_MSG, ProgType.FLOW_DISSECTOR,
                   ProgType.CGROUP_DEVICE, ProgType.CGROUP_SOCK, ProgType.CGROUP_SOCK_ADDR,
                   ProgType.CGROUP_SOCKOPT, ProgType.CGROUP_SYSCTL, ProgType.SOCK_OPS,
                   ProgType.NETFILTER}
PERFMON_TYPES = {ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.PERF_EVENT,
                 ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE, ProgType.TRACING,
                 ProgType.LSM, ProgType.STRUCT_OPS, ProgType.EXT}
# Types an unprivileged user may load when kernel.unprivileged_bpf_disabled is 0.
UNPRIV_TYPES = {ProgType.SOCKET_FILTER, ProgType.CGROUP_SKB}


def effective_caps(status: str | None = None) -> set[int]:
    """Capability numbers in this process's effective set (``CapEff`` of
    ``/proc/self/status``; ``status`` is that file's text, for tests)."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return set()
    return caps_from_status(status, "CapEff")


def caps_from_status(status: str, field: str) -> set[int]:
    """Capability numbers of one set (``CapEff``, ``CapPrm``, ``CapBnd``) of a
    ``/proc/<pid>/status`` text; empty when the line is missing or malformed."""
    for line in status.splitlines():
        if line.startswith(field + ":"):
            try:
                mask = int(line.split()[1], 16)
            except (IndexError, ValueError):
                return set()
            return {i for i in range(64) if mask >> i & 1}
    return set()


def required_caps(prog_type: int) -> list[int]:
    """Capabilities a program of ``prog_type`` needs (CAP_SYS_ADMIN stands in for all)."""
    need = [CAP_BPF]
    if prog_type in NET_ADMIN_TYPES:
        need.append(CAP_NET_ADMIN)
    if prog_type in PERFMON_TYPES:
        need.append(CAP_PERFMON)
    return need


def missing_caps(prog_type: int, caps: set[int] | None = None) -> list[str]:
    """Names of the capabilities ``prog_type`` needs that this process lacks."""
    have = effective_caps() if caps is None else caps
    if CAP_SYS_ADMIN in have:
        return []
    return [CAP_NAMES[c] for c in required_caps(prog_type) if c not in have]


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def active_lsms() -> list[str] | None:
    """The active LSMs (``None`` when securityfs is not mounted or unreadable)."""
    try:
        return [s for s in Path("/sys/kernel/security/lsm").read_text().strip().split(",") if s]
    except OSError:
        return None


# Tracing/lsm attach kinds and a vmlinux target present on every kernel that has the kind.
TRACING_KINDS: dict[tuple[int, int], tuple[str, str]] = {
    (ProgType.TRACING, AttachType.TRACE_RAW_TP): ("tp_btf", "btf_trace_sched_switch"),
    (ProgType.TRACING, AttachType.TRACE_FENTRY): ("fentry", "bpf_fentry_test1"),
    (ProgType.TRACING, AttachType.TRACE_FEXIT): ("fexit", "bpf_fentry_test1"),
    (ProgType.TRACING, AttachType.MODIFY_RETURN): ("fmod_ret", "bpf_modify_return_test"),
    (ProgType.TRACING, AttachType.TRACE_ITER): ("iter", "bpf_iter_task"),
    (ProgType.LSM, AttachType.LSM_MAC): ("lsm", "bpf_lsm_file_open"),
}


@cache
def probe_kind(prog_type: int, attach_type: int) -> ProbeResult | None:
    """The trivial program of this kind (tracing kinds on their known target); ``None``
    when the kind needs a target that this kernel's BTF does not have."""
    kind = TRACING_KINDS.get((prog_type, attach_type))
    if kind is None:
        return probe_program(prog_type, attach_type)
    from ..btf.kernel import vmlinux
    from ..btf.types import Func, Typedef

    try:
        ids = vmlinux().find(kind[1], Typedef if kind[0] == "tp_btf" else Func)
    except (OSError, BpfDoctorError):  # no kernel BTF: nothing to probe against
        return None
    if not ids:
        return None
    return probe_program(prog_type, attach_type, attach_btf_id=ids[0], target=kind[1])


@dataclass
class KindRefusal:
    """The kernel refuses every program of this kind, not just the user's."""

    kind: str
    errno: int
    probe: ProbeResult
    siblings: list[tuple[str, ProbeResult]] = field(default_factory=list)
    """Other tracing kinds (name, probe) for comparison (those that load narrow the cause)."""
    lsms: list[str] | None = None


def kind_refusal(prog_type: int, attach_type: int | None, code: int) -> KindRefusal | None:
    """A :class:`KindRefusal` when the trivial program of the same kind fails with the same
    ``code``; ``None`` when it loads (the program itself is at fault) or cannot be probed."""
    at = attach_type or 0
    probe = probe_kind(prog_type, at)
    if probe is None or probe.ok or probe.errno != code:
        return None
    name = TRACING_KINDS.get((prog_type, at), (None,))[0] or _kind_name(prog_type, at)
    siblings = []
    if (prog_type, at) in TRACING_KINDS:
        for (pt, sat), (sname, _) in TRACING_KINDS.items():
            if (pt, sat) != (prog_type, at):
                r = probe_kind(pt, sat)
                if r is not None:
                    siblings.append((sname, r))
    return KindRefusal(name, code, probe, siblings, active_lsms())


def _kind_name(prog_type: int, attach_type: int) -> str:
    try:
        n = ProgType(prog_type).name.lower()
    except ValueError:
        n = f"type {prog_type}"
    if attach_type:
        try:
            n += "/" + AttachType(attach_type).name.lower()
        except ValueError:
            n += f"/attach {attach_type}"
    return n


@dataclass
class MapShapeRefusal:
    """The kernel creates this map type, but not with the object's shape."""

    fields: list[str]
    """The fields left 0 in the object (``value_size``, ``max_entries``: sized at run time),
    or empty when the shape as a whole is refused."""
    default_probe: ProbeResult
    own_probe: ProbeResult


# Map types whose max_entries must be 0 (the kernel sizes them itself).
_ZERO_ENTRIES_OK = {MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
                    MapType.CGRP_STORAGE, MapType.CGROUP_STORAGE,
                    MapType.PERCPU_CGROUP_STORAGE, MapType.PERF_EVENT_ARRAY,
                    MapType.RINGBUF, MapType.USER_RINGBUF}


def map_shape_refusal(map_type: int, key_size: int, value_size: int, max_entries: int,
                      flags: int, code: int) -> MapShapeRefusal | None:
    """Evidence that the map's *shape* is what the kernel refuses: the smallest map of the
    type is created, the same shape as the object's fails with the same ``code``."""
    default = probe_map(map_type)
    if not default.ok:
        return None
    own = probe_map(map_type, key_size=key_size, value_size=value_size,
                    max_entries=max_entries, flags=flags)
    if own.ok or own.errno != code:
        return None
    zero = [] if map_type in _ZERO_ENTRIES_OK else \
        [n for n, v in (("value_size", value_size), ("max_entries", max_entries)) if v == 0]
    return MapShapeRefusal(zero, default, own)


def unprivileged_disabled() -> str | None:
    """``kernel.unprivileged_bpf_disabled`` (0, 1 or 2), or ``None`` when unreadable."""
    return _sysctl("kernel.unprivileged_bpf_disabled")


LOGLESS_ERRNOS = {_errno.EPERM, _errno.EACCES}
