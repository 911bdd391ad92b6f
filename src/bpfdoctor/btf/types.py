"""BTF type records: small mutable classes, one per wire kind.

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

from enum import IntEnum, IntFlag
from operator import attrgetter

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (and re) at run time
if TYPE_CHECKING:
    from typing import Any, ClassVar


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


class _Record:
    """Shared behaviour of the type records and their members, parameters and values.

    These behave like mutable ``@dataclass(slots=True)`` classes (equality by field, an
    unhashable, readable repr) but are written out by hand: generating ~25 dataclasses
    costs ~20 ms at import, a large share of the time to make vmlinux ready for CO-RE.
    Each subclass lists its fields in ``_repr_fields`` (shown by ``repr``) and
    ``_eq_fields`` (compared by ``==``); ``name_off`` is in neither (see the module doc).
    """

    __slots__ = ()
    _repr_fields: ClassVar[tuple[str, ...]] = ()
    _eq_fields: ClassVar[tuple[str, ...]] = ()
    _key: ClassVar[Any] = None
    __hash__ = None  # type: ignore[assignment]  # mutable: equal values may change

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = cls.__dict__.get("_eq_fields", cls._eq_fields)
        # attrgetter is C; with one field it returns a bare value, which compares the same.
        cls._key = attrgetter(*fields) if fields else None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = self._key
        return key is None or bool(key(self) == key(other))

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._repr_fields)
        return f"{type(self).__qualname__}({args})"


class Type(_Record):
    """Base class of every BTF type record.  ``kind`` is the wire kind."""

    __slots__ = ()
    kind: ClassVar[Kind]
    name: str


class Void(Type):
    """Type id 0: ``void``.  Not encoded on the wire; every BTF has it implicitly."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.UNKN

    @property
    def name(self) -> str:  # type: ignore[override]
        return ""


class Int(Type):
    """An integer: ``size`` bytes, of which ``bits`` starting at bit ``offset`` are used."""

    __slots__ = ("bits", "encoding", "name", "name_off", "offset", "size")
    kind: ClassVar[Kind] = Kind.INT
    _repr_fields = _eq_fields = ("name", "size", "encoding", "offset", "bits")

    def __init__(self, name: str, size: int, encoding: IntEncoding = IntEncoding.NONE,
                 offset: int = 0, bits: int = 0, *, name_off: int = -1) -> None:
        self.name = name
        self.size = size
        self.encoding = encoding
        self.offset = offset
        self.bits = bits
        self.name_off = name_off

    @property
    def signed(self) -> bool:
        return bool(self.encoding & IntEncoding.SIGNED)


class _Ref(Type):
    """A record that only names or qualifies another type: ``name`` and ``type``."""

    __slots__ = ("name", "name_off", "type")
    _repr_fields = _eq_fields = ("name", "type")

    def __init__(self, name: str, type: int, *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.name_off = name_off


class _Qualifier(_Ref):
    """A pointer or qualifier: usually anonymous, so both fields have defaults."""

    __slots__ = ()

    def __init__(self, name: str = "", type: int = 0, *,
                 name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.name_off = name_off


class Pointer(_Qualifier):
    __slots__ = ()
    kind: ClassVar[Kind] = Kind.PTR


class Array(Type):
    """``type elems[nelems]``; ``index_type`` is an INT the kernel checks but never uses."""

    __slots__ = ("index_type", "name", "name_off", "nelems", "type")
    kind: ClassVar[Kind] = Kind.ARRAY
    _repr_fields = _eq_fields = ("type", "index_type", "nelems", "name")

    def __init__(self, type: int, index_type: int, nelems: int, name: str = "",
                 *, name_off: int = -1) -> None:
        self.type = type
        self.index_type = index_type
        self.nelems = nelems
        self.name = name
        self.name_off = name_off


class Member(_Record):
    """A struct/union member.  ``offset_bits`` is from the start of the enclosing type.

    ``bitfield_size`` is non-zero only for bitfields encoded the kind_flag way; with kind_flag
    clear, bitfields are described by the member's INT type (``Int.bits``/``Int.offset``).
    """

    __slots__ = ("bitfield_size", "name", "name_off", "offset_bits", "type")
    _repr_fields = _eq_fields = ("name", "type", "offset_bits", "bitfield_size")

    def __init__(self, name: str, type: int, offset_bits: int,
                 bitfield_size: int = 0, *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.offset_bits = offset_bits
        self.bitfield_size = bitfield_size
        self.name_off = name_off


class _Composite(Type):
    __slots__ = ("kind_flag", "members", "name", "name_off", "size")
    _repr_fields = ("name", "size", "members", "kind_flag")
    _eq_fields = ("name", "size", "members")

    def __init__(self, name: str, size: int, members: list[Member] | None = None,
                 kind_flag: bool = False, *, name_off: int = -1) -> None:
        self.name = name
        self.size = size
        self.members = [] if members is None else members
        self.kind_flag = kind_flag
        self.name_off = name_off


class Struct(_Composite):
    """A struct.  ``kind_flag`` selects the member-offset encoding that carries
    ``bitfield_size``; it is forced on when marshalling if any member has a bitfield size.
    Being an encoding choice, it takes no part in equality."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.STRUCT


class Union(_Composite):
    """A union; as :class:`Struct`."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.UNION


class EnumValue(_Record):
    __slots__ = ("name", "name_off", "value")
    _repr_fields = _eq_fields = ("name", "value")

    def __init__(self, name: str, value: int, *, name_off: int = -1) -> None:
        self.name = name
        self.value = value
        self.name_off = name_off


class _EnumBase(Type):
    __slots__ = ("name", "name_off", "signed", "size", "values")
    _repr_fields = _eq_fields = ("name", "size", "values", "signed")

    def __init__(self, name: str, size: int, values: list[EnumValue] | None = None,
                 signed: bool = False, *, name_off: int = -1) -> None:
        self.name = name
        self.size = size
        self.values = [] if values is None else values
        self.signed = signed
        self.name_off = name_off


class Enum(_EnumBase):
    """An enum with 32-bit values; ``signed`` is the kind_flag (values are s32, else u32)."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.ENUM


class Enum64(_EnumBase):
    """An enum with 64-bit values (``BTF_KIND_ENUM64``)."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.ENUM64


class Fwd(Type):
    """A forward declaration: ``struct name;`` or, with ``is_union``, ``union name;``."""

    __slots__ = ("is_union", "name", "name_off")
    kind: ClassVar[Kind] = Kind.FWD
    _repr_fields = _eq_fields = ("name", "is_union")

    def __init__(self, name: str, is_union: bool = False, *, name_off: int = -1) -> None:
        self.name = name
        self.is_union = is_union
        self.name_off = name_off


class Typedef(_Ref):
    __slots__ = ()
    kind: ClassVar[Kind] = Kind.TYPEDEF


class Volatile(_Qualifier):
    __slots__ = ()
    kind: ClassVar[Kind] = Kind.VOLATILE


class Const(_Qualifier):
    __slots__ = ()
    kind: ClassVar[Kind] = Kind.CONST


class Restrict(_Qualifier):
    __slots__ = ()
    kind: ClassVar[Kind] = Kind.RESTRICT


class TypeTag(Type):
    """``__attribute__((btf_type_tag(name)))`` on the type ``type``.

    ``attribute`` is the kind_flag (kernel >= 6.14): the tag is a plain ``__attribute__``
    rather than a ``btf_type_tag``.
    """

    __slots__ = ("attribute", "name", "name_off", "type")
    kind: ClassVar[Kind] = Kind.TYPE_TAG
    _repr_fields = _eq_fields = ("name", "type", "attribute")

    def __init__(self, name: str, type: int, attribute: bool = False,
                 *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.attribute = attribute
        self.name_off = name_off


class _Linked(Type):
    __slots__ = ("linkage", "name", "name_off", "type")
    _repr_fields = _eq_fields = ("name", "type", "linkage")

    def __init__(self, name: str, type: int, linkage: int = Linkage.STATIC,
                 *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.linkage = linkage
        self.name_off = name_off


class Func(_Linked):
    """A function: ``type`` is its FUNC_PROTO; ``linkage`` 0 static, 1 global, 2 extern."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.FUNC


class Param(_Record):
    """A FUNC_PROTO parameter.  A last parameter with type 0 and no name means ``...``."""

    __slots__ = ("name", "name_off", "type")
    _repr_fields = _eq_fields = ("name", "type")

    def __init__(self, name: str, type: int, *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.name_off = name_off


class FuncProto(Type):
    __slots__ = ("name", "name_off", "params", "return_type")
    kind: ClassVar[Kind] = Kind.FUNC_PROTO
    _repr_fields = _eq_fields = ("return_type", "params", "name")

    def __init__(self, return_type: int, params: list[Param] | None = None, name: str = "",
                 *, name_off: int = -1) -> None:
        self.return_type = return_type
        self.params = [] if params is None else params
        self.name = name
        self.name_off = name_off

    @property
    def variadic(self) -> bool:
        return bool(self.params) and self.params[-1].type == 0 and not self.params[-1].name


class Var(_Linked):
    """A global or static variable: ``linkage`` 0 static, 1 global (allocated), 2 extern."""

    __slots__ = ()
    kind: ClassVar[Kind] = Kind.VAR


class VarSecinfo(_Record):
    """One variable (or ``.ksyms`` function) inside a DATASEC, at ``offset`` in the section."""

    __slots__ = ("offset", "size", "type")
    _repr_fields = _eq_fields = ("type", "offset", "size")

    def __init__(self, type: int, offset: int, size: int) -> None:
        self.type = type
        self.offset = offset
        self.size = size


class Datasec(Type):
    """An ELF data section (``.data``, ``.bss``, ``.maps``...) and the variables in it."""

    __slots__ = ("name", "name_off", "size", "vars")
    kind: ClassVar[Kind] = Kind.DATASEC
    _repr_fields = _eq_fields = ("name", "size", "vars")

    def __init__(self, name: str, size: int, vars: list[VarSecinfo] | None = None,
                 *, name_off: int = -1) -> None:
        self.name = name
        self.size = size
        self.vars = [] if vars is None else vars
        self.name_off = name_off


class Float(Type):
    __slots__ = ("name", "name_off", "size")
    kind: ClassVar[Kind] = Kind.FLOAT
    _repr_fields = _eq_fields = ("name", "size")

    def __init__(self, name: str, size: int, *, name_off: int = -1) -> None:
        self.name = name
        self.size = size
        self.name_off = name_off


class DeclTag(Type):
    """``__attribute__((btf_decl_tag(name)))`` on ``type`` (a struct, union, var, func or
    typedef) or, when ``component_idx >= 0``, on that member or parameter of it.

    ``attribute`` is the kind_flag (kernel >= 6.14): a plain ``__attribute__``.
    """

    __slots__ = ("attribute", "component_idx", "name", "name_off", "type")
    kind: ClassVar[Kind] = Kind.DECL_TAG
    _repr_fields = _eq_fields = ("name", "type", "component_idx", "attribute")

    def __init__(self, name: str, type: int, component_idx: int = -1,
                 attribute: bool = False, *, name_off: int = -1) -> None:
        self.name = name
        self.type = type
        self.component_idx = component_idx
        self.attribute = attribute
        self.name_off = name_off


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
