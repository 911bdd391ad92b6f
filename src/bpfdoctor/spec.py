"""What an object file asks for, before anything touches the kernel.

``CollectionSpec`` → ``ProgramSpec`` / ``MapSpec`` is the contract between the ELF reader (which
produces them with no syscalls, on any machine) and the loader (which turns them into kernel
objects).  Specs are plain mutable dataclasses so that a caller can adjust them before loading
(rewrite a constant, resize a map), as with cilium/ebpf's specs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING

from .asm import Instruction
from .asm.instruction import PSEUDO_BTF_ID

if TYPE_CHECKING:
    from .btf import Spec as BTFSpec
    from .sections import SectionMatch


class PinType(IntEnum):
    NONE = 0
    BY_NAME = 1


class MapKind(IntEnum):
    """Where a map definition came from."""

    BTF = 0
    """a BTF-defined map in ``.maps``"""
    LEGACY = 1
    """``struct bpf_map_def`` in the legacy ``maps`` section"""
    DATA = 2
    """a global-data section (``.data``, ``.rodata``, ``.bss``, ``.data.*``, ``.rodata.*``)"""
    KCONFIG = 3
    """the ``.kconfig`` map libbpf creates to hold the values of ``__kconfig`` externs"""


@dataclass
class MapSpec:
    name: str
    """Name in the object (the variable name, or the section name for global data)."""
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    map_extra: int = 0
    numa_node: int | None = None
    pinning: PinType = PinType.NONE
    kind: MapKind = MapKind.BTF
    section: str = ""
    key_type_id: int = 0
    value_type_id: int = 0
    """BTF type ids (in the collection's BTF) of key and value; 0 when unknown."""
    btf_var_id: int = 0
    inner: MapSpec | None = None
    """Template of the inner map for map-in-map types."""
    data: bytes | None = None
    """Initial value of a global-data map (key 0)."""
    contents: list[tuple[int, str]] = field(default_factory=list)
    """Initial slots of prog arrays / map-in-maps from ``.values = { [i] = &x }``: index → name
    of the program or map to store there."""
    freeze: bool = False
    """Freeze after populating (``.rodata``: the verifier then treats it as constant)."""
    kernel_name: str = ""
    """The name given to the kernel (``BPF_OBJ_NAME_LEN`` - 1 chars at most)."""

    def copy(self) -> MapSpec:
        return copy.deepcopy(self)


@dataclass
class FuncInfoRec:
    insn: int
    """instruction (slot) index in the final program"""
    type_id: int


@dataclass
class LineInfoRec:
    insn: int
    file_name_off: int
    line_off: int
    line: int
    column: int
    file_name: str
    line_text: str


@dataclass
class CoreReloRec:
    """A CO-RE relocation of the linked program: the instruction at slot ``insn`` must be
    adjusted to the running kernel's layout of local BTF type ``type_id`` along
    ``access_str`` (``"0:1:2"``), as ``kind`` (a ``btf.CoreReloKind``) says."""

    insn: int
    type_id: int
    access_str: str
    kind: int
    function: str = ""
    """The function (program or subprogram) the instruction belongs to."""


class ExternKind(str, Enum):
    """What an extern (an undefined symbol described by the object's BTF) stands for."""

    KCONFIG = "kconfig"
    """``extern T CONFIG_X __kconfig``: a value libbpf fills from the kernel config, or a
    ``LINUX_*`` value it computes; the program reads it from the ``.kconfig`` map."""
    KSYM = "ksym"
    """``extern T sym __ksym``: a kernel variable, by BTF id when typed, by its
    ``/proc/kallsyms`` address when declared ``void``."""
    KFUNC = "kfunc"
    """``extern R f(...) __ksym``: a kernel function callable from BPF (by BTF id)."""


class KconfigType(str, Enum):
    """The C types a ``__kconfig`` extern may have (libbpf's ``kcfg_type``)."""

    CHAR = "char"
    BOOL = "bool"
    INT = "int"
    TRISTATE = "tristate"
    """``enum libbpf_tristate``: 0 no, 1 yes (built in), 2 module"""
    CHAR_ARRAY = "char_array"


@dataclass
class ExternSpec:
    """An extern the object needs from the kernel, as the ELF reader found it.

    Resolution against the running kernel happens at load time
    (:mod:`bpfdoctor.externs`); this records only what the object declares."""

    name: str
    kind: ExternKind
    btf_id: int
    """The ``VAR`` (kconfig, ksym) or ``FUNC`` (kfunc) in the object's BTF."""
    weak: bool = False
    """Declared ``__weak``: the load goes on with a zero value when it cannot be resolved."""
    type_id: int = 0
    """The declared type with modifiers and typedefs skipped: the variable's type (0 for an
    untyped ``const void`` ksym) or the kfunc's ``FUNC_PROTO``."""
    symbol: int = 0
    """Index of the undefined ELF symbol the relocations refer to."""
    size: int = 0
    """kconfig: size of the value in bytes."""
    align: int = 0
    """kconfig: alignment of the value in bytes."""
    kconfig_type: KconfigType | None = None
    signed: bool = False
    """kconfig: an integer type that is signed (range checks differ)."""
    offset: int = 0
    """kconfig: byte offset of the value in the ``.kconfig`` map (libbpf's layout)."""

    @property
    def typed(self) -> bool:
        """Whether the kernel resolves it by BTF (kfuncs and typed ksyms) rather than by
        kallsyms address; kconfig externs always have a type."""
        return self.kind != ExternKind.KSYM or self.type_id != 0

    @property
    def essential_name(self) -> str:
        """The name without a ``___flavor`` suffix, which libbpf ignores when it looks a
        kfunc up (so one object can declare two prototypes of the same kfunc)."""
        for i in range(len(self.name) - 5, -1, -1):
            s = self.name[i:]
            if s[0] != "_" and s[1:4] == "___" and s[4] != "_":
                return self.name[:i + 1]
        return self.name


def extern_reference(ins: Instruction) -> str | None:
    """The extern an instruction of a linked program refers to, before the loader resolves
    it: a kfunc call, or an ``ld_imm64`` of a ksym or kfunc address (``src`` 0 for an
    untyped ksym, ``PSEUDO_BTF_ID`` for a typed one).  ``__kconfig`` values are read through
    the ``.kconfig`` map like global data, so they show up as map references instead."""
    if ins.reference is None:
        return None
    if ins.is_kfunc_call or (ins.is_ld_imm64 and ins.src in (0, PSEUDO_BTF_ID)):
        return ins.reference
    return None


@dataclass
class ProgramSpec:
    name: str
    section: str
    type: int
    attach_type: int | None
    """expected_attach_type (AttachType) or None."""
    instructions: list[Instruction]
    """The program after linking: its own code followed by every subprogram it calls,
    with bpf-to-bpf calls resolved and map references recorded in
    ``Instruction.reference``."""
    license: str = ""
    kernel_version: int = 0
    flags: int = 0
    """BPF_F_* program flags implied by the section (sleepable, xdp frags)."""
    attach_to: str = ""
    """Attach target from the section name (``syscalls/sys_enter_openat``)."""
    autoload: bool = True
    section_match: SectionMatch | None = None
    func_info: list[FuncInfoRec] = field(default_factory=list)
    line_info: list[LineInfoRec] = field(default_factory=list)
    core_relos: list[CoreReloRec] = field(default_factory=list)
    subprograms: list[str] = field(default_factory=list)
    """Names of the functions linked into this program, in order (the program first)."""
    symbol_offsets: dict[str, int] = field(default_factory=dict)
    """Slot index at which each linked function starts."""
    is_global_func: bool = True

    @property
    def maps_used(self) -> list[str]:
        """Names of the maps this program references, in first-use order."""
        seen: dict[str, None] = {}
        for ins in self.instructions:
            if ins.is_map_load and ins.reference:
                seen.setdefault(ins.reference, None)
        return list(seen)

    @property
    def externs_used(self) -> list[str]:
        """Names of the ksym and kfunc externs this program refers to, in first-use order
        (kconfig externs are reached through the ``.kconfig`` map, see :attr:`maps_used`)."""
        seen: dict[str, None] = {}
        for ins in self.instructions:
            name = extern_reference(ins)
            if name is not None:
                seen.setdefault(name, None)
        return list(seen)

    def source_line(self, insn: int) -> LineInfoRec | None:
        """The line-info record covering slot ``insn`` (the last one at or before it)."""
        best = None
        for rec in self.line_info:
            if rec.insn <= insn:
                best = rec
            else:
                break
        return best

    def copy(self) -> ProgramSpec:
        return copy.deepcopy(self)


@dataclass
class CollectionSpec:
    path: str
    maps: dict[str, MapSpec]
    programs: dict[str, ProgramSpec]
    btf: BTFSpec | None = None
    byteorder: str = "little"
    license: str = ""
    kernel_version: int = 0
    object_name: str = ""
    """libbpf's object name: the file's base name up to the first ``.``; prefixes the kernel
    names of global-data maps."""
    externs: dict[str, ExternSpec] = field(default_factory=dict)
    """``__kconfig`` and ``__ksym`` externs, in libbpf's order (kconfig by alignment, size
    and name, then ksyms and kfuncs by name)."""

    def copy(self) -> CollectionSpec:
        """A copy whose maps, programs and externs can be changed independently.  The BTF is
        shared: it is large, and loading never modifies it (the loader sanitizes a copy)."""
        return CollectionSpec(path=self.path, maps=copy.deepcopy(self.maps),
                              programs=copy.deepcopy(self.programs), btf=self.btf,
                              byteorder=self.byteorder, license=self.license,
                              kernel_version=self.kernel_version,
                              object_name=self.object_name,
                              externs=copy.deepcopy(self.externs))
