"""Ownership of kernel file descriptors.

Every bpf object (map, program, link, BTF) lives as long as something references it; for
user space that reference is a file descriptor.  :class:`FD` makes the ownership explicit so a
forgotten close shows up as a ``ResourceWarning`` instead of a silently leaked kernel object.
"""

from __future__ import annotations

import fcntl
import os
import warnings
from types import TracebackType


class FD:
    """Owns one file descriptor: closes it exactly once.

    ``FD`` never holds descriptor 0.  Many ``bpf_attr`` fields treat 0 as "no fd" (``btf_fd``,
    ``inner_map_fd``, ``attach_prog_fd`` ...), so a bpf object that lands on fd 0 (stdin was
    closed) would be unusable; like libbpf and cilium/ebpf, such a descriptor is moved to the
    lowest free number above 2.
    """

    __slots__ = ("__weakref__", "_fd")

    def __init__(self, fd: int) -> None:
        if not isinstance(fd, int) or isinstance(fd, bool) or fd < 0:
            raise ValueError(f"not a file descriptor: {fd!r}")
        if fd == 0:
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(fd)
            fd = moved
        self._fd: int = fd

    @property
    def fd(self) -> int:
        """The descriptor number.  Raises ``ValueError`` once closed, so a stale number can
        never be handed to the kernel (where it might name some unrelated new file)."""
        if self._fd < 0:
            raise ValueError("operation on closed FD")
        return self._fd

    def fileno(self) -> int:
        return self.fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        """Close the descriptor; a second call does nothing."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def release(self) -> int:
        """Give up ownership: return the number without closing it.  The caller now owns it."""
        fd = self.fd
        self._fd = -1
        return fd

    def dup(self) -> FD:
        """A new, independently owned descriptor for the same kernel object (close-on-exec)."""
        return FD(fcntl.fcntl(self.fd, fcntl.F_DUPFD_CLOEXEC, 3))

    def __enter__(self) -> FD:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            try:
                warnings.warn(f"unclosed bpf file descriptor {fd}", ResourceWarning,
                              stacklevel=2, source=self)
            except Exception:  # pragma: no cover - interpreter shutdown
                pass
            try:
                os.close(fd)
            except OSError:  # pragma: no cover - already gone
                pass

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"


FDLike = FD | int
"""What every function taking a descriptor accepts: an :class:`FD` or a raw number."""


def fdnum(fd: FDLike) -> int:
    """The raw number of ``fd`` (an :class:`FD` or an int); ``ValueError`` if closed/negative."""
    if isinstance(fd, FD):
        return fd.fd
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError(f"expected an FD or an int, got {type(fd).__name__}")
    if fd < 0:
        raise ValueError(f"not a file descriptor: {fd}")
    return fd


def optfd(fd: FDLike | None) -> int:
    """Like :func:`fdnum` but ``None`` becomes 0, the kernel's "no fd" in most attr fields."""
    return 0 if fd is None else fdnum(fd)
