"""``Spec``: one parsed BTF blob, its types addressed by id.

Parsing is built for vmlinux (~130k types): :func:`parse` validates the header and walks the
type section once, keeping only each record's word offset.  A type becomes a dataclass the
first time it is asked for, and the name index is built on the first :meth:`Spec.find`.
:func:`marshal` copies untouched records byte for byte and re-encodes only the types that
were handed out (and so may have been modified) or added.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from operator import itemgetter

from ..errors import BTFError
from . import wire
from .strings import StringTable
from .types import (
    MODIFIERS,
    VOID,
    Array,
    Datasec,
    Enum,
    Enum64,
    EnumValue,
    Float,
    FuncProto,
    Int,
    Kind,
    Member,
    Param,
    Pointer,
    Struct,
    Type,
    Union,
    Var,
)
from .wire import ByteOrder

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (and re) at run time
if TYPE_CHECKING:
    from typing import overload

POINTER_SIZE = 8
"""BPF is a 64-bit target; libbpf likewise assumes 8-byte pointers in BPF object BTF."""

MAX_RESOLVE_DEPTH = 32
"""How many modifiers/array levels :meth:`Spec.resolve` and :meth:`Spec.sizeof` follow.
The kernel's own limit (``MAX_RESOLVE_DEPTH``) is 32 too, so deeper chains are invalid BTF
anyway, and the bound turns a reference cycle into an error instead of a hang."""


class TypeList(Sequence[Type]):
    """``spec.types``: a list-like view where the index is the type id.

    For split BTF the ids of the base come first, so ``types[0]`` is always ``Void``.
    Items are decoded on first access.  ``types[i] = t`` replaces one of the spec's own types,
    ``types.append(t)`` is :meth:`Spec.add`.
    """

    __slots__ = ("_spec",)

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def __len__(self) -> int:
        return self._spec.type_count

    if TYPE_CHECKING:
        @overload
        def __getitem__(self, i: int) -> Type: ...
        @overload
        def __getitem__(self, i: slice) -> list[Type]: ...

    def __getitem__(self, i: int | slice) -> Type | list[Type]:
        if isinstance(i, slice):
            return [self._spec.type_by_id(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
            if i < 0:
                raise IndexError("type id out of range")
        try:
            return self._spec.type_by_id(i)
        except _NoSuchType as exc:
            raise IndexError(str(exc)) from None

    def __setitem__(self, i: int, t: Type) -> None:
        self._spec.replace(i, t)

    def __iter__(self) -> Iterator[Type]:
        get = self._spec.type_by_id
        for i in range(len(self)):
            yield get(i)

    def append(self, t: Type) -> int:
        return self._spec.add(t)

    def __repr__(self) -> str:
        return f"<TypeList of {len(self)} BTF types>"


class _NameIndex:
    """Record indexes grouped by name offset, for :meth:`Spec.find`.

    The record indexes are sorted by name offset once (a C-level sort; Python's sort is
    stable, so equal names keep id order) and a lookup is two bisections.  For vmlinux this
    builds faster than a dict of lists filled in a Python loop; the first ``find()`` pays."""

    __slots__ = ("keys", "order")

    def __init__(self, name_offs: Sequence[int]) -> None:
        self.order: Sequence[int] = sorted(range(len(name_offs)), key=name_offs.__getitem__)
        self.keys: Sequence[int] = (itemgetter(*self.order)(name_offs)
                                    if len(self.order) > 1 else list(name_offs))

    @classmethod
    def presorted(cls, order: Sequence[int], keys: Sequence[int]) -> _NameIndex:
        """An index saved earlier (``order`` and ``keys`` as built by the constructor)."""
        index = cls.__new__(cls)
        index.order, index.keys = order, keys
        return index

    def get(self, off: int) -> list[int]:
        """Indexes (ascending) of the records named by string offset ``off``."""
        lo = bisect_left(self.keys, off)
        hi = bisect_right(self.keys, off, lo)
        return list(self.order[lo:hi])


_SCAN_LOOKUPS = 24
"""Name lookups answered by a linear search before a sorted name index is built."""

_SCAN_MAX_HITS = 64
"""Records sharing one name after which a linear search gives up for the sorted index."""


class ScanState:
    """What parsing and indexing learnt about a type section, as plain data that can be
    saved: each record's word offset (plus the end offset), and the name index (record
    indexes sorted by name offset, and those name offsets)."""

    __slots__ = ("name_keys", "name_order", "offsets")

    def __init__(self, offsets: Sequence[int], name_order: Sequence[int],
                 name_keys: Sequence[int]) -> None:
        self.offsets = offsets
        self.name_order = name_order
        self.name_keys = name_keys


class _NoSuchType(BTFError):
    """A type id that is not in the spec (kept distinct so ``types[i]`` can raise IndexError)."""


class Spec:
    """Types and strings of one BTF blob (``.BTF`` of an object, vmlinux, a module).

    Build it with :func:`parse`, or ``Spec()`` for an empty one to :meth:`add` types to.
    Not thread-safe: decoding on first access mutates internal caches.
    """

    def __init__(self, *, byteorder: ByteOrder = "little", base: Spec | None = None) -> None:
        if byteorder not in ("little", "big"):
            raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")
        if base is not None and base.byteorder != byteorder:
            raise BTFError("split BTF and its base have different byte orders")
        self.byteorder: ByteOrder = byteorder
        self.base = base
        self.first_id = base.type_count if base is not None else 1
        """The first type id this spec owns (ids below it belong to the base, or are Void)."""
        self.flags = 0
        self.hdr_len = wire.HEADER_LEN
        self._strtab = StringTable(b"" if base is not None else b"\0",
                                   base._strtab if base is not None else None)
        self._words: memoryview = memoryview(b"")
        self._raw: memoryview = memoryview(b"")
        self._offs: Sequence[int] = [0]
        self._objs: list[Type | None] = []
        self._touched: set[int] = set()
        self._name_index: _NameIndex | None = None
        self._name_bytes: bytes | None = None  # see _names_u32()
        self._scans = 0

    # ------------------------------------------------------------------ construction

    @classmethod
    def _from_wire(cls, raw: bytes, byteorder: ByteOrder, base: Spec | None,
                   scanned: ScanState | None = None) -> Spec:
        """Parse ``raw``; ``scanned`` is a :meth:`scan_state` saved from the same bytes, which
        skips the record scan (see :mod:`bpfdoctor.btf.kernel`)."""
        hdr = wire.parse_header(raw, byteorder)
        spec = cls(byteorder=byteorder, base=base)
        spec.flags = hdr.flags
        spec.hdr_len = hdr.hdr_len
        lo = hdr.hdr_len + hdr.str_off
        hi = lo + hdr.str_len
        wire.check_strings(raw, lo, hi, split=base is not None)
        spec._strtab = StringTable(raw, base._strtab if base is not None else None, lo=lo, hi=hi)
        tstart = hdr.hdr_len + hdr.type_off
        spec._raw = memoryview(raw)[tstart:tstart + hdr.type_len]
        spec._words = wire.word_view(spec._raw, byteorder)
        offs: Sequence[int]
        if scanned is not None:
            offs = scanned.offsets
            n = len(offs) - 1
            if (n < 0 or offs[0] != 0 or offs[-1] != len(spec._words)
                    or len(scanned.name_order) != n or len(scanned.name_keys) != n):
                raise BTFError("saved scan does not match this BTF")
            spec._name_index = _NameIndex.presorted(scanned.name_order, scanned.name_keys)
        else:
            offs = wire.scan(spec._words, spec.first_id)
        spec._offs = offs
        spec._objs = [None] * (len(offs) - 1)
        return spec

    def scan_state(self) -> ScanState:
        """The record offsets and the name index (built now if it was not), so that the next
        parse of the same bytes skips the scan and the sort.  Parsed records only: types
        added or replaced later are not part of it."""
        index = self._index()
        return ScanState(self._offs, index.order, index.keys)

    def _names_u32(self) -> bytes:
        """Name offset of every parsed record, in id order, as big-endian u32s: searching it
        with ``bytes.find`` answers "which records have this name" at C speed.  Big-endian
        because CPython's search tests a needle's last byte first, and the low byte of an
        offset is rarely a match where the high byte (almost always 0) nearly always is."""
        if self._name_bytes is None:
            names = array("I", self._name_offs())
            if sys.byteorder == "little":
                names.byteswap()
            self._name_bytes = names.tobytes()
        return self._name_bytes

    def _name_offs(self) -> Sequence[int]:
        """Raw name offsets of the parsed records, in id order (gathered at C speed)."""
        starts = self._offs[:-1]
        if not starts:  # nothing parsed from bytes: a spec built only with add()
            return []
        if len(starts) == 1:
            return [self._words[starts[0]]]
        return itemgetter(*starts)(self._words)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ access

    @property
    def type_count(self) -> int:
        """Number of type ids, Void and (for split BTF) the base's included."""
        return self.first_id + len(self._objs)

    @property
    def types(self) -> TypeList:
        return TypeList(self)

    @property
    def strings(self) -> bytes:
        """This spec's own string section (not the base's), including appended strings."""
        return self._strtab.own_bytes()

    def string(self, off: int) -> str:
        """The string at offset ``off`` (base offsets work on split BTF)."""
        return self._strtab.get(off)

    def add_string(self, s: str) -> int:
        """Intern ``s`` and return its offset (for ``.BTF.ext`` records built by hand)."""
        return self._strtab.add(s)

    def type_by_id(self, i: int) -> Type:
        """The type with id ``i``; ``BTFError`` if there is none."""
        k = i - self.first_id
        if k >= 0:
            try:
                t = self._objs[k]
            except IndexError:
                raise _NoSuchType(f"no BTF type with id {i} (there are {self.type_count})") \
                    from None
            if t is None:
                t = self._objs[k] = wire.decode(self._words, self._offs[k], i, self._strtab)
                self._touched.add(k)
            return t
        if i == 0:
            return VOID
        if i > 0 and self.base is not None:
            return self.base.type_by_id(i)
        raise _NoSuchType(f"no BTF type with id {i}")

    def name_of(self, i: int) -> str:
        """The name of type ``i`` ("" if anonymous), without decoding its members."""
        k = i - self.first_id
        if 0 <= k < len(self._objs) and self._objs[k] is None:
            off = self._words[self._offs[k]]
            return self._strtab.get(off) if off else ""
        return self.type_by_id(i).name

    def kind_of(self, i: int) -> Kind:
        """The kind of type ``i``, without decoding it."""
        k = i - self.first_id
        if 0 <= k < len(self._objs) and self._objs[k] is None:
            return Kind((self._words[self._offs[k] + 1] >> 24) & 0x1F)
        return self.type_by_id(i).kind

    def __repr__(self) -> str:
        split = f", split on {self.base.type_count} base types" if self.base else ""
        return f"<btf.Spec {self.type_count} types{split}, {self.byteorder}-endian>"

    # ------------------------------------------------------------------ modification

    def add(self, t: Type) -> int:
        """Append ``t``; returns its new id.  Its names are interned right away."""
        if t.kind == Kind.UNKN:
            raise BTFError("Void is type 0 and cannot be added")
        if self.type_count > wire.MAX_TYPE_ID:
            raise BTFError(f"BTF type id limit {wire.MAX_TYPE_ID} reached")
        self._intern(t)
        self._objs.append(t)
        self._touched.add(len(self._objs) - 1)
        return self.first_id + len(self._objs) - 1

    def replace(self, i: int, t: Type) -> None:
        """Put ``t`` in place of this spec's own type ``i``."""
        k = i - self.first_id
        if not 0 <= k < len(self._objs):
            raise BTFError(f"type id {i} is not one of this spec's own types")
        if t.kind == Kind.UNKN:
            raise BTFError("Void cannot replace a type")
        self._intern(t)
        self._objs[k] = t
        self._touched.add(k)

    def _intern(self, t: Type) -> None:
        add = self._strtab.add
        if hasattr(t, "name_off") and t.name_off < 0:
            t.name_off = add(t.name)  # type: ignore[attr-defined]
        parts: Sequence[Member | EnumValue | Param] = ()
        if isinstance(t, (Struct, Union)):
            parts = t.members
        elif isinstance(t, (Enum, Enum64)):
            parts = t.values
        elif isinstance(t, FuncProto):
            parts = t.params
        for p in parts:
            if p.name_off < 0:
                p.name_off = add(p.name)

    # ------------------------------------------------------------------ lookup

    def find(self, name: str, kind: type[Type] | Kind | None = None) -> list[int]:
        """Ids of the types called ``name`` (optionally only of one kind), base ids first.

        ``kind`` is a type class (``Struct``) or a :class:`Kind`.  Anonymous types are not
        indexed: ``find("")`` is empty.
        """
        want: Kind | None = None
        if kind is not None:
            want = kind if isinstance(kind, Kind) else kind.kind
        found = self.base.find(name, want) if self.base is not None else []
        if not name:
            return found
        # Records parsed from bytes and never handed out: look their name offsets up (split
        # BTF may name its types with its base's strings; offsets_of searches those too).
        objs = self._objs
        ids: list[int] = []
        scan = self._name_index is None and self._scans < _SCAN_LOOKUPS
        self._scans += scan
        for off in self._strtab.offsets_of(name):
            for k in self._records_named(off, scan):
                if objs[k] is None and (want is None or self.kind_of(self.first_id + k) == want):
                    ids.append(k)
        # Decoded or added types may have been renamed: compare their current names.
        for k in self._touched:
            t = objs[k]
            if t is not None and t.name == name and (want is None or t.kind == want):
                ids.append(k)
        return found + [self.first_id + k for k in sorted(set(ids))]

    def _records_named(self, off: int, scan: bool) -> Sequence[int]:
        """Record indexes whose name offset is ``off``.

        The first few lookups search the records' name offsets, packed as u32s, with
        ``bytes.find``: a process typically looks up only a handful of names (one CO-RE
        object, one attach target), and sorting 100k+ offsets would cost more than all of
        them.  After ``_SCAN_LOOKUPS`` lookups, or for an offset so common that the search
        would crawl, the sorted index is built and used."""
        if scan and self._name_index is None:
            found = self._search_names(off)
            if found is not None:
                return found
        return self._index().get(off)

    def _search_names(self, off: int) -> list[int] | None:
        names = self._names_u32()
        needle = off.to_bytes(4, "big")
        out: list[int] = []
        pos = names.find(needle)
        while pos >= 0:
            if not pos & 3:  # a match straddling two entries is not one
                out.append(pos >> 2)
                if len(out) > _SCAN_MAX_HITS:
                    return None
            pos = names.find(needle, pos + 1)
        return out

    def _index(self) -> _NameIndex:
        """Name offsets of the records parsed from bytes, sorted, for bisection."""
        if self._name_index is None:
            self._name_index = _NameIndex(self._name_offs() if self._objs else ())
        return self._name_index

    def find_one(self, name: str, kind: type[Type] | Kind | None = None) -> int:
        """The id of the only type called ``name``; ``BTFError`` if none or several."""
        ids = self.find(name, kind)
        if len(ids) != 1:
            what = f"{kind.name if isinstance(kind, Kind) else kind.__name__} " if kind else ""
            raise BTFError(f"{'no' if not ids else len(ids)} BTF {what}types named {name!r}")
        return ids[0]

    # ------------------------------------------------------------------ type arithmetic

    def resolve(self, i: int) -> int:
        """Skip typedef/const/volatile/restrict/type_tag from ``i``; returns the underlying id.
        ``BTFError`` on a bad id or a chain longer than :data:`MAX_RESOLVE_DEPTH` (a cycle)."""
        start = i
        for _ in range(MAX_RESOLVE_DEPTH + 1):
            t = self.type_by_id(i)
            if t.kind not in MODIFIERS:
                return i
            i = t.type  # type: ignore[attr-defined]
        raise BTFError(f"type {start}: more than {MAX_RESOLVE_DEPTH} typedef/qualifier levels "
                       "(reference cycle?)")

    def sizeof(self, i: int) -> int:
        """Size in bytes of type ``i``, following modifiers, variables and arrays.

        ``BTFError`` for types without a size (void, functions, forward declarations, tags,
        datasec-less vars...), bad ids, and reference cycles."""
        mult = 1
        start = i
        for _ in range(MAX_RESOLVE_DEPTH + 1):
            i = self.resolve(i)
            t = self.type_by_id(i)
            if isinstance(t, (Int, Enum, Enum64, Struct, Union, Datasec, Float)):
                return mult * t.size
            if isinstance(t, Pointer):
                return mult * POINTER_SIZE
            if isinstance(t, Array):
                mult *= t.nelems
                i = t.type
            elif isinstance(t, Var):
                i = t.type
            else:
                raise BTFError(f"type {start}: {t.kind.name} {t.name!r} has no size")
        raise BTFError(f"type {start}: more than {MAX_RESOLVE_DEPTH} array levels "
                       "(reference cycle?)")

    def format(self, i: int, name: str = "") -> str:
        """C spelling of type ``i``, optionally declaring ``name``: ``struct task_struct *``,
        ``unsigned int``, ``int (*)(void *)``."""
        from .format import format_type

        return format_type(self, i, name)

    # ------------------------------------------------------------------ checking

    def validate(self) -> None:
        """Decode every type and check every type id it refers to.

        :func:`parse` checks structure; this completes what the kernel checks for references
        (it is what a fuzzer or a paranoid caller runs; vmlinux takes a second or two)."""
        n = self.type_count
        objs, words, offs, strtab = self._objs, self._words, self._offs, self._strtab
        for k, obj in enumerate(objs):
            i = self.first_id + k
            # Decode without caching, so that validating keeps the spec lazy and untouched.
            t = obj if obj is not None else wire.decode(words, offs[k], i, strtab)
            for what, ref in _refs(t):
                if not 0 <= ref < n:
                    raise BTFError(f"type {i} ({t.kind.name} {t.name!r}): {what} refers to "
                                   f"type {ref}, but the last type id is {n - 1}")

    # ------------------------------------------------------------------ marshalling

    def marshal(self) -> bytes:
        """Wire format of this spec (its own types only, when split)."""
        e = wire.struct_prefix(self.byteorder)
        chunks: list[bytes] = []
        raw, offs, objs, strtab = self._raw, self._offs, self._objs, self._strtab
        nraw = len(offs) - 1
        pos = 0  # first raw record not yet emitted
        for k in sorted(self._touched):
            # copy the untouched records before this one (all the rest, for an added type)
            upto = min(k, nraw)
            if pos < upto:
                chunks.append(raw[offs[pos] * 4:offs[upto] * 4])
            pos = max(pos, min(k + 1, nraw))
            t = objs[k]
            assert t is not None
            chunks.append(wire.encode(t, strtab, self.byteorder))
        if pos < nraw:
            chunks.append(raw[offs[pos] * 4:offs[nraw] * 4])
        types = b"".join(chunks)
        strings = strtab.own_bytes()
        header = struct.pack(f"{e}HBBIIIII", wire.MAGIC, wire.VERSION, self.flags,
                             self.hdr_len, 0, len(types), len(types), len(strings))
        header += bytes(self.hdr_len - wire.HEADER_LEN)
        return header + types + strings


def _refs(t: Type) -> Iterator[tuple[str, int]]:
    """(what, type id) for every type id ``t`` mentions."""
    for attr in ("type", "index_type", "return_type"):
        v = getattr(t, attr, None)
        if isinstance(v, int):
            yield attr, v
    if isinstance(t, (Struct, Union)):
        for m in t.members:
            yield f"member {m.name!r}", m.type
    elif isinstance(t, FuncProto):
        for p in t.params:
            yield f"parameter {p.name!r}", p.type
    elif isinstance(t, Datasec):
        for v in t.vars:
            yield "variable", v.type


def parse(raw: bytes | bytearray | memoryview, *, byteorder: ByteOrder = "little",
          base: Spec | None = None, validate: bool = True,
          scanned: ScanState | None = None) -> Spec:
    """Parse a ``.BTF`` section or a ``/sys/kernel/btf`` file.

    ``base`` makes it split BTF (a kernel module's): ids and string offsets continue after
    the base's.  Any malformation raises :class:`~bpfdoctor.errors.BTFError`.

    The header, section layout, string section and every record's kind, flags and length are
    always checked.  ``validate`` (the default) also decodes every type and checks every
    string offset and type id (:meth:`Spec.validate`); the kernel BTF readers turn it off, as
    the kernel has checked its own BTF and checking 130k types costs seconds.  Without it, a
    bad offset or id surfaces as ``BTFError`` when that type is first used.

    ``scanned`` is :meth:`Spec.scan_state` of an earlier parse of exactly these bytes; it is
    trusted beyond a check of its bounds, so only pass one whose provenance is checked."""
    if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder must be 'little' or 'big', not {byteorder!r}")
    spec = Spec._from_wire(bytes(raw), byteorder, base, scanned)
    if validate:
        spec.validate()
    return spec


def marshal(spec: Spec) -> bytes:
    """The wire format of ``spec``; ``marshal(parse(b)) == b`` for an unmodified spec.

    Strings needed by renamed or added types are appended to ``spec``'s string section."""
    return spec.marshal()
