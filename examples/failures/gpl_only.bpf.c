// SPDX-License-Identifier: BSD-2-Clause
// EXPECT: EINVAL cannot call GPL-restricted function from non-GPL compatible program
// DIAG: gpl-only
/*
 * gpl_only.bpf.c: a program whose license string is not GPL-compatible calling a helper
 * the kernel marks gpl_only.  The memory-reading helpers (bpf_probe_read_user_str here,
 * bpf_probe_read_kernel, ...) expose kernel internals and are GPL-only; bpf_ktime_get_ns
 * and bpf_get_current_pid_tgid are not, so the first call is accepted.
 *
 * The kernel only accepts "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
 * "Dual MIT/GPL" and "Dual MPL/GPL" as GPL-compatible; "BSD" is not.
 * Fix: license the program as "Dual BSD/GPL" (if that is true) or avoid the helper.
 * Expected verdict: fails with EINVAL, "cannot call GPL-restricted function from non-GPL
 * compatible program".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct path_event {
	__u64 ts;
	__u32 tgid;
	char path[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_event);
} last_path SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int remember_path(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 zero = 0;
	struct path_event *e = bpf_map_lookup_elem(&last_path, &zero);

	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)ctx->filename); /* BUG: GPL-only */
	return 0;
}

char LICENSE[] SEC("license") = "BSD";
