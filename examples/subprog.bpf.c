// SPDX-License-Identifier: GPL-2.0
/*
 * subprog.bpf.c: BPF-to-BPF calls.  Functions that are not inlined land in .text and are
 * appended by the loader to every program that calls them, with the call offsets relocated.
 *
 * Shows: a static __noinline subprogram (verified as part of its caller, with the caller's
 * argument types), a global __noinline function (verified once on its own from its BTF
 * signature: its pointer argument may be NULL, so it checks), a callback passed to
 * bpf_loop() (a subprogram the verifier checks as a loop body), and one .text function
 * (account()) shared by two programs that live in two different sections.
 *
 * Expected verdict: both programs load (bpfdoctor check: ok; libbpf: ok).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define O_CREAT_FLAG 0100	/* octal, as in <asm-generic/fcntl.h> */
#define NR_BUCKETS 8

enum kind { KIND_ENTER, KIND_EXIT, KIND_CREATE, KIND_ERROR, NR_KINDS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} kind_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} ret_buckets SEC(".maps");

struct loop_ctx {
	long value;
	__u32 bucket;
};

/* Shared by both programs: a static subprogram in .text. */
static __noinline int account(__u32 kind)
{
	__u64 *count = bpf_map_lookup_elem(&kind_counts, &kind);

	if (!count)
		return -1;
	__sync_fetch_and_add(count, 1);
	return 0;
}

/*
 * A global function: the verifier checks it once, assuming nothing about its arguments
 * beyond their BTF types, so it must handle flags of any value and a NULL out pointer.
 */
__noinline int classify_flags(__u64 flags, __u32 *out)
{
	if (!out)
		return -1;
	*out = (flags & O_CREAT_FLAG) ? KIND_CREATE : KIND_ENTER;
	return 0;
}

/* bpf_loop() body: find the log2 bucket of ctx->value; returning 1 stops the loop. */
static int bucket_step(__u32 index, void *data)
{
	struct loop_ctx *lc = data;

	if ((lc->value >> index) == 0)
		return 1;
	lc->bucket = index;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_enter(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 kind = KIND_ENTER;

	if (classify_flags(ctx->flags, &kind) == 0 && kind == KIND_CREATE)
		account(KIND_CREATE);
	return account(KIND_ENTER) < 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int on_exit(struct trace_event_raw_sys_exit_openat *ctx)
{
	struct loop_ctx lc = { .value = ctx->ret, .bucket = 0 };
	__u64 *count;

	account(KIND_EXIT);
	if (ctx->ret < 0) {
		account(KIND_ERROR);
		return 0;
	}
	bpf_loop(NR_BUCKETS, bucket_step, &lc, 0);
	if (lc.bucket >= NR_BUCKETS)
		return 0;
	count = bpf_map_lookup_elem(&ret_buckets, &lc.bucket);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
