"""Kernel messages found among the `unknown` diagnoses of the kernel's own verifier selftests
(benchmarks/selftests.py), each now mapped to the cause it really is."""

from __future__ import annotations

import pytest

from bpfdoctor.diagnose import diagnose_log

CASES = [
    ("div by zero", "invalid-insn"),
    ("tracing progs cannot use bpf_spin_lock yet", "lock-misuse"),
    ("bpf_spin_lock cannot be accessed directly by load/store", "lock-misuse"),
    ("negative offset ctx ptr R1 off=-8 disallowed", "ctx-access"),
    ("variable ctx access var_off=(0x0; 0x4) disallowed", "ctx-access"),
    ("BPF_ATOMIC stores into R1 ctx is not allowed", "ctx-access"),
    ("cannot pass map_type 1 into func bpf_get_local_storage#81", "helper-arg-type"),
    ("R2 invalid zero-sized read: u64=[0,8]", "helper-arg-type"),
]


@pytest.mark.parametrize(("message", "slug"), CASES)
def test_message_gets_its_cause(message: str, slug: str) -> None:
    log = ["0: R1=ctx() R10=fp0", "0: (b7) r0 = 0                        ; R0_w=0",
           "1: (95) exit", message, "processed 2 insns (limit 1000000) max_states_per_insn 0 "
           "total_states 0 peak_states 0 mark_read 0"]
    d = diagnose_log(log)
    assert d.slug == slug, (message, d.slug, d.summary)
    assert d.summary and d.verifier_message == message


def test_map_type_named() -> None:
    d = diagnose_log(["cannot pass map_type 1 into func bpf_get_local_storage#81"])
    assert "hash map" in d.summary and d.details["helper"] == "bpf_get_local_storage"
