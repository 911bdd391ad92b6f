"""The stack family (BD2xx) on real verifier logs and on older kernels' wording.

The upper-case constants are verbatim logs (log level 1, statistics lines dropped) of this
repository's examples/failures/*.bpf.c loaded on Linux 6.18; the short hand-made logs use
the exact messages of kernel/bpf/verifier.c, including spellings of older kernels.
Reads of uninitialised plain stack are refused only for unprivileged loaders, so those
messages are tested here only."""
# ruff: noqa: E501  (verbatim kernel log lines)

from __future__ import annotations

from pathlib import Path

from bpfdoctor import load_collection_spec
from bpfdoctor.asm import slot_offsets
from bpfdoctor.diagnose import diagnose_log, lookup
from support.build import EXAMPLES, compile_bpf

DATA = Path(__file__).parent / "data" / "logs"

UNINIT_REG = """\
0: R1=ctx() R10=fp0
; int xdp_count_bytes(struct xdp_md *ctx) @ uninit_register.bpf.c:24
0: (b7) r1 = 0                        ; R1=0
; __u32 zero = 0; @ uninit_register.bpf.c:26
1: (63) *(u32 *)(r10 -4) = r1         ; R1=0 R10=fp0 fp-8=0000????
; asm volatile("%[len] = r2" : [len] "=r"(len)); @ uninit_register.bpf.c:30
2: (bf) r6 = r2
R2 !read_ok
stack depth 8
"""

UNINIT_DYNPTR = """\
0: R1=ctx() R10=fp0
; __u64 flags = ctx->flags; @ uninit_stack.bpf.c:33
0: (79) r1 = *(u64 *)(r1 +32)         ; R1=scalar()
1: (7b) *(u64 *)(r10 -24) = r1        ; R1=scalar(id=1) R10=fp0 fp-24=scalar(id=1)
; if (flags & O_CREAT_FLAG) @ uninit_stack.bpf.c:35
2: (57) r1 &= 64                      ; R1=scalar(smin=smin32=0,smax=umax=smax32=umax32=64,var_off=(0x0; 0x40))
3: (15) if r1 == 0x0 goto pc+7 11: R1=0 R10=fp0 fp-24=scalar(id=1)
; bpf_ringbuf_reserve_dynptr(&events, sizeof(flags), 0, &ptr); @ uninit_stack.bpf.c:36
11: (bf) r6 = r10                     ; R6=fp0 R10=fp0
12: (07) r6 += -16                    ; R6=fp-16
13: (bf) r3 = r10                     ; R3=fp0 R10=fp0
14: (07) r3 += -24                    ; R3=fp-24
; bpf_dynptr_write(&ptr, 0, &flags, sizeof(flags), 0); @ uninit_stack.bpf.c:37
15: (bf) r1 = r6                      ; R1=fp-16 R6=fp-16
16: (b7) r2 = 0                       ; R2=0
17: (b7) r4 = 8                       ; R4=8
18: (b7) r5 = 0                       ; R5=0
19: (85) call bpf_dynptr_write#202
Expected an initialized dynptr as arg #0
stack depth 24
"""

STACK_HELPER = """\
0: R1=ctx() R10=fp0
; int count_by_comm(struct trace_event_raw_sys_enter_openat *ctx) @ stack_helper_size.bpf.c:28
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
1: (bf) r7 = r10                      ; R7=fp0 R10=fp0
2: (07) r7 += -16                     ; R7=fp-16
; bpf_get_current_comm(comm, 32);	/* BUG: 32 bytes into a 16-byte buffer */ @ stack_helper_size.bpf.c:32
3: (bf) r1 = r7                       ; R1=fp-16 R7=fp-16
4: (b7) r2 = 32                       ; R2=32
5: (85) call bpf_get_current_comm#16
invalid write to stack R1 off=-16 size=32
stack depth 0
"""

TOO_LARGE = """\
combined stack size of 2 calls is 560. Too large
stack depth 288+264
"""


def test_uninit_register_from_entry() -> None:
    d = diagnose_log(UNINIT_REG)
    assert (d.code, d.slug) == ("BD201", "uninit-register")
    assert d.insn == 2 and d.details == {"register": 2}
    assert "insn 2 (`r6 = r2`) reads R2" in d.summary and "only R1" in d.summary


def test_uninit_register_clobbered_by_call() -> None:
    log = """\
0: R1=ctx() R10=fp0
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
1: (b7) r2 = 4                        ; R2=4
2: (85) call bpf_get_prandom_u32#7    ; R0=scalar()
3: (bf) r3 = r2
R2 !read_ok
"""
    d = diagnose_log(log)
    assert d.slug == "uninit-register"
    assert d.details == {"register": 2, "clobbered_by": "bpf_get_prandom_u32", "call_insn": 2}
    assert "calls clobber R1-R5" in d.summary


def test_uninit_dynptr_names_helper_and_branch() -> None:
    d = diagnose_log(UNINIT_DYNPTR)
    assert (d.code, d.slug) == ("BD202", "uninit-stack")
    assert d.details["helper"] == "bpf_dynptr_write" and d.details["object"] == "dynptr"
    assert d.details["branches"] == [[3, 11]]
    assert "argument #0 of bpf_dynptr_write at insn 19" in d.summary


def test_uninit_iterator_lowercase_wording() -> None:
    d = diagnose_log("7: (85) call bpf_iter_num_next#75000\n"
                     "expected an initialized iter_num as arg #1")
    assert d.slug == "uninit-stack" and d.details["object"] == "iter_num"
    assert d.details["helper"] == "bpf_iter_num_next"


def test_uninit_plain_stack_reads_unprivileged_wordings() -> None:
    d = diagnose_log("3: (79) r1 = *(u64 *)(r10 -16)\ninvalid read from stack off -16+0 size 8")
    assert d.slug == "uninit-stack" and d.details == {"off": -16, "size": 8}
    d = diagnose_log("6: (85) call bpf_map_lookup_elem#1\n"
                     "invalid indirect read from stack R2 off -8+4 size 8")
    assert d.slug == "uninit-stack"
    assert d.details == {"size": 8, "off": -4, "register": 2, "helper": "bpf_map_lookup_elem"}
    d = diagnose_log("invalid indirect read from stack off -8+0 size 8")  # before 5.10
    assert d.slug == "uninit-stack" and "register" not in d.details
    d = diagnose_log("invalid indirect read from stack R2 var_off (0x0; 0x1f8)+-8 size 8")
    assert d.slug == "uninit-stack" and d.details["register"] == 2


def test_stack_bounds_helper_write_past_frame() -> None:
    d = diagnose_log(STACK_HELPER)
    assert (d.code, d.slug) == ("BD203", "stack-bounds")
    assert d.details == {"register": 1, "off": -16, "size": 32,
                         "helper": "bpf_get_current_comm"}
    assert "writes 32 bytes at fp-16 through R1" in d.summary
    assert "16 bytes above the frame pointer" in d.summary


def test_stack_bounds_below_limit_and_old_wordings() -> None:
    d = diagnose_log("0: (7a) *(u64 *)(r10 -520) = 0\ninvalid write to stack R10 off=-520 size=8")
    assert d.slug == "stack-bounds" and "below the 512-byte limit" in d.summary
    d = diagnose_log("invalid stack off=-520 size=8")
    assert d.slug == "stack-bounds" and d.details == {"off": -520, "size": 8}
    d = diagnose_log("invalid variable-offset read from stack R2 var_off=(0x0; 0x1f8) off=-8 size=8")
    assert d.slug == "stack-bounds" and d.details["var_off"] == "(0x0; 0x1f8)"


def test_uninit_and_bounds_are_told_apart() -> None:
    """'invalid read from stack R1 off=-520' is out of bounds, '... off -8+0' uninitialised."""
    assert diagnose_log("invalid read from stack R1 off=-520 size=8").slug == "stack-bounds"
    assert diagnose_log("invalid read from stack off -8+0 size 8").slug == "uninit-stack"


def test_combined_stack_size() -> None:
    d = diagnose_log(TOO_LARGE)
    assert (d.code, d.slug) == ("BD204", "stack-too-large")
    assert d.details == {"calls": 2, "total": 560, "limit": 512, "stack_depths": [288, 264]}
    assert "2 nested BPF-to-BPF calls needs 560 bytes" in d.summary and "288+264" in d.summary


def test_tail_call_and_exception_variants() -> None:
    d = diagnose_log("tail_calls are not allowed when call stack of previous frames is 320 "
                     "bytes. Too large")
    assert d.slug == "stack-too-large" and d.details == {"total": 320, "limit": 256}
    d = diagnose_log("combined stack size of main and exception calls is 600. Too large")
    assert d.slug == "stack-too-large" and d.details["total"] == 600


def test_catalogue_entries() -> None:
    for code in ("BD201", "BD202", "BD203", "BD204"):
        c = lookup(code)
        assert c is not None and c.family == "stack" and c.fix and c.explanation


def test_uninit_dynptr_level2_names_the_skipped_constructor() -> None:
    log = (DATA / "uninit_stack.L6.log").read_text()
    d = diagnose_log(log)
    assert d.slug == "uninit-stack"
    assert d.details["initialiser"] == "bpf_ringbuf_reserve_dynptr"
    assert d.details["initialiser_insn"] == 10
    assert "which this path skips" in d.summary


def test_combined_stack_points_at_the_call_that_goes_over() -> None:
    """With the object, the call graph and the log's depths name the overflowing call; the
    kernel's total (560 = 288 + 272, JIT rounding to 16 bytes) picks the rounding rule."""
    src = EXAMPLES / "failures" / "stack_too_large.bpf.c"
    spec = load_collection_spec(compile_bpf(src))
    prog = spec.programs["classify_payload"]
    d = diagnose_log(TOO_LARGE, program=prog, spec=spec)
    assert d.slug == "stack-too-large"
    call = d.details["call_insn"]
    assert d.insn == call and f"the call at insn {call}" in d.summary
    slots = dict(zip(slot_offsets(prog.instructions), prog.instructions, strict=True))
    assert slots[call].is_bpf_call
    bug = next(i for i, line in enumerate(src.read_text().splitlines(), 1)
               if "BUG" in line and not line.lstrip().startswith(("//", "/*", "*")))
    assert d.source is not None and d.source.line == bug


def test_combined_stack_without_matching_functions_gives_no_call() -> None:
    spec = load_collection_spec(compile_bpf(EXAMPLES / "failures" / "null_check.bpf.c"))
    d = diagnose_log(TOO_LARGE, program=spec.programs["count_openat"], spec=spec)
    assert d.slug == "stack-too-large" and "call_insn" not in d.details and d.insn is None
