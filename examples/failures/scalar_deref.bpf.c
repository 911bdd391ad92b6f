// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES invalid mem access 'scalar'
// DIAG: scalar-deref
/*
 * scalar_deref.bpf.c: dereferencing a number as if it were a pointer.  The tracepoint record
 * holds openat()'s filename argument as a user-space address; to the verifier it is just a
 * 64-bit scalar loaded from the context, not a pointer to memory it knows, so it cannot be
 * dereferenced.  (It would be unsafe anyway: user memory may be paged out or unmapped.)
 *
 * Fix: copy the string with bpf_probe_read_user_str() into a buffer the program owns.
 * Expected verdict: fails with EACCES, "R1 invalid mem access 'scalar'".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} absolute_opens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_absolute(struct trace_event_raw_sys_enter_openat *ctx)
{
	const char *filename = (const char *)ctx->filename;
	__u32 zero = 0;
	__u64 *count;

	if (filename[0] != '/')	/* BUG: reads user memory through a plain integer */
		return 0;
	count = bpf_map_lookup_elem(&absolute_opens, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
