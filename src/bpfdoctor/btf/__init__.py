"""BTF (BPF Type Format) and .BTF.ext: parse, inspect, modify and marshal.

Types refer to each other by type id, as on the wire; see :mod:`bpfdoctor.btf.types`.

>>> from bpfdoctor.btf import kernel, Struct
>>> vm = kernel.vmlinux()                                   # doctest: +SKIP
>>> vm.format(vm.find("task_struct", Struct)[0])            # doctest: +SKIP
'struct task_struct'
"""

from __future__ import annotations

from . import kernel
from .spec import POINTER_SIZE, Spec, TypeList, marshal, parse
from .types import (
    BOOL,
    CHAR,
    SIGNED,
    VOID,
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
    Linkage,
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
    from .ext import (
        CoreRelo,
        CoreReloKind,
        ExtInfo,
        FuncInfo,
        LineInfo,
        marshal_ext,
        marshal_func_info,
        marshal_line_info,
        parse_ext,
    )
    from .fixup import fixup_datasecs

# .BTF.ext and DATASEC fix-ups are only needed to load objects; importing them on first use
# keeps "kernel BTF ready for CO-RE" (import + vmlinux() + find()) a few milliseconds shorter.
_LAZY = {
    "CoreRelo": "ext", "CoreReloKind": "ext", "ExtInfo": "ext", "FuncInfo": "ext",
    "LineInfo": "ext", "marshal_ext": "ext", "marshal_func_info": "ext",
    "marshal_line_info": "ext", "parse_ext": "ext", "fixup_datasecs": "fixup",
}


def __getattr__(name: str) -> object:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "BOOL", "CHAR", "POINTER_SIZE", "SIGNED", "VOID", "Array", "Const", "CoreRelo",
    "CoreReloKind", "Datasec", "DeclTag", "Enum", "Enum64", "EnumValue", "ExtInfo", "Float",
    "Func", "FuncInfo", "FuncProto", "Fwd", "Int", "IntEncoding", "Kind", "LineInfo", "Linkage",
    "Member", "Param", "Pointer", "Restrict", "Spec", "Struct", "Type", "TypeList", "TypeTag",
    "Typedef", "Union", "Var", "VarSecinfo", "Void", "Volatile", "fixup_datasecs", "kernel",
    "marshal", "marshal_ext", "marshal_func_info", "marshal_line_info", "parse", "parse_ext",
]
