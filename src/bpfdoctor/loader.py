"""Turn a :class:`~bpfdoctor.spec.CollectionSpec` into maps and programs in the kernel.

The loader is where bpfdoctor meets the kernel, so it is written to fail informatively:

* a program that the verifier rejects is loaded a second time with a verifier log, and the
  buffer is sized from ``log_true_size`` until the whole log fits (or the configured maximum is
  reached, in which case the log is the tail and marked truncated);
* every error is typed and carries errno, stage, the object's names and the log;
* a :class:`Collection` owns every fd it creates (maps, programs, BTF, and the module BTF fds
  externs refer to); a failure half-way closes what was created, and ``close()`` (or the
  ``with`` block) releases the rest.  Nothing is pinned unless a pin path is given.

Externs (``__kconfig``, ``__ksym``, kfuncs) are resolved for the whole object before anything
is created, as libbpf does, so one missing strong extern fails every program of the object
with libbpf's errno; see :mod:`bpfdoctor.externs`.
"""

from __future__ import annotations

import errno as E
import os
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from . import btf as btfmod
from . import sys as bsys
from .asm import Instruction, decode, encode
from .asm.instruction import PSEUDO_MAP_FD, PSEUDO_MAP_VALUE
from .elf import kernel_object_name
from .errors import (
    BpfDoctorError,
    BTFLoadError,
    LoadError,
    MapCreateError,
    SyscallError,
    VerifierError,
)
from .externs import ExternResolution, module_btf_fd, resolve_externs, sanitize_btf
from .externs import kernel_version as _kernel_version
from .sections import SecFlags
from .spec import CollectionSpec, MapKind, MapSpec, PinType, ProgramSpec, extern_reference
from .sys import FD, AttachType, MapFlags, MapType, ProgType
from .verifier.summary import VerifierStats, parse_summary

LOG_LEVEL_1 = 1
LOG_LEVEL_2 = 2
LOG_STATS = 4
KERNEL_LOG_MAX = 0xFFFFFFFF >> 2  # the kernel refuses larger log buffers
KERNEL_LOG_MIN = 128


class AttachTargetError(LoadError):
    """The function or tracepoint a tracing program names does not exist in kernel BTF."""

    stage = "program"

    def __init__(self, message: str, *, target: str, **kw: object) -> None:
        self.target = target
        super().__init__(message, **kw)  # type: ignore[arg-type]


@dataclass
class LoadOptions:
    """How programs are loaded and how much of the verifier's story is kept."""

    log_level: int = 0
    """Log level for the first attempt.  0 (the default, like libbpf and cilium/ebpf) loads
    without a log, which is fastest; a failure is retried with ``retry_log_level``."""
    stats: bool = False
    """Ask the kernel for the statistics summary (log level 4) on the first attempt, so that
    successful loads report insns processed, states and verification time."""
    retry_log_level: int = LOG_LEVEL_1 | LOG_STATS
    initial_log_size: int = 1 << 20
    max_log_size: int = 256 << 20
    """Largest log buffer we allocate; beyond it the kernel keeps the tail of the log."""
    pin_path: str | None = None
    """Directory in bpffs where maps with ``pinning = LIBBPF_PIN_BY_NAME`` are pinned/reused.
    Unlike libbpf, which defaults to ``/sys/fs/bpf``, nothing is pinned without it."""
    kconfig: str | None = None
    """Extra kernel config (``CONFIG_X=y`` lines) for ``__kconfig`` externs, consulted before
    the system's config (libbpf's ``kconfig`` open option)."""
    all_maps: bool = False
    """Create every map of the object, not only those the loaded programs use.  libbpf does
    this, so a map that cannot be created (e.g. a stack map whose size the tool sets at run
    time) fails every program under libbpf; ``bpfdoctor check`` turns this on to give the same
    verdict as libbpf, and says which map it was."""


@dataclass
class LoadResult:
    """Verifier output of one program load."""

    log: list[str] = field(default_factory=list)
    truncated: bool = False
    stats: VerifierStats = field(default_factory=VerifierStats)


class Map:
    """A map created in (or opened from) the kernel."""

    def __init__(self, name: str, spec: MapSpec | None, fd: FD, *, pinned: str | None = None,
                 reused: bool = False):
        self.name = name
        self.spec = spec
        self.fd = fd
        self.pinned = pinned
        """Pin path, when the map is pinned."""
        self.reused = reused
        """True when an existing pinned map was opened instead of creating one."""

    def info(self) -> bsys.MapInfo:
        return bsys.map_info(self.fd)

    @property
    def id(self) -> int:
        return self.info().id

    def close(self) -> None:
        self.fd.close()

    def __repr__(self) -> str:
        return f"Map({self.name!r}, fd={self.fd.fd if not self.fd.closed else 'closed'})"


class Program:
    """A program the verifier accepted."""

    def __init__(self, name: str, spec: ProgramSpec, fd: FD, result: LoadResult):
        self.name = name
        self.spec = spec
        self.fd = fd
        self.log = result.log
        self.stats = result.stats
        self.core_relocations: list[object] = []
        """Outcome of each CO-RE relocation (see :mod:`bpfdoctor.btf.core`)."""

    def info(self) -> bsys.ProgInfo:
        return bsys.prog_info(self.fd)

    @property
    def id(self) -> int:
        return self.info().id

    def xlated(self) -> list[Instruction]:
        """The instructions as the kernel holds them after verification and rewriting."""
        return decode(bsys.prog_xlated(self.fd))

    def close(self) -> None:
        self.fd.close()

    def __repr__(self) -> str:
        return f"Program({self.name!r}, fd={self.fd.fd if not self.fd.closed else 'closed'})"


class Collection:
    """Maps and programs of one object, loaded.

    ``programs``: names of the programs to load (default: every program whose section does not
    start with ``?``).  Only the maps those programs use are created, so one program can be
    checked on its own.  Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, spec: CollectionSpec, *, programs: Iterable[str] | None = None,
                 options: LoadOptions | None = None) -> None:
        self.spec = spec
        self.options = options or LoadOptions()
        self.maps: dict[str, Map] = {}
        self.programs: dict[str, Program] = {}
        self.btf_fd: FD | None = None
        self.externs: ExternResolution | None = None
        """The values the object's externs got on this kernel (None without externs)."""
        self.warnings: list[str] = []
        if programs is None:
            names = [n for n, p in spec.programs.items() if p.autoload]
        else:
            names = list(programs)
            for n in names:
                if n not in spec.programs:
                    raise KeyError(f"no program named {n!r} in {spec.path} "
                                   f"(programs: {', '.join(spec.programs) or 'none'})")
        try:
            if spec.externs:
                self.externs = resolve_externs(spec, kconfig=self.options.kconfig)
                self.warnings.extend(self.externs.warnings)
            self._load_btf()
            for mname in self._maps_needed(names):
                self.maps[mname] = self._create_map(spec.maps[mname])
            for mname in list(self.maps):
                self._populate_map(spec.maps[mname], self.maps[mname])
            for n in names:
                self.programs[n] = load_program(spec.programs[n], self.maps, self.btf_fd,
                                                self.options, local_btf=spec.btf,
                                                externs=self.externs)
            self._populate_prog_arrays()
        except LoadError as e:
            self.close()
            e.collection_spec = spec
            if e.program_spec is None and len(names) == 1:
                e.program_spec = spec.programs[names[0]]
            raise
        except BaseException:
            self.close()
            raise

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        for p in self.programs.values():
            p.close()
        for m in self.maps.values():
            m.close()
        if self.btf_fd is not None:
            self.btf_fd.close()
        if self.externs is not None:
            self.externs.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps ------------------------------------------------------------------------------
    def _maps_needed(self, programs: list[str]) -> list[str]:
        if self.options.all_maps:
            return list(self.spec.maps)
        want: dict[str, None] = {}
        for n in programs:
            for m in self.spec.programs[n].maps_used:
                want.setdefault(m, None)
        # maps stored in map-in-map slots must exist too
        for m in list(want):
            for _, ref in self.spec.maps[m].contents:
                if ref in self.spec.maps:
                    want.setdefault(ref, None)
        return [m for m in self.spec.maps if m in want]

    def _load_btf(self) -> None:
        if self.spec.btf is None:
            return
        try:
            self.btf_fd = load_btf(sanitize_btf(self.spec.btf, self.spec.externs))
        except BTFLoadError as e:
            # BTF is optional for loading (libbpf's rule): go on without it, but say so.
            self.warnings.append(f"kernel refused the object's BTF ({e.errno_name}); loading "
                                 "without BTF, so logs have no source lines")
            self.btf_fd = None

    def _create_map(self, ms: MapSpec) -> Map:
        if ms.pinning == PinType.BY_NAME:
            if self.options.pin_path is None:
                self.warnings.append(f"map {ms.name} asks to be pinned by name; no pin path "
                                     "was given, so it is not pinned")
            else:
                path = os.path.join(self.options.pin_path, ms.name)
                if os.path.exists(path):
                    try:
                        fd = bsys.obj_get(path)
                    except SyscallError as e:
                        raise MapCreateError(f"cannot open pinned map {path}: {e}",
                                             errno=e.errno, map=ms.name) from None
                    check_pinned_compatible(ms, fd, path)
                    return Map(ms.name, ms, fd, pinned=path, reused=True)
                m = Map(ms.name, ms, create_map(ms, self.btf_fd), pinned=path)
                try:
                    bsys.obj_pin(m.fd, path)
                except SyscallError as e:
                    m.close()
                    raise MapCreateError(f"cannot pin map at {path}", errno=e.errno,
                                         map=ms.name) from None
                return m
        return Map(ms.name, ms, create_map(ms, self.btf_fd))

    def _populate_map(self, ms: MapSpec, m: Map) -> None:
        """Initial contents: global data, map-in-map slots; then freeze ``.rodata``.  A map
        reused from a pin keeps the contents it has."""
        if m.reused:
            return
        data = ms.data
        if ms.kind == MapKind.KCONFIG and self.externs is not None:
            data = self.externs.kconfig_data
        if ms.kind in (MapKind.DATA, MapKind.KCONFIG) and data is not None and any(data):
            _write_slot(m, 0, data, "write initial value")
        for slot, ref in ms.contents:
            if ref in self.maps:
                _write_slot(m, slot, _u32(self.maps[ref].fd.fd), f"store map {ref} in slot")
        if ms.freeze:
            try:
                bsys.map_freeze(m.fd)
            except SyscallError as e:
                raise MapCreateError(f"freeze failed: {e}", errno=e.errno, map=m.name) from None

    def _populate_prog_arrays(self) -> None:
        for name, m in self.maps.items():
            ms = self.spec.maps[name]
            if ms.type != MapType.PROG_ARRAY or m.reused:
                continue
            for slot, ref in ms.contents:
                if ref in self.programs:
                    _write_slot(m, slot, _u32(self.programs[ref].fd.fd),
                                f"store program {ref} in slot")


# --------------------------------------------------------------------------- building blocks


def _u32(v: int) -> bytes:
    return v.to_bytes(4, "little" if sys.byteorder == "little" else "big")


def _write_slot(m: Map, slot: int, value: bytes, what: str) -> None:
    try:
        bsys.map_update_elem(m.fd, _u32(slot), value)
    except SyscallError as e:
        raise MapCreateError(f"{what} {slot} failed: {e}", errno=e.errno, map=m.name) from None


def load_btf(spec: btfmod.Spec) -> FD:
    """BPF_BTF_LOAD the object's BTF; on failure retry with a log for the error."""
    raw = btfmod.marshal(spec)
    try:
        return bsys.btf_load(raw)
    except SyscallError as first:
        try:
            fd = bsys.btf_load(raw, log_level=1, log_size=1 << 20)
        except SyscallError as e:
            log = getattr(e, "log", "") or ""
            raise BTFLoadError("kernel refused the object's BTF", errno=first.errno,
                               log=log.splitlines()) from None
        return fd


def create_map(ms: MapSpec, btf_fd: FD | None, *, inner_fd: FD | None = None) -> FD:
    """BPF_MAP_CREATE for one spec (its inner template is created and closed here)."""
    max_entries = effective_max_entries(ms)
    # numa_node counts only when the object sets BPF_F_NUMA_NODE itself: libbpf passes the
    # field through and leaves the flags alone, and the kernel ignores it without the flag
    # (bsys.map_create would add the flag for any numa_node given).
    flags = ms.flags
    numa = (ms.numa_node or 0) if flags & MapFlags.NUMA_NODE else None
    template: FD | None = None
    try:
        if ms.inner is not None and inner_fd is None:
            template = create_map(ms.inner, btf_fd)
            inner_fd = template
        use_btf = btf_fd is not None and (ms.key_type_id or ms.value_type_id)
        kw = dict(flags=flags, name=ms.kernel_name or ms.name[:15],
                  inner_map_fd=inner_fd, map_extra=ms.map_extra, numa_node=numa)
        try:
            return bsys.map_create(
                ms.type, ms.key_size, ms.value_size, max_entries,
                btf_fd=btf_fd if use_btf else None,
                btf_key_type_id=ms.key_type_id if use_btf else 0,
                btf_value_type_id=ms.value_type_id if use_btf else 0, **kw)
        except SyscallError as e:
            if not use_btf:
                raise MapCreateError(_map_create_message(ms, e), errno=e.errno,
                                     map=ms.name) from None
        # like libbpf: a kernel that refuses the BTF description may still take the map
        try:
            return bsys.map_create(ms.type, ms.key_size, ms.value_size, max_entries, **kw)
        except SyscallError as e:
            raise MapCreateError(_map_create_message(ms, e), errno=e.errno,
                                 map=ms.name) from None
    finally:
        if template is not None:
            template.close()


def _map_create_message(ms: MapSpec, e: SyscallError) -> str:
    try:
        tname = MapType(ms.type).name.lower()
    except ValueError:
        tname = f"type {ms.type}"
    return (f"cannot create {tname} map (key {ms.key_size} B, value {ms.value_size} B, "
            f"{ms.max_entries} entries, flags {ms.flags:#x})")


def effective_max_entries(ms: MapSpec) -> int:
    """``max_entries`` as libbpf creates the map: perf event arrays of size 0 get one slot
    per possible CPU, ring buffer sizes are rounded up to a power-of-two number of pages."""
    if ms.type == MapType.PERF_EVENT_ARRAY and ms.max_entries == 0:
        return bsys.possible_cpus()
    if ms.type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        return ringbuf_size(ms.max_entries)
    return ms.max_entries


def ringbuf_size(n: int) -> int:
    """libbpf's ``adjust_ringbuf_sz``: the smallest power-of-two multiple of the page size
    above ``n`` unless ``n`` already is one.  0 stays 0 (and the kernel refuses it), as does a
    size too close to 2**32 to round."""
    page = os.sysconf("SC_PAGE_SIZE")
    if n == 0 or (n % page == 0 and (n // page) & (n // page - 1) == 0):
        return n
    mul = 1
    while mul * page <= 0xFFFFFFFF:
        if mul * page > n:
            return mul * page
        mul <<= 1
    return n


def check_pinned_compatible(ms: MapSpec, fd: FD, path: str) -> None:
    """A pinned map is reused only if it matches the spec; a mismatch is reported, never
    'fixed' by replacing the pin."""
    info = bsys.map_info(fd)
    diffs = []
    for what, have, want in (("type", info.type, ms.type), ("key size", info.key_size,
                             ms.key_size), ("value size", info.value_size, ms.value_size),
                             ("max entries", info.max_entries, effective_max_entries(ms)),
                             ("flags", info.map_flags, ms.flags),
                             ("map_extra", info.map_extra, ms.map_extra)):
        if have != want:
            diffs.append(f"{what} {have} (pinned) vs {want} (object)")
    if diffs:
        fd.close()
        raise MapCreateError(f"pinned map at {path} does not match the object: "
                             + "; ".join(diffs), errno=E.EINVAL, map=ms.name)


def kernel_version_code() -> int:
    """``KERNEL_VERSION(a, b, c)`` of the running kernel (what libbpf passes as kern_version
    when the object has no 'version' section): libbpf's reading, distribution quirks
    included (:func:`bpfdoctor.externs.kernel_version`), else whatever numbers the release
    string starts with."""
    v = _kernel_version()
    if v:
        return v
    rel = platform.release()
    parts = []
    for piece in rel.split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
        if len(digits) != len(piece):
            break
    while len(parts) < 3:
        parts.append(0)
    a, b, c = parts
    return (a << 16) + (b << 8) + min(c, 255)


def resolve_attach_btf(ps: ProgramSpec) -> tuple[int, FD | None]:
    """Find the kernel BTF id a tracing/LSM/iter program attaches to (libbpf's naming:
    ``btf_trace_<tp>`` typedefs for tp_btf, ``bpf_lsm_<hook>`` and ``bpf_iter_<name>``
    functions).  Returns (type id, fd of the module BTF object or None for vmlinux)."""
    name = ps.attach_to
    at = ps.attach_type
    if at == AttachType.TRACE_RAW_TP:
        want, kind = "btf_trace_" + name, btfmod.Typedef
    elif at in (AttachType.LSM_MAC, AttachType.LSM_CGROUP):
        want, kind = "bpf_lsm_" + name, btfmod.Func
    elif at == AttachType.TRACE_ITER:
        want, kind = "bpf_iter_" + name, btfmod.Func
    else:
        want, kind = name, btfmod.Func
    if not name:
        raise AttachTargetError(f"section '{ps.section}' names no attach target (expected "
                                f"'{ps.section}/<function>')", target="", errno=E.EINVAL,
                                program=ps.name, section=ps.section)
    try:
        vm = btfmod.kernel.vmlinux()
    except (OSError, BpfDoctorError) as e:
        raise AttachTargetError(f"cannot read kernel BTF to find '{name}': {e}", target=name,
                                errno=E.ESRCH, program=ps.name, section=ps.section) from None
    ids = vm.find(want, kind)
    if ids:
        return ids[0], None
    for mod in btfmod.kernel.modules():
        try:
            mspec = btfmod.kernel.module(mod)
        except (OSError, BpfDoctorError):
            continue
        ids = [i for i in mspec.find(want, kind) if i >= len(vm.types)]
        if ids:
            try:
                return ids[0], module_btf_fd(mod)
            except FileNotFoundError:
                raise AttachTargetError(f"BTF object of module {mod} not found", target=name,
                                        errno=E.ESRCH, program=ps.name,
                                        section=ps.section) from None
    raise AttachTargetError(
        f"attach target '{name}' not found in kernel BTF (looked for {kind.__name__.lower()} "
        f"'{want}' in vmlinux and modules)", target=name, errno=E.ESRCH, program=ps.name,
        section=ps.section)


def prepare_instructions(ps: ProgramSpec, maps: dict[str, Map],
                         externs: ExternResolution | None = None) -> list[Instruction]:
    """Copy of the program with map references replaced by map fds and extern references
    by what they resolved to (``externs``; required when the program refers to any)."""
    out = []
    for ins in ps.instructions:
        ext = extern_reference(ins)
        if ext is not None:
            if externs is None or ext not in externs.values:
                raise LoadError(f"extern '{ext}' used by the program was not resolved "
                                "(load it through a Collection, which resolves externs)",
                                program=ps.name, section=ps.section)
            out.append(externs.instruction(ins))
            continue
        if ins.is_map_load and ins.reference is not None:
            m = maps.get(ins.reference)
            if m is None:
                raise LoadError(f"map '{ins.reference}' used by the program was not created",
                                program=ps.name, map=ins.reference)
            if ins.src == PSEUDO_MAP_VALUE:
                ins = ins.with_imm64(m.fd.fd, ins.imm_hi)
            else:
                ins = replace(ins, src=PSEUDO_MAP_FD).with_imm64(m.fd.fd, ins.imm_hi)
        out.append(ins)
    return out


def load_program(ps: ProgramSpec, maps: dict[str, Map], btf_fd: FD | None,
                 options: LoadOptions | None = None, *,
                 local_btf: btfmod.Spec | None = None,
                 externs: ExternResolution | None = None) -> Program:
    """BPF_PROG_LOAD one program spec, applying the log policy of ``options``.

    ``local_btf`` is the object's BTF, needed to apply CO-RE relocations against the running
    kernel's BTF; the outcome of each relocation is kept on the Program (and on the
    VerifierError) as ``core_relocations``, so a failure can name the field this kernel
    lacks.  ``externs`` holds the values of the object's externs
    (:func:`bpfdoctor.externs.resolve_externs`); it also supplies ``fd_array`` when kfuncs
    live in modules."""
    opts = options or LoadOptions()
    prepared = prepare_instructions(ps, maps, externs)
    core_results: list[object] = []
    if ps.core_relos:
        from .btf import core

        if local_btf is None:
            raise LoadError("program has CO-RE relocations but the object has no BTF",
                            program=ps.name, section=ps.section)
        try:
            prepared, core_results = core.relocate(prepared, ps.core_relos, local_btf,
                                                   core.kernel_targets())
        except core.CoreRelocationError as e:
            e.program, e.section = ps.name, ps.section
            raise
    insns = encode(prepared)
    attrs: dict[str, object] = dict(
        prog_type=ps.type, insns=insns, license=ps.license or "",
        name=kernel_object_name(ps.name), kern_version=ps.kernel_version or kernel_version_code(),
        prog_flags=ps.flags, expected_attach_type=int(ps.attach_type or 0))
    if externs is not None and externs.fd_array:
        attrs["fd_array"] = externs.fd_array  # as libbpf: for every program of the object
    attach_obj: FD | None = None
    try:
        if ps.section_match is not None and ps.section_match.definition.flags & \
                SecFlags.ATTACH_BTF and ps.type != ProgType.EXT:
            btf_id, attach_obj = resolve_attach_btf(ps)
            attrs["attach_btf_id"] = btf_id
            if attach_obj is not None:
                attrs["attach_btf_obj_fd"] = attach_obj
        if btf_fd is not None and ps.func_info:
            attrs.update(
                btf_fd=btf_fd,
                func_info=btfmod.marshal_func_info([(r.insn, r.type_id) for r in ps.func_info]),
                func_info_rec_size=8,
                line_info=btfmod.marshal_line_info(
                    [(r.insn, r.file_name_off, r.line_off, (r.line << 10) | (r.column & 0x3FF))
                     for r in ps.line_info]),
                line_info_rec_size=16)
        try:
            fd, result = _load_with_log_policy(ps, attrs, opts)
        except LoadError as e:
            e.core_relocations = core_results
            e.program_spec = ps
            raise
    finally:
        if attach_obj is not None:
            attach_obj.close()
    prog = Program(ps.name, ps, fd, result)
    prog.core_relocations = core_results
    return prog


def _load_with_log_policy(ps: ProgramSpec, attrs: dict[str, object],
                          opts: LoadOptions) -> tuple[FD, LoadResult]:
    """Load; on failure load again with a log, sized from ``log_true_size`` until it fits.

    The errno reported is that of the last attempt whose log fitted (libbpf reports the same).
    If even the largest buffer is too small, the kernel's rotating log keeps the tail and
    answers ENOSPC; then the errno comes from a load without a log."""

    logs: list[str] = []

    def attempt(level: int, size: int) -> FD:
        logs.clear()
        return bsys.prog_load(**attrs, log_level=level, log_size=size,  # type: ignore[arg-type]
                              log_out=logs)

    level = opts.log_level | (LOG_STATS if opts.stats else 0)
    if level:
        size = max(opts.initial_log_size if level & (LOG_LEVEL_1 | LOG_LEVEL_2) else 64 << 10,
                   KERNEL_LOG_MIN)
    else:
        size = 0
    try:
        fd = attempt(level, size)
        return fd, _result_from("".join(logs))
    except SyscallError as e:
        first = e

    if not level & (LOG_LEVEL_1 | LOG_LEVEL_2):
        level = opts.retry_log_level
        size = max(opts.initial_log_size, KERNEL_LOG_MIN)
    cap = max(min(opts.max_log_size, KERNEL_LOG_MAX), KERNEL_LOG_MIN)
    size = min(size, cap)
    last: SyscallError = first
    truncated = False
    while True:
        try:
            fd = attempt(level, size)
            # accepted on retry: the first failure was transient
            return fd, _result_from("".join(logs))
        except SyscallError as e:
            last = e
        need = getattr(last, "log_true_size", 0) or 0
        if last.errno != E.ENOSPC or need <= size:
            break
        if size >= cap:
            truncated = True
            break
        size = min(cap, need)
    errno = last.errno
    if truncated:
        errno = first.errno if not (first.errno == E.ENOSPC and opts.log_level | opts.stats) \
            else _errno_without_log(attempt, first.errno)
    lines = (getattr(last, "log", "") or "").splitlines()
    raise VerifierError(_verifier_summary(ps, errno, lines), errno=errno, log=lines,
                        program=ps.name, section=ps.section, truncated=truncated)


def _errno_without_log(attempt, default: int) -> int:  # type: ignore[no-untyped-def]
    try:
        fd = attempt(0, 0)
    except SyscallError as e:
        return e.errno
    fd.close()
    return default


def _result_from(log: str | None) -> LoadResult:
    lines = (log or "").splitlines()
    return LoadResult(log=lines, stats=parse_summary(lines))


def _verifier_summary(ps: ProgramSpec, errno: int, lines: list[str]) -> str:
    if ps.type == ProgType.UNSPEC:
        return (f"section '{ps.section}' names no program type, so the kernel cannot load "
                f"'{ps.name}'")
    if errno in (E.EACCES, E.EINVAL) and lines:
        return "the verifier rejected the program"
    if errno == E.EPERM:
        return "the kernel refused to load the program (operation not permitted)"
    return "the kernel refused to load the program"
