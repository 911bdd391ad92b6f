// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL unreachable insn
// DIAG: invalid-insn
/*
 * unreachable_code.bpf.c: instructions no path can reach.  The verifier checks the shape of
 * the program before it walks any path, and refuses dead instructions outright: they are
 * not "harmless", because it cannot prove anything about them.  Clang never emits dead code
 * on its own, but inline assembly that ends the program early (here an `exit` meant as a
 * quick debugging switch) leaves the C code after it unreachable.
 *
 * Fix: remove the early `exit`, or return from C (`return 0;`) so the compiler drops the
 * code after it.
 * Expected verdict: fails with EINVAL, "unreachable insn N".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int drop_all(struct __sk_buff *skb)
{
	asm volatile("r0 = 0; exit");   /* a debugging switch that ends the program here */
	return skb->len > 64;           /* BUG: unreachable after the exit above */
}

char LICENSE[] SEC("license") = "GPL";
