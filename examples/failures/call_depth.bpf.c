// SPDX-License-Identifier: GPL-2.0
// EXPECT: E2BIG the call stack of 9 frames is too deep
// DIAG: call-depth
/*
 * call_depth.bpf.c: BPF-to-BPF calls nested deeper than the kernel allows.  Each call
 * pushes a frame; the verifier allows at most 8 (MAX_CALL_FRAMES), counting the program
 * itself.  This parser walks nested TLV options with one non-inlined function per nesting
 * level: xdp_parse_options() -> parse_level0() -> ... -> parse_level7() is 9 frames, and
 * the call the verifier refuses is the one from parse_level6(), the 8th frame.
 *
 * Fix: make the per-level helpers __always_inline, or walk the levels in a bounded loop.
 * Expected verdict: fails with E2BIG, "the call stack of 9 frames is too deep".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* one function per nesting level; each tests its bit and descends */
static __noinline int parse_level7(__u32 tlv) { return tlv & 0x80 ? 8 : 7; }
static __noinline int parse_level6(__u32 tlv) { return tlv & 0x40 ? parse_level7(tlv) + 1 : 6; } /* BUG */
static __noinline int parse_level5(__u32 tlv) { return tlv & 0x20 ? parse_level6(tlv) + 1 : 5; }
static __noinline int parse_level4(__u32 tlv) { return tlv & 0x10 ? parse_level5(tlv) + 1 : 4; }
static __noinline int parse_level3(__u32 tlv) { return tlv & 0x08 ? parse_level4(tlv) + 1 : 3; }
static __noinline int parse_level2(__u32 tlv) { return tlv & 0x04 ? parse_level3(tlv) + 1 : 2; }
static __noinline int parse_level1(__u32 tlv) { return tlv & 0x02 ? parse_level2(tlv) + 1 : 1; }
static __noinline int parse_level0(__u32 tlv) { return tlv & 0x01 ? parse_level1(tlv) + 1 : 0; }

SEC("xdp")
int xdp_parse_options(struct xdp_md *ctx)
{
	return parse_level0(ctx->rx_queue_index) > 64 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
