// SPDX-License-Identifier: GPL-2.0
/*
 * socket_filter.bpf.c: a classic socket filter that counts packets per IP protocol.
 *
 * Shows: SEC("socket") (BPF_PROG_TYPE_SOCKET_FILTER) reading packet bytes with the legacy
 * LD_ABS instructions through clang's load_byte/load_half builtins (they read at an offset
 * from the start of the packet and make the program return 0 if it is too short, so no
 * explicit bounds check is needed), and a per-protocol counter in an array map.  The return
 * value is the number of bytes to keep: 0 drops, skb->len keeps the whole packet.
 *
 * Expected verdict: loads (bpfdoctor check: ok; libbpf: ok).
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

/* LLVM builtins that emit BPF_LD | BPF_ABS; available for BPF targets only. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);	/* one slot per IP protocol number */
	__type(key, __u32);
	__type(value, __u64);
} proto_counts SEC(".maps");

SEC("socket")
int count_protocols(struct __sk_buff *skb)
{
	__u32 proto;
	__u64 *count;

	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return skb->len;	/* not IPv4: pass it on unchanged */

	proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	count = bpf_map_lookup_elem(&proto_counts, &proto);
	if (count)
		__sync_fetch_and_add(count, 1);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
