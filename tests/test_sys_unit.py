"""bpfdoctor.sys without the bpf() syscall: UAPI layouts and constants checked against what a
C compiler makes of the kernel's own headers, plus the pure-Python pieces (FD ownership,
argument validation, parsing).

Two sources of truth, both independent of this package:

* the running kernel's BTF (``/sys/kernel/btf/vmlinux`` rendered as C by ``bpftool``): the
  exact 6.18 layouts and enum values, every field;
* the distribution's UAPI header (``/usr/include/linux/bpf.h``, Linux 6.1 on Debian): the
  fields that existed then, which must sit at the same offsets forever.
"""

from __future__ import annotations

import ctypes
import enum
import errno
import fnmatch
import os
import platform
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from bpfdoctor import sys as bsys
from bpfdoctor.errors import SyscallError
from bpfdoctor.sys import consts, perf
from bpfdoctor.sys.attr import ALL_ATTRS
from bpfdoctor.sys.info import ALL_INFOS
from bpfdoctor.sys.prog import _log_buffer

UAPI_BPF_H = Path("/usr/include/linux/bpf.h")
UAPI_PERF_H = Path("/usr/include/linux/perf_event.h")
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

# ----------------------------------------------------------------------------- C harness


def find_cc() -> str | None:
    for name in ("cc", "gcc", "clang-19", "clang"):
        p = shutil.which(name)
        if p:
            return p
    return None


def run_c(tmp: Path, includes: str, body: list[str]) -> dict[str, int]:
    """Compile and run a C program whose ``body`` prints ``key value`` lines."""
    cc = find_cc()
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp / "probe.c"
    src.write_text("\n".join([
        includes,
        "int printf(const char *, ...);",
        "int main(void) {",
        *body,
        "return 0; }",
    ]))
    exe = tmp / "probe"
    r = subprocess.run([cc, "-w", "-I", str(tmp), "-o", str(exe), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"C probe failed to compile:\n{r.stderr[:4000]}"
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    result: dict[str, int] = {}
    for line in out.splitlines():
        key, value = line.rsplit(" ", 1)
        result[key] = int(value)
    return result


def print_value(key: str, expr: str) -> str:
    return f'printf("%s %lld\\n", "{key}", (long long)({expr}));'


@pytest.fixture(scope="module")
def vmlinux_h(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bpftool = shutil.which("bpftool")
    if bpftool is None or not VMLINUX_BTF.exists():
        pytest.skip("needs bpftool and /sys/kernel/btf/vmlinux")
    d = tmp_path_factory.mktemp("vmlinux")
    r = subprocess.run([bpftool, "btf", "dump", "file", str(VMLINUX_BTF), "format", "c"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"bpftool cannot dump BTF: {r.stderr.strip()}")
    (d / "vmlinux.h").write_text(r.stdout)
    return d / "vmlinux.h"


def kernel_version() -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


# ----------------------------------------------------------------------------- layouts


def ctypes_fields(cls: type, prefix: str = "") -> list[tuple[str, int, int]]:
    """``(C member path, offset, size)`` of every named field, anonymous members flattened,
    nested named aggregates recursed into (``perf_event.bpf_cookie``); bitfields skipped."""
    out: list[tuple[str, int, int]] = []
    anonymous = getattr(cls, "_anonymous_", ())
    for f in cls._fields_:  # type: ignore[attr-defined]
        name, ctype = f[0], f[1]
        if len(f) == 3:
            continue
        off = getattr(cls, name).offset
        if name in anonymous:
            out += [(p, off + o, s) for p, o, s in ctypes_fields(ctype, prefix)]
        elif name.startswith("_"):
            continue
        else:
            out.append((prefix + name, off, ctypes.sizeof(ctype)))
            if issubclass(ctype, ctypes.Structure | ctypes.Union):
                out += [(p, off + o, s) for p, o, s in ctypes_fields(ctype, prefix + name + ".")]
    return out


def all_layout_fields() -> list[tuple[str, str, int, int]]:
    rows = []
    for cls in ALL_ATTRS:
        rows += [("union bpf_attr", p, o, s) for p, o, s in ctypes_fields(cls, cls.C_PREFIX)]
    for cls in ALL_INFOS:
        rows += [(cls.C_NAME, p, o, s) for p, o, s in ctypes_fields(cls)]  # type: ignore[attr-defined]
    return rows


def layout_probe(rows: list[tuple[str, str, int, int]]) -> list[str]:
    body = []
    for ctype, path, _, _ in rows:
        body.append(print_value(f"{ctype}|{path}|off", f"__builtin_offsetof({ctype}, {path})"))
        body.append(print_value(f"{ctype}|{path}|size", f"sizeof((({ctype} *)0)->{path})"))
    return body


def compare_layout(rows: list[tuple[str, str, int, int]], got: dict[str, int]) -> list[str]:
    bad = []
    for ctype, path, off, size in rows:
        c_off, c_size = got[f"{ctype}|{path}|off"], got[f"{ctype}|{path}|size"]
        if (off, size) != (c_off, c_size):
            bad.append(f"{ctype} {path}: ours offset {off} size {size}, "
                       f"C offset {c_off} size {c_size}")
    return bad


def test_layouts_match_running_kernel_btf(vmlinux_h: Path) -> None:
    rows = all_layout_fields()
    assert len(rows) > 300  # the walk really covers the structs
    body = layout_probe(rows)
    for cls in ALL_INFOS:
        name = cls.C_NAME  # type: ignore[attr-defined]
        body.append(print_value(f"sizeof {name}", f"sizeof({name})"))
    got = run_c(vmlinux_h.parent, '#include "vmlinux.h"', body)
    assert compare_layout(rows, got) == []
    if kernel_version() == (6, 18):  # our info structs are exactly 6.18's
        for cls in ALL_INFOS:
            assert ctypes.sizeof(cls) == got[f"sizeof {cls.C_NAME}"], cls.C_NAME  # type: ignore[attr-defined]


# Fields added after Linux 6.1 (absent from Debian's header), as C member paths.
NEWER_THAN_6_1 = {
    "union bpf_attr": [
        "value_type_btf_obj_fd", "map_token_fd", "excl_prog_hash*", "log_true_size",
        "prog_token_fd", "fd_array_cnt", "signature*", "keyring_id", "path_fd",
        "target_ifindex", "relative_*", "expected_revision", "fd_by_id_token_fd",
        "query.target_ifindex", "query.count", "query.link_*", "query.revision",
        "raw_tracepoint.cookie", "btf_log_true_size", "btf_flags", "btf_token_fd",
        "link_create.map_fd", "link_create.netfilter*", "link_create.tcx*",
        "link_create.uprobe_multi*", "link_create.netkit*", "link_create.cgroup*",
        "link_update.*_map_fd", "token_create*", "prog_stream_read*",
    ],
    "struct bpf_map_info": ["btf_vmlinux_id", "hash", "hash_size"],
    "struct bpf_link_info": [
        "raw_tracepoint", "tracing",  # both grew a cookie (their children are still checked)
        "raw_tracepoint.cookie", "tracing.cookie", "struct_ops*", "netfilter*",
        "kprobe_multi*", "uprobe_multi*", "perf_event*", "tcx*", "netkit*", "sockmap*",
    ],
}


def test_layouts_match_uapi_header_fields_of_6_1(tmp_path: Path) -> None:
    if not UAPI_BPF_H.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    rows = [r for r in all_layout_fields()
            if not any(fnmatch.fnmatchcase(r[1], pat) for pat in NEWER_THAN_6_1.get(r[0], ()))]
    assert len(rows) > 200
    got = run_c(tmp_path, "#include <linux/bpf.h>", layout_probe(rows))
    assert compare_layout(rows, got) == []


def test_prog_info_gpl_compatible_bitfield_position() -> None:
    # in C: "__u32 ifindex; __u32 gpl_compatible:1; __u32 :31; __u64 netns_dev;"
    info = bsys.info.ProgInfoStruct(gpl_compatible=1)
    raw = bytes(info)
    ifindex_end = bsys.info.ProgInfoStruct.ifindex.offset + 4
    assert raw[ifindex_end] == 1 and raw.count(0) == len(raw) - 1


# ----------------------------------------------------------------------------- enums


ENUMS: list[tuple[str, str, type[enum.IntEnum]]] = [
    ("bpf_cmd", "BPF_", consts.Cmd),
    ("bpf_map_type", "BPF_MAP_TYPE_", consts.MapType),
    ("bpf_prog_type", "BPF_PROG_TYPE_", consts.ProgType),
    ("bpf_attach_type", "BPF_", consts.AttachType),
    ("bpf_link_type", "BPF_LINK_TYPE_", consts.LinkType),
    ("bpf_stats_type", "BPF_STATS_", consts.StatsType),
]


def enum_names(header_text: str, c_enum: str) -> list[str]:
    m = re.search(rf"enum\s+{c_enum}\s*\{{(.*?)\}};", header_text, re.S)
    assert m, f"enum {c_enum} not found"
    return [n for n in re.findall(r"^\s*(BPF_\w+)", m.group(1), re.M)]


def anonymous_enum_names(header_text: str, member: str) -> list[str]:
    """Names of the anonymous ``enum { ... }`` that contains ``member``."""
    for m in re.finditer(r"enum\s*\{(.*?)\};", header_text, re.S):
        names = re.findall(r"^\s*(BPF_\w+)", m.group(1), re.M)
        if member in names:
            return names
    raise AssertionError(f"no anonymous enum with {member}")


def check_enums(tmp: Path, header_text: str, include: str, exhaustive: bool) -> list[str]:
    wanted: list[tuple[str, type[enum.IntEnum], str]] = []
    for c_enum, prefix, py in ENUMS:
        wanted += [(n, py, n.removeprefix(prefix)) for n in enum_names(header_text, c_enum)]
    flag_enums = [(consts.MapFlags, "BPF_F_", "BPF_F_NO_PREALLOC"),
                  (consts.ElemFlags, "", "BPF_ANY")]
    for py, prefix, anchor in flag_enums:
        for n in anonymous_enum_names(header_text, anchor):
            short = n.removeprefix("BPF_F_") if py is consts.ElemFlags and n == "BPF_F_LOCK" \
                else n.removeprefix(prefix or "BPF_")
            wanted.append((n, py, short))  # type: ignore[arg-type]
    got = run_c(tmp, include, [print_value(n, n) for n, _, _ in wanted])
    problems = []
    for c_name, py, short in wanted:
        member = py.__members__.get(short)
        if member is None:
            problems.append(f"{py.__name__} lacks {short} ({c_name} = {got[c_name]})")
        elif int(member) != got[c_name]:
            problems.append(f"{py.__name__}.{short} = {int(member)}, kernel {got[c_name]}")
    if exhaustive:
        seen = {(py, short) for _, py, short in wanted}
        for _, _, py in ENUMS:
            problems += [f"{py.__name__}.{n} unknown to the kernel" for n in py.__members__
                         if (py, n) not in seen]
    return problems


def test_enums_match_running_kernel_btf(vmlinux_h: Path) -> None:
    text = vmlinux_h.read_text()
    problems = check_enums(vmlinux_h.parent, text, '#include "vmlinux.h"',
                           exhaustive=kernel_version() <= (6, 18))
    # a newer kernel may add values; each missing one is reported, none may disagree
    if kernel_version() > (6, 18):
        problems = [p for p in problems if "lacks" not in p]
    assert problems == []


def test_enums_match_uapi_header_6_1(tmp_path: Path) -> None:
    if not UAPI_BPF_H.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    problems = check_enums(tmp_path, UAPI_BPF_H.read_text(), "#include <linux/bpf.h>",
                           exhaustive=False)
    assert problems == []


MACRO_FLAGS: list[tuple[type[enum.IntFlag], str]] = [
    (consts.ProgFlags, "BPF_F_"),
    (consts.AttachFlags, "BPF_F_"),
    (consts.TestRunFlags, "BPF_F_TEST_"),
    (consts.QueryFlags, "BPF_F_QUERY_"),
]


def test_flag_macros_match_uapi_header(tmp_path: Path) -> None:
    """Flags the UAPI ``#define``s; those newer than the header on disk are not checked."""
    if not UAPI_BPF_H.exists():
        pytest.skip("no /usr/include/linux/bpf.h")
    body = []
    for py, prefix in MACRO_FLAGS:
        for name in py.__members__:
            c = prefix + name
            body += [f"#ifdef {c}", print_value(f"{py.__name__}.{name}", c), "#endif"]
    got = run_c(tmp_path, "#include <linux/bpf.h>", body)
    assert len(got) >= 13  # 6.1 defines 6 prog, 3 attach, 3 test-run and 1 query flag
    for key, value in got.items():
        cls_name, name = key.split(".")
        assert int(getattr(consts, cls_name)[name]) == value, key


def test_log_levels_match_kernel_meaning() -> None:
    # kernel/bpf/log.c: BPF_LOG_LEVEL1 1, BPF_LOG_LEVEL2 2, BPF_LOG_STATS 4, BPF_LOG_FIXED 8
    assert [int(x) for x in consts.LogLevel] == [1, 2, 4, 8]


# ----------------------------------------------------------------------------- perf, syscalls


def test_perf_event_attr_matches_uapi_header(tmp_path: Path) -> None:
    if not UAPI_PERF_H.exists():
        pytest.skip("no linux/perf_event.h")
    rows = [(n, o, s) for n, o, s in ctypes_fields(perf.PerfEventAttr)
            if n not in ("flags", "config3")]
    body = []
    for name, _, _ in rows:
        body.append(print_value(f"{name}|off",
                                f"__builtin_offsetof(struct perf_event_attr, {name})"))
        body.append(print_value(f"{name}|size",
                                f"sizeof(((struct perf_event_attr *)0)->{name})"))
    for c in ("PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_DISABLE", "PERF_EVENT_IOC_SET_BPF",
              "PERF_FLAG_FD_CLOEXEC", "PERF_TYPE_TRACEPOINT", "PERF_ATTR_SIZE_VER7"):
        body.append(print_value(c, c))
    got = run_c(tmp_path, "#include <linux/perf_event.h>", body)
    for name, off, size in rows:
        assert (off, size) == (got[f"{name}|off"], got[f"{name}|size"]), name
    assert perf.PerfEventAttr.config3.offset == got["PERF_ATTR_SIZE_VER7"]
    assert ctypes.sizeof(perf.PerfEventAttr) == got["PERF_ATTR_SIZE_VER7"] + 8  # VER8
    for c in ("PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_DISABLE", "PERF_EVENT_IOC_SET_BPF",
              "PERF_FLAG_FD_CLOEXEC", "PERF_TYPE_TRACEPOINT"):
        assert getattr(perf, c) == got[c], c


def test_syscall_numbers_of_this_machine(tmp_path: Path) -> None:
    got = run_c(tmp_path, "#include <sys/syscall.h>",
                [print_value("bpf", "SYS_bpf"),
                 print_value("perf_event_open", "SYS_perf_event_open")])
    for name, nr in got.items():
        assert bsys.syscall_number(name) == nr


def test_syscall_numbers_of_the_generic_table() -> None:
    hdr = Path("/usr/include/asm-generic/unistd.h")
    if not hdr.exists():
        pytest.skip("no asm-generic/unistd.h")
    text = hdr.read_text()
    for name in ("bpf", "perf_event_open"):
        m = re.search(rf"#define __NR_{name}\s+(\d+)", text)
        assert m
        for machine in ("aarch64", "riscv64"):
            assert bsys.syscall_number(name, machine) == int(m.group(1))


def test_unknown_architecture_is_a_typed_error() -> None:
    with pytest.raises(bsys.UnsupportedArchError) as ei:
        bsys.syscall_number("bpf", "pdp11")
    assert isinstance(ei.value, SyscallError)
    assert ei.value.errno == errno.ENOSYS and ei.value.machine == "pdp11"


# ----------------------------------------------------------------------------- FD


def test_fd_close_is_idempotent_and_closes_for_real() -> None:
    r, w = os.pipe()
    os.close(w)
    fd = bsys.FD(r)
    assert fd.fileno() == r and not fd.closed and repr(fd) == f"FD({r})"
    fd.close()
    fd.close()
    assert fd.closed and repr(fd) == "FD(closed)"
    with pytest.raises(OSError) as ei:
        os.fstat(r)
    assert ei.value.errno == errno.EBADF
    with pytest.raises(ValueError):
        _ = fd.fd


def test_fd_context_manager_dup_release() -> None:
    r, w = os.pipe()
    with bsys.FD(r) as fd, bsys.FD(w) as wfd:
        d = fd.dup()
        assert d.fd not in (r, w)
        os.write(wfd.fd, b"x")
        assert os.read(d.fd, 1) == b"x"  # same pipe
        assert not os.get_inheritable(d.fd)
        d.close()
        raw = wfd.release()
        assert wfd.closed and raw == w
        os.fstat(raw)  # still open: release() gave it away without closing
        os.close(raw)
    assert fd.closed


def test_fd_del_closes_and_warns() -> None:
    r, w = os.pipe()
    os.close(w)
    fd = bsys.FD(r)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del fd
    assert any(issubclass(c.category, ResourceWarning) for c in caught)
    with pytest.raises(OSError):
        os.fstat(r)


def test_fd_never_holds_descriptor_zero(tmp_path: Path) -> None:
    import sys as _sys

    code = ("import os, sys; os.close(0); r, w = os.pipe(); assert r == 0;"
            "from bpfdoctor.sys import FD; f = FD(r); print(f.fd);"
            "os.fstat(0)")
    p = subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and "Bad file descriptor" in p.stderr  # fd 0 was given up
    assert int(p.stdout.strip()) >= 3


def test_fdnum_and_invalid_fds() -> None:
    assert bsys.fdnum(5) == 5
    for bad in (-1,):
        with pytest.raises(ValueError):
            bsys.fdnum(bad)
    for bad_type in ("3", 3.0, True, None):
        with pytest.raises(TypeError):
            bsys.fdnum(bad_type)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bsys.FD(-2)


# ----------------------------------------------------------------------------- validation


def test_names_are_checked_not_truncated() -> None:
    assert bsys.encode_name("x" * 15) == b"x" * 15
    with pytest.raises(ValueError, match="15"):
        bsys.encode_name("x" * 16)
    with pytest.raises(ValueError, match="NUL"):
        bsys.encode_name("a\0b")


def test_prog_load_argument_checks_happen_before_the_syscall() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        bsys.prog_load(prog_type=bsys.ProgType.SOCKET_FILTER, insns=b"\0" * 12, license="GPL")
    with pytest.raises(ValueError, match="share one field"):
        bsys.prog_load(prog_type=bsys.ProgType.EXT, insns=b"\0" * 8, license="GPL",
                       attach_prog_fd=3, attach_btf_obj_fd=4)
    with pytest.raises(ValueError, match="func_info"):
        bsys.prog_load(prog_type=bsys.ProgType.SOCKET_FILTER, insns=b"\0" * 8,
                       license="GPL", func_info=b"\0" * 12)
    with pytest.raises(ValueError, match="log_level"):
        _log_buffer(0, 4096)
    with pytest.raises(ValueError):
        _log_buffer(1, 1 << 31)
    assert _log_buffer(1, 0) is None


def test_logged_error_truncation_flag() -> None:
    full = bsys.ProgLoadError(errno.EACCES, "BPF_PROG_LOAD", log="x\n", log_size=100,
                              log_level=1, log_true_size=3)
    assert not full.log_truncated and full.log_lines == ["x"]
    assert "EACCES" in str(full) and full.op == "BPF_PROG_LOAD"
    short = bsys.ProgLoadError(errno.ENOSPC, "BPF_PROG_LOAD", log="...", log_size=4,
                               log_level=1, log_true_size=900)
    assert short.log_truncated
    assert isinstance(bsys.BTFLoadSyscallError(errno.EINVAL, "BPF_BTF_LOAD"), SyscallError)


def test_cmd_op_names_and_coerce() -> None:
    assert bsys.Cmd.MAP_CREATE.op == "BPF_MAP_CREATE"
    assert bsys.Cmd(10) is bsys.Cmd.PROG_TEST_RUN  # the alias PROG_RUN is secondary
    assert bsys.MapType(19).name == "CGROUP_STORAGE"
    assert bsys.coerce(bsys.MapType, 27) is bsys.MapType.RINGBUF
    assert bsys.coerce(bsys.MapType, 4000) == 4000


def test_parse_cpu_list() -> None:
    assert bsys.parse_cpu_list("0") == [0]
    assert bsys.parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    with pytest.raises(ValueError):
        bsys.parse_cpu_list("3-1")


def test_possible_cpus_matches_sysfs_count() -> None:
    text = Path("/sys/devices/system/cpu/possible").read_text()
    # count independently: sum of range lengths
    total = 0
    for part in text.strip().split(","):
        a, _, b = part.partition("-")
        total += int(b or a) - int(a) + 1
    assert bsys.possible_cpus() == total
    assert total >= (os.cpu_count() or 1)


def test_tracepoint_id_rejects_path_tricks() -> None:
    with pytest.raises(bsys.TracefsError):
        bsys.tracepoint_id("..", "x")
    with pytest.raises(bsys.TracefsError):
        bsys.tracepoint_id("sched", "a/b")
