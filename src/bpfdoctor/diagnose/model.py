"""What a diagnosis is, and what a cause in the catalogue looks like.

A :class:`Cause` is one reason a program can be refused, with a stable ``code`` (``BD101``)
and ``slug`` (``null-check-missing``), prose that does not change per program (title,
explanation, fix), and a ``matcher`` that looks at the :class:`Evidence` (the parsed log, the
errno, the program's spec, the kernel facts) and, when the cause applies, returns a
:class:`Match` carrying the specifics: a one-sentence summary naming the register, helper,
map, field, sizes, and the instruction it is about.  The engine turns the first match into a
:class:`Diagnosis`, the value the CLI, JSON and SARIF render.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import LoadError
    from ..spec import CollectionSpec, ProgramSpec
    from ..verifier.log import VerifierLog


@dataclass(frozen=True)
class SourceLoc:
    """A line of the program's C source."""

    file: str | None
    line: int | None
    text: str | None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "text": self.text}


@dataclass
class Evidence:
    """Everything known about one failed load.  Matchers read it; they never guess from file
    or program names."""

    log: VerifierLog
    errno: int | None = None
    program: ProgramSpec | None = None
    spec: CollectionSpec | None = None
    error: LoadError | None = None
    core_relocations: list[Any] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The verifier's error on one line, as ``VerifierError.verifier_message`` and the
        check report give it (lines joined with ``"; "``; empty when there is none)."""
        return self.log.error_one_line or ""


@dataclass
class Match:
    """A cause applies: the specifics of this program."""

    summary: str
    insn: int | None = None
    """Instruction the problem is at, when it is not the log's own error instruction."""
    evidence: list[str] = field(default_factory=list)
    """Log lines (or other facts) that show it, beyond the error line itself."""
    details: dict[str, Any] = field(default_factory=dict)
    """Structured specifics (register, map, helper, sizes...) for programs reading JSON."""


Matcher = Callable[[Evidence], "Match | None"]


@dataclass(frozen=True)
class Cause:
    code: str
    slug: str
    title: str
    explanation: str
    """Why the verifier refuses this, in plain words (several sentences)."""
    fix: str
    """What to change, with a short C sketch."""
    matcher: Matcher
    family: str = ""
    priority: int = 100
    """Lower is tried first; specific causes before general ones."""


@dataclass
class Diagnosis:
    code: str
    slug: str
    title: str
    summary: str
    explanation: str
    fix: str
    source: SourceLoc | None
    insn: int | None
    verifier_message: str | None
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    registers: dict[str, str] = field(default_factory=dict)
    """State of the registers the error names (``R0`` → ``map_value_or_null(...)``), as the
    verifier knew it at the failing instruction."""
    path: list[tuple[int, int]] = field(default_factory=list)
    """Branches (``from X to Y``) the failing path took."""

    def to_dict(self) -> dict[str, Any]:
        """The ``diagnosis`` object of ``bpfdoctor check --json`` (version 1)."""
        return {
            "code": self.code,
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "explanation": self.explanation,
            "fix": self.fix,
            "source": self.source.to_dict() if self.source else None,
            "insn": self.insn,
            "verifier_message": self.verifier_message,
            "evidence": list(self.evidence),
            "details": dict(self.details),
            "registers": dict(self.registers),
            "path": [list(b) for b in self.path],
        }
