"""The log parser against real verifier logs of this kernel.

Every example is loaded with bpfdoctor's loader at log level 1 and 2 (with statistics) and
its log parsed.  The facts checked come from outside the parser:

* the example's ``// EXPECT: <errno> <text>`` header: the parsed error contains the text and
  the load failed with that errno;
* the object file: every instruction line of the log prints the instruction our ELF reader
  and disassembler put at that index, and the C line printed before it is the one the
  object's BTF line info maps it to;
* the kernel itself: at log level 1 the kernel prints only the path that failed (it rewinds
  its log when it abandons a path), so the failing path reconstructed from a level-2 log must
  equal the level-1 log's path;
* the statistics equal :func:`parse_summary` (what the loader reports) on the same lines;
* bpftool -d and the libbpf reference loader print the same logs wrapped in their own
  format; extracting them must give our lines back.

``BPFDOCTOR_UPDATE_LOG_FIXTURES=1`` rewrites the unit-test fixtures in ``tests/data/logs``
from this kernel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from bpfdoctor import VerifierError, load_collection_spec
from bpfdoctor.asm import format_instruction, slot_offsets
from bpfdoctor.errors import errno_name
from bpfdoctor.loader import Collection, LoadOptions
from bpfdoctor.spec import CollectionSpec
from bpfdoctor.verifier import (
    LineKind,
    VerifierLog,
    classify_line,
    extract_logs,
    parse_log,
    parse_summary,
)
from support.build import EXAMPLES, compile_bpf, example_sources
from support.reference import run_reference

FAILURES = example_sources("failures")
GOOD = example_sources()
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "logs"
_EXPECT = re.compile(r"^//\s*EXPECT:\s*(E[A-Z0-9]+)\s+(\S.*?)\s*$", re.MULTILINE)
_KADDR = re.compile(r"0xffff[0-9a-f]{12}")
_USEC = re.compile(r"verification time \d+ usec")

# (example, program, level) -> fixture name; level 6 = 2|4, 5 = 1|4.
_FIXTURES = {
    ("null_check", "count_openat", 6): "null_check.L6.log",
    ("reference_leak", "stream_opens", 5): "reference_leak.L5.log",
    ("reference_leak", "stream_opens", 6): "reference_leak.L6.log",
    ("unbounded_loop", "xdp_wait_ready", 5): "unbounded_loop.L5.log",
    ("packet_bounds", "xdp_drop_icmp", 5): "packet_bounds.L5.log",
    ("stack_too_large", "classify_payload", 5): "stack_too_large.L5.log",
    ("uninit_stack", "log_creates", 6): "uninit_stack.L6.log",
    ("map_value_bounds", "mode_histogram", 5): "map_value_bounds.L5.log",
    ("subprog", "on_enter", 6): "subprog_on_enter.L6.log",
}


def _id(p: Path) -> str:
    return p.name.removesuffix(".bpf.c")


def _expect(src: Path) -> tuple[str, str]:
    m = _EXPECT.search("\n".join(src.read_text().splitlines()[:5]))
    assert m, src
    return m.group(1), m.group(2)


@cache
def _spec(src: Path) -> CollectionSpec:
    return load_collection_spec(compile_bpf(src))


def _load(src: Path, program: str, level: int) -> tuple[list[str], VerifierError | None]:
    """Load one program at ``level`` (bit 4 = statistics); its log and the error, if any."""
    opts = LoadOptions(log_level=level & 3, stats=bool(level & 4))
    try:
        with Collection(_spec(src), programs=[program], options=opts) as coll:
            return list(coll.programs[program].log), None
    except VerifierError as e:
        return list(e.log), e


# Real tool output kept for the extraction unit tests: example -> fixture name.
_PASTE_FIXTURES = {"bpftool": {"null_check": "paste.bpftool.null_check.log"},
                   "libbpf": {"reference_leak": "paste.libbpf.reference_leak.log"}}


def _save(name: str | None, text: str) -> None:
    if name and os.environ.get("BPFDOCTOR_UPDATE_LOG_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        (FIXTURES / name).write_text(text)


def _maybe_save(src: Path, program: str, level: int, lines: list[str]) -> None:
    _save(_FIXTURES.get((_id(src), program, level)), "\n".join(lines) + "\n")


def _check_against_object(log: VerifierLog, src: Path, program: str) -> None:
    """Instruction text and source lines against the object file."""
    ps = _spec(src).programs[program]
    by_slot = dict(zip(slot_offsets(ps.instructions), ps.instructions, strict=True))
    lines_at = sorted((r.insn, r) for r in ps.line_info)
    assert log.insns, "no instruction lines"
    for idx in log.insns:
        ins = log.insns[idx]
        assert idx in by_slot, f"log names insn {idx}, not an instruction start in the object"
        want = format_instruction(by_slot[idx])
        got = f"({ins.opcode:02x}) {ins.text}"
        if ins.opcode == 0x18:  # ld_imm64 of a map: the kernel prints its own address
            assert want.split(" = ")[0] == got.split(" = ")[0]
        else:
            assert got == want, f"insn {idx}"
        if ins.source is not None and lines_at:
            rec = max((r for i, r in lines_at if i <= idx), key=lambda r: r.insn)
            assert ins.source.line == rec.line, f"insn {idx}: {ins.source} vs {rec}"
            assert ins.source.text == rec.line_text.strip()
            assert ins.source.file == os.path.basename(rec.file_name)


# ---- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_failure_logs_parse_to_the_expected_error(src: Path) -> None:
    errno, text = _expect(src)
    parsed: dict[int, VerifierLog] = {}
    for program in _spec(src).programs:
        for level in (5, 6):
            lines, err = _load(src, program, level)
            assert err is not None, f"{program} loaded at level {level}"
            assert err.errno_name == errno
            _maybe_save(src, program, level, lines)
            log = parse_log(lines)
            parsed[level] = log
            assert log.error is not None and text in log.error, (log.error, lines[-8:])
            # nothing but statistics and loop-state dumps follow the error
            tail = lines[lines.index(log.error_lines[-1]) + 1:]
            assert {classify_line(t) for t in tail} <= {LineKind.SUMMARY, LineKind.LOOP_STATE,
                                                        LineKind.BLANK}
            assert log.summary == parse_summary(lines)
            assert log.summary.insns_processed is not None
            assert not log.truncated
            # a log without instruction lines (refused before any path was walked) shows no level
            assert log.level == ((2 if level & 2 else 1) if log.insns else 0)
            if log.error_insn is not None and log.insns:
                assert log.error_insn in log.path
                raw = log.insns[log.error_insn].raw
                assert raw in lines
            elif log.error_insn is not None:
                # refused by the structural checks before any path was walked (e.g.
                # "unreachable insn N"): the number comes from the message itself
                assert str(log.error_insn) in log.error
            if log.insns:
                _check_against_object(log, src, program)
        l1, l2 = parsed[5], parsed[6]
        assert l2.error_lines == l1.error_lines and l2.error_insn == l1.error_insn
        if l1.error_insn is not None:
            # The kernel prints only the failing path at level 1: our level-2
            # reconstruction must find the same one.
            assert l2.path == l1.path
            assert l2.branches == l1.branches
        else:  # found after the walk (stack size): no instruction, and level 1 shows none
            assert l1.path == [] and l1.level == 0


def test_null_check_state_after_lookup() -> None:
    """The register facts a diagnosis needs, checked against the object: R0 after the
    lookup is the map's value or NULL, with the map's name and sizes from the ELF."""
    src = EXAMPLES / "failures" / "null_check.bpf.c"
    spec = _spec(src)
    (mname,) = spec.programs["count_openat"].maps_used
    ms = spec.maps[mname]
    for level in (5, 6):
        lines, _ = _load(src, "count_openat", level)
        log = parse_log(lines)
        call = next(i for i in log.path if log.insns[i].text == "call bpf_map_lookup_elem#1")
        r0 = log.state_at(call).regs[0]  # type: ignore[union-attr]
        assert (r0.type, r0.nullable, r0.map_name) == ("map_value", True, mname)
        assert (r0.key_size, r0.value_size) == (ms.key_size, ms.value_size)
        at_error = log.error_state
        assert at_error is not None and at_error.regs[0].type_name == "map_value_or_null"
        assert at_error.regs[0].id == r0.id
        assert log.insns[log.error_insn].text.startswith("lock ")  # type: ignore[index]


def test_reference_leak_state_tracks_the_reference() -> None:
    src = EXAMPLES / "failures" / "reference_leak.bpf.c"
    lines, _ = _load(src, "stream_opens", 5)
    log = parse_log(lines)
    m = re.search(r"Unreleased reference id=(\d+) alloc_insn=(\d+)", log.error or "")
    assert m, log.error
    ref, alloc = int(m.group(1)), int(m.group(2))
    assert log.insns[alloc].text.startswith("call bpf_ringbuf_reserve#")
    assert log.state_at(alloc).regs[0].ref_obj_id == ref  # type: ignore[union-attr]
    assert log.error_state is not None and ref in log.error_state.refs
    assert log.insns[log.error_insn].text == "exit"  # type: ignore[index]


# ---- good programs -----------------------------------------------------------------------


@pytest.mark.parametrize("src", GOOD, ids=_id)
def test_good_program_logs_parse_without_error(src: Path) -> None:
    for program in _spec(src).programs:
        for level in (5, 6):
            lines, err = _load(src, program, level)
            assert err is None, err
            _maybe_save(src, program, level, lines)
            log = parse_log(lines)
            assert log.error is None, log.error
            assert log.unknown_lines == [], log.unknown_lines[:5]
            assert log.summary == parse_summary(lines)
            assert log.summary.insns_processed is not None
            if level & 2:
                assert log.level == 2 and not log.truncated
                _check_against_object(log, src, program)
                subprogs = _spec(src).programs[program].symbol_offsets
                assert sorted(log.subprograms.values()) == sorted(subprogs.values())


# ---- pasted formats around real logs -----------------------------------------------------


def _norm(lines: list[str]) -> list[str]:
    """Lines of two loads of one program differ only in kernel addresses and timing."""
    return [_USEC.sub("verification time N usec", _KADDR.sub("ADDR", ln.rstrip()))
            for ln in lines]


def _bpffs() -> Path | None:
    root = Path("/sys/fs/bpf")
    return root if root.is_dir() and os.path.ismount(root) else None


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_bpftool_debug_output_extracts_to_our_log(src: Path) -> None:
    """bpftool -d prints libbpf's log blocks at level 2|4: same lines as our load."""
    bpftool, root = shutil.which("bpftool"), _bpffs()
    if bpftool is None or root is None:
        pytest.skip("needs bpftool and a mounted bpffs at /sys/fs/bpf")
    pin = root / f"bpfdoctor-vlog-{os.getpid()}-{_id(src)}"
    try:
        r = subprocess.run([bpftool, "-d", "prog", "loadall", str(compile_bpf(src)), str(pin)],
                           capture_output=True, text=True, timeout=120)
    finally:
        if pin.exists():
            shutil.rmtree(pin, ignore_errors=True)
    assert r.returncode != 0
    _save(_PASTE_FIXTURES["bpftool"].get(_id(src)), r.stdout + r.stderr)
    (ex,) = extract_logs(r.stdout + r.stderr)
    assert ex.format == "libbpf" and ex.program in _spec(src).programs
    errno, text = _expect(src)
    assert errno_name(ex.errno) == errno
    ours, _ = _load(src, ex.program, 6)  # type: ignore[arg-type]
    assert _norm(ex.lines) == _norm(ours)
    log = parse_log(ex)
    assert log.program == ex.program and text in (log.error or "")


@pytest.mark.parametrize("src", FAILURES, ids=_id)
def test_libbpf_reference_output_extracts_to_our_log(src: Path) -> None:
    """libbpf's own print callback output (level 1 on its retry)."""
    rows = run_reference(compile_bpf(src), log=True)
    paste = "".join(r["log"] for r in rows)
    _save(_PASTE_FIXTURES["libbpf"].get(_id(src)), paste)
    found = extract_logs(paste)
    assert [x.program for x in found] == [r["program"] for r in rows]
    for ex, row in zip(found, rows, strict=True):
        assert ex.errno == row["errno_num"]
        ours, _ = _load(src, row["program"], 1)
        assert _norm(ex.lines) == _norm(ours)
