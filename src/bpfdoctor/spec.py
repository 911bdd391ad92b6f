"""What an object file asks for, before anything touches the kernel.

``CollectionSpec`` → ``ProgramSpec`` / ``MapSpec`` is the contract between the ELF reader (which
produces them with no syscalls, on any machine) and the loader (which turns them into kernel
objects).  Specs are plain mutable dataclasses so that a caller can adjust them before loading
(rewrite a constant, resize a map), as with cilium/ebpf's specs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from .asm import Instruction

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

    def copy(self) -> CollectionSpec:
        """A copy whose maps and programs can be changed independently.  The BTF is shared:
        it is large, and loading never modifies it."""
        return CollectionSpec(path=self.path, maps=copy.deepcopy(self.maps),
                              programs=copy.deepcopy(self.programs), btf=self.btf,
                              byteorder=self.byteorder, license=self.license,
                              kernel_version=self.kernel_version,
                              object_name=self.object_name)
