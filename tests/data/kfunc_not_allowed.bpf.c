// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES calling kernel function bpf_task_from_pid is not allowed
// DIAG: kfunc-unavailable
// (kept out of examples/failures: tests/kernel/test_verifier_logs.py compares call
// instructions with the object's, and a kfunc's BTF id is only known at load time)
/*
 * kfunc_not_allowed.bpf.c: calling a kfunc the program type is not offered.  Unlike
 * helpers, kfuncs are registered per program type by the subsystem that exports them; the
 * task kfuncs (bpf_task_from_pid, bpf_task_acquire, ...) are there for tracing, tc, XDP,
 * cgroup and struct_ops programs, but not for socket filters.  This capture filter wants to
 * keep only packets of sockets whose owning daemon is still alive, by looking the daemon's
 * pid up in the filter.
 *
 * Fix: check the daemon from user space (or a tracing program) and tell the filter through
 * a map, e.g. `__u32 *alive = bpf_map_lookup_elem(&daemon_alive, &zero);`.
 * Expected verdict: fails with EACCES, "calling kernel function bpf_task_from_pid is not
 * allowed".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* only used by pointer; the kernel's layout does not matter here */
struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

const volatile __s32 daemon_pid = 1;

SEC("socket")
int capture_if_daemon_alive(struct __sk_buff *skb)
{
	struct task_struct *t = bpf_task_from_pid(daemon_pid);	/* BUG: not for socket filters */

	if (!t)
		return 0;
	bpf_task_release(t);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
