"""``union bpf_attr``, one ctypes structure per command, laid out as in Linux 6.18.

Each class mirrors the anonymous (or named) struct the kernel reads for one command, with the
kernel's field names, so ``tests/test_sys_unit.py`` can compare every offset against
``offsetof(union bpf_attr, <field>)`` computed by a C compiler.  ``C_PREFIX`` is the path of
the struct inside the union (``"test."`` for ``BPF_PROG_TEST_RUN``, empty for anonymous ones).

Pointers are ``__aligned_u64`` in the UAPI, i.e. plain ``c_uint64`` here; callers store
``ctypes.addressof(buffer)`` and must keep the buffer alive across the call.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_int32, c_uint32, c_uint64

from .consts import OBJ_NAME_LEN


class _Attr(ctypes.Structure):
    """Common base: documents ``C_PREFIX``; ctypes zero-fills new instances."""

    C_PREFIX = ""


class MapCreateAttr(_Attr):
    """``BPF_MAP_CREATE``."""

    _fields_ = [
        ("map_type", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("inner_map_fd", c_uint32),
        ("numa_node", c_uint32),
        ("map_name", c_char * OBJ_NAME_LEN),
        ("map_ifindex", c_uint32),
        ("btf_fd", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("map_extra", c_uint64),
        ("value_type_btf_obj_fd", c_int32),
        ("map_token_fd", c_int32),
        ("excl_prog_hash", c_uint64),
        ("excl_prog_hash_size", c_uint32),
    ]


class _ValueOrNextKey(ctypes.Union):
    _fields_ = [("value", c_uint64), ("next_key", c_uint64)]


class MapElemAttr(_Attr):
    """``BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM``, ``GET_NEXT_KEY``, ``LOOKUP_AND_DELETE_ELEM``,
    ``FREEZE``."""

    _anonymous_ = ("_u",)
    _fields_ = [
        ("map_fd", c_uint32),
        ("key", c_uint64),
        ("_u", _ValueOrNextKey),
        ("flags", c_uint64),
    ]


class MapBatchAttr(_Attr):
    """``BPF_MAP_*_BATCH``."""

    C_PREFIX = "batch."
    _fields_ = [
        ("in_batch", c_uint64),
        ("out_batch", c_uint64),
        ("keys", c_uint64),
        ("values", c_uint64),
        ("count", c_uint32),
        ("map_fd", c_uint32),
        ("elem_flags", c_uint64),
        ("flags", c_uint64),
    ]


class _AttachProgOrBtfObj(ctypes.Union):
    _fields_ = [("attach_prog_fd", c_uint32), ("attach_btf_obj_fd", c_uint32)]


class ProgLoadAttr(_Attr):
    """``BPF_PROG_LOAD``.  ``log_true_size`` (6.4+) is written back by the kernel."""

    _anonymous_ = ("_u",)
    _fields_ = [
        ("prog_type", c_uint32),
        ("insn_cnt", c_uint32),
        ("insns", c_uint64),
        ("license", c_uint64),
        ("log_level", c_uint32),
        ("log_size", c_uint32),
        ("log_buf", c_uint64),
        ("kern_version", c_uint32),
        ("prog_flags", c_uint32),
        ("prog_name", c_char * OBJ_NAME_LEN),
        ("prog_ifindex", c_uint32),
        ("expected_attach_type", c_uint32),
        ("prog_btf_fd", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("func_info_cnt", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("line_info", c_uint64),
        ("line_info_cnt", c_uint32),
        ("attach_btf_id", c_uint32),
        ("_u", _AttachProgOrBtfObj),
        ("core_relo_cnt", c_uint32),
        ("fd_array", c_uint64),
        ("core_relos", c_uint64),
        ("core_relo_rec_size", c_uint32),
        ("log_true_size", c_uint32),
        ("prog_token_fd", c_int32),
        ("fd_array_cnt", c_uint32),
        ("signature", c_uint64),
        ("signature_size", c_uint32),
        ("keyring_id", c_int32),
    ]


class ObjAttr(_Attr):
    """``BPF_OBJ_PIN`` / ``BPF_OBJ_GET``."""

    _fields_ = [
        ("pathname", c_uint64),
        ("bpf_fd", c_uint32),
        ("file_flags", c_uint32),
        ("path_fd", c_int32),
    ]


class _TargetFdOrIfindex(ctypes.Union):
    _fields_ = [("target_fd", c_uint32), ("target_ifindex", c_uint32)]


class _RelativeFdOrId(ctypes.Union):
    _fields_ = [("relative_fd", c_uint32), ("relative_id", c_uint32)]


class ProgAttachAttr(_Attr):
    """``BPF_PROG_ATTACH`` / ``BPF_PROG_DETACH``."""

    _anonymous_ = ("_t", "_r")
    _fields_ = [
        ("_t", _TargetFdOrIfindex),
        ("attach_bpf_fd", c_uint32),
        ("attach_type", c_uint32),
        ("attach_flags", c_uint32),
        ("replace_bpf_fd", c_uint32),
        ("_r", _RelativeFdOrId),
        ("expected_revision", c_uint64),
    ]


class TestRunAttr(_Attr):
    """``BPF_PROG_TEST_RUN``."""

    __test__ = False  # not a pytest test class despite the name
    C_PREFIX = "test."
    _fields_ = [
        ("prog_fd", c_uint32),
        ("retval", c_uint32),
        ("data_size_in", c_uint32),
        ("data_size_out", c_uint32),
        ("data_in", c_uint64),
        ("data_out", c_uint64),
        ("repeat", c_uint32),
        ("duration", c_uint32),
        ("ctx_size_in", c_uint32),
        ("ctx_size_out", c_uint32),
        ("ctx_in", c_uint64),
        ("ctx_out", c_uint64),
        ("flags", c_uint32),
        ("cpu", c_uint32),
        ("batch_size", c_uint32),
    ]


class _StartId(ctypes.Union):
    _fields_ = [("start_id", c_uint32), ("prog_id", c_uint32), ("map_id", c_uint32),
                ("btf_id", c_uint32), ("link_id", c_uint32)]


class GetIdAttr(_Attr):
    """``BPF_*_GET_NEXT_ID`` and ``BPF_*_GET_FD_BY_ID``."""

    _anonymous_ = ("_u",)
    _fields_ = [
        ("_u", _StartId),
        ("next_id", c_uint32),
        ("open_flags", c_uint32),
        ("fd_by_id_token_fd", c_int32),
    ]


class InfoAttr(_Attr):
    """``BPF_OBJ_GET_INFO_BY_FD``."""

    C_PREFIX = "info."
    _fields_ = [("bpf_fd", c_uint32), ("info_len", c_uint32), ("info", c_uint64)]


class _ProgCntOrCount(ctypes.Union):
    _fields_ = [("prog_cnt", c_uint32), ("count", c_uint32)]


class QueryAttr(_Attr):
    """``BPF_PROG_QUERY``."""

    C_PREFIX = "query."
    _anonymous_ = ("_t", "_c")
    _fields_ = [
        ("_t", _TargetFdOrIfindex),
        ("attach_type", c_uint32),
        ("query_flags", c_uint32),
        ("attach_flags", c_uint32),
        ("prog_ids", c_uint64),
        ("_c", _ProgCntOrCount),
        ("prog_attach_flags", c_uint64),
        ("link_ids", c_uint64),
        ("link_attach_flags", c_uint64),
        ("revision", c_uint64),
    ]


class RawTracepointAttr(_Attr):
    """``BPF_RAW_TRACEPOINT_OPEN``."""

    C_PREFIX = "raw_tracepoint."
    _fields_ = [("name", c_uint64), ("prog_fd", c_uint32), ("cookie", c_uint64)]


class BtfLoadAttr(_Attr):
    """``BPF_BTF_LOAD``.  ``btf_log_true_size`` (6.4+) is written back by the kernel."""

    _fields_ = [
        ("btf", c_uint64),
        ("btf_log_buf", c_uint64),
        ("btf_size", c_uint32),
        ("btf_log_size", c_uint32),
        ("btf_log_level", c_uint32),
        ("btf_log_true_size", c_uint32),
        ("btf_flags", c_uint32),
        ("btf_token_fd", c_int32),
    ]


class TaskFdQueryAttr(_Attr):
    """``BPF_TASK_FD_QUERY``."""

    C_PREFIX = "task_fd_query."
    _fields_ = [
        ("pid", c_uint32),
        ("fd", c_uint32),
        ("flags", c_uint32),
        ("buf_len", c_uint32),
        ("buf", c_uint64),
        ("prog_id", c_uint32),
        ("fd_type", c_uint32),
        ("probe_offset", c_uint64),
        ("probe_addr", c_uint64),
    ]


# -- BPF_LINK_CREATE: a header and a union of per-attach-type tails ---------------------------


class _ProgOrMapFd(ctypes.Union):
    _fields_ = [("prog_fd", c_uint32), ("map_fd", c_uint32)]


class _IterTail(ctypes.Structure):
    _fields_ = [("iter_info", c_uint64), ("iter_info_len", c_uint32)]


class _PerfEventTail(ctypes.Structure):
    _fields_ = [("bpf_cookie", c_uint64)]


class _KprobeMultiTail(ctypes.Structure):
    _fields_ = [("flags", c_uint32), ("cnt", c_uint32), ("syms", c_uint64),
                ("addrs", c_uint64), ("cookies", c_uint64)]


class _TracingTail(ctypes.Structure):
    _fields_ = [("target_btf_id", c_uint32), ("cookie", c_uint64)]


class _NetfilterTail(ctypes.Structure):
    _fields_ = [("pf", c_uint32), ("hooknum", c_uint32), ("priority", c_int32),
                ("flags", c_uint32)]


class _RelativeTail(ctypes.Structure):
    """The shape shared by ``tcx``, ``netkit`` and ``cgroup`` (multi-prog attach points)."""

    _anonymous_ = ("_r",)
    _fields_ = [("_r", _RelativeFdOrId), ("expected_revision", c_uint64)]


class _UprobeMultiTail(ctypes.Structure):
    _fields_ = [("path", c_uint64), ("offsets", c_uint64), ("ref_ctr_offsets", c_uint64),
                ("cookies", c_uint64), ("cnt", c_uint32), ("flags", c_uint32),
                ("pid", c_uint32)]


class _LinkCreateTail(ctypes.Union):
    _anonymous_ = ("_iter",)
    _fields_ = [
        ("target_btf_id", c_uint32),
        ("_iter", _IterTail),
        ("perf_event", _PerfEventTail),
        ("kprobe_multi", _KprobeMultiTail),
        ("tracing", _TracingTail),
        ("netfilter", _NetfilterTail),
        ("tcx", _RelativeTail),
        ("uprobe_multi", _UprobeMultiTail),
        ("netkit", _RelativeTail),
        ("cgroup", _RelativeTail),
    ]


class LinkCreateAttr(_Attr):
    """``BPF_LINK_CREATE``."""

    C_PREFIX = "link_create."
    _anonymous_ = ("_p", "_t", "_tail")
    _fields_ = [
        ("_p", _ProgOrMapFd),
        ("_t", _TargetFdOrIfindex),
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("_tail", _LinkCreateTail),
    ]


class _NewProgOrMap(ctypes.Union):
    _fields_ = [("new_prog_fd", c_uint32), ("new_map_fd", c_uint32)]


class _OldProgOrMap(ctypes.Union):
    _fields_ = [("old_prog_fd", c_uint32), ("old_map_fd", c_uint32)]


class LinkUpdateAttr(_Attr):
    """``BPF_LINK_UPDATE``."""

    C_PREFIX = "link_update."
    _anonymous_ = ("_n", "_o")
    _fields_ = [("link_fd", c_uint32), ("_n", _NewProgOrMap), ("flags", c_uint32),
                ("_o", _OldProgOrMap)]


class LinkDetachAttr(_Attr):
    """``BPF_LINK_DETACH``."""

    C_PREFIX = "link_detach."
    _fields_ = [("link_fd", c_uint32)]


class EnableStatsAttr(_Attr):
    """``BPF_ENABLE_STATS``."""

    C_PREFIX = "enable_stats."
    _fields_ = [("type", c_uint32)]


class IterCreateAttr(_Attr):
    """``BPF_ITER_CREATE``."""

    C_PREFIX = "iter_create."
    _fields_ = [("link_fd", c_uint32), ("flags", c_uint32)]


class ProgBindMapAttr(_Attr):
    """``BPF_PROG_BIND_MAP``."""

    C_PREFIX = "prog_bind_map."
    _fields_ = [("prog_fd", c_uint32), ("map_fd", c_uint32), ("flags", c_uint32)]


class TokenCreateAttr(_Attr):
    """``BPF_TOKEN_CREATE``."""

    C_PREFIX = "token_create."
    _fields_ = [("flags", c_uint32), ("bpffs_fd", c_uint32)]


class ProgStreamReadAttr(_Attr):
    """``BPF_PROG_STREAM_READ_BY_FD`` (6.17+)."""

    C_PREFIX = "prog_stream_read."
    _fields_ = [("stream_buf", c_uint64), ("stream_buf_len", c_uint32),
                ("stream_id", c_uint32), ("prog_fd", c_uint32)]


ALL_ATTRS: tuple[type[_Attr], ...] = (
    MapCreateAttr, MapElemAttr, MapBatchAttr, ProgLoadAttr, ObjAttr, ProgAttachAttr,
    TestRunAttr, GetIdAttr, InfoAttr, QueryAttr, RawTracepointAttr, BtfLoadAttr,
    TaskFdQueryAttr, LinkCreateAttr, LinkUpdateAttr, LinkDetachAttr, EnableStatsAttr,
    IterCreateAttr, ProgBindMapAttr, TokenCreateAttr, ProgStreamReadAttr,
)
"""Every per-command layout, for the layout tests."""

