// SPDX-License-Identifier: GPL-2.0
/* Externs resolved against kernel BTF (needs a vmlinux.h generated from the running kernel):
 * typed per-CPU variables, a typed __weak variable the kernel lacks, and acquire/release
 * kfuncs whose prototypes libbpf checks against the kernel's.  Without CONFIG_KALLSYMS_ALL the
 * kernel cannot find the address of a per-CPU variable and refuses 'this_cpu_rq' (ENOENT);
 * -DLOADABLE_ONLY leaves it out so that bpftool can load the rest. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;
extern const int bpfdoctor_no_such_var __ksym __weak;

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

#ifndef LOADABLE_ONLY
SEC("tp/syscalls/sys_enter_getpid")
int this_cpu_rq(void *ctx)
{
	struct rq *rq = bpf_this_cpu_ptr(&runqueues);
	const int *active = bpf_per_cpu_ptr(&bpf_prog_active, 0);

	if (!active)
		return 0;
	return rq->cpu + *active;
}
#endif

SEC("tp/syscalls/sys_enter_getpid")
int weak_var_missing(void *ctx)
{
	return &bpfdoctor_no_such_var ? 1 : 2;
}

struct task_args {
	int pid;
};

/* the thread group id of the task with the given pid (-1 if there is none) */
SEC("syscall")
int task_tgid(struct task_args *args)
{
	struct task_struct *t, *again;
	int tgid;

	t = bpf_task_from_pid(args->pid);
	if (!t)
		return -1;
	again = bpf_task_acquire(t);
	tgid = t->tgid;
	if (again)
		bpf_task_release(again);
	bpf_task_release(t);
	return tgid;
}

char LICENSE[] SEC("license") = "GPL";
