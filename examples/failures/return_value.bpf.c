// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL At program exit the register R0 has
// DIAG: return-value
/*
 * return_value.bpf.c: returning a value the program type does not define.  A cgroup_skb
 * program's return value is a verdict: 1 lets the packet through, 0 drops it (egress
 * programs may also set bit 1 to signal congestion).  This filter keeps a per-EtherType
 * policy in a map whose values are user space's own enum (DROP, ALLOW, LOG) and returns
 * the stored value as is: LOG (2), or anything else user space writes, is not a verdict.
 * The verifier checks the range of R0 at every exit; a 32-bit value loaded from a map may
 * be anything from 0 to 0xffffffff.
 *
 * Fix: translate the policy into a verdict: `return *action == POLICY_DROP ? 0 : 1;`.
 * Expected verdict: fails with EINVAL, "At program exit the register R0 has smin=0
 * smax=4294967295 should have been in [0, 1]".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum policy { POLICY_DROP = 0, POLICY_ALLOW = 1, POLICY_LOG = 2 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);	/* EtherType, network byte order */
	__type(value, __u32);	/* enum policy, written by user space */
} ethertype_policy SEC(".maps");

SEC("cgroup_skb/ingress")
int filter_by_ethertype(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol;
	__u32 *action = bpf_map_lookup_elem(&ethertype_policy, &proto);

	if (!action)
		return 1;
	return *action;		/* BUG: a policy (maybe LOG = 2), not a 0/1 verdict */
}

char LICENSE[] SEC("license") = "GPL";
