"""The running kernel's BTF: ``/sys/kernel/btf/vmlinux`` and its modules' split BTF.

Parsed once per process and cached (vmlinux is ~5 MB and ~130k types).  The specs are
shared: treat them as read-only, or :func:`clear_cache` after modifying one.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from ..errors import BTFError, MissingBTFError
from .spec import Spec, parse
from .wire import ByteOrder

SYSFS_BTF = Path("/sys/kernel/btf")

_lock = threading.Lock()
_vmlinux: Spec | None = None
_modules: dict[str, Spec] = {}


def _read(path: Path, missing: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MissingBTFError(missing, path=path) from None
    except OSError as exc:
        raise BTFError(f"cannot read kernel BTF: {exc.strerror}", path=path) from None


_NATIVE: ByteOrder = "little" if sys.byteorder == "little" else "big"


def vmlinux() -> Spec:
    """The kernel's own BTF (parsed on first call, then cached).

    :class:`~bpfdoctor.errors.MissingBTFError` on a kernel without BTF."""
    global _vmlinux
    with _lock:
        if _vmlinux is None:
            path = SYSFS_BTF / "vmlinux"
            raw = _read(path, "the running kernel has no BTF (built without "
                              "CONFIG_DEBUG_INFO_BTF)")
            try:
                _vmlinux = parse(raw, byteorder=_NATIVE, validate=False)
            except BTFError as exc:
                raise BTFError(exc.message, path=path) from None
        return _vmlinux


def module(name: str) -> Spec:
    """Split BTF of the loaded module ``name``, on top of :func:`vmlinux` (cached).

    :class:`~bpfdoctor.errors.MissingBTFError` if the module is not loaded or has no BTF."""
    if not name or name == "vmlinux" or os.sep in name or name in (".", ".."):
        raise BTFError(f"{name!r} is not a kernel module name")
    base = vmlinux()
    with _lock:
        spec = _modules.get(name)
        if spec is None:
            path = SYSFS_BTF / name
            raw = _read(path, f"module {name!r} is not loaded, or was built without BTF")
            try:
                spec = parse(raw, byteorder=_NATIVE, base=base, validate=False)
            except BTFError as exc:
                raise BTFError(exc.message, path=path) from None
            _modules[name] = spec
        return spec


def modules() -> list[str]:
    """Names of the loaded modules that carry BTF (sorted); empty without sysfs BTF."""
    try:
        return sorted(p.name for p in SYSFS_BTF.iterdir() if p.name != "vmlinux")
    except OSError:
        return []


def clear_cache() -> None:
    """Forget the cached specs (the next call re-reads sysfs)."""
    global _vmlinux
    with _lock:
        _vmlinux = None
        _modules.clear()
