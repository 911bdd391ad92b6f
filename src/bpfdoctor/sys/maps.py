"""Maps: ``BPF_MAP_CREATE`` and the element commands.

Keys and values cross the boundary as ``bytes``; their encoding (and the per-CPU layout of
``PERCPU_*`` values: one slot per *possible* CPU, each rounded up to 8 bytes) is the caller's
business, see :func:`bpfdoctor.sys.possible_cpus`.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import SyscallError
from .attr import MapBatchAttr, MapCreateAttr, MapElemAttr
from .consts import OBJ_NAME_LEN, Cmd, MapFlags, MapType
from .fd import FD, FDLike, fdnum, optfd
from .syscall import bpf, bpf_fd, bpf_raw


def encode_name(name: str, what: str = "name") -> bytes:
    """A program/map name as the kernel wants it: at most 15 bytes of ``[A-Za-z0-9_.]``.

    Longer names are a ``ValueError`` rather than a silent truncation, so callers decide
    (libbpf truncates; a diagnosis tool should say so).
    """
    raw = name.encode("utf-8")
    if len(raw) >= OBJ_NAME_LEN:
        raise ValueError(f"{what} {name!r} is {len(raw)} bytes; the kernel allows "
                         f"{OBJ_NAME_LEN - 1}")
    if b"\0" in raw:
        raise ValueError(f"{what} {name!r} contains a NUL byte")
    return raw


def map_create(
    map_type: MapType | int,
    key_size: int,
    value_size: int,
    max_entries: int,
    *,
    flags: MapFlags | int = 0,
    name: str = "",
    btf_fd: FDLike | None = None,
    btf_key_type_id: int = 0,
    btf_value_type_id: int = 0,
    btf_vmlinux_value_type_id: int = 0,
    inner_map_fd: FDLike | None = None,
    map_extra: int = 0,
    numa_node: int | None = None,
    ifindex: int = 0,
    value_type_btf_obj_fd: FDLike | None = None,
    token_fd: FDLike | None = None,
) -> FD:
    """Create a map.  ``numa_node`` sets ``BPF_F_NUMA_NODE`` for you; a ``value_type_btf_obj_fd``
    (module BTF of a struct_ops value) sets ``BPF_F_VTYPE_BTF_OBJ_FD``, a ``token_fd``
    ``BPF_F_TOKEN_FD``.  Raises ``SyscallError(op="BPF_MAP_CREATE")``."""
    attr = MapCreateAttr(
        map_type=int(map_type), key_size=key_size, value_size=value_size,
        max_entries=max_entries, map_flags=int(flags), inner_map_fd=optfd(inner_map_fd),
        map_name=encode_name(name, "map name"), map_ifindex=ifindex, btf_fd=optfd(btf_fd),
        btf_key_type_id=btf_key_type_id, btf_value_type_id=btf_value_type_id,
        btf_vmlinux_value_type_id=btf_vmlinux_value_type_id, map_extra=map_extra,
    )
    if numa_node is not None:
        attr.map_flags |= MapFlags.NUMA_NODE
        attr.numa_node = numa_node
    if value_type_btf_obj_fd is not None:
        attr.map_flags |= MapFlags.VTYPE_BTF_OBJ_FD
        attr.value_type_btf_obj_fd = fdnum(value_type_btf_obj_fd)
    if token_fd is not None:
        attr.map_flags |= MapFlags.TOKEN_FD
        attr.map_token_fd = fdnum(token_fd)
    return bpf_fd(Cmd.MAP_CREATE, attr)


def _addr(buf: ctypes.Array[ctypes.c_char] | None) -> int:
    return ctypes.addressof(buf) if buf is not None else 0


def _in(data: bytes | None) -> ctypes.Array[ctypes.c_char] | None:
    """A C copy of ``data`` (``None`` stays NULL: queue/stack maps take no key)."""
    if data is None:
        return None
    return ctypes.create_string_buffer(bytes(data), len(data)) if data else \
        ctypes.create_string_buffer(1)


def map_lookup_elem(fd: FDLike, key: bytes | None, value_size: int,
                    flags: int = 0) -> bytes | None:
    """The value stored under ``key``, or ``None`` if there is none (``ENOENT``).

    ``value_size`` is the size of the buffer to receive it: ``value_size`` of the map, or
    ``possible_cpus() * round_up(value_size, 8)`` for per-CPU maps.  ``key=None`` peeks a
    queue/stack map."""
    k = _in(key)
    v = ctypes.create_string_buffer(max(value_size, 1))
    attr = MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(v), flags=flags)
    ret, err = bpf_raw(Cmd.MAP_LOOKUP_ELEM, attr)
    if ret < 0:
        if err == errno.ENOENT:
            return None
        raise SyscallError(err, Cmd.MAP_LOOKUP_ELEM.op)
    return v.raw[:value_size]


def map_lookup_and_delete_elem(fd: FDLike, key: bytes | None, value_size: int,
                               flags: int = 0) -> bytes | None:
    """Pop: the value under ``key`` (``None`` for queue/stack maps), removed atomically;
    ``None`` if there was none."""
    k = _in(key)
    v = ctypes.create_string_buffer(max(value_size, 1))
    attr = MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(v), flags=flags)
    ret, err = bpf_raw(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, attr)
    if ret < 0:
        if err == errno.ENOENT:
            return None
        raise SyscallError(err, Cmd.MAP_LOOKUP_AND_DELETE_ELEM.op)
    return v.raw[:value_size]


def map_update_elem(fd: FDLike, key: bytes | None, value: bytes, flags: int = 0) -> None:
    """Store ``value`` under ``key`` (``flags``: ``ElemFlags.ANY/NOEXIST/EXIST/LOCK``).
    ``key=None`` pushes onto a queue/stack map."""
    k, v = _in(key), _in(value)
    bpf(Cmd.MAP_UPDATE_ELEM, MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(v),
                                         flags=flags))


def map_delete_elem(fd: FDLike, key: bytes) -> bool:
    """Delete ``key``; ``False`` if it was not there (``ENOENT``)."""
    k = _in(key)
    ret, err = bpf_raw(Cmd.MAP_DELETE_ELEM, MapElemAttr(map_fd=fdnum(fd), key=_addr(k)))
    if ret < 0:
        if err == errno.ENOENT:
            return False
        raise SyscallError(err, Cmd.MAP_DELETE_ELEM.op)
    return True


def map_get_next_key(fd: FDLike, key: bytes | None, key_size: int) -> bytes | None:
    """The key after ``key`` (the first key when ``key`` is ``None`` or absent from a hash
    map); ``None`` at the end of the map."""
    k = _in(key)
    nxt = ctypes.create_string_buffer(max(key_size, 1))
    attr = MapElemAttr(map_fd=fdnum(fd), key=_addr(k), next_key=_addr(nxt))
    ret, err = bpf_raw(Cmd.MAP_GET_NEXT_KEY, attr)
    if ret < 0:
        if err == errno.ENOENT:
            return None
        raise SyscallError(err, Cmd.MAP_GET_NEXT_KEY.op)
    return nxt.raw[:key_size]


def map_keys(fd: FDLike, key_size: int) -> list[bytes]:
    """All keys, by repeated ``GET_NEXT_KEY``.  Not a snapshot: concurrent updates by BPF
    programs may skip or repeat keys (a hash map restarts from the first key when the
    current one is deleted underneath us)."""
    out: list[bytes] = []
    key: bytes | None = None
    while (key := map_get_next_key(fd, key, key_size)) is not None:
        out.append(key)
    return out


def map_freeze(fd: FDLike) -> None:
    """Make the map read-only for user space (``BPF_MAP_FREEZE``); programs are unaffected
    unless the map was created with ``BPF_F_RDONLY_PROG``."""
    bpf(Cmd.MAP_FREEZE, MapElemAttr(map_fd=fdnum(fd)))


# ----------------------------------------------------------------------------- batch ops


@dataclass(frozen=True)
class Batch:
    """One batch of a ``*_BATCH`` lookup: the entries and where to continue.

    ``next`` is the opaque cursor to pass as ``cursor`` for the following call, ``None``
    once the map is exhausted."""

    keys: list[bytes]
    values: list[bytes]
    next: bytes | None


def _batch_cursor_size(key_size: int) -> int:
    # hash maps use a u32 bucket index as cursor, arrays the key itself
    return max(key_size, 4)


def _lookup_batch(cmd: Cmd, fd: FDLike, key_size: int, value_size: int, count: int,
                  cursor: bytes | None, elem_flags: int) -> Batch:
    csize = _batch_cursor_size(key_size)
    in_b = _in(cursor.ljust(csize, b"\0")) if cursor is not None else None
    out_b = ctypes.create_string_buffer(csize)
    keys = ctypes.create_string_buffer(max(key_size * count, 1))
    values = ctypes.create_string_buffer(max(value_size * count, 1))
    attr = MapBatchAttr(in_batch=_addr(in_b), out_batch=_addr(out_b), keys=_addr(keys),
                        values=_addr(values), count=count, map_fd=fdnum(fd),
                        elem_flags=elem_flags)
    ret, err = bpf_raw(cmd, attr)
    if ret < 0 and err != errno.ENOENT:
        raise SyscallError(err, cmd.op)
    n = int(attr.count)
    return Batch(
        keys=[keys.raw[i * key_size:(i + 1) * key_size] for i in range(n)],
        values=[values.raw[i * value_size:(i + 1) * value_size] for i in range(n)],
        next=None if ret < 0 else out_b.raw,
    )


def map_lookup_batch(fd: FDLike, key_size: int, value_size: int, count: int, *,
                     cursor: bytes | None = None, elem_flags: int = 0) -> Batch:
    """Up to ``count`` entries starting at ``cursor`` (``None``: the beginning)."""
    return _lookup_batch(Cmd.MAP_LOOKUP_BATCH, fd, key_size, value_size, count, cursor,
                         elem_flags)


def map_lookup_and_delete_batch(fd: FDLike, key_size: int, value_size: int, count: int, *,
                                cursor: bytes | None = None, elem_flags: int = 0) -> Batch:
    """Like :func:`map_lookup_batch`, removing what it returns."""
    return _lookup_batch(Cmd.MAP_LOOKUP_AND_DELETE_BATCH, fd, key_size, value_size, count,
                         cursor, elem_flags)


def _join(items: Sequence[bytes], size: int, what: str) -> ctypes.Array[ctypes.c_char]:
    for i, it in enumerate(items):
        if len(it) != size:
            raise ValueError(f"{what} {i} is {len(it)} bytes, expected {size}")
    return ctypes.create_string_buffer(b"".join(items), max(size * len(items), 1))


def map_update_batch(fd: FDLike, keys: Sequence[bytes], values: Sequence[bytes], *,
                     elem_flags: int = 0) -> int:
    """Store ``values[i]`` under ``keys[i]``; returns how many were stored.  On failure the
    ``SyscallError`` is raised after a prefix may already have been written."""
    if len(keys) != len(values) or not keys:
        raise ValueError("keys and values must be non-empty and of equal length")
    k = _join(keys, len(keys[0]), "key")
    v = _join(values, len(values[0]), "value")
    attr = MapBatchAttr(keys=_addr(k), values=_addr(v), count=len(keys), map_fd=fdnum(fd),
                        elem_flags=elem_flags)
    bpf(Cmd.MAP_UPDATE_BATCH, attr)
    return int(attr.count)


def map_delete_batch(fd: FDLike, keys: Sequence[bytes], *, elem_flags: int = 0) -> int:
    """Delete ``keys``; returns how many were deleted (stops at the first missing key with
    ``SyscallError(ENOENT)``)."""
    if not keys:
        return 0
    k = _join(keys, len(keys[0]), "key")
    attr = MapBatchAttr(keys=_addr(k), count=len(keys), map_fd=fdnum(fd),
                        elem_flags=elem_flags)
    bpf(Cmd.MAP_DELETE_BATCH, attr)
    return int(attr.count)
