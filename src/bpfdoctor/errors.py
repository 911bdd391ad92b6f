"""Typed exceptions.  Every failure bpfdoctor reports carries structure (errno, file, section,
symbol, verifier log) so that the diagnosis layer and the CLI can explain it without parsing
strings."""

from __future__ import annotations

import errno as _errno
import os

TYPE_CHECKING = False  # typing is not imported at run time: `import bpfdoctor` stays cheap
if TYPE_CHECKING:
    from typing import Any


class BpfDoctorError(Exception):
    """Base class of every error bpfdoctor raises on purpose."""


# --------------------------------------------------------------------------- object (input) errors


class ObjectError(BpfDoctorError):
    """The object file itself is unusable: an input error (CLI exit code 2).

    ``path``, ``section`` and ``symbol`` name where the problem is, when known.
    """

    kind = "object"

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        section: str | None = None,
        symbol: str | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.section = section
        self.symbol = symbol
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.section:
            where.append(f"section {self.section}")
        if self.symbol:
            where.append(f"symbol {self.symbol}")
        return f"{': '.join(where)}: {self.message}" if where else self.message


class NotELFError(ObjectError):
    """Not an ELF file at all (a source file, a script, garbage)."""

    kind = "not-elf"


class TruncatedError(ObjectError):
    """A header, section or table runs past the end of the file."""

    kind = "truncated"


class WrongMachineError(ObjectError):
    """An ELF file, but not for the BPF machine (e.g. built without ``-target bpf``)."""

    kind = "wrong-machine"


class EndiannessError(ObjectError):
    """A BPF object whose byte order differs from the running kernel's."""

    kind = "endianness"


class StrippedError(ObjectError):
    """The symbol table (and with it program and map names) was stripped away."""

    kind = "stripped"


class BTFError(ObjectError):
    """BTF or BTF.ext that cannot be parsed (corrupt, truncated, unknown kind)."""

    kind = "btf"


class MissingBTFError(ObjectError):
    """The object needs BTF it does not carry (``.maps`` built without ``-g``)."""

    kind = "btf-missing"


class RelocationError(ObjectError):
    """A relocation that cannot be applied: undefined map or symbol, bad target."""

    kind = "relocation"

    def __init__(self, message: str, *, insn: int | None = None, program: str | None = None,
                 **kw: Any) -> None:
        self.insn = insn
        self.program = program
        super().__init__(message, **kw)


class SectionError(ObjectError):
    """A program section whose name no section rule recognises, or a malformed map section."""

    kind = "section"


class MapSpecError(ObjectError):
    """A map definition that cannot be interpreted."""

    kind = "map-spec"


# --------------------------------------------------------------------------- kernel errors


def errno_name(code: int | None) -> str | None:
    """``13 -> 'EACCES'``; ``None`` stays ``None``; unknown numbers become ``'E<n>'``.

    524 (ENOTSUPP) is kernel-internal and absent from Python's table.
    """
    if code is None:
        return None
    if code == 524:
        return "ENOTSUPP"
    return _errno.errorcode.get(code, f"E{code}")


class SyscallError(BpfDoctorError):
    """A ``bpf()`` (or other) system call failed."""

    def __init__(self, errno: int, op: str, message: str | None = None) -> None:
        self.errno = errno
        self.op = op
        text = message or (os.strerror(errno) if errno != 524 else "Operation not supported")
        super().__init__(f"{op}: {errno_name(errno)}: {text}")


class LoadError(BpfDoctorError):
    """The kernel refused something we asked it to create.

    ``stage`` is one of ``"btf"``, ``"map"``, ``"program"``, ``"link"``.
    """

    stage = "load"

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        log: list[str] | None = None,
        program: str | None = None,
        map: str | None = None,
        section: str | None = None,
        truncated: bool = False,
    ) -> None:
        self.message = message
        self.errno = errno
        self.log: list[str] = list(log or [])
        self.program = program
        self.map = map
        self.section = section
        self.truncated = truncated
        self._diagnosis: Any = None
        self.program_spec: Any = None
        """The ProgramSpec being loaded, when known (set by the loader): source lines and
        map names for the diagnosis."""
        self.collection_spec: Any = None
        self.core_relocations: list[Any] = []
        """Outcome of the program's CO-RE relocations (set by the loader)."""
        super().__init__(message)

    @property
    def diagnosis(self) -> Any:
        """The :class:`~bpfdoctor.diagnose.Diagnosis` of this failure, computed on first use
        from the log, the errno and the specs the loader attached."""
        if self._diagnosis is None:
            from .diagnose import diagnose_error

            self._diagnosis = diagnose_error(self, self.program_spec, self.collection_spec)
        return self._diagnosis

    @diagnosis.setter
    def diagnosis(self, value: Any) -> None:
        self._diagnosis = value

    @property
    def errno_name(self) -> str | None:
        return errno_name(self.errno)

    def __str__(self) -> str:
        who = self.program or self.map
        head = f"{self.stage} {who}: " if who else ""
        en = f" ({self.errno_name})" if self.errno is not None else ""
        return f"{head}{self.message}{en}"


class BTFLoadError(LoadError):
    """BPF_BTF_LOAD refused the object's BTF."""

    stage = "btf"


class MapCreateError(LoadError):
    """BPF_MAP_CREATE (or populating / freezing the map) failed."""

    stage = "map"


def verifier_error_line(log: list[str]) -> str | None:
    """The verifier's own error in ``log``, on one line (a multi-line error such as a
    reference leak is joined with ``"; "``), as the log parser finds it: not the statistics,
    state dumps (``cur state:``...), source or instruction lines around it."""
    from .verifier.log import parse_log  # the parser imports this module

    return parse_log(log).error_one_line


class VerifierError(LoadError):
    """BPF_PROG_LOAD failed.  ``log`` holds every line of the verifier log.

    ``str(e)`` is a short summary: the program, the errno and the verifier's own error line
    (the last meaningful line of the log), not the whole log.
    """

    stage = "program"

    @property
    def verifier_message(self) -> str | None:
        """The verifier's explanation of the rejection, on one line (see
        :func:`verifier_error_line`)."""
        return verifier_error_line(self.log)

    def __str__(self) -> str:
        base = super().__str__()
        msg = self.verifier_message
        if msg and msg not in base:
            base += f": {msg}"
        if self.truncated:
            base += " (log truncated)"
        return base


class LinkError(LoadError):
    """Attaching a loaded program failed."""

    stage = "link"
