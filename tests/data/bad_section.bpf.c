// SPDX-License-Identifier: GPL-2.0
/* A section-name typo: "tracepiont" instead of "tracepoint". */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepiont/syscalls/sys_enter_openat")
int typo(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
