// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE programs that must load, with identical instructions, under libbpf and bpfdoctor.
 * Built against a vmlinux.h dumped from the running kernel at test time; the local flavors
 * below (struct x___y) describe layouts that differ from this kernel on purpose.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* a field that left task_struct in 5.14 (renamed __state) */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* the first argument register, declared narrower than the kernel's unsigned long */
struct pt_regs___narrow {
	unsigned int di;
} __attribute__((preserve_access_index));

/* a type and an enumerator no kernel has */
struct core_test_absent {
	int x;
} __attribute__((preserve_access_index));

enum pid_type___future {
	PIDTYPE_FUTURE___future = 9,
	PIDTYPE_SID___future = 3,
};

/* same name as the kernel's list_head, but the wrong member type: does not "match" */
struct list_head___bad {
	int next;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int read_task(struct pt_regs *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	char comm[16];
	u64 v;

	v = BPF_CORE_READ(t, real_parent, tgid);      /* pointer chase */
	v += BPF_CORE_READ(t, se.vruntime);           /* nested struct member */
	v += BPF_CORE_READ(t, mm, mmap_base);
	BPF_CORE_READ_INTO(&comm, t, comm);            /* array */
	v += comm[0] + BPF_CORE_READ(t, comm[3]);      /* array element */
	v += bpf_core_field_size(t->comm);
	v += bpf_core_field_offset(t->pid);
	v += BPF_CORE_READ_BITFIELD_PROBED(t, in_execve);     /* bitfields */
	v += BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	v += ctx->di + ctx->sp;                       /* ctx loads: LDX relocations */
	return v;
}

SEC("kprobe/do_nanosleep")
int guarded_state(struct pt_regs *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)t;

	if (bpf_core_field_exists(old->state))
		return BPF_CORE_READ(old, state);
	return BPF_CORE_READ(t, __state);
}

SEC("kprobe/do_nanosleep")
int types_enums(struct pt_regs *ctx)
{
	u64 v = 0;

	v += bpf_core_type_exists(struct task_struct);
	v += bpf_core_type_exists(struct core_test_absent) << 1;
	v += bpf_core_type_size(struct task_struct);
	v += bpf_core_type_size(struct core_test_absent);
	v += bpf_core_type_matches(struct list_head) << 2;
	v += bpf_core_type_matches(struct list_head___bad) << 3;
	v += bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID) << 4;
	v += bpf_core_enum_value_exists(enum pid_type___future, PIDTYPE_FUTURE___future) << 5;
	v += bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	v += bpf_core_enum_value(enum pid_type___future, PIDTYPE_SID___future);
	v += bpf_core_enum_value(enum blake2b_iv, BLAKE2B_IV1);          /* enum64 */
	v += bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_USER);
	v += bpf_core_type_id_kernel(struct task_struct);
	v += bpf_core_type_id_local(struct task_struct___old);
	v += bpf_core_field_exists(struct core_test_absent, x);
	return v;
}

SEC("kprobe/do_nanosleep")
int narrow_ctx(struct pt_regs___narrow *ctx)
{
	/* u32 -> unsigned long: libbpf widens the load to 8 bytes */
	return ctx->di;
}

SEC("socket")
int skb_fields(struct __sk_buff *skb)
{
	return skb->len + skb->protocol + skb->cb[2];
}
