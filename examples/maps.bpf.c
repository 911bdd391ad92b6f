// SPDX-License-Identifier: GPL-2.0
/*
 * maps.bpf.c: one of each commonly used map type, declared the BTF way (SEC(".maps") with
 * __uint/__type/__array), and used from tracepoint programs.
 *
 * Shows: HASH, ARRAY, PERCPU_HASH, LRU_HASH, a HASH with BPF_F_NO_PREALLOC (entries are
 * allocated on update instead of all up front), RINGBUF, STACK_TRACE with bpf_get_stackid(),
 * PROG_ARRAY with bpf_tail_call(), and a map-in-map: an ARRAY_OF_MAPS whose inner map type
 * is given by __array(values, struct inner_counts) and whose slot 0 is initialised at load
 * time with another map of that shape.  No pinning: that needs a bpffs path.
 *
 * Expected verdict: both programs load (bpfdoctor check: ok; libbpf: ok).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

#define MAX_ENTRIES 1024

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} calls_by_tgid SEC(".maps");

struct config {
	__u32 sample_every;
	__u32 enabled;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} calls_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);		/* pid */
	__type(value, __u64);		/* last time seen, ns */
} last_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);		/* stack id << 32 | tgid */
	__type(value, __u64);
} stack_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_ENTRIES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));	/* PERF_MAX_STACK_DEPTH frames */
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} handlers SEC(".maps");

/* The inner map's shape; every map stored in outer_counts must match it. */
struct inner_counts {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_counts inner_default SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_counts);
} outer_counts SEC(".maps") = {
	.values = { [0] = &inner_default },
};

struct sample {
	__u32 tgid;
	__s32 stack_id;
	__u64 ts;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int record_openat(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns(), one = 1, *v;
	__u32 tgid = id >> 32, pid = (__u32)id, zero = 0, slot;
	struct config *cfg;
	struct sample *s;
	void *inner;
	long stack_id;
	__u64 key;

	cfg = bpf_map_lookup_elem(&config_map, &zero);
	if (!cfg || !cfg->enabled)
		return 0;

	v = bpf_map_lookup_elem(&calls_by_tgid, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&calls_by_tgid, &tgid, &one, BPF_ANY);

	v = bpf_map_lookup_elem(&calls_percpu, &tgid);
	if (v)
		(*v)++;	/* per-CPU value: no other CPU writes this copy */
	else
		bpf_map_update_elem(&calls_percpu, &tgid, &one, BPF_ANY);

	bpf_map_update_elem(&last_seen, &pid, &now, BPF_ANY);

	stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (stack_id >= 0) {
		key = (__u64)stack_id << 32 | tgid;
		v = bpf_map_lookup_elem(&stack_hits, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			bpf_map_update_elem(&stack_hits, &key, &one, BPF_NOEXIST);
	}

	inner = bpf_map_lookup_elem(&outer_counts, &zero);
	if (inner) {
		slot = (__u32)ctx->flags & 15;
		v = bpf_map_lookup_elem(inner, &slot);
		if (v)
			__sync_fetch_and_add(v, 1);
	}

	if (cfg->sample_every && now % cfg->sample_every == 0) {
		s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
		if (s) {
			s->tgid = tgid;
			s->stack_id = stack_id;
			s->ts = now;
			bpf_ringbuf_submit(s, 0);
		}
	}

	/* Hand over to the per-flags handler user space installed, if any. */
	bpf_tail_call(ctx, &handlers, (__u32)ctx->flags & 3);
	return 0;	/* no handler in that slot: the tail call falls through */
}

/* A tail call target: same program type as the caller, installed in handlers[] by user space. */
SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&calls_by_tgid, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
