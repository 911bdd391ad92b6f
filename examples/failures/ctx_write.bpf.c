// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES invalid bpf_context access off=8 size=4
// DIAG: ctx-access
/*
 * ctx_write.bpf.c: writing a context field the program type may only read.  struct
 * __sk_buff is the same C struct for every skb program type, but the kernel decides per type
 * which fields may be read and which written.  tc programs may set skb->mark (offset 8); a
 * socket filter sees a shared skb and may not change it.
 *
 * Fix: set the mark in a tc program (SEC("tc")), or keep the classification in a map.
 * Expected verdict: fails with EACCES, "invalid bpf_context access off=8 size=4".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MARK_UDP 0x10

SEC("socket")
int mark_udp(struct __sk_buff *skb)
{
	struct iphdr ip;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return skb->len;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
		return skb->len;
	if (ip.protocol == IPPROTO_UDP)
		skb->mark = MARK_UDP;	/* BUG: read-only for socket filters */
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
