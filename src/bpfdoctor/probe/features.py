"""Which program and map types this kernel supports (library side of ``bpfdoctor probe``).

Partial: program types, tracing/lsm attach kinds and map types.  Helpers per type, kfuncs
and the per-kernel cache are not built yet.  Each answer carries the :class:`ProbeResult`
it came from, so a caller can show the evidence rather than a bare yes/no.
"""

from __future__ import annotations

import errno as _errno

from ..sys import AttachType, MapType, ProgType
from .minimal import ProbeResult, probe_map, probe_program, unsupported_errno

# Program types whose trivial program the kernel rejects without an expected attach type
# (the kernel's bpf_prog_load_check_attach requires one of a fixed set for these).
DEFAULT_ATTACH: dict[int, int] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
}


def verdict(result: ProbeResult) -> str:
    """``supported``, ``refused`` (EPERM/EACCES: the kind exists but this environment
    forbids it), ``unsupported`` (EINVAL/ENOTSUPP on a correctly shaped probe) or ``not
    probed`` (no syscall was made); any other failure is ``unknown`` rather than a guess."""
    if result.ok:
        return "supported"
    if result.errno is None:
        return "not probed"
    if result.errno in (_errno.EPERM, _errno.EACCES):
        return "refused"
    if unsupported_errno(result.errno):
        return "unsupported"
    return "unknown"


def supports_prog_type(prog_type: ProgType | int,
                       attach_type: AttachType | int | None = None) -> ProbeResult:
    """Load the trivial program of ``prog_type`` (with its default attach type when the
    kernel needs one) and return the evidence."""
    at = DEFAULT_ATTACH.get(int(prog_type), 0) if attach_type is None else attach_type
    return probe_program(prog_type, at, log=False)


def supports_map_type(map_type: MapType | int) -> ProbeResult:
    """Create the smallest map of ``map_type`` and return the evidence."""
    return probe_map(map_type)


def probe_btf_kinds() -> dict[str, ProbeResult | None]:
    """One probe per tracing/lsm attach kind (per kind, not per type: on some machines
    fentry is refused while tp_btf loads), on the targets the root-cause analysis uses
    (:data:`bpfdoctor.probe.rootcause.TRACING_KINDS`), sharing its per-process cache.
    ``None`` when the target is not in vmlinux BTF."""
    from .rootcause import TRACING_KINDS, probe_kind

    return {kind: probe_kind(pt, at) for (pt, at), (kind, _t) in TRACING_KINDS.items()}
