// SPDX-License-Identifier: GPL-2.0
/* Externs libbpf refuses, one per build: compile with exactly one of
 *   -DMISSING_KFUNC     a strong kfunc the kernel lacks
 *   -DMISSING_KSYM      a strong untyped symbol absent from /proc/kallsyms
 *   -DMISSING_KCONFIG   a strong CONFIG_ value the kernel config lacks
 *   -DBAD_PROTO         a kfunc declared with a prototype the kernel's does not match
 *   -DBAD_KCONFIG_TYPE  a __kconfig extern of a type libbpf cannot fill (a struct)
 *   -DSTRING_AS_INT     a string config value read into an integer
 *   -DUNKNOWN_VIRTUAL   a strong LINUX_ value libbpf does not provide
 *   -DPLAIN_EXTERN      a function declared extern without __ksym: no extern libbpf knows,
 *                       just an undefined symbol
 * The program 'innocent' uses no extern: libbpf resolves externs for the whole object, so it
 * fails too. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#if defined(MISSING_KFUNC)
extern int bpfdoctor_no_such_kfunc(int x) __ksym;
#define USE() bpfdoctor_no_such_kfunc(1)
#elif defined(MISSING_KSYM)
extern const void bpfdoctor_no_such_symbol __ksym;
#define USE() ((long)&bpfdoctor_no_such_symbol)
#elif defined(MISSING_KCONFIG)
extern int CONFIG_BPFDOCTOR_NOT_AN_OPTION __kconfig;
#define USE() CONFIG_BPFDOCTOR_NOT_AN_OPTION
#elif defined(BAD_PROTO)
extern void bpf_rcu_read_lock(int nesting) __ksym;
#define USE() (bpf_rcu_read_lock(1), 0)
#elif defined(BAD_KCONFIG_TYPE)
struct pair { int a, b; };
extern struct pair CONFIG_HZ __kconfig;
#define USE() CONFIG_HZ.a
#elif defined(STRING_AS_INT)
extern int CONFIG_LOCALVERSION __kconfig;
#define USE() CONFIG_LOCALVERSION
#elif defined(UNKNOWN_VIRTUAL)
extern int LINUX_BPFDOCTOR_VALUE __kconfig;
#define USE() LINUX_BPFDOCTOR_VALUE
#elif defined(PLAIN_EXTERN)
extern int defined_elsewhere(int x);
#define USE() defined_elsewhere(1)
#else
#error "choose one of the variants listed at the top"
#endif

SEC("socket")
int uses_extern(struct __sk_buff *skb)
{
	return USE();
}

SEC("socket")
int innocent(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
