// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL invalid write to stack R1 off=-16 size=32
// DIAG: stack-bounds
/*
 * stack_helper_size.bpf.c: a helper told to write more bytes than the stack buffer holds.
 * `comm` is 16 bytes at the top of the stack (fp-16 .. fp-1), but the call passes 32, so the
 * helper would write 16 bytes above the frame pointer, into the caller's frame.  The verifier
 * checks every byte range a helper may touch against the 512-byte stack frame.
 *
 * Fix: pass sizeof(comm), never a constant that can drift from the buffer's size.
 * Expected verdict: fails with EINVAL, "invalid write to stack R1 off=-16
 * size=32".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define TASK_COMM_LEN 16

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[TASK_COMM_LEN]);
	__type(value, __u64);
} opens_by_comm SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_by_comm(struct trace_event_raw_sys_enter_openat *ctx)
{
	char comm[TASK_COMM_LEN];

	bpf_get_current_comm(comm, 32);	/* BUG: 32 bytes into a 16-byte buffer */
	bpf_map_update_elem(&opens_by_comm, comm, &ctx->mode, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
