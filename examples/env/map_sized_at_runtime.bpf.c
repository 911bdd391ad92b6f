// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL (BPF_MAP_CREATE, no verifier log)
// DIAG: map-create-invalid
/*
 * map_sized_at_runtime.bpf.c: a stack-trace map whose size the user-space tool sets before
 * loading (bpf_map__set_value_size / bpf_map__set_max_entries), as libbpf-tools' profile,
 * offcputime and capable do.  Loaded as it is on disk, the kernel refuses to create the map
 * (EINVAL) and no program is ever verified.
 *
 * Fix: give the map a size in the object, or set it before loading.
 * Expected verdict: fails with EINVAL at map creation; bpfdoctor names the map and the fields
 * left at 0, with a probe showing the same map type with a size is created.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__type(key, __u32);
} stacks SEC(".maps");	/* value size and max_entries: set at run time */

SEC("socket")
int count_stack(struct __sk_buff *skb)
{
	return bpf_get_stackid(skb, &stacks, 0) >= 0;
}

char LICENSE[] SEC("license") = "GPL";
