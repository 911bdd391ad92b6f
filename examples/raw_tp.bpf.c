// SPDX-License-Identifier: GPL-2.0
/*
 * raw_tp.bpf.c: raw tracepoints, which receive the tracepoint's C arguments as an array of
 * u64 instead of a formatted trace record.
 *
 * Shows: SEC("raw_tracepoint/sys_enter") reading struct bpf_raw_tracepoint_args directly
 * (args[1] is the syscall number) to build a syscall histogram, and SEC("raw_tp/sched_switch")
 * written with libbpf's BPF_PROG() macro, which unpacks the u64 array into typed parameters
 * (TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
 * unsigned int prev_state) on 6.x kernels) to count involuntary vs voluntary switches per CPU.
 * No task_struct field is read: that needs CO-RE, a later milestone.
 *
 * Expected verdict: both programs load (bpfdoctor check: ok; libbpf: ok).
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_SYSCALLS 512

struct task_struct;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u64);
} syscall_counts SEC(".maps");

enum { SWITCH_VOLUNTARY, SWITCH_PREEMPTED, SWITCH_KINDS };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWITCH_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} switch_counts SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_syscalls(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = (__u32)ctx->args[1];	/* args[0] is the struct pt_regs * of the caller */
	__u64 *count;

	if (nr >= MAX_SYSCALLS)
		return 0;
	count = bpf_map_lookup_elem(&syscall_counts, &nr);
	if (count)
		(*count)++;
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(count_switches, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 kind = preempt ? SWITCH_PREEMPTED : SWITCH_VOLUNTARY;
	__u64 *count;

	count = bpf_map_lookup_elem(&switch_counts, &kind);
	if (count)
		(*count)++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
