"""The one place that enters the kernel: ``bpf(cmd, attr, size)`` through libc's ``syscall()``.

Calling ``syscall(2)`` by number, rather than linking libbpf, keeps bpfdoctor a pure-Python
package; the price is knowing the number per architecture (there is no ``bpf()`` wrapper in
glibc).  Everything here converts a ``-1`` return into a typed :class:`SyscallError`, so no
caller ever sees a raw error code.
"""

from __future__ import annotations

import ctypes
import errno
import platform
from typing import Any

from ..errors import SyscallError
from .consts import Cmd
from .fd import FD

# 64-bit little-endian machines only: the attr layouts below assume 8-byte aligned u64s.  The
# generic syscall table (asm-generic/unistd.h) is shared by arm64, riscv64 and loongarch64.
_SYSCALL_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"bpf": 321, "perf_event_open": 298},
    "amd64": {"bpf": 321, "perf_event_open": 298},
    "aarch64": {"bpf": 280, "perf_event_open": 241},
    "arm64": {"bpf": 280, "perf_event_open": 241},
    "riscv64": {"bpf": 280, "perf_event_open": 241},
    "loongarch64": {"bpf": 280, "perf_event_open": 241},
}

# BPF_PROG_LOAD returns EAGAIN when the verifier was interrupted by a signal before it got far
# (kernel/bpf/verifier.c); the load is safe to repeat, and libbpf and cilium/ebpf both do.
_EAGAIN_RETRIES = 5


class UnsupportedArchError(SyscallError):
    """bpfdoctor does not know the syscall numbers of this machine architecture."""

    def __init__(self, machine: str, name: str) -> None:
        super().__init__(errno.ENOSYS, name,
                         f"no known syscall number for {name} on {machine or 'unknown'}")
        self.machine = machine


def syscall_number(name: str, machine: str | None = None) -> int:
    """The number of syscall ``name`` (``"bpf"`` or ``"perf_event_open"``) on ``machine``
    (default: this one, per ``platform.machine()``)."""
    m = (machine if machine is not None else platform.machine()).lower()
    try:
        return _SYSCALL_NUMBERS[m][name]
    except KeyError:
        raise UnsupportedArchError(m, name) from None


_libc: Any = None


def _syscall_fn() -> Any:
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        fn = lib.syscall
        fn.restype = ctypes.c_long
        _libc = fn
    return _libc


def raw_syscall(name: str, *args: int | ctypes.c_void_p | ctypes.c_long) -> tuple[int, int]:
    """Issue syscall ``name`` with ``args``; returns ``(result, errno)`` without raising.

    Retries ``EINTR`` (as Python's own wrappers do since PEP 475).
    """
    nr = syscall_number(name)
    fn = _syscall_fn()
    cargs = [a if isinstance(a, ctypes.c_void_p | ctypes.c_long) else ctypes.c_long(a)
             for a in args]
    while True:
        ctypes.set_errno(0)
        ret = int(fn(ctypes.c_long(nr), *cargs))
        err = ctypes.get_errno() if ret < 0 else 0
        if ret < 0 and err == errno.EINTR:
            continue
        return ret, err


def bpf_raw(cmd: Cmd, attr: ctypes.Structure | ctypes.Union | None) -> tuple[int, int]:
    """``bpf(cmd, &attr, sizeof(attr))`` -> ``(result, errno)``; never raises for the kernel's
    refusals.  ``attr`` size is the structure's own ``sizeof``: the kernel zero-extends a
    shorter struct and insists that bytes it does not know are zero in a longer one, so one
    binary works across kernel versions as long as unused new fields stay 0."""
    if attr is None:
        return raw_syscall("bpf", int(cmd), ctypes.c_void_p(0), 0)
    ptr = ctypes.c_void_p(ctypes.addressof(attr))
    attempts = _EAGAIN_RETRIES if cmd == Cmd.PROG_LOAD else 1
    while True:
        ret, err = raw_syscall("bpf", int(cmd), ptr, ctypes.sizeof(attr))
        attempts -= 1
        if ret >= 0 or err != errno.EAGAIN or attempts <= 0:
            return ret, err


def bpf(cmd: Cmd, attr: ctypes.Structure | ctypes.Union | None) -> int:
    """Like :func:`bpf_raw` but raises ``SyscallError(errno, op="BPF_...")`` on failure."""
    ret, err = bpf_raw(cmd, attr)
    if ret < 0:
        raise SyscallError(err or errno.EIO, cmd.op)
    return ret


def bpf_fd(cmd: Cmd, attr: ctypes.Structure | ctypes.Union) -> FD:
    """Run a command that returns a new file descriptor and wrap it."""
    return FD(bpf(cmd, attr))
