// SPDX-License-Identifier: GPL-2.0
/*
 * libbpf's candidate pruning: vmlinux has two struct syscall_tp_t, one with 'ret' and one
 * with 'args'.  Reading 'ret' first leaves only the first as a candidate for this local type,
 * so the later existence check of 'args' is 0 under libbpf, although a syscall_tp_t with
 * 'args' exists.  bpfdoctor must give the same 0 (the program returns it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct syscall_tp_t___p {
	unsigned long ret;
	unsigned long args[6];
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int prune(struct pt_regs *ctx)
{
	struct syscall_tp_t___p *p = (void *)ctx->di;
	unsigned long ret = BPF_CORE_READ(p, ret);

	return (ret & 1) + (bpf_core_field_exists(p->args) << 1);
}
