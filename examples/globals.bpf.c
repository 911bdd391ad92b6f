// SPDX-License-Identifier: GPL-2.0
/*
 * globals.bpf.c: global variables, which libbpf (and bpfdoctor) turn into single-entry
 * array maps, one per ELF data section, and which the program reaches through a map value
 * pointer relocated into the ld_imm64 instructions (BPF_PSEUDO_MAP_VALUE).
 *
 * Shows: an initialised variable in .data, `const volatile` configuration in .rodata (set by
 * the loader before load, then frozen so the verifier can treat it as a constant and prune
 * dead branches), zero-initialised counters in .bss, and a variable placed in its own
 * custom section SEC(".data.stats"), which becomes a separate map.
 *
 * Expected verdict: loads (bpfdoctor check: ok; libbpf: ok).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "tracepoints.h"

/* .rodata: read-only after load; `volatile` stops clang from folding the default value. */
const volatile __u32 target_tgid = 0;		/* 0: trace every process */
const volatile __u64 slow_threshold_ns = 1000000;

/* .data: initialised, writable. */
__u64 sample_rate = 1;
char tag[8] = "openat";

/* .bss: zero-initialised, writable. */
__u64 events_seen;
__u64 events_filtered;
__u64 last_ts;

/* A custom data section: its own map, so user space can mmap or reset it on its own. */
struct stats {
	__u64 slow;
	__u64 fast;
};
struct stats openat_stats SEC(".data.stats") = { .slow = 0, .fast = 0 };

SEC("tracepoint/syscalls/sys_enter_openat")
int filter_openat(struct trace_event_raw_sys_enter_openat *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_ns(), prev;

	__sync_fetch_and_add(&events_seen, 1);
	if (target_tgid && tgid != target_tgid) {
		__sync_fetch_and_add(&events_filtered, 1);
		return 0;
	}
	if (sample_rate > 1 && now % sample_rate)
		return 0;

	if (tag[0] == '\0')	/* user space blanks the tag to pause timing */
		return 0;

	prev = last_ts;
	last_ts = now;
	if (prev && now - prev > slow_threshold_ns)
		__sync_fetch_and_add(&openat_stats.slow, 1);
	else
		__sync_fetch_and_add(&openat_stats.fast, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
