"""Read a clang-built BPF object into a :class:`~bpfdoctor.spec.CollectionSpec`.

No system calls happen here: the reader works on any machine, so ``bpfdoctor check`` can say
what is wrong with an object before it ever reaches a kernel.

What it does, in libbpf's order:

1. validates the ELF header (magic, class, byte order, machine) with its own checks, so each
   kind of bad input gets a precise typed error instead of a parser exception;
2. reads BTF and BTF.ext, and fixes up DATASEC sizes and variable offsets from the ELF
   section sizes and symbols (clang leaves them zero);
3. collects maps: BTF-defined ``.maps``, legacy ``maps``, and global-data sections
   (``.data``, ``.rodata``, ``.bss`` and their ``.*`` variants) as single-entry arrays;
4. collects externs (``__kconfig`` values, ``__ksym`` symbols and kfuncs: undefined symbols
   the BTF describes) and lays out the ``.kconfig`` map, as libbpf does when it opens an
   object (see :mod:`bpfdoctor.externs`);
5. splits executable sections into functions by their symbols, records relocations, and links
   every entry-point program with the subprograms it calls (depth first, like libbpf), copying
   their func_info and line_info along.  References to externs are left for the loader to
   resolve: kfunc calls become ``BPF_PSEUDO_KFUNC_CALL`` with ``imm`` 0, ksym loads
   ``ld_imm64`` (``BPF_PSEUDO_BTF_ID`` when typed) with ``imm`` 0, both with
   ``Instruction.reference`` naming the extern; kconfig loads become loads of the
   ``.kconfig`` map value at the extern's offset.
"""

from __future__ import annotations

import io
import os
import struct
import sys as _sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from . import btf as btfmod
from .asm import Instruction, InstructionError, decode
from .asm.instruction import (
    PSEUDO_BTF_ID,
    PSEUDO_CALL,
    PSEUDO_FUNC,
    PSEUDO_KFUNC_CALL,
    PSEUDO_MAP_FD,
    PSEUDO_MAP_VALUE,
)
from .errors import (
    BTFError,
    EndiannessError,
    MapSpecError,
    MissingBTFError,
    NotELFError,
    ObjectError,
    RelocationError,
    StrippedError,
    TruncatedError,
    WrongMachineError,
)
from .externs import KCONFIG_SEC, ExternSymbol, collect_externs, kconfig_size
from .sections import SecFlags, match_section
from .spec import (
    CollectionSpec,
    CoreReloRec,
    ExternKind,
    ExternSpec,
    FuncInfoRec,
    LineInfoRec,
    MapKind,
    MapSpec,
    PinType,
    ProgramSpec,
)
from .sys import MapFlags, MapType, ProgFlags, ProgType

EM_BPF = 247
BPF_OBJ_NAME_LEN = 16

_MACHINES = {
    0: "no machine", 3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "s390",
    40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 258: "LoongArch",
}

# relocation types of the BPF ELF ABI
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

_DATA_PREFIXES = (".data", ".rodata", ".bss")

_STT = {0: "STT_NOTYPE", 1: "STT_OBJECT", 2: "STT_FUNC", 3: "STT_SECTION", 4: "STT_FILE"}
_STB = {0: "STB_LOCAL", 1: "STB_GLOBAL", 2: "STB_WEAK"}
_STV = {0: "STV_DEFAULT", 1: "STV_INTERNAL", 2: "STV_HIDDEN", 3: "STV_PROTECTED"}
_SHN = {0: "SHN_UNDEF", 0xFFF1: "SHN_ABS", 0xFFF2: "SHN_COMMON"}

# map types whose key/value BTF the kernel refuses (libbpf drops it for them too)
_NO_BTF_KV = frozenset(MapType[n] for n in (
    "PERF_EVENT_ARRAY", "CGROUP_ARRAY", "STACK_TRACE", "ARRAY_OF_MAPS", "HASH_OF_MAPS",
    "DEVMAP", "DEVMAP_HASH", "CPUMAP", "XSKMAP", "SOCKMAP", "SOCKHASH", "QUEUE", "STACK",
))


def native_byteorder() -> str:
    return _sys.byteorder


# --------------------------------------------------------------------------- header checks


def _check_header(data: bytes, path: str, allow_foreign_endian: bool) -> str:
    """Validate the ELF identification and header; return the byte order."""
    if len(data) < 4 or data[:4] != b"\x7fELF":
        what = "empty file" if not data else _guess_content(data)
        raise NotELFError(f"not an ELF object ({what}); expected a BPF object built by "
                          "`clang -target bpf -c`", path=path)
    if len(data) < 16:
        raise TruncatedError("file ends inside the ELF identification", path=path)
    ei_class, ei_data = data[4], data[5]
    if ei_data not in (1, 2):
        raise ObjectError(f"invalid ELF byte order marker {ei_data}", path=path)
    order = "little" if ei_data == 1 else "big"
    if ei_class == 1:
        raise WrongMachineError(
            "32-bit ELF file; BPF objects are 64-bit ELF (built with `clang -target bpf`)",
            path=path)
    if ei_class != 2:
        raise ObjectError(f"invalid ELF class {ei_class}", path=path)
    if len(data) < 64:
        raise TruncatedError(f"file is {len(data)} bytes, shorter than the 64-byte ELF header",
                             path=path)
    e = "<" if order == "little" else ">"
    (e_type, e_machine) = struct.unpack_from(e + "HH", data, 16)
    if e_machine != EM_BPF:
        mname = _MACHINES.get(e_machine, f"machine {e_machine}")
        raise WrongMachineError(
            f"ELF object for {mname}, not BPF (e_machine {e_machine}, BPF is {EM_BPF}): it was "
            "compiled for the host; compile with `clang -target bpf` (or -target bpfel)",
            path=path)
    if e_type != 1:
        kinds = {2: "an executable", 3: "a shared object", 4: "a core file"}
        raise ObjectError(f"ELF file is {kinds.get(e_type, f'of type {e_type}')}, not a "
                          "relocatable object (.o) as clang -c produces", path=path)
    if order != native_byteorder() and not allow_foreign_endian:
        raise EndiannessError(
            f"{order}-endian BPF object, but this machine is {native_byteorder()}-endian: "
            f"build with `-target bpf{'el' if native_byteorder() == 'little' else 'eb'}` "
            "(plain `-target bpf` follows the build host)", path=path)
    (e_shoff,) = struct.unpack_from(e + "Q", data, 40)
    (e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from(e + "HHH", data, 58)
    if e_shoff == 0 or e_shnum == 0:
        raise ObjectError("ELF object has no section headers", path=path)
    if e_shentsize != 64:
        raise ObjectError(f"unexpected section header size {e_shentsize}", path=path)
    if e_shoff + e_shnum * e_shentsize > len(data):
        raise TruncatedError(
            f"section header table ({e_shnum} entries at offset {e_shoff}) runs past the end "
            f"of the {len(data)}-byte file: the object is truncated", path=path)
    if e_shstrndx >= e_shnum:
        raise ObjectError(f"section name table index {e_shstrndx} out of range", path=path)
    for i in range(e_shnum):
        off = e_shoff + i * 64
        sh_type, = struct.unpack_from(e + "I", data, off + 4)
        sh_offset, sh_size = struct.unpack_from(e + "QQ", data, off + 24)
        if sh_type != 8 and sh_type != 0 and sh_offset + sh_size > len(data):  # 8 = NOBITS
            raise TruncatedError(
                f"section #{i} (bytes {sh_offset}..{sh_offset + sh_size}) runs past the end of "
                f"the {len(data)}-byte file: the object is truncated", path=path)
    return order


def _guess_content(data: bytes) -> str:
    head = data[:64]
    if head.startswith(b"#!"):
        return "a script"
    if head.startswith((b"!<arch>",)):
        return "an ar archive"
    if head.startswith(b"\x1f\x8b"):
        return "gzip data"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data"
    if "#include" in text or "SEC(" in text or "//" in text or "/*" in text:
        return "C source text: compile it first"
    return "text"


# --------------------------------------------------------------------------- internal records


@dataclass
class _Symbol:
    index: int
    name: str
    value: int
    size: int
    type: str  # STT_*
    bind: str  # STB_*
    shndx: int | str
    visibility: str


@dataclass
class _Reloc:
    offset: int
    symbol: _Symbol
    type: int


@dataclass
class _Function:
    name: str
    section: str
    shndx: int
    start: int  # slot index in the section
    insns: list[Instruction]
    relocs: dict[int, _Reloc]  # local instruction index -> relocation
    slot_of: list[int]  # local instruction index -> slot offset within function
    is_global: bool
    func_info: list[tuple[int, int]] = field(default_factory=list)  # (slot, type_id)
    line_info: list[btfmod.LineInfo] = field(default_factory=list)  # insn_off is slot
    core_relos: list[btfmod.CoreRelo] = field(default_factory=list)  # insn_off is slot

    @property
    def slots(self) -> int:
        return sum(i.slots for i in self.insns)


# --------------------------------------------------------------------------- the reader


def load_collection_spec(path: str | os.PathLike[str], *,
                         allow_foreign_endian: bool = False) -> CollectionSpec:
    """Parse a BPF ELF object.  Raises an :class:`~bpfdoctor.errors.ObjectError` subclass
    naming the file, section and symbol for anything it cannot use."""
    p = os.fspath(path)
    try:
        data = Path(p).read_bytes()
    except IsADirectoryError:
        raise ObjectError("is a directory, not an object file", path=p) from None
    except FileNotFoundError:
        raise ObjectError("no such file", path=p) from None
    except PermissionError:
        raise ObjectError("permission denied reading the file", path=p) from None
    return read_collection_spec(data, p, allow_foreign_endian=allow_foreign_endian)


def read_collection_spec(data: bytes, path: str = "<bytes>", *,
                         allow_foreign_endian: bool = False) -> CollectionSpec:
    order = _check_header(data, path, allow_foreign_endian)
    try:
        return _Reader(data, path, order).read()
    except ObjectError:
        raise
    except (ELFError, struct.error, ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
        # Past our own header checks, pyelftools may still trip on corrupt tables.
        raise ObjectError(f"corrupt ELF object: {e}", path=path) from None


class _Reader:
    def __init__(self, data: bytes, path: str, order: str) -> None:
        self.data = data
        self.path = path
        self.order = order
        self.elf = ELFFile(io.BytesIO(data))
        self.sections = [self.elf.get_section(i) for i in range(self.elf.num_sections())]
        self.names = [s.name for s in self.sections]
        self.symbols: list[_Symbol] = []
        self.text_shndx = self._index_of(".text")
        self.btf: btfmod.Spec | None = None
        self.ext: btfmod.ExtInfo | None = None
        self.maps: dict[str, MapSpec] = {}
        # (shndx, st_value) -> map name, to resolve relocations against map symbols
        self.map_by_sym: dict[tuple[int, int], str] = {}
        self.data_map_by_shndx: dict[int, str] = {}
        # map name -> byte offset of its 'values' member inside the definition
        self.values_offset: dict[str, int] = {}
        self.object_name = Path(path).name.split(".")[0] or "obj"
        self.externs: dict[str, ExternSpec] = {}
        self.extern_by_symbol: dict[int, ExternSpec] = {}

    # -- helpers ---------------------------------------------------------------------------
    def _index_of(self, name: str) -> int | None:
        for i, n in enumerate(self.names):
            if n == name:
                return i
        return None

    def _sec_data(self, idx: int) -> bytes:
        sec = self.sections[idx]
        if sec["sh_type"] == "SHT_NOBITS":
            return bytes(sec["sh_size"])
        return sec.data()

    def _err(self, cls: type[ObjectError], msg: str, **kw: object) -> ObjectError:
        return cls(msg, path=self.path, **kw)  # type: ignore[arg-type]

    # -- top level -------------------------------------------------------------------------
    def read(self) -> CollectionSpec:
        license_ = self._read_license()
        kversion = self._read_version()
        self._read_symbols()
        self._read_btf()
        self._collect_externs()
        self._read_btf_maps()
        self._read_legacy_maps()
        self._read_data_maps()
        self._add_kconfig_map()
        self._read_map_relocations()
        functions = self._read_functions()
        programs = self._link_programs(functions, license_, kversion)
        return CollectionSpec(path=self.path, maps=self.maps, programs=programs, btf=self.btf,
                              byteorder=self.order, license=license_,
                              kernel_version=kversion, object_name=self.object_name,
                              externs=self.externs)

    def _read_license(self) -> str:
        i = self._index_of("license")
        if i is None:
            return ""
        raw = self._sec_data(i)
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def _read_version(self) -> int:
        i = self._index_of("version")
        if i is None:
            return 0
        raw = self._sec_data(i)
        if len(raw) != 4:
            raise self._err(ObjectError, f"'version' section is {len(raw)} bytes, expected 4",
                            section="version")
        return struct.unpack("<I" if self.order == "little" else ">I", raw)[0]

    def _read_symbols(self) -> None:
        symtab = next((s for s in self.sections if isinstance(s, SymbolTableSection)), None)
        if symtab is None:
            raise self._err(StrippedError, "object has no symbol table (was it stripped with "
                            "`strip`? BPF objects need their symbols; use `llvm-strip -g`)")
        # Elf64_Sym records are decoded with struct: pyelftools' per-symbol parsing dominated
        # the time to read an object.
        raw = symtab.data()
        link = symtab["sh_link"]
        if not 0 < link < len(self.sections):
            raise self._err(ObjectError, "symbol table names no string table",
                            section=symtab.name)
        strtab = self._sec_data(link)
        fmt = ("<" if self.order == "little" else ">") + "IBBHQQ"
        usable = len(raw) - len(raw) % 24
        for i, (name_off, info, other, shndx, value, size) in enumerate(
                struct.iter_unpack(fmt, raw[:usable])):
            if name_off >= len(strtab) and name_off:
                raise self._err(ObjectError, f"symbol #{i} has a name offset past the string "
                                "table", section=symtab.name)
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            self.symbols.append(_Symbol(
                index=i, name=name, value=value, size=size,
                type=_STT.get(info & 0xF, f"STT_{info & 0xF}"),
                bind=_STB.get(info >> 4, f"STB_{info >> 4}"),
                shndx=_SHN.get(shndx, shndx), visibility=_STV[other & 3]))

    # -- BTF -------------------------------------------------------------------------------
    def _read_btf(self) -> None:
        i = self._index_of(".BTF")
        if i is None:
            return
        try:
            self.btf = btfmod.parse(self._sec_data(i), byteorder=self.order)
        except BTFError as e:
            raise self._err(BTFError, f"corrupt BTF: {e.message}", section=".BTF") from None
        self._fixup_datasecs()
        j = self._index_of(".BTF.ext")
        if j is not None:
            try:
                self.ext = btfmod.parse_ext(self._sec_data(j), self.btf, byteorder=self.order)
            except BTFError as e:
                raise self._err(BTFError, f"corrupt BTF.ext: {e.message}",
                                section=".BTF.ext") from None

    def _fixup_datasecs(self) -> None:
        """Fill in what clang leaves zero in DATASECs: the section size and each variable's
        offset (from its ELF symbol), and sort the variables by offset, as the kernel wants."""
        assert self.btf is not None
        sym_by_name: dict[str, _Symbol] = {}
        for s in self.symbols:
            if s.type in ("STT_OBJECT", "STT_NOTYPE") and s.name:
                sym_by_name.setdefault(s.name, s)
        for t in self.btf.types:
            if not isinstance(t, btfmod.Datasec):
                continue
            if t.name in (".kconfig", ".ksyms"):
                continue
            fix_offsets = False
            if t.size == 0:
                idx = self._index_of(t.name)
                if idx is None and all(getattr(self.btf.type_by_id(v.type), "linkage", 0) == 2
                                       for v in t.vars):
                    # only extern declarations: nothing to fix; a use of one is reported
                    # as an undefined symbol by the relocation step, by name
                    continue
                if idx is None:
                    raise self._err(BTFError, f"BTF DATASEC '{t.name}' has no ELF section",
                                    section=".BTF")
                t.size = self.sections[idx]["sh_size"]
                fix_offsets = True
            for v in t.vars:
                var = self.btf.type_by_id(v.type)
                name = getattr(var, "name", "")
                sym = sym_by_name.get(name)
                if sym is None:
                    raise self._err(BTFError, f"BTF variable '{name}' in '{t.name}' has no "
                                    "ELF symbol", section=".BTF", symbol=name)
                if fix_offsets:
                    v.offset = sym.value
                if (isinstance(var, btfmod.Var) and sym.visibility in
                        ("STV_HIDDEN", "STV_INTERNAL")):
                    var.linkage = 0
            t.vars.sort(key=lambda v: v.offset)

    # -- externs ---------------------------------------------------------------------------
    def _collect_externs(self) -> None:
        """libbpf's extern symbols: undefined, global or weak, of no type, named."""
        candidates = [ExternSymbol(s.index, s.name, s.bind == "STB_WEAK")
                      for s in self.symbols
                      if s.shndx == "SHN_UNDEF" and s.bind in ("STB_GLOBAL", "STB_WEAK")
                      and s.type == "STT_NOTYPE" and s.name]
        if not candidates:
            return
        self.externs = collect_externs(self.btf, candidates, self.path)
        self.extern_by_symbol = {e.symbol: e for e in self.externs.values()}

    def _add_kconfig_map(self) -> None:
        """The internal map holding the values of ``__kconfig`` externs (libbpf's
        ``<obj>.kconfig``): read-only for programs, frozen once filled at load time."""
        size = kconfig_size(self.externs)
        if not size:
            return
        assert self.btf is not None
        ds = self.btf.find(KCONFIG_SEC, btfmod.Datasec)
        spec = MapSpec(name=KCONFIG_SEC, type=MapType.ARRAY, key_size=4, value_size=size,
                       max_entries=1, flags=MapFlags.RDONLY_PROG | MapFlags.MMAPABLE,
                       kind=MapKind.KCONFIG, section=KCONFIG_SEC,
                       value_type_id=ds[0] if ds else 0, freeze=True)
        spec.kernel_name = _internal_map_name(self.object_name, KCONFIG_SEC)
        self.maps[KCONFIG_SEC] = spec

    # -- maps ------------------------------------------------------------------------------
    def _read_btf_maps(self) -> None:
        idx = self._index_of(".maps")
        if idx is None:
            return
        if self.btf is None:
            raise self._err(MissingBTFError,
                            "'.maps' section but no BTF: BTF-defined maps need the object "
                            "built with `-g` (and not stripped of .BTF)", section=".maps")
        ds = [t for t in self.btf.types
              if isinstance(t, btfmod.Datasec) and t.name == ".maps"]
        if not ds:
            raise self._err(MissingBTFError, "BTF has no DATASEC for '.maps'", section=".maps")
        for v in ds[0].vars:
            var = self.btf.type_by_id(v.type)
            if not isinstance(var, btfmod.Var):
                raise self._err(MapSpecError, "'.maps' DATASEC entry is not a variable",
                                section=".maps")
            spec = self._parse_btf_map(var.name, var.type, inner=False)
            spec.btf_var_id = v.type
            self._add_map(spec, idx, v.offset)

    def _parse_btf_map(self, name: str, type_id: int, *, inner: bool) -> MapSpec:
        assert self.btf is not None
        b = self.btf
        def_id = b.resolve(type_id)
        st = b.type_by_id(def_id)
        if not isinstance(st, btfmod.Struct):
            raise self._err(MapSpecError, f"map '{name}': definition is not a struct",
                            section=".maps", symbol=name)
        spec = MapSpec(name=name, type=0, key_size=0, value_size=0, max_entries=0,
                       kind=MapKind.BTF, section=".maps")
        values_member: btfmod.Member | None = None
        for m in st.members:
            mname = m.name
            if mname in ("type", "max_entries", "map_flags", "numa_node", "key_size",
                         "value_size", "pinning", "map_extra"):
                val = self._uint_member(name, m)
                if mname == "type":
                    spec.type = val
                elif mname == "max_entries":
                    spec.max_entries = val
                elif mname == "map_flags":
                    spec.flags = val
                elif mname == "numa_node":
                    spec.numa_node = val
                elif mname == "key_size":
                    self._set_size(spec, "key", val)
                elif mname == "value_size":
                    self._set_size(spec, "value", val)
                elif mname == "pinning":
                    if val not in (0, 1):
                        raise self._err(MapSpecError,
                                        f"map '{name}': unknown pinning value {val}",
                                        section=".maps", symbol=name)
                    spec.pinning = PinType(val)
                elif mname == "map_extra":
                    spec.map_extra = val
            elif mname in ("key", "value"):
                ptr = b.type_by_id(b.resolve(m.type))
                if not isinstance(ptr, btfmod.Pointer):
                    raise self._err(MapSpecError, f"map '{name}': '{mname}' must be declared "
                                    f"with __type({mname}, T) (a pointer)", section=".maps",
                                    symbol=name)
                try:
                    size = b.sizeof(ptr.type)
                except BTFError as e:
                    raise self._err(MapSpecError, f"map '{name}': size of {mname} type: "
                                    f"{e.message}", section=".maps", symbol=name) from None
                self._set_size(spec, mname, size)
                if mname == "key":
                    spec.key_type_id = ptr.type
                else:
                    spec.value_type_id = ptr.type
            elif mname == "values":
                values_member = m
            else:
                raise self._err(MapSpecError, f"map '{name}': unknown field '{mname}' in map "
                                "definition", section=".maps", symbol=name)
        if values_member is not None:
            self._parse_values_member(spec, values_member, inner)
        if spec.type == 0:
            raise self._err(MapSpecError, f"map '{name}': no map type (__uint(type, ...))",
                            section=".maps", symbol=name)
        return spec

    def _uint_member(self, map_name: str, m: btfmod.Member) -> int:
        """``__uint(name, N)`` is encoded as ``int (*name)[N]``; ``__ulong(name, N)`` (newer
        libbpf headers, for 64-bit values such as map_extra) as an anonymous one-value enum
        ``enum { ... = N } name``."""
        assert self.btf is not None
        b = self.btf
        t = b.type_by_id(b.resolve(m.type))
        if isinstance(t, (btfmod.Enum, btfmod.Enum64)) and len(t.values) == 1:
            return t.values[0].value & 0xFFFFFFFFFFFFFFFF
        arr = b.type_by_id(b.resolve(t.type)) if isinstance(t, btfmod.Pointer) else None
        if not isinstance(arr, btfmod.Array):
            raise self._err(MapSpecError, f"map '{map_name}': '{m.name}' is not declared "
                            f"with __uint({m.name}, N)", section=".maps", symbol=map_name)
        return arr.nelems

    def _set_size(self, spec: MapSpec, which: str, size: int) -> None:
        attr = f"{which}_size"
        cur = getattr(spec, attr)
        if cur and cur != size:
            raise self._err(MapSpecError, f"map '{spec.name}': conflicting {which} sizes "
                            f"{cur} and {size}", section=".maps", symbol=spec.name)
        setattr(spec, attr, size)

    def _parse_values_member(self, spec: MapSpec, m: btfmod.Member, inner: bool) -> None:
        assert self.btf is not None
        b = self.btf
        arr = b.type_by_id(b.resolve(m.type))
        if not isinstance(arr, btfmod.Array):
            raise self._err(MapSpecError, f"map '{spec.name}': 'values' must be an array",
                            section=".maps", symbol=spec.name)
        ptr = b.type_by_id(b.resolve(arr.type))
        if not isinstance(ptr, btfmod.Pointer):
            raise self._err(MapSpecError, f"map '{spec.name}': 'values' must be an array of "
                            "pointers", section=".maps", symbol=spec.name)
        target = b.type_by_id(b.resolve(ptr.type))
        if spec.type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
            if inner:
                raise self._err(MapSpecError, f"map '{spec.name}': nested map-in-map",
                                section=".maps", symbol=spec.name)
            if not isinstance(target, btfmod.Struct):
                raise self._err(MapSpecError, f"map '{spec.name}': inner map definition "
                                "must be a struct", section=".maps", symbol=spec.name)
            spec.inner = self._parse_btf_map(f"{spec.name}.inner", ptr.type, inner=True)
            self._set_size(spec, "value", 4)
        elif spec.type == MapType.PROG_ARRAY:
            if not isinstance(target, btfmod.FuncProto):
                raise self._err(MapSpecError, f"map '{spec.name}': prog array 'values' must "
                                "point to functions", section=".maps", symbol=spec.name)
            self._set_size(spec, "value", 4)
        else:
            raise self._err(MapSpecError, f"map '{spec.name}': 'values' is only allowed for "
                            "map-in-map and prog array maps", section=".maps", symbol=spec.name)
        self._set_size(spec, "key", 4)
        self.values_offset[spec.name] = m.offset_bits // 8

    def _add_map(self, spec: MapSpec, shndx: int, offset: int) -> None:
        if spec.name in self.maps:
            raise self._err(MapSpecError, f"map '{spec.name}' defined twice",
                            section=self.names[shndx], symbol=spec.name)
        if spec.type in _NO_BTF_KV:
            spec.key_type_id = spec.value_type_id = 0
        spec.kernel_name = kernel_object_name(spec.name)
        self.maps[spec.name] = spec
        self.map_by_sym[(shndx, offset)] = spec.name

    def _read_legacy_maps(self) -> None:
        idx = self._index_of("maps")
        if idx is None:
            return
        raw = self._sec_data(idx)
        syms = sorted((s for s in self.symbols if s.shndx == idx and s.name
                       and s.type in ("STT_OBJECT", "STT_NOTYPE")), key=lambda s: s.value)
        if not syms:
            return
        size = len(raw) // len(syms)
        if size < 20 or len(raw) % len(syms):
            raise self._err(MapSpecError, f"legacy 'maps' section of {len(raw)} bytes cannot hold "
                            f"{len(syms)} struct bpf_map_def", section="maps")
        fmt = ("<" if self.order == "little" else ">") + "IIIII"
        for s in syms:
            if s.value + 20 > len(raw):
                raise self._err(MapSpecError, "map definition runs past the section end",
                                section="maps", symbol=s.name)
            t, ks, vs, me, fl = struct.unpack_from(fmt, raw, s.value)
            spec = MapSpec(name=s.name, type=t, key_size=ks, value_size=vs, max_entries=me,
                           flags=fl, kind=MapKind.LEGACY, section="maps")
            self._add_map(spec, idx, s.value)

    def _read_data_maps(self) -> None:
        for idx, name in enumerate(self.names):
            if not _is_data_section(name):
                continue
            sec = self.sections[idx]
            if not sec["sh_flags"] & 0x2:  # SHF_ALLOC
                continue
            size = sec["sh_size"]
            if size == 0:
                continue
            ds_id = 0
            mmapable = False
            if self.btf is not None:
                ids = self.btf.find(name, btfmod.Datasec)
                if ids:
                    ds_id = ids[0]
                    ds = self.btf.type_by_id(ds_id)
                    mmapable = any(getattr(self.btf.type_by_id(v.type), "linkage", 0) != 0
                                   for v in ds.vars)
            rodata = name.startswith(".rodata")
            flags = 0
            if rodata:
                flags |= MapFlags.RDONLY_PROG
            if mmapable:
                flags |= MapFlags.MMAPABLE
            data = None if sec["sh_type"] == "SHT_NOBITS" else self._sec_data(idx)
            spec = MapSpec(name=name, type=MapType.ARRAY, key_size=4, value_size=size,
                           max_entries=1, flags=flags, kind=MapKind.DATA, section=name,
                           value_type_id=ds_id, data=data, freeze=rodata)
            if name in self.maps:
                raise self._err(MapSpecError, f"map '{name}' defined twice", section=name)
            spec.kernel_name = _internal_map_name(self.object_name, name)
            self.maps[name] = spec
            self.data_map_by_shndx[idx] = name

    def _read_map_relocations(self) -> None:
        """``.values = { [0] = &prog }`` initialisers of prog arrays and map-in-maps."""
        idx = self._index_of(".maps")
        if idx is None:
            return
        for rsec in self._reloc_sections_for(idx):
            for r in self._relocs(rsec):
                owner = None
                for (shndx, off), mname in self.map_by_sym.items():
                    if shndx != idx or mname not in self.values_offset:
                        continue
                    start = off + self.values_offset[mname]
                    if start <= r.offset and (owner is None or off > owner[0]):
                        owner = (off, mname, start)
                if owner is None:
                    raise self._err(RelocationError, "relocation in '.maps' outside any map's "
                                    "'values'", section=".maps", symbol=r.symbol.name)
                _, mname, start = owner
                slot = (r.offset - start) // 8
                self.maps[mname].contents.append((slot, r.symbol.name))

    # -- programs --------------------------------------------------------------------------
    def _reloc_sections_for(self, idx: int) -> list[RelocationSection]:
        return [s for s in self.sections
                if isinstance(s, RelocationSection) and s["sh_info"] == idx
                and s["sh_type"] == "SHT_REL"]

    def _relocs(self, rsec: RelocationSection) -> list[_Reloc]:
        raw = rsec.data()
        fmt = ("<" if self.order == "little" else ">") + "QQ"
        out = []
        for off, info in struct.iter_unpack(fmt, raw[:len(raw) - len(raw) % 16]):
            si = info >> 32
            if si >= len(self.symbols):
                raise self._err(RelocationError, f"relocation refers to symbol #{si}, past the "
                                "end of the symbol table", section=rsec.name)
            out.append(_Reloc(off, self.symbols[si], info & 0xFFFFFFFF))
        return out

    def _read_functions(self) -> dict[tuple[int, int], _Function]:
        funcs: dict[tuple[int, int], _Function] = {}
        for idx, sec in enumerate(self.sections):
            if sec["sh_type"] != "SHT_PROGBITS" or not sec["sh_flags"] & 0x4:  # EXECINSTR
                continue
            raw = self._sec_data(idx)
            if not raw:
                continue
            name = self.names[idx]
            try:
                insns = decode(raw, self.order)
            except InstructionError as e:
                raise self._err(ObjectError, f"bad instructions: {e.message}",
                                section=name) from None
            slots: list[int] = []
            pos = 0
            for ins in insns:
                slots.append(pos)
                pos += ins.slots
            index_of_slot = {s: i for i, s in enumerate(slots)}
            relocs: dict[int, _Reloc] = {}
            for rsec in self._reloc_sections_for(idx):
                for r in self._relocs(rsec):
                    if r.offset % 8 or (r.offset // 8) not in index_of_slot:
                        raise self._err(RelocationError, f"relocation at byte {r.offset} does "
                                        "not point at an instruction", section=name,
                                        symbol=r.symbol.name)
                    relocs[index_of_slot[r.offset // 8]] = r
            fsyms = sorted({s.value: s for s in self.symbols
                            if s.shndx == idx and s.type == "STT_FUNC"}.values(),
                           key=lambda s: s.value)
            if not fsyms:
                # hand-written assembly without function symbols: one program per section
                fsyms = [_Symbol(-1, name.replace("/", "_").lstrip("."), 0, len(raw),
                                 "STT_FUNC", "STB_GLOBAL", idx, "STV_DEFAULT")]
            for k, s in enumerate(fsyms):
                if s.value % 8:
                    raise self._err(ObjectError, "function does not start on an instruction",
                                    section=name, symbol=s.name)
                start = s.value // 8
                end = (fsyms[k + 1].value // 8) if k + 1 < len(fsyms) else pos
                if s.size:
                    end = min(end, start + s.size // 8) if s.size % 8 == 0 else end
                if start not in index_of_slot:
                    raise self._err(ObjectError, "function starts inside an ld_imm64",
                                    section=name, symbol=s.name)
                i0 = index_of_slot[start]
                i1 = index_of_slot.get(end, len(insns)) if end < pos else len(insns)
                f_insns = [replace(ins) for ins in insns[i0:i1]]
                if f_insns:
                    f_insns[0] = replace(f_insns[0], symbol=s.name)
                f_relocs = {i - i0: r for i, r in relocs.items() if i0 <= i < i1}
                funcs[(idx, start)] = _Function(
                    name=s.name, section=name, shndx=idx, start=start, insns=f_insns,
                    relocs=f_relocs, slot_of=[slots[i] - start for i in range(i0, i1)],
                    is_global=s.bind in ("STB_GLOBAL", "STB_WEAK"))
            self._attach_ext_info(name, [f for (i, _), f in funcs.items() if i == idx])
        return funcs

    def _attach_ext_info(self, section: str, funcs: list[_Function]) -> None:
        if self.ext is None:
            return
        fis = self.ext.func_info.get(section, [])
        lis = self.ext.line_info.get(section, [])
        crs = self.ext.core_relos.get(section, [])
        for f in funcs:
            lo, hi = f.start, f.start + f.slots
            f.func_info = [(fi.insn_off // 8 - lo, fi.type_id) for fi in fis
                           if lo <= fi.insn_off // 8 < hi]
            f.line_info = [replace(li, insn_off=li.insn_off // 8 - lo) for li in lis
                           if lo <= li.insn_off // 8 < hi]
            f.core_relos = [replace(cr, insn_off=cr.insn_off // 8 - lo) for cr in crs
                            if lo <= cr.insn_off // 8 < hi]

    def _link_programs(self, funcs: dict[tuple[int, int], _Function], license_: str,
                       kversion: int) -> dict[str, ProgramSpec]:
        programs: dict[str, ProgramSpec] = {}
        for (idx, _), f in sorted(funcs.items()):
            if idx == self.text_shndx:
                continue
            sm = match_section(f.section)
            if sm is None:
                ptype, atype, flags, target, autoload = ProgType.UNSPEC, None, 0, "", True
            else:
                d = sm.definition
                ptype, atype = d.prog_type, d.attach_type
                flags = 0
                if d.flags & SecFlags.SLEEPABLE:
                    flags |= ProgFlags.SLEEPABLE
                if d.flags & SecFlags.XDP_FRAGS:
                    flags |= ProgFlags.XDP_HAS_FRAGS
                target, autoload = sm.attach_target, sm.autoload
            insns, fi, li, cr, order, offsets = self._link(f, funcs)
            if f.name in programs:
                raise self._err(ObjectError, f"two programs named '{f.name}'",
                                section=f.section, symbol=f.name)
            programs[f.name] = ProgramSpec(
                name=f.name, section=f.section, type=ptype, attach_type=atype,
                instructions=insns, license=license_, kernel_version=kversion, flags=flags,
                attach_to=target, autoload=autoload, section_match=sm, func_info=fi,
                line_info=li, core_relos=cr, subprograms=order, symbol_offsets=offsets,
                is_global_func=f.is_global)
        return programs

    def _link(self, main: _Function, funcs: dict[tuple[int, int], _Function]):
        """Append every function ``main`` reaches to its instructions, depth first in order of
        first reference (libbpf's order, so the kernel sees the same program)."""
        out: list[Instruction] = []
        placed: dict[tuple[int, int], int] = {}  # function key -> slot offset in program
        order: list[str] = []
        func_info: list[FuncInfoRec] = []
        line_info: list[LineInfoRec] = []
        core_relos: list[CoreReloRec] = []

        def place(f: _Function) -> int:
            key = (f.shndx, f.start)
            base = sum(i.slots for i in out)
            placed[key] = base
            order.append(f.name)
            first = len(out)
            out.extend(replace(i) for i in f.insns)
            for slot, tid in f.func_info:
                func_info.append(FuncInfoRec(base + slot, tid))
            for cr in f.core_relos:
                core_relos.append(CoreReloRec(base + cr.insn_off, cr.type_id, cr.access_str,
                                              int(cr.kind), f.name))
            for li in f.line_info:
                line_info.append(LineInfoRec(base + li.insn_off, li.file_name_off, li.line_off,
                                             li.line, li.column, li.file_name, li.line_text))
            for k in range(len(f.insns)):
                self._relocate(f, k, first + k, base, out, place, placed, funcs)
            return base

        place(main)
        func_info.sort(key=lambda r: r.insn)
        line_info.sort(key=lambda r: r.insn)
        core_relos.sort(key=lambda r: r.insn)
        offsets = {name: placed[key] for key, name in
                   ((k, funcs[k].name) for k in placed)}
        return out, func_info, line_info, core_relos, order, offsets

    def _relocate(self, f: _Function, k: int, out_idx: int, base: int,
                  out: list[Instruction], place: Callable[[_Function], int],
                  placed: dict[tuple[int, int], int],
                  funcs: dict[tuple[int, int], _Function]) -> None:
        ins = out[out_idx]
        rel = f.relocs.get(k)
        my_slot = base + f.slot_of[k]
        sec_slot = f.start + f.slot_of[k]

        def target_func(shndx: int, slot: int, what: str) -> _Function:
            tf = funcs.get((shndx, slot))
            if tf is None:
                raise self._err(RelocationError, f"{what} at instruction {sec_slot} of "
                                f"'{f.name}' points to instruction {slot} of "
                                f"'{self.names[shndx]}', which starts no function",
                                section=f.section, symbol=f.name)
            return tf

        def link_to(tf: _Function) -> int:
            key = (tf.shndx, tf.start)
            return placed[key] if key in placed else place(tf)

        if rel is None:
            if ins.is_bpf_call:
                tf = target_func(f.shndx, sec_slot + ins.imm + 1, "call")
                tb = link_to(tf)
                out[out_idx] = replace(out[out_idx], imm=tb - my_slot - 1, reference=tf.name)
            elif ins.is_func_ref:
                tf = target_func(f.shndx, sec_slot + ins.imm_lo // 8 + 1, "function address")
                tb = link_to(tf)
                out[out_idx] = out[out_idx].with_imm64(tb - my_slot - 1, 0)
                out[out_idx].reference = tf.name
            return

        sym = rel.symbol
        sname = sym.name or (self.names[sym.shndx] if isinstance(sym.shndx, int) else "?")
        if sym.shndx == "SHN_UNDEF" or sym.shndx == 0:
            ext = self.extern_by_symbol.get(sym.index)
            if ext is not None:
                out[out_idx] = self._extern_ref(f, sec_slot, ins, ext)
                return
            kind = "call to" if ins.is_call else "reference to"
            hint = ("a missing map or function definition?" if self.btf is not None else
                    "__ksym/__kconfig externs need BTF: build with -g")
            raise self._err(
                RelocationError,
                f"instruction {sec_slot} of '{f.name}': {kind} '{sname}', which is not defined "
                "in this object and is no __ksym/__kconfig extern the object's BTF describes "
                f"({hint})", section=f.section, symbol=sname, insn=sec_slot, program=f.name)
        if not isinstance(sym.shndx, int):
            raise self._err(RelocationError, f"instruction {sec_slot} of '{f.name}': relocation "
                            f"against '{sname}' in {sym.shndx}", section=f.section,
                            symbol=sname)
        if ins.is_call:
            if rel.type not in (R_BPF_64_32, R_BPF_64_NODYLD32) or sym.shndx != self.text_shndx:
                raise self._err(RelocationError, f"instruction {sec_slot} of '{f.name}': call "
                                f"relocation against '{sname}' in "
                                f"'{self.names[sym.shndx]}' (subprograms must live in .text)",
                                section=f.section, symbol=sname)
            if sym.value % 8:
                raise self._err(RelocationError, "call target not instruction aligned",
                                section=f.section, symbol=sname)
            tf = target_func(sym.shndx, sym.value // 8 + ins.imm + 1, "call")
            tb = link_to(tf)
            out[out_idx] = replace(out[out_idx], src=PSEUDO_CALL, imm=tb - my_slot - 1,
                                   reference=tf.name)
            return
        if not ins.is_ld_imm64:
            raise self._err(RelocationError, f"instruction {sec_slot} of '{f.name}' (opcode "
                            f"{ins.opcode:#04x}) has a relocation against '{sname}' but is not "
                            "a call or 64-bit load", section=f.section, symbol=sname)
        if sym.shndx == self.text_shndx and sym.type in ("STT_FUNC", "STT_SECTION"):
            if sym.value % 8 or ins.imm_lo % 8:
                raise self._err(RelocationError, "function address not instruction aligned",
                                section=f.section, symbol=sname)
            tf = target_func(sym.shndx, sym.value // 8 + ins.imm_lo // 8, "function address")
            tb = link_to(tf)
            new = replace(out[out_idx], src=PSEUDO_FUNC).with_imm64(tb - my_slot - 1, 0)
            new.reference = tf.name
            out[out_idx] = new
            return
        mname = self.map_by_sym.get((sym.shndx, sym.value))
        if mname is not None and self.names[sym.shndx] in (".maps", "maps"):
            new = replace(out[out_idx], src=PSEUDO_MAP_FD).with_imm64(0, ins.imm_hi)
            new.reference = mname
            out[out_idx] = new
            return
        dname = self.data_map_by_shndx.get(sym.shndx)
        if dname is not None:
            off = ins.imm_lo + (sym.value if sym.type != "STT_SECTION" else 0)
            new = replace(out[out_idx], src=PSEUDO_MAP_VALUE).with_imm64(0, off)
            new.reference = dname
            out[out_idx] = new
            return
        raise self._err(RelocationError, f"instruction {sec_slot} of '{f.name}': reference to "
                        f"'{sname}' in section '{self.names[sym.shndx]}', which holds no map, "
                        "global data or function", section=f.section, symbol=sname)


    def _extern_ref(self, f: _Function, sec_slot: int, ins: Instruction,
                    ext: ExternSpec) -> Instruction:
        """The instruction referring to extern ``ext``, in the form the loader resolves."""
        def refuse(what: str) -> ObjectError:
            return self._err(RelocationError, f"instruction {sec_slot} of '{f.name}' {what} "
                             f"{ext.kind.value} extern '{ext.name}'", section=f.section,
                             symbol=ext.name, insn=sec_slot, program=f.name)

        if ins.is_call:
            if ext.kind != ExternKind.KFUNC:
                raise refuse("calls")
            return replace(ins, src=PSEUDO_KFUNC_CALL, imm=0, off=0, reference=ext.name)
        if not ins.is_ld_imm64:
            raise refuse(f"(opcode {ins.opcode:#04x}) is neither a call nor a 64-bit load of")
        if ext.kind == ExternKind.KCONFIG:
            new = replace(ins, src=PSEUDO_MAP_VALUE).with_imm64(0, ext.offset)
            new.reference = KCONFIG_SEC
            return new
        new = replace(ins, src=PSEUDO_BTF_ID if ext.typed else 0).with_imm64(0, 0)
        new.reference = ext.name
        return new


def _is_data_section(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _DATA_PREFIXES)


def _sanitize(name: str) -> str:
    return "".join(c if (c.isalnum() and c.isascii()) or c in "._" else "_" for c in name)


def kernel_object_name(name: str) -> str:
    """``name`` as the kernel accepts an object name: letters, digits, ``_`` and ``.`` only,
    at most ``BPF_OBJ_NAME_LEN - 1`` characters."""
    return _sanitize(name)[: BPF_OBJ_NAME_LEN - 1]


def _internal_map_name(obj_name: str, section: str) -> str:
    """libbpf's kernel-visible name for a global-data map: for ``.data``/``.rodata``/``.bss``,
    as much of the object name as fits before the section name (7 characters are always
    reserved for it); custom ``.data.*``/``.rodata.*`` sections keep their own name only."""
    limit = BPF_OBJ_NAME_LEN - 1
    sfx = max(7, len(section))
    pfx = 0 if "." in section[1:] else max(0, min(limit - sfx, len(obj_name)))
    return _sanitize(obj_name[:pfx] + section)[:limit]
