// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES R2 !read_ok
// DIAG: uninit-register
/*
 * uninit_register.bpf.c: reading a register nothing has written.  A BPF program starts with
 * only R1 (the context pointer) and R10 (the frame pointer) defined; every other register is
 * "not init" and may not be read.  C code compiled by clang never does that, but inline
 * assembly can: this snippet assumes the program is called like an ordinary two-argument
 * function and that R2 holds the packet length.
 *
 * Fix: compute the length from ctx->data_end - ctx->data in C.
 * Expected verdict: fails with EACCES, "R2 !read_ok".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rx_bytes SEC(".maps");

SEC("xdp")
int xdp_count_bytes(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 len, *total;

	/* XDP programs get one argument, ctx in R1: nothing ever wrote R2 */
	asm volatile("%[len] = r2" : [len] "=r"(len));	/* BUG: reads R2 */
	total = bpf_map_lookup_elem(&rx_bytes, &zero);
	if (total)
		__sync_fetch_and_add(total, len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
