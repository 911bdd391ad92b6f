"""C spelling of BTF types, for diagnostics: ``struct task_struct *``, ``int (*)(void *)``.

C declarators read inside out, so the formatter carries the declarator built so far
(``inner``) down the type chain: a pointer prepends ``*`` (parenthesised when it points at an
array or a function), an array appends ``[n]``, a function prototype appends its parameter
list, and the type at the bottom supplies the specifier on the left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BTFError
from .types import (
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Pointer,
    Restrict,
    Struct,
    Typedef,
    TypeTag,
    Union,
    Var,
    Void,
    Volatile,
)

if TYPE_CHECKING:
    from .spec import Spec

MAX_DEPTH = 64
"""Declarator nesting the formatter follows before calling the chain a cycle."""

_QUALIFIERS = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}


def format_type(spec: Spec, type_id: int, name: str = "") -> str:
    """C spelling of ``type_id``, declaring ``name`` if given.

    FUNC formats as a prototype with its name and parameter names, VAR as a declaration of the
    variable; DATASEC and DECL_TAG, which have no C spelling, as ``SEC("name")`` and the
    attribute.  ``BTFError`` on bad ids or reference cycles."""
    t = spec.type_by_id(type_id)
    if isinstance(t, Func):
        proto = spec.type_by_id(t.type)
        if not isinstance(proto, FuncProto):
            raise BTFError(f"FUNC {t.name!r} (type {type_id}) points at {proto.kind.name} "
                           f"(type {t.type}), not a FUNC_PROTO")
        return _proto(spec, proto, name or t.name, 1, with_names=True)
    if isinstance(t, Var):
        return _decl(spec, t.type, name or t.name, 1)
    if isinstance(t, Datasec):
        return f'SEC("{t.name}")'
    if isinstance(t, DeclTag):
        return f'__attribute__((btf_decl_tag("{t.name}")))'
    return _decl(spec, type_id, name, 0)


def _join(spec_: str, inner: str) -> str:
    if not inner:
        return spec_
    if inner.startswith("["):
        return spec_ + inner
    return f"{spec_} {inner}"


def _tag(keyword: str, name: str) -> str:
    return f"{keyword} {name}" if name else f"{keyword} {{...}}"


def _is_pointer(spec: Spec, type_id: int, depth: int) -> bool:
    """Whether ``type_id`` is a pointer once qualifiers and type tags are skipped (a qualifier
    on a pointer binds to the right of the ``*``)."""
    for _ in range(MAX_DEPTH - depth):
        t = spec.type_by_id(type_id)
        if isinstance(t, (Const, Volatile, Restrict, TypeTag)):
            type_id = t.type
            continue
        return isinstance(t, Pointer)
    raise BTFError(f"type {type_id}: qualifier chain too deep (reference cycle?)")


def _decl(spec: Spec, type_id: int, inner: str, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise BTFError(f"type {type_id}: declarator nested more than {MAX_DEPTH} levels "
                       "(reference cycle?)")
    t = spec.type_by_id(type_id)
    if isinstance(t, Void):
        return _join("void", inner)
    if isinstance(t, (Int, Float, Typedef)):
        return _join(t.name or f"<anonymous {t.kind.name}>", inner)
    if isinstance(t, Struct):
        return _join(_tag("struct", t.name), inner)
    if isinstance(t, Union):
        return _join(_tag("union", t.name), inner)
    if isinstance(t, (Enum, Enum64)):
        return _join(_tag("enum", t.name), inner)
    if isinstance(t, Fwd):
        return _join(_tag("union" if t.is_union else "struct", t.name), inner)
    if isinstance(t, Pointer):
        target = spec.type_by_id(t.type)
        new = "*" + inner
        if isinstance(target, (Array, FuncProto)):
            new = f"({new})"
        return _decl(spec, t.type, new, depth + 1)
    if isinstance(t, (Const, Volatile, Restrict, TypeTag)):
        qual = (f'__attribute__((btf_type_tag("{t.name}")))' if isinstance(t, TypeTag)
                else _QUALIFIERS[t.kind])
        if _is_pointer(spec, t.type, depth):
            return _decl(spec, t.type, f"{qual} {inner}" if inner else qual, depth + 1)
        return f"{qual} {_decl(spec, t.type, inner, depth + 1)}"
    if isinstance(t, Array):
        return _decl(spec, t.type, f"{inner}[{t.nelems}]", depth + 1)
    if isinstance(t, FuncProto):
        return _proto(spec, t, inner, depth + 1, with_names=False)
    if isinstance(t, (Func, Var, Datasec, DeclTag)):
        raise BTFError(f"type {type_id}: {t.kind.name} {t.name!r} is not a C type")
    raise BTFError(f"type {type_id}: cannot format {type(t).__name__}")  # pragma: no cover


def _proto(spec: Spec, proto: FuncProto, inner: str, depth: int, *, with_names: bool) -> str:
    params = []
    for p in proto.params:
        if p.type == 0 and not p.name:
            params.append("...")
        else:
            params.append(_decl(spec, p.type, p.name if with_names else "", depth + 1))
    return _decl(spec, proto.return_type, f"{inner}({', '.join(params) or 'void'})", depth + 1)
