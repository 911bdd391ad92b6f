// SPDX-License-Identifier: GPL-2.0
/*
 * legacy_maps.bpf.c: maps declared the pre-BTF way, as `struct bpf_map_def` variables in
 * SEC("maps"), as in old samples/bpf code and many pre-2020 projects.
 *
 * The loader reads each map's type, sizes and flags from the struct's bytes, so the layout
 * below (five u32 fields, 20 bytes) is the ABI; we define it here because libbpf 1.x removed
 * it from its headers.  The maps carry no key/value BTF.
 *
 * Expected verdict: libbpf 1.x refuses to open the object ("legacy map definitions in 'maps'
 * section are not supported by libbpf v1.0+", EOPNOTSUPP), so bpftool cannot load it either.
 * bpfdoctor, like cilium/ebpf, still supports legacy map definitions: bpfdoctor check: ok.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") packet_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def SEC("maps") seen_ifindex = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("xdp")
int xdp_legacy_count(struct xdp_md *ctx)
{
	__u32 key = XDP_PASS, ifindex = ctx->ingress_ifindex;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&packet_counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	count = bpf_map_lookup_elem(&seen_ifindex, &ifindex);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&seen_ifindex, &ifindex, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
