// SPDX-License-Identifier: GPL-2.0
/* map_extra declared with __ulong(), the enum-based encoding newer libbpf headers use for
 * 64-bit map attributes (libbpf 1.1's header has no __ulong, so it is defined here). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef __ulong
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name
#endif

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
	__ulong(map_extra, 3);
} bloom SEC(".maps");

SEC("socket")
int push(void *ctx)
{
	__u32 v = 1;

	return bpf_map_push_elem(&bloom, &v, 0) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
