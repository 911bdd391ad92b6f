"""BTF wire format: the header, the type-section scan, and one-type decode/encode.

Nothing here knows about :class:`~bpfdoctor.btf.spec.Spec`; it works on the type section
viewed as native-order u32 words (every BTF record is a multiple of 4 bytes) and on a
:class:`~bpfdoctor.btf.strings.StringTable`.

Decoding is strict where the kernel is: bits it reserves must be zero, kind_flag only on the
kinds that define it, vlen only on the kinds that have one.  Rejecting those here is what
guarantees that a decoded type encodes back to the same bytes.
"""

from __future__ import annotations

import struct
import sys
from array import array

from ..errors import BTFError
from .strings import StringTable
from .types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Kind,
    Member,
    Param,
    Pointer,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (and re) at run time
if TYPE_CHECKING:
    from typing import Literal

    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # at run time only a name to import; the checks compare the values

MAGIC = 0xEB9F
VERSION = 1
HEADER_LEN = 24
MAX_TYPE_ID = 0x000FFFFF
MAX_VLEN = 0xFFFF

_INFO_RESERVED = 0x60FF0000  # bits 16-23 and 29-30
_INT_RESERVED = 0xF000FF00  # bits 8-15 and 28-31 of an INT's extra word

# Words after the 3-word btf_type header: a fixed part, plus this many per vlen entry.
_EXTRA_WORDS = {
    Kind.INT: 1, Kind.ARRAY: 3, Kind.VAR: 1, Kind.DECL_TAG: 1,
}
_PER_VLEN_WORDS = {
    Kind.STRUCT: 3, Kind.UNION: 3, Kind.ENUM: 2, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3,
    Kind.ENUM64: 3,
}
_KFLAG_KINDS = frozenset({Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64,
                          Kind.DECL_TAG, Kind.TYPE_TAG})
_MAX_FUNC_LINKAGE = 2


def struct_prefix(byteorder: ByteOrder) -> str:
    """The :mod:`struct` byte-order prefix for ``byteorder``."""
    return "<" if byteorder == "little" else ">"


class Header:
    """``struct btf_header`` (a longer ``hdr_len`` is allowed if the tail is zeros).

    A plain class rather than a dataclass: defining dataclasses is a noticeable part of the
    import time that every kernel BTF user pays."""

    __slots__ = ("flags", "hdr_len", "str_len", "str_off", "type_len", "type_off")

    def __init__(self, flags: int, hdr_len: int, type_off: int, type_len: int, str_off: int,
                 str_len: int) -> None:
        self.flags = flags
        self.hdr_len = hdr_len
        self.type_off = type_off
        self.type_len = type_len
        self.str_off = str_off
        self.str_len = str_len

    def __repr__(self) -> str:
        return (f"Header(flags={self.flags}, hdr_len={self.hdr_len}, type_off={self.type_off}, "
                f"type_len={self.type_len}, str_off={self.str_off}, str_len={self.str_len})")


def parse_header(raw: bytes, byteorder: ByteOrder) -> Header:
    """Check the header and the section layout the way the kernel does."""
    e = struct_prefix(byteorder)
    if len(raw) < HEADER_LEN:
        raise BTFError(f"truncated BTF header: {len(raw)} bytes, need {HEADER_LEN}")
    (magic,) = struct.unpack_from(e + "H", raw, 0)
    if magic != MAGIC:
        if magic == 0x9FEB:
            other = "big" if byteorder == "little" else "little"
            raise BTFError(f"BTF is {other}-endian, expected {byteorder}-endian")
        raise BTFError(f"bad BTF magic {magic:#06x} (expected {MAGIC:#06x})")
    _, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        e + "HBBIIIII", raw, 0)
    if version != VERSION:
        raise BTFError(f"unsupported BTF version {version}")
    if hdr_len < HEADER_LEN:
        raise BTFError(f"BTF header length {hdr_len} is shorter than {HEADER_LEN}")
    if hdr_len > len(raw):
        raise BTFError(f"BTF header length {hdr_len} is past the end of the data "
                       f"({len(raw)} bytes)")
    if any(raw[HEADER_LEN:hdr_len]):
        raise BTFError("BTF header has non-zero fields this parser does not know")
    body = len(raw) - hdr_len
    for what, off, ln in (("type", type_off, type_len), ("string", str_off, str_len)):
        if off + ln > body:
            raise BTFError(f"BTF {what} section ({off}+{ln}) runs past the end of the data "
                           f"({body} bytes after the header)")
    if type_off % 4:
        raise BTFError(f"BTF type section offset {type_off} is not 4-byte aligned")
    if type_len % 4:
        raise BTFError(f"BTF type section length {type_len} is not a multiple of 4")
    spans = sorted((off, off + ln) for off, ln in ((type_off, type_len), (str_off, str_len))
                   if ln)
    pos = 0
    for start, end in spans:
        if start != pos:
            raise BTFError("BTF sections overlap" if start < pos else
                           f"gap of {start - pos} bytes between BTF sections")
        pos = end
    if pos != body:
        raise BTFError(f"{body - pos} bytes of trailing data after the BTF sections")
    return Header(flags, hdr_len, type_off, type_len, str_off, str_len)


def check_strings(data: bytes, lo: int, hi: int, split: bool) -> None:
    """The string section ``data[lo:hi]`` must end in NUL; a base section must also start
    with the empty string."""
    if hi == lo:
        if not split:
            raise BTFError("BTF string section is empty (it must hold at least \"\")")
        return
    if not split and data[lo]:
        raise BTFError("BTF string section does not start with the empty string")
    if data[hi - 1]:
        raise BTFError("BTF string section is not NUL-terminated")


def word_view(section: memoryview, byteorder: ByteOrder) -> memoryview:
    """The type section as native-order u32 words (copied and swapped if foreign-endian)."""
    if byteorder == sys.byteorder:
        return memoryview(section).cast("I")
    words = array("I")
    if words.itemsize != 4:  # pragma: no cover - every CPython platform has a 4-byte "I"
        raise BTFError("this Python has no 4-byte unsigned int array type")
    words.frombytes(section)
    words.byteswap()
    return memoryview(words)


def _record_words(info: int, type_id: int) -> int:
    """Length in words of the record whose ``info`` word is given; validates ``info``."""
    kind = (info >> 24) & 0x1F
    if kind == 0 or kind > Kind.ENUM64:
        raise BTFError(f"type {type_id}: unknown BTF kind {kind}")
    if info & _INFO_RESERVED:
        raise BTFError(f"type {type_id}: reserved bits set in info {info:#010x}")
    k = Kind(kind)
    if info >> 31 and k not in _KFLAG_KINDS:
        raise BTFError(f"type {type_id}: kind_flag set on {k.name}")
    vlen = info & 0xFFFF
    per = _PER_VLEN_WORDS.get(k, 0)
    if vlen and not per:
        if k != Kind.FUNC:
            raise BTFError(f"type {type_id}: {k.name} has vlen {vlen}")
        if vlen > _MAX_FUNC_LINKAGE:
            raise BTFError(f"type {type_id}: FUNC has unknown linkage {vlen}")
    return 3 + _EXTRA_WORDS.get(k, 0) + per * vlen


def scan(words: memoryview, first_id: int) -> list[int]:
    """Word offsets of every record in the type section, plus a final end offset.

    This is the hot loop of parsing vmlinux (~130k records): it only follows the
    length of each record, with one dict lookup keyed by the raw ``info`` word (there are a
    few hundred distinct ones), so each distinct ``info`` is validated exactly once.
    """
    nwords = len(words)
    info_at = words[1:]  # info_at[i] is the info word of a record starting at word i
    steps: dict[int, int] = {}
    offs: list[int] = []
    app = offs.append
    i = 0
    while True:
        try:
            while True:
                app(i)
                i += steps[info_at[i]]
        except KeyError:
            offs.pop()
            info = info_at[i]
            steps[info] = _record_words(info, first_id + len(offs))
        except IndexError:
            break
    if offs[-1] != nwords:
        bad = first_id + len(offs) - 2
        raise BTFError(f"type {bad}: record runs past the end of the type section")
    if first_id + len(offs) - 2 > MAX_TYPE_ID:
        raise BTFError(f"too many BTF types: {len(offs) - 1} (the id limit is {MAX_TYPE_ID})")
    return offs


# --------------------------------------------------------------------------------- decoding


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _zero(what: str, v: int, type_id: int, kind: Kind) -> None:
    if v:
        raise BTFError(f"type {type_id}: {kind.name} has non-zero {what} {v}")


def decode(words: memoryview, o: int, type_id: int, strings: StringTable) -> Type:
    """Decode the record at word offset ``o``.  Record length was validated by :func:`scan`."""
    name_off = words[o]
    info = words[o + 1]
    st = words[o + 2]
    kind = Kind((info >> 24) & 0x1F)
    vlen = info & 0xFFFF
    kflag = bool(info >> 31)
    get = strings.get
    name = get(name_off) if name_off else ""
    p = o + 3
    t: Type
    if kind is Kind.INT:
        data = words[p]
        if data & _INT_RESERVED:
            raise BTFError(f"type {type_id}: reserved bits set in INT data {data:#010x}")
        t = Int(name, st, IntEncoding((data >> 24) & 0xF), (data >> 16) & 0xFF, data & 0xFF,
                name_off=name_off)
    elif kind is Kind.PTR:
        t = Pointer(name, st, name_off=name_off)
    elif kind is Kind.ARRAY:
        _zero("size", st, type_id, kind)
        t = Array(words[p], words[p + 1], words[p + 2], name, name_off=name_off)
    elif kind is Kind.STRUCT or kind is Kind.UNION:
        members = []
        for j in range(p, p + 3 * vlen, 3):
            moff = words[j]
            off = words[j + 2]
            bits = 0
            if kflag:
                bits = off >> 24
                off &= 0xFFFFFF
            members.append(Member(get(moff) if moff else "", words[j + 1], off, bits,
                                  name_off=moff))
        cls = Struct if kind is Kind.STRUCT else Union
        t = cls(name, st, members, kflag, name_off=name_off)
    elif kind is Kind.ENUM:
        conv = _s32 if kflag else int
        values = [EnumValue(get(words[j]) if words[j] else "", conv(words[j + 1]),
                            name_off=words[j])
                  for j in range(p, p + 2 * vlen, 2)]
        t = Enum(name, st, values, kflag, name_off=name_off)
    elif kind is Kind.ENUM64:
        values = []
        for j in range(p, p + 3 * vlen, 3):
            v = words[j + 2] << 32 | words[j + 1]
            if kflag and v >> 63:
                v -= 1 << 64
            values.append(EnumValue(get(words[j]) if words[j] else "", v, name_off=words[j]))
        t = Enum64(name, st, values, kflag, name_off=name_off)
    elif kind is Kind.FWD:
        _zero("type", st, type_id, kind)
        t = Fwd(name, kflag, name_off=name_off)
    elif kind is Kind.TYPEDEF:
        t = Typedef(name, st, name_off=name_off)
    elif kind is Kind.VOLATILE:
        t = Volatile(name, st, name_off=name_off)
    elif kind is Kind.CONST:
        t = Const(name, st, name_off=name_off)
    elif kind is Kind.RESTRICT:
        t = Restrict(name, st, name_off=name_off)
    elif kind is Kind.TYPE_TAG:
        t = TypeTag(name, st, kflag, name_off=name_off)
    elif kind is Kind.FUNC:
        t = Func(name, st, vlen, name_off=name_off)
    elif kind is Kind.FUNC_PROTO:
        params = [Param(get(words[j]) if words[j] else "", words[j + 1], name_off=words[j])
                  for j in range(p, p + 2 * vlen, 2)]
        t = FuncProto(st, params, name, name_off=name_off)
    elif kind is Kind.VAR:
        t = Var(name, st, words[p], name_off=name_off)
    elif kind is Kind.DATASEC:
        secinfo = [VarSecinfo(words[j], words[j + 1], words[j + 2])
                   for j in range(p, p + 3 * vlen, 3)]
        t = Datasec(name, st, secinfo, name_off=name_off)
    elif kind is Kind.FLOAT:
        t = Float(name, st, name_off=name_off)
    elif kind is Kind.DECL_TAG:
        t = DeclTag(name, st, _s32(words[p]), kflag, name_off=name_off)
    else:  # pragma: no cover - scan() rejects every other kind
        raise BTFError(f"type {type_id}: cannot decode kind {kind!r}")
    return t


# --------------------------------------------------------------------------------- encoding


def _u32(v: int, what: str, t: Type) -> int:
    if not 0 <= v <= 0xFFFFFFFF:
        raise BTFError(f"{t.kind.name} {t.name!r}: {what} {v} does not fit in 32 bits")
    return v


def _vlen(n: int, t: Type) -> int:
    if n > MAX_VLEN:
        raise BTFError(f"{t.kind.name} {t.name!r} has {n} entries (the limit is {MAX_VLEN})")
    return n


def _name(strings: StringTable, name: str, hint: int) -> int:
    if hint >= 0 and strings.valid(hint, name):
        return hint
    return strings.add(name)


def encode(t: Type, strings: StringTable, byteorder: ByteOrder) -> bytes:
    """The wire bytes of ``t``, interning any name the string table lacks."""
    if isinstance(t, Void):
        raise BTFError("Void (type 0) is implicit and cannot be encoded")
    e = struct_prefix(byteorder)
    words: list[int]
    kflag = 0
    vlen = 0
    st = 0
    extra: list[int] = []
    if isinstance(t, Int):
        enc, off, bits = int(t.encoding), t.offset, t.bits
        if not (0 <= enc <= 0xF and 0 <= off <= 0xFF and 0 <= bits <= 0xFF):
            raise BTFError(f"INT {t.name!r}: encoding/offset/bits out of range")
        st = t.size
        extra = [enc << 24 | off << 16 | bits]
    elif isinstance(t, (Pointer, Typedef, Volatile, Const, Restrict)):
        st = t.type
    elif isinstance(t, TypeTag):
        st, kflag = t.type, int(t.attribute)
    elif isinstance(t, Array):
        extra = [t.type, t.index_type, t.nelems]
    elif isinstance(t, (Struct, Union)):
        st = t.size
        kflag = int(t.kind_flag or any(m.bitfield_size for m in t.members))
        vlen = _vlen(len(t.members), t)
        for m in t.members:
            off = m.offset_bits
            if kflag:
                if not (0 <= off <= 0xFFFFFF and 0 <= m.bitfield_size <= 0xFF):
                    raise BTFError(f"{t.kind.name} {t.name!r}: member {m.name!r} offset/"
                                   "bitfield size does not fit the kind_flag encoding")
                off |= m.bitfield_size << 24
            extra += (_name(strings, m.name, m.name_off), m.type, off)
    elif isinstance(t, Enum):
        st, kflag, vlen = t.size, int(t.signed), _vlen(len(t.values), t)
        for v in t.values:
            if not -(1 << 31) <= v.value <= 0xFFFFFFFF:
                raise BTFError(f"ENUM {t.name!r}: value {v.name}={v.value} needs ENUM64")
            extra += (_name(strings, v.name, v.name_off), v.value & 0xFFFFFFFF)
    elif isinstance(t, Enum64):
        st, kflag, vlen = t.size, int(t.signed), _vlen(len(t.values), t)
        for v in t.values:
            if not -(1 << 63) <= v.value <= 0xFFFFFFFFFFFFFFFF:
                raise BTFError(f"ENUM64 {t.name!r}: value {v.name}={v.value} is out of range")
            u = v.value & 0xFFFFFFFFFFFFFFFF
            extra += (_name(strings, v.name, v.name_off), u & 0xFFFFFFFF, u >> 32)
    elif isinstance(t, Fwd):
        kflag = int(t.is_union)
    elif isinstance(t, Func):
        if not 0 <= t.linkage <= _MAX_FUNC_LINKAGE:
            raise BTFError(f"FUNC {t.name!r}: unknown linkage {t.linkage}")
        st, vlen = t.type, int(t.linkage)
    elif isinstance(t, FuncProto):
        st, vlen = t.return_type, _vlen(len(t.params), t)
        for prm in t.params:
            extra += (_name(strings, prm.name, prm.name_off), prm.type)
    elif isinstance(t, Var):
        st, extra = t.type, [int(t.linkage)]
    elif isinstance(t, Datasec):
        st, vlen = t.size, _vlen(len(t.vars), t)
        for vs in t.vars:
            extra += (vs.type, vs.offset, vs.size)
    elif isinstance(t, Float):
        st = t.size
    elif isinstance(t, DeclTag):
        if not -(1 << 31) <= t.component_idx < (1 << 31):
            raise BTFError(f"DECL_TAG {t.name!r}: component_idx {t.component_idx} out of range")
        st, kflag, extra = t.type, int(t.attribute), [t.component_idx & 0xFFFFFFFF]
    else:
        raise BTFError(f"cannot encode {type(t).__name__}: not a BTF type")
    name_off = _name(strings, t.name, getattr(t, "name_off", -1))
    words = [name_off, kflag << 31 | int(t.kind) << 24 | vlen, _u32(st, "size/type", t)]
    for w in extra:
        _u32(w, "field", t)
    words += extra
    return struct.pack(f"{e}{len(words)}I", *words)
