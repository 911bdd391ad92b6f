"""Programs and BTF: ``BPF_PROG_LOAD``, ``BPF_BTF_LOAD``, ``BPF_PROG_TEST_RUN`` and friends.

The two load commands share a log protocol: user space lends a buffer (``log_size`` > 0 needs
``log_level`` > 0), the kernel writes its checker's output there and, since 6.4, reports in
``log_true_size`` how large the whole log was.  Since 6.4 the log also *rotates* by default:
an overflowing buffer keeps the end of the log (where the error is), and the command fails
with ``ENOSPC`` even if the object itself was fine.  This layer reports that faithfully;
retrying with a larger buffer is the loader's policy.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass

from .attr import (
    BtfLoadAttr,
    ProgBindMapAttr,
    ProgLoadAttr,
    ProgStreamReadAttr,
    QueryAttr,
    TestRunAttr,
)
from .consts import AttachType, Cmd, ProgFlags, ProgType
from .exceptions import BTFLoadSyscallError, ProgLoadError
from .fd import FD, FDLike, fdnum, optfd
from .maps import encode_name
from .syscall import bpf, bpf_raw

_LOG_MAX = 0xFFFFFFFF >> 2  # kernel/bpf/log.c rejects larger buffers with EINVAL


def _log_buffer(log_level: int, log_size: int) -> ctypes.Array[ctypes.c_char] | None:
    if log_size < 0 or log_size > _LOG_MAX:
        raise ValueError(f"log_size {log_size} is outside 0..{_LOG_MAX}")
    if log_size and not log_level:
        raise ValueError("a log buffer needs log_level > 0 (the kernel answers EINVAL)")
    return ctypes.create_string_buffer(log_size) if log_size else None


def decode_log(buf: ctypes.Array[ctypes.c_char] | None) -> str:
    """The text of a kernel log buffer: up to the first NUL, undecodable bytes replaced."""
    if buf is None:
        return ""
    return buf.raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _c_array(values: Sequence[int], ctype: type[ctypes.c_int] | type[ctypes.c_uint32]
             ) -> ctypes.Array[ctypes.c_int] | None:
    if not values:
        return None
    return (ctype * len(values))(*values)  # type: ignore[return-value]


def _bytes_buf(data: bytes) -> ctypes.Array[ctypes.c_char] | None:
    return ctypes.create_string_buffer(bytes(data), len(data)) if data else None


def _addr(obj: ctypes.Array | None) -> int:  # type: ignore[type-arg]
    return ctypes.addressof(obj) if obj is not None else 0


def prog_load(
    *,
    prog_type: ProgType | int,
    insns: bytes,
    license: str,
    name: str = "",
    log_level: int = 0,
    log_size: int = 0,
    kern_version: int = 0,
    prog_flags: ProgFlags | int = 0,
    expected_attach_type: AttachType | int = 0,
    ifindex: int = 0,
    btf_fd: FDLike | None = None,
    func_info: bytes = b"",
    func_info_rec_size: int = 8,
    line_info: bytes = b"",
    line_info_rec_size: int = 16,
    attach_btf_id: int = 0,
    attach_btf_obj_fd: FDLike | None = None,
    attach_prog_fd: FDLike | None = None,
    fd_array: Sequence[int] | None = None,
    fd_array_cnt: int = 0,
    core_relos: bytes = b"",
    core_relo_rec_size: int = 0,
    token_fd: FDLike | None = None,
    log_out: list[str] | None = None,
) -> FD:
    """Load a program; raises :class:`ProgLoadError` (errno, ``log``, ``log_true_size``).

    ``log_out``: on success, the verifier log (e.g. the statistics of log level 4) is
    appended to this list as one string, since a returned fd has nowhere to carry it.

    ``insns`` is the encoded instruction stream (8 bytes per slot).  ``func_info`` and
    ``line_info`` are packed ``bpf_func_info``/``bpf_line_info`` records of the given record
    sizes, counted for you.  ``attach_prog_fd`` and ``attach_btf_obj_fd`` share one field,
    so at most one may be given.  ``fd_array`` is referenced by ``BPF_PSEUDO_MAP_IDX``
    loads and kfunc calls; ``fd_array_cnt`` (6.14+) additionally binds every map in it to
    the program and must stay 0 on older kernels.
    """
    if len(insns) % 8 or not insns:
        raise ValueError(f"insns must be a non-empty multiple of 8 bytes, got {len(insns)}")
    if attach_prog_fd is not None and attach_btf_obj_fd is not None:
        raise ValueError("attach_prog_fd and attach_btf_obj_fd share one field; pass one")
    for label, data, rec in (("func_info", func_info, func_info_rec_size),
                             ("line_info", line_info, line_info_rec_size),
                             ("core_relos", core_relos, core_relo_rec_size)):
        if data and (rec <= 0 or len(data) % rec):
            raise ValueError(f"{label} is {len(data)} bytes, not a multiple of {rec}")

    code = _bytes_buf(insns)
    lic = ctypes.create_string_buffer(license.encode("utf-8"))
    log = _log_buffer(log_level, log_size)
    finfo, linfo, relos = _bytes_buf(func_info), _bytes_buf(line_info), _bytes_buf(core_relos)
    fds = _c_array(list(fd_array or ()), ctypes.c_int)
    attr = ProgLoadAttr(
        prog_type=int(prog_type), insn_cnt=len(insns) // 8, insns=_addr(code),
        license=ctypes.addressof(lic), log_level=log_level, log_size=log_size,
        log_buf=_addr(log), kern_version=kern_version, prog_flags=int(prog_flags),
        prog_name=encode_name(name, "program name"), prog_ifindex=ifindex,
        expected_attach_type=int(expected_attach_type), prog_btf_fd=optfd(btf_fd),
        attach_btf_id=attach_btf_id, fd_array=_addr(fds), fd_array_cnt=fd_array_cnt,
    )
    if func_info:
        attr.func_info_rec_size = func_info_rec_size
        attr.func_info = _addr(finfo)
        attr.func_info_cnt = len(func_info) // func_info_rec_size
    if line_info:
        attr.line_info_rec_size = line_info_rec_size
        attr.line_info = _addr(linfo)
        attr.line_info_cnt = len(line_info) // line_info_rec_size
    if core_relos:
        attr.core_relo_rec_size = core_relo_rec_size
        attr.core_relos = _addr(relos)
        attr.core_relo_cnt = len(core_relos) // core_relo_rec_size
    if attach_prog_fd is not None:
        attr.attach_prog_fd = fdnum(attach_prog_fd)
    elif attach_btf_obj_fd is not None:
        attr.attach_btf_obj_fd = fdnum(attach_btf_obj_fd)
    if token_fd is not None:
        attr.prog_flags |= ProgFlags.TOKEN_FD
        attr.prog_token_fd = fdnum(token_fd)

    ret, err = bpf_raw(Cmd.PROG_LOAD, attr)
    if ret < 0:
        raise ProgLoadError(err, Cmd.PROG_LOAD.op, log=decode_log(log), log_size=log_size,
                            log_level=log_level, log_true_size=int(attr.log_true_size))
    if log_out is not None and log is not None:
        log_out.append(decode_log(log))
    return FD(ret)


def btf_load(data: bytes, *, log_level: int = 0, log_size: int = 0,
             token_fd: FDLike | None = None) -> FD:
    """Load a BTF blob (header + type and string sections); raises
    :class:`BTFLoadSyscallError` with the checker's log."""
    if not data:
        raise ValueError("empty BTF blob")
    blob = _bytes_buf(data)
    log = _log_buffer(log_level, log_size)
    attr = BtfLoadAttr(btf=_addr(blob), btf_size=len(data), btf_log_buf=_addr(log),
                       btf_log_size=log_size, btf_log_level=log_level)
    if token_fd is not None:
        attr.btf_flags = 1 << 16  # BPF_F_TOKEN_FD
        attr.btf_token_fd = fdnum(token_fd)
    ret, err = bpf_raw(Cmd.BTF_LOAD, attr)
    if ret < 0:
        raise BTFLoadSyscallError(err, Cmd.BTF_LOAD.op, log=decode_log(log),
                                  log_size=log_size, log_level=log_level,
                                  log_true_size=int(attr.btf_log_true_size))
    return FD(ret)


# ----------------------------------------------------------------------------- test run


@dataclass(frozen=True)
class TestRunResult:
    """What ``BPF_PROG_TEST_RUN`` reports: the program's return value, the mean run time in
    nanoseconds over ``repeat`` runs, and the (possibly modified) packet and context."""

    __test__ = False  # not a pytest test class despite the name

    retval: int
    duration: int
    data_out: bytes
    ctx_out: bytes


def prog_test_run(
    prog_fd: FDLike,
    data_in: bytes = b"",
    *,
    repeat: int = 1,
    ctx_in: bytes = b"",
    data_size_out: int | None = None,
    ctx_size_out: int | None = None,
    flags: int = 0,
    cpu: int = 0,
    batch_size: int = 0,
) -> TestRunResult:
    """Run the program once (or ``repeat`` times) in the kernel on ``data_in``/``ctx_in``.

    ``data_size_out`` defaults to ``len(data_in) + 256`` (room for XDP/skb head growth);
    ``ctx_size_out`` to ``len(ctx_in)``.  A buffer too small for the output fails with
    ``SyscallError(ENOSPC)``.  Socket filters and skb programs need at least an Ethernet
    header (14 bytes) of data.
    """
    din = _bytes_buf(data_in)
    cin = _bytes_buf(ctx_in)
    dsize = len(data_in) + 256 if data_size_out is None else data_size_out
    csize = len(ctx_in) if ctx_size_out is None else ctx_size_out
    dout = ctypes.create_string_buffer(dsize) if dsize else None
    cout = ctypes.create_string_buffer(csize) if csize else None
    attr = TestRunAttr(
        prog_fd=fdnum(prog_fd), data_size_in=len(data_in), data_size_out=dsize,
        data_in=_addr(din), data_out=_addr(dout), repeat=repeat,
        ctx_size_in=len(ctx_in), ctx_size_out=csize, ctx_in=_addr(cin), ctx_out=_addr(cout),
        flags=flags, cpu=cpu, batch_size=batch_size,
    )
    bpf(Cmd.PROG_TEST_RUN, attr)
    data_out = dout.raw[: min(dsize, int(attr.data_size_out))] if dout is not None else b""
    ctx_out = cout.raw[: min(csize, int(attr.ctx_size_out))] if cout is not None else b""
    return TestRunResult(retval=int(attr.retval), duration=int(attr.duration),
                         data_out=data_out, ctx_out=ctx_out)


# ----------------------------------------------------------------------------- misc


def prog_bind_map(prog_fd: FDLike, map_fd: FDLike, flags: int = 0) -> None:
    """Keep ``map_fd`` alive as long as the program, without the program referencing it
    (``BPF_PROG_BIND_MAP``; used for ``.rodata`` metadata maps)."""
    bpf(Cmd.PROG_BIND_MAP, ProgBindMapAttr(prog_fd=fdnum(prog_fd), map_fd=fdnum(map_fd),
                                           flags=flags))


@dataclass(frozen=True)
class QueryResult:
    """``BPF_PROG_QUERY``: programs attached to a hook, in execution order."""

    prog_ids: tuple[int, ...]
    attach_flags: int
    prog_attach_flags: tuple[int, ...]
    link_ids: tuple[int, ...]
    revision: int


def prog_query(target_fd: FDLike | None, attach_type: AttachType | int, *,
               query_flags: int = 0, max_progs: int = 64,
               target_ifindex: int | None = None) -> QueryResult:
    """Which programs are attached at ``(target, attach_type)``: ``target_fd`` is a cgroup or
    netns fd; pass ``target_fd=None`` and ``target_ifindex`` for a network device
    (tcx/netkit, which also report ``link_ids``)."""
    if (target_fd is None) == (target_ifindex is None):
        raise ValueError("pass exactly one of target_fd and target_ifindex")
    ids = (ctypes.c_uint32 * max_progs)()
    pflags = (ctypes.c_uint32 * max_progs)()
    lids = (ctypes.c_uint32 * max_progs)()
    attr = QueryAttr(attach_type=int(attach_type), query_flags=query_flags,
                     prog_ids=ctypes.addressof(ids), prog_cnt=max_progs,
                     prog_attach_flags=ctypes.addressof(pflags))
    if target_ifindex is not None:
        attr.target_ifindex = target_ifindex
        attr.link_ids = ctypes.addressof(lids)
    else:
        attr.target_fd = fdnum(target_fd)  # type: ignore[arg-type]
    bpf(Cmd.PROG_QUERY, attr)
    n = min(int(attr.prog_cnt), max_progs)
    return QueryResult(
        prog_ids=tuple(ids[:n]), attach_flags=int(attr.attach_flags),
        prog_attach_flags=tuple(pflags[:n]),
        link_ids=tuple(lids[:n]) if target_ifindex is not None else (),
        revision=int(attr.revision),
    )


def prog_stream_read(prog_fd: FDLike, stream_id: int, size: int = 4096) -> bytes:
    """Drain up to ``size`` bytes of a program's stdout (1) / stderr (2) stream (6.17+;
    ``bpf_stream_printk`` and verifier-detected runtime errors write there)."""
    buf = ctypes.create_string_buffer(max(size, 1))
    n = bpf(Cmd.PROG_STREAM_READ_BY_FD,
            ProgStreamReadAttr(stream_buf=ctypes.addressof(buf), stream_buf_len=size,
                               stream_id=stream_id, prog_fd=fdnum(prog_fd)))
    return buf.raw[:n]
