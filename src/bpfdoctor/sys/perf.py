"""``perf_event_open(2)`` for tracepoints, and the ioctls that put a BPF program on one.

Classic ``SEC("tracepoint/...")`` programs (``ProgType.TRACEPOINT``) do not attach through
``bpf()`` alone: user space opens a perf event for the tracepoint id (from tracefs), then
either ``PERF_EVENT_IOC_SET_BPF`` + ``PERF_EVENT_IOC_ENABLE``, or (5.15+) a
``link_create(prog, perf_fd, AttachType.PERF_EVENT)`` link.
"""

from __future__ import annotations

import ctypes
import fcntl
from ctypes import c_int32, c_uint16, c_uint32, c_uint64
from pathlib import Path

from ..errors import BpfDoctorError, SyscallError
from .fd import FD, FDLike, fdnum
from .syscall import raw_syscall

PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2

PERF_FLAG_FD_CLOEXEC = 1 << 3
PERF_ATTR_FLAG_DISABLED = 1 << 0
"""Bit 0 of the flag word of ``perf_event_attr`` (``disabled``)."""


def _io(nr: int) -> int:
    return (ord("$") << 8) | nr


def _iow(nr: int, size: int) -> int:
    return (1 << 30) | (size << 16) | (ord("$") << 8) | nr


PERF_EVENT_IOC_ENABLE = _io(0)
PERF_EVENT_IOC_DISABLE = _io(1)
PERF_EVENT_IOC_SET_BPF = _iow(8, 4)


class PerfEventAttr(ctypes.Structure):
    """``struct perf_event_attr`` up to ``config3`` (``PERF_ATTR_SIZE_VER8``, 136 bytes).

    ``flags`` is the kernel's 64-bit bitfield word (``disabled``, ``inherit``, ...) as one
    integer.  Unions are represented by their first member (``sample_period``,
    ``wakeup_events``, ``config1``, ``config2``).
    """

    _fields_ = [
        ("type", c_uint32),
        ("size", c_uint32),
        ("config", c_uint64),
        ("sample_period", c_uint64),
        ("sample_type", c_uint64),
        ("read_format", c_uint64),
        ("flags", c_uint64),
        ("wakeup_events", c_uint32),
        ("bp_type", c_uint32),
        ("config1", c_uint64),
        ("config2", c_uint64),
        ("branch_sample_type", c_uint64),
        ("sample_regs_user", c_uint64),
        ("sample_stack_user", c_uint32),
        ("clockid", c_int32),
        ("sample_regs_intr", c_uint64),
        ("aux_watermark", c_uint32),
        ("sample_max_stack", c_uint16),
        ("_reserved_2", c_uint16),
        ("aux_sample_size", c_uint32),
        ("_reserved_3", c_uint32),
        ("sig_data", c_uint64),
        ("config3", c_uint64),
    ]


def perf_event_open(attr: PerfEventAttr, *, pid: int = -1, cpu: int = 0,
                    group_fd: int = -1, flags: int = PERF_FLAG_FD_CLOEXEC) -> FD:
    """``perf_event_open(attr, pid, cpu, group_fd, flags)``; ``attr.size`` is set for you."""
    attr.size = ctypes.sizeof(attr)
    ret, err = raw_syscall("perf_event_open", ctypes.c_void_p(ctypes.addressof(attr)),
                           pid, cpu, group_fd, flags)
    if ret < 0:
        raise SyscallError(err, "perf_event_open")
    return FD(ret)


def perf_event_open_tracepoint(tp_id: int, *, pid: int = -1, cpu: int = 0) -> FD:
    """A perf event on tracepoint ``tp_id`` suitable for a BPF program (all tasks; a BPF
    program runs for hits on every CPU even though the event is opened on ``cpu``)."""
    attr = PerfEventAttr(type=PERF_TYPE_TRACEPOINT, config=tp_id, sample_period=1,
                         wakeup_events=1)
    return perf_event_open(attr, pid=pid, cpu=cpu)


def _ioctl(fd: FDLike, request: int, arg: int, op: str) -> None:
    try:
        fcntl.ioctl(fdnum(fd), request, arg)
    except OSError as e:
        raise SyscallError(e.errno or 0, op) from None


def perf_event_set_bpf(perf_fd: FDLike, prog_fd: FDLike) -> None:
    """Attach a program to the perf event (``PERF_EVENT_IOC_SET_BPF``); it stays attached
    until the perf event fd is closed."""
    _ioctl(perf_fd, PERF_EVENT_IOC_SET_BPF, fdnum(prog_fd), "PERF_EVENT_IOC_SET_BPF")


def perf_event_enable(perf_fd: FDLike) -> None:
    """``PERF_EVENT_IOC_ENABLE``."""
    _ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0, "PERF_EVENT_IOC_ENABLE")


def perf_event_disable(perf_fd: FDLike) -> None:
    """``PERF_EVENT_IOC_DISABLE``."""
    _ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0, "PERF_EVENT_IOC_DISABLE")


# ----------------------------------------------------------------------------- tracefs

TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


class TracefsError(BpfDoctorError):
    """A tracepoint id could not be read: tracefs is not mounted, or no such tracepoint."""

    def __init__(self, message: str, *, category: str, name: str,
                 searched: tuple[str, ...]) -> None:
        self.category = category
        self.name = name
        self.searched = searched
        super().__init__(message)


def tracefs_root() -> Path | None:
    """The first mounted tracefs among the usual places (it has an ``events`` directory)."""
    for p in TRACEFS_CANDIDATES:
        if (p / "events").is_dir():
            return p
    return None


def tracepoint_id(category: str, name: str) -> int:
    """The id of tracepoint ``category:name`` (``"syscalls"``, ``"sys_enter_openat"``), read
    from ``<tracefs>/events/<category>/<name>/id``."""
    searched = tuple(str(p) for p in TRACEFS_CANDIDATES)
    if "/" in category or "/" in name or category in ("", ".", "..") or name in ("", ".", ".."):
        raise TracefsError(f"invalid tracepoint name {category}:{name}", category=category,
                           name=name, searched=searched)
    root = tracefs_root()
    if root is None:
        raise TracefsError(
            "tracefs is not mounted (try: mount -t tracefs tracefs /sys/kernel/tracing)",
            category=category, name=name, searched=searched)
    path = root / "events" / category / name / "id"
    try:
        return int(path.read_text().strip())
    except FileNotFoundError:
        raise TracefsError(f"no tracepoint {category}:{name} (looked for {path})",
                           category=category, name=name, searched=(str(root),)) from None
    except (OSError, ValueError) as e:
        raise TracefsError(f"cannot read {path}: {e}", category=category, name=name,
                           searched=(str(root),)) from None


__all__ = [
    "PERF_EVENT_IOC_DISABLE", "PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_SET_BPF",
    "PERF_FLAG_FD_CLOEXEC", "PERF_TYPE_TRACEPOINT", "PerfEventAttr", "TracefsError",
    "perf_event_disable", "perf_event_enable", "perf_event_open", "perf_event_open_tracepoint",
    "perf_event_set_bpf", "tracefs_root", "tracepoint_id",
]

