"""The smallest program and map of a given kind, loaded into this kernel to learn what it
accepts.

A failed load says little on its own; the same failure for a trivial program of the same
program type and attach type (``r0 = 0; exit``) says the kernel or the environment refuses
the *kind*, not the program.  Feature probes (``bpfdoctor probe``) and the root-cause analysis
of log-less failures (:mod:`bpfdoctor.probe.rootcause`) are both built on these two calls.
Every probe closes what it created before it returns, whatever the outcome.
"""

from __future__ import annotations

import errno as _errno
import mmap
from dataclasses import dataclass

from ..errors import SyscallError, errno_name
from ..sys import AttachType, MapFlags, MapType, ProgType, map_create, prog_load
from ..sys.exceptions import ProgLoadError

# r0 = 0; exit
TRIVIAL_INSNS = bytes.fromhex("b700000000000000" "9500000000000000")

_LOG_SIZE = 64 * 1024


@dataclass(frozen=True)
class ProbeResult:
    """What the kernel said to one probe.  ``ok`` is a load that succeeded; otherwise
    ``errno`` and the verifier's ``log`` (often empty: refusals before verification have no
    log) are the evidence, and ``what`` names the probe in words for reports."""

    what: str
    ok: bool
    errno: int | None = None
    log: str = ""

    @property
    def errno_name(self) -> str | None:
        return errno_name(self.errno)

    def describe(self) -> str:
        """``"<what>: loads"`` or ``"<what>: EPERM"``, one line for evidence lists."""
        if self.ok:
            return f"{self.what}: loads"
        last = next((ln for ln in reversed(self.log.splitlines()) if ln.strip()), "")
        tail = f" ({last.strip()})" if last and not last.startswith("processed ") else ""
        return f"{self.what}: {self.errno_name or self.errno}{tail}"


def _kind_name(enum_type: type[ProgType] | type[AttachType] | type[MapType], v: int) -> str:
    try:
        return enum_type(v).name.lower()
    except ValueError:
        return str(v)


def probe_program(prog_type: ProgType | int, attach_type: AttachType | int = 0, *,
                  attach_btf_id: int = 0, attach_btf_obj_fd: int | None = None,
                  insns: bytes = TRIVIAL_INSNS, license: str = "GPL",
                  target: str | None = None, log: bool = True) -> ProbeResult:
    """Load ``insns`` (default: ``r0 = 0; exit``) as a program of this kind and unload it.

    ``attach_btf_id`` (+ ``attach_btf_obj_fd`` for a module) is required by the kernel for
    tracing (fentry/fexit/fmod_ret/tp_btf/iter), lsm and struct_ops programs; ``target`` is
    only the name put in :attr:`ProbeResult.what`."""
    what = f"trivial {_kind_name(ProgType, prog_type)}"
    if attach_type:
        what += f"/{_kind_name(AttachType, attach_type)}"
    what += " program"
    if target:
        what += f" on {target}"
    try:
        fd = prog_load(prog_type=prog_type, insns=insns, license=license,
                       expected_attach_type=attach_type, attach_btf_id=attach_btf_id,
                       attach_btf_obj_fd=attach_btf_obj_fd,
                       log_level=1 if log else 0, log_size=_LOG_SIZE if log else 0)
    except ProgLoadError as e:
        return ProbeResult(what, False, e.errno, e.log)
    except SyscallError as e:
        return ProbeResult(what, False, e.errno)
    fd.close()
    return ProbeResult(what, True)


# key size, value size, max entries, flags: the smallest map each type accepts (as libbpf's
# probe_map_create picks them).  Types not listed take 4/4/1/0.
_MAP_SHAPES: dict[int, tuple[int, int, int, int]] = {
    MapType.LPM_TRIE: (8, 8, 1, MapFlags.NO_PREALLOC),
    MapType.STACK_TRACE: (4, 8, 1, 0),
    MapType.QUEUE: (0, 4, 1, 0),
    MapType.STACK: (0, 4, 1, 0),
    MapType.BLOOM_FILTER: (0, 4, 1, 0),
    MapType.RINGBUF: (0, 0, mmap.PAGESIZE, 0),
    MapType.USER_RINGBUF: (0, 0, mmap.PAGESIZE, 0),
    MapType.CGROUP_STORAGE: (16, 8, 0, 0),  # struct bpf_cgroup_storage_key
    MapType.PERCPU_CGROUP_STORAGE: (16, 8, 0, 0),
    MapType.ARENA: (0, 0, 1, MapFlags.MMAPABLE),
    MapType.CGROUP_ARRAY: (4, 4, 1, 0),
    MapType.REUSEPORT_SOCKARRAY: (4, 8, 1, 0),
}
# Local storage maps need BTF for the key and value (built on the fly).
_STORAGE_MAPS = {MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE,
                 MapType.CGRP_STORAGE}
_MAP_IN_MAP = {MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS}


def _int_btf() -> bytes:
    """A BTF blob with one type: ``int`` (id 1), for local-storage keys and values."""
    from ..btf.spec import Spec
    from ..btf.types import Int, IntEncoding

    s = Spec()
    s.add(Int("int", 4, IntEncoding.SIGNED, bits=32))
    return s.marshal()


def probe_map(map_type: MapType | int, *, key_size: int | None = None,
              value_size: int | None = None, max_entries: int | None = None,
              flags: int | None = None) -> ProbeResult:
    """Create the smallest map of ``map_type`` and close it.

    Shapes default to what every kernel that has the type accepts; override them to test the
    object's own shape (then a failure of the override and success of the default says the
    shape, not the type, is the problem).  ``struct_ops`` maps need a kernel struct type and
    are reported as not probed (``errno`` None, ``ok`` False)."""
    what = f"{_kind_name(MapType, map_type)} map"
    if map_type == MapType.STRUCT_OPS:
        return ProbeResult(what + " (needs a kernel struct_ops type; not probed)", False)
    k, v, n, f = _MAP_SHAPES.get(int(map_type), (4, 4, 1, 0))
    k = k if key_size is None else key_size
    v = v if value_size is None else value_size
    n = n if max_entries is None else max_entries
    f = f if flags is None else flags
    if key_size is not None or value_size is not None or max_entries is not None:
        what += f" (key {k}, value {v}, max_entries {n})"
    opened = []
    try:
        kw: dict = {}
        if map_type in _STORAGE_MAPS:
            from ..sys import btf_load

            btf = btf_load(_int_btf())
            opened.append(btf)
            kw = {"btf_fd": btf, "btf_key_type_id": 1, "btf_value_type_id": 1}
            k, v, n, f = 4, 4, 0, MapFlags.NO_PREALLOC
        elif map_type in _MAP_IN_MAP:
            inner = map_create(MapType.ARRAY, 4, 4, 1)
            opened.append(inner)
            kw = {"inner_map_fd": inner}
        fd = map_create(map_type, k, v, n, flags=f, **kw)
        fd.close()
        return ProbeResult(what, True)
    except SyscallError as e:
        return ProbeResult(what, False, e.errno)
    finally:
        for o in opened:
            o.close()


def unsupported_errno(code: int | None) -> bool:
    """Errnos with which a kernel says "I do not know this kind" for a probe whose shape is
    right: EINVAL (unknown type number), ENOTSUPP / EOPNOTSUPP (type known, compiled out)."""
    return code in (_errno.EINVAL, 524, _errno.EOPNOTSUPP)
