"""CO-RE: adjust a program's instructions to the running kernel's type layout.

A CO-RE object is compiled against one kernel's headers; clang records, for every
instruction that depends on a kernel type (a field offset in a load, a field's size, whether
a type or enum value exists...), a relocation naming the *local* type and an accessor path.
At load time each relocation is resolved against the kernel's BTF and the instruction's
immediate, offset or load size is rewritten.  This module does that exactly as libbpf 1.x
does (``bpf_core_calc_relo_insn``/``bpf_core_patch_insn`` in ``src/relo_core.c``, candidate
search in ``src/libbpf.c``), so a program loads with the same instructions under either:

* **candidates**: kernel types of the same kind whose *essential* name (the name without a
  ``___flavor`` suffix) is the local type's.  vmlinux is searched first; module BTF only
  when vmlinux has no candidate;
* every candidate that has the access must give the same answer, or the relocation is
  ambiguous and the load fails (EINVAL);
* a field, enumerator or type the kernel lacks does not fail the load: the instruction is
  *poisoned* into ``call 0xbad2310``, which the verifier rejects only if the instruction is
  reachable (``invalid func unknown#195896080``).  Existence checks
  (``bpf_core_field_exists`` ...) resolve to 0 instead, which is what lets a program guard
  such accesses.

Every relocation's outcome is reported as a :class:`CoreResult`, so that a failure can be
explained in words ("field 'freebind' does not exist in struct inet_sock in this kernel")
rather than as a verifier message about an unknown helper.

>>> insns, results = relocate(prog.instructions, prog.core_relos, obj.btf,
...                            kernel_targets())            # doctest: +SKIP
"""

from __future__ import annotations

import errno as E
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from ..asm import Instruction, slot_offsets
from ..errors import BpfDoctorError, LoadError
from . import kernel
from .core_spec import (
    ENUMVAL_KINDS,
    FIELD_KINDS,
    TYPE_KINDS,
    AccessSpec,
    CoreSpecError,
    MemberIndex,
    describe,
    essential_name,
    kind_class,
    kinds_compat,
    match_spec,
    member_index,
    parse_spec,
    size_of,
    skip_mods,
    type_at,
)
from .ext import CoreReloKind
from .spec import Spec
from .types import Enum, Enum64, Int, IntEncoding, Kind, Pointer, Struct, Union

if TYPE_CHECKING:
    from ..spec import CoreReloRec

POISON_IMM = 0xBAD2310
"""Helper id of libbpf's poisoned instruction (195896080, "bad relo"); the verifier reports
``invalid func unknown#195896080`` when one is reachable."""

_CALL = 0x85  # BPF_JMP | BPF_CALL
_MASK64 = (1 << 64) - 1
_SHRT_MAX = 0x7FFF
_LITTLE_ENDIAN = sys.byteorder == "little"

_KIND_NAMES = {
    CoreReloKind.FIELD_BYTE_OFFSET: "byte_off", CoreReloKind.FIELD_BYTE_SIZE: "byte_sz",
    CoreReloKind.FIELD_EXISTS: "field_exists", CoreReloKind.FIELD_SIGNED: "signed",
    CoreReloKind.FIELD_LSHIFT_U64: "lshift_u64", CoreReloKind.FIELD_RSHIFT_U64: "rshift_u64",
    CoreReloKind.TYPE_ID_LOCAL: "local_type_id", CoreReloKind.TYPE_ID_TARGET: "target_type_id",
    CoreReloKind.TYPE_EXISTS: "type_exists", CoreReloKind.TYPE_MATCHES: "type_matches",
    CoreReloKind.TYPE_SIZE: "type_size", CoreReloKind.ENUMVAL_EXISTS: "enumval_exists",
    CoreReloKind.ENUMVAL_VALUE: "enumval_value",
}


def kind_name(kind: CoreReloKind | int) -> str:
    """libbpf's short name of a relocation kind (``byte_off``, ``field_exists``...)."""
    try:
        return _KIND_NAMES[CoreReloKind(kind)]
    except ValueError:
        return f"kind {int(kind)}"


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class CoreResult:
    """The outcome of one CO-RE relocation.

    ``access`` is the human spelling of what was relocated (``task_struct.se.vruntime``,
    ``enum pid_type::PIDTYPE_TGID``, or the type for type-based kinds).  ``orig`` is the value
    the compiler wrote (from the object's BTF), ``new`` the value for this kernel (None when
    the instruction was poisoned or the relocation failed).  ``reason`` says, in words, why
    the kernel has no match (set when ``poisoned``, when an existence check resolved to 0,
    and on errors).  ``target_type_id`` is the kernel type the access resolved in (an id of
    vmlinux, or of the module's split BTF), ``candidates`` how many kernel types carrying the
    local type's essential name and kind were tried (libbpf drops, for later relocations of
    the same local type, the candidates a relocation did not match)."""

    relo: CoreReloRec
    kind: CoreReloKind | int
    local_type: str
    access: str
    poisoned: bool = False
    reason: str | None = None
    orig: int | None = None
    new: int | None = None
    target_type_id: int | None = None
    candidates: int = 0

    def __str__(self) -> str:
        head = f"{kind_name(self.kind)} {self.access}"
        if self.poisoned:
            return f"{head}: poisoned: {self.reason}"
        if self.new is None:
            return f"{head}: {self.reason or 'failed'}"
        tail = f" ({self.reason})" if self.reason else ""
        return f"{head}: {self.orig} -> {self.new}{tail}"


class CoreRelocationError(LoadError):
    """A CO-RE relocation libbpf would refuse, failing the whole load: ambiguous kernel
    candidates, a malformed accessor, an unknown kind, an instruction that does not fit the
    relocation.  ``result`` is the relocation's :class:`CoreResult`, ``index`` its position
    in the program's relocation list."""

    stage = "program"

    def __init__(self, message: str, *, result: CoreResult, index: int,
                 errno: int = E.EINVAL) -> None:
        self.result = result
        self.index = index
        super().__init__(message, errno=errno)


# ------------------------------------------------------------------------------ targets


class Candidate(NamedTuple):
    """A kernel type a local type may relocate to: ``type_id`` in ``btf``, which is vmlinux
    or a module's split BTF (``source`` says which)."""

    btf: Spec
    type_id: int
    source: str


ModuleSource = Iterable[tuple[str, Spec]] | Callable[[], Iterable[tuple[str, Spec]]]


class Targets:
    """The BTF that relocations resolve against, with the caches that make resolving fast.

    ``vmlinux`` is searched first; ``modules`` (name, split spec) pairs, or a callable that
    returns them, are consulted only for a local type vmlinux has no candidate for, and the
    callable is called at most once (libbpf loads module BTF lazily the same way).

    Cached per instance: candidate lists per (essential name, kind), the flavored names of
    each BTF, and a flattened member index per kernel struct.  Not thread-safe."""

    def __init__(self, vmlinux: Spec, modules: ModuleSource = ()) -> None:
        self.vmlinux = vmlinux
        self._module_source = modules
        self._modules: list[tuple[str, Spec]] | None = None
        self._cands: dict[tuple[str, Kind], tuple[Candidate, ...]] = {}
        self._flavors: dict[Spec, dict[str, set[str]]] = {}
        self._members: dict[tuple[Spec, int], MemberIndex] = {}

    @property
    def modules(self) -> list[tuple[str, Spec]]:
        """The module BTFs (loaded on first use)."""
        if self._modules is None:
            src = self._module_source
            self._modules = list(src() if callable(src) else src)
        return self._modules

    def candidates(self, name: str, kind: Kind) -> tuple[Candidate, ...]:
        """Kernel types that a local type ``name`` of ``kind`` may relocate to
        (``bpf_core_find_cands``), in libbpf's order: vmlinux by id, else each module's own
        types by id."""
        ess = essential_name(name)
        key = (ess, kind_class(kind))
        found = self._cands.get(key)
        if found is None:
            out = [Candidate(self.vmlinux, i, "vmlinux")
                   for i in self._search(self.vmlinux, ess, kind)]
            if not out:
                for mod_name, mod in self.modules:
                    out += [Candidate(mod, i, mod_name) for i in self._search(mod, ess, kind)]
            found = self._cands[key] = tuple(out)
        return found

    def members(self, btf: Spec, type_id: int) -> MemberIndex:
        """:func:`~bpfdoctor.btf.core_spec.member_index` of a kernel type, cached."""
        key = (btf, type_id)
        idx = self._members.get(key)
        if idx is None:
            idx = self._members[key] = member_index(btf, type_id)
        return idx

    def _search(self, btf: Spec, ess: str, kind: Kind) -> list[int]:
        names = [ess] if essential_name(ess) == ess else []
        names += sorted(self._flavored(btf).get(ess, ()))
        ids: set[int] = set()
        for n in names:
            for i in btf.find(n):
                if i >= btf.first_id and kinds_compat(btf.kind_of(i), kind):
                    ids.add(i)
        return sorted(ids)

    def _flavored(self, btf: Spec) -> dict[str, set[str]]:
        """Essential name -> the flavored names (``x___y``) that can be read from ``btf``'s
        strings (and its base's, for split BTF).  Few strings have a flavor separator, so
        this is a scan for ``___`` rather than a walk over every type."""
        idx = self._flavors.get(btf)
        if idx is not None:
            return idx
        idx = {}
        if btf.base is not None:
            for k, v in self._flavored(btf.base).items():
                idx[k] = set(v)
        data = btf.strings
        pos = data.find(b"___")
        while pos >= 0:
            start = data.rfind(b"\0", 0, pos) + 1
            end = data.find(b"\0", pos)
            if end < 0:
                end = len(data)
            full = data[start:end].decode("utf-8", "replace")
            # BTF may name a type by an offset into the middle of a string: index every tail
            for q in range(len(full)):
                tail = full[q:]
                ess = essential_name(tail)
                if ess != tail:
                    idx.setdefault(ess, set()).add(tail)
            pos = data.find(b"___", end)
        self._flavors[btf] = idx
        return idx


_targets_lock = threading.Lock()
_targets: Targets | None = None


def kernel_targets() -> Targets:
    """:class:`Targets` for the running kernel, cached per process.

    The cache follows :func:`bpfdoctor.btf.kernel.vmlinux`: after
    :func:`bpfdoctor.btf.kernel.clear_cache` a new vmlinux spec is parsed and a fresh
    :class:`Targets` (with empty candidate caches) is built for it."""
    global _targets
    vm = kernel.vmlinux()
    with _targets_lock:
        if _targets is None or _targets.vmlinux is not vm:
            _targets = Targets(vm, _kernel_modules)
        return _targets


def _kernel_modules() -> list[tuple[str, Spec]]:
    out = []
    for name in kernel.modules():
        try:
            out.append((name, kernel.module(name)))
        except BpfDoctorError:
            continue  # unloaded meanwhile, or unreadable: libbpf skips it too
    return out


# ------------------------------------------------------------------------------ values


@dataclass(slots=True)
class _Value:
    """One side (local or kernel) of a relocation's value."""

    val: int
    mem_size: int = 0
    """Size of the field for a load/store (0 for bitfields and non-offset kinds)."""
    type_id: int = 0
    """Type of that field, for the rule on when a load may be resized."""
    validate: bool = True
    """Whether the instruction must hold this (local) value before patching."""


class _Poison(Exception):
    """The kernel has no such field/enumerator: the instruction is to be poisoned."""


def _field_value(kind: CoreReloKind, spec: AccessSpec | None) -> _Value:
    """``bpf_core_calc_field_relo``."""
    if kind == CoreReloKind.FIELD_EXISTS:
        return _Value(1 if spec is not None else 0)
    if spec is None:
        raise _Poison
    btf = spec.btf
    acc = spec.accessors[-1]
    if acc.name is None:  # the access ends on an array element (or the root)
        sz = size_of(btf, acc.type_id)
        if sz is None:
            raise CoreSpecError(f"{describe(btf, acc.type_id)} has no size")
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            return _Value(spec.bit_offset // 8, sz, acc.type_id)
        if kind == CoreReloKind.FIELD_BYTE_SIZE:
            return _Value(sz)
        raise CoreSpecError(f"relocation {kind_name(kind)} cannot be applied to an array "
                            "element access")
    holder = type_at(btf, acc.type_id)
    assert isinstance(holder, (Struct, Union))
    member = holder.members[acc.idx]
    ftype_id, ftype = skip_mods(btf, member.type)
    bit_off = spec.bit_offset
    bit_sz = member.bitfield_size
    bitfield = bit_sz > 0
    if bitfield:
        byte_sz = getattr(ftype, "size", 0)
        if not byte_sz:
            raise CoreSpecError(f"bitfield '{acc.name}' has a type without a size")
        byte_off = bit_off // 8 // byte_sz * byte_sz
        # the smallest naturally aligned load that covers every bit of the field
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            if byte_sz >= 8:
                raise CoreSpecError(f"bitfield '{acc.name}' cannot be read with one 64-bit "
                                    "load", E.E2BIG)
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        sz = size_of(btf, ftype_id)
        if sz is None:
            raise CoreSpecError(f"field '{acc.name}' has a type without a size")
        byte_sz, byte_off, bit_sz = sz, bit_off // 8, sz * 8
    # a bitfield's offset/size are the compiler's choice of load, so only signedness and the
    # right shift are checked against the instruction
    validate = not bitfield
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        if bitfield:
            return _Value(byte_off, validate=False)
        return _Value(byte_off, byte_sz, ftype_id, validate)
    if kind == CoreReloKind.FIELD_BYTE_SIZE:
        return _Value(byte_sz, validate=validate)
    if kind == CoreReloKind.FIELD_SIGNED:
        signed = (isinstance(ftype, (Enum, Enum64)) and ftype.signed) or \
            (isinstance(ftype, Int) and ftype.signed)
        return _Value(int(signed))
    if kind == CoreReloKind.FIELD_LSHIFT_U64:
        if _LITTLE_ENDIAN:
            val = 64 - (bit_off + bit_sz - byte_off * 8)
        else:
            val = (8 - byte_sz) * 8 + (bit_off - byte_off * 8)
        return _Value(val & _MASK64, validate=validate)
    assert kind == CoreReloKind.FIELD_RSHIFT_U64
    return _Value((64 - bit_sz) & _MASK64)


def _type_value(kind: CoreReloKind, spec: AccessSpec | None) -> _Value:
    """``bpf_core_calc_type_relo``: a type the kernel lacks gives 0, never a poison."""
    if spec is None:
        return _Value(0)
    if kind == CoreReloKind.TYPE_ID_TARGET:
        # ids change when objects are linked, so the compiler's value is not checked
        return _Value(spec.root_type_id, validate=False)
    if kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        return _Value(1)
    assert kind == CoreReloKind.TYPE_SIZE
    sz = size_of(spec.btf, spec.root_type_id)
    if sz is None:
        raise CoreSpecError(f"{describe(spec.btf, spec.root_type_id)} has no size")
    return _Value(sz)


def _enumval_value(kind: CoreReloKind, spec: AccessSpec | None) -> _Value:
    """``bpf_core_calc_enumval_relo``."""
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        return _Value(1 if spec is not None else 0)
    if spec is None:
        raise _Poison
    acc = spec.accessors[0]
    t = type_at(spec.btf, acc.type_id)
    assert isinstance(t, (Enum, Enum64))
    v = t.values[acc.idx].value
    if isinstance(t, Enum):
        # libbpf reads 32-bit enumerators as s32 and widens with sign extension
        v = (v & 0xFFFFFFFF) - ((v & 0x80000000) << 1)
    return _Value(v & _MASK64)


@dataclass(slots=True)
class _Res:
    """``struct bpf_core_relo_res``."""

    orig: int = 0
    new: int = 0
    poison: bool = False
    validate: bool = True
    fail_memsz_adjust: bool = False
    orig_sz: int = 0
    new_sz: int = 0


def _value(kind: CoreReloKind, spec: AccessSpec | None) -> _Value:
    if kind in FIELD_KINDS:
        return _field_value(kind, spec)
    if kind in TYPE_KINDS:
        return _type_value(kind, spec)
    return _enumval_value(kind, spec)


def _calc(kind: CoreReloKind, local: AccessSpec, targ: AccessSpec | None) -> _Res:
    """``bpf_core_calc_relo``: the compiler's value, this kernel's value, and whether a load
    may change size."""
    lv = _value(kind, local)
    res = _Res(orig=lv.val, validate=lv.validate, orig_sz=lv.mem_size)
    try:
        tv = _value(kind, targ)
    except _Poison:
        res.poison = True
        return res
    res.new, res.new_sz = tv.val, tv.mem_size
    if kind in FIELD_KINDS and res.orig_sz != res.new_sz:
        assert targ is not None
        res.fail_memsz_adjust = not _resizable(type_at(local.btf, lv.type_id),
                                               type_at(targ.btf, tv.type_id))
    return res


def _resizable(orig: object, new: object) -> bool:
    """A load of a differently sized field stays correct only for pointers (a 32-bit kernel
    pointer zero-extends) and unsigned integers."""
    if isinstance(orig, Pointer) and isinstance(new, Pointer):
        return True
    return (isinstance(orig, Int) and isinstance(new, Int)
            and orig.encoding != IntEncoding.SIGNED and new.encoding != IntEncoding.SIGNED)


# ------------------------------------------------------------------------------ patching


_SIZE_BYTES = {0x18: 8, 0x00: 4, 0x08: 2, 0x10: 1}  # BPF_DW, BPF_W, BPF_H, BPF_B
_BYTES_SIZE = {v: k for k, v in _SIZE_BYTES.items()}


class _PatchError(Exception):
    def __init__(self, message: str, errno: int = E.EINVAL) -> None:
        self.errno = errno
        super().__init__(message)


def poison(ins: Instruction) -> list[Instruction]:
    """libbpf's poisoned form of ``ins``: ``call 0xbad2310``, twice for an ld_imm64 so that
    the program keeps its length and jump offsets."""
    first = replace(ins, opcode=_CALL, dst=0, src=0, off=0, imm=POISON_IMM, reference=None)
    if ins.is_ld_imm64:
        return [first, Instruction(_CALL, imm=POISON_IMM)]
    return [first]


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


def _patch(ins: Instruction, res: _Res) -> tuple[list[Instruction], bool]:
    """``bpf_core_patch_insn``: the patched instruction(s) and whether they are poisoned.

    :class:`_PatchError` when the instruction does not hold the value the object's BTF
    implies, or has a form CO-RE cannot patch."""
    if res.poison:
        return poison(ins), True
    cls = ins.opcode & 0x07
    if cls in (0x04, 0x07):  # ALU, ALU64
        if ins.opcode & 0x08:
            raise _PatchError("ALU instruction with a register operand cannot take a "
                              "relocated immediate")
        if res.validate and ins.imm & _MASK64 != res.orig:
            raise _PatchError(f"instruction holds {ins.imm}, the object's BTF implies "
                              f"{res.orig}")
        return [replace(ins, imm=_s32(res.new))], False
    if cls in (0x01, 0x02, 0x03):  # LDX, ST, STX
        if res.validate and ins.off & _MASK64 != res.orig:
            raise _PatchError(f"memory access at offset {ins.off}, the object's BTF implies "
                              f"{res.orig}")
        if res.new > _SHRT_MAX:
            raise _PatchError(f"offset {res.new} does not fit an instruction's 16-bit offset",
                              E.ERANGE)
        if res.fail_memsz_adjust:
            return poison(ins), True
        opcode = ins.opcode
        if res.new_sz != res.orig_sz:
            have = _SIZE_BYTES[opcode & 0x18]
            if have != res.orig_sz:
                raise _PatchError(f"{have}-byte memory access to a {res.orig_sz}-byte field")
            size = _BYTES_SIZE.get(res.new_sz)
            if size is None:
                raise _PatchError(f"the field is {res.new_sz} bytes in this kernel, which no "
                                  "single load or store can access")
            opcode = (opcode & ~0x18) | size
        return [replace(ins, opcode=opcode, off=res.new)], False
    if ins.is_ld_imm64:
        if ins.src != 0 or ins.off != 0:
            raise _PatchError("ld_imm64 has an unexpected form (pseudo source or offset)")
        if res.validate and ins.imm & _MASK64 != res.orig:
            raise _PatchError(f"instruction holds {ins.imm & _MASK64}, the object's BTF "
                              f"implies {res.orig}")
        return [replace(ins, imm=_s64(res.new))], False
    raise _PatchError(f"instruction with opcode {ins.opcode:#04x} cannot be relocated")


# ------------------------------------------------------------------------------ relocating


@dataclass
class _Outcome:
    """What resolving one relocation found, before patching."""

    res: _Res
    local_type: str
    access: str
    target_type_id: int | None = None
    candidates: int = 0
    reason: str | None = None


def _local_names(local: Spec, relo: CoreReloRec) -> tuple[str, str]:
    """(local type spelling, raw access) for messages before the access is parsed."""
    return describe(local, relo.type_id), f"{describe(local, relo.type_id)} + {relo.access_str}"


def _access_text(local: Spec, spec: AccessSpec, kind: CoreReloKind) -> str:
    if kind in TYPE_KINDS:
        return describe(local, spec.root_type_id)
    if kind in ENUMVAL_KINDS:
        return f"{describe(local, spec.root_type_id)}::{spec.accessors[0].name}"
    return spec.path(type_at(local, spec.root_type_id).name)


def _missing_reason(local_t_kind: Kind, ess: str, cands: Sequence[Candidate], found: int,
                    why: str | None) -> str:
    """Why no candidate has the access.  ``found`` is how many kernel types the name search
    gave, before earlier relocations of the same local type narrowed them to ``cands``."""
    if not found:
        what = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum",
                Kind.ENUM64: "enum", Kind.TYPEDEF: "typedef", Kind.FWD: "struct/union",
                Kind.INT: "integer type", Kind.FUNC: "function"}.get(local_t_kind, "type")
        return f"{what} '{ess}' does not exist in this kernel"
    why = why or "no kernel type matches"
    if len(cands) > 1:
        why = f"{why} (nor in the other {len(cands) - 1} kernel types named '{ess}')"
    if found > len(cands):
        n = found - len(cands)
        why += (f"; {n} other kernel type{'s' if n > 1 else ''} named '{ess}' "
                f"{'were' if n > 1 else 'was'} ruled out by an earlier relocation of the same "
                "type (libbpf keeps only the candidates that matched)")
    return why


class _Relocator:
    """Resolves one program's relocations; holds libbpf's per-object candidate lists, which
    shrink as relocations rule candidates out."""

    def __init__(self, local: Spec, targets: Targets) -> None:
        self.local = local
        self.targets = targets
        self.cands: dict[int, list[Candidate]] = {}
        self.found: dict[int, int] = {}
        """How many candidates the name search gave, per local type id."""

    def resolve(self, relo: CoreReloRec, kind: CoreReloKind) -> _Outcome:
        """``bpf_core_resolve_relo`` + ``bpf_core_calc_relo_insn``."""
        local = self.local
        local_t = type_at(local, relo.type_id)
        cands: list[Candidate] = []
        if kind != CoreReloKind.TYPE_ID_LOCAL:
            if not local_t.name:
                raise CoreSpecError("CO-RE relocations against anonymous types are not "
                                    "supported (libbpf has no candidate search for them)")
            cands = self.cands.get(relo.type_id)  # type: ignore[assignment]
            if cands is None:
                cands = self.cands[relo.type_id] = list(
                    self.targets.candidates(local_t.name, local_t.kind))
                self.found[relo.type_id] = len(cands)
        lspec = parse_spec(local, relo.type_id, relo.access_str, kind)
        out = _Outcome(_Res(), describe(local, relo.type_id), _access_text(local, lspec, kind),
                       candidates=len(cands))
        if kind == CoreReloKind.TYPE_ID_LOCAL:
            out.res = _Res(orig=relo.type_id, new=relo.type_id, validate=False)
            return out
        try:
            kept, first_res, target_id, why = self._match(kind, lspec, cands)
        except CoreSpecError as exc:
            exc.access = out.access
            raise
        if kept:
            out.res, out.target_type_id = first_res, target_id
            cands[:] = kept
            return out
        out.res = _calc(kind, lspec, None)
        out.reason = _missing_reason(local_t.kind, essential_name(local_t.name), cands,
                                     self.found[relo.type_id], why)
        return out

    def _match(self, kind: CoreReloKind, lspec: AccessSpec,
               cands: Sequence[Candidate]
               ) -> tuple[list[Candidate], _Res, int | None, str | None]:
        """Match every candidate; all that have the access must agree.  Returns the
        matching candidates, the first one's result and type id, and why the first
        non-matching one did not match."""
        kept: list[Candidate] = []
        first: AccessSpec | None = None
        first_res = _Res()
        why: str | None = None
        for cand in cands:
            tspec, miss = match_spec(lspec, cand.btf, cand.type_id, self.targets.members)
            if tspec is None:
                why = why or miss
                continue
            res = _calc(kind, lspec, tspec)
            if first is None:
                first, first_res = tspec, res
            elif tspec.bit_offset != first.bit_offset:
                raise CoreSpecError(
                    f"ambiguous: kernel candidates {describe(first.btf, first.root_type_id)} "
                    f"[{first.root_type_id}] and {describe(cand.btf, cand.type_id)} "
                    f"[{cand.type_id}] place it at different offsets "
                    f"({first.bit_offset // 8} and {tspec.bit_offset // 8} bytes)")
            elif res.poison != first_res.poison or res.new != first_res.new:
                raise CoreSpecError(
                    f"ambiguous: kernel candidates [{first.root_type_id}] and "
                    f"[{cand.type_id}] give different values ({first_res.new} and {res.new})")
            kept.append(cand)
        return kept, first_res, first.root_type_id if first else None, why


def relocate(insns: Sequence[Instruction], relos: Sequence[CoreReloRec], local: Spec,
             targets: Targets) -> tuple[list[Instruction], list[CoreResult]]:
    """Apply a linked program's CO-RE relocations; returns the new instruction list and one
    :class:`CoreResult` per relocation, in order.

    ``relos[i].insn`` is a slot index into ``insns`` (an ld_imm64 takes two slots).  The
    input list and its instructions are not modified.  A relocation libbpf would refuse
    raises :class:`CoreRelocationError`; one the kernel cannot satisfy poisons its
    instruction (see the module docstring) and is reported in its result."""
    if not relos:
        return list(insns), []
    index_of = {slot: i for i, slot in enumerate(slot_offsets(insns))}
    patched: dict[int, list[Instruction]] = {}
    relocator = _Relocator(local, targets)
    results = [_apply(relocator, n, relo, insns, index_of, patched)
               for n, relo in enumerate(relos)]
    out: list[Instruction] = []
    for i, ins in enumerate(insns):
        out.extend(patched.get(i, (ins,)))
    return out, results


def _apply(relocator: _Relocator, n: int, relo: CoreReloRec, insns: Sequence[Instruction],
           index_of: dict[int, int], patched: dict[int, list[Instruction]]) -> CoreResult:
    """Resolve relocation ``n`` and patch its instruction into ``patched`` (by index)."""
    local = relocator.local
    try:
        kind: CoreReloKind | int = CoreReloKind(relo.kind)
    except ValueError:
        kind = relo.kind
    i = index_of.get(relo.insn)
    if i is None:
        _fail(local, relo, kind, n, f"instruction {relo.insn} is not the start of an "
              f"instruction of the program ({sum(x.slots for x in insns)} slots)")
    try:
        if not isinstance(kind, CoreReloKind):
            raise CoreSpecError(f"unknown CO-RE relocation kind {kind}")
        out = relocator.resolve(relo, kind)
    except CoreSpecError as exc:
        _fail(local, relo, kind, n, str(exc), exc.errno, access=exc.access)
    seq = patched.get(i) or [insns[i]]
    try:
        new_seq, poisoned = _patch(seq[0], out.res)
    except _PatchError as exc:
        _fail(local, relo, kind, n, f"{out.access}: {exc}", exc.errno,
              local_type=out.local_type, access=out.access)
    # seq is one instruction, or an ld_imm64 already poisoned into two calls
    patched[i] = new_seq + seq[1:]
    reason = out.reason
    if poisoned and reason is None:  # the field exists, but its size rules the access out
        reason = (f"{out.access} is {out.res.new_sz} bytes in this kernel, but the program "
                  f"accesses {out.res.orig_sz} bytes; only pointers and unsigned integers "
                  "can be read at a different size")
    return CoreResult(relo, kind, out.local_type, out.access, poisoned, reason, out.res.orig,
                      None if poisoned else out.res.new, out.target_type_id, out.candidates)


def _fail(local: Spec, relo: CoreReloRec, kind: CoreReloKind | int, index: int, why: str,
          errno: int = E.EINVAL, *, local_type: str | None = None,
          access: str | None = None) -> NoReturn:
    """Raise the :class:`CoreRelocationError` for relocation ``index``."""
    lt, raw = _local_names(local, relo)
    result = CoreResult(relo, kind, local_type or lt, access or raw, reason=why)
    where = f" in {relo.function!r}" if relo.function else ""
    raise CoreRelocationError(
        f"CO-RE relocation #{index} ({kind_name(kind)} {access or raw}) at instruction "
        f"{relo.insn}{where}: {why}", result=result, index=index, errno=errno)


__all__ = [
    "POISON_IMM", "Candidate", "CoreRelocationError", "CoreResult", "Targets",
    "kernel_targets", "kind_name", "poison", "relocate",
]
