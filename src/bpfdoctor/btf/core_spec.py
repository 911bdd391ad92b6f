"""CO-RE access specifications: parse a relocation's accessor string against the object's BTF
and find the same access in a kernel type.

This is the type-matching half of CO-RE (the arithmetic and the instruction patching live in
:mod:`bpfdoctor.btf.core`).  The rules are libbpf's (``src/relo_core.c``), because a program
that loads with libbpf must load, with the same instructions, with bpfdoctor:

* an accessor string ``"0:1:2"`` is a path: the first number indexes the root type as an
  array (``&p[0]``), the others are member indexes (into structs and unions, anonymous ones
  included) or array indexes;
* the *high-level* spec keeps only the turning points that carry meaning across kernels:
  named members and array indexes.  Those are looked up by name in the kernel type, through
  any anonymous struct/union nesting the kernel may have added;
* names compare on their *essential* part: ``task_struct___old`` is a flavor of
  ``task_struct`` (for types and enumerators; member names compare exactly).

Failures come in two strengths, as in libbpf: a candidate that simply does not match returns
``None`` with a reason (the caller may poison the instruction), while malformed input raises
:class:`CoreSpecError` with an errno, which fails the whole load.
"""

from __future__ import annotations

import errno as E
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import BTFError
from .ext import CoreReloKind
from .spec import Spec
from .types import (
    Array,
    Enum,
    Enum64,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Member,
    Pointer,
    Struct,
    Type,
    Union,
)

SPEC_MAX_LEN = 64
"""``BPF_CORE_SPEC_MAX_LEN``: the longest accessor path libbpf accepts."""

MAX_COMPAT_DEPTH = 32
"""How deep libbpf follows pointers, arrays and prototypes when comparing types."""

FIELD_KINDS = frozenset({
    CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_BYTE_SIZE, CoreReloKind.FIELD_EXISTS,
    CoreReloKind.FIELD_SIGNED, CoreReloKind.FIELD_LSHIFT_U64, CoreReloKind.FIELD_RSHIFT_U64})
TYPE_KINDS = frozenset({
    CoreReloKind.TYPE_ID_LOCAL, CoreReloKind.TYPE_ID_TARGET, CoreReloKind.TYPE_EXISTS,
    CoreReloKind.TYPE_MATCHES, CoreReloKind.TYPE_SIZE})
ENUMVAL_KINDS = frozenset({CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE})

_ENUMS = (Kind.ENUM, Kind.ENUM64)
_COMPOSITES = (Kind.STRUCT, Kind.UNION)


class CoreSpecError(Exception):
    """Input libbpf refuses outright (it fails the load with ``errno``), as opposed to a
    kernel that merely lacks the field."""

    def __init__(self, message: str, errno: int = E.EINVAL) -> None:
        self.errno = errno
        self.access: str | None = None
        """The access being relocated, when known (set by the caller, for messages)."""
        super().__init__(message)


# ------------------------------------------------------------------------------ names


def essential_name(name: str) -> str:
    """``name`` without its flavor: the part before the last ``X___Y`` separator, where X and
    Y are not underscores (``task_struct___old`` -> ``task_struct``; ``____fput`` has none)."""
    if "___" not in name:
        return name
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 4] != "_" and name.startswith("___", i + 1):
            return name[:i + 1]
    return name


def kind_class(kind: Kind) -> Kind:
    """Kinds CO-RE treats as one: ENUM and ENUM64 may stand for each other."""
    return Kind.ENUM if kind == Kind.ENUM64 else kind


def kinds_compat(a: Kind, b: Kind) -> bool:
    """libbpf's ``btf_kind_core_compat``: same kind, or both enums of any width."""
    return a == b or (a in _ENUMS and b in _ENUMS)


def names_match(local: str, target: str) -> bool:
    """Name rule of TYPE_MATCHES: anonymous matches only anonymous, otherwise the essential
    names must be equal."""
    if not target:
        return not local
    return essential_name(local) == essential_name(target)


# ------------------------------------------------------------------------------ type access


def skip_mods(btf: Spec, type_id: int) -> tuple[int, Type]:
    """Skip typedefs and qualifiers (``skip_mods_and_typedefs``).  A bad id or a cycle is
    malformed BTF: EINVAL, as in libbpf."""
    try:
        type_id = btf.resolve(type_id)
        return type_id, btf.type_by_id(type_id)
    except BTFError as exc:
        raise CoreSpecError(f"bad BTF: {exc.message}") from None


def type_at(btf: Spec, type_id: int) -> Type:
    try:
        return btf.type_by_id(type_id)
    except BTFError as exc:
        raise CoreSpecError(f"bad BTF: {exc.message}") from None


def size_of(btf: Spec, type_id: int) -> int | None:
    """``btf__resolve_size``; None for a type without a size (void, fwd, function)."""
    try:
        return btf.sizeof(type_id)
    except BTFError:
        return None


def describe(btf: Spec, type_id: int) -> str:
    """C spelling for messages; never raises."""
    try:
        return btf.format(type_id)
    except BTFError:
        return f"type [{type_id}]"


# ------------------------------------------------------------------------------ specs


@dataclass(slots=True)
class Accessor:
    """One high-level step of an access: a named member of the composite ``type_id``
    (``name`` set, ``idx`` its member index), or an index ``idx`` into an array whose
    element type is ``type_id`` (``name`` None; the root access is one of these)."""

    type_id: int
    idx: int
    name: str | None = None


@dataclass(slots=True)
class AccessSpec:
    """``struct bpf_core_spec``: an access resolved in one BTF.

    ``raw`` is the low-level path (every member index, anonymous levels included),
    ``accessors`` the high-level one, ``bit_offset`` where the access lands from the start
    of the root type.  Type-based relocations have empty paths."""

    btf: Spec
    root_type_id: int
    kind: CoreReloKind
    raw: list[int] = field(default_factory=list)
    accessors: list[Accessor] = field(default_factory=list)
    bit_offset: int = 0

    def path(self, root_name: str) -> str:
        """C-like view of the access, as libbpf prints it: ``task_struct.se.vruntime``,
        ``sample[1].arr[3]``."""
        out = [root_name or "<anon>"]
        for i, acc in enumerate(self.accessors):
            if acc.name:
                out.append(f".{acc.name}")
            elif i > 0 or acc.idx > 0:
                out.append(f"[{acc.idx}]")
        return "".join(out)


_ACCESS_RE = re.compile(r"\s*\+?\d+(?::\s*\+?\d+)*")


def parse_access_string(s: str) -> list[int]:
    """``"0:1:2"`` -> ``[0, 1, 2]``, with the syntax libbpf's ``sscanf("%d")`` loop accepts.

    Negative numbers are refused: libbpf would let a negative index through to an
    out-of-bounds read."""
    if not s or s[0] == ":" or not _ACCESS_RE.fullmatch(s):
        raise CoreSpecError(f"malformed accessor string {s!r}")
    out = [int(p) for p in s.split(":")]
    if len(out) > SPEC_MAX_LEN:
        raise CoreSpecError(f"accessor string {s!r} is longer than {SPEC_MAX_LEN} steps")
    if any(v >= 1 << 31 for v in out):
        raise CoreSpecError(f"accessor string {s!r} has an index out of range")
    return out


def parse_spec(btf: Spec, type_id: int, access: str, kind: CoreReloKind | int) -> AccessSpec:
    """Resolve a relocation's accessor string in the object's own BTF
    (``bpf_core_parse_spec``).  Any inconsistency is a :class:`CoreSpecError`."""
    if kind not in FIELD_KINDS | TYPE_KINDS | ENUMVAL_KINDS:
        raise CoreSpecError(f"unknown CO-RE relocation kind {int(kind)}")
    kind = CoreReloKind(kind)
    if not access or access[0] == ":":
        raise CoreSpecError(f"malformed accessor string {access!r}")
    if kind in TYPE_KINDS:
        if access != "0":
            raise CoreSpecError(f"type-based relocation with accessor {access!r} (must be "
                                "'0')")
        type_at(btf, type_id)
        return AccessSpec(btf, type_id, kind)
    raw = parse_access_string(access)
    root_id, t = skip_mods(btf, type_id)
    spec = AccessSpec(btf, type_id, kind, raw, [Accessor(root_id, raw[0])])
    if kind in ENUMVAL_KINDS:
        if not isinstance(t, (Enum, Enum64)) or len(raw) > 1 or raw[0] >= len(t.values):
            raise CoreSpecError(f"accessor {access!r} does not name a value of "
                                f"{describe(btf, type_id)}")
        spec.accessors[0].name = t.values[raw[0]].name
        return spec
    sz = size_of(btf, root_id)
    if sz is None:
        raise CoreSpecError(f"{describe(btf, type_id)} has no size")
    spec.bit_offset = raw[0] * sz * 8
    tid = root_id
    for step in raw[1:]:
        tid, t = skip_mods(btf, tid)
        if isinstance(t, (Struct, Union)):
            if step >= len(t.members):
                raise CoreSpecError(f"member index {step} of {describe(btf, tid)} is out of "
                                    f"range ({len(t.members)} members)")
            m = t.members[step]
            spec.bit_offset += m.offset_bits
            if m.name:
                spec.accessors.append(Accessor(tid, step, m.name))
            tid = m.type
        elif isinstance(t, Array):
            flex = _is_flex_array(btf, spec.accessors[-1], t)
            tid, _ = skip_mods(btf, t.type)
            if not flex and step >= t.nelems:
                raise CoreSpecError(f"index {step} is out of bounds of "
                                    f"{describe(btf, type_id)} access {access!r}")
            spec.accessors.append(Accessor(tid, step))
            sz = size_of(btf, tid)
            if sz is None:
                raise CoreSpecError(f"array element {describe(btf, tid)} has no size")
            spec.bit_offset += step * sz * 8
        else:
            raise CoreSpecError(f"accessor {access!r} of {describe(btf, type_id)} steps into "
                                f"{t.kind.name} {describe(btf, tid)}")
    return spec


def _is_flex_array(btf: Spec, prev: Accessor, arr: Array) -> bool:
    """A zero-length array that is the last member of its struct may be indexed past its
    declared size (``is_flex_arr``)."""
    if prev.name is None or arr.nelems > 0:
        return False
    holder = type_at(btf, prev.type_id)
    return isinstance(holder, (Struct, Union)) and prev.idx == len(holder.members) - 1


# ------------------------------------------------------------------------------ compatibility


def fields_compat(lb: Spec, lid: int, tb: Spec, tid: int) -> bool:
    """Whether a local member type may be relocated to a kernel member type
    (``bpf_core_fields_are_compat``): any struct/union pair, any pointers, floats, integers
    that are not old-style bitfields, same-named enums/fwds, arrays of compatible elements."""
    while True:
        lid, lt = skip_mods(lb, lid)
        tid, tt = skip_mods(tb, tid)
        if lt.kind in _COMPOSITES and tt.kind in _COMPOSITES:
            return True
        if not kinds_compat(lt.kind, tt.kind):
            return False
        k = lt.kind
        if k in (Kind.PTR, Kind.FLOAT):
            return True
        if k in (Kind.FWD, Kind.ENUM, Kind.ENUM64):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if k == Kind.INT:
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if k == Kind.ARRAY:
            lid, tid = lt.type, tt.type  # type: ignore[attr-defined]
            continue
        return False


def types_compat(lb: Spec, lid: int, tb: Spec, tid: int, level: int = MAX_COMPAT_DEPTH) -> bool:
    """Compatibility for type-based relocations (``bpf_core_types_are_compat``): kinds must
    agree; pointers, arrays and prototypes are compared structurally; names past the root
    are ignored."""
    if not kinds_compat(type_at(lb, lid).kind, type_at(tb, tid).kind):
        return False
    for _ in range(MAX_COMPAT_DEPTH):
        lid, lt = skip_mods(lb, lid)
        tid, tt = skip_mods(tb, tid)
        if not kinds_compat(lt.kind, tt.kind):
            return False
        k = lt.kind
        if k in (Kind.UNKN, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.FWD, Kind.ENUM64):
            return True
        if k == Kind.INT:
            return lt.offset == 0 and tt.offset == 0  # type: ignore[attr-defined]
        if isinstance(lt, (Pointer, Array)):
            lid, tid = lt.type, tt.type  # type: ignore[attr-defined]
        elif isinstance(lt, FuncProto):
            assert isinstance(tt, FuncProto)
            if len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if level <= 0:
                    raise CoreSpecError("type comparison nests too deep")
                a, _ = skip_mods(lb, lp.type)
                b, _ = skip_mods(tb, tp.type)
                if not types_compat(lb, a, tb, b, level - 1):
                    return False
            lid, tid = lt.return_type, tt.return_type
        else:
            return False
    raise CoreSpecError("type comparison nests too deep")


def types_match(lb: Spec, lid: int, tb: Spec, tid: int, behind_ptr: bool = False,
                level: int = MAX_COMPAT_DEPTH) -> bool:
    """The TYPE_MATCHES relation (``bpf_core_types_match``), stricter than compatibility:
    names must match at every level, integers agree in size and signedness, arrays in
    length, and every local member or enumerator must exist in the kernel type (struct
    members compared recursively, except behind a pointer, where a forward declaration of
    the right kind is enough)."""
    if level <= 0:
        raise CoreSpecError("type comparison nests too deep")
    for _ in range(MAX_COMPAT_DEPTH):
        lid, lt = skip_mods(lb, lid)
        tid, tt = skip_mods(tb, tid)
        if not names_match(lt.name, tt.name):
            return False
        lk, tk = lt.kind, tt.kind
        if lk == Kind.UNKN:
            return lk == tk
        if isinstance(lt, Fwd):
            if tk == Kind.FWD:
                return lt.is_union == tt.is_union  # type: ignore[attr-defined]
            if not behind_ptr:
                return False
            return (tk == Kind.STRUCT and not lt.is_union) or (tk == Kind.UNION and lt.is_union)
        if isinstance(lt, (Enum, Enum64)):
            if not isinstance(tt, (Enum, Enum64)):
                return False
            return _enums_match(lt, tt)
        if isinstance(lt, (Struct, Union)):
            if behind_ptr:
                if lk == tk:
                    return True
                if not isinstance(tt, Fwd):
                    return False
                return (lk == Kind.UNION) == tt.is_union
            if lk != tk:
                return False
            return _composites_match(lb, lt, tb, tt, behind_ptr, level)  # type: ignore[arg-type]
        if isinstance(lt, Int):
            if not isinstance(tt, Int):
                return False
            return lt.size == tt.size and lt.signed == tt.signed
        if isinstance(lt, Pointer):
            if not isinstance(tt, Pointer):
                return False
            behind_ptr = True
            lid, tid = lt.type, tt.type
        elif isinstance(lt, Array):
            if not isinstance(tt, Array) or lt.nelems != tt.nelems:
                return False
            lid, tid = lt.type, tt.type
        elif isinstance(lt, FuncProto):
            if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
                return False
            for lp, tp in zip(lt.params, tt.params, strict=True):
                if not types_match(lb, lp.type, tb, tp.type, behind_ptr, level - 1):
                    return False
            lid, tid = lt.return_type, tt.return_type
        else:
            return False
    raise CoreSpecError("type comparison nests too deep")


def _enums_match(lt: Enum | Enum64, tt: Enum | Enum64) -> bool:
    if lt.size != tt.size or len(lt.values) > len(tt.values):
        return False
    return all(any(names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)


def _composites_match(lb: Spec, lt: Struct | Union, tb: Spec, tt: Struct | Union,
                      behind_ptr: bool, level: int) -> bool:
    if len(lt.members) > len(tt.members):
        return False
    for lm in lt.members:
        if not any(names_match(lm.name, tm.name)
                   and types_match(lb, lm.type, tb, tm.type, behind_ptr, level - 1)
                   for tm in tt.members):
            return False
    return True


# ------------------------------------------------------------------------------ member lookup


@dataclass(frozen=True, slots=True)
class MemberHit:
    """Where a member name occurs inside a composite, anonymous members flattened:
    ``path`` is the member index at each level, ``bit_offset`` the sum of their offsets,
    ``holder`` the (resolved) composite that directly contains the member, ``idx`` its index
    there and ``type`` its type."""

    path: tuple[int, ...]
    bit_offset: int
    holder: int
    idx: int
    type: int


MemberIndex = dict[str, list[MemberHit]]


def member_index(btf: Spec, type_id: int) -> MemberIndex:
    """Every named member reachable from composite ``type_id`` through anonymous members, in
    libbpf's search order (depth first, member order).  Built once per kernel type and
    cached by :class:`~bpfdoctor.btf.core.Targets`, so that looking up ``task_struct.pid``
    does not rescan task_struct's members for every relocation."""
    index: MemberIndex = {}

    def walk(tid: int, path: tuple[int, ...], base: int) -> None:
        tid, t = skip_mods(btf, tid)
        if not isinstance(t, (Struct, Union)) or len(path) >= SPEC_MAX_LEN:
            return
        for i, m in enumerate(t.members):
            p = (*path, i)
            if m.name:
                index.setdefault(m.name, []).append(
                    MemberHit(p, base + m.offset_bits, tid, i, m.type))
            else:
                walk(m.type, p, base + m.offset_bits)

    walk(type_id, (), 0)
    return index


def find_member(lb: Spec, local_member: Member, hits: list[MemberHit], tb: Spec
                ) -> tuple[MemberHit | None, MemberHit | None]:
    """The kernel member a local one relocates to (``bpf_core_match_member``).

    Returns ``(match, incompatible)``: ``incompatible`` is the first same-named member whose
    type did not fit, for the diagnosis.  libbpf searches depth first and a same-named member
    of the wrong type ends the search of the struct level it sits in; the enclosing level
    goes on.  Replaying that over the flattened hits: an incompatible hit skips the rest of
    the anonymous member it sits in (for a top-level hit, the whole struct)."""
    bad: MemberHit | None = None
    skip: tuple[int, ...] | None = None
    for hit in hits:
        if skip is not None and hit.path[:len(skip)] == skip:
            continue
        if fields_compat(lb, local_member.type, tb, hit.type):
            return hit, bad
        bad = bad or hit
        skip = hit.path[:-1]  # () for a top-level member: nothing more is searched
    return None, bad


# ------------------------------------------------------------------------------ matching


MemberSource = Callable[[Spec, int], MemberIndex]
"""Where :func:`match_spec` gets member indexes (cached ones, from
:class:`~bpfdoctor.btf.core.Targets`; :func:`member_index` itself works too)."""


def match_spec(local: AccessSpec, tb: Spec, targ_id: int,
               members: MemberSource = member_index) -> tuple[AccessSpec | None, str | None]:
    """Find ``local``'s access in kernel type ``targ_id`` (``bpf_core_spec_match``).

    Returns the target spec, or ``(None, reason)`` when this candidate does not have the
    field, enumerator or shape.  ``members(btf, type_id)`` returns a :func:`member_index`."""
    kind = local.kind
    targ = AccessSpec(tb, targ_id, kind)
    lb = local.btf
    if kind in TYPE_KINDS:
        if kind == CoreReloKind.TYPE_MATCHES:
            ok = types_match(lb, local.root_type_id, tb, targ_id)
        else:
            ok = types_compat(lb, local.root_type_id, tb, targ_id)
        if ok:
            return targ, None
        how = "does not match" if kind == CoreReloKind.TYPE_MATCHES else \
            "is not compatible with"
        return None, (f"{describe(tb, targ_id)} in this kernel {how} the program's "
                      f"definition of {describe(lb, local.root_type_id)}")
    if kind in ENUMVAL_KINDS:
        return _match_enumval(local, targ, tb, targ_id)
    if kind not in FIELD_KINDS:
        raise CoreSpecError(f"unknown CO-RE relocation kind {int(kind)}")
    for i, lacc in enumerate(local.accessors):
        targ_id, tt = skip_mods(tb, targ_id)
        if lacc.name is not None:
            if not isinstance(tt, (Struct, Union)):
                return None, (f"{describe(tb, targ_id)} is not a struct or union in this "
                              f"kernel, so it has no field '{lacc.name}'")
            holder = type_at(lb, lacc.type_id)
            assert isinstance(holder, (Struct, Union))
            lm = holder.members[lacc.idx]
            hits = members(tb, targ_id).get(lacc.name, [])
            hit, bad = find_member(lb, lm, hits, tb)
            if hit is None:
                if bad is None:
                    return None, (f"field '{lacc.name}' does not exist in "
                                  f"{describe(tb, targ_id)} in this kernel")
                return None, (f"field '{lacc.name}' of {describe(tb, targ_id)} has type "
                              f"{describe(tb, bad.type)} in this kernel, not compatible "
                              f"with the program's {describe(lb, lm.type)}")
            if len(targ.raw) + len(hit.path) > SPEC_MAX_LEN:
                raise CoreSpecError("kernel type nests deeper than CO-RE follows", E.E2BIG)
            targ.raw.extend(hit.path)
            targ.bit_offset += hit.bit_offset
            targ.accessors.append(Accessor(hit.holder, hit.idx, lacc.name))
            targ_id = hit.type
            continue
        if i > 0:
            if not isinstance(tt, Array):
                return None, (f"{describe(tb, targ_id)} is not an array in this kernel, so "
                              f"it cannot be indexed")
            flex = _is_flex_array(tb, targ.accessors[-1], tt)
            if not flex and lacc.idx >= tt.nelems:
                return None, (f"index {lacc.idx} is out of bounds of {describe(tb, targ_id)} "
                              f"in this kernel")
            targ_id, _ = skip_mods(tb, tt.type)
        if len(targ.raw) == SPEC_MAX_LEN:
            raise CoreSpecError("kernel type nests deeper than CO-RE follows", E.E2BIG)
        targ.accessors.append(Accessor(targ_id, lacc.idx))
        targ.raw.append(lacc.idx)
        sz = size_of(tb, targ_id)
        if sz is None:
            raise CoreSpecError(f"kernel type {describe(tb, targ_id)} has no size")
        targ.bit_offset += lacc.idx * sz * 8
    return targ, None


def _match_enumval(local: AccessSpec, targ: AccessSpec, tb: Spec, targ_id: int
                   ) -> tuple[AccessSpec | None, str | None]:
    targ_id, tt = skip_mods(tb, targ_id)
    want = local.accessors[0].name or ""
    if not isinstance(tt, (Enum, Enum64)):
        return None, f"{describe(tb, targ_id)} is not an enum in this kernel"
    ess = essential_name(want)
    for i, v in enumerate(tt.values):
        if essential_name(v.name) == ess:
            targ.accessors.append(Accessor(targ_id, i, v.name))
            targ.raw.append(i)
            return targ, None
    return None, f"enum value '{want}' does not exist in {describe(tb, targ_id)} in this kernel"
