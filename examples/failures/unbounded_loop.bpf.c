// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL infinite loop detected at insn
// DIAG: loop-unbounded
/*
 * unbounded_loop.bpf.c: a loop the verifier cannot prove terminates.  Since Linux 5.3 the
 * verifier accepts bounded loops by simulating them, iteration by iteration, until the exit
 * condition is provably true.  This program busy-waits until user space sets a `ready` flag
 * in a map: nothing inside the loop changes the program's state, so the verifier meets the
 * exact same state at the loop head twice and knows the loop may never end.
 *
 * (The other classic form, `for (i = 0; i < n; i++)` with an unchecked n, fails with E2BIG
 * after a million simulated instructions instead; with libbpf's verbose retry that takes
 * tens of seconds, too slow for an example that every test run loads.)
 *
 * Fix: never wait in BPF; return and let the next event retry, or bound the loop with
 * bpf_loop() / a fixed maximum number of polls.
 * Expected verdict: fails with EINVAL, "infinite loop detected at insn N".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct control {
	__u32 ready;		/* set to 1 by user space once the tables are filled */
	__u32 passes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct control);
} control SEC(".maps");

SEC("xdp")
int xdp_wait_ready(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct control *c = bpf_map_lookup_elem(&control, &zero);

	if (!c)
		return XDP_PASS;
	/* spins until user space flips the flag; nothing bounds the wait */
	while (!*(volatile __u32 *)&c->ready)	/* BUG */
		;
	__sync_fetch_and_add(&c->passes, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
