"""helpers family (BD3xx) on real verifier logs (tests/data/logs/<example>.L5.log, captured
on 6.18 from examples/failures and tests/data/kfunc_not_allowed.bpf.c) and on the exact
messages of older kernels and of paths the examples do not cover."""

from __future__ import annotations

from pathlib import Path

from bpfdoctor.diagnose import diagnose_log, lookup

LOGS = Path(__file__).resolve().parent / "data" / "logs"



def test_helper_not_allowed_names_helper_and_id() -> None:
    d = diagnose_log((LOGS / "helper_not_allowed.L5.log").read_text(), errno=22)
    assert (d.code, d.slug) == ("BD302", "helper-not-allowed")
    assert d.details["helper"] == "bpf_skb_store_bytes" and d.details["helper_id"] == 9
    assert "bpf_skb_store_bytes" in d.summary and "insn 11 (line 32)" in d.summary
    assert d.insn == 11 and d.source is not None and d.source.line == 32


def test_helper_not_allowed_old_wording() -> None:
    # before 5.x the same refusal read "unknown func <name>#<id>"
    d = diagnose_log("5: (85) call bpf_skb_store_bytes#9\nunknown func bpf_skb_store_bytes#9\n")
    assert d.slug == "helper-not-allowed" and d.details["helper_id"] == 9


def test_helper_unknown_id() -> None:
    d = diagnose_log("0: (85) call unknown#250\ninvalid func unknown#250\n", errno=22)
    assert (d.code, d.slug) == ("BD301", "helper-unknown")
    assert d.details == {"helper": None, "helper_id": 250}
    assert "helper #250" in d.summary and "insn 0" in d.summary


def test_poisoned_core_call_is_not_a_helper_cause() -> None:
    d = diagnose_log("1: (85) call unknown#195896080\ninvalid func unknown#195896080\n")
    assert d.slug == "core-relo-failed"


def test_gpl_only_names_helper_and_license_source() -> None:
    d = diagnose_log((LOGS / "gpl_only.L5.log").read_text(), errno=22)
    assert (d.code, d.slug) == ("BD304", "gpl-only")
    assert d.details["helper"] == "bpf_probe_read_user_str"
    assert "bpf_probe_read_user_str at insn 19 (line 43)" in d.summary
    # no object given: the license is unknown and the summary does not invent one
    assert d.details["license"] is None and "not GPL-compatible" in d.summary


ARG_LOG = """\
; return bpf_map_lookup_elem((void *)key, &key); @ x.bpf.c:10
3: (bf) r1 = r6                       ; R1=scalar(id=1) R6=scalar(id=1)
4: (bf) r2 = r10                      ; R2=fp0 R10=fp0
5: (07) r2 += -8                      ; R2=fp-8
6: (85) call bpf_map_lookup_elem#1
R1 type=scalar expected=map_ptr
"""


def test_kfunc_from_non_gpl_program_is_gpl_only() -> None:
    d = diagnose_log("3: (85) call bpf_task_from_pid#65918\n"
                     "cannot call kernel function from non-GPL compatible program\n")
    assert d.slug == "gpl-only" and d.details["helper"] == "bpf_task_from_pid"


def test_helper_arg_type_names_register_helper_and_writer() -> None:
    d = diagnose_log(ARG_LOG)
    assert (d.code, d.slug) == ("BD303", "helper-arg-type")
    assert d.details["register"] == "R1" and d.details["helper"] == "bpf_map_lookup_elem"
    assert d.details["got"] == "scalar" and d.details["expected"] == ["map_ptr"]
    assert "set at insn 3 (r1 = r6)" in d.summary and "must be map_ptr" in d.summary


def test_helper_arg_type_old_inv_wording() -> None:
    d = diagnose_log("6: (85) call bpf_map_update_elem#2\nR3 type=inv expected=fp, pkt, "
                     "pkt_meta, map_value\n")
    assert d.slug == "helper-arg-type"
    assert d.details["got"] == "scalar" and d.details["register"] == "R3"
    assert d.details["expected"] == ["fp", "pkt", "pkt_meta", "map_value"]


def test_kfunc_not_allowed() -> None:
    d = diagnose_log("7: (85) call bpf_task_acquire#25874\n"
                     "calling kernel function bpf_task_acquire is not allowed\n")
    assert (d.code, d.slug) == ("BD305", "kfunc-unavailable")
    assert d.details == {"kfunc": "bpf_task_acquire", "reason": "not-allowed",
                         "prog_type": None}
    assert "bpf_task_acquire" in d.summary and "insn 7" in d.summary


def test_kfunc_arg_mismatch() -> None:
    msg = ("kernel function bpf_cgroup_acquire args#0 expected pointer to STRUCT cgroup "
           "but R1 has a pointer to STRUCT task_struct")
    d = diagnose_log(f"3: (85) call bpf_cgroup_acquire#1234\n{msg}\n")
    assert d.slug == "kfunc-unavailable" and d.details["arg"] == 0
    assert d.details["kfunc"] == "bpf_cgroup_acquire" and "STRUCT task_struct" in d.summary


def test_kfunc_not_allowed_real_log() -> None:
    d = diagnose_log((LOGS / "kfunc_not_allowed.L5.log").read_text(), errno=13)
    assert d.slug == "kfunc-unavailable" and d.details["kfunc"] == "bpf_task_from_pid"
    assert "insn 4 (line 33)" in d.summary
    assert d.source is not None and d.source.line == 33


def test_unresolved_weak_kfunc() -> None:
    d = diagnose_log("invalid kernel function call not eliminated in verifier pass\n")
    assert d.slug == "kfunc-unavailable" and d.details["reason"] == "weak"
    assert "bpf_ksym_exists" in d.summary


def test_catalogue_entries() -> None:
    for code, slug in [("BD301", "helper-unknown"), ("BD302", "helper-not-allowed"),
                       ("BD303", "helper-arg-type"), ("BD304", "gpl-only"),
                       ("BD305", "kfunc-unavailable")]:
        c = lookup(code)
        assert c is not None and c.slug == slug and lookup(slug) is c
        assert c.family == "helpers" and c.explanation and "\n" in c.fix




def test_helper_arg_type_follows_the_register_to_its_call() -> None:
    d = diagnose_log((LOGS / "inner_map_null.L5.log").read_text(), errno=13)
    assert d.slug == "helper-arg-type"
    assert d.details["from_call"] == "bpf_map_lookup_elem" and d.details["from_insn"] == 9
    assert d.details["map"] == "tenants" and d.details["got"] == "map_value_or_null"
    assert "bpf_map_lookup_elem(&tenants) at insn 9 (line 36)" in d.summary
    assert "not checked for NULL" in d.summary
    assert d.source is not None and d.source.line == 39
