"""Syscall errors that carry a kernel log (``BPF_PROG_LOAD``, ``BPF_BTF_LOAD``).

They stay :class:`~bpfdoctor.errors.SyscallError`\\s (errno + op) so generic handlers work, and
add what the loader and the diagnosis layer need to explain the refusal without re-running it.
"""

from __future__ import annotations

import errno as _errno

from ..errors import SyscallError


class LoggedSyscallError(SyscallError):
    """A command that can return a verifier-style log failed.

    ``log`` is the decoded log (NUL and trailing garbage stripped, possibly empty: no log was
    requested, or the failure came before the log was set up).  ``log_size`` is the buffer we
    passed, ``log_level`` the level asked for, and ``log_true_size`` the size (with the
    terminating NUL) the kernel says the whole log needed: 0 on kernels before 6.4, which do
    not report it.  ``log_true_size > log_size`` means the log in hand is truncated.
    """

    def __init__(self, errno: int, op: str, *, log: str = "", log_size: int = 0,
                 log_level: int = 0, log_true_size: int = 0) -> None:
        self.log = log
        self.log_size = log_size
        self.log_level = log_level
        self.log_true_size = log_true_size
        super().__init__(errno, op)

    @property
    def log_truncated(self) -> bool:
        """True when the kernel had more log than fitted: ``ENOSPC``, or a reported true size
        beyond the buffer."""
        return self.log_size > 0 and (self.errno == _errno.ENOSPC
                                      or self.log_true_size > self.log_size)

    @property
    def log_lines(self) -> list[str]:
        return self.log.splitlines()


class ProgLoadError(LoggedSyscallError):
    """``BPF_PROG_LOAD`` failed: ``EACCES`` / ``EINVAL`` from the verifier with its log in
    ``log``, ``ENOSPC`` when the log buffer was too small (even if verification passed),
    ``EPERM`` for missing privileges, ``E2BIG`` for a too-long program, ..."""


class BTFLoadSyscallError(LoggedSyscallError):
    """``BPF_BTF_LOAD`` refused the BTF blob; ``log`` holds the kernel's BTF checker output."""
