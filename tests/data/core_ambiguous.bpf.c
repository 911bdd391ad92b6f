// SPDX-License-Identifier: GPL-2.0
/*
 * Relocations against kernel type names that vmlinux defines twice with different layouts
 * (struct elf_thread_core_info: native and compat; struct syscall_tp_t: enter and exit).
 * libbpf refuses an answer that depends on which definition is picked: the load fails with
 * EINVAL before the verifier runs, and so must bpfdoctor's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct memelfnote___m {
	const char *name;
} __attribute__((preserve_access_index));

struct elf_thread_core_info___m {
	struct elf_thread_core_info___m *next;
	struct memelfnote___m notes[0];
} __attribute__((preserve_access_index));

struct syscall_tp_t___m {
	int syscall_nr;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int ambiguous_offset(struct pt_regs *ctx)
{
	/* notes sits at 352 in one definition, 312 in the other */
	return bpf_core_field_offset(struct elf_thread_core_info___m, notes);
}

SEC("kprobe/do_nanosleep")
int agreeing_offset(struct pt_regs *ctx)
{
	/* next is at 0 in both: not ambiguous */
	return bpf_core_field_offset(struct elf_thread_core_info___m, next);
}

SEC("kprobe/do_nanosleep")
int ambiguous_size(struct pt_regs *ctx)
{
	/* 24 bytes in one definition, 64 in the other */
	return bpf_core_type_size(struct syscall_tp_t___m);
}
