""".BTF.ext: per-instruction debug records (func_info, line_info, CO-RE relocations).

The section starts with ``struct btf_ext_header`` (``magic``, ``version``, ``flags``,
``hdr_len``, then offset/length pairs relative to the end of the header for func_info,
line_info and, when ``hdr_len`` >= 32, core_relo).  Each of those sub-sections is a u32
record size followed by blocks ``{u32 sec_name_off; u32 num_info; record[num_info]}``, one
block per ELF code section.  Record offsets (``insn_off``) are in BYTES from the start of that
ELF section, as clang writes them; the kernel wants instruction indexes relative to the
program instead, which the loader computes and passes to :func:`marshal_func_info` /
:func:`marshal_line_info`.

Records larger than this parser knows are accepted (the known prefix is read), as libbpf does,
so that a newer compiler's output still parses.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

from ..errors import BTFError
from .spec import Spec
from .wire import MAGIC, VERSION, ByteOrder, struct_prefix

EXT_HEADER_LEN = 24
EXT_HEADER_LEN_CORE = 32
FUNC_INFO_REC_SIZE = 8
LINE_INFO_REC_SIZE = 16
CORE_RELO_REC_SIZE = 16

LINE_COL_BITS = 10
"""``line_col`` packs ``line << 10 | column``."""

R = TypeVar("R")


class CoreReloKind(IntEnum):
    """``enum bpf_core_relo_kind``."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


@dataclass(slots=True)
class FuncInfo:
    """``struct bpf_func_info``: the function (FUNC type id) starting at ``insn_off`` bytes."""

    insn_off: int
    type_id: int


@dataclass(slots=True)
class LineInfo:
    """``struct bpf_line_info`` with its strings resolved.

    ``file_name_off``/``line_off`` are the string offsets as stored (what BPF_PROG_LOAD wants,
    since the kernel reads the strings from the loaded BTF)."""

    insn_off: int
    file_name: str
    line: int
    column: int
    line_text: str
    file_name_off: int = field(default=0, compare=False)
    line_off: int = field(default=0, compare=False)

    @property
    def line_col(self) -> int:
        return self.line << LINE_COL_BITS | self.column


@dataclass(slots=True)
class CoreRelo:
    """``struct bpf_core_relo``: a CO-RE relocation of the instruction at ``insn_off``.

    ``access_str`` is the accessor spec (``"0:1:2"``); ``kind`` a :class:`CoreReloKind`, or
    the raw number for a kind newer than this module."""

    insn_off: int
    type_id: int
    access_str: str
    kind: CoreReloKind | int
    access_str_off: int = field(default=-1, repr=False, compare=False, kw_only=True)


@dataclass
class ExtInfo:
    """A parsed .BTF.ext; each dict is keyed by ELF section name, in file order."""

    func_info: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_info: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[CoreRelo]] = field(default_factory=dict)
    flags: int = 0
    hdr_len: int = EXT_HEADER_LEN_CORE
    section_name_offs: dict[str, int] = field(default_factory=dict, repr=False)
    """String offset each section name was read from (a hint for :func:`marshal_ext`)."""


def _subsection(raw: bytes, what: str, off: int, ln: int, min_rec: int, e: str,
                spec: Spec, names: dict[str, int]) -> list[tuple[str, int, int, bytes]]:
    """Blocks of one sub-section: (section name, record size, count, record bytes)."""
    if not ln:
        return []
    if off + ln > len(raw):
        raise BTFError(f".BTF.ext {what} ({off}+{ln}) runs past the end of the section "
                       f"({len(raw)} bytes)")
    if off % 4:
        raise BTFError(f".BTF.ext {what} offset {off} is not 4-byte aligned")
    end = off + ln
    if ln < 4:
        raise BTFError(f".BTF.ext {what} is {ln} bytes, too short for its record size")
    (rec_size,) = struct.unpack_from(e + "I", raw, off)
    if rec_size < min_rec or rec_size % 4:
        raise BTFError(f".BTF.ext {what} record size {rec_size} is invalid "
                       f"(at least {min_rec}, a multiple of 4)")
    pos = off + 4
    blocks = []
    while pos < end:
        if pos + 8 > end:
            raise BTFError(f".BTF.ext {what}: truncated block header at offset {pos}")
        name_off, count = struct.unpack_from(e + "II", raw, pos)
        pos += 8
        name = spec.string(name_off)
        if not name:
            raise BTFError(f".BTF.ext {what}: block at offset {pos - 8} has no section name")
        size = count * rec_size
        if size > end - pos:
            raise BTFError(f".BTF.ext {what} for section {name!r}: {count} records of "
                           f"{rec_size} bytes run past the end of the sub-section")
        names.setdefault(name, name_off)
        blocks.append((name, rec_size, count, raw[pos:pos + size]))
        pos += size
    return blocks


def _records(data: bytes, rec_size: int, known: int, fmt: str) -> Iterable[tuple[int, ...]]:
    if rec_size == known:
        return struct.iter_unpack(fmt, data)
    return (struct.unpack_from(fmt, data, o) for o in range(0, len(data), rec_size))


def parse_ext(raw: bytes | bytearray | memoryview, spec: Spec, *,
              byteorder: ByteOrder | None = None) -> ExtInfo:
    """Parse a .BTF.ext section; strings are read from ``spec`` (the object's .BTF).

    ``byteorder`` defaults to the spec's.  Malformations raise
    :class:`~bpfdoctor.errors.BTFError`.  Duplicate blocks for one section are merged."""
    raw = bytes(raw)
    bo: ByteOrder = byteorder or spec.byteorder
    e = struct_prefix(bo)
    if len(raw) < 8:
        raise BTFError(f"truncated .BTF.ext header: {len(raw)} bytes")
    magic, version, flags, hdr_len = struct.unpack_from(e + "HBBI", raw, 0)
    if magic != MAGIC:
        if magic == 0x9FEB:
            raise BTFError(f".BTF.ext byte order is not {bo}-endian")
        raise BTFError(f"bad .BTF.ext magic {magic:#06x} (expected {MAGIC:#06x})")
    if version != VERSION:
        raise BTFError(f"unsupported .BTF.ext version {version}")
    if hdr_len < EXT_HEADER_LEN:
        raise BTFError(f".BTF.ext header length {hdr_len} is shorter than {EXT_HEADER_LEN}")
    if hdr_len > len(raw):
        raise BTFError(f".BTF.ext header length {hdr_len} is past the end of the section "
                       f"({len(raw)} bytes)")
    fi_off, fi_len, li_off, li_len = struct.unpack_from(e + "IIII", raw, 8)
    cr_off = cr_len = 0
    if hdr_len >= EXT_HEADER_LEN_CORE:
        cr_off, cr_len = struct.unpack_from(e + "II", raw, 24)
    body = raw[hdr_len:]
    ext = ExtInfo(flags=flags, hdr_len=hdr_len)
    names = ext.section_name_offs
    get = spec.string

    for name, rec, _, data in _subsection(body, "func_info", fi_off, fi_len,
                                          FUNC_INFO_REC_SIZE, e, spec, names):
        ext.func_info.setdefault(name, []).extend(
            FuncInfo(off, tid) for off, tid in _records(data, rec, FUNC_INFO_REC_SIZE, e + "II"))

    for name, rec, _, data in _subsection(body, "line_info", li_off, li_len,
                                          LINE_INFO_REC_SIZE, e, spec, names):
        ext.line_info.setdefault(name, []).extend(
            LineInfo(off, get(fno), lc >> LINE_COL_BITS, lc & ((1 << LINE_COL_BITS) - 1),
                     get(lno), fno, lno)
            for off, fno, lno, lc in _records(data, rec, LINE_INFO_REC_SIZE, e + "IIII"))

    for name, rec, _, data in _subsection(body, "core_relo", cr_off, cr_len,
                                          CORE_RELO_REC_SIZE, e, spec, names):
        relos = ext.core_relos.setdefault(name, [])
        for off, tid, aoff, kind in _records(data, rec, CORE_RELO_REC_SIZE, e + "IIII"):
            try:
                k: CoreReloKind | int = CoreReloKind(kind)
            except ValueError:
                k = kind
            relos.append(CoreRelo(off, tid, get(aoff), k, access_str_off=aoff))
    return ext


def _name_off(spec: Spec, s: str, hint: int) -> int:
    if hint >= 0:
        try:
            if spec.string(hint) == s:
                return hint
        except BTFError:
            pass
    return spec.add_string(s)


def _subsection_bytes(blocks: dict[str, list[R]], rec_size: int, e: str,
                     sec_name_off: Callable[[str], int],
                     record: Callable[[R], bytes]) -> bytes:
    if not blocks:
        return b""
    out = [struct.pack(e + "I", rec_size)]
    for name, recs in blocks.items():
        out.append(struct.pack(e + "II", sec_name_off(name), len(recs)))
        out.extend(record(r) for r in recs)
    return b"".join(out)


def marshal_ext(ext: ExtInfo, spec: Spec, *, byteorder: ByteOrder | None = None) -> bytes:
    """Wire format of ``ext`` (records written at their standard sizes).

    Strings that ``spec`` lacks (a renamed section, a new line text) are added to it, so
    marshal the spec after this.  Out-of-range fields raise ``BTFError``."""
    e = struct_prefix(byteorder or spec.byteorder)

    def sec(name: str) -> int:
        return _name_off(spec, name, ext.section_name_offs.get(name, -1))

    def func(r: FuncInfo) -> bytes:
        return struct.pack(e + "II", r.insn_off, r.type_id)

    def line(r: LineInfo) -> bytes:
        if not (0 <= r.line < 1 << 22 and 0 <= r.column < 1 << LINE_COL_BITS):
            raise BTFError(f"line_info {r.line}:{r.column} does not fit line_col")
        return struct.pack(e + "IIII", r.insn_off, _name_off(spec, r.file_name, r.file_name_off),
                           _name_off(spec, r.line_text, r.line_off), r.line_col)

    def relo(r: CoreRelo) -> bytes:
        return struct.pack(e + "IIII", r.insn_off, r.type_id,
                           _name_off(spec, r.access_str, r.access_str_off), int(r.kind))

    try:
        fi = _subsection_bytes(ext.func_info, FUNC_INFO_REC_SIZE, e, sec, func)
        li = _subsection_bytes(ext.line_info, LINE_INFO_REC_SIZE, e, sec, line)
        cr = _subsection_bytes(ext.core_relos, CORE_RELO_REC_SIZE, e, sec, relo)
    except struct.error as exc:
        raise BTFError(f".BTF.ext record field out of range: {exc}") from None
    hdr_len = max(ext.hdr_len, EXT_HEADER_LEN_CORE if cr else EXT_HEADER_LEN)
    fields = [0, len(fi), len(fi), len(li)]
    if hdr_len >= EXT_HEADER_LEN_CORE:
        fields += [len(fi) + len(li), len(cr)]
    header = struct.pack(f"{e}HBBI{len(fields)}I", MAGIC, VERSION, ext.flags, hdr_len, *fields)
    header += bytes(hdr_len - len(header))
    return header + fi + li + cr


# ---------------------------------------------------------------- BPF_PROG_LOAD records


def _native(byteorder: ByteOrder | None) -> str:
    return struct_prefix(byteorder or ("little" if sys.byteorder == "little" else "big"))


def marshal_func_info(records: Iterable[tuple[int, int]], *,
                      byteorder: ByteOrder | None = None) -> bytes:
    """``bpf_func_info`` array for BPF_PROG_LOAD (``func_info_rec_size`` 8).

    ``records`` are ``(insn_idx, type_id)`` with ``insn_idx`` in INSTRUCTIONS from the start
    of the program being loaded.  Native byte order unless told otherwise."""
    e = _native(byteorder)
    try:
        return b"".join(struct.pack(e + "II", i, t) for i, t in records)
    except struct.error as exc:
        raise BTFError(f"func_info record out of range: {exc}") from None


def marshal_line_info(records: Iterable[tuple[int, int, int, int]], *,
                      byteorder: ByteOrder | None = None) -> bytes:
    """``bpf_line_info`` array for BPF_PROG_LOAD (``line_info_rec_size`` 16).

    ``records`` are ``(insn_idx, file_name_off, line_off, line_col)``, ``insn_idx`` in
    instructions from the program start, ``line_col = line << 10 | column``."""
    e = _native(byteorder)
    try:
        return b"".join(struct.pack(e + "IIII", *r) for r in records)
    except struct.error as exc:
        raise BTFError(f"line_info record out of range: {exc}") from None
