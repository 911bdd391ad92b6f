// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe.bpf.c: a kprobe on do_sys_openat2() that records which files are opened with
 * O_CREAT, reading the function's arguments from the saved registers.
 *
 * Shows: SEC("kprobe/<function>") with libbpf's PT_REGS_PARMn() macros (compiled with
 * -D__TARGET_ARCH_x86 they become reads of struct pt_regs' rdi/rsi/rdx), and
 * bpf_probe_read_user_str()/bpf_probe_read_kernel() to copy memory the program does not own:
 * the user-space path and the kernel's struct open_how (the flags are its first member).
 *
 * Expected verdict: loads (bpfdoctor check: ok; libbpf: ok).  Attaching is another matter:
 * on a kernel built without CONFIG_KPROBES (like the one these tests run on) there is no
 * kprobe to attach to; that is for a later attach check, not for the loader.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define O_CREAT_FLAG 0100

struct open_how;

struct create_event {
	__u32 tgid;
	__s32 dfd;
	__u64 flags;
	char path[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} creates SEC(".maps");

SEC("kprobe/do_sys_openat2")
int trace_do_sys_openat2(struct pt_regs *ctx)
{
	/* long do_sys_openat2(int dfd, const char __user *filename, struct open_how *how) */
	int dfd = (int)PT_REGS_PARM1(ctx);
	const char *filename = (const char *)PT_REGS_PARM2(ctx);
	struct open_how *how = (struct open_how *)PT_REGS_PARM3(ctx);
	struct create_event *e;
	__u64 flags = 0;

	/* struct open_how { __u64 flags; __u64 mode; __u64 resolve; }: flags is at offset 0. */
	if (bpf_probe_read_kernel(&flags, sizeof(flags), how))
		return 0;
	if (!(flags & O_CREAT_FLAG))
		return 0;

	e = bpf_ringbuf_reserve(&creates, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->dfd = dfd;
	e->flags = flags;
	bpf_probe_read_user_str(e->path, sizeof(e->path), filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
