// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES invalid access to packet
// DIAG: packet-bounds
/*
 * packet_bounds.bpf.c: reading packet data without first proving it is there.  Direct
 * packet access starts from ctx->data with a known-safe range of 0 bytes; only a comparison
 * with ctx->data_end extends that range.  This program checks for the Ethernet header but
 * reads the IPv4 protocol byte beyond it without a second check.
 *
 * Fix: `if ((void *)(ip + 1) > data_end) return XDP_PASS;` before reading ip->protocol.
 * Expected verdict: fails with EACCES, "invalid access to packet, off=23 size=1".
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop_icmp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if (ip->protocol == IPPROTO_ICMP)	/* BUG: IPv4 header not checked against data_end */
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
