"""BTF type records as mutable dataclasses.

The classes mirror the wire format (``include/uapi/linux/btf.h``) one to one: a type refers to
another type by its numeric *type id*, never by holding the object.  That keeps the model flat,
lets a loader patch a type in place (a DATASEC size, a variable offset) and re-marshal, and
makes cycles (``struct list_head`` pointing at itself) harmless: nothing here recurses.

Names are exposed as ``str``.  Each named record also carries ``name_off``, the string-section
offset it was parsed from (``-1`` for records built by hand).  It is only a hint for
:func:`bpfdoctor.btf.marshal`: when the name still matches the string at that offset, the
original offset is written back, which is what makes ``marshal(parse(b)) == b`` hold.  It takes
no part in equality, so a parsed ``Int`` compares equal to one written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import ClassVar


class Kind(IntEnum):
    """``BTF_KIND_*``: the 5-bit kind field of ``btf_type.info``."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


class IntEncoding(IntFlag):
    """``BTF_INT_*`` bits of an INT's encoding nibble."""

    NONE = 0
    SIGNED = 1 << 0
    CHAR = 1 << 1
    BOOL = 1 << 2


SIGNED = IntEncoding.SIGNED
CHAR = IntEncoding.CHAR
BOOL = IntEncoding.BOOL


class Linkage(IntEnum):
    """Linkage of a FUNC (``btf_func_linkage``) or VAR (``BTF_VAR_*``); same numbers."""

    STATIC = 0
    GLOBAL = 1
    EXTERN = 2


def _hint() -> int:
    return field(default=-1, repr=False, compare=False, kw_only=True)  # type: ignore[no-any-return]


class Type:
    """Base class of every BTF type record.  ``kind`` is the wire kind."""

    __slots__ = ()
    kind: ClassVar[Kind]
    name: str


@dataclass(slots=True)
class Void(Type):
    """Type id 0: ``void``.  Not encoded on the wire; every BTF has it implicitly."""

    kind: ClassVar[Kind] = Kind.UNKN

    @property
    def name(self) -> str:  # type: ignore[override]
        return ""


@dataclass(slots=True)
class Int(Type):
    """An integer: ``size`` bytes, of which ``bits`` starting at bit ``offset`` are used."""

    kind: ClassVar[Kind] = Kind.INT
    name: str
    size: int
    encoding: IntEncoding = IntEncoding.NONE
    offset: int = 0
    bits: int = 0
    name_off: int = _hint()

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)


@dataclass(slots=True)
class Pointer(Type):
    kind: ClassVar[Kind] = Kind.PTR
    name: str = ""
    type: int = 0
    name_off: int = _hint()


@dataclass(slots=True)
class Array(Type):
    """``type elems[nelems]``; ``index_type`` is an INT the kernel checks but never uses."""

    kind: ClassVar[Kind] = Kind.ARRAY
    type: int
    index_type: int
    nelems: int
    name: str = ""
    name_off: int = _hint()


@dataclass(slots=True)
class Member:
    """A struct/union member.  ``offset_bits`` is from the start of the enclosing type.

    ``bitfield_size`` is non-zero only for bitfields encoded the kind_flag way; with kind_flag
    clear, bitfields are described by the member's INT type (``Int.bits``/``Int.offset``).
    """

    name: str
    type: int
    offset_bits: int
    bitfield_size: int = 0
    name_off: int = _hint()


@dataclass(slots=True)
class Struct(Type):
    """A struct.  ``kind_flag`` selects the member-offset encoding that carries
    ``bitfield_size``; it is forced on when marshalling if any member has a bitfield size.
    Being an encoding choice, it takes no part in equality."""

    kind: ClassVar[Kind] = Kind.STRUCT
    name: str
    size: int
    members: list[Member] = field(default_factory=list)
    kind_flag: bool = field(default=False, compare=False)
    name_off: int = _hint()


@dataclass(slots=True)
class Union(Type):
    kind: ClassVar[Kind] = Kind.UNION
    name: str
    size: int
    members: list[Member] = field(default_factory=list)
    kind_flag: bool = field(default=False, compare=False)
    name_off: int = _hint()


@dataclass(slots=True)
class EnumValue:
    name: str
    value: int
    name_off: int = _hint()


@dataclass(slots=True)
class Enum(Type):
    """An enum with 32-bit values; ``signed`` is the kind_flag (values are s32, else u32)."""

    kind: ClassVar[Kind] = Kind.ENUM
    name: str
    size: int
    values: list[EnumValue] = field(default_factory=list)
    signed: bool = False
    name_off: int = _hint()


@dataclass(slots=True)
class Enum64(Type):
    """An enum with 64-bit values (``BTF_KIND_ENUM64``)."""

    kind: ClassVar[Kind] = Kind.ENUM64
    name: str
    size: int
    values: list[EnumValue] = field(default_factory=list)
    signed: bool = False
    name_off: int = _hint()


@dataclass(slots=True)
class Fwd(Type):
    """A forward declaration: ``struct name;`` or, with ``is_union``, ``union name;``."""

    kind: ClassVar[Kind] = Kind.FWD
    name: str
    is_union: bool = False
    name_off: int = _hint()


@dataclass(slots=True)
class Typedef(Type):
    kind: ClassVar[Kind] = Kind.TYPEDEF
    name: str
    type: int
    name_off: int = _hint()


@dataclass(slots=True)
class Volatile(Type):
    kind: ClassVar[Kind] = Kind.VOLATILE
    name: str = ""
    type: int = 0
    name_off: int = _hint()


@dataclass(slots=True)
class Const(Type):
    kind: ClassVar[Kind] = Kind.CONST
    name: str = ""
    type: int = 0
    name_off: int = _hint()


@dataclass(slots=True)
class Restrict(Type):
    kind: ClassVar[Kind] = Kind.RESTRICT
    name: str = ""
    type: int = 0
    name_off: int = _hint()


@dataclass(slots=True)
class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` on the type ``type``.

    ``attribute`` is the kind_flag (kernel >= 6.14): the tag is a plain ``__attribute__``
    rather than a ``btf_type_tag``.
    """

    kind: ClassVar[Kind] = Kind.TYPE_TAG
    name: str
    type: int
    attribute: bool = False
    name_off: int = _hint()


@dataclass(slots=True)
class Func(Type):
    """A function: ``type`` is its FUNC_PROTO; ``linkage`` 0 static, 1 global, 2 extern."""

    kind: ClassVar[Kind] = Kind.FUNC
    name: str
    type: int
    linkage: int = Linkage.STATIC
    name_off: int = _hint()


@dataclass(slots=True)
class Param:
    """A FUNC_PROTO parameter.  A last parameter with type 0 and no name means ``...``."""

    name: str
    type: int
    name_off: int = _hint()


@dataclass(slots=True)
class FuncProto(Type):
    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    return_type: int
    params: list[Param] = field(default_factory=list)
    name: str = ""
    name_off: int = _hint()

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


@dataclass(slots=True)
class Var(Type):
    """A global or static variable: ``linkage`` 0 static, 1 global (allocated), 2 extern."""

    kind: ClassVar[Kind] = Kind.VAR
    name: str
    type: int
    linkage: int = Linkage.STATIC
    name_off: int = _hint()


@dataclass(slots=True)
class VarSecinfo:
    """One variable (or ``.ksyms`` function) inside a DATASEC, at ``offset`` in the section."""

    type: int
    offset: int
    size: int


@dataclass(slots=True)
class Datasec(Type):
    """An ELF data section (``.data``, ``.bss``, ``.maps``...) and the variables in it."""

    kind: ClassVar[Kind] = Kind.DATASEC
    name: str
    size: int
    vars: list[VarSecinfo] = field(default_factory=list)
    name_off: int = _hint()


@dataclass(slots=True)
class Float(Type):
    kind: ClassVar[Kind] = Kind.FLOAT
    name: str
    size: int
    name_off: int = _hint()


@dataclass(slots=True)
class DeclTag(Type):
    """``__attribute__((btf_decl_tag(name)))`` on ``type`` (a struct, union, var, func or
    typedef) or, when ``component_idx >= 0``, on that member or parameter of it.

    ``attribute`` is the kind_flag (kernel >= 6.14): a plain ``__attribute__``.
    """

    kind: ClassVar[Kind] = Kind.DECL_TAG
    name: str
    type: int
    component_idx: int = -1
    attribute: bool = False
    name_off: int = _hint()


VOID = Void()
"""The single ``Void`` returned for type id 0."""

TYPE_CLASSES: dict[Kind, type[Type]] = {
    Kind.UNKN: Void, Kind.INT: Int, Kind.PTR: Pointer, Kind.ARRAY: Array,
    Kind.STRUCT: Struct, Kind.UNION: Union, Kind.ENUM: Enum, Kind.FWD: Fwd,
    Kind.TYPEDEF: Typedef, Kind.VOLATILE: Volatile, Kind.CONST: Const,
    Kind.RESTRICT: Restrict, Kind.FUNC: Func, Kind.FUNC_PROTO: FuncProto, Kind.VAR: Var,
    Kind.DATASEC: Datasec, Kind.FLOAT: Float, Kind.DECL_TAG: DeclTag, Kind.TYPE_TAG: TypeTag,
    Kind.ENUM64: Enum64,
}

MODIFIERS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
"""Kinds that :meth:`Spec.resolve` skips: they name or qualify a type without changing it."""
