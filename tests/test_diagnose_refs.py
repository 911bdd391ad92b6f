"""refs family (BD4xx) on real verifier logs (tests/data/logs, captured from
examples/failures on 6.18) and on the exact messages of other kernels."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpfdoctor.diagnose import diagnose_log, lookup

LOGS = Path(__file__).resolve().parent / "data" / "logs"


@pytest.mark.parametrize("name", ["reference_leak.L5.log", "reference_leak.L6.log",
                                  "paste.libbpf.reference_leak.log"])
def test_reference_leak_names_acquirer_and_leaking_branch(name: str) -> None:
    d = diagnose_log((LOGS / name).read_text(), errno=22)
    assert (d.code, d.slug) == ("BD401", "reference-leak")
    assert d.details["ref_id"] == 2 and d.details["alloc_insn"] == 6
    assert d.details["acquired_by"] == "bpf_ringbuf_reserve"
    assert d.details["exit_insn"] == 22
    assert "bpf_ringbuf_reserve at insn 6 (line 32)" in d.summary
    # the decision that leads to the leaking exit: `if (bpf_probe_read_user_str(...) < 0)`
    assert d.details["branch_insn"] == 17 and d.insn == 17
    assert d.source is not None and d.source.line == 36


LEAK_MSG_ONLY = """\
12: (95) exit
Unreleased reference id=4 alloc_insn=9
"""


def test_reference_leak_without_instruction_history() -> None:
    # a pasted message without the program: no acquirer is invented
    d = diagnose_log(LEAK_MSG_ONLY)
    assert d.slug == "reference-leak"
    assert d.details["acquired_by"] is None and d.details["alloc_insn"] == 9
    assert "the call at insn 9" in d.summary and "branch" not in d.summary


def test_reference_leak_newer_exit_message_alone() -> None:
    d = diagnose_log("30: (95) exit\nBPF_EXIT instruction in main prog would lead to "
                     "reference leak\n")
    assert d.slug == "reference-leak" and d.details["exit_insn"] == 30




def test_lock_helper_call_names_the_callee() -> None:
    d = diagnose_log((LOGS / "lock_helper_call.L5.log").read_text(), errno=22)
    assert (d.code, d.slug) == ("BD402", "lock-misuse")
    assert d.details["callee"] == "bpf_ktime_get_ns"
    assert d.details["lock_insn"] == 11
    assert d.summary == ("bpf_ktime_get_ns is called at insn 16 (line 43) while the "
                         "bpf_spin_lock taken at insn 11 (line 41) is held")
    assert d.source is not None and d.source.line == 43


@pytest.mark.parametrize("msg, words", [
    ("bpf_spin_unlock without taking a lock", "without a matching bpf_spin_lock"),
    ("bpf_spin_unlock of different lock", "other than the one held"),
    ("Locking two bpf_spin_locks are not allowed", "second bpf_spin_lock"),
    ("BPF_EXIT instruction cannot be used inside bpf_spin_lock-ed region",
     "BPF_EXIT instruction while holding"),
    ("BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
     "BPF_EXIT instruction in main prog while holding"),
    ("tail_call cannot be used inside bpf_spin_lock-ed region", "tail_call while holding"),
])
def test_lock_misuse_messages(msg: str, words: str) -> None:
    d = diagnose_log(f"9: (95) exit\n{msg}\n")
    assert d.slug == "lock-misuse" and words in d.summary, d.summary


def test_catalogue_entries() -> None:
    for code, slug in [("BD401", "reference-leak"), ("BD402", "lock-misuse")]:
        c = lookup(code)
        assert c is not None and c.slug == slug and c.family == "refs" and "\n" in c.fix
