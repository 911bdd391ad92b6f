"""Tests of bpfdoctor.btf: BTF and .BTF.ext parsing, marshalling, lookup and formatting.

Oracles, so that these tests can fail: bpftool (libbpf's BTF parser) for every decoded type of
vmlinux and of an object compiled from tests/data/btf_sample.bpf.c, the original bytes for
marshalling, pyelftools' symbol table for func_info and the C source itself for line_info.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfdoctor import btf
from bpfdoctor.btf import (
    CoreReloKind,
    Kind,
    fixup_datasecs,
    marshal,
    marshal_ext,
    marshal_func_info,
    marshal_line_info,
    parse,
    parse_ext,
)
from bpfdoctor.errors import BTFError, MissingBTFError
from support.build import compile_bpf

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_C = DATA / "btf_sample.bpf.c"
VMLINUX = Path("/sys/kernel/btf/vmlinux")

_INT_ENCODING = {"(none)": 0, "SIGNED": 1, "CHAR": 2, "BOOL": 4}
_LINKAGE = {"static": 0, "global": 1, "extern": 2}


def bpftool_types(path: str | Path, base: str | Path | None = None) -> list[dict[str, Any]]:
    """``bpftool btf dump file PATH -j`` (with ``-B BASE`` for split BTF), its "types"."""
    tool = shutil.which("bpftool")
    if tool is None:
        pytest.skip("bpftool is not installed")
    cmd = [tool, "-j", "btf", "dump", "file", str(path)]
    if base is not None:
        cmd[1:1] = ["-B", str(base)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["types"]  # type: ignore[no-any-return]


def assert_matches_bpftool(spec: btf.Spec, jt: dict[str, Any]) -> None:
    """Assert that our decoding of type ``jt["id"]`` agrees with bpftool's in every field."""
    i = jt["id"]
    t = spec.types[i]
    where = f"type {i}"
    assert t.kind == Kind[jt["kind"]], where
    assert t.name == ("" if jt["name"] == "(anon)" else jt["name"]), where
    k = t.kind
    if k == Kind.INT:
        assert isinstance(t, btf.Int)
        assert (t.size, t.offset, t.bits) == (jt["size"], jt["bits_offset"], jt["nr_bits"]), where
        assert int(t.encoding) == _INT_ENCODING[jt["encoding"]], where
    elif k in (Kind.PTR, Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG):
        assert t.type == jt["type_id"], where  # type: ignore[attr-defined]
    elif k == Kind.ARRAY:
        assert isinstance(t, btf.Array)
        assert (t.type, t.index_type, t.nelems) == (
            jt["type_id"], jt["index_type_id"], jt["nr_elems"]), where
    elif k in (Kind.STRUCT, Kind.UNION):
        assert isinstance(t, (btf.Struct, btf.Union))
        assert t.size == jt["size"] and len(t.members) == jt["vlen"], where
        got = [(m.name, m.type, m.offset_bits, m.bitfield_size) for m in t.members]
        want = [("" if m["name"] == "(anon)" else m["name"], m["type_id"], m["bits_offset"],
                 m.get("bitfield_size", 0)) for m in jt["members"]]
        assert got == want, where
    elif k in (Kind.ENUM, Kind.ENUM64):
        assert isinstance(t, (btf.Enum, btf.Enum64))
        assert t.size == jt["size"], where
        assert t.signed == (jt["encoding"] == "SIGNED"), where
        # bpftool 7.1 prints an unsigned 32-bit enum value >= 2**31 sign-extended to 64
        # bits (it reads btf_enum.val as __s32); compare those modulo 2**32.
        mask = 0xFFFFFFFF if k == Kind.ENUM and not t.signed else -1
        assert [(v.name, v.value) for v in t.values] == [
            (v["name"], v["val"] & mask) for v in jt["values"]], where
    elif k == Kind.FWD:
        assert isinstance(t, btf.Fwd)
        assert t.is_union == (jt["fwd_kind"] == "union"), where
    elif k == Kind.FUNC:
        assert isinstance(t, btf.Func)
        assert (t.type, t.linkage) == (jt["type_id"], _LINKAGE[jt["linkage"]]), where
    elif k == Kind.FUNC_PROTO:
        assert isinstance(t, btf.FuncProto)
        assert t.return_type == jt["ret_type_id"], where
        assert [(p.name, p.type) for p in t.params] == [
            ("" if p["name"] == "(anon)" else p["name"], p["type_id"]) for p in jt["params"]]
    elif k == Kind.VAR:
        assert isinstance(t, btf.Var)
        assert (t.type, t.linkage) == (jt["type_id"], _LINKAGE[jt["linkage"]]), where
    elif k == Kind.DATASEC:
        assert isinstance(t, btf.Datasec)
        assert t.size == jt["size"], where
        assert [(v.type, v.offset, v.size) for v in t.vars] == [
            (v["type_id"], v["offset"], v["size"]) for v in jt["vars"]], where
    elif k == Kind.FLOAT:
        assert isinstance(t, btf.Float)
        assert t.size == jt["size"], where
    elif k == Kind.DECL_TAG:
        assert isinstance(t, btf.DeclTag)
        assert (t.type, t.component_idx) == (jt["type_id"], jt["component_idx"]), where
    else:  # pragma: no cover
        raise AssertionError(f"{where}: unexpected kind {k!r}")


class ElfObject:
    """What the BTF tests need from a BPF object, read with pyelftools (not our ELF reader)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as f:
            elf = ELFFile(f)
            self.little = elf.little_endian
            self.sections = {s.name: s.data() for s in elf.iter_sections()}
            self.section_sizes = {s.name: s["sh_size"] for s in elf.iter_sections()}
            self.section_names = [s.name for s in elf.iter_sections()]
            symtab = elf.get_section_by_name(".symtab")
            self.symbols = [
                (s.name, s["st_value"], s["st_size"], s["st_info"]["type"],
                 self.section_names[s["st_shndx"]] if isinstance(s["st_shndx"], int) else None)
                for s in symtab.iter_symbols()
            ]

    @property
    def byteorder(self) -> str:
        return "little" if self.little else "big"

    def symbol_offsets(self) -> dict[str, int]:
        return {name: value for name, value, _, typ, _ in self.symbols if typ == "STT_OBJECT"}

    def functions(self) -> dict[tuple[str, int], str]:
        """(section, offset in bytes) -> function symbol name."""
        return {(sec, value): name for name, value, _, typ, sec in self.symbols
                if typ == "STT_FUNC" and sec is not None}


# ------------------------------------------------------------------------------- fixtures


def _vmlinux_raw() -> bytes:
    if not VMLINUX.exists():
        pytest.skip("this kernel exposes no /sys/kernel/btf/vmlinux")
    return VMLINUX.read_bytes()


@pytest.fixture(scope="module")
def vmlinux_raw() -> bytes:
    return _vmlinux_raw()


@pytest.fixture(scope="module")
def vmlinux(vmlinux_raw: bytes) -> btf.Spec:
    return parse(vmlinux_raw, validate=False)


@pytest.fixture(scope="module")
def vmlinux_json() -> list[dict[str, Any]]:
    _vmlinux_raw()
    return bpftool_types(VMLINUX)


@pytest.fixture(scope="module")
def sample() -> ElfObject:
    return ElfObject(compile_bpf(SAMPLE_C))


@pytest.fixture()
def spec(sample: ElfObject) -> btf.Spec:
    return parse(sample.sections[".BTF"])


def _id(spec: btf.Spec, name: str, kind: type[btf.Type] | None = None) -> int:
    ids = spec.find(name, kind)
    assert len(ids) == 1, (name, ids)
    return ids[0]


def _source_line(marker: str) -> int:
    """1-based line of the C statement tagged ``/* LINE: marker */``."""
    for n, text in enumerate(SAMPLE_C.read_text().splitlines(), 1):
        if f"LINE: {marker} " in text:
            return n
    raise AssertionError(f"marker {marker} not in {SAMPLE_C}")


# ------------------------------------------------------------------------------- vmlinux


def test_vmlinux_every_type_matches_bpftool(vmlinux: btf.Spec,
                                            vmlinux_json: list[dict[str, Any]]) -> None:
    assert len(vmlinux.types) == len(vmlinux_json) + 1  # + Void, which bpftool does not list
    for jt in vmlinux_json:
        assert_matches_bpftool(vmlinux, jt)


def test_vmlinux_known_facts(vmlinux: btf.Spec) -> None:
    assert vmlinux.types[0] == btf.Void()
    task = vmlinux.types[_id(vmlinux, "task_struct", btf.Struct)]
    assert isinstance(task, btf.Struct)
    assert {"pid", "tgid", "comm", "mm"} <= {m.name for m in task.members}
    int_t = vmlinux.types[_id(vmlinux, "int", btf.Int)]
    assert int_t == btf.Int("int", 4, btf.SIGNED, 0, 32)
    # struct list_head { struct list_head *next, *prev; } on a 64-bit kernel.
    lh_id = _id(vmlinux, "list_head", btf.Struct)
    assert vmlinux.sizeof(lh_id) == 16
    lh = vmlinux.types[lh_id]
    assert isinstance(lh, btf.Struct)
    assert [(m.name, m.offset_bits) for m in lh.members] == [("next", 0), ("prev", 64)]
    nxt = vmlinux.types[lh.members[0].type]
    assert isinstance(nxt, btf.Pointer) and nxt.type == lh_id
    assert vmlinux.format(lh.members[0].type) == "struct list_head *"
    # typedef unsigned long size_t (x86-64 kernel: "long unsigned int" in DWARF spelling).
    size_t = _id(vmlinux, "size_t", btf.Typedef)
    assert vmlinux.sizeof(size_t) == 8
    assert vmlinux.types[vmlinux.resolve(size_t)].kind == Kind.INT
    # A kernel signature that has been stable for a long time.
    fops = vmlinux.types[_id(vmlinux, "file_operations", btf.Struct)]
    assert isinstance(fops, btf.Struct)
    read = next(m for m in fops.members if m.name == "read")
    assert vmlinux.format(read.type) == "ssize_t (*)(struct file *, char *, size_t, loff_t *)"
    assert vmlinux.find("no_such_type_anywhere_xyz") == []


def test_vmlinux_find_by_kind_and_name_of(vmlinux: btf.Spec,
                                          vmlinux_json: list[dict[str, Any]]) -> None:
    want = sorted(t["id"] for t in vmlinux_json if t["name"] == "task_struct")
    assert vmlinux.find("task_struct") == want
    structs = [t["id"] for t in vmlinux_json
               if t["name"] == "task_struct" and t["kind"] == "STRUCT"]
    assert vmlinux.find("task_struct", btf.Struct) == structs
    assert vmlinux.find("task_struct", Kind.STRUCT) == structs
    # several types share some names (a struct and a typedef of it, FUNC and VAR...)
    multi = {}
    for t in vmlinux_json:
        multi.setdefault(t["name"], []).append(t["id"])
    name, ids = next((n, i) for n, i in multi.items() if len(i) > 1 and n != "(anon)")
    assert vmlinux.find(name) == sorted(ids)
    for jt in vmlinux_json[:2000]:
        n = "" if jt["name"] == "(anon)" else jt["name"]
        assert vmlinux.name_of(jt["id"]) == n
        assert vmlinux.kind_of(jt["id"]) == Kind[jt["kind"]]


def test_vmlinux_marshal_round_trip(vmlinux_raw: bytes) -> None:
    spec = parse(vmlinux_raw, validate=False)
    assert marshal(spec) == vmlinux_raw
    # Decoding every type makes marshal re-encode all of them instead of copying bytes.
    for _ in spec.types:
        pass
    assert marshal(spec) == vmlinux_raw


def test_vmlinux_validates(vmlinux_raw: bytes) -> None:
    spec = parse(vmlinux_raw)  # validate=True: every string offset and type id is checked
    assert len(spec.types) > 1000


def test_vmlinux_sizeof_matches_bpftool(vmlinux: btf.Spec,
                                        vmlinux_json: list[dict[str, Any]]) -> None:
    by_id = {t["id"]: t for t in vmlinux_json}
    checked = 0
    for jt in vmlinux_json:
        if jt["kind"] == "TYPEDEF":
            target = by_id.get(jt["type_id"])
            if target and target["kind"] in ("STRUCT", "UNION", "INT", "ENUM"):
                assert vmlinux.sizeof(jt["id"]) == target["size"]
                checked += 1
        elif jt["kind"] == "ARRAY":
            elem = by_id.get(jt["type_id"])
            if elem and elem["kind"] in ("STRUCT", "INT"):
                assert vmlinux.sizeof(jt["id"]) == jt["nr_elems"] * elem["size"]
                checked += 1
    assert checked > 100


# ------------------------------------------------------------------------------- object BTF


def test_object_every_type_matches_bpftool(sample: ElfObject, spec: btf.Spec) -> None:
    types = bpftool_types(sample.path)
    assert len(spec.types) == len(types) + 1
    for jt in types:
        assert_matches_bpftool(spec, jt)


def test_object_round_trip(sample: ElfObject) -> None:
    raw = sample.sections[".BTF"]
    spec = parse(raw)
    assert marshal(spec) == raw
    for _ in spec.types:
        pass
    assert marshal(spec) == raw
    ext_raw = sample.sections[".BTF.ext"]
    assert marshal_ext(parse_ext(ext_raw, spec), spec) == ext_raw
    assert marshal(spec) == raw  # marshal_ext needed no new strings


def test_object_types_from_source(spec: btf.Spec) -> None:
    """Facts written in btf_sample.bpf.c."""
    bits = spec.types[_id(spec, "sample_bits", btf.Struct)]
    assert isinstance(bits, btf.Struct) and bits.kind_flag
    members = {m.name: m for m in bits.members}
    assert (members["a"].bitfield_size, members["a"].offset_bits) == (3, 0)
    assert (members["b"].bitfield_size, members["b"].offset_bits) == (7, 3)
    assert members["c"].bitfield_size == 0
    fmt = {name: spec.format(m.type) for name, m in members.items()}
    assert fmt["cb"] == "int (*)(void *, const char *)"
    assert fmt["tail"] == "unsigned char[6]"
    assert fmt["counter"] == "volatile sample_u32"
    assert fmt["rp"] == "char *restrict"
    assert fmt["colour"] == "enum sample_colour"
    assert fmt["u"] == "union {...}"
    assert fmt["tagged"] == '__attribute__((btf_type_tag("sample_user"))) int *'
    assert spec.sizeof(members["tail"].type) == 6
    assert spec.sizeof(members["cb"].type) == 8
    colour = spec.types[_id(spec, "sample_colour", btf.Enum)]
    assert isinstance(colour, btf.Enum) and not colour.signed
    assert [(v.name, v.value) for v in colour.values] == [("RED", 0), ("GREEN", 5), ("BLUE", 6)]
    signed = spec.types[_id(spec, "sample_signed", btf.Enum)]
    assert isinstance(signed, btf.Enum) and signed.signed
    assert [v.value for v in signed.values] == [-2, 3]
    wide = spec.types[_id(spec, "sample_wide", btf.Enum64)]
    assert isinstance(wide, btf.Enum64) and wide.values[0].value == 0x123456789A
    assert spec.types[_id(spec, "float")] == btf.Float("float", 4)
    assert spec.types[_id(spec, "double")] == btf.Float("double", 8)
    tag = spec.types[_id(spec, "sample_struct_tag")]
    assert tag == btf.DeclTag("sample_struct_tag", spec.find("sample_bits")[0], -1)
    arg_tag = spec.types[_id(spec, "sample_arg_tag")]
    assert isinstance(arg_tag, btf.DeclTag) and arg_tag.component_idx == 0
    assert spec.name_of(arg_tag.type) == "sample_helper"
    assert spec.format(_id(spec, "sample_helper")) == "int sample_helper(struct sample_bits *s)"
    assert spec.format(_id(spec, "sample_rodata")) == "const volatile int sample_rodata"
    helper = spec.types[_id(spec, "sample_helper")]
    prog = spec.types[_id(spec, "sample_prog")]
    assert isinstance(helper, btf.Func) and helper.linkage == btf.Linkage.STATIC
    assert isinstance(prog, btf.Func) and prog.linkage == btf.Linkage.GLOBAL
    static = spec.types[_id(spec, "sample_static", btf.Var)]
    assert isinstance(static, btf.Var) and static.linkage == btf.Linkage.STATIC
    data = spec.types[_id(spec, ".data", btf.Datasec)]
    assert isinstance(data, btf.Datasec)
    assert {spec.name_of(v.type) for v in data.vars} == {
        "sample_data", "sample_data2", "sample_static"}
    assert spec.format(_id(spec, ".maps")) == 'SEC(".maps")'


def test_big_endian_object_parses_the_same(sample: ElfObject, spec: btf.Spec,
                                           tmp_path: Path) -> None:
    eb = ElfObject(compile_bpf(SAMPLE_C, out=tmp_path / "sample_eb.o",
                               extra=["-target", "bpfeb"]))
    assert eb.byteorder == "big"
    raw = eb.sections[".BTF"]
    with pytest.raises(BTFError, match="big-endian"):
        parse(raw)
    spec_eb = parse(raw, byteorder="big")
    assert list(spec_eb.types) == list(spec.types)
    assert marshal(spec_eb) == raw
    ext_raw = eb.sections[".BTF.ext"]
    ext_eb = parse_ext(ext_raw, spec_eb, byteorder="big")
    ext_le = parse_ext(sample.sections[".BTF.ext"], spec)
    assert ext_eb.func_info == ext_le.func_info
    assert ext_eb.line_info == ext_le.line_info
    assert ext_eb.core_relos == ext_le.core_relos
    assert marshal_ext(ext_eb, spec_eb) == ext_raw
    for jt in bpftool_types(eb.path):
        assert_matches_bpftool(spec_eb, jt)


# ------------------------------------------------------------------------------- .BTF.ext


def test_func_info_names_match_symbols(sample: ElfObject, spec: btf.Spec) -> None:
    ext = parse_ext(sample.sections[".BTF.ext"], spec)
    funcs = sample.functions()
    got = {(sec, fi.insn_off): spec.name_of(fi.type_id)
           for sec, recs in ext.func_info.items() for fi in recs}
    assert got == funcs
    assert set(got.values()) == {"sample_prog", "sample_core_prog", "sample_helper"}
    for recs in ext.func_info.values():
        for fi in recs:
            assert spec.types[fi.type_id].kind == Kind.FUNC


def test_line_info_matches_source(sample: ElfObject, spec: btf.Spec) -> None:
    ext = parse_ext(sample.sections[".BTF.ext"], spec)
    source = SAMPLE_C.read_text().splitlines()
    seen: dict[str, set[int]] = {}
    for sec, recs in ext.line_info.items():
        assert recs == sorted(recs, key=lambda r: r.insn_off)
        for li in recs:
            assert Path(li.file_name).name == SAMPLE_C.name
            assert li.line_text == source[li.line - 1]
            assert li.column <= len(li.line_text) + 1
            assert spec.string(li.file_name_off) == li.file_name
            assert spec.string(li.line_off) == li.line_text
            assert li.line_col == li.line << 10 | li.column
            seen.setdefault(sec, set()).add(li.line)
    assert _source_line("helper-return") in seen[".text"]
    assert {_source_line("prog-key"), _source_line("prog-call"),
            _source_line("core-exists")} <= seen["socket"]
    # every function starts with a line record at its first instruction
    for sec, off in sample.functions():
        assert any(li.insn_off == off for li in ext.line_info[sec])


def test_core_relos_from_source(sample: ElfObject, spec: btf.Spec) -> None:
    ext = parse_ext(sample.sections[".BTF.ext"], spec)
    assert list(ext.core_relos) == ["socket"]
    relos = ext.core_relos["socket"]
    # __builtin_preserve_field_info(c->y, 2 /* exists */) and (c->y, 0 /* byte offset */)
    assert sorted(r.kind for r in relos) == [CoreReloKind.FIELD_BYTE_OFFSET,
                                             CoreReloKind.FIELD_EXISTS]
    for r in relos:
        assert spec.name_of(r.type_id) == "sample_core"
        assert r.access_str == "0:1"  # member 1 (y) of element 0
    core_prog = next(off for (sec, off), n in sample.functions().items()
                     if n == "sample_core_prog")
    text_len = len(sample.sections["socket"])
    assert all(core_prog <= r.insn_off < text_len for r in relos)


def test_prog_load_records() -> None:
    fi = marshal_func_info([(0, 5), (7, 9)], byteorder="little")
    assert fi == bytes([0, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0])
    li = marshal_line_info([(3, 10, 20, 42 << 10 | 7)], byteorder="big")
    assert li == (b"\0\0\0\x03" + b"\0\0\0\x0a" + b"\0\0\0\x14"
                  + (42 * 1024 + 7).to_bytes(4, "big"))
    assert marshal_func_info([]) == b""
    assert len(marshal_func_info([(1, 2)])) == 8  # native order by default
    with pytest.raises(BTFError):
        marshal_func_info([(-1, 2)])


def test_ext_built_by_hand(spec: btf.Spec) -> None:
    func = _id(spec, "sample_helper", btf.Func)
    ext = btf.ExtInfo(
        func_info={".text.new": [btf.FuncInfo(0, func)]},
        line_info={".text.new": [btf.LineInfo(0, "new.c", 12, 3, "return 0;"),
                                 btf.LineInfo(16, "new.c", 13, 1, "}")]},
        core_relos={".text.new": [btf.CoreRelo(8, func, "0:2", CoreReloKind.TYPE_SIZE),
                                  btf.CoreRelo(8, func, "0", 99)]},
    )
    raw = marshal_ext(ext, spec)  # interns ".text.new", "new.c", ... into spec
    back = parse_ext(raw, parse(marshal(spec)))
    assert back.func_info == ext.func_info
    assert back.line_info == ext.line_info
    assert back.core_relos == ext.core_relos
    assert back.core_relos[".text.new"][1].kind == 99  # a kind newer than us stays an int
    li = back.line_info[".text.new"][0]
    assert (li.line, li.column, li.line_col) == (12, 3, 12 << 10 | 3)
    assert spec.string(li.file_name_off) == "new.c"
    empty = marshal_ext(btf.ExtInfo(), spec)
    assert parse_ext(empty, spec) == btf.ExtInfo(hdr_len=len(empty))


def test_empty_and_split_empty_specs(vmlinux: btf.Spec) -> None:
    raw = marshal(btf.Spec())
    assert list(parse(raw).types) == [btf.Void()]
    assert marshal(parse(raw)) == raw
    split = parse(marshal(btf.Spec(base=vmlinux)), base=vmlinux)
    assert len(split.types) == len(vmlinux.types)
    assert split.find("task_struct") == vmlinux.find("task_struct")


def test_find_one(spec: btf.Spec) -> None:
    assert spec.find_one("sample_bits", btf.Struct) == spec.find("sample_bits")[0]
    with pytest.raises(BTFError, match="no BTF"):
        spec.find_one("nope")
    with pytest.raises(BTFError, match="no BTF"):
        spec.find_one("skb")  # a parameter name, not a type name
    spec.add(btf.Typedef("sample_bits", spec.find_one("sample_bits")))
    with pytest.raises(BTFError, match="2 BTF types named 'sample_bits'"):
        spec.find_one("sample_bits")
    assert spec.find_one("sample_bits", btf.Typedef) == len(spec.types) - 1
    assert spec.find("") == []


# ------------------------------------------------------------------------------- fixups


def test_fixup_datasecs(sample: ElfObject, spec: btf.Spec) -> None:
    data_id = _id(spec, ".data", btf.Datasec)
    data = spec.types[data_id]
    assert isinstance(data, btf.Datasec) and data.size == 0  # as clang leaves it
    changed = fixup_datasecs(spec, sample.section_sizes, sample.symbol_offsets())
    assert data_id in changed
    assert data.size == len(sample.sections[".data"])
    syms = {name: value for name, value, *_ in sample.symbols}
    offsets = {spec.name_of(v.type): v.offset for v in data.vars}
    assert offsets == {n: syms[n] for n in ("sample_data", "sample_data2", "sample_static")}
    assert [v.offset for v in data.vars] == sorted(v.offset for v in data.vars)
    for i in range(1, len(spec.types)):
        t = spec.types[i]
        if isinstance(t, btf.Datasec):
            assert t.size == sample.section_sizes[t.name]
    again = parse(marshal(spec))
    assert again.types[data_id] == data
    assert fixup_datasecs(again, sample.section_sizes, sample.symbol_offsets()) == []


def test_fixup_datasecs_reports_what_is_missing(sample: ElfObject, spec: btf.Spec) -> None:
    sizes = dict(sample.section_sizes)
    del sizes[".bss"]
    with pytest.raises(BTFError) as exc:
        fixup_datasecs(spec, sizes, sample.symbol_offsets())
    assert exc.value.section == ".bss"
    syms = sample.symbol_offsets()
    del syms["sample_data2"]
    spec = parse(sample.sections[".BTF"])
    with pytest.raises(BTFError) as exc:
        fixup_datasecs(spec, sample.section_sizes, syms)
    assert (exc.value.section, exc.value.symbol) == (".data", "sample_data2")


# ------------------------------------------------------------------------------- building


def _hand_built() -> tuple[btf.Spec, dict[str, int]]:
    s = btf.Spec()
    ids: dict[str, int] = {}
    ids["int"] = s.add(btf.Int("int", 4, btf.SIGNED, 0, 32))
    ids["u8"] = s.add(btf.Int("unsigned char", 1, btf.IntEncoding.NONE, 0, 8))
    ids["bool"] = s.add(btf.Int("_Bool", 1, btf.BOOL, 0, 8))
    ids["ptr"] = s.add(btf.Pointer("", ids["int"]))
    ids["arr"] = s.add(btf.Array(ids["u8"], ids["int"], 16))
    ids["node"] = s.add(btf.Struct("node", 32, [
        btf.Member("flags", ids["int"], 0, 3),
        btf.Member("more", ids["int"], 3, 5),
        btf.Member("next", 0, 64),  # patched below: a self-referencing pointer
        btf.Member("name", ids["arr"], 128),
    ]))
    ids["node_ptr"] = s.add(btf.Pointer("", ids["node"]))
    node = s.types[ids["node"]]
    assert isinstance(node, btf.Struct)
    node.members[2].type = ids["node_ptr"]
    ids["u"] = s.add(btf.Union("", 8, [btf.Member("i", ids["int"], 0),
                                       btf.Member("p", ids["ptr"], 0)]))
    ids["e"] = s.add(btf.Enum("e", 4, [btf.EnumValue("A", -1), btf.EnumValue("B", 7)], True))
    ids["e64"] = s.add(btf.Enum64("e64", 8, [btf.EnumValue("BIG", 1 << 40)]))
    ids["fwd"] = s.add(btf.Fwd("opaque", is_union=True))
    ids["td"] = s.add(btf.Typedef("node_t", ids["node"]))
    ids["cv"] = s.add(btf.Volatile("", ids["int"]))
    ids["c"] = s.add(btf.Const("", ids["cv"]))
    ids["proto"] = s.add(btf.FuncProto(ids["int"], [btf.Param("n", ids["node_ptr"]),
                                                    btf.Param("x", ids["c"])]))
    ids["func"] = s.add(btf.Func("walk", ids["proto"], btf.Linkage.GLOBAL))
    ids["float"] = s.add(btf.Float("double", 8))
    ids["var"] = s.add(btf.Var("counter", ids["int"], btf.Linkage.GLOBAL))
    ids["sec"] = s.add(btf.Datasec(".data", 4, [btf.VarSecinfo(ids["var"], 0, 4)]))
    ids["tag"] = s.add(btf.DeclTag("hot", ids["func"], -1))
    return s, ids


def test_hand_built_btf_as_bpftool_sees_it(tmp_path: Path) -> None:
    s, ids = _hand_built()
    raw = marshal(s)
    path = tmp_path / "hand.btf"
    path.write_bytes(raw)
    types = bpftool_types(path)
    assert len(types) == len(s.types) - 1
    for jt in types:
        assert_matches_bpftool(s, jt)
    back = parse(raw)
    assert list(back.types) == list(s.types)
    assert marshal(back) == raw
    assert back.format(ids["func"]) == "int walk(struct node *n, const volatile int x)"
    assert back.format(ids["td"]) == "node_t"
    assert back.format(ids["proto"], "fn") == "int fn(struct node *, const volatile int)"
    assert back.sizeof(ids["td"]) == 32
    assert back.sizeof(ids["var"]) == 4
    assert back.resolve(ids["c"]) == ids["int"]


def test_modify_and_remarshal(spec: btf.Spec) -> None:
    sid = _id(spec, "sample_core", btf.Struct)
    core = spec.types[sid]
    assert isinstance(core, btf.Struct)
    core.name = "renamed_core"
    core.members[0].name = "brand_new_member"
    new = spec.add(btf.Typedef("core_t", sid))
    raw = marshal(spec)
    back = parse(raw)
    assert back.find("sample_core") == []
    assert back.find("renamed_core", btf.Struct) == [sid]
    assert back.find("core_t") == [new]
    rc = back.types[sid]
    assert isinstance(rc, btf.Struct) and rc.members[0].name == "brand_new_member"
    assert back.format(new) == "core_t"
    # find() on the modified spec itself sees the renames without re-parsing
    assert spec.find("renamed_core") == [sid] and spec.find("sample_core") == []
    assert spec.find("core_t", btf.Typedef) == [new]
    # replacing a type through the list view
    spec.types[new] = btf.Typedef("core2_t", sid)
    assert parse(marshal(spec)).find("core2_t") == [new]


def test_type_list_view(spec: btf.Spec) -> None:
    types = spec.types
    n = len(types)
    assert types[-1] == types[n - 1]
    assert types[1:3] == [types[1], types[2]]
    with pytest.raises(IndexError):
        types[n]
    with pytest.raises(BTFError):
        spec.type_by_id(n)
    with pytest.raises(BTFError):
        spec.type_by_id(-1)
    assert types.append(btf.Int("x", 1)) == n


# ------------------------------------------------------------------------------- split BTF


def test_split_btf_built_on_vmlinux(vmlinux: btf.Spec, tmp_path: Path) -> None:
    split = btf.Spec(base=vmlinux)
    assert split.first_id == len(vmlinux.types)
    task = _id(vmlinux, "task_struct", btf.Struct)
    int_id = _id(vmlinux, "int", btf.Int)
    p = split.add(btf.Pointer("", task))
    mod = split.add(btf.Struct("my_module_state", 16, [
        btf.Member("owner", p, 0), btf.Member("refs", int_id, 64)]))
    # a name the base already has: the base's string offset is reused
    td = split.add(btf.Typedef("task_struct", task))
    raw = marshal(split)
    path = tmp_path / "split.btf"
    path.write_bytes(raw)
    types = bpftool_types(path, base=VMLINUX)
    assert [t["id"] for t in types] == [p, mod, td]
    for jt in types:
        assert_matches_bpftool(split, jt)
    back = parse(raw, base=vmlinux)
    assert back.types[0] == btf.Void()
    assert back.types[int_id] == vmlinux.types[int_id]
    assert back.format(mod) == "struct my_module_state"
    assert back.format(p) == "struct task_struct *"
    assert back.find("task_struct") == [task, td]
    assert back.find("my_module_state") == [mod]
    assert marshal(back) == raw
    with pytest.raises(BTFError):
        back.types[task] = btf.Int("x", 1)  # base types are not the split spec's to replace


def test_kernel_module_split_btf() -> None:
    names = btf.kernel.modules()
    if not names:
        pytest.skip("no kernel module exposes BTF under /sys/kernel/btf")
    name = names[0]
    spec = btf.kernel.module(name)
    assert spec.base is btf.kernel.vmlinux()
    raw = (VMLINUX.parent / name).read_bytes()
    assert marshal(spec) == raw
    for jt in bpftool_types(VMLINUX.parent / name, base=VMLINUX):
        assert_matches_bpftool(spec, jt)


def test_kernel_cache() -> None:
    _vmlinux_raw()
    a = btf.kernel.vmlinux()
    assert btf.kernel.vmlinux() is a
    btf.kernel.clear_cache()
    b = btf.kernel.vmlinux()
    assert b is not a and len(b.types) == len(a.types)
    with pytest.raises(BTFError):
        btf.kernel.module("../vmlinux")
    with pytest.raises(MissingBTFError, match="not loaded"):
        btf.kernel.module("no_such_module_xyz")


# ------------------------------------------------------------------------------- errors


def _blob(types: bytes, strings: bytes = b"\0int\0", **hdr: int) -> bytes:
    h = dict(magic=0xEB9F, version=1, flags=0, hdr_len=24, type_off=0, type_len=len(types),
             str_off=len(types), str_len=len(strings))
    h.update(hdr)
    return struct.pack("<HBBIIIII", *h.values()) + types + strings


def _rec(name_off: int, kind: int, vlen: int = 0, st: int = 0, kflag: int = 0,
         extra: tuple[int, ...] = ()) -> bytes:
    return struct.pack(f"<III{len(extra)}I", name_off, kflag << 31 | kind << 24 | vlen, st,
                       *extra)


INT = _rec(1, 1, st=4, extra=(1 << 24 | 32,))


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "truncated BTF header"),
    (b"\x9f\xeb\x01\x00", "truncated BTF header"),
    (_blob(INT)[:20], "truncated BTF header"),
    (_blob(INT, magic=0x1234), "bad BTF magic"),
    (_blob(INT, version=2), "unsupported BTF version"),
    (_blob(INT, hdr_len=16), "shorter than 24"),
    (_blob(INT, hdr_len=4096), "past the end"),
    (_blob(INT, type_len=4000), "runs past the end"),
    (_blob(INT, str_len=4000), "runs past the end"),
    (_blob(INT, type_off=2), "not 4-byte aligned"),
    (_blob(INT, type_len=14), "not a multiple of 4"),
    (_blob(INT) + b"junk", "trailing data"),
    (_blob(INT, strings=b"\0int"), "not NUL-terminated"),
    (_blob(INT, strings=b"int\0"), "does not start with the empty string"),
    (_blob(INT, strings=b""), "string section is empty"),
    (_blob(INT[:12]), "runs past the end of the type section"),
    (_blob(_rec(0, 0)), "unknown BTF kind 0"),
    (_blob(_rec(0, 25)), "unknown BTF kind 25"),
    (_blob(_rec(0, 2, vlen=1, st=1)), "PTR has vlen 1"),
    (_blob(_rec(0, 2, kflag=1, st=1)), "kind_flag set on PTR"),
    (_blob(_rec(0, 12, vlen=3, st=1)), "FUNC has unknown linkage 3"),
    (_blob(_rec(1, 4, vlen=0xFFFF, st=8)), "runs past the end"),
    (_blob(INT + _rec(0, 4, vlen=1, st=4, extra=(999, 1, 0))), "past the end of the string"),
    (_blob(_rec(999, 1, st=4, extra=(32,))), "past the end of the string"),
    (_blob(INT + _rec(0, 2, st=77)), "refers to type 77"),
    (_blob(_rec(1, 1, st=4, extra=(0x100 | 32,))), "reserved bits set in INT"),
    (_blob(_rec(0, 2, st=1) + struct.pack("<III", 0, 2 << 24 | 1 << 16, 1)), "reserved bits"),
    (_blob(_rec(0, 3, st=4, extra=(1, 1, 1)) + INT), "ARRAY has non-zero size"),
])
def test_malformed_btf(raw: bytes, message: str) -> None:
    with pytest.raises(BTFError, match=message):
        parse(raw)


def test_cycles_are_errors_not_hangs() -> None:
    # 1: typedef a -> 2: const -> 1 ; 3: ptr -> 4: ptr -> 3 ; 5: array of 5
    raw = _blob(_rec(1, 8, st=2) + _rec(0, 10, st=1) + _rec(0, 2, st=4) + _rec(0, 2, st=3)
                + _rec(0, 3, extra=(5, 1, 2)), strings=b"\0a\0")
    s = parse(raw)
    with pytest.raises(BTFError, match="cycle"):
        s.resolve(1)
    with pytest.raises(BTFError, match="cycle"):
        s.sizeof(1)
    assert s.format(2) == "const a"  # C names a typedef without expanding it: no loop
    with pytest.raises(BTFError, match="cycle"):
        s.format(3)
    assert s.sizeof(3) == 8  # a pointer's size does not depend on its target
    with pytest.raises(BTFError, match="cycle"):
        s.sizeof(5)
    with pytest.raises(BTFError, match="cycle"):
        s.format(5)
    assert marshal(s) == raw


def test_no_size() -> None:
    s, ids = _hand_built()
    for what in ("func", "proto", "fwd", "tag"):
        with pytest.raises(BTFError, match="has no size"):
            s.sizeof(ids[what])
    with pytest.raises(BTFError, match="has no size"):
        s.sizeof(0)


def test_unencodable_types() -> None:
    for t in (btf.Enum("e", 4, [btf.EnumValue("X", 1 << 33)]),
              btf.Struct("s", 4, [btf.Member(f"m{i}", 0, 0) for i in range(0x10000)]),
              btf.Struct("s", 4, [btf.Member("m", 0, 1 << 24, 1)]),
              btf.Pointer("", -1),
              btf.Func("f", 0, 7)):
        s = btf.Spec()
        s.add(t)
        with pytest.raises(BTFError):
            marshal(s)
    with pytest.raises(BTFError):
        btf.Spec().add(btf.Void())


EXT_HDR = struct.Struct("<HBBIIIIIII")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda b: b[:6], "truncated .BTF.ext header"),
    (lambda b: b"\x00\x00" + b[2:], "bad .BTF.ext magic"),
    (lambda b: b[:2] + b"\x02" + b[3:], "unsupported .BTF.ext version"),
    (lambda b: b[:4] + struct.pack("<I", 8) + b[8:], "shorter than 24"),
    (lambda b: b[:4] + struct.pack("<I", 1 << 20) + b[8:], "past the end"),
    (lambda b: b[:12] + struct.pack("<I", 1 << 20) + b[16:], "runs past the end"),
    (lambda b: b[:32] + struct.pack("<I", 4) + b[36:], "record size 4 is invalid"),
    (lambda b: b[:40] + struct.pack("<I", 1 << 30) + b[44:], "run past the end"),
    (lambda b: b[:36] + struct.pack("<I", 1 << 30) + b[40:], "past the end of the string"),
])
def test_malformed_ext(sample: ElfObject, spec: btf.Spec, mutate: Any, message: str) -> None:
    raw = sample.sections[".BTF.ext"]
    with pytest.raises(BTFError, match=message):
        parse_ext(mutate(raw), spec)


# ------------------------------------------------------------------------------- fuzzing


def _exercise(spec: btf.Spec) -> None:
    """Everything a consumer does with a parsed spec; only BTFError may come out."""
    for i in range(len(spec.types)):
        for op in (spec.format, spec.sizeof, spec.resolve):
            try:
                op(i)
            except BTFError:
                pass
        spec.find(spec.name_of(i))
    marshal(spec)


FUZZ_EXAMPLES = int(os.environ.get("BTF_FUZZ_EXAMPLES", "300"))
"""Examples per object-BTF fuzz test; raise it for a long soak (20000 ran clean)."""

_mutation = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                     min_size=1, max_size=8)


def _mutate(raw: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(raw)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b[:cut]) if cut is not None else bytes(b)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_mutation, cut=st.none() | st.integers(0, 4000))
def test_fuzz_parse(sample: ElfObject, edits: list[tuple[int, int]], cut: int | None) -> None:
    raw = _mutate(sample.sections[".BTF"], edits, cut)
    try:
        spec = parse(raw)
    except BTFError:
        return
    _exercise(spec)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=_mutation, cut=st.none() | st.integers(0, 600))
def test_fuzz_parse_ext(sample: ElfObject, spec: btf.Spec, edits: list[tuple[int, int]],
                        cut: int | None) -> None:
    raw = _mutate(sample.sections[".BTF.ext"], edits, cut)
    try:
        ext = parse_ext(raw, spec)
    except BTFError:
        return
    marshal_ext(ext, spec)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(24, 3_000_000), st.integers(0, 255)),
                      min_size=1, max_size=4))
def test_fuzz_vmlinux_words(vmlinux_raw: bytes, edits: list[tuple[int, int]]) -> None:
    """Mutations in the type section of a real, large BTF: lazily decoded types near the
    damage must fail cleanly too."""
    raw = _mutate(vmlinux_raw, edits, None)
    try:
        spec = parse(raw, validate=False)
    except BTFError:
        return
    n = len(spec.types)
    for i in range(1, n, max(1, n // 3000)):
        try:
            spec.format(i)
            spec.sizeof(i)
        except BTFError:
            pass
    try:
        spec.validate()
    except BTFError:
        return
    marshal(spec)


def test_find_on_spec_built_only_with_add() -> None:
    """A Spec assembled by hand (no parsed bytes) still answers find()."""
    from bpfdoctor.btf import Int, Spec

    s = Spec()
    tid = s.add(Int("int", 4, 1, 0, 32))
    assert s.find("int") == [tid]
    assert s.find("long") == []


def test_find_scan_and_index_agree() -> None:
    """The first lookups scan; later ones use the sorted index: same answers either way."""
    from bpfdoctor.btf import parse
    from bpfdoctor.btf import spec as specmod

    raw = Path("/sys/kernel/btf/vmlinux").read_bytes()
    names = ["task_struct", "sk_buff", "file", "int", "pid", "nonexistent_xyz", "list_head"]
    scanned = parse(raw, validate=False)
    by_scan = [scanned.find(n) for n in names]
    assert scanned._name_index is None  # answered without building the index
    indexed = parse(raw, validate=False)
    indexed._scans = specmod._SCAN_LOOKUPS
    assert [indexed.find(n) for n in names] == by_scan
    assert indexed._name_index is not None
    assert by_scan[0] and not by_scan[5]


# ------------------------------------------------------------------ vmlinux scan cache


def _fresh_vmlinux(monkeypatch: pytest.MonkeyPatch, cache: Path | None) -> btf.Spec:
    """kernel.vmlinux() in a state as if this were a new process, with its cache in
    ``cache`` (or turned off)."""
    if cache is None:
        monkeypatch.setenv("BPFDOCTOR_NO_CACHE", "1")
    else:
        monkeypatch.delenv("BPFDOCTOR_NO_CACHE", raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    btf.kernel.clear_cache()
    return btf.kernel.vmlinux()


def _scan_files(cache: Path) -> list[Path]:
    return sorted((cache / "bpfdoctor").glob("vmlinux-*.scan"))


def _same_spec(a: btf.Spec, b: btf.Spec) -> None:
    """Same records at the same offsets, same answers to lookups, same decoded types."""
    assert list(a._offs) == list(b._offs)
    assert a._names_u32() == b._names_u32()
    assert list(a._index().order) == list(b._index().order)
    for name in ("task_struct", "sk_buff", "int", "list_head", "no_such_type_xyz"):
        assert a.find(name) == b.find(name)
    for i in (1, 2, len(a.types) // 2, len(a.types) - 1):
        assert a.types[i] == b.types[i]


def test_vmlinux_scan_cache_is_written_then_used(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """The first process scans and saves; the next one loads the scan instead of scanning,
    and gets exactly what a scan gives (the oracle: parse() with the cache off)."""
    _vmlinux_raw()
    try:
        reference = _fresh_vmlinux(monkeypatch, None)
        assert not (tmp_path / "bpfdoctor").exists()
        first = _fresh_vmlinux(monkeypatch, tmp_path)
        [saved] = _scan_files(tmp_path)
        assert saved.stat().st_mode & 0o777 == 0o600
        _same_spec(first, reference)

        def no_scan(*args: object) -> None:
            raise AssertionError("scanned although a valid cache exists")
        monkeypatch.setattr(btf.wire, "scan", no_scan)
        second = _fresh_vmlinux(monkeypatch, tmp_path)
        _same_spec(second, reference)
        assert marshal(second) == _vmlinux_raw()
    finally:
        btf.kernel.clear_cache()


@pytest.mark.parametrize("damage", ["truncate", "flip-payload", "flip-magic", "empty",
                                    "wrong-offsets"])
def test_vmlinux_scan_cache_damage_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              damage: str) -> None:
    """A damaged or mismatched cache file costs a rescan, never a wrong answer, and is
    replaced by a good one."""
    _vmlinux_raw()
    try:
        reference = _fresh_vmlinux(monkeypatch, None)
        _fresh_vmlinux(monkeypatch, tmp_path)
        [saved] = _scan_files(tmp_path)
        good = saved.read_bytes()
        blob = bytearray(good)
        if damage == "truncate":
            blob = blob[:len(blob) // 2]
        elif damage == "flip-payload":
            blob[len(blob) // 3] ^= 0x40
        elif damage == "flip-magic":
            blob[0] ^= 1
        elif damage == "empty":
            blob = bytearray()
        else:  # consistent checksum, but the offsets describe some other BTF
            from bpfdoctor.btf.kernel import _load_scan, _save_scan
            state = _load_scan(str(saved))
            assert state is not None
            offs = list(state.offsets)
            offs[-1] += 3
            _save_scan(str(saved), btf.spec.ScanState(offs, state.name_order, state.name_keys))
            blob = bytearray(saved.read_bytes())
        saved.write_bytes(bytes(blob))
        _same_spec(_fresh_vmlinux(monkeypatch, tmp_path), reference)
        assert saved.read_bytes() == good
    finally:
        btf.kernel.clear_cache()


def test_vmlinux_scan_cache_unwritable_dir(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """No place to write the cache is not an error (a file where the directory should be)."""
    _vmlinux_raw()
    (tmp_path / "bpfdoctor").write_bytes(b"not a directory")
    try:
        spec = _fresh_vmlinux(monkeypatch, tmp_path)
        assert spec.find("task_struct", Kind.STRUCT)
        assert list(tmp_path.iterdir()) == [tmp_path / "bpfdoctor"]
    finally:
        btf.kernel.clear_cache()


def test_find_falls_back_to_the_index_for_common_offsets(
        vmlinux: btf.Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name offset shared by more records than a linear search is worth builds the index;
    the answer is the same.  "" is not indexed, so use a name many FUNC_PROTO params share
    as a record name instead: pick the most common record name offset."""
    from collections import Counter

    from bpfdoctor.btf import spec as specmod

    off, count = Counter(vmlinux._name_offs()).most_common(2)[1]  # [0] is anonymous (0)
    assert off and count > 1
    name = vmlinux.string(off)
    fresh = parse(_vmlinux_raw(), validate=False)
    monkeypatch.setattr(specmod, "_SCAN_MAX_HITS", count - 1)
    assert fresh.find(name) == vmlinux.find(name)
    assert fresh._name_index is not None  # the search gave up and built the index
    assert len(fresh.find(name)) >= count


def test_type_records_behave_like_dataclasses() -> None:
    """Field equality (name_off and Struct.kind_flag excluded), exact class match, readable
    repr, mutability and unhashability, as the dataclasses they replace had."""
    from bpfdoctor.btf import (
        VOID,
        Int,
        IntEncoding,
        Member,
        Pointer,
        Struct,
        Union,
        Void,
    )

    s = Struct("s", 8, [Member("a", 1, 0)], name_off=7)
    assert s == Struct("s", 8, [Member("a", 1, 0, name_off=3)], kind_flag=True)
    assert s != Struct("s", 8, [Member("a", 1, 32)])
    assert s != Union("s", 8, [Member("a", 1, 0)])
    assert Struct("s", 8) != "s"
    assert repr(s) == ("Struct(name='s', size=8, members=[Member(name='a', type=1, "
                       "offset_bits=0, bitfield_size=0)], kind_flag=False)")
    assert repr(Int("int", 4, IntEncoding.SIGNED, 0, 32)).startswith("Int(name='int', size=4,")
    assert Pointer() == Pointer("", 0) and Pointer(type=5).type == 5
    assert Void() == VOID and repr(VOID) == "Void()"
    assert Struct("s", 8).members == [] and Struct("t", 1).members is not Struct("t", 1).members
    s.size = 16
    assert s.size == 16
    with pytest.raises(TypeError):
        hash(s)
    with pytest.raises(AttributeError):
        s.nonexistent = 1  # type: ignore[attr-defined]
