"""Causes of the 'stack' family (BD2xx): registers and stack slots read before they are
written, accesses outside the 512-byte frame, and frames too large in total.

Matchers key on the messages of ``check_reg_arg()``, ``check_stack_read_fixed_off()``,
``check_stack_range_initialized()``, ``check_stack_access_within_bounds()``, the dynptr and
iterator argument checks, and ``check_max_stack_depth()`` in ``kernel/bpf/verifier.c``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...asm import slot_offsets
from ...verifier.log import Insn, VerifierLog
from ..catalogue import register
from ..model import Cause, Evidence, Match
from ._common import callee, first_match, insn_ref, path_before, plural, writer

_MAX_BPF_STACK = 512

# --------------------------------------------------------------------------- BD201

_NOT_INIT = re.compile(r"\bR(\d+) !read_ok")


def _clobbering_call(log: VerifierLog, reg: int, before: int | None) -> Insn | None:
    """The helper call that left ``reg`` (R1-R5) undefined, when the last thing on the path
    to touch ``reg`` was a call."""
    if not 1 <= reg <= 5:
        return None
    ins = writer(log, reg, before)
    return ins if ins is not None and ins.opcode == 0x85 else None


def _uninit_register(ev: Evidence) -> Match | None:
    m = first_match(_NOT_INIT, ev.log.error_lines)
    if m is None:
        return None
    reg = int(m.group(1))
    ins = ev.log.error_instruction
    where = insn_ref(ins, ev.log.error_insn)
    details: dict[str, object] = {"register": reg}
    call = _clobbering_call(ev.log, reg, ev.log.error_insn)
    if call is not None:
        name = callee(call) or call.text
        details.update(clobbered_by=name, call_insn=call.idx)
        summary = (f"{where} reads R{reg}, but the call to {name} at insn {call.idx} left it "
                   f"undefined: calls clobber R1-R5")
    elif reg == 0:
        summary = (f"{where} reads R0, which nothing wrote on this path (R0 is only set by an "
                   f"assignment or a call; the program's return value must be set before exit)")
    else:
        summary = (f"{where} reads R{reg}, which nothing wrote on this path: a program starts "
                   f"with only R1 (the context) and R10 (the frame pointer) defined")
    return Match(summary, details=details)


register(Cause(
    code="BD201", slug="uninit-register", family="stack", priority=200,
    title="Register read before it is written",
    explanation=(
        "At entry only R1 (the context) and R10 (the read-only frame pointer) hold values; "
        "every helper, kfunc or BPF-to-BPF call sets R0 and leaves R1-R5 undefined. The "
        "verifier marks undefined registers 'not init' and refuses any read of them, since "
        "their content would be left over from the kernel. Compiled C rarely does this; "
        "inline assembly, hand-written instructions, or a register assumed to survive a call "
        "usually do."),
    fix=("Give the register a value on every path before reading it, and keep values that "
         "must survive a call in R6-R9 (or let the compiler do it, in C):\n"
         "  __u64 len = ctx->data_end - ctx->data;   /* instead of reading r2 in asm */"),
    matcher=_uninit_register))


# --------------------------------------------------------------------------- BD202

_READ_UNINIT = re.compile(r"invalid read from stack off (-?\d+)\+(-?\d+) size (\d+)")
_INDIRECT_UNINIT = re.compile(
    r"invalid indirect read from stack (?:R(\d+) )?(?:off (-?\d+)\+(-?\d+)|var_off \([^)]*\)\S*) "
    r"size (\d+)")
_DYNPTR_UNINIT = re.compile(
    r"[Ee]xpected an initialized (?:(\w+) )?(dynptr|iter_\w+) as arg #(\d+)")
_DYNPTR_INIT_CALLS = ("dynptr_from", "reserve_dynptr", "dynptr_clone")


def _is_constructor(name: str) -> bool:
    """Helpers and kfuncs that initialise a dynptr or an open-coded iterator."""
    return any(k in name for k in _DYNPTR_INIT_CALLS) or \
        (name.startswith("bpf_iter_") and name.endswith("_new"))


def _uninit_stack(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    ins = ev.log.error_instruction
    where = insn_ref(ins, ev.log.error_insn)
    m = first_match(_READ_UNINIT, lines)
    if m is not None:
        off, var, size = int(m.group(1)), int(m.group(2)), int(m.group(3))
        slot = off + var
        return Match(f"{where} reads {plural(size, 'byte')} of the stack at fp{slot:+d}, which "
                     f"nothing stored to on this path", details={"off": slot, "size": size})
    m = first_match(_INDIRECT_UNINIT, lines)
    if m is not None:
        reg = int(m.group(1)) if m.group(1) else None
        size = int(m.group(4))
        helper = callee(ins)
        details: dict[str, object] = {"size": size}
        what = f"the call to {helper}" if helper else where
        via = f" through R{reg}" if reg is not None else ""
        at = ""
        if m.group(2) is not None:
            slot = int(m.group(2)) + int(m.group(3))
            details["off"] = slot
            at = f" at fp{slot:+d}"
        if reg is not None:
            details["register"] = reg
        if helper:
            details["helper"] = helper
        return Match(f"{what} reads {plural(size, 'byte')} of stack memory{via}{at}, and some "
                     f"of those bytes were never written on this path", details=details)
    m = first_match(_DYNPTR_UNINIT, lines)
    if m is None:
        return None
    kind, argno = m.group(2), int(m.group(3))
    helper = callee(ins)
    details = {"object": kind, "arg": argno}
    what = f"{helper} at insn {ins.idx}" if helper and ins is not None else where
    if helper:
        details["helper"] = helper
    summary = (f"argument #{argno} of {what} must point to an initialised {kind} on the "
               f"stack, but on this path nothing initialised it")
    init = _skipped_initialiser(ev.log, ev.log.error_insn)
    if init is not None:
        name = callee(init)
        details.update(initialiser=name, initialiser_insn=init.idx)
        summary += f" (it is set up by {name} at insn {init.idx}, which this path skips)"
    elif ev.log.branches:
        jumps = ", ".join(f"{a}->{b}" for a, b in ev.log.branches[-3:])
        details["branches"] = [list(b) for b in ev.log.branches]
        summary += f" (the failing path takes the jump(s) {jumps})"
    return Match(summary, details=details)


def _skipped_initialiser(log: VerifierLog, before: int | None) -> Insn | None:
    """A dynptr/iterator constructor call the log shows but the failing path does not go
    through (``bpf_ringbuf_reserve_dynptr`` under an ``if``)."""
    on_path = set(path_before(log, before))
    for idx in log.insns:
        ins = log.insns[idx]
        name = callee(ins)
        if name and idx not in on_path and _is_constructor(name):
            return ins
    return None


register(Cause(
    code="BD202", slug="uninit-stack", family="stack", priority=210,
    title="Stack memory read before it is written",
    explanation=(
        "The verifier tracks every byte of the 512-byte stack frame and knows which were "
        "written on the path being checked. Reading bytes nobody wrote, directly or through "
        "a helper argument, is refused for unprivileged loaders; recent kernels let "
        "privileged ones (CAP_PERFMON) read such bytes as unknown values. Stack slots "
        "that must hold a special object, a bpf_dynptr or an "
        "open-coded iterator, are checked for everyone: the object must have been "
        "initialised by its constructor on every path that reaches the use."),
    fix=("Initialise the buffer or object on every path before the use:\n"
         "  struct key k = {};                 /* zero padding too */\n"
         "  bpf_map_lookup_elem(&map, &k);\n"
         "  /* dynptrs: call the constructor unconditionally, and always release */\n"
         "  bpf_ringbuf_reserve_dynptr(&rb, sz, 0, &ptr);\n"
         "  ...\n"
         "  bpf_ringbuf_submit_dynptr(&ptr, 0);  /* or _discard_, also after a failure */"),
    matcher=_uninit_stack))


# --------------------------------------------------------------------------- BD203

_STACK_OOB = re.compile(
    r"invalid (variable-offset )?(?:(read from|write to|indirect access to|indirect) )?"
    r"stack R(\d+) (?:var_off=(\([^)]*\)|\S+) )?(?:off=(-?\d+) )?size=(-?\d+)")
_STACK_OOB_OLD = re.compile(r"invalid stack off=(-?\d+) size=(-?\d+)")
_VERB = {"read from": "reads", "write to": "writes", "indirect access to": "accesses",
         "indirect": "accesses", None: "accesses"}


def _stack_bounds(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    ins = ev.log.error_instruction
    where = insn_ref(ins, ev.log.error_insn)
    m = first_match(_STACK_OOB, lines)
    if m is None:
        old = first_match(_STACK_OOB_OLD, lines)
        if old is None:
            return None
        off, size = int(old.group(1)), int(old.group(2))
        return Match(f"{where} accesses {plural(size, 'byte')} at fp{off:+d}, outside the "
                     f"{_MAX_BPF_STACK}-byte stack frame", details={"off": off, "size": size})
    variable, op, reg = m.group(1), m.group(2), int(m.group(3))
    off = int(m.group(5)) if m.group(5) is not None else 0
    size = int(m.group(6))
    details: dict[str, object] = {"register": reg, "size": size}
    if m.group(5) is not None:
        details["off"] = off
    verb = _VERB.get(op, "accesses")
    helper = callee(ins)
    who = f"the call to {helper} at insn {ins.idx}" if helper and ins is not None else where
    if helper:
        details["helper"] = helper
    # The printed offset already includes the pointer's own fixed offset (fp-16).
    base = off
    if variable:
        details["var_off"] = m.group(4)
        return Match(f"{who} {verb} {plural(size, 'byte')} of the stack through R{reg} at a "
                     f"variable offset ({m.group(4)}) that may leave the "
                     f"{_MAX_BPF_STACK}-byte frame", details=details)
    end = base + size
    if end > 0:
        why = f"reaching {plural(end, 'byte')} above the frame pointer, into the caller's frame"
    elif base < -_MAX_BPF_STACK:
        why = f"below the {_MAX_BPF_STACK}-byte limit of the frame"
    else:
        why = "outside the frame"
    return Match(f"{who} {verb} {plural(size, 'byte')} at fp{base:+d} through R{reg}, {why}",
                 details=details)


register(Cause(
    code="BD203", slug="stack-bounds", family="stack", priority=220,
    title="Access outside the stack frame",
    explanation=(
        "Each BPF function has at most 512 bytes of stack, below the frame pointer R10 "
        "(offsets -512..-1). The verifier refuses any access, direct or by a helper through "
        "a pointer argument, that touches bytes outside that range: a size argument larger "
        "than the buffer, an index past its end, or a variable offset whose range may leave "
        "the frame."),
    fix=("Pass sizes computed from the buffer, and bound variable offsets:\n"
         "  char comm[16];\n"
         "  bpf_get_current_comm(comm, sizeof(comm));"),
    matcher=_stack_bounds))


# --------------------------------------------------------------------------- BD204

_COMBINED = re.compile(r"combined stack size of (\d+) calls is (\d+)\. Too large")
_COMBINED_EXC = re.compile(r"combined stack size of main and exception calls is (\d+)")
_TAIL = re.compile(r"tail_calls are not allowed when call stack of previous frames is (\d+) "
                   r"bytes\. Too large")


def _stack_too_large(ev: Evidence) -> Match | None:
    lines = ev.log.error_lines
    m = first_match(_COMBINED, lines)
    depths = ev.log.summary.stack_depth
    if m is not None:
        calls, total = int(m.group(1)), int(m.group(2))
        details: dict[str, object] = {"calls": calls, "total": total, "limit": _MAX_BPF_STACK}
        per = ""
        if depths:
            details["stack_depths"] = list(depths)
            per = f" (the log's per-function stack depths: {'+'.join(map(str, depths))})"
        summary = (f"a chain of {calls} nested BPF-to-BPF calls needs {total} bytes of stack "
                   f"in total{per}, more than the {_MAX_BPF_STACK}-byte limit")
        call = _overflowing_call(ev, depths, total)
        if call is not None:
            details["call_insn"] = call
            summary += f"; the call at insn {call} is the one that goes over"
        return Match(summary, insn=call, details=details)
    m = first_match(_COMBINED_EXC, lines)
    if m is not None:
        total = int(m.group(1))
        return Match(f"the main program and its exception callback need {total} bytes of "
                     f"stack together, more than {_MAX_BPF_STACK}",
                     details={"total": total, "limit": _MAX_BPF_STACK})
    m = first_match(_TAIL, lines)
    if m is not None:
        total = int(m.group(1))
        return Match(f"a tail call is made from a function whose callers already use {total} "
                     f"bytes of stack; with tail calls the limit per chain is 256 bytes",
                     details={"total": total, "limit": 256})
    return None


def _round16(depth: int) -> int:
    """Frame size as JIT-ed programs account it (``round_up_stack_depth``, 6.x)."""
    return (depth + 15) // 16 * 16


def _round32(depth: int) -> int:
    """Frame size as the interpreter (and kernels before 6.x) account it."""
    return (max(depth, 1) + 31) // 32 * 32


def _overflowing_call(ev: Evidence, depths: tuple[int, ...], total: int) -> int | None:
    """The instruction (slot) of the BPF-to-BPF call whose frame takes a call chain past
    512 bytes, from the object's calls and the log's per-function stack depths.  The
    kernel's own total picks the rounding rule; None when the object is not at hand or
    its functions do not line up with the depths the log lists."""
    prog = ev.program
    if prog is None or not depths:
        return None
    offs = slot_offsets(prog.instructions)
    calls: dict[int, list[tuple[int, int]]] = {}
    starts = {0}
    for ins, slot in zip(prog.instructions, offs, strict=True):
        if ins.is_bpf_call:
            starts.add(slot + ins.imm + 1)
    ordered = sorted(starts)
    if len(ordered) != len(depths):
        return None
    owner = {s: i for i, s in enumerate(ordered)}
    for ins, slot in zip(prog.instructions, offs, strict=True):
        if ins.is_bpf_call:
            fn = max(i for i, s in enumerate(ordered) if s <= slot)
            calls.setdefault(fn, []).append((slot, owner[slot + ins.imm + 1]))
    fallback = None
    for rnd in (_round16, _round32):
        hit = _walk(0, rnd(depths[0]), calls, depths, rnd, ())
        if hit is not None and hit[1] == total:
            return hit[0]
        fallback = fallback if fallback is not None else hit
    return fallback[0] if fallback is not None else None


def _walk(fn: int, used: int, calls: dict[int, list[tuple[int, int]]],
          depths: tuple[int, ...], rnd: Callable[[int], int],
          stack: tuple[int, ...]) -> tuple[int, int] | None:
    """Depth-first over the call graph: ``(call slot, total)`` of the first call that takes
    the chain past the limit (recursion is refused elsewhere by the verifier)."""
    for slot, callee_fn in calls.get(fn, []):
        if callee_fn in stack or len(stack) > 8:
            continue
        total = used + rnd(depths[callee_fn])
        if total > _MAX_BPF_STACK:
            return slot, total
        hit = _walk(callee_fn, total, calls, depths, rnd, (*stack, fn))
        if hit is not None:
            return hit
    return None


register(Cause(
    code="BD204", slug="stack-too-large", family="stack", priority=230,
    title="Stack too large across calls",
    explanation=(
        "A BPF-to-BPF call places the callee's frame below the caller's on the same kernel "
        "stack, so the verifier adds up the frames (rounded up to 16 bytes each for JIT-ed "
        "programs, 32 for the interpreter) along every "
        "call chain and refuses the program when a chain exceeds 512 bytes, even though each "
        "function fits on its own. Functions that make tail calls are limited to 256 bytes "
        "of caller frames. Recent x86-64 kernels give tracing programs a private per-CPU "
        "stack and check frames one by one; networking programs still get the combined "
        "check."),
    fix=("Move large buffers off the stack into a per-CPU array used as scratch space:\n"
         "  struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1);\n"
         "           __type(key, __u32); __type(value, struct buf); } scratch SEC(\".maps\");\n"
         "  struct buf *b = bpf_map_lookup_elem(&scratch, &zero);\n"
         "  if (!b) return 0;"),
    matcher=_stack_too_large))
