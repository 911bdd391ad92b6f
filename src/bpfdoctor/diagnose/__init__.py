"""The catalogue of causes and the engine that explains a failed load.

``diagnose_error(err, program, spec)`` → :class:`Diagnosis` (code, slug, summary with the
specifics, explanation, fix, C source line, instruction, evidence); ``lookup(code_or_slug)``
for ``bpfdoctor explain``.
"""

from .catalogue import causes, lookup, register
from .engine import diagnose, diagnose_error, diagnose_log, diagnose_object_error, source_for
from .model import Cause, Diagnosis, Evidence, Match, SourceLoc

__all__ = ["Cause", "Diagnosis", "Evidence", "Match", "SourceLoc", "causes", "diagnose",
           "diagnose_error", "diagnose_log", "diagnose_object_error", "lookup", "register",
           "source_for"]
