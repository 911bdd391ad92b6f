// SPDX-License-Identifier: GPL-2.0
// EXPECT: EACCES combined stack size of 2 calls is
// DIAG: stack-too-large
/*
 * stack_too_large.bpf.c: each function's stack fits in the 512-byte BPF stack, but a
 * BPF-to-BPF call stacks the callee's frame on top of the caller's, and the verifier limits
 * the sum along any call chain to 512 bytes too.  This tc classifier copies 280 bytes of
 * payload to its stack, then calls a helper function that copies another 264 bytes.
 *
 * Tracing programs (kprobe, tracepoint, raw_tp, perf_event) are exempt on recent x86-64
 * kernels, this 6.18 one included: the JIT gives them a per-CPU private stack and the
 * verifier then checks each frame on its own.  Networking programs still run on the kernel
 * stack and get the combined check.
 *
 * Fix: keep big buffers in a per-CPU array map (a "scratch" map) instead of on the stack.
 * Expected verdict: fails with EACCES, "combined stack size of 2 calls is 560. Too large"
 * (the exact sum depends on clang's frame layout).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define PAYLOAD_OFF (ETH_HLEN + 20 + 20)	/* Ethernet + IPv4 + TCP, no options */
#define HEAD_LEN 280
#define TAIL_LEN 264

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} matches SEC(".maps");

/* Runs with the caller's 280-byte buffer still on the stack below it. */
static __noinline int tail_has_marker(struct __sk_buff *skb)
{
	char tail[TAIL_LEN];

	if (bpf_skb_load_bytes(skb, PAYLOAD_OFF + HEAD_LEN, tail, sizeof(tail)))
		return 0;
	return tail[0] == 'X' && tail[TAIL_LEN - 1] == 'X';
}

SEC("tc")
int classify_payload(struct __sk_buff *skb)
{
	char head[HEAD_LEN];
	__u32 key;
	__u64 *count;

	if (bpf_skb_load_bytes(skb, PAYLOAD_OFF, head, sizeof(head)))
		return TC_ACT_OK;
	key = head[0] == 'X' && tail_has_marker(skb) && head[HEAD_LEN - 1] == 'X';	/* BUG: 288 + 272 bytes of frames */
	count = bpf_map_lookup_elem(&matches, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
