// SPDX-License-Identifier: GPL-2.0
/* Fails before the verifier runs: an fentry program whose target function does not exist,
 * or (with -DMISSING_KFUNC) a call to a kfunc this kernel does not have, which fails the
 * whole object as under libbpf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifdef MISSING_KFUNC
extern int bpf_no_such_kfunc_xyz(int x) __ksym;

SEC("socket")
int missing_kfunc(struct __sk_buff *skb)
{
	return bpf_no_such_kfunc_xyz(skb->len);
}
#elif defined(TYPO_TARGET)
SEC("fentry/do_unlinkatt")	/* one letter too many: the kernel has do_unlinkat */
int missing_target(void *ctx)
{
	return 0;
}
#else
SEC("fentry/no_such_function_xyz")
int missing_target(void *ctx)
{
	return 0;
}
#endif

char LICENSE[] SEC("license") = "GPL";
