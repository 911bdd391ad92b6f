// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES unbounded memory access, make sure to bounds check
// DIAG: unbounded-access
/*
 * map_value_bounds.bpf.c: indexing an array inside a map value with a number the program
 * did not bound.  The verifier tracks the index's range; a value that may be anything
 * (here openat()'s mode argument) could address memory past the 16-slot array.
 *
 * Fix: `if (bucket >= NR_SLOTS) return 0;` (or mask it: bucket &= NR_SLOTS - 1).
 * Expected verdict: fails with EACCES, "unbounded memory access, make sure to bounds check
 * any such access".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define NR_SLOTS 16

struct histogram {
	__u64 slots[NR_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct histogram);
} mode_hist SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int mode_histogram(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 zero = 0;
	__u32 bucket = ctx->mode;	/* any 32-bit value the caller passed */
	struct histogram *h;

	h = bpf_map_lookup_elem(&mode_hist, &zero);
	if (!h)
		return 0;
	h->slots[bucket]++;		/* BUG: bucket never compared with NR_SLOTS */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
