// SPDX-License-Identifier: GPL-2.0
/* Refers to a map that is declared but never defined: the reader must name it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} missing_map SEC(".maps");

SEC("socket")
int uses_missing(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&missing_map, &k);

	return v ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
