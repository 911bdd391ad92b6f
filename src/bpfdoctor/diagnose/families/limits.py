"""Causes of the 'limits' family (BD5xx): the program is beyond what the verifier will walk.

The verifier explores every path; it bounds the call depth (8 frames), the instructions it
simulates (1 million), and the branches it keeps pending (8192), and it refuses loops it
cannot prove terminate."""

from __future__ import annotations

import errno as E
import re

from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import first_match, where

_DEPTH = re.compile(r"the call stack of (\d+) frames is too deep")


def _call_depth(ev: Evidence) -> Match | None:
    hit = first_match(_DEPTH, ev.log.error_lines)
    if hit is None:
        return None
    frames = int(hit.group(1))
    at = ev.log.error_insn
    loc = f" at insn {at}{where(ev, at)}" if at is not None else ""
    return Match(f"the chain of BPF-to-BPF calls{loc} reaches {frames} frames; the kernel "
                 "allows at most 8", details={"frames": frames, "max_frames": 8})


_INFINITE = re.compile(r"infinite loop detected at insn (\d+)")
_BACK_EDGE = re.compile(r"back-edge from insn (\d+) to (\d+)")


def _loop_unbounded(ev: Evidence) -> Match | None:
    hit = first_match(_INFINITE, ev.log.error_lines)
    if hit is not None:
        at = int(hit.group(1))
        head = ev.log.insns[at].branch_to if at in ev.log.insns else None
        details: dict[str, object] = {"insn": at, "kind": "same-state"}
        tail = ""
        if head is not None:
            details["loop_head"] = head
            tail = f" (the loop from insn {at} back to insn {head})"
        return Match(f"the verifier reached insn {at}{where(ev, at)} twice in the same "
                     f"state{tail}: nothing in the loop moves it towards its exit",
                     insn=at, details=details)
    hit = first_match(_BACK_EDGE, ev.log.error_lines)
    if hit is not None:
        src, dst = int(hit.group(1)), int(hit.group(2))
        return Match(f"insn {src} jumps back to insn {dst}, a loop, and this kernel (before "
                     "5.3, or an unprivileged load) does not accept loops",
                     insn=src, details={"from": src, "to": dst, "kind": "back-edge"})
    return None


_TOO_LARGE = re.compile(r"BPF program is too large\. Processed (\d+) insn")
_JUMPS = re.compile(r"The sequence of (\d+) jumps is too complex")
_TOO_MANY_INSNS = re.compile(r"(?:too many instructions|program too large)", re.I)


def _too_complex(ev: Evidence) -> Match | None:
    hit = first_match(_TOO_LARGE, ev.log.error_lines)
    if hit is not None:
        n = int(hit.group(1))
        return Match(f"the verifier simulated {n} instructions without finishing (the limit "
                     "is 1000000): too many paths or loop iterations to explore",
                     details={"processed": n, "limit": 1_000_000})
    hit = first_match(_JUMPS, ev.log.error_lines)
    if hit is not None:
        n = int(hit.group(1))
        return Match(f"{n} branches were pending exploration at once (the limit is 8192)",
                     details={"pending_jumps": n, "limit": 8192})
    if ev.errno == E.E2BIG and (not ev.log.error_lines
                                or first_match(_TOO_MANY_INSNS, ev.log.error_lines) is not None):
        return Match("the kernel refused the program as too large (E2BIG)",
                     details={"errno": "E2BIG"})
    return None


register(Cause(
    code="BD501", slug="call-depth", family="limits", priority=60,
    title="BPF-to-BPF calls nested too deep",
    explanation=("Each BPF-to-BPF call pushes a frame with its own registers and stack; the "
                 "kernel allows at most 8 frames (MAX_CALL_FRAMES), checked both while "
                 "walking the calls and over the call graph. Recursion, even bounded, is "
                 "refused the same way."),
    fix=("Flatten the call chain: mark small helpers __always_inline, or turn recursion\n"
         "into a bounded loop:\n"
         "static __always_inline int step(struct ctx *c) { ... }"),
    matcher=_call_depth))

register(Cause(
    code="BD502", slug="loop-unbounded", family="limits", priority=60,
    title="Loop the verifier cannot prove ends",
    explanation=("Since Linux 5.3 the verifier accepts loops by simulating them iteration by "
                 "iteration. If it reaches the same instruction in a state identical to an "
                 "earlier one, the loop made no progress and may spin forever, so the program "
                 "is refused. Older kernels, and unprivileged loads before 5.x, refuse every "
                 "backward jump."),
    fix=("Bound the loop with a constant, or use bpf_loop() / open-coded iterators:\n"
         "for (int i = 0; i < MAX_POLLS && !c->ready; i++)\n    ;\n"
         "/* or */ bpf_loop(MAX_POLLS, poll_cb, &ctx, 0);"),
    matcher=_loop_unbounded))

register(Cause(
    code="BD503", slug="too-complex", family="limits", priority=60,
    title="Program too complex to verify",
    explanation=("The verifier walks every path and gives up after simulating one million "
                 "instructions, or when more than 8192 branches are pending at once. Loops "
                 "with large or unknown bounds and long chains of independent conditions "
                 "multiply the paths until a limit is hit, even though each path is fine."),
    fix=("Reduce the state space: bound loops tightly, move loop bodies into bpf_loop()\n"
         "callbacks or global (non-static) functions, which are verified once:\n"
         "__noinline int handle(struct ctx *c) { ... }   /* global: verified on its own */"),
    matcher=_too_complex))
