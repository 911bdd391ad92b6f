"""Causes of the 'refs' family (BD4xx): references and locks the program does not hand back.

The verifier tracks every acquired object (ring buffer reservation, socket, task, kptr...)
by id and every held bpf_spin_lock; at exit, on every path, nothing may still be held."""

from __future__ import annotations

import re

from ...verifier.log import VerifierLog
from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import call_at, first_match, where

_UNRELEASED = re.compile(r"Unreleased reference id=(\d+) alloc_insn=(\d+)")
_LEAK = re.compile(r"(\S.*?) would lead to reference leak")


def _deciding_branch(log: VerifierLog, start: int) -> int | None:
    """The jump of the last branch the reported path took after ``start`` (the acquiring
    instruction): the decision that led to the leaking exit."""
    for src, _dst in reversed(log.branches):
        if src > start:
            return src
    return None


def _reference_leak(ev: Evidence) -> Match | None:
    hit = first_match(_UNRELEASED, ev.log.error_lines)
    leak = first_match(_LEAK, ev.log.error_lines)
    if hit is None and leak is None:
        return None
    exit_insn = ev.log.error_insn
    if hit is None:
        assert leak is not None
        return Match(f"a reference acquired earlier is still held at the "
                     f"{leak.group(1).split(' ')[0]} at insn {exit_insn}",
                     details={"exit_insn": exit_insn})
    ref_id, alloc = int(hit.group(1)), int(hit.group(2))
    call = call_at(ev.log, alloc)
    acquirer = call[0] if call else f"the call at insn {alloc}"
    details: dict[str, object] = {"ref_id": ref_id, "alloc_insn": alloc,
                                  "acquired_by": call[0] if call else None,
                                  "exit_insn": exit_insn}
    alloc_src = where(ev, alloc)
    if not alloc_src and ev.program is not None:
        rec = ev.program.source_line(alloc)
        alloc_src = f" (line {rec.line})" if rec is not None and rec.line else ""
    branch = _deciding_branch(ev.log, alloc)
    via = ""
    insn = None
    if branch is not None:
        insn = branch
        details["branch_insn"] = branch
        via = f", on the path that takes the branch at insn {branch}{where(ev, branch)}"
    return Match(f"the reference (id={ref_id}) returned by {acquirer} at insn {alloc}"
                 f"{alloc_src} is still held when the program exits at insn {exit_insn}{via}",
                 insn=insn, details=details)


_LOCK = [
    (re.compile(r"function calls are not allowed while holding a lock"),
     "a function call while holding a bpf_spin_lock"),
    (re.compile(r"bpf_spin_unlock without taking a lock"),
     "bpf_spin_unlock without a matching bpf_spin_lock"),
    (re.compile(r"bpf_spin_unlock of different lock"),
     "bpf_spin_unlock of a lock other than the one held"),
    (re.compile(r"Locking two bpf_spin_locks are not allowed"),
     "taking a second bpf_spin_lock while one is held"),
    (re.compile(r"(\S.*?) cannot be used inside bpf_spin_lock-ed region"),
     "{0} while holding a bpf_spin_lock"),
    (re.compile(r"(?:bpf_spin_lock|bpf_res_spin_lock).* (?:is|are) not allowed"),
     "a bpf_spin_lock operation this context forbids"),
    (re.compile(r"tracing progs cannot use bpf_spin_lock yet"),
     "bpf_spin_lock in a tracing program, which may not take locks"),
    (re.compile(r"bpf_spin_lock cannot be accessed directly by load/store"),
     "a plain load or store of a struct bpf_spin_lock field"),
]


def _lock_taken(log: VerifierLog, before: int | None) -> int | None:
    """The last ``call bpf_spin_lock`` on the reported path before ``before``."""
    path = log.path
    if before in path:
        path = path[:len(path) - 1 - path[::-1].index(before)]
    for idx in reversed(path):
        call = call_at(log, idx)
        if call is not None and call[0] in ("bpf_spin_lock", "bpf_res_spin_lock"):
            return idx
    return None


def _lock_misuse(ev: Evidence) -> Match | None:
    for pattern, what in _LOCK:
        hit = first_match(pattern, ev.log.error_lines)
        if hit is None:
            continue
        groups = hit.groups()
        text = what.format(*groups) if groups else what
        at = ev.log.error_insn
        details: dict[str, object] = {"problem": text}
        held = _lock_taken(ev.log, at)
        taken = ""
        if held is not None:
            details["lock_insn"] = held
            taken = f" taken at insn {held}{where(ev, held)}"
        call = call_at(ev.log, at) if pattern is _LOCK[0][0] else None
        if call is not None:
            details["callee"] = call[0]
            return Match(f"{call[0]} is called at insn {at}{where(ev, at)} while the "
                         f"bpf_spin_lock{taken} is held", details=details)
        with_lock = f", with the lock{taken} held" if taken else ""
        return Match(f"{text} at insn {at}{where(ev, at)}{with_lock}", details=details)
    return None


register(Cause(
    code="BD401", slug="reference-leak", family="refs", priority=40,
    title="Acquired reference not released",
    explanation=("Some helpers and kfuncs hand the program an object it must give back: a "
                 "ring buffer reservation (submit or discard), a socket from a lookup "
                 "(bpf_sk_release), a task or cgroup reference, a kptr. The verifier follows "
                 "every path and refuses the program if one reaches its exit still holding "
                 "such a reference, since the object could never be freed."),
    fix=("Release the reference on every path, including early returns:\n"
         "e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);\nif (!e)\n    return 0;\n"
         "if (fill(e) < 0) {\n    bpf_ringbuf_discard(e, 0);\n    return 0;\n}\n"
         "bpf_ringbuf_submit(e, 0);"),
    matcher=_reference_leak))

register(Cause(
    code="BD402", slug="lock-misuse", family="refs", priority=40,
    title="bpf_spin_lock misuse",
    explanation=("A bpf_spin_lock critical section must be short and straight: between "
                 "bpf_spin_lock() and bpf_spin_unlock() the program may not call helpers or "
                 "functions, take a second lock, or exit, and every unlock must match the "
                 "lock taken on that path. The verifier checks this on every path so a lock "
                 "can never be left held."),
    fix=("Do only loads and stores under the lock; call helpers before or after it:\n"
         "bpf_spin_lock(&v->lock);\nv->count++;\nbpf_spin_unlock(&v->lock);\n"
         "bpf_printk(\"%d\", n);   /* outside the critical section */"),
    matcher=_lock_misuse))
