"""Environment checks around ``bpf()``: is it usable at all, memlock limits, CPU count, and
what ``/proc`` says about a descriptor."""

from __future__ import annotations

import errno
import os
import resource
from pathlib import Path

from ..errors import SyscallError
from .consts import MapType
from .fd import FDLike, fdnum
from .maps import map_create
from .syscall import UnsupportedArchError


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def kernel_available() -> tuple[bool, str]:
    """Whether ``bpf()`` works here, by creating and closing a one-entry array map (needs
    no BTF, no JIT and no network device, so it fails only for reasons that break every
    other command too).  The reason says what to change when it does not."""
    try:
        fd = map_create(MapType.ARRAY, 4, 4, 1)
    except UnsupportedArchError as e:
        return False, str(e)
    except SyscallError as e:
        return False, _explain(e.errno)
    except OSError as e:  # libc could not be loaded
        return False, f"cannot call syscall(2) through libc: {e}"
    fd.close()
    return True, "bpf() works"


def _explain(code: int) -> str:
    if code == errno.ENOSYS:
        return ("bpf() is not implemented (ENOSYS): kernel built without CONFIG_BPF_SYSCALL, "
                "or a seccomp filter (containers) blocks it")
    if code == errno.EPERM:
        unpriv = _read("/proc/sys/kernel/unprivileged_bpf_disabled")
        hint = f"; kernel.unprivileged_bpf_disabled={unpriv}" if unpriv is not None else ""
        return (f"bpf() not permitted (EPERM) for euid {os.geteuid()}: run as root or with "
                f"CAP_BPF (plus CAP_PERFMON/CAP_NET_ADMIN for most program types){hint}; "
                "seccomp, an LSM or, before Linux 5.11, RLIMIT_MEMLOCK can also cause this")
    if code == errno.EACCES:
        return "bpf() denied (EACCES), probably by an LSM policy (SELinux/AppArmor/BPF LSM)"
    if code == errno.ENOMEM:
        return "bpf() map creation failed with ENOMEM (memory cgroup or RLIMIT_MEMLOCK)"
    return f"bpf() test map creation failed: {errno.errorcode.get(code, code)}: " \
           f"{os.strerror(code)}"


def memlock_limit() -> tuple[int, int]:
    """``RLIMIT_MEMLOCK`` as ``(soft, hard)`` (``resource.RLIM_INFINITY`` for unlimited).

    Kernels before 5.11 charge maps and programs against it; newer ones use memory cgroups
    and ignore it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return soft, hard


def set_memlock_limit(soft: int = resource.RLIM_INFINITY,
                      hard: int | None = resource.RLIM_INFINITY) -> None:
    """Set ``RLIMIT_MEMLOCK`` (``hard=None`` keeps the current hard limit).  Raising the
    hard limit needs ``CAP_SYS_RESOURCE``; failure raises ``SyscallError(op="setrlimit")``."""
    if hard is None:
        hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (soft, hard))
    except (ValueError, OSError) as e:
        code = getattr(e, "errno", None) or errno.EINVAL
        raise SyscallError(code, "setrlimit(RLIMIT_MEMLOCK)", str(e)) from None


def parse_cpu_list(text: str) -> list[int]:
    """``"0-3,8,10-11"`` -> ``[0, 1, 2, 3, 8, 10, 11]`` (the sysfs cpulist format)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        first, last = int(lo), int(hi) if sep else int(lo)
        if last < first:
            raise ValueError(f"bad CPU range {part!r}")
        cpus.extend(range(first, last + 1))
    return cpus


def possible_cpus() -> int:
    """Number of *possible* CPUs: the number of slots in a per-CPU map value as seen from
    user space (not ``os.cpu_count()``, which counts online CPUs)."""
    text = _read("/sys/devices/system/cpu/possible")
    if text is None:
        raise SyscallError(errno.ENOENT, "read /sys/devices/system/cpu/possible")
    return len(parse_cpu_list(text))


def fdinfo(fd: FDLike) -> dict[str, str]:
    """``/proc/self/fdinfo/<fd>`` as a dict: for bpf objects it names the kind and type
    (``prog_type``, ``map_type``, ``link_type``, ``btf_id`` ...) without another syscall."""
    text = _read(f"/proc/self/fdinfo/{fdnum(fd)}")
    if text is None:
        raise SyscallError(errno.EBADF, "read /proc/self/fdinfo")
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


_ANON_INODE_KIND = {
    "anon_inode:bpf-prog": "programs",
    "anon_inode:bpf-map": "maps",
    "anon_inode:bpf_link": "links",
    "anon_inode:btf": "btf",
}


def open_objects() -> dict[str, int]:
    """How many program, map, link and BTF descriptors *this process* holds open (keys as in
    :func:`count_objects`), from ``/proc/self/fd``.

    Unlike the system-wide :func:`count_objects` this is immune to other processes creating
    objects concurrently and to the kernel's RCU-deferred release of objects referenced by
    a closed program.  It does not see objects kept alive without an fd (pins in bpffs,
    ``prog_attach``), so a leak check wants both."""
    counts = dict.fromkeys(("programs", "maps", "links", "btf"), 0)
    base = "/proc/self/fd"
    for name in os.listdir(base):
        try:
            target = os.readlink(f"{base}/{name}")
        except OSError:  # closed meanwhile (e.g. the fd listdir itself used)
            continue
        kind = _ANON_INODE_KIND.get(target)
        if kind is not None:
            counts[kind] += 1
    return counts
