// SPDX-License-Identifier: GPL-2.0
/* Instructions C does not readily produce, written in clang's BPF assembly (build with
 * -mcpu=v4): endianness conversions, byte swaps, negation, long and may_goto jumps, signed
 * modulo, every immediate store width, JSET in 32 bits, and load-acquire / store-release,
 * which clang-19 cannot assemble and so are spelled as raw 8-byte words. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* code | dst << 8 | src << 12 | off << 16 | imm << 32 (little-endian struct bpf_insn) */
#define INSN(code, dst, src, off, imm)                                                      \
	(((unsigned long long)(unsigned int)(imm) << 32) |                                  \
	 ((unsigned long long)(unsigned short)(off) << 16) | ((src) << 12) | ((dst) << 8) |   \
	 (code))
#define LOAD_ACQ 0x100
#define STORE_REL 0x110

SEC("socket")
__attribute__((naked)) int raw_alu(void)
{
	asm volatile(
	"r0 = 0;"
	"r1 = 0x12345678;"
	"r1 = le16 r1;"
	"r1 = le32 r1;"
	"r1 = le64 r1;"
	"r1 = be16 r1;"
	"r1 = be32 r1;"
	"r1 = be64 r1;"
	"r1 = bswap16 r1;"
	"r1 = bswap32 r1;"
	"r1 = bswap64 r1;"
	"r1 = -r1;"
	"w1 = -w1;"
	"r2 = r1;"
	"r2 s%%= 3;"
	"r2 s/= -7;"
	"w2 s%%= w1;"
	"w2 s/= 5;"
	"r3 = (s32)r2;"
	"w3 = (s16)w2;"
	"r3 s>>= r1;"
	"w3 s>>= 4;"
	"r3 <<= 60;"
	"w3 >>= w1;"
	"r0 = r3;"
	"exit;"
	::: "memory");
}

SEC("socket")
__attribute__((naked)) int raw_jumps(void)
{
	asm volatile(
	"r0 = 0;"
	"r1 = 42;"
	"w2 = 17;"
	"if r1 == 0 goto +1;"
	"gotol +1;"
	"r0 = 1;"
	"may_goto +1;"
	"r0 = 2;"
	"if w1 & 0x10 goto +1;"
	"r0 += 3;"
	"if w1 & w2 goto +1;"
	"r0 += 4;"
	"if r1 s> -5 goto +1;"
	"r0 += 5;"
	"if w1 != w2 goto +1;"
	"r0 += 6;"
	"if r1 >= 0x7fffffff goto +1;"
	"r0 += 7;"
	"if w1 s<= -1 goto +1;"
	"r0 += 8;"
	"if r0 == 0 goto +1;"
	"goto +1;"
	"r0 = -r0;"
	"exit;"
	::: "memory");
}

SEC("socket")
__attribute__((naked)) int raw_mem(void)
{
	asm volatile(
	"*(u64 *)(r10 - 8) = -1;"
	"*(u32 *)(r10 - 12) = 7;"
	"*(u16 *)(r10 - 14) = 0x7fff;"
	"*(u8 *)(r10 - 15) = 255;"
	"*(u8 *)(r10 - 16) = 1;"
	"r1 = *(s32 *)(r10 - 12);"
	"r1 = *(s16 *)(r10 - 14);"
	"r1 = *(s8 *)(r10 - 15);"
	".8byte %[acq_b];"
	".8byte %[acq_h];"
	".8byte %[acq_w];"
	".8byte %[acq_dw];"
	".8byte %[rel_w];"
	".8byte %[rel_dw];"
	"r0 = 0;"
	"exit;"
	:
	: [acq_b] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_B, 2, 10, -15, LOAD_ACQ)),
	  [acq_h] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_H, 3, 10, -14, LOAD_ACQ)),
	  [acq_w] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_W, 4, 10, -12, LOAD_ACQ)),
	  [acq_dw] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 5, 10, -8, LOAD_ACQ)),
	  [rel_w] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_W, 10, 4, -12, STORE_REL)),
	  [rel_dw] "i"(INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 5, -8, STORE_REL))
	: "memory");
}

char LICENSE[] SEC("license") = "GPL";
