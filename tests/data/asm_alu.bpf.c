// SPDX-License-Identifier: GPL-2.0
/* Arithmetic for the disassembler tests: every ALU/ALU64 operation in register and immediate
 * form, signed division and sign-extending moves (with -mcpu=v4), byte swaps, and every conditional
 * jump in 64- and 32-bit width.  Values come from the context so clang cannot fold them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("socket")
int alu64_ops(struct __sk_buff *skb)
{
	__u64 a = skb->len, b = skb->mark | 1, c = skb->priority;
	__s64 s = (__s64)a - 1000;
	__u64 r = a + b;

	r -= c;
	r *= b;
	r ^= a / b;
	r |= a % b;
	r &= ~c;
	r += a << (c & 63);
	r += a >> (b & 63);
	r += (__u64)(s >> (c & 63));
	r += (a << 3) + (a >> 5) + (__u64)(s >> 7);
#if __BPF_CPU_VERSION__ >= 4
	r += (__u64)(s / (__s64)b);
	r += (__u64)(s % (__s64)b);
#endif
	r += (__u64)(-s);
	r += a * 7 + a / 13 + a % 17 + (a ^ 0x55) + (a | 0x100) + (a & 0xff0);
	r += (__u64)(__s64)(__s8)a + (__u64)(__s64)(__s16)b + (__u64)(__s64)(__s32)c;
	return (int)(r ^ (r >> 32));
}

SEC("socket")
int alu32_ops(struct __sk_buff *skb)
{
	__u32 a = skb->len, b = skb->mark | 1, c = skb->priority;
	__s32 s = (__s32)a - 1000;
	__u32 r = a + b;

	r -= c;
	r *= b;
	r ^= a / b;
	r |= a % b;
	r &= ~c;
	r += a << (c & 31);
	r += a >> (b & 31);
	r += (__u32)(s >> (c & 31));
	r += (a << 3) + (a >> 5) + (__u32)(s >> 7);
#if __BPF_CPU_VERSION__ >= 4
	r += (__u32)(s / (__s32)b);
	r += (__u32)(s % (__s32)b);
#endif
	r += (__u32)(-s);
	r += a * 7 + a / 13 + a % 17 + (a ^ 0x55) + (a | 0x100) + (a & 0xff0);
	r += (__u32)(__s32)(__s8)a + (__u32)(__s32)(__s16)b;
	return (int)r;
}

SEC("socket")
int byte_swaps(struct __sk_buff *skb)
{
	__u64 a = skb->len, b = skb->mark;

	return (int)(bpf_htons((__u16)a) + bpf_htonl((__u32)b) + __builtin_bswap64(a * b)
		     + (__builtin_bswap64(b) >> 32));
}

SEC("socket")
int branches(struct __sk_buff *skb)
{
	__u64 a = skb->len, b = skb->mark;
	__s64 sa = (__s64)a - 100, sb = (__s64)b - 7;
	__u32 a32 = (__u32)a, b32 = (__u32)b;
	__s32 s32 = (__s32)a32 - 5;
	int r = 0;

	if (a == 10) r += 1;
	if (a != b) r += 2;
	if (a > 20) r += 3;
	if (a >= b) r += 4;
	if (a < 30) r += 5;
	if (a <= b) r += 6;
	if (sa > -3) r += 7;
	if (sa >= sb) r += 8;
	if (sa < -40) r += 9;
	if (sa <= sb) r += 10;
	if (a & 0x40) r += 11;
	if (a & b) r += 12;
	if (a32 == 77) r += 13;
	if (a32 > b32) r += 14;
	if (a32 < 0xfff0) r += 15;
	if (s32 < -2) r += 16;
	if (s32 > (__s32)b32) r += 17;
	if (s32 <= -9) r += 18;
	return r;
}

char LICENSE[] SEC("license") = "GPL";
