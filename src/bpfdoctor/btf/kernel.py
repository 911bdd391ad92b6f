"""The running kernel's BTF: ``/sys/kernel/btf/vmlinux`` and its modules' split BTF.

Parsed once per process and cached (vmlinux is ~5 MB and ~130k types).  The specs are
shared: treat them as read-only, or :func:`clear_cache` after modifying one.

Scanning vmlinux's ~130k records and sorting their names for :meth:`Spec.find` is most of the
time to make it ready for CO-RE, so their result (record offsets and the sorted name index,
~1.5 MB) is also saved on disk, in ``$XDG_CACHE_HOME/bpfdoctor`` (default
``~/.cache/bpfdoctor``), and reused by later processes.  The file is named by the BTF's size
and CRC-32 of its bytes and carries a checksum of its own; a file that is missing,
stale, damaged or unreadable is ignored (and rewritten), so the cache never changes a
result, only how fast it comes.  ``BPFDOCTOR_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import mmap
import os
import sys
import zlib
from _thread import allocate_lock  # threading costs a millisecond to import
from array import array

from ..errors import BTFError, MissingBTFError
from .spec import ScanState, Spec, parse
from .wire import ByteOrder

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (and re) at run time
if TYPE_CHECKING:
    from typing import BinaryIO

SYSFS_BTF = "/sys/kernel/btf"
"""Where the kernel exposes its BTF.  A plain string: importing :mod:`pathlib` alone costs
several milliseconds, and this module is on the path of every CO-RE load."""

_lock = allocate_lock()
_vmlinux: Spec | None = None
_modules: dict[str, Spec] = {}


def _read(path: str, missing: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return _map_or_read(f)
    except FileNotFoundError:
        raise MissingBTFError(missing, path=path) from None
    except OSError as exc:
        raise BTFError(f"cannot read kernel BTF: {exc.strerror}", path=path) from None


def _map_or_read(f: BinaryIO) -> bytes:
    """The whole file, copied out of a private read-only mapping when the kernel allows
    one (vmlinux BTF, since Linux 6.16): sysfs serves ``read()`` a page per call, which
    for vmlinux is over a thousand system calls."""
    try:
        with mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ) as m:
            return bytes(m)
    except (OSError, ValueError):  # not mappable, or empty
        return f.read()


_NATIVE: ByteOrder = "little" if sys.byteorder == "little" else "big"


_CACHE_MAGIC = b"BPFDSCAN\x02" + sys.byteorder[0].encode() + b"\0\0"
"""Scan cache file magic: format version 2, and the byte order its u32s are in."""
_CACHE_HDR = len(_CACHE_MAGIC) + 8  # magic, record count, checksum of the payload


def _cache_dir() -> str | None:
    if os.environ.get("BPFDOCTOR_NO_CACHE", "") not in ("", "0"):
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "bpfdoctor")


def _cache_path(raw: bytes) -> str | None:
    """Where the scan of ``raw`` is saved, named by its size and CRC-32.  CRC-32 runs at
    GB/s (a cryptographic hash of vmlinux costs ~10 ms, most of what the cache saves); two
    kernels' BTF of the same size and CRC would also have to agree on the record count and
    the section length to be confused, and the cache is the user's own."""
    d = _cache_dir()
    if d is None:
        return None
    key = f"{len(raw)}-{zlib.crc32(raw):08x}"
    return os.path.join(d, f"vmlinux-{key}.scan")


def _load_scan(path: str) -> ScanState | None:
    """The saved scan at ``path``, or ``None`` if it is missing or not intact."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    if len(blob) < _CACHE_HDR or not blob.startswith(_CACHE_MAGIC):
        return None
    n = int.from_bytes(blob[len(_CACHE_MAGIC):len(_CACHE_MAGIC) + 4], sys.byteorder)
    crc = int.from_bytes(blob[len(_CACHE_MAGIC) + 4:_CACHE_HDR], sys.byteorder)
    payload = memoryview(blob)[_CACHE_HDR:]
    if len(payload) != 4 * (3 * n + 1) or zlib.crc32(payload) != crc:
        return None
    words = payload.cast("I")  # zero-copy: u32 views of the file's contents
    return ScanState(words[:n + 1], words[n + 1:2 * n + 1], words[2 * n + 1:])


def _save_scan(path: str, state: ScanState) -> None:
    """Write ``state`` to ``path`` atomically; failing to is not an error (no cache)."""
    n = len(state.offsets) - 1
    words = array("I", state.offsets)
    words.extend(state.name_order)
    words.extend(state.name_keys)
    payload = words.tobytes()
    header = (_CACHE_MAGIC + n.to_bytes(4, sys.byteorder)
              + zlib.crc32(payload).to_bytes(4, sys.byteorder))
    tmp = f"{path}.{os.getpid()}.tmp"  # no tempfile: importing it costs milliseconds
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + payload)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _parse_vmlinux(raw: bytes) -> Spec:
    """Parse vmlinux BTF, reusing (or else saving) the on-disk scan cache."""
    path = _cache_path(raw)
    scanned = _load_scan(path) if path is not None else None
    if scanned is not None:
        try:
            return parse(raw, byteorder=_NATIVE, validate=False, scanned=scanned)
        except BTFError:
            pass  # a saved scan that does not fit: scan afresh and overwrite it
    spec = parse(raw, byteorder=_NATIVE, validate=False)
    if path is not None:
        _save_scan(path, spec.scan_state())
    return spec


def vmlinux() -> Spec:
    """The kernel's own BTF (parsed on first call, then cached).

    :class:`~bpfdoctor.errors.MissingBTFError` on a kernel without BTF."""
    global _vmlinux
    with _lock:
        if _vmlinux is None:
            path = os.path.join(SYSFS_BTF, "vmlinux")
            raw = _read(path, "the running kernel has no BTF (built without "
                              "CONFIG_DEBUG_INFO_BTF)")
            try:
                _vmlinux = _parse_vmlinux(raw)
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
            path = os.path.join(SYSFS_BTF, name)
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
        return sorted(n for n in os.listdir(SYSFS_BTF) if n != "vmlinux")
    except OSError:
        return []


def clear_cache() -> None:
    """Forget the cached specs (the next call re-reads sysfs)."""
    global _vmlinux
    with _lock:
        _vmlinux = None
        _modules.clear()
