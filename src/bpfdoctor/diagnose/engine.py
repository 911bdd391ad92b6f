"""Run the catalogue over the evidence of one failed load and build the Diagnosis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..verifier.log import VerifierLog, parse_log
from .catalogue import causes
from .model import Diagnosis, Evidence, Match, SourceLoc

if TYPE_CHECKING:
    from ..errors import LoadError, ObjectError
    from ..spec import CollectionSpec, ProgramSpec

_EVIDENCE_MAX = 12
_PATH_MAX = 8
_REG = re.compile(r"\bR(\d{1,2})\b")


def diagnose(ev: Evidence) -> Diagnosis:
    """The first cause (in catalogue order) whose matcher accepts the evidence.  The catalogue
    ends with ``unknown``, which always matches, so there is always an answer, and the raw
    verifier message is always kept."""
    for cause in causes():
        m = cause.matcher(ev)
        if m is not None:
            return _build(cause.code, cause.slug, cause.title, cause.explanation, cause.fix,
                          m, ev)
    raise AssertionError("the catalogue must end with a cause that always matches")


def _build(code: str, slug: str, title: str, explanation: str, fix: str, m: Match,
           ev: Evidence) -> Diagnosis:
    insn = m.insn if m.insn is not None else ev.log.error_insn
    lines = [*ev.log.error_lines]
    for e in m.evidence:
        if e not in lines:
            lines.append(e)
    return Diagnosis(code=code, slug=slug, title=title, summary=m.summary,
                     explanation=explanation, fix=fix, source=source_for(ev, insn), insn=insn,
                     verifier_message=ev.message or None, evidence=lines[:_EVIDENCE_MAX],
                     details=m.details, registers=_named_registers(ev),
                     path=list(ev.log.branches)[-_PATH_MAX:])


def _named_registers(ev: Evidence) -> dict[str, str]:
    """The verifier's state of each register the error message names, at the error."""
    names = sorted({int(n) for n in _REG.findall(ev.message)})
    if not names:
        return {}
    state = ev.log.error_state
    if state is None:
        return {}
    out = {}
    for n in names:
        r = state.reg(n)
        if r is not None:
            out[f"R{n}"] = r.raw
    return out


def source_for(ev: Evidence, insn: int | None) -> SourceLoc | None:
    """The C line of instruction ``insn``: from the log's ``; text @ file:line`` lines when
    present, else from the object's BTF line info (a pasted or truncated log may have none)."""
    if insn is None:
        return None
    # The object's line info names the file as it was compiled (a path the report can open);
    # the kernel's log prints only its base name.
    if ev.program is not None:
        rec = ev.program.source_line(insn)
        if rec is not None:
            return SourceLoc(rec.file_name, rec.line, rec.line_text.strip() or None,
                             rec.column or None)
    ins = ev.log.insns.get(insn) if insn in ev.log.insns else None
    if ins is not None and ins.source is not None and ins.source.line:
        s = ins.source
        return SourceLoc(s.file, s.line, s.text)
    return None


def diagnose_error(error: LoadError, program: ProgramSpec | None = None,
                   spec: CollectionSpec | None = None) -> Diagnosis:
    """Diagnose a :class:`~bpfdoctor.errors.LoadError` raised by the loader."""
    ev = Evidence(log=parse_log(error.log), errno=error.errno, program=program, spec=spec,
                  error=error, core_relocations=list(getattr(error, "core_relocations", [])))
    return diagnose(ev)


def diagnose_object_error(error: ObjectError) -> Diagnosis | None:
    """The diagnosis of an object file the ELF reader refused (not BPF, byte order, corrupt,
    BTF missing); ``None`` for object errors no cause covers (an unreadable file, a
    program name not in the object), whose message is the whole story."""
    ev = Evidence(log=parse_log([]), error=error)  # type: ignore[arg-type]
    for cause in causes():
        if cause.family != "object":
            continue
        m = cause.matcher(ev)
        if m is not None:
            return _build(cause.code, cause.slug, cause.title, cause.explanation, cause.fix,
                          m, ev)
    return None


def diagnose_log(log: str | Sequence[str] | VerifierLog, *, errno: int | None = None,
                 program: ProgramSpec | None = None,
                 spec: CollectionSpec | None = None) -> Diagnosis:
    """Diagnose a log on its own (pasted by a user), optionally with the object for source
    lines and map names."""
    parsed = log if isinstance(log, VerifierLog) else parse_log(log)
    return diagnose(Evidence(log=parsed, errno=errno, program=program, spec=spec))
