// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES write into map forbidden, value_size=8 off=0 size=8
// DIAG: readonly-write
/*
 * readonly_map_write.bpf.c: a BPF program writing into a map it may only read.  The map is
 * created with BPF_F_RDONLY_PROG, the usual choice for configuration that user space fills
 * in and programs consult; the verifier marks its values read-only for programs, so the
 * increment of the "hits" counter is refused.  (.rodata globals are refused the same way:
 * libbpf freezes that map and the verifier treats it as read-only.)
 *
 * Fix: keep counters in a separate map without BPF_F_RDONLY_PROG.
 * Expected verdict: fails with EACCES, "write into map forbidden, value_size=8 off=0
 * size=8".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, __u32);
	__type(value, __u64);
} watched_pids SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_watched(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *hits;

	hits = bpf_map_lookup_elem(&watched_pids, &tgid);
	if (!hits)
		return 0;
	(*hits)++;		/* BUG: values of a BPF_F_RDONLY_PROG map are read-only */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
