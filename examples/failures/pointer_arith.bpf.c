// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL math between map_value pointer and register with unbounded min value
// DIAG: pointer-arith
/*
 * pointer_arith.bpf.c: adding a number the verifier knows nothing about to a pointer.  The
 * program keeps a 256-byte ring of recent open() modes in a map value and indexes it with
 * the syscall's raw 64-bit mode argument.  A 64-bit value with no known lower bound could
 * move the pointer anywhere, so the verifier refuses the addition itself, before any access.
 *
 * Fix: bound the number first, e.g. `idx &= RING_LEN - 1;` or `if (idx >= RING_LEN) return 0;`.
 * Expected verdict: fails with EINVAL, "math between map_value pointer and register with
 * unbounded min value is not allowed".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define RING_LEN 256

struct ring {
	__u8 modes[RING_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ring);
} recent_modes SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int record_mode(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 zero = 0;
	__s64 idx = (__s64)ctx->mode;
	struct ring *r;

	r = bpf_map_lookup_elem(&recent_modes, &zero);
	if (!r)
		return 0;
	r->modes[idx] = 1;	/* BUG: idx is any 64-bit value, never bounded */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
