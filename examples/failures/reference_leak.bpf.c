// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL Unreleased reference id=
// DIAG: reference-leak
/*
 * reference_leak.bpf.c: a ring buffer reservation that is neither submitted nor discarded
 * on one path.  bpf_ringbuf_reserve() returns a reference the verifier tracks; every path
 * to the program's exit must hand it back with bpf_ringbuf_submit() or
 * bpf_ringbuf_discard(), or the reserved space would be stuck forever.  Here the early
 * return for failed path reads forgets it.
 *
 * Fix: `bpf_ringbuf_discard(e, 0);` before that return.
 * Expected verdict: fails with EINVAL, "Unreleased reference id=2 alloc_insn=...".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

struct open_event {
	__u32 tgid;
	char path[120];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int stream_opens(struct trace_event_raw_sys_enter_openat *ctx)
{
	struct open_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	/* the early return taken when this read fails forgets the reservation */
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)ctx->filename) < 0) /* BUG */
		return 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
