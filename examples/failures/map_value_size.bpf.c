// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES invalid access to map value, value_size=4 off=0 size=8
// DIAG: map-value-bounds
/*
 * map_value_size.bpf.c: using a map value as a bigger type than the map declares.  The map
 * stores 4-byte counters, but the program treats the looked-up value as a __u64 and adds to
 * all 8 bytes; the verifier knows every map value is exactly value_size bytes and refuses an
 * access that reaches past it, even at a constant offset.
 *
 * Fix: make the pointer type match the map (`__u32 *count`) or declare the value as __u64.
 * Expected verdict: fails with EACCES, "invalid access to map value, value_size=4 off=0
 * size=8".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} open_total SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_opens(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 zero = 0;
	__u64 *count;

	count = bpf_map_lookup_elem(&open_total, &zero);
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);	/* BUG: the value is a 4-byte __u32 */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
