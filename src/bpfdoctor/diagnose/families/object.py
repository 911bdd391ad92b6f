"""Causes in the object file, found before any system call: not a BPF object, the wrong byte
order, corrupt or missing BTF, a section name no program type answers to.  The evidence is the
typed error the ELF reader raised (or, for an unknown section, the program's spec): these
matchers never look at file names."""

from __future__ import annotations

from ...errors import (
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
from ...sections import suggest_section
from ...sys import ProgType
from ..catalogue import register
from ..model import Cause, Evidence, Match


def _object_error(*types: type[ObjectError]):  # type: ignore[no-untyped-def]
    def matcher(ev: Evidence) -> Match | None:
        e = ev.error
        if not isinstance(e, types):
            return None
        details = {"error": e.kind, "section": e.section, "symbol": e.symbol}
        if isinstance(e, RelocationError):
            details.update(program=e.program, insn=e.insn)
        return Match(e.message, insn=getattr(e, "insn", None), evidence=[str(e)],
                     details=details)
    return matcher


def _section_unknown(ev: Evidence) -> Match | None:
    ps = ev.program
    if ps is None or ps.type != ProgType.UNSPEC or ps.section_match is not None:
        return None
    near = suggest_section(ps.section)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    return Match(f"SEC(\"{ps.section}\") of {ps.name} is not a section name libbpf knows, "
                 f"so it has no program type and cannot be loaded{hint}", insn=None,
                 evidence=[f"section {ps.section!r} matches no entry of libbpf's section "
                           "table"], details={"section": ps.section, "did_you_mean": near})


register(Cause(
    code="BD001", slug="elf-not-bpf", family="object", priority=1,
    title="Not a BPF object",
    explanation=("The file is not an ELF object for the BPF machine: a source file or "
                 "script, an executable, or an object compiled for the host CPU (clang "
                 "without -target bpf produces x86-64 or arm64 code, which the kernel's BPF "
                 "loader cannot use)."),
    fix=("Compile the program for BPF, with debug info for BTF:\n"
         "  clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -c prog.bpf.c -o prog.bpf.o"),
    matcher=_object_error(NotELFError, WrongMachineError)))

register(Cause(
    code="BD002", slug="elf-endianness", family="object", priority=1,
    title="Object built for the other byte order",
    explanation=("BPF objects are little-endian (bpfel) or big-endian (bpfeb); instructions, "
                 "BTF and map definitions are read in the object's byte order and the kernel "
                 "only runs its own. An object for s390x loaded on x86-64 (or the reverse) "
                 "cannot work."),
    fix=("Build for the target's byte order: -target bpf picks the host's; use -target "
         "bpfel for x86-64/arm64 and -target bpfeb for s390x."),
    matcher=_object_error(EndiannessError)))

register(Cause(
    code="BD003", slug="elf-corrupt", family="object", priority=1,
    title="Object file corrupt or inconsistent",
    explanation=("A header, section, BTF table or relocation of the object is truncated or "
                 "inconsistent: the file was cut short (an interrupted copy or download), "
                 "edited by a tool that does not understand BPF, or a relocation names a map "
                 "or symbol that is not defined in the object."),
    fix=("Rebuild the object from source and copy it again; for an undefined map or symbol, "
         "define it in this object (or link the objects with `bpftool gen object`)."),
    matcher=_object_error(TruncatedError, BTFError, RelocationError, MapSpecError)))

register(Cause(
    code="BD004", slug="section-unknown", family="object", priority=1,
    title="Section name that names no program type",
    explanation=("The loader learns a program's type and attach point from its SEC() name, "
                 "using libbpf's table of section names (kprobe/, tracepoint/, xdp, ...). A "
                 "name the table does not know, often a typo, leaves the program without a "
                 "type: libbpf refuses it with \"missing BPF prog type, check ELF section "
                 "name\"."),
    fix=("Use a section name from libbpf's table, e.g.:\n"
         "  SEC(\"tracepoint/syscalls/sys_enter_openat\")"),
    matcher=_section_unknown))

register(Cause(
    code="BD005", slug="btf-missing", family="object", priority=1,
    title="The object carries no BTF it needs",
    explanation=("BTF-defined maps (SEC(\".maps\")), CO-RE relocations, global functions and "
                 "source-line reporting need the object's BTF, which clang emits only with "
                 "-g; strip (llvm-strip without -g, or --strip-all) removes it again."),
    fix=("Build with -g and keep the BTF when stripping:\n"
         "  clang -g -O2 -target bpf -c prog.bpf.c -o prog.bpf.o\n"
         "  llvm-strip -g prog.bpf.o   # drops DWARF, keeps .BTF"),
    matcher=_object_error(MissingBTFError)))

register(Cause(
    code="BD006", slug="elf-stripped", family="object", priority=1,
    title="Object stripped of its symbols",
    explanation=("`strip` or `llvm-strip --strip-all` removed the symbol table, and with it "
                 "the names of programs, maps and subprograms and the relocations' targets: a "
                 "loader can no longer tell what the object contains."),
    fix=("Strip only debug info, which keeps symbols and BTF:\n"
         "  llvm-strip -g prog.bpf.o"),
    matcher=_object_error(StrippedError)))
