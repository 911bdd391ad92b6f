// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL At program exit the register R0 has
/*
 * return_value.bpf.c: returning a value the program type does not define.  A cgroup_skb
 * program's return value is a verdict: 1 lets the packet through, 0 drops it (egress
 * programs may also set bit 1 to signal congestion).  Returning an errno-style or
 * "reason code" value such as 5 is refused; the verifier checks the range of R0 at every
 * exit.
 *
 * Fix: return 0 or 1 and record the reason in a map.
 * Expected verdict: fails with EINVAL, "At program exit the register R0 has smin=5 smax=5
 * should have been in [0, 1]".
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IPV6 0x86DD
#define REASON_IPV6 5	/* our own "reason code", not a cgroup_skb verdict */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ipv6_packets SEC(".maps");

SEC("cgroup_skb/ingress")
int block_ipv6(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *count;

	if (skb->protocol != bpf_htons(ETH_P_IPV6))
		return 1;
	count = bpf_map_lookup_elem(&ipv6_packets, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return REASON_IPV6;	/* BUG: not 0 or 1 */
}

char LICENSE[] SEC("license") = "GPL";
