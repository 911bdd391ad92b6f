"""The statistics lines the verifier prints at the end of every log (log level 4 and up):

    verification time 35 usec
    stack depth 8+0
    processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 \
mark_read 1

These are the numbers veristat reports; they are what a change costs the verifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PROCESSED = re.compile(
    r"processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) "
    r"peak_states (\d+) mark_read (\d+)")
_TIME = re.compile(r"verification time (\d+) usec")
_STACK = re.compile(r"stack depth ([\d+]+)")


@dataclass(frozen=True)
class VerifierStats:
    insns_processed: int | None = None
    insns_limit: int | None = None
    max_states_per_insn: int | None = None
    total_states: int | None = None
    peak_states: int | None = None
    mark_read: int | None = None
    verification_us: int | None = None
    stack_depth: tuple[int, ...] = ()
    """Stack depth of each subprogram, in the order the verifier lists them."""

    @property
    def empty(self) -> bool:
        return self.insns_processed is None and self.verification_us is None


def parse_summary(lines: Iterable[str]) -> VerifierStats:
    """Pick the summary numbers out of a verifier log; lines that are not summary lines are
    ignored, so the whole log can be passed.  The last occurrence of each line wins."""
    fields: dict[str, object] = {}
    for line in lines:
        s = line.strip()
        if s.startswith("processed "):
            m = _PROCESSED.match(s)
            if m:
                (fields["insns_processed"], fields["insns_limit"],
                 fields["max_states_per_insn"], fields["total_states"],
                 fields["peak_states"], fields["mark_read"]) = map(int, m.groups())
        elif s.startswith("verification time"):
            m = _TIME.match(s)
            if m:
                fields["verification_us"] = int(m.group(1))
        elif s.startswith("stack depth"):
            m = _STACK.match(s)
            if m:
                fields["stack_depth"] = tuple(int(x) for x in m.group(1).split("+") if x)
    return VerifierStats(**fields)  # type: ignore[arg-type]
