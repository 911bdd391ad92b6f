"""The libbpf-tools corpus harness: bpfdoctor against libbpf on real-world objects.

The corpus is every BPF object embedded in Debian's ``libbpf-tools`` binaries (extracted by
:mod:`bpfdoctor.corpus` into ``build/corpus``).  For each object the libbpf reference loader
(:mod:`support.reference`) and ``bpfdoctor.check.check_object`` load every program on its
own; :func:`compare_object` pairs their answers program by program and, when asked, compares
the instructions the kernel ended up holding for programs both loaded.

Used by ``tests/kernel/test_corpus.py`` and by ``benchmarks/corpus.py``; nothing here
asserts, so a caller can report every difference instead of stopping at the first.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bpfdoctor.asm import Instruction, InstructionError, decode, format_instruction
from bpfdoctor.asm.opcodes import PseudoSrc
from bpfdoctor.corpus import extract_libbpf_tools, libbpf_tools_binaries
from bpfdoctor.errors import (
    LoadError,
    ObjectError,
    VerifierError,
    errno_name,
    verifier_error_line,
)

from .build import BUILD
from .reference import read_xlated, run_reference

CORPUS_DIR = BUILD / "corpus"


def corpus_objects(*, distinct: bool = False) -> list[Path]:
    """The corpus objects, extracted on first use (see :func:`extract_libbpf_tools`).

    By default one object per installed tool, 61 for libbpf-tools 0.26 (391 programs), the
    accounting the issue uses.  ``distinct=True`` leaves out the tools that are symlinks to
    another tool's binary (their objects are byte-identical copies): 52 objects.
    """
    objs = extract_libbpf_tools(CORPUS_DIR)
    if not distinct:
        return objs
    real = {b.name for b in libbpf_tools_binaries(aliases=False)}
    return [p for p in objs if p.name.split(".", 1)[0] in real]


# ---- comparing xlated instructions ------------------------------------------------------


@dataclass(frozen=True)
class XlatedDiff:
    """Where two xlated programs first differ.

    ``index`` counts logical instructions (an ld_imm64 is one), ``slot`` is the kernel's
    instruction number; ``libbpf``/``ours`` are the two instructions as the kernel prints
    them, or ``None`` where that program has already ended.  Lengths are in slots.
    """

    index: int
    slot: int
    libbpf: str | None
    ours: str | None
    libbpf_len: int
    ours_len: int

    def __str__(self) -> str:
        return (f"insn {self.index} (slot {self.slot}): libbpf {self.libbpf or '<end>'} | "
                f"ours {self.ours or '<end>'} (lengths {self.libbpf_len}/{self.ours_len})")


_MAP_FD = int(PseudoSrc.MAP_FD)
_MAP_VALUE = int(PseudoSrc.MAP_VALUE)


def xlated_key(ins: Instruction) -> tuple[int, int, int, int, int | None]:
    """What must be equal in two loads of one program.

    Everything is compared except the map ids that the kernel puts in place of map pointers
    when it dumps a program: the low half of an ld_imm64 of a map (``src`` MAP_FD) or of a
    map value (``src`` MAP_VALUE, whose high half, the offset into the value, still counts).
    Each loader creates its own maps, so those ids always differ.
    """
    imm: int | None = ins.imm
    if ins.is_ld_imm64 and ins.src == _MAP_FD:
        imm = None
    elif ins.is_ld_imm64 and ins.src == _MAP_VALUE:
        imm = ins.imm_hi
    return ins.opcode, ins.dst, ins.src, ins.off, imm


def _decode(raw: bytes) -> list[Instruction]:
    try:
        return decode(raw)
    except InstructionError:
        # A torn ld_imm64 at the end: compare slot by slot as plain 8-byte instructions.
        return [Instruction(opcode=raw[i], dst=raw[i + 1] & 0xF, src=raw[i + 1] >> 4,
                            off=int.from_bytes(raw[i + 2:i + 4], "little", signed=True),
                            imm=int.from_bytes(raw[i + 4:i + 8], "little", signed=True))
                for i in range(0, len(raw) - 7, 8)]


def compare_xlated(libbpf: bytes, ours: bytes) -> XlatedDiff | None:
    """``None`` when the two xlated programs are the same (map ids aside), otherwise the
    first instruction where they differ."""
    a, b = _decode(libbpf), _decode(ours)
    slot = 0
    for index in range(max(len(a), len(b))):
        x = a[index] if index < len(a) else None
        y = b[index] if index < len(b) else None
        if x is None or y is None or xlated_key(x) != xlated_key(y):
            return XlatedDiff(
                index=index, slot=slot,
                libbpf=format_instruction(x) if x is not None else None,
                ours=format_instruction(y) if y is not None else None,
                libbpf_len=len(libbpf) // 8, ours_len=len(ours) // 8)
        slot += x.slots
    return None


# ---- one program, both loaders ----------------------------------------------------------

# What stopped our load of a program, in the order the steps run.
STAGE_OBJECT = "object"        # ObjectError reading the file: before any syscall
STAGE_BTF = "btf"              # the kernel refused the object's BTF
STAGE_MAP = "map"              # creating, filling or freezing a map failed
STAGE_PREPARE = "prepare"      # the program was refused before BPF_PROG_LOAD (e.g. no such
                               # attach target in kernel BTF)
STAGE_KERNEL = "kernel"        # BPF_PROG_LOAD ran and the kernel refused the program
STAGE_EXCEPTION = "exception"  # anything that is not a bpfdoctor error: a crash
STAGES = {
    STAGE_OBJECT: "ObjectError while reading the file, before any syscall",
    STAGE_BTF: "the kernel refused the object's BTF",
    STAGE_MAP: "map creation/population failed",
    STAGE_PREPARE: "refused before BPF_PROG_LOAD (attach target, CO-RE, externs ...)",
    STAGE_KERNEL: "the kernel's verdict on BPF_PROG_LOAD",
    STAGE_EXCEPTION: "crash: an exception that is not a bpfdoctor error",
}

# Mismatch categories, named for the report.
MISSING = "missing-program"
OURS_REJECTED = "kernel-rejects-ours"
OURS_ACCEPTED = "ours-loads-libbpf-fails"
ERRNO_DIFFERS = "errno-differs"
LIBBPF_OPEN = "libbpf-cannot-open"


@dataclass
class ProgramOutcome:
    """One program's verdicts from libbpf and from bpfdoctor, and how they compare.

    Verdicts are ``"ok"``, ``"fail"``, ``"missing"`` (that loader does not know the
    program) or, for ``program`` ``None``, libbpf's ``"error"`` for the whole object.
    ``xlated`` is ``"same"``, an :class:`XlatedDiff`, a string saying why no comparison was
    possible, or ``None`` when not compared (not asked for, or not loaded by both).
    ``libbpf_message`` is libbpf's reason for a failure (see :func:`libbpf_reason`).
    """

    object: str
    program: str | None
    section: str | None
    libbpf_verdict: str
    libbpf_errno: str | None
    ours_verdict: str
    ours_errno: str | None = None
    ours_stage: str | None = None
    ours_error: str | None = None
    ours_message: str | None = None
    xlated: XlatedDiff | str | None = None
    libbpf_message: str | None = None

    @property
    def agrees(self) -> bool:
        """Same verdict and same errno (the xlated comparison is separate)."""
        return (self.libbpf_verdict, self.libbpf_errno) == (self.ours_verdict, self.ours_errno)

    @property
    def xlated_same(self) -> bool | None:
        """``True``/``False`` for a program both loaded and compared, else ``None``."""
        if self.xlated is None:
            return None
        return self.xlated == "same"

    @property
    def mismatch(self) -> str | None:
        """The category of the disagreement, or ``None`` if both answer the same.

        Failures of ours that never reached the kernel's verifier are named for the step
        that failed (``object:RelocationError``, ``map:MapCreateError``,
        ``exception:KeyError``), since that, not the verdict, is what needs fixing.
        """
        if self.agrees:
            return None
        if self.program is None:
            return LIBBPF_OPEN
        if "missing" in (self.libbpf_verdict, self.ours_verdict):
            return MISSING
        if self.ours_stage not in (None, STAGE_KERNEL):
            return f"{self.ours_stage}:{self.ours_error}"
        if self.ours_verdict == "fail" and self.libbpf_verdict == "ok":
            return OURS_REJECTED
        if self.ours_verdict == "ok":
            return OURS_ACCEPTED
        return ERRNO_DIFFERS

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["xlated"] = str(self.xlated) if isinstance(self.xlated, XlatedDiff) else self.xlated
        d["agrees"] = self.agrees
        d["mismatch"] = self.mismatch
        return d


@dataclass
class ObjectOutcome:
    path: str
    programs: list[ProgramOutcome] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def _stage_of(err: BaseException) -> tuple[str, str]:
    """(stage, class name) of what stopped our load; see the ``STAGE_*`` constants."""
    cls = type(err).__name__
    if isinstance(err, VerifierError):
        return STAGE_KERNEL, cls
    if isinstance(err, LoadError):
        return (STAGE_PREPARE if err.stage == "program" else err.stage), cls
    if isinstance(err, ObjectError):
        return STAGE_OBJECT, cls
    return STAGE_EXCEPTION, cls


@dataclass
class _Ours:
    """bpfdoctor's answer for one program."""

    verdict: str
    errno: str | None = None
    stage: str | None = None
    error: str | None = None
    message: str | None = None


def _failed(err: BaseException, message: str | None = None) -> _Ours:
    stage, cls = _stage_of(err)
    errno = getattr(err, "errno", None) if isinstance(err, LoadError) else None
    if message is None:
        message = str(err) if stage != STAGE_EXCEPTION else _last_frame(err)
    return _Ours("fail", errno_name(errno), stage, cls, message)


def _last_frame(err: BaseException) -> str:
    """An exception's text and where it was raised: a crash must be findable from the
    report alone."""
    tb = traceback.extract_tb(err.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    return f"{type(err).__name__}: {err}{where}"


def check_ours(obj: str | os.PathLike[str]) -> dict[str, _Ours]:
    """bpfdoctor's verdict for every program of ``obj``, via ``check_object``.

    If ``check_object`` raises (a crash, not a verdict), each program is checked again on its
    own so that one crashing program does not hide the others' verdicts.  An object-level
    error is reported under the key ``""``.
    """
    from bpfdoctor.check import check_object
    from bpfdoctor.elf import load_collection_spec
    from bpfdoctor.loader import LoadOptions

    try:
        res = check_object(obj, options=LoadOptions(all_maps=True))
    except Exception as e:  # a crash is a result to report here
        try:
            names = list(load_collection_spec(obj).programs)
        except Exception:
            return {"": _failed(e)}
        out = {}
        for name in names:
            try:
                one = check_object(obj, programs=[name], options=LoadOptions(all_maps=True))
            except Exception as e2:
                out[name] = _failed(e2)
                continue
            out.update(_from_result(one))
        return out
    return _from_result(res)


def _from_result(res: Any) -> dict[str, _Ours]:
    if res.error is not None:
        return {"": _failed(res.error)}
    out = {}
    for p in res.programs:
        if p.verdict == "ok":
            out[p.name] = _Ours("ok")
        elif p.error is not None:
            out[p.name] = _failed(p.error, p.message)
        else:
            out[p.name] = _Ours(p.verdict, p.errno_name, message=p.message)
    return out


def our_xlated(obj: str | os.PathLike[str], program: str) -> bytes:
    """Load ``program`` of ``obj`` on its own with bpfdoctor's loader, as ``check_object``
    does, and return the kernel's xlated instructions before unloading it."""
    from bpfdoctor import sys as bsys
    from bpfdoctor.elf import load_collection_spec
    from bpfdoctor.loader import Collection, LoadOptions

    spec = load_collection_spec(obj)
    with Collection(spec, programs=[program], options=LoadOptions(all_maps=True)) as coll:
        return bsys.prog_xlated(coll.programs[program].fd)


def compare_object(obj: str | os.PathLike[str], *, xlated: bool = False,
                   workdir: str | os.PathLike[str] | None = None,
                   reference: list[dict[str, Any]] | None = None) -> ObjectOutcome:
    """Both loaders' answers for every program of ``obj``, paired by program name.

    With ``xlated`` (which needs ``workdir``, where libbpf's xlated files go), programs both
    load are loaded once more by bpfdoctor to read back the kernel's instructions.
    ``reference`` is a previous :func:`run_reference` answer to reuse.
    """
    path = os.fspath(obj)
    if xlated and workdir is None and reference is None:
        raise ValueError("xlated comparison needs a workdir for libbpf's xlated files")
    if reference is None:
        xdir = Path(workdir) / Path(path).name if xlated and workdir is not None else None
        reference = run_reference(path, log=True, xlated_dir=xdir)
    ours = check_ours(path)
    out = ObjectOutcome(path)
    if len(reference) == 1 and reference[0]["program"] is None:
        out.programs.append(_libbpf_open_error(path, reference[0], ours))
        return out
    obj_error = ours.get("")
    seen = set()
    for row in reference:
        name = row["program"]
        seen.add(name)
        mine = obj_error or ours.get(name) or _Ours("missing")
        po = ProgramOutcome(path, name, row["section"], row["verdict"], row["errno"],
                            mine.verdict, mine.errno, mine.stage, mine.error, mine.message)
        if row["verdict"] != "ok":
            po.libbpf_message = libbpf_reason(row.get("log"))
        if xlated and row["verdict"] == "ok" and mine.verdict == "ok":
            po.xlated = _xlated_outcome(path, row)
        out.programs.append(po)
    for name, mine in ours.items():
        if name and name not in seen:
            out.programs.append(ProgramOutcome(path, name, None, "missing", None, mine.verdict,
                                               mine.errno, mine.stage, mine.error,
                                               mine.message))
    return out


def _libbpf_open_error(path: str, row: dict[str, Any], ours: dict[str, _Ours]) -> ProgramOutcome:
    obj_error = ours.get("")
    if obj_error is not None:
        po = ProgramOutcome(path, None, None, "error", row["errno"], "error", None,
                            obj_error.stage, obj_error.error, obj_error.message)
    else:
        verdict = "ok" if all(o.verdict == "ok" for o in ours.values()) else "fail"
        po = ProgramOutcome(path, None, None, "error", row["errno"], verdict)
    po.libbpf_message = libbpf_reason(row.get("log"))
    return po


_LOG_BEGIN = "-- BEGIN PROG LOAD LOG --"
_LOG_END = "-- END PROG LOAD LOG --"


def libbpf_reason(log: str | None) -> str | None:
    """The one line of libbpf's output that says why a program failed.

    If the kernel's verifier log is there, its own error line; otherwise libbpf's first
    message, which names the step (``map 'stackmap': failed to create: ...``, ``prog 'x':
    failed to find kernel BTF type ID of 'y'``), not the generic "failed to load object"
    that always follows.
    """
    if not log:
        return None
    if _LOG_BEGIN in log:
        body = log.split(_LOG_BEGIN, 1)[1].split(_LOG_END, 1)[0]
        line = verifier_error_line(body.splitlines())
        if line:
            return line
    for line in log.splitlines():
        text = line.removeprefix("libbpf: ").strip()
        if line.startswith("libbpf: ") and not text.startswith("failed to load object"):
            return text
    return None


def _xlated_outcome(path: str, row: dict[str, Any]) -> XlatedDiff | str:
    theirs = read_xlated(row)
    if theirs is None:
        return "libbpf wrote no xlated file"
    try:
        mine = our_xlated(path, row["program"])
    except Exception as e:  # reported, not raised
        return f"our second load failed: {_last_frame(e)}"
    return compare_xlated(theirs, mine) or "same"


def compare_corpus(objects: Iterable[Path], *, xlated: bool = False,
                   workdir: str | os.PathLike[str] | None = None,
                   progress: Callable[[ObjectOutcome], None] | None = None
                   ) -> list[ObjectOutcome]:
    """:func:`compare_object` over many objects, calling ``progress`` after each."""
    results = []
    for obj in objects:
        res = compare_object(obj, xlated=xlated, workdir=workdir)
        if progress is not None:
            progress(res)
        results.append(res)
    return results
