// SPDX-License-Identifier: GPL-2.0
/*
 * xdp.bpf.c: an XDP program that parses Ethernet and IPv4 headers, counts packets and bytes
 * per IP protocol in a per-CPU array, and drops IPv4 fragments and malformed headers.
 *
 * Shows: the bounds-check discipline the verifier demands for direct packet access -- every
 * read of a header is preceded by a comparison of its end with ctx->data_end, including the
 * variable-length IPv4 header (ihl) -- plus a BPF_MAP_TYPE_PERCPU_ARRAY, whose values need
 * no atomics because each CPU updates its own copy.
 *
 * Expected verdict: loads (bpfdoctor check: ok; libbpf: ok).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct proto_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct proto_stats);
} proto_stats SEC(".maps");

/* Port 53 UDP packets seen, as a separate per-CPU counter (one slot). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dns_packets SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct proto_stats *st;
	struct iphdr *ip;
	__u32 proto, hdr_len;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;	/* shorter than an Ethernet header */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	hdr_len = ip->ihl * 4;
	if (hdr_len < sizeof(*ip))
		return XDP_DROP;
	/* Options make the header variable-length: check its real end, not sizeof(*ip). */
	if ((void *)ip + hdr_len > data_end)
		return XDP_DROP;
	if (ip->frag_off & bpf_htons(0x1fff | 0x2000))	/* offset or more-fragments set */
		return XDP_DROP;

	proto = ip->protocol;
	st = bpf_map_lookup_elem(&proto_stats, &proto);
	if (st) {
		st->packets++;
		st->bytes += data_end - data;
	}

	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = (void *)ip + hdr_len;
		__u32 zero = 0;
		__u64 *dns;

		if ((void *)(udp + 1) > data_end)
			return XDP_DROP;
		if (udp->dest == bpf_htons(53)) {
			dns = bpf_map_lookup_elem(&dns_packets, &zero);
			if (dns)
				(*dns)++;
		}
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
