"""Unit tests for bpfdoctor.verifier: the log parser, the register notation, and extraction
of logs from pasted tool output.

The fixtures in tests/data/logs are real logs of this repository's examples captured from a
6.18 kernel by tests/kernel/test_verifier_logs.py (``BPFDOCTOR_UPDATE_LOG_FIXTURES=1``), and
real bpftool -d / libbpf output.  Expected values come from the example sources (their
``// EXPECT:`` line), from the log text itself read by eye, or from the kernel's printing
code (``kernel/bpf/log.c``); the cilium/ebpf and bcc wrappings are rebuilt here from the
printing code of those projects (cilium ``internal/errors.go`` ``VerifierError.Format``, bcc
``bpf_print_hints``).  Register formats of older kernels are quoted from published logs.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfdoctor.verifier import (
    LineKind,
    VerifierLog,
    classify_line,
    errno_from_text,
    extract_logs,
    parse_log,
    parse_logs,
    parse_register,
    parse_stack_slot,
    parse_state,
    parse_summary,
    parse_value,
)
from bpfdoctor.verifier.log import MAX_ERROR_LINES, MAX_UNKNOWN_LINES

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "tests" / "data" / "logs"
FAILURES = ROOT / "examples" / "failures"
_EXPECT = re.compile(r"^//\s*EXPECT:\s*(E[A-Z0-9]+)\s+(\S.*?)\s*$", re.MULTILINE)
_KADDR = re.compile(r"0xffff[0-9a-f]{12}")
_USEC = re.compile(r"verification time \d+ usec")

FAILURE_FIXTURES = sorted(p for p in LOGS.glob("*.L?.log") if (
    FAILURES / f"{p.name.split('.')[0]}.bpf.c").exists())


def _lines(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


def _log(name: str) -> VerifierLog:
    return parse_log((LOGS / name).read_text())


def _expect(example: str) -> tuple[str, str]:
    m = _EXPECT.search((FAILURES / f"{example}.bpf.c").read_text())
    assert m
    return m.group(1), m.group(2)


def _norm(lines: list[str]) -> list[str]:
    return [_USEC.sub("verification time N usec", _KADDR.sub("ADDR", ln)) for ln in lines]


# ---- every failure fixture ----------------------------------------------------------------


def test_fixtures_present() -> None:
    assert len(FAILURE_FIXTURES) >= 7, FAILURE_FIXTURES


@pytest.mark.parametrize("path", FAILURE_FIXTURES, ids=lambda p: p.name)
def test_failure_fixture_error_is_the_expected_one(path: Path) -> None:
    lines = path.read_text().splitlines()
    log = parse_log(lines)
    _, text = _expect(path.name.split(".")[0])
    assert log.error is not None and text in log.error
    assert set(log.error_lines) <= set(log.unknown_lines)
    assert log.summary == parse_summary(lines)
    assert not log.truncated
    if log.error_insn is not None:
        assert log.insns[log.error_insn].raw in lines
        assert log.error_insn in log.path
    # the parser and classify_line agree on which lines are free text
    assert [ln for ln in lines if classify_line(ln) is LineKind.MESSAGE] == log.unknown_lines


# ---- the facts of each fixture, read from the log by eye ------------------------------------


def test_null_check_level2() -> None:
    log = _log("null_check.L6.log")
    assert log.error == "R0 invalid mem access 'map_value_or_null'"
    assert log.error_insn == 9 and log.level == 2
    ins = log.insns[9]
    assert (ins.opcode, ins.text, ins.frame, ins.state_text) == (
        0xDB, "lock *(u64 *)(r0 +0) += r1", 0, None)
    assert ins.source is not None and ins.source.line == 32
    assert ins.source.file == "null_check.bpf.c"
    assert ins.source.text.startswith("__sync_fetch_and_add(count, 1);")
    assert log.path == [0, 1, 2, 3, 4, 5, 7, 8, 9]  # ld_imm64 at 5 takes two slots
    r0 = log.state_at(7).regs[0]  # type: ignore[union-attr]
    assert (r0.type, r0.nullable, r0.id, r0.map_name, r0.key_size, r0.value_size) == (
        "map_value", True, 1, "open_counts", 4, 8)
    st = log.error_state
    assert st is not None and st.regs[0].type_name == "map_value_or_null"
    assert st.regs[1].value == 1 and st.regs[10].type == "fp"
    assert st.stack[-8].slots == "mmmm????"
    assert log.summary.insns_processed == 9 and log.summary.stack_depth == (8,)
    assert log.live_regs(9) == frozenset({0, 1}) and log.live_regs(3) == frozenset()
    assert [s.line for s in log.source_lines] == [28, 31, 32]
    assert [s.insn for s in log.source_lines] == [0, 5, 9]


@pytest.mark.parametrize("name", ["reference_leak.L5.log", "reference_leak.L6.log"])
def test_reference_leak_path_and_refs(name: str) -> None:
    log = _log(name)
    assert log.error_lines == ["Unreleased reference id=2 alloc_insn=6",
                               "BPF_EXIT instruction in main prog would lead to reference leak"]
    assert log.error_insn == 22
    assert log.path == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 21, 22]
    assert log.branches == [(17, 21)]
    st = log.error_state
    assert st is not None and st.refs == (2,)
    assert st.regs[6].type_name == "ringbuf_mem" and st.regs[6].ref_obj_id == 2
    assert st.regs[0].value == 0 and st.regs[8].value == 0
    before = log.state_before(21)
    assert before is not None and before.regs[0].smax == -1 and before.regs[0].smin == -4095
    assert before.regs[0].var_off == (0xFFFFFFFFFFFFF000, 0xFFF)


def test_reference_leak_level1_source_after_rewind_is_unknown() -> None:
    """At level 1 the kernel rewinds its log to the jump at 17 when it resumes the branch;
    the C line of 21 was printed on the abandoned path and is not printed again, so the
    parser must not attribute 21 to the line before the jump."""
    log = _log("reference_leak.L5.log")
    assert log.insns[17].branch_to == 21
    assert log.insns[17].text == "if r8 s> r0 goto pc+3"
    assert log.insns[16].source is not None and log.insns[16].source.line == 36
    assert log.insns[21].source is None


def test_unbounded_loop_error_names_its_insn() -> None:
    log = _log("unbounded_loop.L5.log")
    assert log.error == "infinite loop detected at insn 9"
    assert log.error_insn == 9 and log.path[-1] == 8
    assert log.branches == [(9, 8)] * 4
    cur, old = log.cur_state, log.old_state
    assert cur is not None and old is not None
    assert cur.regs[0].map_name == "control" and cur.regs[1].umax == 0xFFFFFFFF
    assert cur.stack[-8].kind == "mixed"
    assert log.summary.insns_processed == 31 and log.summary.verification_us is not None


def test_packet_bounds_two_line_error() -> None:
    log = _log("packet_bounds.L5.log")
    assert log.error_lines == ["invalid access to packet, off=23 size=1, R1(id=0,off=23,r=14)",
                               "R1 offset is outside of the packet"]
    assert log.error_insn == 11
    r1 = log.error_state.regs[1]  # type: ignore[union-attr]
    assert (r1.type, r1.range) == ("pkt", 14)


def test_stack_too_large_error_without_insn() -> None:
    log = _log("stack_too_large.L5.log")
    assert log.error == "combined stack size of 2 calls is 560. Too large"
    assert log.error_insn is None and log.level == 0 and log.path == []
    assert log.error_state is None and not log.truncated
    assert log.summary.stack_depth == (288, 264)


def test_uninit_stack_dynptr_and_branch() -> None:
    log = _log("uninit_stack.L6.log")
    assert log.error_insn == 19 and log.branches == [(3, 11)]
    slot = log.state_at(10).stack[-16]  # type: ignore[union-attr]
    assert slot.kind == "dynptr" and slot.reg is not None
    assert slot.reg.type == "dynptr_ringbuf" and slot.reg.id == 2 and slot.reg.ref_obj_id == 3
    assert slot.reg.get("dynptr_id") == "1"
    st = log.error_state  # before the call at 19: its arguments are still there
    assert st is not None
    assert [st.regs[r].raw for r in (1, 2, 3, 4, 5)] == ["fp-16", "0", "fp-24", "8", "0"]
    assert st.stack[-24].reg is not None and st.stack[-24].reg.id == 1
    assert -16 not in st.stack  # the reservation happened on the other branch
    assert len(log.backtracking) == 0  # the resumed path printed none


def test_map_value_bounds_ranges() -> None:
    log = _log("map_value_bounds.L5.log")
    r6 = log.state_at(11).regs[6]  # type: ignore[union-attr]
    assert (r6.smin, r6.smax, r6.umax, r6.s32_max, r6.u32_max) == (
        0, 0x7FFFFFFF8, 0x7FFFFFFF8, 0x7FFFFFF8, 0xFFFFFFF8)
    assert r6.var_off == (0, 0x7FFFFFFF8) and r6.s32_min is None
    r0 = log.error_state.regs[0]  # type: ignore[union-attr]
    assert r0.type == "map_value" and r0.map_name == "mode_hist" and r0.umax == 0x7FFFFFFF8


def test_successful_level2_with_subprograms() -> None:
    log = _log("subprog_on_enter.L6.log")
    assert log.error is None and log.unknown_lines == [] and log.level == 2
    assert log.subprograms == {0: 0, 1: 20, 2: 28}
    assert log.insns[28].frame == 1 and log.insns[33].frame == 1 and log.insns[6].frame == 0
    assert log.insns[33].state.frame == 1  # type: ignore[union-attr]
    assert log.insns[5].text == "call pc+14" and not log.insns[5].is_helper_call
    assert log.insns[33].is_helper_call
    # the global function is verified last, on its own: the last path is inside it
    assert log.path[0] == 20 and log.path[-1] == 27
    assert log.backtracking == []
    st = log.state_before(20)
    assert st is not None and st.regs[2].type_name == "mem_or_null" and st.regs[2].mem_size == 4


# ---- streaming, inputs, truncation -------------------------------------------------------


def test_inputs_are_equivalent() -> None:
    path = LOGS / "reference_leak.L6.log"
    text = path.read_text()
    want = parse_log(text)
    with path.open() as f:
        streamed = parse_log(f)
    for got in (streamed, parse_log(text.encode()), parse_log(text.splitlines()),
                parse_log(io.StringIO(text)), parse_log(text.replace("\n", "\r\n"))):
        assert (got.error_lines, got.error_insn, got.path, got.branches, got.summary) == (
            want.error_lines, want.error_insn, want.path, want.branches, want.summary)


def test_truncated_head() -> None:
    """A rotating kernel log keeps the tail, starting mid-line."""
    lines = _lines("reference_leak.L6.log")
    cut = next(i for i, ln in enumerate(lines) if ln.startswith("13: ("))
    tail = ["bpf_probe_read_user_str#114", *lines[cut:]]
    log = parse_log(tail)
    assert log.truncated and log.error_insn == 22
    assert log.path[-3:] == [17, 21, 22]
    # from a branch marker on: the branch point is not in the log at all
    cut = next(i for i, ln in enumerate(lines) if ln.startswith("from 17 to 21"))
    log = parse_log(lines[cut:])
    assert log.truncated and log.path == [21, 22] and log.branches == [(17, 21)]


def test_error_run_is_reset_by_progress() -> None:
    """A free-text line in the middle of a walk is not the error."""
    lines = ["0: R1=ctx() R10=fp0", "0: (b7) r0 = 0                        ; R0=0",
             "some note the kernel printed", "1: (95) exit",
             "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 "
             "peak_states 0 mark_read 0"]
    log = parse_log(lines)
    assert log.error is None and log.unknown_lines == ["some note the kernel printed"]
    assert log.path == [0, 1] and log.summary.insns_processed == 2


def test_backtracking_lines_of_the_error_insn() -> None:
    lines = ["0: R1=ctx() R10=fp0", "0: (b7) r2 = 8                        ; R2=8",
             "1: (85) call bpf_map_lookup_elem#1",
             "mark_precise: frame0: last_idx 1 first_idx 0 subseq_idx -1 ",
             "mark_precise: frame0: regs=r2 stack= before 0: (b7) r2 = 8",
             "2: R0=map_value_or_null(id=1,map=m,ks=4,vs=8)",
             "2: (79) r0 = *(u64 *)(r0 +0)",
             "mark_precise: frame0: regs=r0 stack= before 1: (85) call bpf_map_lookup_elem#1",
             "R0 invalid mem access 'map_value_or_null'"]
    log = parse_log(lines)
    assert log.backtracking == [lines[7]] and log.error_insn == 2 and log.level == 2
    assert log.error_state.regs[0].nullable  # type: ignore[union-attr]
    assert 1 not in log.error_state.regs and 2 not in log.error_state.regs  # type: ignore[union-attr]
    assert log.state_before(2).regs[0].map_name == "m"  # type: ignore[union-attr]


def test_cfg_errors_name_their_insn() -> None:
    for msg, idx in [("back-edge from insn 113 to 100", 113), ("unreachable insn 5", 5),
                     ("jump out of range from insn 5 to 9", 5)]:
        log = parse_log([msg, "processed 0 insns (limit 1000000) max_states_per_insn 0 "
                              "total_states 0 peak_states 0 mark_read 0"])
        assert (log.error, log.error_insn) == (msg, idx)


def test_old_kernel_log() -> None:
    """A 5.x log (quoted in a bpf mailing-list report): liveness suffixes, ``inv`` scalars,
    states on their own line after jumps, source lines without ``@ file:line``."""
    text = """\
; int update_cookie_sockops(struct bpf_sock_ops *ctx)
0: (bf) r6 = r1
; if (ctx->family != AF_INET6)
1: (61) r1 = *(u32 *)(r6 +20)
; if (ctx->family != AF_INET6)
2: (56) if w1 != 0xa goto pc+21
 R1_w=inv10 R6_w=ctx(id=0,off=0,imm=0) R10=fp0
; if (ctx->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
3: (61) r1 = *(u32 *)(r6 +0)
4: (85) call bpf_sk_storage_get#107
R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock, ptr_
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""
    log = parse_log(text)
    assert log.error == "R1 type=ctx expected=sock_common, sock, tcp_sock, xdp_sock, ptr_"
    assert log.error_insn == 4 and log.level == 1
    st = log.state_at(2)
    assert st is not None
    assert (st.regs[1].type, st.regs[1].value, st.regs[1].liveness) == ("scalar", 10, "w")
    assert st.regs[6].type == "ctx" and st.regs[6].off == 0 and st.regs[6].imm == 0
    src = log.insns[2].source
    assert src is not None and src.file is None and src.text == "if (ctx->family != AF_INET6)"
    assert log.error_state.regs[6].type == "ctx"  # type: ignore[union-attr]


# ---- line kinds ---------------------------------------------------------------------------


@pytest.mark.parametrize("line,kind", [
    ("9: (db) lock *(u64 *)(r0 +0) += r1", LineKind.INSN),
    ("7: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1)", LineKind.INSN),
    ("0: R1=ctx() R10=fp0", LineKind.STATE),
    ("28: frame1: R1=2 R10=fp0", LineKind.STATE),
    ("20: refs=2", LineKind.STATE),
    (" frame1: R0=0 R1=0 R10=fp0 fp-8=mmmm????", LineKind.STATE),
    (" R1_w=inv10 R6_w=ctx(id=0,off=0,imm=0) R10=fp0", LineKind.STATE),
    ("14: safe", LineKind.SAFE),
    ("from 17 to 21: R0=scalar() R10=fp0", LineKind.BRANCH),
    ("from 10 to 13: safe", LineKind.BRANCH),
    ("from 4 to 6 (speculative execution): R1=0", LineKind.BRANCH),
    ("; if (!e) @ reference_leak.bpf.c:33", LineKind.SOURCE),
    ("mark_precise: frame0: regs=r2 stack= before 5: (b7) r3 = 0", LineKind.PRECISE),
    ("frame 0: propagating r1,r4", LineKind.PRECISE),
    ("last_idx 26 first_idx 20", LineKind.PRECISE),
    ("caller:", LineKind.CALL), ("to caller at 13:", LineKind.CALL),
    ("returning from callee:", LineKind.CALL),
    ("func#1 @20", LineKind.SUBPROG), ("Validating classify_flags() func#1...", LineKind.SUBPROG),
    ("Func#1 ('classify_flags') is global and assumed valid.", LineKind.SUBPROG),
    ("Live regs before insn:", LineKind.LIVENESS),
    ("      0: .1........ (79) r1 = *(u64 *)(r1 +32)", LineKind.LIVENESS),
    ("  1   8: 0......... (61) r1 = *(u32 *)(r0 +0)", LineKind.LIVENESS),
    ("(12,28) frame 1 insn 33 +live -8 ", LineKind.LIVENESS),
    ("(0) live stack update done in 2 iterations", LineKind.LIVENESS),
    ("SCC enter (1)", LineKind.INFO),
    ("processed 9 insns (limit 1000000) max_states_per_insn 0", LineKind.SUMMARY),
    ("stack depth 288+264", LineKind.SUMMARY), ("verification time 108 usec", LineKind.SUMMARY),
    ("cur state: R0=map_value(map=control,ks=4,vs=8)", LineKind.LOOP_STATE),
    ("", LineKind.BLANK), ("   ", LineKind.BLANK),
    ("R0 invalid mem access 'map_value_or_null'", LineKind.MESSAGE),
    ("frame pointer is read only", LineKind.MESSAGE),
    ("476: for (int i = 0; i < 6; i++) {", LineKind.MESSAGE),
    ("\tx1 type_id=2", LineKind.MESSAGE),
])
def test_classify_line(line: str, kind: LineKind) -> None:
    assert classify_line(line) is kind


# ---- registers ----------------------------------------------------------------------------


def _fields(token: str) -> dict[str, object]:
    r = parse_register(token)
    return {k: v for k, v in vars(r).items()
            if not (v is None or v is False or v == () or v == "")}


@pytest.mark.parametrize("token,want", [
    # 6.18 (kernel/bpf/log.c print_reg_state)
    ("R0=map_value_or_null(id=1,map=open_counts,ks=4,vs=8)",
     dict(type="map_value", nullable=True, id=1, map_name="open_counts", key_size=4,
          value_size=8)),
    ("R1=map_value(map=last_path,ks=4,vs=80,off=12)",
     dict(type="map_value", map_name="last_path", key_size=4, value_size=80, off=12)),
    ("R3=pkt(off=14,r=14)", dict(type="pkt", off=14, range=14)),
    ("R1=pkt(r=14)", dict(type="pkt", range=14)),
    ("R2=pkt_end()", dict(type="pkt_end")),
    ("R1=ctx()", dict(type="ctx")),
    ("R6=ringbuf_mem(ref_obj_id=2,sz=124)",
     dict(type="mem", flags=("ringbuf",), ref_obj_id=2, mem_size=124)),
    ("R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=124)",
     dict(type="mem", flags=("ringbuf",), nullable=True, id=2, ref_obj_id=2, mem_size=124)),
    ("R6=trusted_ptr_task_struct()", dict(type="ptr", flags=("trusted",),
                                          btf_type="task_struct")),
    ("R1=rcu_ptr_or_null_cgroup(id=4)", dict(type="ptr", flags=("rcu",), nullable=True,
                                             btf_type="cgroup", id=4)),
    ("R2=ptr_sk_buff(off=8)", dict(type="ptr", btf_type="sk_buff", off=8)),
    ("R1=scalar(smin=smin32=-4095,smax=smax32=120)",
     dict(type="scalar", smin=-4095, s32_min=-4095, smax=120, s32_max=120)),
    ("R0=scalar(smin=0x8000000000000000,smax=-1,smin32=0x80000000,umin=0xfffffffffffff001)",
     dict(type="scalar", smin=-(1 << 63), smax=-1, s32_min=-(1 << 31),
          umin=0xFFFFFFFFFFFFF001)),
    ("R1_w=scalar(id=3+8)", dict(type="scalar", liveness="w", id=3, id_delta=8)),
    ("R2=scalar(id=3-8)", dict(type="scalar", id=3, id_delta=-8)),
    ("R7=fp-16", dict(type="fp", off=-16, value=-16)),
    ("R10=fp0", dict(type="fp", off=0, value=0)),
    ("R7=fp[1]-16", dict(type="fp", off=-16, value=-16, frameno=1)),
    ("R3=P0", dict(type="scalar", precise=True, value=0, smin=0, smax=0, umin=0, umax=0,
                   s32_min=0, s32_max=0, u32_min=0, u32_max=0)),
    ("R1=Pscalar(id=1)", dict(type="scalar", precise=True, id=1)),
    ("R0=0xffffffff", dict(type="scalar", value=0xFFFFFFFF, smin=0xFFFFFFFF,
                           smax=0xFFFFFFFF, umin=0xFFFFFFFF, umax=0xFFFFFFFF, s32_min=-1,
                           s32_max=-1, u32_min=0xFFFFFFFF, u32_max=0xFFFFFFFF)),
    ("R0=0xfffffffffffe7960", dict(type="scalar", value=-100000, smin=-100000, smax=-100000,
                                   umin=0xFFFFFFFFFFFE7960, umax=0xFFFFFFFFFFFE7960,
                                   s32_min=-100000, s32_max=-100000, u32_min=0xFFFE7960,
                                   u32_max=0xFFFE7960)),
    ("R4=map_value(map=m,ks=4,vs=64,imm=16)", dict(type="map_value", map_name="m",
                                                  key_size=4, value_size=64, imm=16)),
    ("R5=dynptr_ptr(type=local)", dict(type="dynptr_ptr", extra=(("type", "local"),))),
    ("R0=ptr_node_data(non_own_ref,off=16)", dict(type="ptr", btf_type="node_data",
                                                 non_own_ref=True, off=16)),
    # 5.x (before the 5.19/6.2 printer rework): inv, *_value, id=0, hex imm without 0x
    ("R1_w=inv10", dict(type="scalar", liveness="w", value=10, smin=10, smax=10, umin=10,
                        umax=10, s32_min=10, s32_max=10, u32_min=10, u32_max=10)),
    ("R0_w=invP0", dict(type="scalar", liveness="w", precise=True, value=0, smin=0, smax=0,
                        umin=0, umax=0, s32_min=0, s32_max=0, u32_min=0, u32_max=0)),
    ("R6_rw=ctx(id=0,off=0,imm=0)", dict(type="ctx", liveness="rw", id=0, off=0, imm=0)),
    ("R1=inv(id=0,umax_value=255,var_off=(0x0; 0xff))", dict(type="scalar", id=0, umax=255,
                                                            var_off=(0, 255))),
    ("R2=map_value(id=0,off=0,ks=4,vs=8,imm=10)", dict(type="map_value", id=0, off=0,
                                                      key_size=4, value_size=8, imm=16)),
    ("R3_w=inv(id=0,smin_value=-5,s32_max_value=7,u32_min_value=1)",
     dict(type="scalar", liveness="w", id=0, smin=-5, s32_max=7, u32_min=1)),
])
def test_parse_register(token: str, want: dict[str, object]) -> None:
    got = _fields(token)
    got.pop("raw")
    regno = int(token[1:token.index("=")].split("_")[0])
    assert got.pop("regno", 0) == regno
    assert got == want
    assert parse_register(token).raw == token[token.index("=") + 1:]


def test_type_name_round_trips() -> None:
    for t in ["map_value_or_null", "ringbuf_mem_or_null", "rdonly_mem", "trusted_ptr_file",
              "rcu_ptr_or_null_task_struct", "ctx", "pkt_meta", "scalar", "sock_or_null"]:
        assert parse_value(f"{t}()").type_name == t


def test_unreadable_values_do_not_raise() -> None:
    for text in ["", "(", ")(", "map_value(", "map_value(id=)", "x(y=(1; 2", "0x", "P",
                 "fp[", "scalar(var_off=(zz; 1))", "scalar(smin=abc)"]:
        r = parse_value(text)
        assert r.raw == text


@pytest.mark.parametrize("token,offset,slots,kind,reg", [
    ("fp-8=mmmm????", -8, "mmmm????", "mixed", None),
    ("fp-16=mmmmmmmm", -16, "mmmmmmmm", "misc", None),
    ("fp-8=00000000", -8, "00000000", "zero", None),
    ("fp-24=scalar(id=1)", -24, "", "spill", "scalar"),
    ("fp-40_w=ctx()", -40, "", "spill", "ctx"),
    ("fp-8=mmmm42", -8, "mmmm", "spill", "scalar"),
    ("fp-8=0", -8, "", "spill", "scalar"),
    ("fp-16=dynptr_ringbuf(id=2,ref_id=3,dynptr_id=1)", -16, "", "dynptr", "dynptr_ringbuf"),
    ("fp-32=iter_num(ref_id=1,state=active,depth=0)", -32, "", "iter", "iter_num"),
])
def test_stack_slots(token: str, offset: int, slots: str, kind: str, reg: str | None) -> None:
    s = parse_stack_slot(token)
    assert s is not None
    assert (s.offset, s.slots, s.kind) == (offset, slots, kind)
    assert (s.reg.type if s.reg else None) == reg
    if token == "fp-8=mmmm42":
        assert s.reg is not None and s.reg.value == 42
    if token == "fp-40_w=ctx()":
        assert s.liveness == "w"


def test_parse_state() -> None:
    st = parse_state(" frame2: R0=map_value(map=m,ks=4,vs=8,var_off=(0x0; 0x8)) R10=fp0 "
                     "fp-8=mmmm???? refs=2,5 cb async_cb later_addition=1")
    assert st.frame == 2 and st.refs == (2, 5) and st.in_callback and st.in_async_callback
    assert st.regs[0].var_off == (0, 8) and st.reg(10) is not None and st.slot(-8) is not None
    assert st.unknown == ("later_addition=1",)
    assert parse_state("").regs == {}


# ---- pasted formats ----------------------------------------------------------------------


def _cilium(lines: list[str], context: str, cause: str, *, last: int | None = None,
            truncated: bool = False) -> str:
    """cilium/ebpf ``fmt.Sprintf("%+v", err)`` (``%-Nv`` with ``last``) of a VerifierError,
    after internal/errors.go Format: ``<source>: <cause>:``, then ``\\n\\t<line>`` each."""
    out = f"{context}: {cause}:"
    shown = lines if last is None else lines[-last:]
    omitted = len(lines) - len(shown)
    if last is not None and omitted:
        out += f"\n\t({omitted} line(s) omitted)"
    for ln in shown:
        out += f"\n\t{ln}"
    if truncated:
        out += "\n\t(truncated)"
    return out


def _bcc(lines: list[str], program: str) -> str:
    """bcc: bpf_print_hints() (libbpf.c) then the Python exception of BPF.load_func()."""
    log = "\n".join(lines)
    return ("bpf: Failed to load program: Permission denied\n" + log + "\n\n"
            "HINT: The 'map_value_or_null' error can happen if you dereference a pointer value"
            " from a map lookup without first checking if that pointer is NULL.\n\n"
            "Traceback (most recent call last):\n  File \"tool.py\", line 9, in <module>\n"
            f"Exception: Failed to load BPF program b'{program}': Permission denied\n")


def test_real_bpftool_debug_output() -> None:
    paste = (LOGS / "paste.bpftool.null_check.log").read_text()
    (ex,) = extract_logs(paste)
    assert (ex.program, ex.format, ex.errno_text, ex.errno) == (
        "count_openat", "libbpf", "Permission denied", 13)
    assert _norm(ex.lines) == _norm(_lines("null_check.L6.log"))
    assert parse_log(ex).error == "R0 invalid mem access 'map_value_or_null'"


def test_real_libbpf_output() -> None:
    (ex,) = extract_logs((LOGS / "paste.libbpf.reference_leak.log").read_text())
    assert (ex.program, ex.format, ex.errno) == ("stream_opens", "libbpf", 22)
    # libbpf retried at level 1 without statistics
    ours = [ln for ln in _lines("reference_leak.L5.log")
            if not ln.startswith(("verification time", "stack depth"))]
    assert _norm(ex.lines) == _norm(ours)


def test_every_wrapping_gives_the_same_log() -> None:
    lines = _lines("null_check.L6.log")
    plain = "\n".join(lines) + "\n"
    pastes = {
        "kernel": plain,
        "libbpf": (LOGS / "paste.bpftool.null_check.log").read_text(),
        "cilium": "2024/05/01 10:00:00 loading objects: " + _cilium(
            lines, "field CountOpenat: program count_openat: load program",
            "permission denied") + "\nexit status 1\n",
        "bcc": _bcc(lines, "count_openat"),
        "libbpf-legacy": ("libbpf: load bpf program failed: Permission denied\n"
                          "libbpf: -- BEGIN DUMP LOG ---\nlibbpf: \n" + plain + "\n"
                          "libbpf: -- END LOG --\n"
                          "libbpf: failed to load program 'count_openat'\n"),
    }
    want = parse_log(lines)
    for fmt, paste in pastes.items():
        (ex,) = extract_logs(paste)
        assert ex.format == fmt
        # (bpftool's is another load of the same program: other kernel addresses)
        assert _norm(ex.lines) == _norm([ln.rstrip() for ln in lines]), fmt
        if fmt != "kernel":
            assert ex.program == "count_openat" and ex.errno == 13, (fmt, ex)
        got = parse_log(ex)
        assert (got.error, got.error_insn, got.path, got.format) == (
            want.error, want.error_insn, want.path, fmt)


def test_cilium_last_lines_and_truncated() -> None:
    lines = _lines("reference_leak.L6.log")
    (ex,) = extract_logs(_cilium(lines, "program stream_opens: load program",
                                 "invalid argument", last=6, truncated=True))
    assert ex.omitted == len(lines) - 6 and ex.truncated and ex.errno == 22
    assert ex.lines == [ln.rstrip() for ln in lines[-6:]]
    log = parse_log(ex)
    assert log.truncated and log.error_lines == [
        "Unreleased reference id=2 alloc_insn=6",
        "BPF_EXIT instruction in main prog would lead to reference leak"]


def test_several_programs_in_one_paste() -> None:
    a, b = _lines("null_check.L6.log"), _lines("packet_bounds.L5.log")

    def block(name: str, err: str, body: list[str]) -> str:
        return (f"libbpf: prog '{name}': BPF program load failed: {err}\n"
                f"libbpf: prog '{name}': -- BEGIN PROG LOAD LOG --\n" + "\n".join(body) +
                f"-- END PROG LOAD LOG --\nlibbpf: prog '{name}': failed to load: -13\n")

    # the second block's log has no final newline: libbpf glues the marker to it
    paste = ("$ sudo ./tool\n" + block("count_openat", "Permission denied", [*a, ""]) +
             block("xdp_drop_icmp", "Permission denied", b) + "Error: failed to load\n")
    logs = parse_logs(paste)
    assert [x.program for x in logs] == ["count_openat", "xdp_drop_icmp"]
    assert logs[0].error == "R0 invalid mem access 'map_value_or_null'"
    assert logs[1].error_lines[-1] == "R1 offset is outside of the packet"
    assert logs[1].summary.insns_processed == 12


def test_errno_from_text() -> None:
    assert errno_from_text("Permission denied") == 13
    assert errno_from_text("permission denied") == 13
    assert errno_from_text("-22") == 22 and errno_from_text("EINVAL") == 22
    assert errno_from_text("unknown error 524") == 524
    assert errno_from_text("nonsense") is None and errno_from_text(None) is None


# ---- garbage ------------------------------------------------------------------------------


def _exercise(log: VerifierLog) -> None:
    """Touch every lazily computed part of a log."""
    assert log.error is None or set(log.error_lines) <= set(log.unknown_lines) or \
        log.unknown_count > MAX_UNKNOWN_LINES
    assert len(log.error_lines) <= MAX_ERROR_LINES
    assert len(log.unknown_lines) <= min(log.unknown_count, MAX_UNKNOWN_LINES)
    _ = (log.path, log.branches, log.error_state, log.source_lines, log.summary,
         log.cur_state, log.old_state, log.error_instruction, repr(log))
    for idx in list(log.insns)[:50]:
        ins = log.insns[idx]
        _ = (ins.state, str(ins), log.state_at(idx), log.state_before(idx), log.live_regs(idx))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text_never_raises(text: str) -> None:
    for ex in extract_logs(text):
        _exercise(parse_log(ex))
    _exercise(parse_log(text))


@settings(max_examples=200)
@given(st.binary())
def test_random_bytes_never_raise(data: bytes) -> None:
    _exercise(parse_log(data))
    for ex in extract_logs(data):
        _exercise(parse_log(ex))


_LOG_LIKE = st.sampled_from(
    [ln for p in sorted(LOGS.glob("*.log")) for ln in _lines(p.name)])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_LOG_LIKE, st.integers(0, 300), st.integers(0, 300),
                          st.sampled_from(["", "(", ")", "=", ";", ":", " ", "\t", "\x00"])),
                max_size=60))
def test_mangled_real_lines_never_raise(pieces: list[tuple[str, int, int, str]]) -> None:
    """Real lines cut at random places and glued with junk: what a bad paste looks like."""
    lines = [ln[a:] [:b] + junk for ln, a, b, junk in pieces]
    log = parse_log(lines)
    _exercise(log)
    for ex in extract_logs("\n".join(lines)):
        _exercise(parse_log(ex))


def test_huge_line_and_binary_junk() -> None:
    line = "R0 invalid mem access " + "x" * (1 << 20)
    log = parse_log(line)
    assert log.error == line and log.unknown_lines == [line]
    junk = bytes(range(256)) * 64
    log = parse_log(junk)
    _exercise(log)
    assert log.unknown_count >= 1 and log.insns == {}
    (ex,) = extract_logs(junk)
    assert ex.format == "kernel"


@pytest.mark.parametrize("line", [
    "9" * 5000 + ": (85) call bpf_map_lookup_elem#1",  # past int()'s digit limit
    "0: R1=ctx() R10=fp0 frame" + "9" * 5000 + ":",
    "0: (b7) r0 = 0 ; R0=inv" + "9" * 5000 + " R1=scalar(smin=" + "9" * 5000 + ")",
    "from " + "1" * 5000 + " to 2: R1=0",
    "\u0663: (85) call x",  # an Arabic-Indic digit: \\d would take it, the kernel never prints it
    "0: (b7) r0 = 0 ; R0=scalar(" + "a (" * 200_000 + ")",
    "0: (b7) r0 = 0 ; R0=" + "(" * 100_000,
    "0: (b7) r0 = 0 ; " + "R1=fp[99999999]-8 fp-99999999999=m R99999=1 " * 1000,
])
def test_hostile_lines(line: str) -> None:
    log = parse_log(["0: R1=ctx() R10=fp0", line, "1: (95) exit", "oops"])
    _exercise(log)
    assert log.error == "oops"
    assert classify_line(line) in (LineKind.MESSAGE, LineKind.INSN, LineKind.STATE,
                                   LineKind.BRANCH)


def test_unknown_lines_are_capped() -> None:
    lines = [f"noise {i}" for i in range(MAX_UNKNOWN_LINES + 10)]
    log = parse_log(lines)
    assert log.unknown_count == len(lines) and len(log.unknown_lines) == MAX_UNKNOWN_LINES
    assert log.error_lines == lines[-MAX_ERROR_LINES:]


# ---- path reconstruction against a simulated verifier ------------------------------------


def _simulate(prog: list[tuple[str, int]], error_step: int, *, level: int,
              max_path: int = 30) -> tuple[str, list[int]]:
    """Walk ``prog`` depth-first the way the verifier does and print its log at ``level``.

    Each instruction is ``("alu", 0)``, ``("exit", 0)`` or ``("jmp", target)``: a
    conditional jump that continues with the next instruction and pushes its target, to be
    resumed last-in first-out.  A path ends at ``exit``, past the end, or after ``max_path``
    steps (printed as ``N: safe``, as a pruned path is).  At level 2 a resumed branch prints
    ``from X to Y: <state>``; at level 1 the log is rewound to the end of the jump's line and
    the state is glued to it (``X: ... Y: <state>``) -- what ``pop_stack()`` does to the
    log.  Returns the log and the path being walked when the error (printed after the
    ``error_step``-th instruction) was raised."""
    out: list[str] = []
    stack: list[tuple[int, list[int], int]] = []  # (target, path up to the jump, log pos)
    pc, path, step = 0, [], 0
    out.append("0: R1=ctx() R10=fp0\n")
    while True:
        while 0 <= pc < len(prog) and len(path) < max_path:
            op, target = prog[pc]
            path.append(pc)
            if op == "jmp":
                out.append(f"{pc}: (15) if r1 == 0x0 goto pc{target - pc - 1:+d}")
                stack.append((target, list(path), len("".join(out))))
                out.append("\n")
            elif op == "exit":
                out.append(f"{pc}: (95) exit\n")
            else:
                out.append(f"{pc}: (b7) r0 = {pc}                        ; R0={pc}\n")
            step += 1
            if step == error_step:
                out.append("R1 invalid mem access 'scalar'\n")
                return "".join(out), path
            if op == "exit":
                break
            pc += 1
        else:
            if 0 <= pc < len(prog):
                out.append(f"{pc}: safe\n")
        if not stack:
            return "".join(out), []
        pc, path, pos = stack.pop()
        if level == 2:
            out.append(f"\nfrom {path[-1]} to {pc}: R1=0 R10=fp0\n{pc}: R1=0 R10=fp0\n")
        else:
            text = "".join(out)[:pos]
            out = [text, f" {pc}: R1=0 R10=fp0\n"]


_PROGRAMS = st.integers(2, 10).flatmap(lambda n: st.lists(
    st.one_of(st.just(("alu", 0)), st.just(("exit", 0)),
              st.tuples(st.just("jmp"), st.integers(0, n))),
    min_size=n, max_size=n))


@settings(max_examples=400, deadline=None)
@given(_PROGRAMS, st.integers(1, 120))
def test_path_reconstruction_matches_simulated_verifier(prog: list[tuple[str, int]],
                                                       error_step: int) -> None:
    l2, want = _simulate(prog, error_step, level=2)
    l1, want1 = _simulate(prog, error_step, level=1)
    assert want == want1
    if not want:
        return  # the walk ended before the error step
    got2, got1 = parse_log(l2), parse_log(l1)
    assert got1.path == want, l1
    assert got2.path == want, l2
    assert got1.error_insn == got2.error_insn == want[-1]
    assert got2.branches[-len(got1.branches):] == got1.branches if got1.branches else True


def test_path_tracker_reindexes_without_resurrecting_resumed_branches() -> None:
    """A long walk that resumes one early branch many times leaves stale index entries;
    the tracker compacts them and must still skip the branch points already resumed."""
    from bpfdoctor.verifier.log import _PathTracker

    t = _PathTracker()
    for i in (0, 1, 0, 2):  # a loop: insn 0 at positions 0 and 2
        t.add_insn(i, f"{i}: (15) if r1 == 0x0 goto pc+0")
    for _ in range(50):
        for k in range(200):
            t.add_insn(100 + k, f"{100 + k}: (b7) r0 = 0")
        t.resume(2)  # cuts the 200 back off: stale entries pile up
        t.add_insn(2, "2: (15) if r1 == 0x0 goto pc+0")
    assert len(t.events) == 4 + 50
    assert t.entries <= 2 * len(t.events) + 4096 < 50 * 201  # compacted at least once
    t.resume(0)
    assert len(t.events) == 3  # the latest 0
    # positions resumed before are free again: a branch now at position 3 must survive the
    # next compaction
    t.add_insn(2, "2: (15) if r1 == 0x0 goto pc+0")
    for _ in range(30):
        t.add_insn(7, "7: (15) if r1 == 0x0 goto pc+0")
        for k in range(200):
            t.add_insn(100 + k, f"{100 + k}: (b7) r0 = 0")
        t.resume(7)
    t.resume(2)
    assert len(t.events) == 4
    t.resume(0)
    assert len(t.events) == 1  # then the first one
    t.resume(0)
    assert t.events == [] and t.restarts == 1
