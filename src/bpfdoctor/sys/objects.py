"""Finding kernel objects: ids, fds by id, pinning in bpffs, and counting everything.

Every map, program, link and BTF object has a system-wide id (``bpftool prog list`` shows
them).  Ids are walked with ``BPF_*_GET_NEXT_ID`` and turned into fds with
``BPF_*_GET_FD_BY_ID``; objects can also be given a name in a bpffs mount.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator

from ..errors import SyscallError
from .attr import GetIdAttr, ObjAttr
from .consts import Cmd
from .fd import FD, FDLike, fdnum
from .syscall import bpf_fd, bpf_raw

_NEXT_ID = {"prog": Cmd.PROG_GET_NEXT_ID, "map": Cmd.MAP_GET_NEXT_ID,
            "link": Cmd.LINK_GET_NEXT_ID, "btf": Cmd.BTF_GET_NEXT_ID}
_FD_BY_ID = {"prog": Cmd.PROG_GET_FD_BY_ID, "map": Cmd.MAP_GET_FD_BY_ID,
             "link": Cmd.LINK_GET_FD_BY_ID, "btf": Cmd.BTF_GET_FD_BY_ID}


def _next_id(kind: str, start: int) -> int | None:
    cmd = _NEXT_ID[kind]
    attr = GetIdAttr(start_id=start)
    ret, err = bpf_raw(cmd, attr)
    if ret < 0:
        if err == errno.ENOENT:
            return None
        raise SyscallError(err, cmd.op)
    return int(attr.next_id)


def prog_get_next_id(start: int = 0) -> int | None:
    """The smallest program id greater than ``start``; ``None`` after the last."""
    return _next_id("prog", start)


def map_get_next_id(start: int = 0) -> int | None:
    """The smallest map id greater than ``start``; ``None`` after the last."""
    return _next_id("map", start)


def link_get_next_id(start: int = 0) -> int | None:
    """The smallest link id greater than ``start``; ``None`` after the last."""
    return _next_id("link", start)


def btf_get_next_id(start: int = 0) -> int | None:
    """The smallest BTF object id greater than ``start``; ``None`` after the last."""
    return _next_id("btf", start)


def _ids(kind: str) -> Iterator[int]:
    cur: int | None = 0
    while (cur := _next_id(kind, cur)) is not None:
        yield cur


def prog_ids() -> Iterator[int]:
    """Ids of all loaded programs, ascending (objects created meanwhile may or may not
    appear; removed ones just stop appearing)."""
    return _ids("prog")


def map_ids() -> Iterator[int]:
    """Ids of all maps, ascending."""
    return _ids("map")


def link_ids() -> Iterator[int]:
    """Ids of all links, ascending."""
    return _ids("link")


def btf_ids() -> Iterator[int]:
    """Ids of all BTF objects (vmlinux, modules, loaded by programs), ascending."""
    return _ids("btf")


def _fd_by_id(kind: str, obj_id: int, open_flags: int = 0,
              token_fd: FDLike | None = None) -> FD:
    attr = GetIdAttr(start_id=obj_id, open_flags=open_flags)
    if token_fd is not None:
        attr.open_flags |= 1 << 16  # BPF_F_TOKEN_FD
        attr.fd_by_id_token_fd = fdnum(token_fd)
    return bpf_fd(_FD_BY_ID[kind], attr)


def prog_get_fd_by_id(prog_id: int, *, token_fd: FDLike | None = None) -> FD:
    """A new fd for program ``prog_id``; ``SyscallError(ENOENT)`` if it is gone."""
    return _fd_by_id("prog", prog_id, 0, token_fd)


def map_get_fd_by_id(map_id: int, *, open_flags: int = 0,
                     token_fd: FDLike | None = None) -> FD:
    """A new fd for map ``map_id``; ``open_flags`` may ask for ``MapFlags.RDONLY/WRONLY``."""
    return _fd_by_id("map", map_id, open_flags, token_fd)


def link_get_fd_by_id(link_id: int, *, token_fd: FDLike | None = None) -> FD:
    """A new fd for link ``link_id``."""
    return _fd_by_id("link", link_id, 0, token_fd)


def btf_get_fd_by_id(btf_id: int, *, token_fd: FDLike | None = None) -> FD:
    """A new fd for BTF object ``btf_id``."""
    return _fd_by_id("btf", btf_id, 0, token_fd)


def count_objects() -> dict[str, int]:
    """How many programs, maps, links and BTF objects exist right now, system-wide.

    Used as a leak check around tests.  Ids are released when the last reference goes,
    but a program's references to its maps and BTF are dropped only after an RCU grace
    period, so a count taken right after closing a program may still include them.
    """
    return {
        "programs": sum(1 for _ in prog_ids()),
        "maps": sum(1 for _ in map_ids()),
        "links": sum(1 for _ in link_ids()),
        "btf": sum(1 for _ in btf_ids()),
    }


# ----------------------------------------------------------------------------- bpffs


def obj_pin(fd: FDLike, path: str | os.PathLike[str]) -> None:
    """Pin the object behind ``fd`` at ``path``, which must lie in a bpffs mount (else
    ``EPERM``) and not exist yet (else ``EEXIST``).  Remove the pin with ``os.unlink``."""
    p = ctypes.create_string_buffer(os.fsencode(path))
    attr = ObjAttr(pathname=ctypes.addressof(p), bpf_fd=fdnum(fd))
    ret, err = bpf_raw(Cmd.OBJ_PIN, attr)
    if ret < 0:
        raise SyscallError(err, Cmd.OBJ_PIN.op, f"{os.strerror(err)}: {os.fspath(path)}")


def obj_get(path: str | os.PathLike[str], flags: int = 0) -> FD:
    """Open the object pinned at ``path`` (``flags``: ``MapFlags.RDONLY/WRONLY`` for maps)."""
    p = ctypes.create_string_buffer(os.fsencode(path))
    attr = ObjAttr(pathname=ctypes.addressof(p), file_flags=flags)
    ret, err = bpf_raw(Cmd.OBJ_GET, attr)
    if ret < 0:
        raise SyscallError(err, Cmd.OBJ_GET.op, f"{os.strerror(err)}: {os.fspath(path)}")
    return FD(ret)


BPF_FS_MAGIC = 0xCAFE4A11


def is_bpffs(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` lies on a bpf filesystem (``statfs(2)`` magic ``BPF_FS_MAGIC``)."""
    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.statfs(os.fsencode(path), buf) != 0:
        return False
    # f_type is the first field, a long
    return ctypes.c_long.from_buffer(buf).value == BPF_FS_MAGIC
