"""Externs without a kernel: what the ELF reader records for __kconfig/__ksym/kfunc externs,
the BTF the loader hands BPF_BTF_LOAD, libbpf's kconfig value rules, and resolution against a
fake kernel (modules and fd_array included, which this machine's kernel cannot show).

The expected .kconfig layout below is libbpf's: it is the layout of the map libbpf 1.1 creates
for extern_kconfig.bpf.c (``bpftool -d prog loadall`` prints "extern (kcfg) ... off N"); the
kernel tests compare the map bytes with libbpf's directly."""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfdoctor import btf as btfmod
from bpfdoctor import errors, load_collection_spec, read_collection_spec
from bpfdoctor.asm.instruction import PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL, PSEUDO_MAP_VALUE
from bpfdoctor.check import check_object
from bpfdoctor.externs import (
    DUMMY_KSYM,
    ExternDeclError,
    ExternResolutionError,
    KconfigValueError,
    KernelSources,
    apply_kconfig,
    kconfig_value,
    kernel_version_from,
    parse_u64,
    resolve_externs,
    sanitize_btf,
    scan_kallsyms,
    types_are_compat,
)
from bpfdoctor.loader import effective_max_entries, ringbuf_size
from bpfdoctor.spec import ExternKind, ExternSpec, KconfigType, MapKind, MapSpec
from bpfdoctor.sys import FD, MapFlags, MapType
from support.build import BUILD, compile_bpf, find_clang

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.skipif(find_clang() is None, reason="clang not installed")
NATIVE = sys.byteorder


# --------------------------------------------------------------------------- building objects


def vmlinux_h() -> Path:
    """build/tests/vmlinux.h, generated from the running kernel's BTF by bpftool (once)."""
    out = BUILD / "tests" / "vmlinux.h"
    if out.exists():
        return out
    bpftool = shutil.which("bpftool")
    if bpftool is None or not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("generating vmlinux.h needs bpftool and /sys/kernel/btf/vmlinux")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("w") as f:
        subprocess.run([bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format",
                        "c"], stdout=f, check=True)
    os.replace(tmp, out)
    return out


@functools.cache
def build(name: str, *defines: str) -> Path:
    """tests/data/<name>.bpf.c compiled with ``-D<define>`` for each define (cached per
    process: compile_bpf does not cache builds with extra flags)."""
    extra = [f"-D{d}" for d in defines]
    if name == "extern_typed":
        extra += ["-I", str(vmlinux_h().parent)]
    out = BUILD / "tests" / ".".join([name, *defines, "bpf.o"])
    return compile_bpf(DATA / f"{name}.bpf.c", out, extra=extra or None)


# --------------------------------------------------------------------------- the ELF reader

KCONFIG_LAYOUT = {  # name: (offset, size), libbpf's
    "CONFIG_ILLEGAL_POINTER_VALUE": (0, 8), "CONFIG_BPF": (8, 4),
    "CONFIG_BPFDOCTOR_NOT_AN_OPTION": (12, 4), "CONFIG_HZ": (16, 4),
    "LINUX_KERNEL_VERSION": (20, 4), "LINUX_NOT_A_VIRTUAL_VALUE": (24, 4),
    "CONFIG_BPF_JIT": (28, 1), "CONFIG_BPF_SYSCALL": (29, 1), "LINUX_HAS_BPF_COOKIE": (30, 1),
    "LINUX_HAS_SYSCALL_WRAPPER": (31, 1), "CONFIG_LOCALVERSION": (32, 8),
}


def test_kconfig_externs_and_layout() -> None:
    spec = load_collection_spec(build("extern_kconfig"))
    assert list(spec.externs) == list(KCONFIG_LAYOUT)  # libbpf's order too
    for name, (off, size) in KCONFIG_LAYOUT.items():
        e = spec.externs[name]
        assert e.kind == ExternKind.KCONFIG and (e.offset, e.size) == (off, size), name
    ext = spec.externs
    assert ext["CONFIG_HZ"].weak is False and ext["CONFIG_BPF_SYSCALL"].weak is True
    assert ext["CONFIG_BPF"].kconfig_type == KconfigType.TRISTATE
    assert ext["CONFIG_BPF_SYSCALL"].kconfig_type == KconfigType.BOOL
    assert ext["CONFIG_LOCALVERSION"].kconfig_type == KconfigType.CHAR_ARRAY
    assert ext["CONFIG_BPF_JIT"].kconfig_type == KconfigType.CHAR
    assert ext["CONFIG_HZ"].signed and not ext["LINUX_KERNEL_VERSION"].signed
    m = spec.maps[".kconfig"]
    assert (m.kind, m.type, m.key_size, m.value_size, m.max_entries) == \
        (MapKind.KCONFIG, MapType.ARRAY, 4, 40, 1)
    assert m.flags == MapFlags.RDONLY_PROG | MapFlags.MMAPABLE and m.freeze
    assert m.kernel_name == "extern_.kconfig"  # libbpf: 7 chars of the object name
    assert spec.btf is not None and spec.btf.name_of(m.value_type_id) == ".kconfig"


def test_kconfig_reads_are_kconfig_map_loads() -> None:
    spec = load_collection_spec(build("extern_kconfig"))
    loads = [i for i in spec.programs["hz"].instructions if i.is_ld_imm64]
    assert len(loads) == 1
    assert (loads[0].src, loads[0].reference, loads[0].imm_hi) == \
        (PSEUDO_MAP_VALUE, ".kconfig", KCONFIG_LAYOUT["CONFIG_HZ"][0])
    assert spec.programs["hz"].maps_used == [".kconfig"]
    assert spec.programs["hz"].externs_used == []


def test_ksym_and_kfunc_references() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    ext = spec.externs
    assert ext["bpf_iter_num_new"].kind == ExternKind.KFUNC
    assert spec.btf is not None
    assert spec.btf.kind_of(ext["bpf_iter_num_new"].type_id) == btfmod.Kind.FUNC_PROTO
    assert ext["schedule"].kind == ExternKind.KSYM and not ext["schedule"].typed
    assert ext["bpfdoctor_no_such_kfunc"].weak and not ext["schedule"].weak
    calls = [i for i in spec.programs["sum_to_ten"].instructions if i.is_kfunc_call]
    assert spec.programs["sum_to_ten"].externs_used == [
        "bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"]
    assert {c.reference for c in calls} == set(spec.programs["sum_to_ten"].externs_used)
    assert all((c.src, c.imm, c.off) == (PSEUDO_KFUNC_CALL, 0, 0) for c in calls)
    loads = [i for i in spec.programs["symbol_address"].instructions if i.is_ld_imm64]
    assert {(i.reference, i.src, i.imm) for i in loads} == {
        ("schedule", 0, 0), ("bpfdoctor_no_such_symbol", 0, 0)}
    assert spec.programs["weak_kfunc_guarded"].externs_used == ["bpfdoctor_no_such_kfunc"]


def test_typed_ksym_references() -> None:
    spec = load_collection_spec(build("extern_typed"))
    rq = spec.externs["runqueues"]
    assert rq.typed and spec.btf is not None and spec.btf.format(rq.type_id) == "struct rq"
    loads = [i for i in spec.programs["this_cpu_rq"].instructions if i.is_ld_imm64]
    assert {(i.reference, i.src) for i in loads} == {("runqueues", PSEUDO_BTF_ID),
                                                     ("bpf_prog_active", PSEUDO_BTF_ID)}


def test_flavored_kfunc_essential_name() -> None:
    e = ExternSpec("bpf_task_acquire___v2", ExternKind.KFUNC, 1)
    assert e.essential_name == "bpf_task_acquire"
    assert ExternSpec("a___", ExternKind.KFUNC, 1).essential_name == "a___"
    # libbpf's flavor separator is "___" between two non-underscores
    assert ExternSpec("x____y", ExternKind.KFUNC, 1).essential_name == "x____y"
    assert ExternSpec("a___b___c", ExternKind.KFUNC, 1).essential_name == "a___b"


def test_undefined_plain_function_is_a_relocation_error() -> None:
    with pytest.raises(errors.RelocationError) as ei:
        load_collection_spec(build("extern_errors", "PLAIN_EXTERN"))
    e = ei.value
    assert (e.symbol, e.section, e.program, e.insn) == \
        ("defined_elsewhere", "socket", "uses_extern", 1)
    assert "not defined" in str(e) and "extern_errors" in str(e)


def test_unsupported_kconfig_type_is_an_object_error() -> None:
    obj = build("extern_errors", "BAD_KCONFIG_TYPE")
    with pytest.raises(ExternDeclError) as ei:
        load_collection_spec(obj)
    assert (ei.value.symbol, ei.value.section) == ("CONFIG_HZ", ".kconfig")
    assert "struct pair" in str(ei.value)
    result = check_object(obj)  # reported, not raised
    assert isinstance(result.error, ExternDeclError) and not result.programs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_extern_objects_only_raise_typed_errors(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["extern_kconfig", "extern_ksyms"]))
    raw = bytearray(build(name).read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        read_collection_spec(bytes(raw), "mutated.o")
    except errors.BpfDoctorError:
        pass


def test_spec_copy_keeps_externs_apart() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    dup = spec.copy()
    dup.externs["schedule"].weak = True
    assert spec.externs["schedule"].weak is False


# --------------------------------------------------------------------------- BTF for the kernel


def _datasec(spec: btfmod.Spec, name: str) -> btfmod.Datasec:
    t = spec.type_by_id(spec.find_one(name, btfmod.Datasec))
    assert isinstance(t, btfmod.Datasec)
    return t


def test_sanitized_ksyms_datasec() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    assert spec.btf is not None
    before = btfmod.marshal(spec.btf)
    out = sanitize_btf(spec.btf, spec.externs)
    assert btfmod.marshal(spec.btf) == before, "the object's own BTF must stay as it was"
    ds = _datasec(out, ".ksyms")
    assert [(v.offset, v.size) for v in ds.vars] == [(4 * i, 4) for i in range(len(ds.vars))]
    assert ds.size == 4 * len(ds.vars)
    dummy = out.find_one(DUMMY_KSYM, btfmod.Var)
    for v in ds.vars:
        var = out.type_by_id(v.type)
        assert isinstance(var, btfmod.Var) and var.linkage == btfmod.Linkage.GLOBAL
        assert v.type == dummy or out.name_of(v.type) in ("schedule", "bpfdoctor_no_such_symbol")
    for name in ("bpf_iter_num_new", "bpfdoctor_no_such_kfunc"):
        fn = out.type_by_id(out.find_one(name, btfmod.Func))
        assert isinstance(fn, btfmod.Func) and fn.linkage == btfmod.Linkage.GLOBAL
        proto = out.type_by_id(fn.type)
        assert isinstance(proto, btfmod.FuncProto) and all(p.name for p in proto.params)
    btfmod.parse(btfmod.marshal(out))  # well-formed, every reference valid


def test_sanitized_kconfig_datasec() -> None:
    spec = load_collection_spec(build("extern_kconfig"))
    assert spec.btf is not None
    out = sanitize_btf(spec.btf, spec.externs)
    ds = _datasec(out, ".kconfig")
    assert ds.size == 40
    got = {out.name_of(v.type): (v.offset, v.size) for v in ds.vars}
    assert got == KCONFIG_LAYOUT
    assert [v.offset for v in ds.vars] == sorted(v.offset for v in ds.vars)
    assert all(getattr(out.type_by_id(v.type), "linkage", None) == btfmod.Linkage.GLOBAL
               for v in ds.vars)


def test_sanitize_without_externs_is_the_identity() -> None:
    spec = load_collection_spec(compile_bpf(DATA / "loader_basic.bpf.c",
                                            BUILD / "tests" / "loader_basic.bpf.o"))
    assert spec.btf is not None and sanitize_btf(spec.btf, spec.externs) is spec.btf


# --------------------------------------------------------------------------- kconfig values


def _kc(t: KconfigType, size: int, signed: bool = False, name: str = "CONFIG_X",
        offset: int = 0) -> ExternSpec:
    return ExternSpec(name, ExternKind.KCONFIG, 1, size=size, align=min(size, 8),
                      kconfig_type=t, signed=signed, offset=offset)


def _n(v: int, size: int) -> bytes:
    return v.to_bytes(size, NATIVE)


@pytest.mark.parametrize(("ext", "value", "want"), [
    (_kc(KconfigType.BOOL, 1), b"y", b"\1"),
    (_kc(KconfigType.BOOL, 1), b"n", b"\0"),
    (_kc(KconfigType.TRISTATE, 4), b"y", _n(1, 4)),
    (_kc(KconfigType.TRISTATE, 4), b"m", _n(2, 4)),
    (_kc(KconfigType.TRISTATE, 4), b"n", _n(0, 4)),
    (_kc(KconfigType.CHAR, 1), b"m", b"m"),
    (_kc(KconfigType.CHAR, 1), b"65", b"A"),
    (_kc(KconfigType.INT, 4, signed=True), b"250", _n(250, 4)),
    (_kc(KconfigType.INT, 4, signed=True), b"-5", _n(2**32 - 5, 4)),
    (_kc(KconfigType.INT, 8), b"0xdead000000000000", _n(0xdead000000000000, 8)),
    (_kc(KconfigType.INT, 2), b"010", _n(8, 2)),
    (_kc(KconfigType.INT, 4), b"yes", None),  # first character decides: a tristate
    (_kc(KconfigType.CHAR_ARRAY, 8), b'"-fc-v782"', b"-fc-v78\0"),  # truncated like libbpf
    (_kc(KconfigType.CHAR_ARRAY, 4), b'""', b"\0"),
])
def test_kconfig_values(ext: ExternSpec, value: bytes, want: bytes | None) -> None:
    if want is None:
        with pytest.raises(KconfigValueError):
            kconfig_value(ext, value)
    else:
        assert kconfig_value(ext, value) == want


@pytest.mark.parametrize(("ext", "value", "code"), [
    (_kc(KconfigType.BOOL, 1), b"m", errno.EINVAL),
    (_kc(KconfigType.BOOL, 1), b"1", errno.EINVAL),  # numbers need an integer type
    (_kc(KconfigType.INT, 1, signed=True), b"200", errno.ERANGE),
    (_kc(KconfigType.INT, 4), b"-1", errno.ERANGE),
    (_kc(KconfigType.INT, 4), b"12abc", errno.EINVAL),
    (_kc(KconfigType.INT, 4), b'"str"', errno.EINVAL),
    (_kc(KconfigType.CHAR_ARRAY, 4), b'"open', errno.EINVAL),
    (_kc(KconfigType.TRISTATE, 4), b"3", errno.EINVAL),
])
def test_kconfig_values_libbpf_refuses(ext: ExternSpec, value: bytes, code: int) -> None:
    with pytest.raises(KconfigValueError) as ei:
        kconfig_value(ext, value)
    assert ei.value.errno == code


@pytest.mark.parametrize(("text", "want"), [
    (b"0", 0), (b"42", 42), (b"0x1F", 31), (b"017", 15), (b" 7", 7), (b"+3", 3),
    (b"-1", 2**64 - 1), (b"18446744073709551615", 2**64 - 1),
])
def test_parse_u64_like_strtoull(text: bytes, want: int) -> None:
    assert parse_u64(text) == want


@pytest.mark.parametrize("text", [b"", b"0x", b"08", b"1 ", b"abc", b"18446744073709551616"])
def test_parse_u64_rejects(text: bytes) -> None:
    with pytest.raises(KconfigValueError):
        parse_u64(text)


def test_apply_kconfig_lines() -> None:
    hz, tri = _kc(KconfigType.INT, 4, name="CONFIG_HZ"), \
        _kc(KconfigType.TRISTATE, 4, name="CONFIG_T", offset=4)
    externs = {e.name: e for e in (hz, tri)}
    data, done = bytearray(8), set()
    apply_kconfig(b"# CONFIG_T is not set\nCONFIG_HZ=100\nCONFIG_HZ=300\nCONFIG_OTHER=junk\n"
                  b"CONFIG_T=m\n", externs, data, done)
    assert done == {"CONFIG_HZ", "CONFIG_T"}
    assert data == _n(100, 4) + _n(2, 4)  # the first value wins
    for bad in (b"CONFIG_HZ\n", b"CONFIG_HZ=\n"):
        with pytest.raises(KconfigValueError):
            apply_kconfig(bad, externs, bytearray(8), set())
    with pytest.raises(KconfigValueError) as ei:
        apply_kconfig(b"CONFIG_HZ=y\n", externs, bytearray(8), set())
    assert ei.value.extern == "CONFIG_HZ"


@pytest.mark.parametrize(("release", "version", "signature", "want"), [
    ("6.18.44-fc-v782", "#1 SMP", "", (6, 18, 44)),
    ("5.4.0-42-generic", "#46-Ubuntu SMP", "Ubuntu 5.4.0-42.46-generic 5.4.44\n", (5, 4, 44)),
    ("5.10.0-26-amd64", "#1 SMP Debian 5.10.197-1 (2023-09-29)", "", (5, 10, 197)),
    ("4.19.300", "#1", "", (4, 19, 255)),  # the patch level saturates
    ("6.8", "#1", "", None),  # libbpf wants three numbers
])
def test_kernel_version_rules(release: str, version: str, signature: str,
                              want: tuple[int, int, int] | None) -> None:
    code = 0 if want is None else (want[0] << 16) + (want[1] << 8) + want[2]
    assert kernel_version_from(release, version, signature) == code


# --------------------------------------------------------------------------- type compatibility


def _types() -> tuple[btfmod.Spec, dict[str, int]]:
    s = btfmod.Spec()
    ids: dict[str, int] = {}
    ids["int"] = s.add(btfmod.Int("int", 4, btfmod.SIGNED, bits=32))
    ids["long"] = s.add(btfmod.Int("long", 8, btfmod.SIGNED, bits=64))
    ids["bitint"] = s.add(btfmod.Int("int", 4, offset=3, bits=5))
    ids["task"] = s.add(btfmod.Struct("task_struct", 8))
    ids["fwd"] = s.add(btfmod.Fwd("task_struct"))
    ids["union"] = s.add(btfmod.Union("task_struct", 8))
    ids["enum"] = s.add(btfmod.Enum("e", 4))
    ids["enum64"] = s.add(btfmod.Enum64("e", 8))
    ids["ptask"] = s.add(btfmod.Pointer(type=ids["task"]))
    ids["pfwd"] = s.add(btfmod.Pointer(type=ids["fwd"]))
    ids["cptask"] = s.add(btfmod.Const(type=ids["ptask"]))
    ids["f1"] = s.add(btfmod.FuncProto(ids["ptask"], [btfmod.Param("p", ids["ptask"])]))
    ids["f1c"] = s.add(btfmod.FuncProto(ids["ptask"], [btfmod.Param("", ids["cptask"])]))
    ids["f1fwd"] = s.add(btfmod.FuncProto(ids["ptask"], [btfmod.Param("p", ids["pfwd"])]))
    ids["f2"] = s.add(btfmod.FuncProto(ids["ptask"], [btfmod.Param("p", ids["ptask"]),
                                                      btfmod.Param("q", ids["int"])]))
    ids["fret"] = s.add(btfmod.FuncProto(ids["long"], [btfmod.Param("p", ids["ptask"])]))
    return s, ids


@pytest.mark.parametrize(("a", "b", "want"), [
    ("int", "long", True), ("int", "bitint", False), ("task", "fwd", False),
    ("task", "union", False), ("enum", "enum64", True),
    ("ptask", "cptask", False),  # libbpf compares the kinds before skipping modifiers...
    ("f1", "f1c", True),  # ...but parameters only after
    ("ptask", "pfwd", False), ("f1", "f1fwd", False),
    ("f1", "f2", False), ("f1", "fret", False),
])
def test_types_are_compat(a: str, b: str, want: bool) -> None:
    s, ids = _types()
    assert types_are_compat(s, ids[a], s, ids[b]) is want
    assert types_are_compat(s, ids[b], s, ids[a]) is want


# --------------------------------------------------------------------------- resolution


class FakeKernel(KernelSources):
    """A kernel whose vmlinux has bpf_rcu_read_lock/unlock and whose module 'bpf_testmod'
    has the number iterator kfuncs and a variable 'testmod_counter'."""

    def __init__(self, kallsyms: str = "", config: bytes | None = b"CONFIG_HZ=100\n", *,
                 rcu: bool = True) -> None:
        self.lines = kallsyms
        self.config = config
        self.fds: list[FD] = []
        vm = btfmod.Spec()
        self.int_id = vm.add(btfmod.Int("int", 4, btfmod.SIGNED, bits=32))
        void_proto = vm.add(btfmod.FuncProto(0))
        if rcu:
            vm.add(btfmod.Func("bpf_rcu_read_lock", void_proto))
            vm.add(btfmod.Func("bpf_rcu_read_unlock", void_proto))
        self.vm = btfmod.parse(btfmod.marshal(vm))
        mod = btfmod.Spec(base=self.vm)
        it = mod.add(btfmod.Struct("bpf_iter_num", 8))
        pit = mod.add(btfmod.Pointer(type=it))
        pint = mod.add(btfmod.Pointer(type=self.int_id))
        new = mod.add(btfmod.FuncProto(self.int_id, [btfmod.Param("it", pit),
                                                     btfmod.Param("start", self.int_id),
                                                     btfmod.Param("end", self.int_id)]))
        self.new_id = mod.add(btfmod.Func("bpf_iter_num_new", new))
        mod.add(btfmod.Func("bpf_iter_num_next", mod.add(
            btfmod.FuncProto(pint, [btfmod.Param("it", pit)]))))
        mod.add(btfmod.Func("bpf_iter_num_destroy", mod.add(
            btfmod.FuncProto(0, [btfmod.Param("it", pit)]))))
        self.var_id = mod.add(btfmod.Var("testmod_counter", self.int_id, 1))
        self.mod = btfmod.parse(btfmod.marshal(mod), base=self.vm)

    def kconfig(self) -> tuple[str, bytes]:
        if self.config is None:
            raise FileNotFoundError(errno.ENOENT, "No such file", "/proc/config.gz")
        return "/fake/config", self.config

    def kallsyms(self, names: set[str]) -> dict[str, list[int]]:
        return scan_kallsyms(self.lines.encode(), names)

    def vmlinux(self) -> btfmod.Spec:
        return self.vm

    def modules(self) -> list[str]:
        return ["bpf_testmod"]

    def module(self, name: str) -> btfmod.Spec:
        return self.mod

    def module_btf_fd(self, name: str) -> FD:
        fd = FD(os.open(os.devnull, os.O_RDONLY))
        self.fds.append(fd)
        return fd

    def kernel_version(self) -> int:
        return 0x060000

    def has_bpf_cookie(self) -> bool:
        return True

    def has_syscall_wrapper(self) -> bool:
        return False


KALLSYMS = "ffffffff81000000 T schedule\nffffffff81000010 t other\n"


def test_module_kfuncs_use_fd_array() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    kernel = FakeKernel(KALLSYMS)
    res = resolve_externs(spec, kernel=kernel)
    try:
        new = res.values["bpf_iter_num_new"]
        assert (new.resolved, new.module, new.btf_id) == (True, "bpf_testmod", kernel.new_id)
        assert len(kernel.fds) == 1, "one fd per module, shared by its kfuncs"
        assert res.fd_array == [0, kernel.fds[0].fd] and new.fd_array_index == 1
        call = next(i for i in spec.programs["sum_to_ten"].instructions
                    if i.reference == "bpf_iter_num_new")
        out = res.instruction(call)
        assert (out.src, out.imm, out.off) == (PSEUDO_KFUNC_CALL, kernel.new_id, 1)
        lock = next(i for i in spec.programs["rcu_section"].instructions if i.is_kfunc_call)
        assert res.instruction(lock).off == 0  # vmlinux kfuncs need no fd_array slot
        assert res.values["schedule"].address == 0xffffffff81000000
        weak = res.values["bpfdoctor_no_such_kfunc"]
        assert not weak.resolved
        unguarded = next(i for i in spec.programs["weak_kfunc_unguarded"].instructions
                         if i.is_kfunc_call)
        assert (res.instruction(unguarded).imm, res.instruction(unguarded).off) == (0, 0)
        assert any("bpfdoctor_no_such_kfunc" in w for w in res.warnings)
    finally:
        res.close()
    assert all(fd.closed for fd in kernel.fds)


def test_untyped_ksym_instruction_carries_the_address() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    res = resolve_externs(spec, kernel=FakeKernel(KALLSYMS))
    try:
        load = next(i for i in spec.programs["symbol_address"].instructions
                    if i.reference == "schedule")
        out = res.instruction(load)
        assert (out.src, out.imm & 0xFFFFFFFFFFFFFFFF) == (0, 0xffffffff81000000)
    finally:
        res.close()


def test_missing_strong_ksym_is_esrch() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=FakeKernel("ffffffff81000010 t other\n"))
    e = ei.value
    assert (e.extern, e.errno) == ("schedule", errno.ESRCH)
    assert "symbol_address" in str(e) and e.searched == ["/proc/kallsyms"]


def test_ambiguous_ksym_is_einval() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    lines = KALLSYMS + "ffffffff82000000 T schedule\n"
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=FakeKernel(lines))
    assert (ei.value.extern, ei.value.errno) == ("schedule", errno.EINVAL)


def test_unreadable_kallsyms_is_einval() -> None:
    spec = load_collection_spec(build("extern_ksyms"))
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=FakeKernel("garbage schedule\n"))
    assert ei.value.errno == errno.EINVAL


def test_scan_kallsyms() -> None:
    text = (b"ffffffff81000000 T schedule\nffffffff81000010 t schedule_tail\n"
            b"ffffffffc0000000 t helper\t[mod_a]\nffffffffc0001000 t helper\t[mod_b]\n"
            b"ffffffff81000020 T xschedule\n")
    got = scan_kallsyms(text, ["schedule", "helper", "schedule_tail", "absent"])
    assert got == {"schedule": [0xffffffff81000000], "schedule_tail": [0xffffffff81000010],
                   "helper": [0xffffffffc0000000, 0xffffffffc0001000]}


def test_module_fds_closed_when_resolution_fails() -> None:
    # the module kfuncs resolve first (names sort before bpf_rcu_*), opening the module's
    # BTF fd; then the missing strong rcu kfunc fails the whole resolution
    spec = load_collection_spec(build("extern_ksyms"))
    kernel = FakeKernel(KALLSYMS, rcu=False)
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=kernel)
    assert (ei.value.errno, ei.value.extern) == (errno.EINVAL, "bpf_rcu_read_lock")
    assert "bpf_testmod" in ei.value.searched
    assert kernel.fds and all(fd.closed for fd in kernel.fds)


def test_kconfig_resolution_with_extra_config() -> None:
    spec = load_collection_spec(build("extern_kconfig"))
    extra = ("CONFIG_HZ=1000\nCONFIG_BPF=m\nCONFIG_LOCALVERSION=\"-x\"\n"
             "CONFIG_ILLEGAL_POINTER_VALUE=0x10\n")
    res = resolve_externs(spec, kconfig=extra, kernel=FakeKernel(config=b"CONFIG_HZ=1\n"))
    v = res.values
    assert v["CONFIG_HZ"].value == _n(1000, 4) and v["CONFIG_HZ"].source == "LoadOptions.kconfig"
    assert v["CONFIG_BPF"].value == _n(2, 4)
    assert v["CONFIG_LOCALVERSION"].value == b"-x" + bytes(6)
    assert v["LINUX_KERNEL_VERSION"].value == _n(0x060000, 4)
    assert v["LINUX_HAS_BPF_COOKIE"].value == b"\1"
    assert v["LINUX_NOT_A_VIRTUAL_VALUE"].resolved  # weak unknown LINUX_*: libbpf sets 0
    assert not v["CONFIG_BPF_SYSCALL"].resolved and v["CONFIG_BPF_SYSCALL"].value == b"\0"
    data = res.kconfig_data
    assert len(data) == 40 and data[16:20] == _n(1000, 4)


def test_kconfig_unreadable_config_is_einval() -> None:
    spec = load_collection_spec(build("extern_kconfig"))
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=FakeKernel(config=None))
    assert ei.value.errno == errno.EINVAL and "/proc/config.gz" in str(ei.value)


def test_missing_strong_kconfig_is_esrch() -> None:
    spec = load_collection_spec(build("extern_errors", "MISSING_KCONFIG"))
    with pytest.raises(ExternResolutionError) as ei:
        resolve_externs(spec, kernel=FakeKernel())
    e = ei.value
    assert (e.extern, e.errno, e.searched) == \
        ("CONFIG_BPFDOCTOR_NOT_AN_OPTION", errno.ESRCH, ["/fake/config"])


def test_module_variable_ld_imm64_carries_the_module_fd() -> None:
    spec = load_collection_spec(build("extern_typed"))
    ext = spec.externs["bpf_prog_active"]
    ext.name = "testmod_counter"  # a typed int variable, as the fake module has
    spec.externs = {"testmod_counter": ext}
    kernel = FakeKernel()
    res = resolve_externs(spec, kernel=kernel)
    try:
        r = res.values["testmod_counter"]
        assert (r.module, r.btf_id, r.btf_obj_fd) == ("bpf_testmod", kernel.var_id,
                                                      kernel.fds[0].fd)
        assert res.fd_array == []  # only kfunc calls index fd_array
        load = next(i for i in spec.programs["this_cpu_rq"].instructions
                    if i.reference == "bpf_prog_active")
        out = res.instruction(replace(load, reference="testmod_counter"))
        assert (out.src, out.imm_lo, out.imm_hi) == (PSEUDO_BTF_ID, kernel.var_id,
                                                     kernel.fds[0].fd)
    finally:
        res.close()


# --------------------------------------------------------------------------- map sizes


@pytest.mark.parametrize(("n", "want"), [
    (0, 0),  # libbpf leaves 0 for the kernel to refuse
    (1, 4096), (4096, 4096), (5000, 8192), (8192, 8192), (3 * 4096, 4 * 4096),
    (2**31, 2**31), (2**31 + 1, 2**31 + 1),  # cannot round within 32 bits: unchanged
])
def test_ringbuf_size_like_libbpf(n: int, want: int) -> None:
    if os.sysconf("SC_PAGE_SIZE") != 4096:
        pytest.skip("cases written for 4 KiB pages")
    assert ringbuf_size(n) == want


def test_effective_max_entries() -> None:
    rb = MapSpec("rb", MapType.RINGBUF, 0, 0, 5000)
    assert effective_max_entries(rb) == ringbuf_size(5000)
    perf = MapSpec("perf", MapType.PERF_EVENT_ARRAY, 4, 4, 0)
    assert effective_max_entries(perf) >= 1
    perf.max_entries = 3
    assert effective_max_entries(perf) == 3
    assert effective_max_entries(MapSpec("h", MapType.HASH, 4, 4, 0)) == 0
