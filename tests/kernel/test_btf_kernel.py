"""bpfdoctor.btf against the kernel's BTF checker (BPF_BTF_LOAD) and the kernel's own BTF.

The kernel is the oracle here: what we marshal must load, must come back byte for byte from
BPF_OBJ_GET_INFO_BY_FD, and the vmlinux BTF the kernel hands out by id must be what we parse
from sysfs.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from bpfdoctor import btf, sys
from bpfdoctor.btf import fixup_datasecs, kernel, marshal, parse
from bpfdoctor.errors import SyscallError
from support.build import compile_bpf

SAMPLE_C = Path(__file__).resolve().parents[1] / "data" / "btf_sample.bpf.c"


class _Object:
    """.BTF, section sizes and object symbols of the sample, read with pyelftools."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            elf = ELFFile(f)
            self.btf = elf.get_section_by_name(".BTF").data()
            self.section_sizes = {s.name: s["sh_size"] for s in elf.iter_sections()}
            self.symbols = {s.name: s["st_value"]
                            for s in elf.get_section_by_name(".symtab").iter_symbols()
                            if s["st_info"]["type"] == "STT_OBJECT"}


@pytest.fixture(scope="module")
def sample() -> _Object:
    return _Object(compile_bpf(SAMPLE_C))


def _load(data: bytes) -> sys.FD:
    return sys.btf_load(data, log_level=1, log_size=1 << 16)


def _roundtrip_through_kernel(data: bytes) -> bytes:
    """Load ``data`` and read back what the kernel stored."""
    with _load(data) as fd:
        info = sys.btf_info(fd)
        assert not info.kernel_btf
        assert info.btf_size == len(data)
        return sys.btf_data(fd)


def test_object_btf_loads_after_datasec_fixup(sample: _Object) -> None:
    spec = parse(sample.btf)
    # As clang wrote it, the DATASECs have size 0: the kernel refuses that.
    with pytest.raises(sys.BTFLoadSyscallError) as exc:
        _load(marshal(spec))
    assert exc.value.errno == errno.EINVAL
    assert exc.value.log.rstrip().endswith("size == 0")
    assert "DATASEC" in exc.value.log_lines[-1]
    fixup_datasecs(spec, sample.section_sizes, sample.symbols)
    data = marshal(spec)
    assert _roundtrip_through_kernel(data) == data


def test_modified_object_btf_loads(sample: _Object) -> None:
    spec = parse(sample.btf)
    fixup_datasecs(spec, sample.section_sizes, sample.symbols)
    sid = spec.find("sample_core", btf.Struct)[0]
    core = spec.types[sid]
    assert isinstance(core, btf.Struct)
    core.name = "sample_core_renamed"
    td = spec.add(btf.Typedef("sample_core_t", sid))
    back = parse(_roundtrip_through_kernel(marshal(spec)))
    assert back.find("sample_core_renamed", btf.Struct) == [sid]
    assert back.format(td) == "sample_core_t"
    assert back.sizeof(td) == 8


def _every_kind() -> btf.Spec:
    s = btf.Spec()
    i32 = s.add(btf.Int("int", 4, btf.SIGNED, 0, 32))
    u8 = s.add(btf.Int("unsigned char", 1, btf.IntEncoding.NONE, 0, 8))
    s.add(btf.Int("_Bool", 1, btf.BOOL, 0, 8))
    arr = s.add(btf.Array(u8, i32, 16))
    fwd = s.add(btf.Fwd("opaque"))
    pfwd = s.add(btf.Pointer("", fwd))
    node = s.add(btf.Struct("node", 40, [
        btf.Member("flags", i32, 0, 3), btf.Member("more", i32, 3, 5),
        btf.Member("opaque", pfwd, 64), btf.Member("name", arr, 128),
        btf.Member("self", 0, 256)]))
    pnode = s.add(btf.Pointer("", node))
    n = s.types[node]
    assert isinstance(n, btf.Struct)
    n.members[-1].type = pnode
    s.add(btf.Union("u", 8, [btf.Member("i", i32, 0), btf.Member("p", pnode, 0)]))
    s.add(btf.Enum("e", 4, [btf.EnumValue("A", -1), btf.EnumValue("B", 7)], signed=True))
    s.add(btf.Enum64("e64", 8, [btf.EnumValue("BIG", 1 << 40)]))
    cv = s.add(btf.Volatile("", i32))
    c = s.add(btf.Const("", cv))
    s.add(btf.Restrict("", pnode))
    td = s.add(btf.Typedef("node_t", node))
    tag = s.add(btf.TypeTag("user", i32))
    ptag = s.add(btf.Pointer("", tag))
    proto = s.add(btf.FuncProto(i32, [btf.Param("n", pnode), btf.Param("x", c),
                                      btf.Param("u", ptag)]))
    fn = s.add(btf.Func("walk", proto, btf.Linkage.GLOBAL))
    s.add(btf.DeclTag("hot", fn, -1))
    s.add(btf.DeclTag("arg", fn, 0))
    s.add(btf.Float("double", 8))
    var = s.add(btf.Var("counter", i32, btf.Linkage.GLOBAL))
    var2 = s.add(btf.Var("nodes", td, btf.Linkage.STATIC))
    s.add(btf.Datasec(".data", 48, [btf.VarSecinfo(var, 0, 4), btf.VarSecinfo(var2, 8, 40)]))
    return s


def test_every_kind_passes_the_kernel_checker() -> None:
    data = marshal(_every_kind())
    assert _roundtrip_through_kernel(data) == data


def test_kernel_checker_agrees_a_broken_type_is_broken() -> None:
    """A member past the end of its struct is well-formed for the parser, but the kernel's
    checker refuses it: the blob reaching the kernel is what we built, not something else."""
    s = btf.Spec()
    i32 = s.add(btf.Int("int", 4, btf.SIGNED, 0, 32))
    s.add(btf.Struct("bad", 4, [btf.Member("x", i32, 64)]))
    with pytest.raises(sys.BTFLoadSyscallError) as exc:
        _load(marshal(s))
    assert exc.value.errno == errno.EINVAL
    assert "Member bits_offset exceeds its struct size" in exc.value.log


def _kernel_btf_fds() -> Iterator[sys.FD]:
    for btf_id in sys.btf_ids():
        try:
            yield sys.btf_get_fd_by_id(btf_id)
        except SyscallError as exc:  # unloaded between listing and opening
            if exc.errno != errno.ENOENT:
                raise


def test_vmlinux_from_sysfs_is_the_kernels() -> None:
    spec = kernel.vmlinux()
    for fd in _kernel_btf_fds():
        with fd:
            info = sys.btf_info(fd)
            if info.kernel_btf and info.name == "vmlinux":
                assert sys.btf_data(fd) == marshal(spec)
                return
    pytest.fail("the kernel lists no vmlinux BTF object")
