// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE relocations this kernel cannot satisfy, on reachable instructions: libbpf and
 * bpfdoctor both poison them (call 0xbad2310) and the verifier refuses each program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* signed and narrower than the kernel's unsigned long: no safe resize, so poisoned */
struct pt_regs___signed {
	int di;
} __attribute__((preserve_access_index));

enum pid_type___future {
	PIDTYPE_FUTURE___future = 9,
};

SEC("kprobe/do_nanosleep")
int unguarded_state(struct pt_regs *ctx)
{
	struct task_struct___old *t = (void *)bpf_get_current_task();

	return BPF_CORE_READ(t, state);
}

SEC("kprobe/do_nanosleep")
int signed_ctx(struct pt_regs___signed *ctx)
{
	return ctx->di;
}

SEC("kprobe/do_nanosleep")
int missing_enumval(struct pt_regs *ctx)
{
	return bpf_core_enum_value(enum pid_type___future, PIDTYPE_FUTURE___future);
}
