"""Attaching programs: links (``BPF_LINK_CREATE``, ``BPF_RAW_TRACEPOINT_OPEN``) and the older
fd-less attachment (``BPF_PROG_ATTACH``/``DETACH``), plus the other commands that hand out
fds for a running program (stats, iterators, tokens)."""

from __future__ import annotations

import ctypes

from .attr import (
    EnableStatsAttr,
    IterCreateAttr,
    LinkCreateAttr,
    LinkDetachAttr,
    LinkUpdateAttr,
    ProgAttachAttr,
    RawTracepointAttr,
    TokenCreateAttr,
)
from .consts import AttachType, Cmd, StatsType
from .fd import FD, FDLike, fdnum, optfd
from .syscall import bpf, bpf_fd


def raw_tracepoint_open(name: str | None, prog_fd: FDLike, *, cookie: int = 0) -> FD:
    """Attach a ``RAW_TRACEPOINT`` (or BTF-typed ``tp_btf``/fentry-style ``TRACING``, when
    ``name`` is ``None``) program; the returned link fd detaches on close.  ``cookie`` needs
    6.10+."""
    buf = ctypes.create_string_buffer(name.encode()) if name is not None else None
    attr = RawTracepointAttr(name=ctypes.addressof(buf) if buf is not None else 0,
                             prog_fd=fdnum(prog_fd), cookie=cookie)
    return bpf_fd(Cmd.RAW_TRACEPOINT_OPEN, attr)


_TRACING_TYPES = frozenset({AttachType.TRACE_FENTRY, AttachType.TRACE_FEXIT,
                            AttachType.MODIFY_RETURN, AttachType.LSM_MAC,
                            AttachType.TRACE_RAW_TP})
_RELATIVE_TAIL = {AttachType.TCX_INGRESS: "tcx", AttachType.TCX_EGRESS: "tcx",
                  AttachType.NETKIT_PRIMARY: "netkit", AttachType.NETKIT_PEER: "netkit"}


def link_create(
    prog_fd: FDLike,
    target_fd: FDLike | None,
    attach_type: AttachType | int,
    *,
    flags: int = 0,
    target_ifindex: int | None = None,
    target_btf_id: int = 0,
    cookie: int = 0,
    iter_info: bytes = b"",
    relative_fd: FDLike | None = None,
    relative_id: int | None = None,
    expected_revision: int = 0,
    netfilter: tuple[int, int, int, int] | None = None,
) -> FD:
    """Create a link attaching ``prog_fd`` to ``target_fd`` (cgroup, netns, perf event, BPF
    program for freplace; ``None`` where the kernel wants 0, e.g. fentry or iterators) or to
    network device ``target_ifindex`` (xdp, tcx, netkit).

    The tail of the attr depends on ``attach_type`` and is filled from the keyword that
    applies: ``cookie`` goes to ``perf_event.bpf_cookie`` for ``PERF_EVENT`` and to
    ``tracing.cookie`` for fentry/fexit/fmod_ret/lsm/raw_tp; ``iter_info`` (a packed
    ``union bpf_iter_link_info``) for ``TRACE_ITER``; ``relative_fd``/``relative_id`` and
    ``expected_revision`` for tcx/netkit/cgroup multi-program ordering (with ``flags`` from
    ``AttachFlags``); ``netfilter`` = ``(pf, hooknum, priority, flags)`` for ``NETFILTER``.
    kprobe/uprobe multi-links are not wrapped here.
    """
    at = int(attach_type)
    if relative_fd is not None and relative_id is not None:
        raise ValueError("relative_fd and relative_id share one field; pass one")
    if cookie and at != AttachType.PERF_EVENT and at not in _TRACING_TYPES:
        raise ValueError(f"attach type {at} takes no cookie through this call")
    attr = LinkCreateAttr(prog_fd=fdnum(prog_fd), attach_type=int(attach_type), flags=flags)
    if target_ifindex is not None:
        attr.target_ifindex = target_ifindex
    else:
        attr.target_fd = optfd(target_fd)
    info = ctypes.create_string_buffer(iter_info, len(iter_info)) if iter_info else None
    if at == AttachType.PERF_EVENT:
        attr.perf_event.bpf_cookie = cookie
    elif at in _TRACING_TYPES:
        attr.tracing.target_btf_id = target_btf_id
        attr.tracing.cookie = cookie
    elif at == AttachType.TRACE_ITER:
        if info is not None:
            attr.iter_info = ctypes.addressof(info)
            attr.iter_info_len = len(iter_info)
    elif at == AttachType.NETFILTER:
        if netfilter is None:
            raise ValueError("a NETFILTER link needs netfilter=(pf, hooknum, priority, flags)")
        pf, hooknum, priority, nf_flags = netfilter
        attr.netfilter.pf, attr.netfilter.hooknum = pf, hooknum
        attr.netfilter.priority, attr.netfilter.flags = priority, nf_flags
    elif relative_fd is not None or relative_id is not None or expected_revision:
        tail = getattr(attr, _RELATIVE_TAIL.get(at, "cgroup"))  # type: ignore[call-overload]
        if relative_fd is not None:
            tail.relative_fd = fdnum(relative_fd)
        elif relative_id is not None:
            tail.relative_id = relative_id
        tail.expected_revision = expected_revision
    elif target_btf_id:
        attr.target_btf_id = target_btf_id
    return bpf_fd(Cmd.LINK_CREATE, attr)


def link_update(link_fd: FDLike, new_prog_fd: FDLike, *, old_prog_fd: FDLike | None = None,
                flags: int = 0) -> None:
    """Atomically replace the program of a link; with ``old_prog_fd`` (and
    ``AttachFlags.REPLACE`` in ``flags``) only if that is the one attached."""
    attr = LinkUpdateAttr(link_fd=fdnum(link_fd), new_prog_fd=fdnum(new_prog_fd), flags=flags)
    if old_prog_fd is not None:
        attr.old_prog_fd = fdnum(old_prog_fd)
    bpf(Cmd.LINK_UPDATE, attr)


def link_detach(link_fd: FDLike) -> None:
    """Detach the link's program now, leaving the (defunct) link fd open."""
    bpf(Cmd.LINK_DETACH, LinkDetachAttr(link_fd=fdnum(link_fd)))


def prog_attach(prog_fd: FDLike, target_fd: FDLike | None, attach_type: AttachType | int,
                flags: int = 0, *, target_ifindex: int | None = None,
                replace_prog_fd: FDLike | None = None, relative_fd: FDLike | None = None,
                relative_id: int | None = None, expected_revision: int = 0) -> None:
    """Attach without a link (cgroup, sockmap, flow dissector, lirc, tcx ...).  The
    attachment outlives the fds: undo it with :func:`prog_detach`."""
    attr = ProgAttachAttr(attach_bpf_fd=fdnum(prog_fd), attach_type=int(attach_type),
                          attach_flags=flags, expected_revision=expected_revision)
    _target(attr, target_fd, target_ifindex)
    if replace_prog_fd is not None:
        attr.replace_bpf_fd = fdnum(replace_prog_fd)
    _relative(attr, relative_fd, relative_id)
    bpf(Cmd.PROG_ATTACH, attr)


def prog_detach(target_fd: FDLike | None, attach_type: AttachType | int,
                prog_fd: FDLike | None = None, flags: int = 0, *,
                target_ifindex: int | None = None, relative_fd: FDLike | None = None,
                relative_id: int | None = None, expected_revision: int = 0) -> None:
    """Undo :func:`prog_attach` (``prog_fd`` selects the program where several are attached)."""
    attr = ProgAttachAttr(attach_bpf_fd=optfd(prog_fd), attach_type=int(attach_type),
                          attach_flags=flags, expected_revision=expected_revision)
    _target(attr, target_fd, target_ifindex)
    _relative(attr, relative_fd, relative_id)
    bpf(Cmd.PROG_DETACH, attr)


def _target(attr: ProgAttachAttr, target_fd: FDLike | None, ifindex: int | None) -> None:
    if ifindex is not None:
        attr.target_ifindex = ifindex
    else:
        attr.target_fd = optfd(target_fd)


def _relative(attr: ProgAttachAttr, relative_fd: FDLike | None, relative_id: int | None) -> None:
    if relative_fd is not None and relative_id is not None:
        raise ValueError("relative_fd and relative_id share one field; pass one")
    if relative_fd is not None:
        attr.relative_fd = fdnum(relative_fd)
    elif relative_id is not None:
        attr.relative_id = relative_id


def enable_stats(stats_type: StatsType | int = StatsType.RUN_TIME) -> FD:
    """Turn on run-time statistics (``run_time_ns``/``run_cnt`` in ``prog_info``) for as long
    as the returned fd stays open."""
    return bpf_fd(Cmd.ENABLE_STATS, EnableStatsAttr(type=int(stats_type)))


def iter_create(link_fd: FDLike, flags: int = 0) -> FD:
    """Open an instance of a BPF iterator link; ``read()`` it to run the program."""
    return bpf_fd(Cmd.ITER_CREATE, IterCreateAttr(link_fd=fdnum(link_fd), flags=flags))


def token_create(bpffs_fd: FDLike, flags: int = 0) -> FD:
    """Create a BPF token from a bpffs mounted with delegation options (6.9+)."""
    return bpf_fd(Cmd.TOKEN_CREATE, TokenCreateAttr(flags=flags, bpffs_fd=fdnum(bpffs_fd)))
