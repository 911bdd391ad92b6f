"""limits family (BD5xx) on real logs (tests/data/logs and examples/failures/call_depth.bpf.c
on 6.18) and on the exact messages of paths too slow to produce in a test."""

from __future__ import annotations

from pathlib import Path

from bpfdoctor.diagnose import diagnose_log, lookup

LOGS = Path(__file__).resolve().parent / "data" / "logs"


def test_infinite_loop_names_loop_and_line() -> None:
    d = diagnose_log((LOGS / "unbounded_loop.L5.log").read_text(), errno=22)
    assert (d.code, d.slug) == ("BD502", "loop-unbounded")
    assert d.insn == 9 and d.details["loop_head"] == 8 and d.details["kind"] == "same-state"
    assert "insn 9 (line 42)" in d.summary and "insn 8" in d.summary
    assert d.source is not None and d.source.line == 42


def test_back_edge_on_old_kernels() -> None:
    d = diagnose_log("back-edge from insn 12 to 5\n", errno=22)
    assert d.slug == "loop-unbounded" and d.insn == 12
    assert d.details == {"from": 12, "to": 5, "kind": "back-edge"}




def test_call_depth() -> None:
    d = diagnose_log((LOGS / "call_depth.L5.log").read_text(), errno=7)
    assert (d.code, d.slug) == ("BD501", "call-depth")
    assert d.details == {"frames": 9, "max_frames": 8}
    assert "insn 55 (line 19)" in d.summary and "9 frames" in d.summary


def test_call_depth_graph_check_wording() -> None:
    # check_max_stack_depth() prints it with a trailing " !" and no instruction
    d = diagnose_log("the call stack of 9 frames is too deep !\n")
    assert d.slug == "call-depth" and d.details["frames"] == 9


def test_too_many_instructions() -> None:
    d = diagnose_log("BPF program is too large. Processed 1000001 insn\n"
                     "processed 1000001 insns (limit 1000000) max_states_per_insn 4 "
                     "total_states 9000 peak_states 1000 mark_read 3\n", errno=7)
    assert (d.code, d.slug) == ("BD503", "too-complex")
    assert d.details == {"processed": 1000001, "limit": 1000000}
    assert "1000001" in d.summary


def test_too_many_pending_jumps() -> None:
    d = diagnose_log("The sequence of 8193 jumps is too complex.\n", errno=7)
    assert d.slug == "too-complex" and d.details["pending_jumps"] == 8193


def test_e2big_without_message() -> None:
    d = diagnose_log("", errno=7)
    assert d.slug == "too-complex" and d.details == {"errno": "E2BIG"}
    # another errno without a message stays unknown
    assert diagnose_log("", errno=22).slug == "unknown"


def test_catalogue_entries() -> None:
    for code, slug in [("BD501", "call-depth"), ("BD502", "loop-unbounded"),
                       ("BD503", "too-complex")]:
        c = lookup(code)
        assert c is not None and c.slug == slug and c.family == "limits" and "\n" in c.fix
