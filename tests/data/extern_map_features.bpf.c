// SPDX-License-Identifier: GPL-2.0
/* Map definitions libbpf treats specially when it creates maps: map-in-map with an inner
 * template and 'values' initialisers, a prog array with 'values', per-CPU maps, ring buffers
 * whose size is rounded up, a stack trace map, BPF_F_NO_PREALLOC, map_extra (bloom filter),
 * numa_node with and without BPF_F_NUMA_NODE, and a perf event array sized by the kernel.
 * With -DPINNED one map asks to be pinned by name; that build is for bpfdoctor only, as
 * libbpf would pin it under /sys/fs/bpf by default. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner);
} outer_hash SEC(".maps");

int tail_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
#ifdef PINNED
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u64);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);	/* rounded up to a power-of-two number of pages */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);		/* number of hash functions */
	__type(value, __u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__uint(numa_node, 7);		/* ignored: BPF_F_NUMA_NODE is not set */
	__type(key, __u32);
	__type(value, __u32);
} numa_ignored SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__type(key, __u32);
	__type(value, __u32);
} numa_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	return 42;
}

SEC("socket")
int tail_caller(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 1);
	return 1;
}

SEC("socket")
int use_maps(struct __sk_buff *skb)
{
	__u32 key = 0, one = 1;
	__u64 *v;
	void *inner;

	inner = bpf_map_lookup_elem(&outer, &key);
	if (inner)
		bpf_map_lookup_elem(inner, &key);
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	if (inner)
		bpf_map_lookup_elem(inner, &key);
	v = bpf_map_lookup_elem(&percpu, &key);
	if (v)
		*v += 1;
	bpf_map_update_elem(&percpu_hash, &key, &one, BPF_ANY);
	bpf_map_push_elem(&seen, &one, BPF_ANY);
	bpf_map_update_elem(&numa_ignored, &key, &one, BPF_ANY);
	bpf_map_update_elem(&numa_zero, &key, &one, BPF_ANY);
	bpf_ringbuf_output(&events, &one, sizeof(one), 0);
	bpf_perf_event_output(skb, &perf, BPF_F_CURRENT_CPU, &one, sizeof(one));
	return bpf_map_peek_elem(&seen, &one) == 0;
}

SEC("kprobe/do_nanosleep")
int stack_user(void *ctx)
{
	return bpf_get_stackid(ctx, &stacks, 0) >= 0;
}

char LICENSE[] SEC("license") = "GPL";
