// SPDX-License-Identifier: GPL-2.0
// EXPECT: EINVAL invalid func unknown#250
// DIAG: helper-unknown
/*
 * helper_unknown.bpf.c: calling a helper by a number this kernel does not have.  Helpers are
 * called by id; bpf_helper_defs.h from a newer libbpf (or a hand-written declaration such as
 * the one below, copied from a vendor kernel's header) can name an id the running kernel
 * never defined, and the verifier refuses the call.
 *
 * Fix: use only helpers the target kernels provide (`bpftool feature probe`), or pick the
 * code path at load time with a `const volatile` flag set from user space.
 * Expected verdict: fails with EINVAL, "invalid func unknown#250".
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* a helper from a vendor tree: id 250 does not exist upstream */
static long (*bpf_vendor_trace)(__u64 cookie) = (void *)250;

SEC("raw_tracepoint/sys_enter")
int trace_enter(void *ctx)
{
	return bpf_vendor_trace(bpf_get_current_pid_tgid()) ? 1 : 0; /* BUG: no helper #250 */
}

char LICENSE[] SEC("license") = "GPL";
