// SPDX-License-Identifier: GPL-2.0
/* Classic packet loads (BPF_LD | BPF_ABS / BPF_IND), only valid in socket filters. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int packet_loads(struct __sk_buff *skb)
{
	unsigned long long ihl = load_byte(skb, 14) & 0xf;

	if (load_half(skb, 12) != 0x0800)
		return 0;
	return (int)(load_word(skb, 26) + load_byte(skb, 14 + ihl * 4) + load_half(skb, ihl));
}

char LICENSE[] SEC("license") = "GPL";
