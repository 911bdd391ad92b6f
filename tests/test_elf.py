"""The ELF reader on real clang output: maps, global data, linking, line info, bad input.
No kernel needed."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfdoctor import errors, load_collection_spec, read_collection_spec
from bpfdoctor.asm import decode
from bpfdoctor.sections import match_section, suggest_section
from bpfdoctor.spec import MapKind
from bpfdoctor.sys import MapFlags, MapType, ProgType
from support.build import BUILD, compile_bpf, find_clang

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.skipif(find_clang() is None, reason="clang not installed")


@pytest.fixture(scope="module")
def basic() -> Path:
    return compile_bpf(DATA / "loader_basic.bpf.c", BUILD / "tests" / "loader_basic.bpf.o")


def _elf_sections(path: Path) -> dict[str, bytes]:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        return {s.name: s.data() for s in elf.iter_sections() if s["sh_type"] != "SHT_NOBITS"}


def _elf_funcs(path: Path) -> dict[str, tuple[str, int, int]]:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        out = {}
        for s in symtab.iter_symbols():
            if s["st_info"]["type"] == "STT_FUNC":
                sec = elf.get_section(s["st_shndx"]).name
                out[s.name] = (sec, s["st_value"], s["st_size"])
        return out


def test_programs_and_types(basic: Path) -> None:
    spec = load_collection_spec(basic)
    assert set(spec.programs) == {"count_len", "other"}
    for p in spec.programs.values():
        assert p.type == ProgType.SOCKET_FILTER
        assert p.section == "socket"
        assert p.license == "GPL"


def test_btf_map(basic: Path) -> None:
    spec = load_collection_spec(basic)
    m = spec.maps["counts"]
    assert (m.type, m.key_size, m.value_size, m.max_entries) == (MapType.HASH, 4, 8, 128)
    assert m.kind == MapKind.BTF
    assert spec.btf is not None
    assert spec.btf.sizeof(m.key_type_id) == 4 and spec.btf.sizeof(m.value_type_id) == 8


def test_global_data_maps(basic: Path) -> None:
    spec = load_collection_spec(basic)
    secs = _elf_sections(basic)
    for name in (".data", ".rodata", ".bss", ".data.custom"):
        m = spec.maps[name]
        assert m.kind == MapKind.DATA and m.type == MapType.ARRAY and m.max_entries == 1
        if name != ".bss":
            assert m.data == secs[name]
        assert m.value_type_id, f"{name} should carry its DATASEC as value type"
    assert struct.unpack_from("<Q", spec.maps[".data"].data)[0] == 1  # hits = 1
    assert struct.unpack_from("<I", spec.maps[".rodata"].data)[0] == 42
    ro = spec.maps[".rodata"]
    assert ro.freeze and ro.flags & MapFlags.RDONLY_PROG
    assert not spec.maps[".data"].flags & MapFlags.RDONLY_PROG
    # libbpf's kernel names: object-name prefix, then the section
    assert spec.maps[".rodata"].kernel_name == "loader_b.rodata"  # 8 + 7 chars
    assert spec.maps[".bss"].kernel_name == "loader_b.bss"
    assert spec.maps[".data.custom"].kernel_name == ".data.custom"  # custom: no prefix
    assert all(len(m.kernel_name) <= 15 for m in spec.maps.values())


def test_maps_used_per_program(basic: Path) -> None:
    spec = load_collection_spec(basic)
    assert set(spec.programs["count_len"].maps_used) == {
        "counts", ".data", ".bss", ".data.custom", ".rodata"}
    # `other` reaches .rodata only through the shared .text function
    assert set(spec.programs["other"].maps_used) == {".rodata"}


def test_linking_matches_elf(basic: Path) -> None:
    """Every linked function sits where the program's calls say, with its original code."""
    spec = load_collection_spec(basic)
    secs = _elf_sections(basic)
    funcs = _elf_funcs(basic)
    p = spec.programs["count_len"]
    assert p.subprograms[0] == "count_len"
    assert set(p.subprograms) == {"count_len", "shared", "bump"}
    slot = 0
    slot_of = []
    for ins in p.instructions:
        slot_of.append(slot)
        slot += ins.slots
    for i, ins in enumerate(p.instructions):
        if ins.is_bpf_call:
            target = slot_of[i] + ins.imm + 1
            assert target == p.symbol_offsets[ins.reference]
    for name, off in p.symbol_offsets.items():
        sec, value, size = funcs[name]
        original = decode(secs[sec][value:value + size])
        start = slot_of.index(off)
        linked = p.instructions[start:start + len(original)]
        for a, b in zip(original, linked, strict=False):
            assert a.opcode == b.opcode and a.dst == b.dst and a.off == b.off
            if not (a.is_call or a.is_ld_imm64):
                assert a.imm == b.imm and a.src == b.src


def test_func_and_line_info(basic: Path) -> None:
    spec = load_collection_spec(basic)
    src = (DATA / "loader_basic.bpf.c").read_text().splitlines()
    p = spec.programs["count_len"]
    assert [r.insn for r in p.func_info] == sorted(p.symbol_offsets.values())
    assert p.func_info[0].insn == 0
    assert p.line_info and p.line_info[0].insn == 0
    assert [r.insn for r in p.line_info] == sorted(r.insn for r in p.line_info)
    for rec in p.line_info:
        assert rec.file_name.endswith("loader_basic.bpf.c")
        if rec.line_text:
            assert rec.line_text.strip() in src[rec.line - 1].strip()


def test_section_table() -> None:
    m = match_section("tracepoint/syscalls/sys_enter_openat")
    assert m is not None and m.definition.prog_type == ProgType.TRACEPOINT
    assert m.attach_target == "syscalls/sys_enter_openat"
    assert match_section("?xdp").autoload is False
    assert match_section("fentry.s/do_unlinkat").sleepable
    assert match_section("tracepointx") is None
    assert match_section("kprobe").definition.prog_type == ProgType.KPROBE
    assert "tracepoint/syscalls/sys_enter_openat" in suggest_section(
        "tracepiont/syscalls/sys_enter_openat")
    assert "xdp" in suggest_section("xpd")


def test_unknown_section_is_unspec_with_suggestion() -> None:
    obj = compile_bpf(DATA / "bad_section.bpf.c", BUILD / "tests" / "bad_section.bpf.o")
    spec = load_collection_spec(obj)
    p = spec.programs["typo"]
    assert p.type == ProgType.UNSPEC and p.section_match is None


# ------------------------------------------------------------------------------ bad input


def test_not_elf(tmp_path: Path) -> None:
    with pytest.raises(errors.NotELFError, match="C source"):
        load_collection_spec(DATA / "loader_basic.bpf.c")
    empty = tmp_path / "empty.o"
    empty.write_bytes(b"")
    with pytest.raises(errors.NotELFError, match="empty"):
        load_collection_spec(empty)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(errors.ObjectError, match="no such file"):
        load_collection_spec(tmp_path / "nope.o")
    with pytest.raises(errors.ObjectError, match="directory"):
        load_collection_spec(tmp_path)


@pytest.mark.parametrize("cut", [10, 40, 63, 200, 0.5, 0.9])
def test_truncated(basic: Path, cut: float) -> None:
    data = basic.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else cut
    with pytest.raises((errors.TruncatedError, errors.ObjectError)) as ei:
        read_collection_spec(data[:n], "cut.o")
    assert "truncated" in str(ei.value) or "ends" in str(ei.value) or "shorter" in str(ei.value)
    assert "cut.o" in str(ei.value)


def test_host_object_is_wrong_machine(tmp_path: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    out = tmp_path / "host.o"
    subprocess.run([cc, "-c", str(DATA / "host_object.c"), "-o", str(out)], check=True)
    with pytest.raises(errors.WrongMachineError, match=r"x86-64.*-target bpf"):
        load_collection_spec(out)


def test_big_endian_object() -> None:
    out = compile_bpf(DATA / "loader_basic.bpf.c", BUILD / "tests" / "loader_basic.eb.o",
                      extra=["-target", "bpfeb"])
    with pytest.raises(errors.EndiannessError, match="big-endian"):
        load_collection_spec(out)
    # parsing it on purpose still works and decodes big-endian fields
    spec = load_collection_spec(out, allow_foreign_endian=True)
    assert spec.byteorder == "big"
    assert spec.maps["counts"].max_entries == 128
    assert struct.unpack_from(">I", spec.maps[".rodata"].data)[0] == 42


def test_maps_without_btf() -> None:
    out = BUILD / "tests" / "loader_basic.nog.o"
    out.parent.mkdir(parents=True, exist_ok=True)
    clang = find_clang()
    from support.build import bpf_cflags

    flags = [f for f in bpf_cflags() if f != "-g"]
    subprocess.run([clang, *flags, "-c", str(DATA / "loader_basic.bpf.c"), "-o", str(out)],
                   check=True)
    with pytest.raises(errors.MissingBTFError, match="-g"):
        load_collection_spec(out)


def test_stripped_object(basic: Path, tmp_path: Path) -> None:
    strip = shutil.which("llvm-strip-19") or shutil.which("llvm-strip")
    if strip is None:
        pytest.skip("llvm-strip not installed")
    out = tmp_path / "stripped.o"
    subprocess.run([strip, "--strip-all", str(basic), "-o", str(out)], check=True)
    with pytest.raises(errors.ObjectError, match=r"symbol table|BTF"):
        load_collection_spec(out)


def test_corrupt_btf(basic: Path, tmp_path: Path) -> None:
    data = bytearray(basic.read_bytes())
    btf = _elf_sections(basic)[".BTF"]
    at = bytes(data).find(btf)
    data[at:at + 2] = b"\x00\x00"  # destroy the BTF magic
    bad = tmp_path / "badbtf.o"
    bad.write_bytes(bytes(data))
    with pytest.raises(errors.BTFError) as ei:
        load_collection_spec(bad)
    assert ei.value.section == ".BTF" and "badbtf.o" in str(ei.value)


def test_undefined_map_named() -> None:
    obj = compile_bpf(DATA / "extern_map.bpf.c", BUILD / "tests" / "extern_map.bpf.o")
    with pytest.raises(errors.RelocationError) as ei:
        load_collection_spec(obj)
    e = ei.value
    assert e.symbol == "missing_map" and e.section == "socket"
    assert "uses_missing" in str(e) and "not defined" in str(e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_objects_only_raise_typed_errors(data: st.DataObject) -> None:
    raw = bytearray(compile_bpf(DATA / "loader_basic.bpf.c",
                                BUILD / "tests" / "loader_basic.bpf.o").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        read_collection_spec(bytes(raw), "mutated.o")
    except errors.BpfDoctorError:
        pass


def test_ulong_map_attribute() -> None:
    """``__ulong(map_extra, 3)`` (an anonymous one-value enum) is read like ``__uint``."""
    obj = compile_bpf(DATA / "map_ulong.bpf.c", BUILD / "tests" / "map_ulong.bpf.o")
    m = load_collection_spec(obj).maps["bloom"]
    assert (m.type, m.max_entries, m.value_size, m.map_extra) == (MapType.BLOOM_FILTER, 64, 4, 3)
