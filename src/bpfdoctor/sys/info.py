"""``BPF_OBJ_GET_INFO_BY_FD``: what the kernel knows about a program, map, BTF object or link.

The info structs grow with every kernel release.  We always pass the size of *our* struct:
an older kernel accepts a longer struct as long as the bytes it does not know are zero, and
reports through ``info_len`` how much it filled; fields past that stay 0.

Variable-length data (instructions, map ids, names) needs a second call that passes a buffer
and its length.  That second call uses a fresh, otherwise zeroed struct: every non-zero
``(length, pointer)`` pair in the struct is a request to copy, so echoing the counts of the
first answer back with null pointers would earn ``EFAULT``.
"""

from __future__ import annotations

import ctypes
import errno
from ctypes import c_char, c_int32, c_uint8, c_uint32, c_uint64
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import SyscallError
from .attr import InfoAttr
from .consts import OBJ_NAME_LEN, TAG_SIZE, Cmd, LinkType, MapType, ProgType, coerce
from .fd import FDLike, fdnum
from .syscall import bpf

# ----------------------------------------------------------------------------- kernel structs


class ProgInfoStruct(ctypes.Structure):
    """``struct bpf_prog_info`` (6.18)."""

    C_NAME = "struct bpf_prog_info"
    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("tag", c_uint8 * TAG_SIZE),
        ("jited_prog_len", c_uint32),
        ("xlated_prog_len", c_uint32),
        ("jited_prog_insns", c_uint64),
        ("xlated_prog_insns", c_uint64),
        ("load_time", c_uint64),
        ("created_by_uid", c_uint32),
        ("nr_map_ids", c_uint32),
        ("map_ids", c_uint64),
        ("name", c_char * OBJ_NAME_LEN),
        ("ifindex", c_uint32),
        ("gpl_compatible", c_uint32, 1),
        ("_gpl_pad", c_uint32, 31),
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("nr_jited_ksyms", c_uint32),
        ("nr_jited_func_lens", c_uint32),
        ("jited_ksyms", c_uint64),
        ("jited_func_lens", c_uint64),
        ("btf_id", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("nr_func_info", c_uint32),
        ("nr_line_info", c_uint32),
        ("line_info", c_uint64),
        ("jited_line_info", c_uint64),
        ("nr_jited_line_info", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("jited_line_info_rec_size", c_uint32),
        ("nr_prog_tags", c_uint32),
        ("prog_tags", c_uint64),
        ("run_time_ns", c_uint64),
        ("run_cnt", c_uint64),
        ("recursion_misses", c_uint64),
        ("verified_insns", c_uint32),
        ("attach_btf_obj_id", c_uint32),
        ("attach_btf_id", c_uint32),
    ]


class MapInfoStruct(ctypes.Structure):
    """``struct bpf_map_info`` (6.18)."""

    C_NAME = "struct bpf_map_info"
    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("name", c_char * OBJ_NAME_LEN),
        ("ifindex", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("btf_id", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_id", c_uint32),
        ("map_extra", c_uint64),
        ("hash", c_uint64),
        ("hash_size", c_uint32),
    ]


class BtfInfoStruct(ctypes.Structure):
    """``struct bpf_btf_info`` (6.18)."""

    C_NAME = "struct bpf_btf_info"
    _fields_ = [
        ("btf", c_uint64),
        ("btf_size", c_uint32),
        ("id", c_uint32),
        ("name", c_uint64),
        ("name_len", c_uint32),
        ("kernel_btf", c_uint32),
    ]


class _LinkRawTp(ctypes.Structure):
    _fields_ = [("tp_name", c_uint64), ("tp_name_len", c_uint32), ("cookie", c_uint64)]


class _LinkTracing(ctypes.Structure):
    _fields_ = [("attach_type", c_uint32), ("target_obj_id", c_uint32),
                ("target_btf_id", c_uint32), ("cookie", c_uint64)]


class _LinkCgroup(ctypes.Structure):
    _fields_ = [("cgroup_id", c_uint64), ("attach_type", c_uint32)]


class _LinkIterMap(ctypes.Structure):
    _fields_ = [("map_id", c_uint32)]


class _LinkIterMapU(ctypes.Union):
    _fields_ = [("map", _LinkIterMap)]


class _LinkIterCgroup(ctypes.Structure):
    _fields_ = [("cgroup_id", c_uint64), ("order", c_uint32)]


class _LinkIterTask(ctypes.Structure):
    _fields_ = [("tid", c_uint32), ("pid", c_uint32)]


class _LinkIterTargetU(ctypes.Union):
    _fields_ = [("cgroup", _LinkIterCgroup), ("task", _LinkIterTask)]


class _LinkIter(ctypes.Structure):
    _anonymous_ = ("_m", "_t")
    _fields_ = [("target_name", c_uint64), ("target_name_len", c_uint32),
                ("_m", _LinkIterMapU), ("_t", _LinkIterTargetU)]


class _LinkIfaceAttach(ctypes.Structure):
    """``{ifindex, attach_type}``: the ``tcx`` and ``netkit`` shapes."""

    _fields_ = [("ifindex", c_uint32), ("attach_type", c_uint32)]


class _LinkNetns(ctypes.Structure):
    _fields_ = [("netns_ino", c_uint32), ("attach_type", c_uint32)]


class _LinkXdp(ctypes.Structure):
    _fields_ = [("ifindex", c_uint32)]


class _LinkStructOps(ctypes.Structure):
    _fields_ = [("map_id", c_uint32)]


class _LinkNetfilter(ctypes.Structure):
    _fields_ = [("pf", c_uint32), ("hooknum", c_uint32), ("priority", c_int32),
                ("flags", c_uint32)]


class _LinkKprobeMulti(ctypes.Structure):
    _fields_ = [("addrs", c_uint64), ("count", c_uint32), ("flags", c_uint32),
                ("missed", c_uint64), ("cookies", c_uint64)]


class _LinkUprobeMulti(ctypes.Structure):
    _fields_ = [("path", c_uint64), ("offsets", c_uint64), ("ref_ctr_offsets", c_uint64),
                ("cookies", c_uint64), ("path_size", c_uint32), ("count", c_uint32),
                ("flags", c_uint32), ("pid", c_uint32)]


class _PerfUprobe(ctypes.Structure):
    _fields_ = [("file_name", c_uint64), ("name_len", c_uint32), ("offset", c_uint32),
                ("cookie", c_uint64), ("ref_ctr_offset", c_uint64)]


class _PerfKprobe(ctypes.Structure):
    _fields_ = [("func_name", c_uint64), ("name_len", c_uint32), ("offset", c_uint32),
                ("addr", c_uint64), ("missed", c_uint64), ("cookie", c_uint64)]


class _PerfTracepoint(ctypes.Structure):
    _fields_ = [("tp_name", c_uint64), ("name_len", c_uint32), ("cookie", c_uint64)]


class _PerfEvent(ctypes.Structure):
    _fields_ = [("config", c_uint64), ("type", c_uint32), ("cookie", c_uint64)]


class _LinkPerfU(ctypes.Union):
    _fields_ = [("uprobe", _PerfUprobe), ("kprobe", _PerfKprobe),
                ("tracepoint", _PerfTracepoint), ("event", _PerfEvent)]


class _LinkPerfEvent(ctypes.Structure):
    _anonymous_ = ("_u",)
    _fields_ = [("type", c_uint32), ("_u", _LinkPerfU)]


class _LinkSockmap(ctypes.Structure):
    _fields_ = [("map_id", c_uint32), ("attach_type", c_uint32)]


class _LinkInfoU(ctypes.Union):
    _fields_ = [
        ("raw_tracepoint", _LinkRawTp),
        ("tracing", _LinkTracing),
        ("cgroup", _LinkCgroup),
        ("iter", _LinkIter),
        ("netns", _LinkNetns),
        ("xdp", _LinkXdp),
        ("struct_ops", _LinkStructOps),
        ("netfilter", _LinkNetfilter),
        ("kprobe_multi", _LinkKprobeMulti),
        ("uprobe_multi", _LinkUprobeMulti),
        ("perf_event", _LinkPerfEvent),
        ("tcx", _LinkIfaceAttach),
        ("netkit", _LinkIfaceAttach),
        ("sockmap", _LinkSockmap),
    ]


class LinkInfoStruct(ctypes.Structure):
    """``struct bpf_link_info`` (6.18)."""

    C_NAME = "struct bpf_link_info"
    _anonymous_ = ("_u",)
    _fields_ = [("type", c_uint32), ("id", c_uint32), ("prog_id", c_uint32),
                ("_u", _LinkInfoU)]


ALL_INFOS: tuple[type[ctypes.Structure], ...] = (
    ProgInfoStruct, MapInfoStruct, BtfInfoStruct, LinkInfoStruct)
"""Every info layout, for the layout tests."""

# ----------------------------------------------------------------------------- the call

_S = TypeVar("_S", bound=ctypes.Structure)


def obj_get_info(fd: FDLike, info: ctypes.Structure) -> int:
    """Fill ``info`` in place from ``BPF_OBJ_GET_INFO_BY_FD``; returns the number of bytes the
    kernel wrote (its ``info_len``: less than ``sizeof(info)`` on an older kernel)."""
    attr = InfoAttr(bpf_fd=fdnum(fd), info_len=ctypes.sizeof(info),
                    info=ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr)
    return int(attr.info_len)


def _query(fd: FDLike, cls: type[_S]) -> _S:
    info = cls()
    obj_get_info(fd, info)
    return info


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _buffer(size: int) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(max(size, 1))


class RawDumpRefusedError(SyscallError):
    """The kernel withheld a raw instruction dump (``bpf_dump_raw_ok()`` was false: typically
    ``kernel.kptr_restrict`` or a missing ``CAP_SYSLOG``/``CAP_PERFMON``)."""

    def __init__(self, what: str) -> None:
        super().__init__(errno.EPERM, Cmd.OBJ_GET_INFO_BY_FD.op,
                         f"kernel refused to dump the {what} instructions")
        self.what = what


# ----------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class ProgInfo:
    """``struct bpf_prog_info`` as Python values (see ``include/uapi/linux/bpf.h``).

    ``load_time`` is nanoseconds since boot; ``run_time_ns``/``run_cnt`` stay 0 unless
    statistics are enabled (``enable_stats()`` or ``kernel.bpf_stats_enabled``).
    """

    id: int
    type: ProgType | int
    tag: str
    name: str
    jited_prog_len: int
    xlated_prog_len: int
    load_time: int
    created_by_uid: int
    map_ids: tuple[int, ...]
    ifindex: int
    gpl_compatible: bool
    netns_dev: int
    netns_ino: int
    nr_jited_ksyms: int
    nr_jited_func_lens: int
    btf_id: int
    func_info_rec_size: int
    nr_func_info: int
    nr_line_info: int
    nr_jited_line_info: int
    line_info_rec_size: int
    jited_line_info_rec_size: int
    nr_prog_tags: int
    run_time_ns: int
    run_cnt: int
    recursion_misses: int
    verified_insns: int
    attach_btf_obj_id: int
    attach_btf_id: int
    info_len: int = field(default=0, compare=False)
    """How many bytes of the struct the kernel filled (fields beyond are unknown to it)."""


def prog_info(fd: FDLike) -> ProgInfo:
    """Everything ``bpf_prog_info`` reports about the program behind ``fd``, with map ids."""
    raw = ProgInfoStruct()
    n = obj_get_info(fd, raw)
    map_ids: tuple[int, ...] = ()
    if raw.nr_map_ids:
        want = int(raw.nr_map_ids)
        ids = (c_uint32 * want)()
        req = ProgInfoStruct(nr_map_ids=want, map_ids=ctypes.addressof(ids))
        obj_get_info(fd, req)
        map_ids = tuple(ids[: min(want, int(req.nr_map_ids))])
    return ProgInfo(
        id=raw.id,
        type=coerce(ProgType, raw.type),
        tag=bytes(raw.tag).hex(),
        name=_cstr(raw.name),
        jited_prog_len=raw.jited_prog_len,
        xlated_prog_len=raw.xlated_prog_len,
        load_time=raw.load_time,
        created_by_uid=raw.created_by_uid,
        map_ids=map_ids,
        ifindex=raw.ifindex,
        gpl_compatible=bool(raw.gpl_compatible),
        netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino,
        nr_jited_ksyms=raw.nr_jited_ksyms,
        nr_jited_func_lens=raw.nr_jited_func_lens,
        btf_id=raw.btf_id,
        func_info_rec_size=raw.func_info_rec_size,
        nr_func_info=raw.nr_func_info,
        nr_line_info=raw.nr_line_info,
        nr_jited_line_info=raw.nr_jited_line_info,
        line_info_rec_size=raw.line_info_rec_size,
        jited_line_info_rec_size=raw.jited_line_info_rec_size,
        nr_prog_tags=raw.nr_prog_tags,
        run_time_ns=raw.run_time_ns,
        run_cnt=raw.run_cnt,
        recursion_misses=raw.recursion_misses,
        verified_insns=raw.verified_insns,
        attach_btf_obj_id=raw.attach_btf_obj_id,
        attach_btf_id=raw.attach_btf_id,
        info_len=n,
    )


def _prog_insns(fd: FDLike, which: str) -> bytes:
    len_field, ptr_field = f"{which}_prog_len", f"{which}_prog_insns"
    size = int(getattr(_query(fd, ProgInfoStruct), len_field))
    if size == 0:
        return b""
    buf = _buffer(size)
    req = ProgInfoStruct(**{len_field: size, ptr_field: ctypes.addressof(buf)})
    obj_get_info(fd, req)
    if getattr(req, ptr_field) == 0:
        # the kernel clears the pointer instead of failing when bpf_dump_raw_ok() is false
        raise RawDumpRefusedError(which)
    return buf.raw[: min(size, int(getattr(req, len_field)))]


def prog_xlated(fd: FDLike) -> bytes:
    """The program as the verifier left it ("translated"): 8-byte instructions, map fds
    replaced by kernel addresses (sanitised to map ids), helpers resolved.  Empty when the
    caller lacks ``CAP_BPF``-level access; :class:`RawDumpRefusedError` when the kernel's
    raw-dump policy (``kptr_restrict``) forbids it."""
    return _prog_insns(fd, "xlated")


def prog_jited(fd: FDLike) -> bytes:
    """The JIT-compiled machine code (empty if the program was not JITed)."""
    return _prog_insns(fd, "jited")


def _prog_records(fd: FDLike, count_field: str, ptr_field: str, rec_field: str,
                  rec_size: int) -> tuple[bytes, ...]:
    count = int(getattr(_query(fd, ProgInfoStruct), count_field))
    if count == 0:
        return ()
    buf = _buffer(count * rec_size)
    req = ProgInfoStruct(**{count_field: count, rec_field: rec_size,
                            ptr_field: ctypes.addressof(buf)})
    obj_get_info(fd, req)
    got = min(count, int(getattr(req, count_field)))
    size = int(getattr(req, rec_field)) or rec_size
    data = buf.raw[: got * size]
    return tuple(data[i: i + size] for i in range(0, len(data), size))


def prog_func_info(fd: FDLike) -> tuple[bytes, ...]:
    """Raw ``struct bpf_func_info`` records (``insn_off``, ``type_id``; 8 bytes each) the
    kernel kept from the program's BTF.ext, ``insn_off`` in xlated instruction numbers."""
    return _prog_records(fd, "nr_func_info", "func_info", "func_info_rec_size", 8)


def prog_line_info(fd: FDLike) -> tuple[bytes, ...]:
    """Raw ``struct bpf_line_info`` records (``insn_off``, ``file_name_off``, ``line_off``,
    ``line_col``; 16 bytes each); string offsets point into the program's BTF."""
    return _prog_records(fd, "nr_line_info", "line_info", "line_info_rec_size", 16)


# ----------------------------------------------------------------------------- maps


@dataclass(frozen=True)
class MapInfo:
    """``struct bpf_map_info`` as Python values."""

    id: int
    type: MapType | int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: str
    ifindex: int
    btf_vmlinux_value_type_id: int
    netns_dev: int
    netns_ino: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_id: int
    map_extra: int
    info_len: int = field(default=0, compare=False)


def map_info(fd: FDLike) -> MapInfo:
    """What the kernel reports about the map behind ``fd``."""
    raw = MapInfoStruct()
    n = obj_get_info(fd, raw)
    return MapInfo(
        id=raw.id, type=coerce(MapType, raw.type), key_size=raw.key_size,
        value_size=raw.value_size, max_entries=raw.max_entries, map_flags=raw.map_flags,
        name=_cstr(raw.name), ifindex=raw.ifindex,
        btf_vmlinux_value_type_id=raw.btf_vmlinux_value_type_id, netns_dev=raw.netns_dev,
        netns_ino=raw.netns_ino, btf_id=raw.btf_id, btf_key_type_id=raw.btf_key_type_id,
        btf_value_type_id=raw.btf_value_type_id, btf_vmlinux_id=raw.btf_vmlinux_id,
        map_extra=raw.map_extra, info_len=n,
    )


# ----------------------------------------------------------------------------- BTF

_BTF_NAME_GUESS = 64  # module names are < MODULE_NAME_LEN (56); one call nearly always does


@dataclass(frozen=True)
class BTFInfo:
    """``struct bpf_btf_info``: ``name`` is ``"vmlinux"`` or a module name for kernel BTF,
    empty for BTF loaded by user space."""

    id: int
    name: str
    kernel_btf: bool
    btf_size: int
    info_len: int = field(default=0, compare=False)


def btf_info(fd: FDLike) -> BTFInfo:
    """What the kernel reports about the BTF object behind ``fd``."""
    size = _BTF_NAME_GUESS
    while True:
        buf = _buffer(size)
        raw = BtfInfoStruct(name=ctypes.addressof(buf), name_len=size)
        n = obj_get_info(fd, raw)
        if raw.name_len <= size:
            return BTFInfo(id=raw.id, name=_cstr(buf.raw), kernel_btf=bool(raw.kernel_btf),
                           btf_size=raw.btf_size, info_len=n)
        size = int(raw.name_len)


def btf_data(fd: FDLike) -> bytes:
    """The raw BTF blob (header, types, strings) of the BTF object behind ``fd``."""
    size = int(_query(fd, BtfInfoStruct).btf_size)
    buf = _buffer(size)
    req = BtfInfoStruct(btf=ctypes.addressof(buf), btf_size=size)
    obj_get_info(fd, req)
    return buf.raw[: min(size, int(req.btf_size))]


# ----------------------------------------------------------------------------- links

_ATTACH_TYPE_TAILS = {"tracing", "cgroup", "netns", "tcx", "netkit", "sockmap"}
_LINK_TAIL = {
    LinkType.RAW_TRACEPOINT: "raw_tracepoint", LinkType.TRACING: "tracing",
    LinkType.CGROUP: "cgroup", LinkType.ITER: "iter", LinkType.NETNS: "netns",
    LinkType.XDP: "xdp", LinkType.PERF_EVENT: "perf_event",
    LinkType.KPROBE_MULTI: "kprobe_multi", LinkType.STRUCT_OPS: "struct_ops",
    LinkType.NETFILTER: "netfilter", LinkType.TCX: "tcx", LinkType.UPROBE_MULTI: "uprobe_multi",
    LinkType.NETKIT: "netkit", LinkType.SOCKMAP: "sockmap",
}
_POINTERS = {"tp_name", "target_name", "addrs", "cookies", "path", "offsets",
             "ref_ctr_offsets", "file_name", "func_name"}


@dataclass(frozen=True)
class LinkInfo:
    """``struct bpf_link_info``: the common header plus the fields of the type-specific tail
    in ``details`` (pointer fields omitted; names resolved to strings, e.g. ``tp_name`` for
    raw tracepoints, ``target_name`` for iterators)."""

    id: int
    type: LinkType | int
    prog_id: int
    attach_type: int | None = None
    details: dict[str, int | str] = field(default_factory=dict, compare=False)
    info_len: int = field(default=0, compare=False)


_PERF_EVENT_KIND = {1: "uprobe", 2: "uprobe", 3: "kprobe", 4: "kprobe", 5: "tracepoint",
                    6: "event"}
"""``enum bpf_perf_event_type`` -> the member of ``perf_event``'s union that is valid."""


def _flatten(obj: ctypes.Structure | ctypes.Union, out: dict[str, int | str],
             prefix: str = "") -> None:
    """Copy the integer fields of ``obj`` into ``out``.  Members of an anonymous union that
    overlay each other (``iter``'s ``map``/``cgroup``/``task``) keep their member name as a
    prefix, since only the link's own type says which reading is meaningful."""
    anonymous = getattr(obj, "_anonymous_", ())
    for name, *_ in obj._fields_:
        if name.startswith("_") and name not in anonymous:
            continue
        value = getattr(obj, name)
        if name in anonymous and isinstance(value, ctypes.Union):
            for member, *_ in value._fields_:
                inner = getattr(value, member)
                if isinstance(inner, ctypes.Structure | ctypes.Union):
                    _flatten(inner, out, f"{prefix}{member}.")
                elif member not in _POINTERS:
                    out[prefix + member] = int(inner)
        elif name in anonymous:
            _flatten(value, out, prefix)
        elif isinstance(value, ctypes.Structure | ctypes.Union):
            _flatten(value, out, f"{prefix}{name}.")
        elif name not in _POINTERS:
            out[prefix + name] = int(value)


def _link_string(raw: LinkInfoStruct) -> tuple[ctypes.Structure, str, str] | None:
    """(sub-struct, pointer field, length field) of the string a link of this type carries."""
    t = raw.type
    if t == LinkType.RAW_TRACEPOINT:
        return raw.raw_tracepoint, "tp_name", "tp_name_len"
    if t == LinkType.ITER:
        return raw.iter, "target_name", "target_name_len"
    if t == LinkType.PERF_EVENT:
        kind = _PERF_EVENT_KIND.get(raw.perf_event.type)
        if kind is not None and kind != "event":
            sub = getattr(raw.perf_event, kind)
            ptr = {"uprobe": "file_name", "kprobe": "func_name", "tracepoint": "tp_name"}[kind]
            return sub, ptr, "name_len"
    return None


def _link_details(raw: LinkInfoStruct) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    tail = _LINK_TAIL.get(raw.type)
    if tail is None:
        return out
    if tail == "perf_event":
        pe = raw.perf_event
        out["perf_event_type"] = int(pe.type)
        kind = _PERF_EVENT_KIND.get(pe.type)
        if kind is not None:
            _flatten(getattr(pe, kind), out)
        return out
    _flatten(getattr(raw, tail), out)
    return out


def link_info(fd: FDLike) -> LinkInfo:
    """What the kernel reports about the link behind ``fd``; a second call fetches the name
    (tracepoint, iterator target, probed function or file) when the link type has one."""
    raw = LinkInfoStruct()
    n = obj_get_info(fd, raw)
    name: tuple[str, str] | None = None
    want = _link_string(raw)
    if want is not None:
        sub, ptr, length = want
        size = int(getattr(sub, length))
        if size:
            buf = _buffer(size)
            setattr(sub, ptr, ctypes.addressof(buf))  # raw is a copy: reuse it as the request
            obj_get_info(fd, raw)
            name = (ptr, _cstr(buf.raw))
    details = _link_details(raw)
    if name is not None:
        details[name[0]] = name[1]
    tail = _LINK_TAIL.get(raw.type)
    attach_type = details.get("attach_type") if tail in _ATTACH_TYPE_TAILS else None
    return LinkInfo(id=raw.id, type=coerce(LinkType, raw.type), prog_id=raw.prog_id,
                    attach_type=int(attach_type) if attach_type is not None else None,
                    details=details, info_len=n)
