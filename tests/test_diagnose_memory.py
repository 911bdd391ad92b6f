"""The memory family (BD1xx) on real verifier logs and on older kernels' wording.

The ``*_LOG`` constants are verbatim logs (log level 1, statistics lines dropped) of this
repository's examples/failures/*.bpf.c loaded on Linux 6.18; the short hand-made logs use
the exact messages of kernel/bpf/verifier.c, in older spellings where they differ ('inv'
for 'scalar', no register in some messages)."""
# ruff: noqa: E501  (verbatim kernel log lines)

from __future__ import annotations

from bpfdoctor import load_collection_spec
from bpfdoctor.diagnose import diagnose_log, lookup
from support.build import EXAMPLES, compile_bpf

NULL_CHECK = """\
0: R1=ctx() R10=fp0
; __u32 tgid = bpf_get_current_pid_tgid() >> 32; @ null_check.bpf.c:28
0: (85) call bpf_get_current_pid_tgid#14      ; R0=scalar()
1: (77) r0 >>= 32                     ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
2: (63) *(u32 *)(r10 -4) = r0         ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8=mmmm????
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -4                      ; R2=fp-4
; count = bpf_map_lookup_elem(&open_counts, &tgid); @ null_check.bpf.c:31
5: (18) r1 = 0xffff888122e30400       ; R1=map_ptr(map=open_counts,ks=4,vs=8)
7: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=open_counts,ks=4,vs=8)
8: (b7) r1 = 1                        ; R1=1
; __sync_fetch_and_add(count, 1);	/* BUG: count may be NULL */ @ null_check.bpf.c:32
9: (db) lock *(u64 *)(r0 +0) += r1
R0 invalid mem access 'map_value_or_null'
stack depth 8
"""

MAP_VALUE_SIZE = """\
0: R1=ctx() R10=fp0
; int count_opens(struct trace_event_raw_sys_enter_openat *ctx) @ map_value_size.bpf.c:26
0: (b7) r1 = 0                        ; R1=0
; __u32 zero = 0; @ map_value_size.bpf.c:28
1: (63) *(u32 *)(r10 -4) = r1         ; R1=0 R10=fp0 fp-8=0000????
2: (bf) r2 = r10                      ; R2=fp0 R10=fp0
3: (07) r2 += -4                      ; R2=fp-4
; count = bpf_map_lookup_elem(&open_total, &zero); @ map_value_size.bpf.c:31
4: (18) r1 = 0xffff88815edf5000       ; R1=map_ptr(map=open_total,ks=4,vs=4)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value(map=open_total,ks=4,vs=4)
; if (!count) @ map_value_size.bpf.c:32
7: (15) if r0 == 0x0 goto pc+2        ; R0=map_value(map=open_total,ks=4,vs=4)
8: (b7) r1 = 1                        ; R1=1
; __sync_fetch_and_add(count, 1);	/* BUG: the value is a 4-byte __u32 */ @ map_value_size.bpf.c:34
9: (db) lock *(u64 *)(r0 +0) += r1
invalid access to map value, value_size=4 off=0 size=8
R0 min value is outside of the allowed memory range
stack depth 8
"""

UNBOUNDED = """\
0: R1=ctx() R10=fp0
; int mode_histogram(struct trace_event_raw_sys_enter_openat *ctx) @ map_value_bounds.bpf.c:30
0: (b7) r2 = 0                        ; R2=0
; __u32 zero = 0; @ map_value_bounds.bpf.c:32
1: (63) *(u32 *)(r10 -4) = r2         ; R2=0 R10=fp0 fp-8=0000????
; __u32 bucket = ctx->mode;	/* any 32-bit value the caller passed */ @ map_value_bounds.bpf.c:33
2: (79) r6 = *(u64 *)(r1 +40)         ; R1=ctx() R6=scalar()
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -4                      ; R2=fp-4
; h = bpf_map_lookup_elem(&mode_hist, &zero); @ map_value_bounds.bpf.c:36
5: (18) r1 = 0xffff88816bb71400       ; R1=map_ptr(map=mode_hist,ks=4,vs=128)
7: (85) call bpf_map_lookup_elem#1    ; R0=map_value(map=mode_hist,ks=4,vs=128)
; if (!h) @ map_value_bounds.bpf.c:37
8: (15) if r0 == 0x0 goto pc+7        ; R0=map_value(map=mode_hist,ks=4,vs=128)
9: (67) r6 <<= 32                     ; R6=scalar(smax=0x7fffffff00000000,umax=0xffffffff00000000,smin32=0,smax32=umax32=0,var_off=(0x0; 0xffffffff00000000))
10: (77) r6 >>= 32                    ; R6=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
; h->slots[bucket]++;		/* BUG: bucket never compared with NR_SLOTS */ @ map_value_bounds.bpf.c:39
11: (67) r6 <<= 3                     ; R6=scalar(smin=0,smax=umax=0x7fffffff8,smax32=0x7ffffff8,umax32=0xfffffff8,var_off=(0x0; 0x7fffffff8))
12: (0f) r0 += r6                     ; R0=map_value(map=mode_hist,ks=4,vs=128,smin=0,smax=umax=0x7fffffff8,smax32=0x7ffffff8,umax32=0xfffffff8,var_off=(0x0; 0x7fffffff8)) R6=scalar(smin=0,smax=umax=0x7fffffff8,smax32=0x7ffffff8,umax32=0xfffffff8,var_off=(0x0; 0x7fffffff8))
13: (79) r1 = *(u64 *)(r0 +0)
R0 unbounded memory access, make sure to bounds check any such access
stack depth 8
"""

PACKET = """\
0: R1=ctx() R10=fp0
; int xdp_drop_icmp(struct xdp_md *ctx) @ packet_bounds.bpf.c:20
0: (b7) r0 = 2                        ; R0=2
; void *data_end = (void *)(long)ctx->data_end; @ packet_bounds.bpf.c:23
1: (61) r2 = *(u32 *)(r1 +4)          ; R1=ctx() R2=pkt_end()
; void *data = (void *)(long)ctx->data; @ packet_bounds.bpf.c:22
2: (61) r1 = *(u32 *)(r1 +0)          ; R1=pkt(r=0)
; if ((void *)(eth + 1) > data_end) @ packet_bounds.bpf.c:27
3: (bf) r3 = r1                       ; R1=pkt(r=0) R3=pkt(r=0)
4: (07) r3 += 14                      ; R3=pkt(off=14,r=0)
5: (2d) if r3 > r2 goto pc+9          ; R2=pkt_end() R3=pkt(off=14,r=14)
; if (eth->h_proto != bpf_htons(ETH_P_IP)) @ packet_bounds.bpf.c:29
6: (71) r2 = *(u8 *)(r1 +12)          ; R1=pkt(r=14) R2=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))
7: (71) r3 = *(u8 *)(r1 +13)          ; R1=pkt(r=14) R3=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))
8: (67) r3 <<= 8                      ; R3=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xff00,var_off=(0x0; 0xff00))
9: (4f) r3 |= r2                      ; R2=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R3=scalar(smin=smin32=0,smax=umax=smax32=umax32=0xffff,var_off=(0x0; 0xffff))
10: (55) if r3 != 0x8 goto pc+4       ; R3=8
; if (ip->protocol == IPPROTO_ICMP) @ packet_bounds.bpf.c:33
11: (71) r1 = *(u8 *)(r1 +23)
invalid access to packet, off=23 size=1, R1(id=0,off=23,r=14)
R1 offset is outside of the packet
stack depth 0
"""

CTX_WRITE = """\
0: R1=ctx() R10=fp0
; int mark_udp(struct __sk_buff *skb) @ ctx_write.bpf.c:22
0: (bf) r6 = r1                       ; R1=ctx() R6=ctx()
; if (skb->protocol != bpf_htons(ETH_P_IP)) @ ctx_write.bpf.c:26
1: (61) r1 = *(u32 *)(r6 +16)         ; R1=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R6=ctx()
2: (55) if r1 != 0x8 goto pc+11       ; R1=8
3: (bf) r3 = r10                      ; R3=fp0 R10=fp0
4: (07) r3 += -20                     ; R3=fp-20
; if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) @ ctx_write.bpf.c:28
5: (bf) r1 = r6                       ; R1=ctx() R6=ctx()
6: (b7) r2 = 14                       ; R2=14
7: (b7) r4 = 20                       ; R4=20
8: (85) call bpf_skb_load_bytes#26    ; R0=scalar() fp-8=mmmmmmmm fp-16=mmmmmmmm fp-24=mmmm????
9: (55) if r0 != 0x0 goto pc+4        ; R0=0
10: (71) r1 = *(u8 *)(r10 -11)        ; R1=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R10=fp0 fp-16=mmmmmmmm
11: (55) if r1 != 0x11 goto pc+2      ; R1=17
12: (b7) r1 = 16                      ; R1=16
; skb->mark = MARK_UDP;	/* BUG: read-only for socket filters */ @ ctx_write.bpf.c:31
13: (63) *(u32 *)(r6 +8) = r1
invalid bpf_context access off=8 size=4
stack depth 24
"""

SCALAR = """\
0: R1=ctx() R10=fp0
; const char *filename = (const char *)ctx->filename; @ scalar_deref.bpf.c:26
0: (79) r1 = *(u64 *)(r1 +24)         ; R1=scalar()
1: (b7) r2 = 0                        ; R2=0
; __u32 zero = 0; @ scalar_deref.bpf.c:27
2: (63) *(u32 *)(r10 -4) = r2         ; R2=0 R10=fp0 fp-8=0000????
; if (filename[0] != '/')	/* BUG: reads user memory through a plain integer */ @ scalar_deref.bpf.c:30
3: (71) r1 = *(u8 *)(r1 +0)
R1 invalid mem access 'scalar'
stack depth 8
"""

READONLY = """\
0: R1=ctx() R10=fp0
; __u32 tgid = bpf_get_current_pid_tgid() >> 32; @ readonly_map_write.bpf.c:30
0: (85) call bpf_get_current_pid_tgid#14      ; R0=scalar()
1: (77) r0 >>= 32                     ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
2: (63) *(u32 *)(r10 -4) = r0         ; R0=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8=mmmm????
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -4                      ; R2=fp-4
; hits = bpf_map_lookup_elem(&watched_pids, &tgid); @ readonly_map_write.bpf.c:33
5: (18) r1 = 0xffff888100257c00       ; R1=map_ptr(map=watched_pids,ks=4,vs=8)
7: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=watched_pids,ks=4,vs=8)
; if (!hits) @ readonly_map_write.bpf.c:34
8: (15) if r0 == 0x0 goto pc+3        ; R0=map_value(map=watched_pids,ks=4,vs=8)
; *hits += 1;		/* BUG: values of a BPF_F_RDONLY_PROG map are read-only */ @ readonly_map_write.bpf.c:36
9: (79) r1 = *(u64 *)(r0 +0)          ; R0=map_value(map=watched_pids,ks=4,vs=8) R1=scalar()
10: (07) r1 += 1                      ; R1=scalar()
11: (7b) *(u64 *)(r0 +0) = r1
write into map forbidden, value_size=8 off=0 size=8
stack depth 8
"""

PTR_ARITH = """\
0: R1=ctx() R10=fp0
; int record_mode(struct trace_event_raw_sys_enter_openat *ctx) @ pointer_arith.bpf.c:32
0: (b7) r2 = 0                        ; R2=0
; __u32 zero = 0; @ pointer_arith.bpf.c:34
1: (63) *(u32 *)(r10 -4) = r2         ; R2=0 R10=fp0 fp-8=0000????
; __s64 idx = (__s64)ctx->mode; @ pointer_arith.bpf.c:35
2: (79) r6 = *(u64 *)(r1 +40)         ; R1=ctx() R6=scalar()
3: (bf) r2 = r10                      ; R2=fp0 R10=fp0
4: (07) r2 += -4                      ; R2=fp-4
; r = bpf_map_lookup_elem(&recent_modes, &zero); @ pointer_arith.bpf.c:38
5: (18) r1 = 0xffff888100254000       ; R1=map_ptr(map=recent_modes,ks=4,vs=256)
7: (85) call bpf_map_lookup_elem#1    ; R0=map_value(map=recent_modes,ks=4,vs=256)
; if (!r) @ pointer_arith.bpf.c:39
8: (15) if r0 == 0x0 goto pc+3        ; R0=map_value(map=recent_modes,ks=4,vs=256)
; r->modes[idx] = 1;	/* BUG: idx is any 64-bit value, never bounded */ @ pointer_arith.bpf.c:41
9: (0f) r0 += r6
math between map_value pointer and register with unbounded min value is not allowed
stack depth 8
"""


def test_null_check_names_register_helper_and_map() -> None:
    d = diagnose_log(NULL_CHECK)
    assert (d.code, d.slug) == ("BD101", "null-check-missing")
    assert d.insn == 9
    assert d.details == {"register": 0, "type": "map_value_or_null", "map": "open_counts",
                         "helper": "bpf_map_lookup_elem", "origin_insn": 7}
    assert "bpf_map_lookup_elem(&open_counts) at insn 7" in d.summary
    assert d.source is not None and d.source.line == 32


def test_null_check_follows_register_moves() -> None:
    log = """\
0: R1=ctx() R10=fp0
0: (85) call bpf_ringbuf_reserve#131  ; R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=16)
1: (bf) r6 = r0                       ; R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=16) R6=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=16)
2: (b7) r1 = 0                        ; R1=0
3: (7b) *(u64 *)(r6 +0) = r1
R6 invalid mem access 'ringbuf_mem_or_null'
"""
    d = diagnose_log(log)
    assert d.slug == "null-check-missing"
    assert d.details["register"] == 6 and d.details["helper"] == "bpf_ringbuf_reserve"
    assert d.details["origin_insn"] == 0


def test_null_check_message_only_falls_back() -> None:
    d = diagnose_log("R0 invalid mem access 'map_value_or_null'")
    assert d.slug == "null-check-missing"
    assert "R0 may be NULL" in d.summary and "helper" not in d.details


def test_map_value_constant_overrun() -> None:
    d = diagnose_log(MAP_VALUE_SIZE)
    assert (d.code, d.slug) == ("BD102", "map-value-bounds")
    assert d.details == {"value_size": 4, "off": 0, "size": 8, "map": "open_total",
                         "register": 0}
    assert "4-byte map value of map open_total" in d.summary
    assert "past its end by 4 byte(s)" in d.summary


def test_map_value_variable_offset_reports_range() -> None:
    log = """\
0: R1=ctx() R10=fp0
5: (0f) r0 += r6                      ; R0=map_value(map=hist,ks=4,vs=64,smin=smin32=0,smax=umax=smax32=umax32=120,var_off=(0x0; 0x78)) R6=scalar(smin=smin32=0,smax=umax=smax32=umax32=120,var_off=(0x0; 0x78))
6: (79) r1 = *(u64 *)(r0 +0)
invalid access to map value, value_size=64 off=120 size=8
R0 max value is outside of the allowed memory range
"""
    d = diagnose_log(log)
    assert d.slug == "map-value-bounds"
    assert d.details["map"] == "hist" and d.details["offset_range"] == "[0, 120]"
    assert "max value reaches outside" in d.summary


def test_unbounded_index_into_map_value() -> None:
    d = diagnose_log(UNBOUNDED)
    assert (d.code, d.slug) == ("BD103", "unbounded-access")
    assert d.details["map"] == "mode_hist" and d.details["value_size"] == 128
    assert d.details["offset_range"] == "[0, 0x7fffffff8]"
    assert "insn 12 (`r0 += r6`)" in d.summary


def test_unbounded_negative_min_old_wording() -> None:
    log = ("12: (71) r1 = *(u8 *)(r0 +0)\n"
           "R0 min value is negative, either use unsigned index or do a if (index >=0) check.")
    d = diagnose_log(log)
    assert d.slug == "unbounded-access" and d.details["register"] == 0
    assert "may be negative" in d.summary


def test_packet_bounds_sizes() -> None:
    d = diagnose_log(PACKET)
    assert (d.code, d.slug) == ("BD104", "packet-bounds")
    assert d.details == {"register": 1, "off": 23, "size": 1, "range": 14, "needed": 24}
    assert "reads 1 byte at packet offset 23 through R1" in d.summary
    assert "only 14 bytes" in d.summary


def test_packet_bounds_outside_line_only() -> None:
    d = diagnose_log("R3 offset is outside of the packet")
    assert d.slug == "packet-bounds" and d.details == {"register": 3}


def test_ctx_write() -> None:
    d = diagnose_log(CTX_WRITE)
    assert (d.code, d.slug) == ("BD105", "ctx-access")
    assert d.details == {"off": 8, "size": 4, "access": "write", "register": 6}
    assert "writes 4 bytes at offset 8 of the context" in d.summary


def test_ctx_modified_pointer() -> None:
    d = diagnose_log("4: (61) r0 = *(u32 *)(r1 +0)\ndereference of modified ctx ptr R1 off=4 disallowed")
    assert d.slug == "ctx-access" and d.details == {"register": 1, "off": 4}


def test_scalar_deref_traces_the_context_load() -> None:
    d = diagnose_log(SCALAR)
    assert (d.code, d.slug) == ("BD106", "scalar-deref")
    assert d.details == {"register": 1, "origin_insn": 0, "from_context": True}
    assert "loaded from a context field at insn 0" in d.summary


def test_scalar_deref_old_inv_wording() -> None:
    log = """\
0: (79) r1 = *(u64 *)(r1 +24)
1: (71) r1 = *(u8 *)(r1 +0)
R1 invalid mem access 'inv'
"""
    d = diagnose_log(log)
    assert d.slug == "scalar-deref" and d.details["register"] == 1


def test_readonly_map_value() -> None:
    d = diagnose_log(READONLY)
    assert (d.code, d.slug) == ("BD107", "readonly-write")
    assert d.details == {"value_size": 8, "off": 0, "size": 8, "map": "watched_pids"}
    assert "writes 8 bytes at offset 0 into a value of map watched_pids" in d.summary


def test_readonly_rdonly_mem_and_packet() -> None:
    d = diagnose_log("7: (7b) *(u64 *)(r1 +0) = r2\nR1 cannot write into rdonly_mem")
    assert d.slug == "readonly-write" and d.details == {"register": 1, "type": "rdonly_mem"}
    assert diagnose_log("cannot write into packet").slug == "readonly-write"


def test_pointer_arith_unbounded_min() -> None:
    d = diagnose_log(PTR_ARITH)
    assert (d.code, d.slug) == ("BD108", "pointer-arith")
    assert d.details["register"] == 0 and d.details["offset_register"] == 6
    assert d.details["map"] == "recent_modes" and d.details["offset_origin_insn"] == 2
    assert "adds R6, a number with no known lower bound, to R0" in d.summary


def test_pointer_arith_other_messages() -> None:
    d = diagnose_log("R0 pointer arithmetic on map_value_or_null prohibited, null-check it first")
    assert d.slug == "pointer-arith" and "may still be NULL" in d.summary
    assert diagnose_log("R1 32-bit pointer arithmetic prohibited").slug == "pointer-arith"
    d = diagnose_log("math between map_value pointer and 1073741824 is not allowed")
    assert d.slug == "pointer-arith" and d.details["value"] == 1073741824


def test_null_check_is_not_taken_for_scalar_or_other_messages() -> None:
    assert diagnose_log("R1 invalid mem access 'scalar'").slug == "scalar-deref"
    assert lookup("BD101") is lookup("null-check-missing")
    for code in ("BD101", "BD102", "BD103", "BD104", "BD105", "BD106", "BD107", "BD108"):
        c = lookup(code)
        assert c is not None and c.family == "memory" and c.fix and c.explanation


def test_object_facts_sharpen_the_summary() -> None:
    """With the object at hand: why the map is read-only, and the program type by name."""
    spec = load_collection_spec(compile_bpf(EXAMPLES / "failures" / "readonly_map_write.bpf.c"))
    d = diagnose_log(READONLY, spec=spec)
    assert "created with BPF_F_RDONLY_PROG" in d.summary
    spec = load_collection_spec(compile_bpf(EXAMPLES / "failures" / "ctx_write.bpf.c"))
    d = diagnose_log(CTX_WRITE, program=spec.programs["mark_udp"], spec=spec)
    assert d.details["program_type"] == "socket_filter"
    assert d.details["field"] == "__sk_buff.mark"
    assert "a socket_filter program may read but not write" in d.summary
