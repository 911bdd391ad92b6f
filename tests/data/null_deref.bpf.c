// SPDX-License-Identifier: GPL-2.0
/* Dereferences a hash-map lookup without a NULL check (a hash map, since on 6.x kernels an
 * array lookup with a constant in-range key is known non-NULL). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} m SEC(".maps");

SEC("socket")
int f(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&m, &k);

	return *v;
}

char LICENSE[] SEC("license") = "GPL";
