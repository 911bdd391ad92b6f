"""Causes about the log itself: truncated, the verifier's own bug reports, and the last
resort, ``unknown``, which keeps the raw message."""

from __future__ import annotations

from ..catalogue import register
from ..model import Cause, Evidence, Match


def _internal(ev: Evidence) -> Match | None:
    for line in ev.log.error_lines:
        if "verifier bug" in line.lower() or "verifier internal" in line.lower():
            return Match(f"the verifier reported an internal error: {line.strip()}")
    return None


def _truncated(ev: Evidence) -> Match | None:
    if ev.error is not None and getattr(ev.error, "truncated", False) and not ev.log.error_lines:
        return Match("the verifier log was cut before its end, so the reason for the "
                     "rejection is not in it")
    return None


def _unknown(ev: Evidence) -> Match | None:
    msg = ev.message
    if msg:
        return Match(f"the verifier said: {msg}")
    if ev.error is not None:
        if ev.error.stage != "program":
            # failed before the verifier ran (map creation, BTF, extern...): the error says why
            return Match(f"the load failed before verification: {ev.error}")
        if not ev.error.log:
            return Match(f"the kernel refused the program without a verifier log: {ev.error}")
    return Match("the kernel refused the program and its log gives no reason")


register(Cause(
    code="BD901", slug="verifier-internal", family="meta", priority=10,
    title="The verifier hit an internal error",
    explanation=("The verifier detected an inconsistency in its own state. This is a kernel "
                 "bug, not a mistake in the program, although an unusual instruction sequence "
                 "usually triggers it."),
    fix=("Report it to bpf@vger.kernel.org with the log and the object; meanwhile rewrite "
         "the code around the failing instruction (a different compiler version or -O level "
         "often avoids the sequence)."),
    matcher=_internal))

register(Cause(
    code="BD902", slug="log-truncated", family="meta", priority=900,
    title="The verifier log was truncated",
    explanation=("The log buffer was smaller than the log, so the kernel kept only part of "
                 "it and the error line is missing."),
    fix="Load again with a larger log buffer (LoadOptions.max_log_size) or log level 1.",
    matcher=_truncated))

register(Cause(
    code="BD999", slug="unknown", family="meta", priority=1000,
    title="Unrecognised verifier error",
    explanation=("bpfdoctor does not recognise this message yet. The raw message and the log "
                 "are kept."),
    fix="Read the verifier message and the instructions before it; please report the log so "
        "this cause can be added to the catalogue.",
    matcher=_unknown))
