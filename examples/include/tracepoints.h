/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracepoint context structs for the bundled examples, written by hand from the tracefs
 * format files (/sys/kernel/tracing/events/<group>/<event>/format) of a 6.18 kernel.
 *
 * A SEC("tracepoint/...") program gets a pointer to the raw trace record; the verifier only
 * checks that accesses stay inside the record, so these layouts must match the format file.
 * Every record begins with the common header; syscall records then store each argument in
 * an 8-byte slot whatever its C type (the format file says "size:8" for int dfd).
 * Offsets are noted so a reader can compare them with the format file.
 */
#ifndef BPFDOCTOR_EXAMPLES_TRACEPOINTS_H
#define BPFDOCTOR_EXAMPLES_TRACEPOINTS_H

#include <linux/types.h>

/* The fields every trace event starts with (offsets 0..7). */
struct trace_entry_common {
	unsigned short common_type;		/* offset 0 */
	unsigned char common_flags;		/* offset 2 */
	unsigned char common_preempt_count;	/* offset 3 */
	int common_pid;				/* offset 4 */
};

/* events/syscalls/sys_enter_openat/format */
struct trace_event_raw_sys_enter_openat {
	struct trace_entry_common common;
	int __syscall_nr;			/* offset 8 */
	__u32 __pad;				/* offset 12: args are 8-byte aligned */
	__u64 dfd;				/* offset 16, "int dfd; size:8" */
	__u64 filename;				/* offset 24, "const char *filename" (user pointer) */
	__u64 flags;				/* offset 32 */
	__u64 mode;				/* offset 40 */
};

/* events/syscalls/sys_exit_openat/format */
struct trace_event_raw_sys_exit_openat {
	struct trace_entry_common common;
	int __syscall_nr;			/* offset 8 */
	__u32 __pad;				/* offset 12 */
	long ret;				/* offset 16 */
};

#define TASK_COMM_LEN 16

/* events/sched/sched_switch/format */
struct trace_event_raw_sched_switch {
	struct trace_entry_common common;
	char prev_comm[TASK_COMM_LEN];		/* offset 8 */
	int prev_pid;				/* offset 24 */
	int prev_prio;				/* offset 28 */
	long prev_state;			/* offset 32 */
	char next_comm[TASK_COMM_LEN];		/* offset 40 */
	int next_pid;				/* offset 56 */
	int next_prio;				/* offset 60 */
};

/* events/sched/sched_process_exec/format: filename is a __data_loc (u16 offset, u16 len). */
struct trace_event_raw_sched_process_exec {
	struct trace_entry_common common;
	__u32 __data_loc_filename;		/* offset 8 */
	int pid;				/* offset 12 */
	int old_pid;				/* offset 16 */
};

/* Compile-time checks against the offsets in the format files. */
#define TP_CHECK(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field)
TP_CHECK(trace_event_raw_sys_enter_openat, filename, 24);
TP_CHECK(trace_event_raw_sys_enter_openat, mode, 40);
TP_CHECK(trace_event_raw_sys_exit_openat, ret, 16);
TP_CHECK(trace_event_raw_sched_switch, prev_state, 32);
TP_CHECK(trace_event_raw_sched_switch, next_pid, 56);
TP_CHECK(trace_event_raw_sched_switch, next_prio, 60);
TP_CHECK(trace_event_raw_sched_process_exec, old_pid, 16);
#undef TP_CHECK

#endif /* BPFDOCTOR_EXAMPLES_TRACEPOINTS_H */
