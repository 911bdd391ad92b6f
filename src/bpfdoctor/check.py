"""``bpfdoctor check``'s engine: load every program of an object on its own and record, per
program, the verdict, errno, the verifier's error line and the cost numbers (veristat's
columns).  The CLI and the reports only format what this returns."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .elf import load_collection_spec
from .errors import LoadError, ObjectError, errno_name
from .loader import Collection, LoadOptions
from .spec import CollectionSpec, ProgramSpec
from .sys import AttachType, ProgType
from .verifier.summary import VerifierStats


@dataclass
class ProgramResult:
    name: str
    section: str
    type: str
    attach: str | None
    verdict: str  # "ok" | "fail" | "skipped"
    errno: int | None = None
    message: str | None = None
    stats: VerifierStats = field(default_factory=VerifierStats)
    xlated_bytes: int | None = None
    verified_insns: int | None = None
    log: list[str] = field(default_factory=list)
    truncated: bool = False
    error: LoadError | None = None
    diagnosis: Any = None

    @property
    def errno_name(self) -> str | None:
        return errno_name(self.errno)


@dataclass
class ObjectResult:
    path: str
    error: ObjectError | None = None
    programs: list[ProgramResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p.verdict == "fail" for p in self.programs)

    @property
    def diagnosis(self) -> Any:
        """The :class:`~bpfdoctor.diagnose.Diagnosis` of the object error (``None`` without
        an error, or for errors no cause covers: a missing file, an unknown program name)."""
        if self.error is None:
            return None
        from .diagnose.engine import diagnose_object_error

        return diagnose_object_error(self.error)


def type_name(t: int) -> str:
    try:
        return ProgType(t).name.lower()
    except ValueError:
        return f"type_{t}"


def attach_name(t: int | None) -> str | None:
    if t is None:
        return None
    try:
        return AttachType(t).name.lower()
    except ValueError:
        return f"attach_{t}"


def check_program(spec: CollectionSpec, ps: ProgramSpec,
                  options: LoadOptions | None = None) -> tuple[ProgramResult, list[str]]:
    """Load one program and unload it again.  By default every map of the object is created,
    as libbpf does, so the verdict is libbpf's (see ``LoadOptions.all_maps``)."""
    opts = options or LoadOptions(stats=True, all_maps=True)
    res = ProgramResult(name=ps.name, section=ps.section, type=type_name(ps.type),
                        attach=attach_name(ps.attach_type), verdict="ok")
    warnings: list[str] = []
    try:
        with Collection(spec, programs=[ps.name], options=opts) as coll:
            warnings = coll.warnings
            prog = coll.programs[ps.name]
            info = prog.info()
            res.stats = prog.stats
            res.log = prog.log
            res.xlated_bytes = info.xlated_prog_len
            res.verified_insns = info.verified_insns
    except LoadError as e:
        res.verdict = "fail"
        res.errno = e.errno
        res.error = e
        res.log = e.log
        res.truncated = e.truncated
        from .verifier.summary import parse_summary

        res.stats = parse_summary(e.log)
        res.message = getattr(e, "verifier_message", None) or e.message
        e.program_spec = e.program_spec or ps
        e.collection_spec = e.collection_spec or spec
        res.diagnosis = e.diagnosis
        if e.stage != "program":
            res.message = str(e)
            if e.map and e.map not in ps.maps_used:
                res.message += (f" (map '{e.map}' is not used by {ps.name}; it fails the load "
                                "because every map of the object is created, as libbpf does)")
    return res, warnings


def check_object(path: str | os.PathLike[str], *, programs: Iterable[str] | None = None,
                 options: LoadOptions | None = None) -> ObjectResult:
    """Check every program of one object (or those named).  Object errors are returned in the
    result, not raised, so a batch goes on past a bad file."""
    p = os.fspath(path)
    try:
        spec = load_collection_spec(p)
    except ObjectError as e:
        return ObjectResult(path=p, error=e)
    out = ObjectResult(path=p)
    wanted = list(programs) if programs is not None else None
    if wanted is not None:
        missing = [n for n in wanted if n not in spec.programs]
        if missing:
            out.error = ObjectError(f"no program named {', '.join(missing)} (programs: "
                                    f"{', '.join(spec.programs) or 'none'})", path=p)
            return out
    for name, ps in spec.programs.items():
        if wanted is not None and name not in wanted:
            continue
        res, warnings = check_program(spec, ps, options)
        out.programs.append(res)
        for w in warnings:
            if w not in out.warnings:
                out.warnings.append(w)
    return out
