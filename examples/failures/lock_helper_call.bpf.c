// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL function calls are not allowed while holding a lock
// DIAG: lock-misuse
/*
 * lock_helper_call.bpf.c: a helper call inside a bpf_spin_lock critical section.  A BPF
 * spin lock must be held only for a few loads and stores: between bpf_spin_lock() and
 * bpf_spin_unlock() the verifier refuses every call (helpers, kfuncs, BPF-to-BPF calls but
 * the unlock itself), so that the lock can never be held across something that may sleep,
 * fault or take long.  This tc program keeps per-flow byte counts and the time of the last
 * packet, and reads the clock while holding the lock.
 *
 * Fix: read the clock before taking the lock: `__u64 now = bpf_ktime_get_ns();`.
 * Expected verdict: fails with EINVAL, "function calls are not allowed while holding a
 * lock".
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct flow_stats {
	struct bpf_spin_lock lock;
	__u64 bytes;
	__u64 last_seen_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct flow_stats);
} flows SEC(".maps");

SEC("tc")
int count_flow(struct __sk_buff *skb)
{
	__u32 hash = skb->hash;
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &hash);

	if (!st)
		return TC_ACT_OK;
	bpf_spin_lock(&st->lock);
	st->bytes += skb->len;
	st->last_seen_ns = bpf_ktime_get_ns();	/* BUG: a helper call under the lock */
	bpf_spin_unlock(&st->lock);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
