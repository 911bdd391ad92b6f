// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES R1 type=map_value_or_null expected=map_ptr
// DIAG: helper-arg-type
/*
 * inner_map_null.bpf.c: passing the result of a map-in-map lookup to a helper without a
 * NULL check.  Looking up an ARRAY_OF_MAPS or HASH_OF_MAPS returns the inner map, or NULL
 * when the slot is empty; only after a NULL check is the register a map pointer the map
 * helpers accept.  This per-tenant counter picks the tenant's inner map and uses it at once.
 *
 * Fix: `if (!inner) return XDP_PASS;` before using it.
 * Expected verdict: fails with EACCES, "R1 type=map_value_or_null expected=map_ptr".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tenant0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 16);
	__type(key, __u32);
	__array(values, struct inner);
} tenants SEC(".maps") = {
	.values = { [0] = &tenant0 },
};

SEC("xdp")
int count_tenant(struct xdp_md *ctx)
{
	__u32 tenant = ctx->rx_queue_index & 15, zero = 0;
	void *inner = bpf_map_lookup_elem(&tenants, &tenant);
	__u64 *count;

	count = bpf_map_lookup_elem(inner, &zero);	/* BUG: inner may be NULL */
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
