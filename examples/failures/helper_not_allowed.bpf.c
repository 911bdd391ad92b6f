// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL program of this type cannot use helper bpf_skb_store_bytes#9
// DIAG: helper-not-allowed
/*
 * helper_not_allowed.bpf.c: calling a helper the program type does not offer.  Each program
 * type has its own helper table.  A socket filter only decides how much of a packet a socket
 * sees; it may read the packet but not change it, so the packet-rewriting helpers
 * (bpf_skb_store_bytes, bpf_l3_csum_replace, ...) are reserved for tc (SCHED_CLS/ACT) and
 * similar programs.  Here a capture filter tries to anonymise source addresses in place.
 *
 * Fix: do the rewrite in a tc program (SEC("tc")), or in user space after capture.
 * Expected verdict: fails with EINVAL, "program of this type cannot use helper
 * bpf_skb_store_bytes#9".
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))

SEC("socket")
int anonymise_capture(struct __sk_buff *skb)
{
	__u32 masked = 0;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return skb->len;
	/* socket filters may not modify the packet */
	bpf_skb_store_bytes(skb, IP_SRC_OFF, &masked, sizeof(masked), 0);	/* BUG */
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
