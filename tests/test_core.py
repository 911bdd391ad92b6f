"""Unit tests of bpfdoctor.btf.core (CO-RE relocations), without a kernel.

Local (object) and target (kernel) BTF are built by hand, so that every rule of libbpf's
``relo_core.c`` can be exercised on purpose: offsets, sizes, bitfields, flavors, ambiguity,
anonymous members, arrays, enums, type matching, poisoning and the instruction patches.

Oracles besides hand-computed values: the C compiler's own bitfield layout (via ctypes, which
follows the platform ABI) for the shift/offset arithmetic, and the invariant that relocating
against a target identical to the local BTF changes no instruction.
"""

from __future__ import annotations

import ctypes
import errno
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpfdoctor.asm import Instruction, encode, slot_offsets
from bpfdoctor.btf import (
    SIGNED,
    Array,
    Const,
    CoreReloKind,
    Enum,
    Enum64,
    EnumValue,
    Fwd,
    Int,
    Member,
    Pointer,
    Spec,
    Struct,
    Typedef,
    Union,
    Volatile,
    marshal,
    parse,
)
from bpfdoctor.btf.core import (
    POISON_IMM,
    CoreRelocationError,
    CoreResult,
    Targets,
    relocate,
)
from bpfdoctor.btf.core_spec import (
    CoreSpecError,
    essential_name,
    parse_access_string,
    parse_spec,
    types_match,
)
from bpfdoctor.errors import LoadError
from bpfdoctor.spec import CoreReloRec

K = CoreReloKind

# opcodes
LDX_W, LDX_DW, LDX_H, LDX_B = 0x61, 0x79, 0x69, 0x71
STX_W, ST_W, STX_DW = 0x63, 0x62, 0x7B
MOV64_K, ADD64_K, MOV32_K, ADD64_X = 0xB7, 0x07, 0xB4, 0x0F
LD_IMM64, EXIT, JA, CALL = 0x18, 0x95, 0x05, 0x85

POISON = Instruction(CALL, imm=POISON_IMM)


# --------------------------------------------------------------------------- BTF builders


class B:
    """A Spec with the usual integer types, and helpers to add more."""

    def __init__(self, base: Spec | None = None) -> None:
        self.s = Spec(base=base)
        self.int = self.s.add(Int("int", 4, SIGNED, bits=32))
        self.uint = self.s.add(Int("unsigned int", 4, bits=32))
        self.long = self.s.add(Int("long", 8, SIGNED, bits=64))
        self.ulong = self.s.add(Int("long unsigned int", 8, bits=64))
        self.char = self.s.add(Int("char", 1, SIGNED, bits=8))
        self.u16 = self.s.add(Int("short unsigned int", 2, bits=16))

    def add(self, t: object) -> int:
        return self.s.add(t)  # type: ignore[arg-type]

    def struct(self, name: str, members: list[tuple[str, int, int] | tuple[str, int, int, int]],
               size: int | None = None, union: bool = False) -> int:
        ms = [Member(m[0], m[1], m[2], m[3] if len(m) > 3 else 0) for m in members]
        if size is None:
            size = max((m.offset_bits // 8 + self.s.sizeof(m.type) for m in ms), default=0)
            size = (size + 7) // 8 * 8
        cls = Union if union else Struct
        return self.add(cls(name, size, ms))

    def ptr(self, t: int) -> int:
        return self.add(Pointer(type=t))

    def arr(self, t: int, n: int) -> int:
        return self.add(Array(t, self.int, n))


def as_kernel(b: B | Spec, base: Spec | None = None) -> Spec:
    """The spec as the kernel would hand it over: marshalled and parsed back (type ids are
    kept).  Hand-built specs cannot be searched by name (``Spec.find`` fails on them)."""
    return parse(marshal(b.s if isinstance(b, B) else b), base=base)


def rec(insn: int, type_id: int, access: str, kind: int, function: str = "prog") -> CoreReloRec:
    return CoreReloRec(insn, type_id, access, int(kind), function)


def run(insns: list[Instruction], relos: list[CoreReloRec], local: B | Spec,
        target: B | Spec | Targets) -> tuple[list[Instruction], list[CoreResult]]:
    lspec = local.s if isinstance(local, B) else local
    if isinstance(target, (B, Spec)):
        target = Targets(as_kernel(target))
    return relocate(insns, relos, lspec, target)


def one(ins: Instruction, relo: CoreReloRec, local: B, target: B | Targets
        ) -> tuple[Instruction, CoreResult]:
    out, res = run([ins, Instruction(EXIT)], [relo], local, target)
    assert len(res) == 1 and out[-1] == Instruction(EXIT)
    return out[0], res[0]


# --------------------------------------------------------------------------- names, parsing


@pytest.mark.parametrize(("name", "ess"), [
    ("task_struct", "task_struct"),
    ("task_struct___old", "task_struct"),
    ("a___b___c", "a___b"),
    ("____fput", "____fput"),       # no X before the separator
    ("foo____bar", "foo____bar"),   # X and Y may not be underscores
    ("foo___", "foo___"),           # Y missing
    ("x___y", "x"),
    ("nf_conn___init", "nf_conn"),
    ("", ""),
])
def test_essential_name(name: str, ess: str) -> None:
    assert essential_name(name) == ess


@pytest.mark.parametrize("bad", ["", ":0", "0:", "0::1", "a", "0:x", "-1", "0:-2", "1 :2",
                                 "0:" * 70 + "0", "99999999999"])
def test_bad_access_strings(bad: str) -> None:
    with pytest.raises(CoreSpecError):
        parse_access_string(bad)


def test_access_string_syntax_like_sscanf() -> None:
    assert parse_access_string("0:1:2") == [0, 1, 2]
    assert parse_access_string(" 1: 2") == [1, 2]  # %d skips leading blanks


# --------------------------------------------------------------------------- field offsets


def _sample(b: B, name: str = "foo", shift: int = 0) -> tuple[int, int]:
    """struct name { int a; unsigned int b; long c; } with everything moved by ``shift``."""
    sid = b.struct(name, [("pad", b.arr(b.char, shift or 1), 0), ("a", b.int, 8 * (shift or 1)),
                          ("b", b.uint, 8 * ((shift or 1) + 4)),
                          ("c", b.long, 8 * ((shift or 1) + 8 + 7) // 8 * 8)])
    return sid, b.ptr(sid)


def test_byte_offset_ldx_and_alu() -> None:
    local, kern = B(), B()
    lid = local.struct("foo", [("a", local.int, 0), ("b", local.int, 32)])
    kern.struct("foo", [("x", kern.long, 0), ("a", kern.int, 64), ("b", kern.int, 96)])
    ins, res = one(Instruction(LDX_W, 1, 2, 4), rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == Instruction(LDX_W, 1, 2, 12)
    assert (res.orig, res.new, res.poisoned, res.access, res.local_type) == \
        (4, 12, False, "foo.b", "struct foo")
    ins, _ = one(Instruction(ADD64_K, 1, 0, 0, 4), rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins == Instruction(ADD64_K, 1, 0, 0, 12)


def test_patch_bytes_exact() -> None:
    local, kern = B(), B()
    lid = local.struct("foo", [("a", local.int, 0), ("b", local.int, 32)])
    kern.struct("foo", [("b", kern.int, 0), ("a", kern.int, 32)])
    out, _ = run([Instruction(LDX_W, 3, 1, 4), Instruction(MOV64_K, 0, 0, 0, 4),
                  Instruction(EXIT)],
                 [rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET),
                  rec(1, lid, "0:1", K.FIELD_BYTE_OFFSET)], local, kern)
    assert encode(out) == bytes.fromhex("6113000000000000" "b700000000000000"
                                        "9500000000000000")


def test_nested_and_root_index() -> None:
    local, kern = B(), B()
    inner_l = local.struct("in", [("x", local.int, 0), ("y", local.int, 32)], size=8)
    outer_l = local.struct("out", [("i", inner_l, 0), ("z", local.int, 64)], size=12)
    inner_k = kern.struct("in", [("y", kern.int, 0), ("pad", kern.long, 64), ("x", kern.int, 128)])
    kout = kern.struct("out", [("z", kern.long, 0), ("i", inner_k, 64)])
    # &p[2].i.x : 2 * sizeof(out) + offsetof(i) + offsetof(x)
    ins, res = one(Instruction(MOV64_K, 1, imm=2 * 12 + 0 + 0),
                   rec(0, outer_l, "2:0:0", K.FIELD_BYTE_OFFSET), local, kern)
    ksize = kern.s.sizeof(kout)
    assert ins.imm == 2 * ksize + 8 + 16
    assert res.access == "out[2].i.x"


def test_typedefs_and_qualifiers_are_skipped() -> None:
    local, kern = B(), B()
    sid = local.struct("foo", [("a", local.int, 0), ("b", local.add(Const(type=local.int)), 32)])
    td = local.add(Typedef("foo_t", sid))
    ksid = kern.struct("foo", [("pad", kern.long, 0), ("b", kern.add(Volatile(type=kern.int)), 64)])
    kern.add(Typedef("foo_t", kern.add(Const(type=ksid))))
    ins, res = one(Instruction(LDX_W, 1, 1, 4), rec(0, td, "0:1", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins.off == 8 and res.local_type == "foo_t" and res.access == "foo_t.b"


def test_anonymous_members_are_searched() -> None:
    local, kern = B(), B()
    lid = local.struct("sock", [("a", local.int, 0), ("b", local.int, 32)])
    anon_inner = kern.struct("", [("q", kern.int, 0), ("b", kern.int, 32)])
    anon_u = kern.struct("", [("w", kern.long, 0), ("", anon_inner, 0)], union=True)
    kern.struct("sock", [("a", kern.long, 0), ("", anon_u, 64)])
    ins, res = one(Instruction(LDX_W, 1, 1, 4), rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins.off == 8 + 4 and not res.poisoned


def test_same_named_incompatible_member_in_anonymous_struct_is_skipped() -> None:
    """libbpf: a same-named member of the wrong type inside an anonymous member ends the
    search of that anonymous member only; the enclosing struct is searched on."""
    local, kern = B(), B()
    lid = local.struct("s", [("f", local.int, 0)])
    inner = kern.struct("", [("f", kern.struct("x", [("z", kern.int, 0)]), 0)])
    kern.struct("s", [("", inner, 0), ("f", kern.int, 64)])
    ins, _ = one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins.off == 8


def test_incompatible_top_level_member_poisons() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("f", local.int, 0)])
    kern.struct("s", [("f", kern.struct("x", [("z", kern.int, 0)]), 0)])
    ins, res = one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == POISON and res.poisoned
    assert "not compatible" in (res.reason or "")


def test_struct_and_union_members_are_compatible() -> None:
    local, kern = B(), B()
    lu = local.struct("u", [("x", local.int, 0)], union=True)
    lid = local.struct("s", [("m", lu, 0), ("n", local.int, 32)])
    ks = kern.struct("different_name", [("x", kern.int, 0)])
    kern.struct("s", [("n", kern.int, 0), ("m", ks, 32)])
    ins, _ = one(Instruction(MOV64_K, imm=0), rec(0, lid, "0:0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins.imm == 4


# --------------------------------------------------------------------------- load sizes


@pytest.mark.parametrize(("lt", "kt", "op_in", "op_out"), [
    ("uint", "ulong", LDX_W, LDX_DW),     # unsigned: widened
    ("ulong", "uint", LDX_DW, LDX_W),     # unsigned: narrowed
    ("uint", "u16", STX_W, 0x6B),         # stores are resized too (STX_H)
])
def test_unsigned_field_load_is_resized(lt: str, kt: str, op_in: int, op_out: int) -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("pad", local.int, 0), ("f", getattr(local, lt), 64)])
    kern.struct("s", [("f", getattr(kern, kt), 0)])
    ins, res = one(Instruction(op_in, 1, 2, 8), rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == Instruction(op_out, 1, 2, 0) and not res.poisoned


def test_pointer_load_is_resized() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("p", local.ptr(local.int), 0)])
    kern.struct("s", [("x", kern.long, 0), ("p", kern.ptr(kern.long), 64)])
    ins, _ = one(Instruction(LDX_DW, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins == Instruction(LDX_DW, 1, 1, 8)  # any two pointers are compatible


def test_signed_field_of_other_size_is_poisoned_not_resized() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("f", local.int, 0)])
    kern.struct("s", [("f", kern.long, 0)])
    ins, res = one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == POISON and res.poisoned and res.new is None and res.orig == 0
    assert "unsigned integers" in (res.reason or "")
    # an ALU use of the same relocation is not a memory access: no size rule
    ins, res = one(Instruction(ADD64_K, 1, imm=0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins.imm == 0 and not res.poisoned


def test_load_size_mismatch_with_instruction_is_an_error() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("f", local.uint, 0)])
    kern.struct("s", [("f", kern.ulong, 0)])
    with pytest.raises(CoreRelocationError) as ei:
        one(Instruction(LDX_H, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET), local, kern)
    assert ei.value.errno == errno.EINVAL and "2-byte" in str(ei.value)


def test_offset_too_large_is_erange() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("f", local.int, 0)])
    big = kern.arr(kern.char, 40000)
    kern.struct("s", [("pad", big, 0), ("f", kern.int, 40000 * 8)])
    with pytest.raises(CoreRelocationError) as ei:
        one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET), local, kern)
    assert ei.value.errno == errno.ERANGE
    # as an ALU immediate the same offset is fine
    ins, _ = one(Instruction(ADD64_K, 1, imm=0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins.imm == 40000


# --------------------------------------------------------------------------- sizes, arrays


def test_byte_size_and_arrays() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("comm", local.arr(local.char, 16), 0), ("n", local.int, 128)])
    kern.struct("s", [("n", kern.int, 0), ("comm", kern.arr(kern.char, 32), 64)])
    ins, _ = one(Instruction(MOV64_K, imm=16), rec(0, lid, "0:0", K.FIELD_BYTE_SIZE), local, kern)
    assert ins.imm == 32
    ins, res = one(Instruction(MOV64_K, imm=5), rec(0, lid, "0:0:5", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins.imm == 8 + 5 and res.access == "s.comm[5]"
    ins, _ = one(Instruction(MOV64_K, imm=1), rec(0, lid, "0:0:5", K.FIELD_BYTE_SIZE),
                 local, kern)
    assert ins.imm == 1
    with pytest.raises(CoreRelocationError):  # signedness of an array element: refused
        one(Instruction(MOV64_K, imm=1), rec(0, lid, "0:0:5", K.FIELD_SIGNED), local, kern)


def test_array_index_out_of_kernel_bounds_poisons() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("a", local.arr(local.int, 8), 0)])
    kern.struct("s", [("a", kern.arr(kern.int, 4), 0)])
    ins, res = one(Instruction(MOV64_K, imm=24), rec(0, lid, "0:0:6", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == POISON and "out of bounds" in (res.reason or "")
    with pytest.raises(CoreRelocationError):  # out of the object's own bounds: malformed
        one(Instruction(MOV64_K, imm=40), rec(0, lid, "0:0:10", K.FIELD_BYTE_OFFSET),
            local, kern)


def test_flexible_array_may_be_indexed() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("n", local.int, 0), ("data", local.arr(local.long, 0), 64)])
    kern.struct("s", [("n", kern.long, 0), ("x", kern.long, 64),
                      ("data", kern.arr(kern.long, 0), 128)])
    ins, _ = one(Instruction(MOV64_K, imm=8 + 3 * 8), rec(0, lid, "0:1:3",
                 K.FIELD_BYTE_OFFSET), local, kern)
    assert ins.imm == 16 + 3 * 8


# --------------------------------------------------------------------------- bitfields


class _Bits(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32, 3), ("b", ctypes.c_int32, 5), ("c", ctypes.c_uint32, 17),
                ("d", ctypes.c_uint64, 40), ("e", ctypes.c_int64, 23), ("f", ctypes.c_uint8, 2),
                ("g", ctypes.c_int16, 9)]


def _btf_from_ctypes(b: B, cls: type[ctypes.Structure], name: str) -> int:
    """BTF (kind_flag bitfields) of a ctypes struct, whose layout is the C ABI's."""
    ints = {ctypes.c_uint32: b.uint, ctypes.c_int32: b.int, ctypes.c_uint64: b.ulong,
            ctypes.c_int64: b.long, ctypes.c_uint8: b.add(Int("unsigned char", 1, bits=8)),
            ctypes.c_int16: b.add(Int("short", 2, SIGNED, bits=16))}
    members = []
    for fname, ctype, _bits in cls._fields_:  # type: ignore[misc]
        desc = getattr(cls, fname)
        bits, bit_off = desc.size >> 16, desc.size & 0xFFFF
        members.append(Member(fname, ints[ctype], desc.offset * 8 + bit_off, bits))
    return b.add(Struct(name, ctypes.sizeof(cls), members))


def _read_field(blob: bytes, off: int, size: int, lshift: int, rshift: int, signed: bool) -> int:
    """What a BPF_CORE_READ_BITFIELD does with the four relocated values."""
    v = int.from_bytes(blob[off:off + size], "little") << lshift & (1 << 64) - 1
    if signed and v >> 63:
        v -= 1 << 64  # Python's >> is arithmetic on negative numbers, as BPF's ARSH
    return v >> rshift


def test_bitfields_agree_with_the_c_abi() -> None:
    """Relocating each bitfield of a local layout to the ABI's layout (from ctypes) and
    reading a random blob with the relocated offset/size/shifts gives what C reads."""
    local, kern = B(), B()
    lid = local.struct("bits", [(f[0], local.long, 64 * i) for i, f in enumerate(_Bits._fields_)])
    _btf_from_ctypes(kern, _Bits, "bits")
    rnd = random.Random(7)
    for trial in range(20):
        blob = bytes(rnd.randrange(256) for _ in range(ctypes.sizeof(_Bits)))
        c = _Bits.from_buffer_copy(blob)
        for i, (fname, _, _) in enumerate(_Bits._fields_):
            vals = {}
            for kind in (K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64,
                         K.FIELD_RSHIFT_U64, K.FIELD_SIGNED):
                # local fields are plain longs, so local values are what an 8-byte field gives
                lv = {K.FIELD_BYTE_OFFSET: 8 * i, K.FIELD_BYTE_SIZE: 8, K.FIELD_LSHIFT_U64: 0,
                      K.FIELD_RSHIFT_U64: 0, K.FIELD_SIGNED: 1}[kind]
                ins, res = one(Instruction(MOV64_K, imm=lv), rec(0, lid, f"0:{i}", kind),
                               local, kern)
                vals[kind] = ins.imm
                assert not res.poisoned
            got = _read_field(blob, vals[K.FIELD_BYTE_OFFSET], vals[K.FIELD_BYTE_SIZE],
                              vals[K.FIELD_LSHIFT_U64], vals[K.FIELD_RSHIFT_U64],
                              bool(vals[K.FIELD_SIGNED]))
            assert got == getattr(c, fname), (trial, fname, vals)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 4, 8]), st.integers(0, 255), st.data())
def test_bitfield_extraction_at_any_position(size: int, bit_off: int, data: st.DataObject
                                             ) -> None:
    """For a bitfield anywhere (packed structs put them across unit boundaries), the
    relocated load reads exactly its bits, or libbpf's E2BIG when no aligned 8-byte load
    covers them.  The oracle is the definition: bits [off, off+n) of the little-endian
    memory."""
    bits = data.draw(st.integers(1, size * 8))
    signed = data.draw(st.booleans())
    local, kern = B(), B()
    ltype = local.long if signed else local.ulong
    lid = local.add(Struct("s", 48, [Member("x", ltype, 0, 64)]))
    ktype = kern.add(Int("k", size, SIGNED if signed else 0, bits=size * 8))
    kern.add(Struct("s", 48, [Member("x", ktype, bit_off, bits)]))
    crosses = bit_off // 64 != (bit_off + bits - 1) // 64
    vals = {}
    for kind in (K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64,
                 K.FIELD_RSHIFT_U64):
        orig = {K.FIELD_BYTE_SIZE: 8}.get(kind, 0)
        if crosses:
            with pytest.raises(CoreRelocationError) as ei:
                one(Instruction(MOV64_K, imm=orig), rec(0, lid, "0:0", kind), local, kern)
            assert ei.value.errno == errno.E2BIG
            return
        ins, _ = one(Instruction(MOV64_K, imm=orig), rec(0, lid, "0:0", kind), local, kern)
        vals[kind] = ins.imm
    off, sz = vals[K.FIELD_BYTE_OFFSET], vals[K.FIELD_BYTE_SIZE]
    assert sz in (1, 2, 4, 8) and off % sz == 0  # one naturally aligned load
    blob = bytes(data.draw(st.lists(st.integers(0, 255), min_size=48, max_size=48)))
    want = int.from_bytes(blob, "little") >> bit_off & ((1 << bits) - 1)
    if signed and want >> (bits - 1):
        want -= 1 << bits
    assert _read_field(blob, off, sz, vals[K.FIELD_LSHIFT_U64], vals[K.FIELD_RSHIFT_U64],
                       signed) == want


def test_bitfield_offset_is_not_validated_but_rshift_is() -> None:
    """libbpf does not check a bitfield's offset/size/lshift against the instruction (the
    compiler may choose another load), but it does check the right shift and signedness."""
    local, kern = B(), B()
    lid = local.add(Struct("s", 8, [Member("x", local.uint, 3, 5)]))
    kern.add(Struct("s", 8, [Member("x", kern.uint, 35, 5)]))
    ins, _ = one(Instruction(MOV64_K, imm=999), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins.imm == 4
    with pytest.raises(CoreRelocationError):
        one(Instruction(MOV64_K, imm=58), rec(0, lid, "0:0", K.FIELD_RSHIFT_U64), local, kern)
    ins, _ = one(Instruction(MOV64_K, imm=59), rec(0, lid, "0:0", K.FIELD_RSHIFT_U64),
                 local, kern)
    assert ins.imm == 59


def test_bitfield_wider_than_a_load_is_e2big() -> None:
    local, kern = B(), B()
    lid = local.add(Struct("s", 16, [Member("x", local.ulong, 0, 60)]))
    kern.add(Struct("s", 16, [Member("x", kern.ulong, 8, 60)]))  # straddles 8-byte words
    with pytest.raises(CoreRelocationError) as ei:
        one(Instruction(MOV64_K, imm=0), rec(0, lid, "0:0", K.FIELD_BYTE_SIZE), local, kern)
    assert ei.value.errno == errno.E2BIG


# --------------------------------------------------------------------------- existence


def test_missing_field_poisons_and_exists_is_zero() -> None:
    local, kern = B(), B()
    lid = local.struct("task_struct___old", [("state", local.long, 0)])
    kern.struct("task_struct", [("__state", kern.uint, 0)])
    ins, res = one(Instruction(LDX_DW, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                   local, kern)
    assert ins == POISON and res.poisoned and res.new is None
    assert res.reason == "field 'state' does not exist in struct task_struct in this kernel"
    assert res.access == "task_struct___old.state" and res.candidates == 1
    ins, res = one(Instruction(MOV64_K, imm=1), rec(0, lid, "0:0", K.FIELD_EXISTS), local, kern)
    assert ins == Instruction(MOV64_K, imm=0) and not res.poisoned and res.new == 0
    assert res.reason and "state" in res.reason


def test_missing_type_poisons_fields_zeroes_types() -> None:
    local, kern = B(), B()
    lid = local.struct("gone", [("x", local.int, 0)], size=4)
    for kind, orig in ((K.FIELD_BYTE_OFFSET, 0), (K.FIELD_BYTE_SIZE, 4), (K.FIELD_SIGNED, 1),
                       (K.FIELD_LSHIFT_U64, 32), (K.FIELD_RSHIFT_U64, 32)):
        ins, res = one(Instruction(MOV64_K, imm=orig), rec(0, lid, "0:0", kind), local, kern)
        assert ins == POISON and res.reason == "struct 'gone' does not exist in this kernel"
    for kind, orig in ((K.FIELD_EXISTS, 1), (K.TYPE_EXISTS, 1), (K.TYPE_SIZE, 4),
                       (K.TYPE_MATCHES, 1)):
        access = "0:0" if kind == K.FIELD_EXISTS else "0"
        ins, res = one(Instruction(MOV64_K, imm=orig), rec(0, lid, access, kind), local, kern)
        assert ins == Instruction(MOV64_K, imm=0) and not res.poisoned, kind
    ins, res = one(Instruction(LD_IMM64, imm=lid), rec(0, lid, "0", K.TYPE_ID_TARGET),
                   local, kern)
    assert ins == Instruction(LD_IMM64, imm=0) and not res.poisoned


def test_poisoned_ld_imm64_keeps_its_two_slots() -> None:
    local, kern = B(), B()
    eid = local.add(Enum("e", 4, [EnumValue("A", 1), EnumValue("GONE", 7)]))
    kern.add(Enum("e", 4, [EnumValue("A", 5)]))
    insns = [Instruction(LD_IMM64, 1, imm=7), Instruction(JA, off=-3),
             Instruction(LD_IMM64, 2, imm=1), Instruction(EXIT)]
    out, res = run(insns, [rec(0, eid, "1", K.ENUMVAL_VALUE), rec(3, eid, "0",
                   K.ENUMVAL_VALUE)], local, kern)
    assert out == [POISON, POISON, Instruction(JA, off=-3), Instruction(LD_IMM64, 2, imm=5),
                   Instruction(EXIT)]
    assert slot_offsets(out)[-1] == slot_offsets(insns)[-1]
    assert res[0].reason == "enum value 'GONE' does not exist in enum e in this kernel"
    assert res[0].access == "enum e::GONE" and res[1].new == 5


def test_input_is_not_modified() -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("a", local.int, 0)])
    kern.struct("s", [("x", kern.int, 0), ("a", kern.int, 32)])
    insns = [Instruction(LDX_W, 1, 1, 0, symbol="prog"), Instruction(EXIT)]
    copy = [replace(i) for i in insns]
    out, _ = run(insns, [rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET)], local, kern)
    assert insns == copy and insns[0].off == 0 and out[0].off == 4
    assert out[0].symbol == "prog"


# --------------------------------------------------------------------------- enums


def test_enum_values_signed_enum64_and_flavors() -> None:
    local, kern = B(), B()
    le = local.add(Enum("pid_type", 4, [EnumValue("PIDTYPE_PID", 0),
                                        EnumValue("PIDTYPE_TGID___new", 1)]))
    kern.add(Enum("pid_type", 4, [EnumValue("PIDTYPE_TGID", 3), EnumValue("PIDTYPE_PID", 0)]))
    ins, res = one(Instruction(LD_IMM64, imm=1), rec(0, le, "1", K.ENUMVAL_VALUE), local, kern)
    assert ins.imm == 3 and res.access == "enum pid_type::PIDTYPE_TGID___new"
    ins, _ = one(Instruction(MOV64_K, imm=1), rec(0, le, "1", K.ENUMVAL_EXISTS), local, kern)
    assert ins.imm == 1

    # 32-bit enumerators are widened as s32 (libbpf), even for an unsigned enum
    local2, kern2 = B(), B()
    le2 = local2.add(Enum("big", 4, [EnumValue("NEG", -2)], signed=True))
    kern2.add(Enum("big", 4, [EnumValue("NEG", 0x80000000)], signed=False))
    ins, res = one(Instruction(LD_IMM64, imm=-2), rec(0, le2, "0", K.ENUMVAL_VALUE),
                   local2, kern2)
    assert ins.imm == -0x80000000 and res.new == 0xFFFFFFFF80000000

    # ENUM and ENUM64 are candidates for each other; 64-bit values go in whole
    local3, kern3 = B(), B()
    le3 = local3.add(Enum("cc", 4, [EnumValue("HV", 1)]))
    kern3.add(Enum64("cc", 8, [EnumValue("HV", 0xFFFFFFFFFFFFFFE0)]))
    ins, res = one(Instruction(LD_IMM64, imm=1), rec(0, le3, "0", K.ENUMVAL_VALUE),
                   local3, kern3)
    assert ins.imm == -32 and res.new == 0xFFFFFFFFFFFFFFE0


def test_enumval_access_must_be_a_value_of_an_enum() -> None:
    local, kern = B(), B()
    le = local.add(Enum("e", 4, [EnumValue("A", 0)]))
    kern.add(Enum("e", 4, [EnumValue("A", 0)]))
    for access in ("1", "0:0"):
        with pytest.raises(CoreRelocationError):
            one(Instruction(MOV64_K), rec(0, le, access, K.ENUMVAL_VALUE), local, kern)


# --------------------------------------------------------------------------- types


def test_type_based_kinds() -> None:
    local, kern = B(), B()
    local.struct("filler", [("a", local.int, 0)])  # so that local and kernel ids differ
    lid = local.struct("foo", [("a", local.int, 0)], size=4)
    kid = kern.struct("foo", [("a", kern.int, 0), ("b", kern.long, 64)])
    assert lid != kid
    ins, res = one(Instruction(MOV64_K, imm=4), rec(0, lid, "0", K.TYPE_SIZE), local, kern)
    assert ins.imm == 16 and res.target_type_id == kid
    ins, _ = one(Instruction(MOV64_K, imm=1), rec(0, lid, "0", K.TYPE_EXISTS), local, kern)
    assert ins.imm == 1
    ins, _ = one(Instruction(LD_IMM64, imm=lid), rec(0, lid, "0", K.TYPE_ID_TARGET), local, kern)
    assert ins.imm == kid
    ins, _ = one(Instruction(LD_IMM64, imm=12345), rec(0, lid, "0", K.TYPE_ID_LOCAL),
                 local, kern)
    assert ins.imm == lid  # never validated: ids move when objects are linked
    with pytest.raises(CoreRelocationError):
        one(Instruction(MOV64_K, imm=1), rec(0, lid, "0:0", K.TYPE_EXISTS), local, kern)


def test_type_exists_requires_compatible_kind() -> None:
    local, kern = B(), B()
    lid = local.struct("foo", [("a", local.int, 0)])
    kern.struct("foo", [("a", kern.int, 0)], union=True)
    ins, res = one(Instruction(MOV64_K, imm=1), rec(0, lid, "0", K.TYPE_EXISTS), local, kern)
    assert ins.imm == 0 and res.candidates == 0


def _match(lb: B, lid: int, kb: B, kid: int) -> bool:
    return types_match(lb.s, lid, kb.s, kid)


def test_type_matches_rules() -> None:
    lb, kb = B(), B()
    # members must all exist, by name, with matching types; extra kernel members are fine
    l1 = lb.struct("m", [("a", lb.int, 0), ("p", lb.ptr(lb.add(Fwd("other"))), 64)])
    k_other = kb.struct("other", [("z", kb.int, 0)])
    k1 = kb.struct("m", [("x", kb.long, 0), ("a", kb.int, 64), ("p", kb.ptr(k_other), 128)])
    assert _match(lb, l1, kb, k1)      # a fwd behind a pointer matches the struct
    k2 = kb.struct("m", [("a", kb.uint, 0), ("p", kb.ptr(k_other), 64)])
    assert not _match(lb, l1, kb, k2)  # signedness differs
    k3 = kb.struct("m", [("a", kb.int, 0)])
    assert not _match(lb, l1, kb, k3)  # member p missing
    lu = lb.add(Fwd("other", is_union=True))
    l4 = lb.struct("m", [("p", lb.ptr(lu), 0)])
    assert not _match(lb, l4, kb, k1)  # a union fwd does not match a struct
    # enums: names of local values must exist, sizes equal; values may differ
    le = lb.add(Enum("e", 4, [EnumValue("A", 1)]))
    ke = kb.add(Enum("e", 4, [EnumValue("B", 1), EnumValue("A", 9)]))
    ke8 = kb.add(Enum64("e", 8, [EnumValue("A", 1)]))
    assert _match(lb, le, kb, ke) and not _match(lb, le, kb, ke8)
    # arrays: same length
    assert _match(lb, lb.arr(lb.int, 4), kb, kb.arr(kb.int, 4))
    assert not _match(lb, lb.arr(lb.int, 4), kb, kb.arr(kb.int, 5))


def test_type_matches_relocation() -> None:
    local, kern = B(), B()
    good = local.struct("foo", [("a", local.int, 0)])
    bad = local.struct("foo___bad", [("a", local.long, 0)])
    kern.struct("foo", [("b", kern.long, 0), ("a", kern.int, 64)])
    ins, _ = one(Instruction(MOV64_K, imm=1), rec(0, good, "0", K.TYPE_MATCHES), local, kern)
    assert ins.imm == 1
    ins, res = one(Instruction(MOV64_K, imm=1), rec(0, bad, "0", K.TYPE_MATCHES), local, kern)
    assert ins.imm == 0 and not res.poisoned and "does not match" in (res.reason or "")


# --------------------------------------------------------------------------- candidates


def test_flavored_kernel_types_are_candidates_and_must_agree() -> None:
    local = B()
    lid = local.struct("foo", [("a", local.int, 0)])
    same = B()
    same.struct("foo", [("a", same.int, 32)])
    same.struct("foo___x", [("b", same.long, 0), ("a", same.int, 32)])
    ins, res = one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                   local, same)
    assert ins.off == 4 and res.candidates == 2

    amb = B()
    amb.struct("foo", [("a", amb.int, 32)])
    amb.struct("foo___x", [("a", amb.int, 64)])
    with pytest.raises(CoreRelocationError) as ei:
        one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET), local, amb)
    err = ei.value
    assert isinstance(err, LoadError) and err.errno == errno.EINVAL and "ambiguous" in str(err)
    assert err.result.access == "foo.a" and err.index == 0


def test_type_id_target_with_two_candidates_is_ambiguous() -> None:
    local, kern = B(), B()
    lid = local.struct("foo", [("a", local.int, 0)], size=4)
    kern.struct("foo", [("a", kern.int, 0)], size=4)
    kern.struct("foo", [("a", kern.int, 0)], size=4)
    with pytest.raises(CoreRelocationError):
        one(Instruction(LD_IMM64, imm=lid), rec(0, lid, "0", K.TYPE_ID_TARGET), local, kern)
    ins, _ = one(Instruction(MOV64_K, imm=4), rec(0, lid, "0", K.TYPE_SIZE), local, kern)
    assert ins.imm == 4  # same answer from both: fine


def test_candidate_list_is_pruned_per_local_type() -> None:
    """libbpf keeps only the candidates that matched a relocation for later relocations of
    the same local type, so a field only the pruned-away candidate has is then missing."""
    local, kern = B(), B()
    lid = local.struct("tp", [("ret", local.long, 0), ("args", local.arr(local.ulong, 6), 64)])
    kern.struct("tp", [("nr", kern.int, 0), ("ret", kern.long, 64)])
    kern.struct("tp", [("nr", kern.int, 0), ("args", kern.arr(kern.ulong, 6), 64)])
    exists = rec(1, lid, "0:1", K.FIELD_EXISTS)
    out, res = run([Instruction(MOV64_K, imm=1), Instruction(EXIT)],
                   [replace(exists, insn=0)], local, kern)
    assert out[0].imm == 1  # alone: the second candidate has args
    out, res = run([Instruction(LDX_DW, 1, 1, 0), Instruction(MOV64_K, imm=1),
                    Instruction(EXIT)],
                   [rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET), exists], local, kern)
    assert out[0].off == 8 and out[1].imm == 0
    assert res[1].candidates == 1
    assert res[1].reason == ("field 'args' does not exist in struct tp in this kernel; 1 other "
                             "kernel type named 'tp' was ruled out by an earlier relocation "
                             "of the same type (libbpf keeps only the candidates that "
                             "matched)")


def test_flavor_lookup_covers_tail_strings() -> None:
    """A kernel type whose name offset points into the middle of another string is found."""
    local, kern = B(), B()
    lid = local.struct("foo", [("a", local.int, 0)])
    off = kern.s.add_string("xfoo___tail")
    kern.add(Struct("foo___tail", 8, [Member("a", kern.int, 32)], name_off=off + 1))
    assert kern.s.string(off + 1) == "foo___tail"
    ins, _ = one(Instruction(LDX_W, 1, 1, 0), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET),
                 local, kern)
    assert ins.off == 4


def test_module_btf_is_searched_only_without_vmlinux_candidates() -> None:
    vm = B()
    vm.struct("in_vmlinux", [("a", vm.int, 32)])
    vms = as_kernel(vm)
    mod = Spec(base=vms)
    mod_id = mod.add(Struct("in_module", 8, [Member("a", vm.int, 32)]))
    mod = as_kernel(mod, base=vms)
    calls = []

    def modules() -> list[tuple[str, Spec]]:
        calls.append(1)
        return [("mymod", mod)]

    tg = Targets(vms, modules)
    local = B()
    a = local.struct("in_vmlinux", [("a", local.int, 0)])
    b = local.struct("in_module", [("a", local.int, 0)])
    ins, _ = one(Instruction(LDX_W, 1, 1, 0), rec(0, a, "0:0", K.FIELD_BYTE_OFFSET), local, tg)
    assert ins.off == 4 and not calls
    ins, res = one(Instruction(LD_IMM64, imm=b), rec(0, b, "0", K.TYPE_ID_TARGET), local, tg)
    assert ins.imm == mod_id and res.target_type_id == mod_id and mod_id >= vm.s.type_count
    one(Instruction(LDX_W, 1, 1, 0), rec(0, b, "0:0", K.FIELD_BYTE_OFFSET), local, tg)
    assert calls == [1]
    assert tg.candidates("in_module", Struct.kind)[0].source == "mymod"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("ins", "what"), [
    (Instruction(JA, off=1), "cannot be relocated"),
    (Instruction(ADD64_X, 1, 2), "register operand"),
    (Instruction(LD_IMM64, 1, 1, imm=4), "unexpected form"),
    (Instruction(MOV64_K, imm=5), "the object's BTF implies 4"),
    (Instruction(LDX_W, 1, 1, 8), "offset 8"),
])
def test_instruction_that_does_not_fit_is_an_error(ins: Instruction, what: str) -> None:
    local, kern = B(), B()
    lid = local.struct("s", [("x", local.int, 0), ("a", local.int, 32)])
    kern.struct("s", [("a", kern.int, 0)])
    with pytest.raises(CoreRelocationError) as ei:
        one(ins, rec(0, lid, "0:1", K.FIELD_BYTE_OFFSET), local, kern)
    assert what in str(ei.value) and ei.value.errno == errno.EINVAL
    assert "#0" in str(ei.value) and "'prog'" in str(ei.value)


@pytest.mark.parametrize(("relo", "what"), [
    (rec(0, 1, "0", 99), "unknown CO-RE relocation kind 99"),
    (rec(0, 999, "0:0", K.FIELD_BYTE_OFFSET), "bad BTF"),
    (rec(0, 7, "0:5", K.FIELD_BYTE_OFFSET), "out of range"),
    (rec(0, 7, "", K.FIELD_BYTE_OFFSET), "malformed"),
    (rec(1, 7, "0:0", K.FIELD_BYTE_OFFSET), "not the start of an instruction"),
    (rec(9, 7, "0:0", K.FIELD_BYTE_OFFSET), "not the start of an instruction"),
])
def test_malformed_relocations_are_errors(relo: CoreReloRec, what: str) -> None:
    local, kern = B(), B()
    assert local.struct("s", [("a", local.int, 0)]) == 7
    kern.struct("s", [("a", kern.int, 0)])
    with pytest.raises(CoreRelocationError) as ei:
        run([Instruction(LD_IMM64, imm=0), Instruction(EXIT)], [relo], local, kern)
    assert what in str(ei.value)
    assert isinstance(ei.value.result, CoreResult)


def test_anonymous_local_type_is_refused() -> None:
    local, kern = B(), B()
    lid = local.struct("", [("a", local.int, 0)])
    with pytest.raises(CoreRelocationError, match="anonymous"):
        one(Instruction(MOV64_K), rec(0, lid, "0:0", K.FIELD_BYTE_OFFSET), local, kern)
    ins, _ = one(Instruction(MOV64_K, imm=3), rec(0, lid, "0", K.TYPE_ID_LOCAL), local, kern)
    assert ins.imm == lid  # the local id needs no kernel candidate


def test_parse_spec_high_and_low_level() -> None:
    b = B()
    inner = b.struct("", [("q", b.int, 0), ("r", b.arr(b.int, 4), 32)])
    sid = b.struct("s", [("a", b.long, 0), ("", inner, 64)])
    spec = parse_spec(b.s, sid, "1:1:1:2", K.FIELD_BYTE_OFFSET)
    assert spec.raw == [1, 1, 1, 2]
    assert [(a.name, a.idx) for a in spec.accessors] == [(None, 1), ("r", 1), (None, 2)]
    assert spec.bit_offset == 8 * (32 + 8 + 4 + 2 * 4)
    assert spec.path("s") == "s[1].r[2]"


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["int", "uint", "long", "ulong", "char", "u16"]), min_size=1,
                max_size=8), st.data())
def test_relocating_against_itself_changes_nothing(types: list[str], data: st.DataObject
                                                   ) -> None:
    """Any field access relocated against a kernel with the very same layout keeps every
    instruction as the compiler wrote it."""
    b = B()
    members, off = [], 0
    for i, t in enumerate(types):
        tid = getattr(b, t)
        size = b.s.sizeof(tid)
        off = (off + size - 1) // size * size
        members.append((f"f{i}", tid, off * 8))
        off += size
    sid = b.struct("s", members)
    idx = data.draw(st.integers(0, len(types) - 1))
    size = b.s.sizeof(members[idx][1])
    op = {1: LDX_B, 2: LDX_H, 4: LDX_W, 8: LDX_DW}[size]
    signed = b.s.type_by_id(members[idx][1]).signed  # type: ignore[attr-defined]
    insns = [Instruction(op, 1, 2, members[idx][2] // 8),
             Instruction(MOV64_K, imm=size), Instruction(MOV64_K, imm=int(signed)),
             Instruction(MOV64_K, imm=64 - 8 * size), Instruction(MOV64_K, imm=1),
             Instruction(EXIT)]
    relos = [rec(0, sid, f"0:{idx}", K.FIELD_BYTE_OFFSET),
             rec(1, sid, f"0:{idx}", K.FIELD_BYTE_SIZE), rec(2, sid, f"0:{idx}", K.FIELD_SIGNED),
             rec(3, sid, f"0:{idx}", K.FIELD_RSHIFT_U64), rec(4, sid, f"0:{idx}", K.FIELD_EXISTS)]
    out, res = run(insns, relos, b, b)
    assert out == insns
    assert all(r.orig == r.new and not r.poisoned for r in res)
