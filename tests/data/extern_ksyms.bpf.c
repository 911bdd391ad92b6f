// SPDX-License-Identifier: GPL-2.0
/* __ksym externs that need no vmlinux.h: kfuncs (open-coded number iterator, RCU lock),
 * untyped symbol addresses from /proc/kallsyms, and __weak kfuncs and symbols this kernel
 * lacks, called both behind an existence check and unguarded.  -DLOADABLE_ONLY leaves out the
 * program the verifier rejects, so that bpftool can load the rest. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern int bpfdoctor_no_such_kfunc(int x) __ksym __weak;

extern const void schedule __ksym;
extern const void bpfdoctor_no_such_symbol __ksym __weak;

SEC("socket")
int sum_to_ten(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int *v, sum = 0;

	bpf_iter_num_new(&it, 0, 11);
	while ((v = bpf_iter_num_next(&it)))
		sum += *v;
	bpf_iter_num_destroy(&it);
	return sum;
}

SEC("socket")
int rcu_section(struct __sk_buff *skb)
{
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return 1;
}

SEC("socket")
int symbol_address(struct __sk_buff *skb)
{
	/* low 32 bits; the missing weak symbol adds 0 */
	return (long)&schedule + (long)&bpfdoctor_no_such_symbol;
}

SEC("socket")
int weak_kfunc_guarded(struct __sk_buff *skb)
{
	if (bpfdoctor_no_such_kfunc)
		return bpfdoctor_no_such_kfunc(1);
	return 2;
}

#ifndef LOADABLE_ONLY
SEC("socket")
int weak_kfunc_unguarded(struct __sk_buff *skb)
{
	return bpfdoctor_no_such_kfunc(1);
}
#endif

char LICENSE[] SEC("license") = "GPL";
