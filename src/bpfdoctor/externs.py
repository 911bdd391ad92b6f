"""Externs: ``__kconfig`` values, ``__ksym`` kernel symbols and kfuncs, handled as libbpf 1.x
handles them.

An extern is an undefined ELF symbol that the object's BTF describes as a ``VAR`` or ``FUNC``
of ``extern`` linkage inside one of two DATASECs:

``.kconfig``
    ``extern int CONFIG_HZ __kconfig;`` -- libbpf lays the values out in an internal array
    map named ``<obj>.kconfig`` (read-only for programs, frozen), fills it from the kernel
    config, and the program reads them like global data.  ``LINUX_KERNEL_VERSION``,
    ``LINUX_HAS_BPF_COOKIE`` and ``LINUX_HAS_SYSCALL_WRAPPER`` are computed instead.
``.ksyms``
    ``extern const struct rq runqueues __ksym;`` (typed: ``ld_imm64`` with
    ``BPF_PSEUDO_BTF_ID`` and the kernel BTF id), ``extern const void sym __ksym;`` (untyped:
    the address from ``/proc/kallsyms``) and ``extern int f(int) __ksym;`` (a kfunc: a call
    with ``BPF_PSEUDO_KFUNC_CALL`` and the kernel BTF id; for a module kfunc ``insn->off``
    indexes the module's BTF fd in ``fd_array``).

Three steps, kept apart so that reading an object never touches the kernel:

1. :func:`collect_externs` (called by the ELF reader): which externs there are, their kind,
   type and, for kconfig, libbpf's layout of the ``.kconfig`` map;
2. :func:`sanitize_btf`: the copy of the object's BTF that ``BPF_BTF_LOAD`` accepts (the
   kernel refuses extern linkage and functions inside a DATASEC);
3. :func:`resolve_externs` (called by the loader): the value of every extern on the running
   kernel, with libbpf's errors and errnos when one cannot be found.

Where libbpf releases differ, bpfdoctor follows libbpf 1.1 (the system libbpf and bpftool's),
which is what its tests compare against: an unresolved ``__weak`` kfunc call stays a kfunc
call with ``imm`` 0 (later releases poison it into an invalid helper call).  The verifier
removes it as dead code either way; a reachable one fails as it does under libbpf 1.1
(``R0 !read_ok``, EACCES, where later releases get EINVAL).  From later releases bpfdoctor
takes ``___flavor`` suffixes on kfunc names, the Debian kernel version rule, and skipping
(rather than failing on) a ``__weak`` kfunc whose prototype does not match.
"""

from __future__ import annotations

import errno as E
import functools
import gzip
import os
import platform
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import btf as btfmod
from . import sys as bsys
from .asm import Instruction, encode
from .asm.instruction import PSEUDO_BTF_ID, PSEUDO_KFUNC_CALL
from .errors import BpfDoctorError, BTFError, LoadError, ObjectError, SyscallError
from .spec import CollectionSpec, ExternKind, ExternSpec, KconfigType, extern_reference

KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"
DUMMY_KSYM = "dummy_ksym"
"""Name of the 4-byte variable libbpf puts in ``.ksyms`` in place of each kfunc (and whose
name it gives to unnamed kfunc parameters), so that the kernel accepts the DATASEC."""

TRI_NO, TRI_YES, TRI_MODULE = 0, 1, 2
"""``enum libbpf_tristate``."""

_POINTER_SIZE = 8


# --------------------------------------------------------------------------- errors


class ExternDeclError(ObjectError):
    """An extern declared in a way libbpf refuses when it opens the object (a kconfig
    value of a type it cannot fill, a function under ``.kconfig``...)."""

    kind = "extern"


class ExternResolutionError(LoadError):
    """An extern the object needs could not be resolved on the running kernel.

    ``extern`` names it, ``searched`` says where it was looked for, ``errno`` is what
    libbpf's ``bpf_object__load()`` returns in the same situation (``ESRCH`` for a strong
    extern that is simply absent, ``EINVAL`` when a lookup step itself fails)."""

    stage = "extern"

    def __init__(self, message: str, *, extern: str, searched: Iterable[str] = (),
                 **kw: object) -> None:
        self.extern = extern
        self.searched = list(searched)
        super().__init__(message, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- collecting


@dataclass(frozen=True)
class ExternSymbol:
    """An undefined ``STT_NOTYPE`` symbol of global or weak binding: an extern candidate."""

    index: int
    name: str
    weak: bool


def collect_externs(btf: btfmod.Spec | None, symbols: Iterable[ExternSymbol],
                    path: str = "") -> dict[str, ExternSpec]:
    """The externs of an object, in libbpf's order, with the ``.kconfig`` layout computed.

    Only symbols that the BTF describes as an extern ``VAR``/``FUNC`` in ``.kconfig`` or
    ``.ksyms`` are externs here; any other undefined symbol is left for the relocation step,
    which reports it as undefined where it is used.  :class:`ExternDeclError` for
    declarations libbpf refuses at open time."""
    if btf is None:
        return {}
    section_of = _datasec_of_vars(btf)
    found: list[ExternSpec] = []
    for sym in symbols:
        ext = _extern_for_symbol(btf, sym, section_of, path)
        if ext is not None:
            found.append(ext)
    found.sort(key=_libbpf_order)
    _layout_kconfig(found)
    externs = {e.name: e for e in found}
    _check_every_datasec_entry_is_extern(btf, externs, path)
    return externs


def _datasec_of_vars(btf: btfmod.Spec) -> dict[int, str]:
    """Type id of each DATASEC entry -> the DATASEC's name (the first one, as libbpf)."""
    out: dict[int, str] = {}
    for tid in range(btf.first_id, btf.type_count):
        if btf.kind_of(tid) != btfmod.Kind.DATASEC:
            continue
        ds = btf.type_by_id(tid)
        assert isinstance(ds, btfmod.Datasec)
        for vs in ds.vars:
            out.setdefault(vs.type, ds.name)
    return out


def _extern_btf_id(btf: btfmod.Spec, name: str, path: str) -> int | None:
    """libbpf's ``find_extern_btf_id``: the first VAR or FUNC called ``name``, which must be
    declared extern."""
    ids = sorted(btf.find(name, btfmod.Kind.VAR) + btf.find(name, btfmod.Kind.FUNC))
    if not ids:
        return None
    t = btf.type_by_id(ids[0])
    if getattr(t, "linkage", None) != btfmod.Linkage.EXTERN:
        raise ExternDeclError(f"undefined symbol '{name}' is described in BTF by a "
                              f"{t.kind.name} that is not declared extern", path=path,
                              symbol=name)
    return ids[0]


def _extern_for_symbol(btf: btfmod.Spec, sym: ExternSymbol, section_of: dict[int, str],
                       path: str) -> ExternSpec | None:
    tid = _extern_btf_id(btf, sym.name, path)
    if tid is None:
        return None
    section = section_of.get(tid)
    t = btf.type_by_id(tid)
    if section == KCONFIG_SEC:
        if isinstance(t, btfmod.Func):
            raise ExternDeclError(f"extern function '{sym.name}' cannot be a __kconfig "
                                  "value", path=path, section=KCONFIG_SEC, symbol=sym.name)
        assert isinstance(t, btfmod.Var)
        return _kconfig_extern(btf, tid, t, sym, path)
    if section == KSYMS_SEC:
        kind = ExternKind.KFUNC if isinstance(t, btfmod.Func) else ExternKind.KSYM
        type_id = btf.resolve(t.type)  # type: ignore[attr-defined]
        return ExternSpec(name=sym.name, kind=kind, btf_id=tid, weak=sym.weak,
                          type_id=type_id, symbol=sym.index)
    return None


def _kconfig_extern(btf: btfmod.Spec, tid: int, var: btfmod.Var, sym: ExternSymbol,
                    path: str) -> ExternSpec:
    def refuse(why: str) -> ExternDeclError:
        return ExternDeclError(f"__kconfig extern '{sym.name}' ({btf.format(var.type)}): "
                               f"{why}", path=path, section=KCONFIG_SEC, symbol=sym.name)

    try:
        size = btf.sizeof(var.type)
    except BTFError as e:
        raise refuse(f"its size is unknown ({e.message})") from None
    align = align_of(btf, var.type)
    if size <= 0 or align <= 0:
        raise refuse("its size or alignment is unknown")
    ktype, signed = kconfig_type_of(btf, var.type)
    if ktype is None:
        raise refuse("libbpf fills only char, bool, integer (1, 2, 4 or 8 bytes), "
                     "enum libbpf_tristate and char array kconfig values")
    return ExternSpec(name=sym.name, kind=ExternKind.KCONFIG, btf_id=tid, weak=sym.weak,
                      type_id=btf.resolve(var.type), symbol=sym.index, size=size, align=align,
                      kconfig_type=ktype, signed=signed)


def align_of(btf: btfmod.Spec, tid: int) -> int:
    """libbpf's ``btf__align_of`` (0 for a type without alignment): scalars align to their
    size up to 8, arrays to their element, structs to their largest member unless a member
    offset or the size shows the struct is packed (then 1)."""
    for _ in range(64):
        t = btf.type_by_id(tid)
        if isinstance(t, (btfmod.Int, btfmod.Enum, btfmod.Enum64, btfmod.Float)):
            return min(_POINTER_SIZE, t.size)
        if isinstance(t, btfmod.Pointer):
            return _POINTER_SIZE
        if t.kind in btfmod.types.MODIFIERS:
            tid = t.type  # type: ignore[attr-defined]
        elif isinstance(t, btfmod.Array):
            tid = t.type
        elif isinstance(t, (btfmod.Struct, btfmod.Union)):
            return _struct_align(btf, t)
        else:
            return 0
    return 0


def _struct_align(btf: btfmod.Spec, t: btfmod.Struct | btfmod.Union) -> int:
    best = 1
    for m in t.members:
        a = align_of(btf, m.type)
        if a <= 0:
            return 0
        best = max(best, a)
        if m.bitfield_size == 0 and m.offset_bits % (8 * a):
            return 1
    return 1 if t.size % best else best


def kconfig_type_of(btf: btfmod.Spec, tid: int) -> tuple[KconfigType | None, bool]:
    """libbpf's ``find_kcfg_type``: (the kconfig type, whether the integer is signed), or
    (None, False) for a type libbpf cannot fill."""
    t = btf.type_by_id(btf.resolve(tid))
    if isinstance(t, btfmod.Int):
        if t.encoding & btfmod.IntEncoding.BOOL:
            return (KconfigType.BOOL if t.size == 1 else None), False
        signed = bool(t.encoding & btfmod.IntEncoding.SIGNED)
        if t.size == 1:
            return KconfigType.CHAR, signed
        if t.size not in (2, 4, 8):
            return None, False
        return KconfigType.INT, signed
    if isinstance(t, btfmod.Enum):
        return (KconfigType.TRISTATE if t.size == 4 and t.name == "libbpf_tristate"
                else None), False
    if isinstance(t, btfmod.Enum64):
        return (KconfigType.TRISTATE if t.name == "libbpf_tristate" else None), False
    if isinstance(t, btfmod.Array):
        if t.nelems == 0 or kconfig_type_of(btf, t.type)[0] != KconfigType.CHAR:
            return None, False
        return KconfigType.CHAR_ARRAY, False
    return None, False


def _libbpf_order(e: ExternSpec) -> tuple[int, int, int, str]:
    """kconfig externs first, by decreasing alignment then increasing size; everything by
    name last (libbpf's ``cmp_externs``, which fixes the ``.kconfig`` layout)."""
    if e.kind == ExternKind.KCONFIG:
        return (0, -e.align, e.size, e.name)
    return (1, 0, 0, e.name)


def _layout_kconfig(externs: list[ExternSpec]) -> None:
    off = 0
    for e in externs:
        if e.kind != ExternKind.KCONFIG:
            continue
        e.offset = -(-off // e.align) * e.align
        off = e.offset + e.size


def kconfig_size(externs: dict[str, ExternSpec]) -> int:
    """Size of the ``.kconfig`` map value: the end of the last kconfig extern (0: no map)."""
    return max((e.offset + e.size for e in externs.values()
                if e.kind == ExternKind.KCONFIG), default=0)


def _check_every_datasec_entry_is_extern(btf: btfmod.Spec, externs: dict[str, ExternSpec],
                                         path: str) -> None:
    for section in (KCONFIG_SEC, KSYMS_SEC):
        ds = _datasec(btf, section)
        if ds is None or not externs:
            continue
        for vs in ds[1].vars:
            name = btf.name_of(vs.type)
            if name not in externs:
                raise ExternDeclError(f"BTF describes '{name}' in {section} but the object "
                                      "has no undefined symbol for it", path=path,
                                      section=section, symbol=name)


def _datasec(btf: btfmod.Spec, name: str) -> tuple[int, btfmod.Datasec] | None:
    ids = btf.find(name, btfmod.Kind.DATASEC)
    if not ids:
        return None
    ds = btf.type_by_id(ids[0])
    assert isinstance(ds, btfmod.Datasec)
    return ids[0], ds


# --------------------------------------------------------------------------- BTF for the kernel


def sanitize_btf(btf: btfmod.Spec, externs: dict[str, ExternSpec]) -> btfmod.Spec:
    """A copy of ``btf`` that ``BPF_BTF_LOAD`` accepts, as libbpf builds it when it opens
    the object; ``btf`` itself is left as the object has it.

    The kernel refuses ``extern`` linkage and DATASEC entries that are not variables, so:

    * every ``.ksyms`` entry becomes a 4-byte slot: variables turn into allocated ``int``
      variables, functions are replaced by one allocated ``dummy_ksym`` variable and made
      ``global`` (their unnamed parameters get its name, since the kernel wants names);
    * ``.kconfig`` gets the size and variable offsets of the ``.kconfig`` map, its variables
      allocated, so that the map can carry the DATASEC as its value type.
    """
    ksyms = _datasec(btf, KSYMS_SEC)
    kconfig = _datasec(btf, KCONFIG_SEC)
    if not externs or (ksyms is None and kconfig is None):
        return btf
    out = btfmod.parse(btfmod.marshal(btf), byteorder=btf.byteorder, validate=False)
    if ksyms is not None:
        _sanitize_ksyms(out, ksyms[0])
    if kconfig is not None:
        _sanitize_kconfig(out, kconfig[0], externs)
    return out


def _first_int32(btf: btfmod.Spec) -> int:
    for tid in range(btf.first_id, btf.type_count):
        if btf.kind_of(tid) == btfmod.Kind.INT:
            t = btf.type_by_id(tid)
            if isinstance(t, btfmod.Int) and t.bits == 32:
                return tid
    return 0


def _sanitize_ksyms(btf: btfmod.Spec, ds_id: int) -> None:
    # Types handed out by type_by_id() are the spec's own records: changing them in place is
    # what marshal() writes.
    ds = btf.type_by_id(ds_id)
    assert isinstance(ds, btfmod.Datasec)
    int_id = _first_int32(btf)
    dummy_id = 0
    if any(isinstance(btf.type_by_id(vs.type), btfmod.Func) for vs in ds.vars):
        dummy_id = btf.add(btfmod.Var(DUMMY_KSYM, int_id, btfmod.Linkage.GLOBAL))
    for i, vs in enumerate(ds.vars):
        t = btf.type_by_id(vs.type)
        if isinstance(t, btfmod.Func):
            proto = btf.type_by_id(t.type)
            if isinstance(proto, btfmod.FuncProto):
                for p in proto.params:
                    if p.type and not p.name:
                        p.name = DUMMY_KSYM
            t.linkage = btfmod.Linkage.GLOBAL
            vs.type = dummy_id
        elif isinstance(t, btfmod.Var):
            t.linkage = btfmod.Linkage.GLOBAL
            t.type = int_id
        vs.offset, vs.size = 4 * i, 4
    ds.size = 4 * len(ds.vars)


def _sanitize_kconfig(btf: btfmod.Spec, ds_id: int, externs: dict[str, ExternSpec]) -> None:
    ds = btf.type_by_id(ds_id)
    assert isinstance(ds, btfmod.Datasec)
    for vs in ds.vars:
        var = btf.type_by_id(vs.type)
        if isinstance(var, btfmod.Var):
            var.linkage = btfmod.Linkage.GLOBAL
            ext = externs.get(var.name)
            if ext is not None:
                vs.offset = ext.offset
    ds.vars.sort(key=lambda v: v.offset)
    ds.size = kconfig_size(externs)


# --------------------------------------------------------------------------- kconfig values


class KconfigValueError(ValueError):
    """A config value libbpf refuses (malformed line, value that does not fit the extern's
    type); ``errno`` is libbpf's, ``extern`` the extern concerned when there is one."""

    def __init__(self, message: str, errno: int = E.EINVAL, extern: str | None = None) -> None:
        self.errno = errno
        self.extern = extern
        super().__init__(message)


def parse_u64(text: bytes) -> int:
    """``strtoull(text, &end, 0)`` that must consume all of ``text``: decimal, ``0x`` hex or
    ``0`` octal, an optional sign (a negative number wraps modulo 2**64, as in C)."""
    m = re.fullmatch(rb"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        raise KconfigValueError(f"'{text.decode(errors='replace')}' is not an integer")
    digits = m.group(2)
    if digits[:2].lower() == b"0x":
        v = int(digits[2:], 16)
    elif digits.startswith(b"0"):
        v = int(digits, 8)
    else:
        v = int(digits)
    if v >= 1 << 64:
        raise KconfigValueError(f"'{text.decode(errors='replace')}' does not fit in 64 bits",
                                E.ERANGE)
    return (-v) & ((1 << 64) - 1) if m.group(1) == b"-" else v


def _in_range(ext: ExternSpec, v: int) -> bool:
    bits = ext.size * 8
    if ext.size == 8:
        return True
    if ext.signed:
        return (v + (1 << (bits - 1))) & ((1 << 64) - 1) < (1 << bits)
    return v >> bits == 0


def kconfig_number(ext: ExternSpec, v: int) -> bytes:
    """libbpf's ``set_kcfg_value_num``: the bytes of integer ``v`` (a u64) for ``ext``."""
    if ext.kconfig_type not in (KconfigType.INT, KconfigType.CHAR, KconfigType.BOOL):
        raise KconfigValueError(f"value {v} implies an integer, char or bool type")
    if ext.kconfig_type == KconfigType.BOOL and v > 1:
        raise KconfigValueError(f"value {v} is not a bool")
    if not _in_range(ext, v):
        raise KconfigValueError(f"value {v} does not fit in {ext.size} bytes", E.ERANGE)
    return (v & ((1 << (8 * ext.size)) - 1)).to_bytes(ext.size, sys.byteorder)


def kconfig_tristate(ext: ExternSpec, c: int) -> bytes:
    """libbpf's ``set_kcfg_value_tri`` for a value starting with ``y``, ``n`` or ``m``."""
    if ext.kconfig_type == KconfigType.BOOL:
        if c == ord("m"):
            raise KconfigValueError("value 'm' implies a tristate or char type")
        return bytes([c == ord("y")])
    if ext.kconfig_type == KconfigType.TRISTATE:
        v = {ord("y"): TRI_YES, ord("m"): TRI_MODULE}.get(c, TRI_NO)
        return v.to_bytes(ext.size, sys.byteorder)
    if ext.kconfig_type == KconfigType.CHAR:
        return bytes([c])
    raise KconfigValueError(f"value '{chr(c)}' implies a bool, tristate or char type")


def kconfig_string(ext: ExternSpec, value: bytes) -> bytes:
    """libbpf's ``set_kcfg_value_str``: the quoted string, unquoted and NUL-terminated,
    truncated (as libbpf does, with a warning there) to fit the char array."""
    if ext.kconfig_type != KconfigType.CHAR_ARRAY:
        raise KconfigValueError(f"value {value.decode(errors='replace')} implies a char "
                                "array type")
    if not value.endswith(b'"') or len(value) < 2:
        raise KconfigValueError(f"invalid string value {value.decode(errors='replace')}")
    body = value[1:-1][:ext.size - 1]
    return body + b"\0"


def kconfig_value(ext: ExternSpec, value: bytes) -> bytes:
    """The bytes a config value (the text after ``=``) gives ``ext``, by libbpf's rules:
    the first character ``y``/``n``/``m`` makes a tristate, ``"`` a string, anything else
    must be an integer (and ``ext`` an integer or char)."""
    c = value[0]
    if c in b"ynm":
        return kconfig_tristate(ext, c)
    if c == ord('"'):
        return kconfig_string(ext, value)
    v = parse_u64(value)
    if ext.kconfig_type not in (KconfigType.INT, KconfigType.CHAR):
        raise KconfigValueError(f"value {value.decode(errors='replace')} implies an "
                                "integer type")
    return kconfig_number(ext, v)


def apply_kconfig(text: bytes, externs: dict[str, ExternSpec], data: bytearray,
                  done: set[str]) -> None:
    """Fill ``data`` (the ``.kconfig`` map value) from config text, libbpf's
    ``bpf_object__process_kconfig_line`` for each line.  ``done`` holds the externs already
    set; the first value seen for an extern wins.  :class:`KconfigValueError` naming the
    line for anything libbpf refuses."""
    for raw in text.splitlines():
        if not raw.startswith(b"CONFIG_"):
            continue
        name, sep, value = raw.partition(b"=")
        line = raw.decode(errors="replace")
        if not sep:
            raise KconfigValueError(f"config line '{line}' has no '='")
        if not value:
            raise KconfigValueError(f"config line '{line}' has no value")
        ext = externs.get(name.decode(errors="replace"))
        if ext is None or ext.kind != ExternKind.KCONFIG or ext.name in done:
            continue
        try:
            b = kconfig_value(ext, value)
        except KconfigValueError as e:
            raise KconfigValueError(f"config line '{line}': {e}", e.errno, ext.name) from None
        data[ext.offset:ext.offset + len(b)] = b
        done.add(ext.name)


# --------------------------------------------------------------------------- the kernel


def kernel_version() -> int:
    """libbpf's ``get_kernel_version``: ``KERNEL_VERSION(a, b, c)`` of the running kernel,
    0 if it cannot be told (see :func:`kernel_version_from`)."""
    try:
        signature = Path("/proc/version_signature").read_text()
    except OSError:
        signature = ""
    uts = os.uname()
    return kernel_version_from(uts.release, uts.version, signature)


def kernel_version_from(release: str, version: str = "", signature: str = "") -> int:
    """``KERNEL_VERSION(a, b, c)`` from ``uname -r``, ``uname -v`` and the contents of
    ``/proc/version_signature``, by libbpf's rules: Ubuntu kernels state the upstream
    version as the third word of the signature and Debian ones after ``Debian `` in
    ``uname -v``, because their release strings carry the distribution's numbering;
    otherwise the release must start with three numbers.  The patch level saturates at
    255, as in the kernel's ``KERNEL_VERSION`` macro."""
    words = signature.split()
    if len(words) >= 3:
        v = _version_code(words[2])
        if v:
            return v
    at = version.find("Debian ")
    if at >= 0:
        v = _version_code(version[at + len("Debian "):])
        if v:
            return v
    return _version_code(release)


def _version_code(text: str) -> int:
    m = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", text)
    if m is None:
        return 0
    a, b, c = (int(x) for x in m.groups())
    return ((a << 16) + (b << 8) + min(c, 255)) & 0xFFFFFFFF


_SYSCALL_PREFIX = {
    "x86_64": "x64", "i386": "ia32", "i686": "ia32", "s390x": "s390x", "s390": "s390",
    "aarch64": "arm64", "riscv64": "riscv", "ppc64": "powerpc", "ppc64le": "powerpc",
    "mips": "mips", "mips64": "mips",
}


@functools.lru_cache(maxsize=1)
def has_bpf_cookie() -> bool:
    """libbpf's ``LINUX_HAS_BPF_COOKIE``: does a kprobe program calling
    ``bpf_get_attach_cookie()`` load?"""
    insns = encode([Instruction(0x85, imm=174), Instruction(0x95)])  # call 174; exit
    try:
        fd = bsys.prog_load(prog_type=bsys.ProgType.KPROBE, insns=insns, license="GPL")
    except SyscallError:
        return False
    fd.close()
    return True


@functools.lru_cache(maxsize=1)
def has_syscall_wrapper() -> bool:
    """libbpf's ``LINUX_HAS_SYSCALL_WRAPPER``: can a kprobe be put on ``__<arch>_sys_bpf``?

    With the kprobe PMU this opens (and closes) such a perf event, as libbpf does.  Without
    it libbpf adds and removes a tracefs kprobe; that writes system state, so here the
    answer is whether tracefs offers ``kprobe_events`` and kallsyms has the symbol (what
    decides whether libbpf's probe succeeds)."""
    prefix = _SYSCALL_PREFIX.get(platform.machine())
    if prefix is None:
        return False
    name = f"__{prefix}_sys_bpf"
    try:
        pmu = int(Path("/sys/bus/event_source/devices/kprobe/type").read_text())
    except (OSError, ValueError):
        return _legacy_kprobe_possible(name)
    import ctypes

    from .sys import perf

    cname = ctypes.create_string_buffer(name.encode())
    attr = perf.PerfEventAttr(type=pmu, config1=ctypes.addressof(cname), config2=0)
    try:
        fd = perf.perf_event_open(attr, pid=os.getpid(), cpu=-1)
    except SyscallError:
        return False
    fd.close()
    return True


def _legacy_kprobe_possible(symbol: str) -> bool:
    roots = [Path("/sys/kernel/debug/tracing"), Path("/sys/kernel/tracing")]
    root = next((r for r in roots if r.exists()), None)
    if root is None or not (root / "kprobe_events").exists():
        return False
    try:
        return bool(kallsyms_addresses({symbol}).get(symbol))
    except (OSError, ValueError):
        return False


def scan_kallsyms(text: bytes, names: Iterable[str]) -> dict[str, list[int]]:
    """Every address ``/proc/kallsyms`` text gives each of ``names`` (``addr type name``
    lines, ``\t[module]`` after module symbols).  Searches the text for each name rather
    than splitting its ~100k lines, which is what makes resolution cheap."""
    out: dict[str, list[int]] = {}
    for name in names:
        key = b" " + name.encode()
        addrs: list[int] = []
        for end in (b"\n", b"\t"):
            at = text.find(key + end)
            while at >= 0:
                start = text.rfind(b"\n", 0, at) + 1
                fields = text[start:at].split()
                if len(fields) != 2:
                    raise ValueError(f"unparsable kallsyms line at byte {start}")
                addrs.append(int(fields[0], 16))
                at = text.find(key + end, at + 1)
        if addrs:
            out[name] = addrs
    return out


_kallsyms_cache: dict[tuple[frozenset[str], bytes], dict[str, list[int]]] = {}


def kallsyms_addresses(names: set[str]) -> dict[str, list[int]]:
    """:func:`scan_kallsyms` of the running kernel's ``/proc/kallsyms``, remembered until
    the set of loaded modules changes (reading the file costs ~100 ms, and a check of an
    object resolves its externs once per program)."""
    modules = Path("/proc/modules").read_bytes() if Path("/proc/modules").exists() else b""
    key = (frozenset(names), modules)
    hit = _kallsyms_cache.get(key)
    if hit is None:
        hit = scan_kallsyms(Path("/proc/kallsyms").read_bytes(), names)
        _kallsyms_cache.clear()
        _kallsyms_cache[key] = hit
    return hit


def module_btf_fd(name: str) -> bsys.FD:
    """An fd of the kernel BTF object of module ``name`` (``FileNotFoundError`` if no loaded
    module has one).  Shared by extern resolution and the loader's attach-target lookup."""
    for bid in bsys.btf_ids():
        try:
            fd = bsys.btf_get_fd_by_id(bid)
        except SyscallError:
            continue  # unloaded meanwhile
        try:
            info = bsys.btf_info(fd)
            if info.kernel_btf and info.name == name:
                return fd
        except SyscallError:
            pass
        fd.close()
    raise FileNotFoundError(E.ENOENT, f"no kernel BTF object for module {name}")


class KernelSources:
    """Where :func:`resolve_externs` reads the running kernel from.  Tests pass a subclass
    with fixed answers; every method may raise ``OSError`` or a ``BpfDoctorError``."""

    def kconfig(self) -> tuple[str, bytes]:
        """(path, text) of the kernel config: ``/boot/config-$(uname -r)`` or else
        ``/proc/config.gz``, libbpf's order (either may be gzip-compressed)."""
        candidates = [f"/boot/config-{os.uname().release}", "/proc/config.gz"]
        for path in candidates:
            try:
                raw = Path(path).read_bytes()
            except OSError:
                continue
            return path, gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        raise FileNotFoundError(E.ENOENT, "no kernel config", " or ".join(candidates))

    def kallsyms(self, names: set[str]) -> dict[str, list[int]]:
        """Addresses ``/proc/kallsyms`` lists for each of ``names`` (absent: not listed)."""
        return kallsyms_addresses(names)

    def vmlinux(self) -> btfmod.Spec:
        return btfmod.kernel.vmlinux()

    def modules(self) -> list[str]:
        return btfmod.kernel.modules()

    def module(self, name: str) -> btfmod.Spec:
        return btfmod.kernel.module(name)

    def module_btf_fd(self, name: str) -> bsys.FD:
        """An fd of the kernel BTF object of module ``name``."""
        return module_btf_fd(name)

    def kernel_version(self) -> int:
        return kernel_version()

    def has_bpf_cookie(self) -> bool:
        return has_bpf_cookie()

    def has_syscall_wrapper(self) -> bool:
        return has_syscall_wrapper()


def types_are_compat(local: btfmod.Spec, local_id: int, targ: btfmod.Spec, targ_id: int,
                     level: int = 32) -> bool:
    """libbpf's ``bpf_core_types_are_compat``, used to accept a ksym's or kfunc's kernel
    type: kinds must agree (any two enums do) after skipping modifiers and typedefs;
    structs, unions, enums and forward declarations match by kind alone, integers unless
    one is a bitfield-style int, pointers and arrays by their targets, function prototypes
    by parameter count and the compatibility of every parameter and the return type."""
    try:
        if not _kinds_compat(local.type_by_id(local_id), targ.type_by_id(targ_id)):
            return False
        for _ in range(32):
            local_id, targ_id = local.resolve(local_id), targ.resolve(targ_id)
            lt, tt = local.type_by_id(local_id), targ.type_by_id(targ_id)
            if not _kinds_compat(lt, tt):
                return False
            if isinstance(lt, (btfmod.Void, btfmod.Struct, btfmod.Union, btfmod.Enum,
                               btfmod.Enum64, btfmod.Fwd)):
                return True
            if isinstance(lt, btfmod.Int):
                return lt.offset == 0 and getattr(tt, "offset", 0) == 0
            if isinstance(lt, (btfmod.Pointer, btfmod.Array)):
                local_id, targ_id = lt.type, tt.type  # type: ignore[attr-defined]
                continue
            if isinstance(lt, btfmod.FuncProto) and isinstance(tt, btfmod.FuncProto):
                if len(lt.params) != len(tt.params):
                    return False
                for lp, tp in zip(lt.params, tt.params, strict=True):
                    if level <= 0 or not types_are_compat(
                            local, local.resolve(lp.type), targ, targ.resolve(tp.type),
                            level - 1):
                        return False
                local_id, targ_id = lt.return_type, tt.return_type
                continue
            return False
    except BTFError:
        return False
    return False


def _kinds_compat(a: btfmod.Type, b: btfmod.Type) -> bool:
    enums = (btfmod.Kind.ENUM, btfmod.Kind.ENUM64)
    return a.kind == b.kind or (a.kind in enums and b.kind in enums)


# --------------------------------------------------------------------------- resolution


@dataclass
class ResolvedExtern:
    """What one extern became on this kernel."""

    name: str
    kind: ExternKind
    resolved: bool = False
    """False for a ``__weak`` extern the kernel lacks: it reads as zero."""
    btf_id: int = 0
    """Kernel BTF id of the variable or function (typed ksyms, kfuncs)."""
    module: str | None = None
    """The module whose BTF holds it; None for vmlinux."""
    btf_obj_fd: int = 0
    """fd number of the module's BTF object (0 for vmlinux), for typed ksym loads."""
    fd_array_index: int = 0
    """For a module kfunc: the index of its module's BTF fd in ``fd_array``."""
    address: int = 0
    """Untyped ksyms: the address from ``/proc/kallsyms``."""
    value: bytes = b""
    """kconfig: the bytes stored in the ``.kconfig`` map."""
    source: str = ""
    """Where the value came from (a config file, ``/proc/kallsyms``, ``vmlinux``...)."""


@dataclass
class ExternResolution:
    """The values of an object's externs on the running kernel.

    Owns the module BTF fds that typed ksyms and module kfuncs refer to: they must stay open
    while programs load; :meth:`close` releases them."""

    values: dict[str, ResolvedExtern] = field(default_factory=dict)
    kconfig_data: bytes = b""
    """Initial value of the ``.kconfig`` map."""
    fd_array: list[int] = field(default_factory=list)
    """``BPF_PROG_LOAD``'s ``fd_array``: module BTF fds that kfunc calls index with
    ``insn->off`` (slot 0 unused, as libbpf leaves it).  Empty without module kfuncs."""
    warnings: list[str] = field(default_factory=list)
    _fds: list[bsys.FD] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for fd in self._fds:
            fd.close()
        self._fds.clear()

    def instruction(self, ins: Instruction) -> Instruction:
        """``ins`` (a kfunc call or an extern ``ld_imm64`` of a linked program) as libbpf's
        ``bpf_object__relocate_data`` finally writes it."""
        name = extern_reference(ins)
        r = self.values.get(name) if name is not None else None
        if r is None:
            raise KeyError(f"instruction refers to no known extern ({name!r})")
        if ins.is_call:
            if not r.resolved:  # libbpf 1.1: left for dead-code elimination (see module doc)
                return replace(ins, src=PSEUDO_KFUNC_CALL, imm=0, off=0)
            return replace(ins, src=PSEUDO_KFUNC_CALL, imm=r.btf_id, off=r.fd_array_index)
        if r.kind == ExternKind.KSYM and not r.btf_id:
            return replace(ins, src=0).with_imm64(r.address & 0xFFFFFFFF, r.address >> 32)
        if r.resolved:
            return replace(ins, src=PSEUDO_BTF_ID).with_imm64(r.btf_id, r.btf_obj_fd)
        return replace(ins, src=0).with_imm64(0, 0)


class _Resolver:
    """libbpf's ``bpf_object__resolve_externs``, step by step and in its order."""

    def __init__(self, spec: CollectionSpec, kconfig: str | None,
                 kernel: KernelSources) -> None:
        self.spec = spec
        self.externs = spec.externs
        self.extra_kconfig = kconfig
        self.kernel = kernel
        self.out = ExternResolution()
        self.data = bytearray(kconfig_size(self.externs))
        self.done: set[str] = set()
        self._module_fds: dict[str, bsys.FD] = {}
        self._fd_index: dict[str, int] = {}
        self.kconfig_sources: list[str] = []

    def fail(self, ext: ExternSpec, message: str, errno: int,
             searched: Iterable[str] = ()) -> ExternResolutionError:
        users = [p.name for p in self.spec.programs.values()
                 if any(_refers_to(ins, ext) for ins in p.instructions)]
        where = f" (used by {', '.join(users)})" if users else ""
        return ExternResolutionError(f"extern {ext.kind.value} '{ext.name}'{where}: {message}",
                                     extern=ext.name, searched=searched, errno=errno)

    def run(self) -> ExternResolution:
        try:
            self._virtual_kconfig()
            self._kconfig()
            self._kallsyms()
            self._btf()
            self._check_strong()
        except BaseException:
            self.out.close()
            raise
        self.out.kconfig_data = bytes(self.data)
        for ext in self.externs.values():
            r = self.out.values.setdefault(ext.name, ResolvedExtern(ext.name, ext.kind))
            if ext.kind == ExternKind.KCONFIG:
                r.resolved = ext.name in self.done
                r.value = bytes(self.data[ext.offset:ext.offset + ext.size])
        return self.out

    def _set(self, ext: ExternSpec, value: bytes, source: str) -> None:
        self.data[ext.offset:ext.offset + len(value)] = value
        self.done.add(ext.name)
        self.out.values[ext.name] = ResolvedExtern(ext.name, ext.kind, True, value=value,
                                                   source=source)

    # -- kconfig ----------------------------------------------------------------------------
    def _virtual_kconfig(self) -> None:
        for ext in self.externs.values():
            if ext.kind != ExternKind.KCONFIG or ext.name.startswith("CONFIG_"):
                continue
            if ext.name == "LINUX_KERNEL_VERSION":
                value = self.kernel.kernel_version()
                if not value:
                    raise self.fail(ext, "cannot tell the kernel version (uname release, "
                                    "/proc/version_signature)", E.EINVAL)
            elif ext.name == "LINUX_HAS_BPF_COOKIE":
                value = int(self.kernel.has_bpf_cookie())
            elif ext.name == "LINUX_HAS_SYSCALL_WRAPPER":
                value = int(self.kernel.has_syscall_wrapper())
            elif ext.name.startswith("LINUX_") and ext.weak:
                value = 0
            else:
                raise self.fail(ext, "libbpf provides no such value: __kconfig externs are "
                                "CONFIG_* options or one of LINUX_KERNEL_VERSION, "
                                "LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER", E.EINVAL)
            try:
                b = kconfig_number(ext, value)
            except KconfigValueError as e:
                raise self.fail(ext, str(e), e.errno) from None
            self._set(ext, b, "libbpf")

    def _kconfig(self) -> None:
        need = [e for e in self.externs.values()
                if e.kind == ExternKind.KCONFIG and e.name.startswith("CONFIG_")]
        if not need:
            return
        if self.extra_kconfig is not None:
            self.kconfig_sources.append("LoadOptions.kconfig")
            self._apply(self.extra_kconfig.encode(), "LoadOptions.kconfig", need)
            if all(e.name in self.done for e in need):
                return
        try:
            path, text = self.kernel.kconfig()
        except OSError as e:
            raise self.fail(need[0], f"cannot read the kernel config ({e.strerror}: "
                            f"{e.filename}); it is needed for {', '.join(x.name for x in need)}",
                            E.EINVAL, [str(e.filename)]) from None
        self.kconfig_sources.append(path)
        self._apply(text, path, need)

    def _apply(self, text: bytes, source: str, need: list[ExternSpec]) -> None:
        before = set(self.done)
        try:
            apply_kconfig(text, self.externs, self.data, self.done)
        except KconfigValueError as e:
            ext = self.externs.get(e.extern or "", need[0])
            raise self.fail(ext, f"{source}: {e}", E.EINVAL, [source]) from None
        for name in self.done - before:
            ext = self.externs[name]
            self.out.values[name] = ResolvedExtern(
                name, ext.kind, True, value=bytes(self.data[ext.offset:ext.offset + ext.size]),
                source=source)

    # -- kallsyms ---------------------------------------------------------------------------
    def _kallsyms(self) -> None:
        want = {e.name: e for e in self.externs.values()
                if e.kind == ExternKind.KSYM and not e.typed}
        if not want:
            return
        try:
            listed = self.kernel.kallsyms(set(want))
        except (OSError, ValueError) as e:
            ext = next(iter(want.values()))
            raise self.fail(ext, f"cannot read /proc/kallsyms: {e}", E.EINVAL,
                            ["/proc/kallsyms"]) from None
        found: dict[str, int] = {}
        for name, addrs in sorted(listed.items()):
            if len(set(addrs)) > 1:
                raise self.fail(want[name], "ambiguous in /proc/kallsyms: "
                                + " or ".join(f"{a:#x}" for a in sorted(set(addrs))),
                                E.EINVAL, ["/proc/kallsyms"])
            found[name] = addrs[0]
        for name, addr in found.items():
            self.out.values[name] = ResolvedExtern(name, ExternKind.KSYM, True, address=addr,
                                                   source="/proc/kallsyms")
        for name in want.keys() - found.keys():
            self.out.values[name] = ResolvedExtern(name, ExternKind.KSYM,
                                                   source="/proc/kallsyms")

    # -- kernel BTF -------------------------------------------------------------------------
    def _btf(self) -> None:
        typed = [e for e in self.externs.values()
                 if e.kind != ExternKind.KCONFIG and e.typed]
        if not typed:
            return
        local = self.spec.btf
        assert local is not None  # externs come from BTF
        try:
            vmlinux = self.kernel.vmlinux()
        except (OSError, BpfDoctorError) as e:
            raise self.fail(typed[0], f"cannot read kernel BTF: {e}", E.EINVAL,
                            ["/sys/kernel/btf/vmlinux"]) from None
        for ext in typed:
            self.out.values[ext.name] = self._resolve_typed(ext, local, vmlinux)

    def _find(self, name: str, kind: btfmod.Kind,
              vmlinux: btfmod.Spec) -> tuple[int, str | None, btfmod.Spec, list[str]]:
        """libbpf's ``find_ksym_btf_id``: vmlinux first, then each module's own types."""
        searched = ["vmlinux"]
        ids = vmlinux.find(name, kind)
        if ids:
            return ids[0], None, vmlinux, searched
        for mod in self.kernel.modules():
            try:
                mspec = self.kernel.module(mod)
            except (OSError, BpfDoctorError):
                continue
            searched.append(mod)
            own = [i for i in mspec.find(name, kind) if i >= vmlinux.type_count]
            if own:
                return own[0], mod, mspec, searched
        return 0, None, vmlinux, searched

    def _resolve_typed(self, ext: ExternSpec, local: btfmod.Spec,
                       vmlinux: btfmod.Spec) -> ResolvedExtern:
        is_func = ext.kind == ExternKind.KFUNC
        kind = btfmod.Kind.FUNC if is_func else btfmod.Kind.VAR
        lookup = ext.essential_name if is_func else ext.name
        tid, mod, targ, searched = self._find(lookup, kind, vmlinux)
        where = " and ".join(searched) if len(searched) < 4 else \
            f"vmlinux and {len(searched) - 1} module BTFs"
        if not tid:
            if ext.weak:
                return ResolvedExtern(ext.name, ext.kind, source=f"not in {where}")
            what = "function" if is_func else "variable"
            raise self.fail(ext, f"no {what} '{lookup}' in kernel BTF (searched {where})",
                            E.EINVAL, searched)
        target = targ.type_by_id(tid)
        targ_type = targ.resolve(target.type)  # type: ignore[attr-defined]
        if not types_are_compat(local, ext.type_id, targ, targ_type):
            if ext.weak and is_func:
                return ResolvedExtern(ext.name, ext.kind, source=f"incompatible in {where}")
            raise self.fail(ext, f"declared as {local.format(ext.type_id)}, but "
                            f"{mod or 'vmlinux'} has {targ.format(targ_type)} [{targ_type}]",
                            E.EINVAL, searched)
        r = ResolvedExtern(ext.name, ext.kind, True, btf_id=tid, module=mod,
                           source=mod or "vmlinux")
        if mod is not None:
            fd = self._module_fd(ext, mod)
            r.btf_obj_fd = fd.fd
            if is_func:
                r.fd_array_index = self._fd_array_slot(ext, mod, fd)
        return r

    def _module_fd(self, ext: ExternSpec, mod: str) -> bsys.FD:
        fd = self._module_fds.get(mod)
        if fd is None:
            try:
                fd = self.kernel.module_btf_fd(mod)
            except (OSError, BpfDoctorError) as e:
                raise self.fail(ext, f"cannot open the BTF object of module {mod}: {e}",
                                E.EINVAL, [mod]) from None
            self._module_fds[mod] = fd
            self.out._fds.append(fd)
        return fd

    def _fd_array_slot(self, ext: ExternSpec, mod: str, fd: bsys.FD) -> int:
        """The ``fd_array`` index of module ``mod``'s BTF fd, assigned on first use."""
        if mod not in self._fd_index:
            if not self.out.fd_array:
                self.out.fd_array.append(0)  # index 0 is not usable: off 0 means vmlinux
            if len(self.out.fd_array) > 0x7FFF:  # insn->off is an s16
                raise self.fail(ext, f"too many module BTFs to index {mod} in fd_array",
                                E.E2BIG, [mod])
            self._fd_index[mod] = len(self.out.fd_array)
            self.out.fd_array.append(fd.fd)
        return self._fd_index[mod]

    # -- the final check --------------------------------------------------------------------
    def _check_strong(self) -> None:
        for ext in self.externs.values():
            r = self.out.values.get(ext.name)
            if ext.name in self.done or (r is not None and r.resolved):
                continue
            if ext.kind == ExternKind.KCONFIG:
                searched = list(self.kconfig_sources)
                what = f"not set in {' or '.join(searched)}"
            else:
                searched = [r.source] if r is not None and r.source else []
                what = f"not in {r.source}" if searched and r is not None else "not found"
            if not ext.weak:
                raise self.fail(ext, f"{what} (declare it __weak to load without it)",
                                E.ESRCH, searched)
            self.out.warnings.append(f"__weak extern '{ext.name}' not found on this kernel; "
                                     "it reads as 0")


def _refers_to(ins: Instruction, ext: ExternSpec) -> bool:
    if ext.kind == ExternKind.KCONFIG:  # a load of the .kconfig map at the extern's offset
        return (ins.is_map_load and ins.reference == KCONFIG_SEC
                and ext.offset <= ins.imm_hi < ext.offset + ext.size)
    return extern_reference(ins) == ext.name


def resolve_externs(spec: CollectionSpec, *, kconfig: str | None = None,
                    kernel: KernelSources | None = None) -> ExternResolution:
    """Resolve every extern of ``spec`` on the running kernel, as libbpf's
    ``bpf_object__load()`` does: for the whole object, whichever programs will be loaded.

    ``kconfig`` is extra config text (``CONFIG_X=y`` lines) consulted before the system's
    config, like libbpf's ``kconfig`` open option.  Raises :class:`ExternResolutionError`
    with libbpf's errno.  The result owns fds: close it (the loader's Collection does)."""
    return _Resolver(spec, kconfig, kernel or KernelSources()).run()
