// SPDX-License-Identifier: GPL-2.0
/* __kconfig externs of every kind libbpf supports: virtual LINUX_* values, integers (decimal
 * and hex), a bool, tristates, a char array, and __weak ones this kernel does not set.  Each
 * program returns one value, so a test run shows what the loader put in the .kconfig map. */
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_NOT_A_VIRTUAL_VALUE __kconfig __weak;
extern int CONFIG_HZ __kconfig;
extern unsigned long long CONFIG_ILLEGAL_POINTER_VALUE __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPFDOCTOR_NOT_AN_OPTION __kconfig __weak;
extern char CONFIG_LOCALVERSION[8] __kconfig __weak;
extern char CONFIG_BPF_JIT __kconfig __weak;

SEC("socket")
int kernel_version(struct __sk_buff *skb)
{
	return LINUX_KERNEL_VERSION;
}

SEC("socket")
int hz(struct __sk_buff *skb)
{
	return CONFIG_HZ;
}

SEC("socket")
int pointer_poison_top(struct __sk_buff *skb)
{
	return CONFIG_ILLEGAL_POINTER_VALUE >> 48;
}

SEC("socket")
int flags(struct __sk_buff *skb)
{
	return CONFIG_BPF_SYSCALL | LINUX_HAS_BPF_COOKIE << 1 | LINUX_HAS_SYSCALL_WRAPPER << 2 |
	       CONFIG_BPF << 3 | CONFIG_BPFDOCTOR_NOT_AN_OPTION << 5 |
	       (LINUX_NOT_A_VIRTUAL_VALUE != 0) << 7;
}

SEC("socket")
int jit_char(struct __sk_buff *skb)
{
	return CONFIG_BPF_JIT;
}

SEC("socket")
int localversion(struct __sk_buff *skb)
{
	/* the first four characters, little-endian */
	return CONFIG_LOCALVERSION[0] | CONFIG_LOCALVERSION[1] << 8 |
	       CONFIG_LOCALVERSION[2] << 16 | CONFIG_LOCALVERSION[3] << 24;
}

char LICENSE[] SEC("license") = "GPL";
