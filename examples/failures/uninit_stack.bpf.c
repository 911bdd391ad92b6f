// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL Expected an initialized dynptr
// DIAG: uninit-stack
/*
 * uninit_stack.bpf.c: an uninitialised stack object passed to a helper.  `ptr` lives on the
 * stack and is only set up by bpf_ringbuf_reserve_dynptr() when O_CREAT is present; on the
 * other path bpf_dynptr_write() receives stack bytes nobody initialised.
 *
 * Why a dynptr and not a plain buffer: since Linux 5.x a loader with CAP_PERFMON (root) may
 * read uninitialised plain stack bytes, directly or through a helper (the verifier's
 * allow_uninit_stack), so `struct key k; k.a = 1; bpf_map_lookup_elem(&m, &k)` with unset
 * padding only fails for unprivileged users.  Stack slots that must hold a special object
 * (dynptrs, iterators) are checked for everyone.
 *
 * Fix: reserve unconditionally, or keep the write and submit inside the if.  (Note that even
 * a failed reserve initialises the dynptr, to an invalid one that must still be discarded.)
 * Expected verdict: fails with EINVAL, "Expected an initialized dynptr as arg #0".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define O_CREAT_FLAG 0100

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int log_creates(struct trace_event_raw_sys_enter_openat *ctx)
{
	struct bpf_dynptr ptr;
	__u64 flags = ctx->flags;

	if (flags & O_CREAT_FLAG)
		bpf_ringbuf_reserve_dynptr(&events, sizeof(flags), 0, &ptr);
	bpf_dynptr_write(&ptr, 0, &flags, sizeof(flags), 0);	/* BUG: ptr unset without O_CREAT */
	bpf_ringbuf_submit_dynptr(&ptr, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
