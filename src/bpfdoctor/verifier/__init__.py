"""The verifier's log: parsing it into structure.

* :func:`extract_logs` finds the logs in pasted tool output (libbpf/bpftool, cilium/ebpf,
  bcc, or the bare kernel log) and strips the wrapping;
* :func:`parse_log` reads one log into a :class:`VerifierLog`: the error and the
  instruction it is about, the last state printed for each instruction, the path that
  failed, the source lines, the statistics;
* :func:`parse_register` / :func:`parse_state` turn the verifier's register and stack
  notation (``R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)``) into values.
"""

from __future__ import annotations

from .extract import ExtractedLog, errno_from_text, extract_logs
from .log import (
    Insn,
    LineKind,
    SourceLine,
    VerifierLog,
    classify_line,
    parse_log,
)
from .regs import (
    RegState,
    StackSlot,
    VerifierState,
    parse_register,
    parse_stack_slot,
    parse_state,
    parse_value,
)
from .summary import VerifierStats, parse_summary


def parse_logs(text: str | bytes) -> list[VerifierLog]:
    """:func:`extract_logs` then :func:`parse_log` on each log found."""
    return [parse_log(x) for x in extract_logs(text)]


__all__ = [
    "ExtractedLog",
    "Insn",
    "LineKind",
    "RegState",
    "SourceLine",
    "StackSlot",
    "VerifierLog",
    "VerifierState",
    "VerifierStats",
    "classify_line",
    "errno_from_text",
    "extract_logs",
    "parse_log",
    "parse_logs",
    "parse_register",
    "parse_stack_slot",
    "parse_state",
    "parse_summary",
    "parse_value",
]
