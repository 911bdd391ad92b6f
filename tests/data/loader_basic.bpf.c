// SPDX-License-Identifier: GPL-2.0
/* Test object for the ELF reader and loader: a BTF map, global data of every kind,
 * a static and a global subprogram, and two programs sharing a .text function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

__u64 hits = 1;                   /* .data */
const volatile __u32 limit = 42;  /* .rodata */
__u64 misses;                     /* .bss */
__u32 custom SEC(".data.custom") = 7;

static __noinline __u64 bump(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		return __sync_fetch_and_add(v, 1);
	bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	return 0;
}

__noinline int shared(struct __sk_buff *skb)
{
	if (!skb)
		return 0;
	return skb->len > limit;
}

SEC("socket")
int count_len(struct __sk_buff *skb)
{
	hits++;
	custom++;
	if (shared(skb))
		misses++;
	return bump(skb->len & 0xff) ? 0 : 1;
}

SEC("socket")
int other(struct __sk_buff *skb)
{
	return shared(skb);
}

char LICENSE[] SEC("license") = "GPL";
