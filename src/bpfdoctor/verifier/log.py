"""The verifier log, read line by line into a model of what the verifier did.

What the verifier prints (``kernel/bpf/verifier.c``, ``kernel/bpf/log.c``), by line:

* instructions, ``9: (db) lock *(u64 *)(r0 +0) += r1`` -- with log level 2, or on the path
  being reported at level 1 -- usually followed on the same line by ``; R0=...``, the
  registers and stack slots the instruction touched;
* full states, ``0: R1=ctx() R10=fp0``, at the start of a path, and ``from 17 to 21: ...``
  when the verifier goes back to a branch it left for later (level 2); a branch taken on the
  reported path is glued to its jump at level 1: ``17: (6d) if r8 s> r0 goto pc+3 21: R0=...``;
* ``; text @ file.c:13``: the C line of the next instructions (BTF line info);
* ``N: safe``/``from X to Y: safe``: a path pruned because an equivalent state was seen;
* precision backtracking (``mark_precise: frame0: regs=r2 stack= before 5: ...``), call and
  return dumps (``caller:``, ``callee:``, ``returning from callee:``, ``to caller at 13:``),
  subprogram lines (``func#1 @20``, ``Validating f() func#1...``), liveness tables;
* the error, free text, then perhaps ``cur state:``/``old state:`` dumps, then the
  statistics (``verification time``, ``stack depth``, ``processed N insns ...``).

The parser makes one pass and one regex dispatch per line; it keeps raw lines and parses
registers only when asked.  Memory stays flat on huge logs: per instruction it keeps the
last line printed for it, and of the paths only the current one (the one that failed, when
the log ends in an error).  Unknown lines are kept (up to a limit) and never fatal.
"""

from __future__ import annotations

import enum
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .extract import ExtractedLog
from .regs import RegState, StackSlot, VerifierState, parse_state
from .summary import VerifierStats, parse_summary

MAX_UNKNOWN_LINES = 10_000
"""Unknown lines kept verbatim; beyond this only :attr:`VerifierLog.unknown_count` grows."""
MAX_ERROR_LINES = 64
"""The error is the run of free-text lines at the end of the log, at most this many."""

# One regex for every line that starts with a digit: an instruction ("9: (db) ..."),
# "N: safe", or a state ("0: R1=ctx() R10=fp0", "28: frame1: R1=2", "20: refs=2").
# Indices are bounded (no program has 10^9 instructions) so that int() never meets the
# interpreter's digit limit on garbage; ASCII only, as the kernel prints.
_DIGIT = re.compile(
    r"(\d{1,9}):(?: \(([0-9a-f]{2})\) | (safe)\s*\Z|(?= (?:frame\d+:|R\d|fp-?\d|refs=|cb\b))"
    r"|\s*\Z)", re.ASCII)
_FROM = re.compile(r"from (\d{1,9}) to (\d{1,9})(?: \([^)]*\))?:(.*)\Z", re.ASCII | re.DOTALL)
_SOURCE = re.compile(r";\s?(.*?)(?: @ (\S+):(\d{1,9}))?\s*\Z", re.ASCII | re.DOTALL)
_FUNC = re.compile(r"func#(\d{1,9}) @(\d{1,9})", re.ASCII)
_LIVE_LISTING = re.compile(r"\s+(?:\d+\s+)?(\d{1,9}): ([.0-9]{10}) \(", re.ASCII)
_BARE_STATE = re.compile(r"\s+(?:frame\d+:|R\d+[_=]|fp-?\d+[_=]|refs=)", re.ASCII)
_TO_CALLER = re.compile(r"to caller at (\d{1,9}):", re.ASCII)
_INLINE_BRANCH = re.compile(r" (\d{1,9}):(?= (?:frame\d+: )?(?:R\d+[_=]|fp-?\d+[_=]|refs=))",
                            re.ASCII)
_ERROR_INSN = re.compile(r"\b(?:at|from) insn (\d{1,9})\b|^unreachable insn (\d{1,9})\b",
                         re.ASCII)
_HELPER_CALL = re.compile(r"call (?!pc[+-])")

_SUMMARY_PREFIXES = ("processed ", "verification time", "stack depth")
_LOOP_STATE_PREFIXES = ("cur state:", "old state:")
_PRECISE_PREFIXES = ("mark_precise:", "last_idx ", "regs=", "parent didn't have",
                     "parent already had", "propagating ")
_CALL_PREFIXES = ("caller:", "callee:", "returning from callee:", "to caller at ")
_SUBPROG_PREFIXES = ("Func#", "Validating ", "func#")
_INFO_PREFIXES = ("SCC ",)


class LineKind(enum.Enum):
    """What one log line is (see the module docstring)."""

    INSN = "insn"
    STATE = "state"
    SAFE = "safe"
    SOURCE = "source"
    BRANCH = "branch"
    PRECISE = "precise"
    CALL = "call"
    SUBPROG = "subprog"
    LIVENESS = "liveness"
    INFO = "info"
    SUMMARY = "summary"
    LOOP_STATE = "loop_state"
    BLANK = "blank"
    MESSAGE = "message"
    """Free text: an error or a message this parser does not know."""


def _classify_other(line: str) -> LineKind:
    """Every kind but the digit-led ones (instructions, states, ``N: safe``)."""
    c = line[:1]
    if c == ";":
        return LineKind.SOURCE
    if c == "f" and line.startswith("from ") and _FROM.match(line):
        return LineKind.BRANCH
    if c in (" ", "\t"):
        if _BARE_STATE.match(line):
            return LineKind.STATE
        if _LIVE_LISTING.match(line):
            return LineKind.LIVENESS
        s = line.strip()
        if not s:
            return LineKind.BLANK
        if s.startswith(_SUMMARY_PREFIXES):
            return LineKind.SUMMARY
        return LineKind.MESSAGE
    if not line.strip():
        return LineKind.BLANK
    if line.startswith(_PRECISE_PREFIXES) or (c == "f" and line.startswith("frame ")
                                               and ": propagating " in line):
        return LineKind.PRECISE
    if line.startswith(_SUMMARY_PREFIXES):
        return LineKind.SUMMARY
    if line.startswith(_LOOP_STATE_PREFIXES):
        return LineKind.LOOP_STATE
    if line.startswith(_CALL_PREFIXES):
        return LineKind.CALL
    if line.startswith(_SUBPROG_PREFIXES):
        return LineKind.SUBPROG
    if c == "(" and (" frame " in line or " live stack " in line):
        return LineKind.LIVENESS
    if line.startswith("Live regs before insn:"):
        return LineKind.LIVENESS
    if line.startswith(_INFO_PREFIXES):
        return LineKind.INFO
    return LineKind.MESSAGE


def classify_line(line: str) -> LineKind:
    """The kind of one log line; the parser makes the same decision."""
    if "0" <= line[:1] <= "9":
        m = _DIGIT.match(line)
        if m is None:
            return LineKind.MESSAGE
        if m.group(2) is not None:
            return LineKind.INSN
        if m.group(3) is not None:
            return LineKind.SAFE
        return LineKind.STATE
    return _classify_other(line)


# --------------------------------------------------------------------------- model objects


@dataclass(frozen=True)
class SourceLine:
    """A ``; text @ file.c:13`` line.  ``file``/``line`` are None on kernels before 6.5,
    which printed the text alone.  ``insn`` is the first instruction it was printed before."""

    text: str
    file: str | None = None
    line: int | None = None
    insn: int | None = None

    @classmethod
    def parse(cls, raw: str, insn: int | None = None) -> SourceLine:
        m = _SOURCE.match(raw)
        if not m:  # pragma: no cover - the regex accepts any line starting with ';'
            return cls(raw, insn=insn)
        return cls(m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None, insn)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}" if self.file else self.text


@dataclass(frozen=True)
class Insn:
    """An instruction line, as last printed for its index.

    ``text`` is the instruction without its opcode byte and without the state after it
    (``lock *(u64 *)(r0 +0) += r1``).  ``frame`` is the call depth it was last seen at,
    ``source`` the C line printed before it.  ``state`` is the state printed after it, if
    any; ``branch_to`` is set when, at log level 1, a jump's target state was printed on the
    same line (the reported path took that branch).
    """

    idx: int
    opcode: int
    text: str
    raw: str
    frame: int = 0
    source: SourceLine | None = None
    state_text: str | None = None
    branch_to: int | None = None
    branch_state_text: str | None = None

    @property
    def state(self) -> VerifierState | None:
        return parse_state(self.state_text) if self.state_text is not None else None

    @property
    def branch_state(self) -> VerifierState | None:
        """The state at ``branch_to`` (complete: the one the verifier resumed)."""
        t = self.branch_state_text
        return parse_state(t) if t is not None else None

    @property
    def is_helper_call(self) -> bool:
        """A call to a helper or kfunc (not ``call pc+N``): it clobbers R1-R5."""
        return self.opcode == 0x85 and bool(_HELPER_CALL.match(self.text))

    def __str__(self) -> str:
        return f"{self.idx}: ({self.opcode:02x}) {self.text}"


def _split_insn(raw: str) -> tuple[int, int, str, str | None, int | None, str | None]:
    """``raw`` insn line -> idx, opcode, text, state after it, inline branch target and
    that target's state."""
    colon = raw.index(":")
    idx = int(raw[:colon])
    opcode = int(raw[colon + 3:colon + 5], 16)
    body = raw[colon + 7:]
    # The instruction text has no ';', so the first one starts the state, except that a
    # level-1 branch target ("goto pc+3 21: R0=...") may come first and hold "var_off=(v; m)".
    semi = body.find(";")
    m = _INLINE_BRANCH.search(body, 0, semi if semi >= 0 else len(body))
    if m:
        return idx, opcode, body[:m.start()].rstrip(), None, int(m.group(1)), \
            body[m.end():].strip()
    if semi >= 0:
        return idx, opcode, body[:semi].rstrip(), body[semi + 1:].strip(), None, None
    return idx, opcode, body.rstrip(), None, None, None


def _state_part(raw: str) -> str:
    """The state of an ``N: ...``, ``from X to Y: ...`` or bare state line."""
    s = raw.lstrip()
    if "0" <= s[:1] <= "9":
        return s[s.index(":") + 1:].strip()
    m = _FROM.match(s)
    if m:
        return m.group(3).strip()
    return s


def _frame_of(state_text: str) -> int:
    s = state_text.lstrip()
    if s.startswith("frame"):
        end = s.find(":")
        if 5 < end < 15 and s[5:end].isascii() and s[5:end].isdigit():
            return int(s[5:end])
    return 0


class _InsnView(Mapping[int, Insn]):
    """``log.insns``: instruction index -> :class:`Insn`, built on access."""

    def __init__(self, raw: dict[int, tuple[str, int, str | None]],
                 after: dict[int, str]) -> None:
        self._raw = raw
        self._after = after
        self._cache: dict[int, Insn] = {}

    def __getitem__(self, idx: int) -> Insn:
        hit = self._cache.get(idx)
        if hit is not None:
            return hit
        line, frame, src = self._raw[idx]
        i, op, text, state, bto, bstate = _split_insn(line)
        if state is None and idx in self._after:
            state = self._after[idx].strip()
        insn = Insn(idx=i, opcode=op, text=text, raw=line, frame=frame,
                    source=SourceLine.parse(src) if src is not None else None,
                    state_text=state, branch_to=bto, branch_state_text=bstate)
        self._cache[idx] = insn
        return insn

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._raw))

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, idx: object) -> bool:
        return idx in self._raw


# --------------------------------------------------------------------------- the log


@dataclass
class VerifierLog:
    """A parsed verifier log.  Build it with :func:`parse_log`."""

    error_lines: list[str] = field(default_factory=list)
    """The verifier's error message, one or more free-text lines after the last instruction
    (``Unreleased reference id=2 alloc_insn=6`` / ``BPF_EXIT instruction ... leak``); empty
    when the log does not end in an error.  Trailing ``cur state:``/``old state:`` dumps and
    the statistics are not part of it."""
    error_insn: int | None = None
    """The instruction the error is about: named by the message (``at insn 9``), else the
    instruction (or state) printed just before the error, else None (errors found after the
    walk, such as the combined stack size)."""
    summary: VerifierStats = field(default_factory=VerifierStats)
    truncated: bool = False
    """The log does not begin at the start of the program (instruction 0): the kernel's
    log buffer was too small and it kept the tail, or the paste is incomplete."""
    unknown_lines: list[str] = field(default_factory=list)
    """Free-text lines, kept verbatim (the error lines are among them), at most
    :data:`MAX_UNKNOWN_LINES`."""
    unknown_count: int = 0
    subprograms: dict[int, int] = field(default_factory=dict)
    """``func#N @M``: subprogram N starts at instruction M (log level 2)."""
    level: int = 0
    """Best guess of the log level: 2 when paths, pruning or precision lines are printed, 1
    when instructions are, else 0 (statistics or a bare message)."""
    line_count: int = 0
    cur_state_text: str | None = None
    old_state_text: str | None = None
    program: str | None = None
    format: str = "kernel"
    errno_text: str | None = None
    backtracking: list[str] = field(default_factory=list)
    """Precision backtracking lines (``mark_precise: ...``) printed after the last
    instruction line: while checking the error instruction, when the log ends in an error."""
    path_restarts: int = 0
    """Times a ``from X to Y`` named a branch not on the path being tracked (a log that
    starts mid-way); the path then restarts at Y."""

    # What the parser kept, raw; the properties below parse it on demand.
    _insns: dict[int, tuple[str, int, str | None]] = field(default_factory=dict, init=False)
    """insn -> (last line printed for it, frame, the source line before it)"""
    _after: dict[int, str] = field(default_factory=dict, init=False)
    """insn -> a state printed on the next, indented line (older kernels did not glue it)"""
    _before: dict[int, str] = field(default_factory=dict, init=False)
    """insn -> the last ``N: state`` or ``from X to N: state`` line"""
    _sources: dict[str, int | None] = field(default_factory=dict, init=False)
    _path: list[str] = field(default_factory=list, init=False)
    """lines of the current path: instructions, states, branch markers"""
    _live: dict[int, str] = field(default_factory=dict, init=False)

    # -- the error ------------------------------------------------------------------------
    @property
    def error(self) -> str | None:
        """The error lines joined with newlines, or None."""
        return "\n".join(self.error_lines) if self.error_lines else None

    @property
    def error_one_line(self) -> str | None:
        """The error on one line (lines joined with ``"; "``), as reports show it, or None."""
        return "; ".join(line.strip() for line in self.error_lines) or None

    @property
    def error_instruction(self) -> Insn | None:
        if self.error_insn is None or self.error_insn not in self._insns:
            return None
        return self.insns[self.error_insn]

    # -- instructions and states ----------------------------------------------------------
    @cached_property
    def insns(self) -> Mapping[int, Insn]:
        """Instruction index -> the last line printed for it."""
        return _InsnView(self._insns, self._after)

    def state_at(self, idx: int) -> VerifierState | None:
        """The state printed after instruction ``idx`` ran (last time it was printed): the
        registers and slots it touched, ``7: (85) call ... ; R0=map_value_or_null(...)``."""
        if idx not in self._insns:
            return None
        return self.insns[idx].state

    def state_before(self, idx: int) -> VerifierState | None:
        """The state printed on reaching ``idx`` (``21: R0=...``, ``from 17 to 21: ...``,
        a level-1 branch target), last time one was printed; usually complete."""
        raw = self._before.get(idx)
        if raw is not None:
            return parse_state(_state_part(raw))
        for kind, ev in reversed(self._path_events):
            if kind is LineKind.INSN:
                ins = _split_insn(ev)
                if ins[4] == idx and ins[5] is not None:
                    return parse_state(ins[5])
        return None

    @cached_property
    def source_lines(self) -> list[SourceLine]:
        """Each distinct source line, in order of first appearance, with the first
        instruction printed after it."""
        return [SourceLine.parse(raw, insn) for raw, insn in self._sources.items()]

    def live_regs(self, idx: int) -> frozenset[int] | None:
        """Registers live before ``idx`` per the ``Live regs before insn:`` table (6.16+)."""
        raw = self._live.get(idx)
        if raw is None:
            return None
        m = _LIVE_LISTING.match(raw)
        if m is None:  # pragma: no cover - stored only when it matched
            return None
        return frozenset(int(c) for c in m.group(2) if c != ".")

    @property
    def cur_state(self) -> VerifierState | None:
        """``cur state:`` printed with an infinite-loop error."""
        t = self.cur_state_text
        return parse_state(t.split(":", 1)[1]) if t is not None else None

    @property
    def old_state(self) -> VerifierState | None:
        t = self.old_state_text
        return parse_state(t.split(":", 1)[1]) if t is not None else None

    # -- the path -------------------------------------------------------------------------
    @cached_property
    def _path_events(self) -> list[tuple[LineKind, str]]:
        return [(classify_line(ev), ev) for ev in self._path]

    @cached_property
    def path(self) -> list[int]:
        """Instruction indices of the last path walked, in order: the path to the error
        when the log ends in one."""
        return [int(ev[:ev.index(":")]) for k, ev in self._path_events if k is LineKind.INSN]

    @cached_property
    def branches(self) -> list[tuple[int, int]]:
        """``(from, to)`` of the branches the last path took where the log says so:
        ``from X to Y`` lines (level 2) and jumps printed with their target (level 1)."""
        out: list[tuple[int, int]] = []
        for k, ev in self._path_events:
            if k is LineKind.BRANCH:
                m = _FROM.match(ev)
                assert m is not None
                out.append((int(m.group(1)), int(m.group(2))))
            elif k is LineKind.INSN:
                ins = _split_insn(ev)
                if ins[4] is not None:
                    out.append((ins[0], ins[4]))
        return out

    @cached_property
    def error_state(self) -> VerifierState | None:
        """What the verifier knew when it checked the last instruction of the last path
        (the error instruction, when the log ends in an error): the state of the current
        frame accumulated along the path from its last complete state.  Registers an
        instruction did not touch keep their earlier value; a helper call clobbers R1-R5.
        None when the log has no path."""
        if not self._path:
            return None
        return _replay(self._path_events)

    def __repr__(self) -> str:
        return (f"VerifierLog(program={self.program!r}, error={self.error!r}, "
                f"error_insn={self.error_insn}, insns={len(self._insns)}, "
                f"level={self.level}, truncated={self.truncated})")


# --------------------------------------------------------------------------- replay


class _Frame:
    __slots__ = ("regs", "stack")

    def __init__(self) -> None:
        self.regs: dict[int, RegState] = {}
        self.stack: dict[int, StackSlot] = {}

    def merge(self, st: VerifierState, *, full: bool) -> None:
        if full:
            self.regs = dict(st.regs)
            self.stack = dict(st.stack)
        else:
            self.regs.update(st.regs)
            self.stack.update(st.stack)


def _replay(events: list[tuple[LineKind, str]]) -> VerifierState:
    start = 0
    for i in range(len(events) - 1, -1, -1):
        if events[i][0] is LineKind.BRANCH:
            start = i
            break
    frames: dict[int, _Frame] = {}
    cur = 0
    refs: tuple[int, ...] = ()

    def apply(text: str, full: bool) -> None:
        nonlocal cur, refs
        st = parse_state(text)
        cur = st.frame
        frames.setdefault(cur, _Frame()).merge(st, full=full)
        if st.refs or full:
            refs = st.refs

    # The error is raised while checking the last instruction, before it takes effect.
    last = len(events) - 1
    while last >= start and events[last][0] is not LineKind.INSN:
        last -= 1
    for i in range(start, len(events)):
        kind, ev = events[i]
        if i == last:
            continue
        if kind is LineKind.BRANCH:
            text = _state_part(ev)
            if text != "safe":
                apply(text, True)
        elif kind is LineKind.STATE:
            apply(_state_part(ev), False)
        elif kind is LineKind.INSN:
            _, op, text, state, _, bstate = _split_insn(ev)
            fr = frames.setdefault(cur, _Frame())
            if op == 0x85 and _HELPER_CALL.match(text):
                for r in (1, 2, 3, 4, 5):
                    fr.regs.pop(r, None)
            if state:
                apply(state, False)
            if bstate is not None:
                apply(bstate, True)
    fr = frames.get(cur, _Frame())
    return VerifierState(raw="", frame=cur, regs=dict(sorted(fr.regs.items())),
                         stack=dict(sorted(fr.stack.items(), reverse=True)), refs=refs)


# --------------------------------------------------------------------------- the parser


class _PathTracker:
    """The path the verifier is walking, as the log lines printed on it.

    A ``from X to Y`` line means the verifier resumed a state it pushed at the branch X of
    the current path, so the path is cut back to that X.  When X occurs several times (a
    loop), the latest occurrence not resumed yet is the one: the verifier's stack is LIFO.
    ``occ`` maps an instruction to the (position, line) of its occurrences; entries cut off
    the path go stale and are dropped when met, or all at once when they pile up, so memory
    stays proportional to the current path.
    """

    __slots__ = ("entries", "events", "occ", "restarts", "resumed")

    def __init__(self) -> None:
        self.events: list[str] = []
        self.occ: dict[int, list[tuple[int, str]]] = {}
        self.entries = 0
        self.resumed: list[int] = []  # positions of branch points resumed, increasing
        self.restarts = 0

    def add_insn(self, idx: int, line: str) -> None:
        stack = self.occ.get(idx)
        if stack is None:
            self.occ[idx] = [(len(self.events), line)]
        else:
            stack.append((len(self.events), line))
        self.entries += 1
        self.events.append(line)

    def resume(self, x: int) -> None:
        """Cut the path back to branch point ``x``; start afresh if it is not on it."""
        events = self.events
        pos = -1
        stack = self.occ.get(x)
        while stack:
            p, ln = stack.pop()
            if p < len(events) and events[p] is ln:
                pos = p
                break
        if pos < 0:
            self.restarts += 1 if events else 0
            self.reset()
            return
        del events[pos + 1:]
        resumed = self.resumed
        while resumed and resumed[-1] >= pos:
            resumed.pop()
        resumed.append(pos)
        if self.entries > 2 * len(events) + 4096:
            self._reindex()

    def reset(self) -> None:
        self.events.clear()
        self.occ.clear()
        self.resumed.clear()
        self.entries = 0

    def _reindex(self) -> None:
        done = set(self.resumed)
        occ: dict[int, list[tuple[int, str]]] = {}
        for p, ln in enumerate(self.events):
            if p not in done and "0" <= ln[:1] <= "9":
                m = _DIGIT.match(ln)
                if m is not None and m.group(2) is not None:
                    occ.setdefault(int(m.group(1)), []).append((p, ln))
        self.occ = occ
        self.entries = sum(len(v) for v in occ.values())


def _lines_of(source: Any) -> Iterable[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return source.splitlines()
    if isinstance(source, io.TextIOBase) or hasattr(source, "readline"):
        return (ln.rstrip("\r\n") for ln in source)
    return source  # type: ignore[no-any-return]


def parse_log(source: str | bytes | Iterable[str] | ExtractedLog) -> VerifierLog:
    """Parse a verifier log: a string, bytes, an iterable of lines (a file object works and
    is read as a stream), or an :class:`~bpfdoctor.verifier.extract.ExtractedLog`.  The
    text must be the kernel's log itself; use :func:`extract_logs` for pasted tool output.
    Never raises on content."""
    if not isinstance(source, ExtractedLog):
        return _parse(_lines_of(source))
    log = _parse(source.lines)
    log.program, log.format, log.errno_text = source.program, source.format, source.errno_text
    log.truncated = log.truncated or source.truncated
    return log


def _parse(lines: Iterable[str]) -> VerifierLog:
    insns: dict[int, tuple[str, int, str | None]] = {}
    after: dict[int, str] = {}
    before: dict[int, str] = {}
    sources: dict[str, int | None] = {}
    live: dict[int, str] = {}
    tracker = _PathTracker()
    path = tracker.events
    unknown: list[str] = []
    summary_lines: list[str] = []
    subprogs: dict[int, int] = {}
    msgs: list[str] = []
    msgs_anchor: int | None = None  # error_insn candidate when the message run began
    unknown_count = 0
    cur_src: str | None = None
    pending_src: str | None = None
    frame = 0
    last_insn: int | None = None
    anchor: int | None = None  # insn/state index the next message would be about
    first_pos: int | None = None  # index of the first instruction/state, -1 for a branch
    bare_after_insn = False
    level2 = False
    cur_state = old_state = None
    n = 0
    digit = _DIGIT.match
    inline_branch = _INLINE_BRANCH.search
    path_append = path.append
    add_insn = tracker.add_insn
    precise: list[str] = []  # backtracking lines printed since the last instruction
    precise_append = precise.append

    for line in lines:
        n += 1
        c = line[:1]
        if "0" <= c <= "9":
            m = digit(line)
            if m is not None:
                if m.group(2) is not None:  # instruction
                    idx = int(m.group(1))
                    insns[idx] = (line, frame, cur_src)
                    add_insn(idx, line)
                    if precise:
                        precise.clear()
                    last_insn = anchor = idx
                    bare_after_insn = True
                    if pending_src is not None:
                        if pending_src not in sources:
                            sources[pending_src] = idx
                        pending_src = None
                    if msgs:
                        msgs = []
                    if first_pos is None:
                        first_pos = idx
                    if not level2 and inline_branch(line, m.end()):
                        # Level 1: the kernel rewound its log to this jump when it resumed
                        # the branch; source lines printed on the abandoned path are gone
                        # and it will not print the target's again, so it is unknown.
                        cur_src = None
                    continue
                idx = int(m.group(1))
                if m.group(3) is not None:  # "N: safe"
                    level2 = True
                    anchor = None
                else:  # "N: state"
                    before[idx] = line
                    path_append(line)
                    anchor = idx
                    rest = line[m.end():].lstrip()
                    frame = _frame_of(rest)
                    if first_pos is None:
                        first_pos = idx
                if msgs:
                    msgs = []
                bare_after_insn = False
                continue
            kind = LineKind.MESSAGE
        elif c == ";":
            cur_src = pending_src = line
            if msgs:
                msgs = []
            continue
        elif c == "m" and line.startswith("mark_precise:"):
            # the bulk of a level-2 log: only those of the last instruction are kept
            precise_append(line)
            level2 = True
            if msgs:
                msgs = []
            continue
        else:
            kind = _classify_other(line)

        if kind is LineKind.MESSAGE:
            if not msgs:
                msgs_anchor = anchor
            msgs.append(line)
            if len(msgs) > MAX_ERROR_LINES:
                del msgs[0]
            unknown_count += 1
            if len(unknown) < MAX_UNKNOWN_LINES:
                unknown.append(line)
            continue
        if kind is LineKind.BLANK:
            continue
        if kind is LineKind.SUMMARY:
            summary_lines.append(line)
            continue
        if kind is LineKind.LOOP_STATE:
            if line.startswith("cur"):
                cur_state = line
            else:
                old_state = line
            continue
        # every other kind is progress: a message before it was not the final error
        if msgs:
            msgs = []
        if kind is LineKind.PRECISE:
            level2 = True
            precise_append(line)
        elif kind is LineKind.BRANCH:
            level2 = True
            bare_after_insn = False
            fm = _FROM.match(line)
            assert fm is not None
            x, y, rest = int(fm.group(1)), int(fm.group(2)), fm.group(3).strip()
            if first_pos is None:
                first_pos = -1
            tracker.resume(x)
            path_append(line)
            precise.clear()
            if rest == "safe":
                anchor = None
            else:
                before[y] = line
                frame = _frame_of(rest)
                anchor = y
        elif kind is LineKind.STATE:  # bare state line (leading space)
            path_append(line)
            frame = _frame_of(line)
            if bare_after_insn and last_insn is not None:
                after[last_insn] = line
        elif kind is LineKind.CALL:
            bare_after_insn = False
            tm = _TO_CALLER.match(line)
            if tm:
                anchor = int(tm.group(1))
        elif kind is LineKind.SUBPROG:
            fm2 = _FUNC.match(line)
            if fm2:
                subprogs[int(fm2.group(1))] = int(fm2.group(2))
            else:
                anchor = None
                if line.startswith("Validating "):
                    # A global function is verified on its own: a new walk, a new path.
                    tracker.reset()
                    precise.clear()
                    if first_pos is None:
                        first_pos = 0
        elif kind is LineKind.LIVENESS:
            lm = _LIVE_LISTING.match(line)
            if lm:
                live[int(lm.group(1))] = line
        # INFO: nothing to keep

    log = VerifierLog()
    log.line_count = n
    log._insns, log._after, log._before = insns, after, before
    log._sources, log._path, log._live = sources, path, live
    log.backtracking = precise
    log.unknown_lines, log.unknown_count = unknown, unknown_count
    log.subprograms = subprogs
    log.summary = parse_summary(summary_lines)
    log.cur_state_text, log.old_state_text = cur_state, old_state
    log.path_restarts = tracker.restarts
    log.level = 2 if level2 or live else (1 if insns else 0)
    log.truncated = first_pos is not None and first_pos != 0
    if msgs:
        log.error_lines = msgs
        log.error_insn = _error_insn(msgs, msgs_anchor)
    return log


def _error_insn(msgs: list[str], anchor: int | None) -> int | None:
    for line in msgs:
        m = _ERROR_INSN.search(line)
        if m:
            return int(m.group(1) or m.group(2))
    return anchor
