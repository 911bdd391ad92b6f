// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES invalid mem access 'map_value_or_null'
// DIAG: null-check-missing
/*
 * null_check.bpf.c: the most common verifier rejection.  bpf_map_lookup_elem() returns
 * NULL when the key is absent, so its result has type map_value_or_null until the program
 * compares it with NULL; dereferencing it before that is refused.
 *
 * (A hash map, because recent kernels know that an ARRAY lookup with a constant, in-range
 * key cannot fail and accept the same code for arrays.)
 *
 * Fix: `if (!count) return 0;` before the increment.
 * Expected verdict: fails with EACCES, "R0 invalid mem access 'map_value_or_null'".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} open_counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *count;

	count = bpf_map_lookup_elem(&open_counts, &tgid);
	__sync_fetch_and_add(count, 1);	/* BUG: count may be NULL */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
