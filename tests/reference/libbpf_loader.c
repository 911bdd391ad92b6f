// SPDX-License-Identifier: Apache-2.0
/*
 * libbpf_loader: the parity oracle for bpfdoctor's tests.
 *
 * Usage: libbpf_loader OBJ [--program NAME] [--log] [--xlated DIR]
 *
 * Loads every program of OBJ with libbpf, each one on its own: the object is opened afresh
 * for every program and all other programs get autoload=false.  Loading them one at a time
 * matters because bpf_object__load() stops at the first program that fails, and we want a
 * verdict for each program, exactly as `bpfdoctor check` reports them.
 *
 * Output: one JSON object per line and program,
 *   {"object": OBJ, "program": NAME, "section": SEC, "verdict": "ok"|"fail",
 *    "errno": "EACCES"|null, "errno_num": 13|null[, "log": "..."]}
 * If libbpf cannot open the object at all, a single line with "program": null and
 * "verdict": "error".  "log" (with --log) is everything libbpf printed during that open/load,
 * which includes the kernel verifier log of a failed program (libbpf retries a failed load
 * with log_level 1 and prints the log at WARN level).  Without --log libbpf is silent.
 *
 * With --xlated DIR, every program that loads has the instructions the kernel holds for it
 * (BPF_OBJ_GET_INFO_BY_FD's xlated_prog_insns: after the verifier's rewrites, with map
 * pointers shown as map ids) written to DIR/<program>.xlated before the object is closed,
 * and its line gets "xlated": "<that path>".  Comparing these bytes with another loader's
 * shows whether both handed the kernel the same program.
 *
 * The exit status is 0 whatever the verdicts; only a usage error or running out of memory
 * exits non-zero, so a caller can tell "the oracle broke" from "the program was refused".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

/* ---- captured libbpf output ---------------------------------------------------------- */

struct capture {
	char *buf;
	size_t len;
	size_t cap;
};

static struct capture g_log;
static bool g_want_log;
static const char *g_xlated_dir;

static void die_oom(void)
{
	fputs("libbpf_loader: out of memory\n", stderr);
	exit(3);
}

static void capture_reset(void)
{
	g_log.len = 0;
	if (g_log.buf)
		g_log.buf[0] = '\0';
}

static void capture_append(const char *s, size_t n)
{
	if (g_log.len + n + 1 > g_log.cap) {
		size_t cap = g_log.cap ? g_log.cap : 4096;

		while (cap < g_log.len + n + 1)
			cap *= 2;
		g_log.buf = realloc(g_log.buf, cap);
		if (!g_log.buf)
			die_oom();
		g_log.cap = cap;
	}
	memcpy(g_log.buf + g_log.len, s, n);
	g_log.len += n;
	g_log.buf[g_log.len] = '\0';
}

/*
 * libbpf's print callback.  DEBUG messages are dropped: they are libbpf's own chatter about
 * relocations and feature probes, not the kernel's answer; WARN and INFO carry the verifier
 * log and the reason an object could not be opened.
 */
static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char small[1024];
	va_list ap2;
	int n;

	if (!g_want_log || level == LIBBPF_DEBUG)
		return 0;
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return 0;
	}
	if ((size_t)n < sizeof(small)) {
		capture_append(small, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);

		if (!big)
			die_oom();
		vsnprintf(big, (size_t)n + 1, fmt, ap2);
		capture_append(big, (size_t)n);
		free(big);
	}
	va_end(ap2);
	return 0;
}

/* ---- errno names ----------------------------------------------------------------------- */

static const char *const libbpf_errnames[] = {
	"LIBBPF_ERRNO__LIBELF", "LIBBPF_ERRNO__FORMAT", "LIBBPF_ERRNO__KVERSION",
	"LIBBPF_ERRNO__ENDIAN", "LIBBPF_ERRNO__INTERNAL", "LIBBPF_ERRNO__RELOC",
	"LIBBPF_ERRNO__LOAD", "LIBBPF_ERRNO__VERIFY", "LIBBPF_ERRNO__PROG2BIG",
	"LIBBPF_ERRNO__KVER", "LIBBPF_ERRNO__PROGTYPE", "LIBBPF_ERRNO__WRNGPID",
	"LIBBPF_ERRNO__INVSEQ", "LIBBPF_ERRNO__NLPARSE",
};

/*
 * Symbolic name of an errno value.  Where Linux has two names for one number, pick the one
 * Python's errno.errorcode reports (ENOTSUP, EDEADLOCK), so the test suite can compare our
 * names with bpfdoctor's errno_name() as plain strings.  524 is the kernel-internal
 * ENOTSUPP, which the verifier returns for e.g. unsupported kfuncs; libc does not know it.
 */
static const char *errno_symbol(int err, char *scratch, size_t size)
{
	const char *name;

	switch (err) {
	case EOPNOTSUPP:
		return "ENOTSUP";
	case EDEADLK:
		return "EDEADLOCK";
	case 524:
		return "ENOTSUPP";
	default:
		break;
	}
	if (err >= 4000 && err < 4000 + (int)(sizeof(libbpf_errnames) / sizeof(libbpf_errnames[0])))
		return libbpf_errnames[err - 4000];
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(scratch, size, "E%d", err);
	return scratch;
}

/* ---- JSON output ----------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			/* Control bytes are escaped; bytes >= 0x80 pass through (the caller decodes
			 * with errors="replace", since a log may quote arbitrary program bytes). */
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/*
 * err: 0 for success, otherwise a positive errno (or libbpf's 4000+ codes).
 * xlated: the file the program's xlated instructions went to, or NULL.
 */
static void emit(const char *obj, const char *prog, const char *sec, const char *verdict, int err,
		 const char *xlated)
{
	char scratch[16];

	fputs("{\"object\": ", stdout);
	json_string(stdout, obj);
	fputs(", \"program\": ", stdout);
	json_string(stdout, prog);
	fputs(", \"section\": ", stdout);
	json_string(stdout, sec);
	fputs(", \"verdict\": ", stdout);
	json_string(stdout, verdict);
	fputs(", \"errno\": ", stdout);
	if (err) {
		json_string(stdout, errno_symbol(err, scratch, sizeof(scratch)));
		printf(", \"errno_num\": %d", err);
	} else {
		fputs("null, \"errno_num\": null", stdout);
	}
	if (g_want_log) {
		fputs(", \"log\": ", stdout);
		json_string(stdout, g_log.buf ? g_log.buf : "");
	}
	if (xlated) {
		fputs(", \"xlated\": ", stdout);
		json_string(stdout, xlated);
	}
	fputs("}\n", stdout);
	fflush(stdout);
}

/* ---- loading --------------------------------------------------------------------------- */

/* libbpf 1.x returns NULL and sets errno; keep a fallback in case errno was clobbered. */
static struct bpf_object *open_object(const char *path, int *err)
{
	struct bpf_object *obj;

	errno = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		*err = errno ? errno : EINVAL;
	return obj;
}

/*
 * Write the xlated instructions of the loaded program @fd to @out.  The kernel is asked
 * twice: once for the length, then with a buffer of that size.  Any failure here is the
 * oracle breaking (the program did load), so it ends the run with exit status 3.
 */
static void dump_xlated(int fd, const char *out)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	void *buf;
	FILE *f;
	__u32 size;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "libbpf_loader: prog info: %s\n", strerror(errno));
		exit(3);
	}
	size = info.xlated_prog_len;
	buf = calloc(1, size ? size : 1);
	if (!buf)
		die_oom();
	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = size;
	info.xlated_prog_insns = (__u64)(unsigned long)buf;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.xlated_prog_len != size) {
		fprintf(stderr, "libbpf_loader: xlated instructions: %s\n", strerror(errno));
		exit(3);
	}
	/* The kernel clears the pointer rather than failing when its raw-dump policy
	 * (kptr_restrict) hides the instructions; an empty file would compare as "different". */
	if (size && !info.xlated_prog_insns) {
		fputs("libbpf_loader: the kernel refused to dump xlated instructions\n", stderr);
		exit(3);
	}
	f = fopen(out, "wb");
	if (!f || fwrite(buf, 1, size, f) != size || fclose(f)) {
		fprintf(stderr, "libbpf_loader: %s: %s\n", out, strerror(errno));
		exit(3);
	}
	free(buf);
}

/*
 * Load only the program called @name from a fresh copy of the object; returns 0 or errno.
 * With --xlated, a program that loads has its xlated instructions written to @xlated_out.
 */
static int load_one(const char *path, const char *name, const char *xlated_out)
{
	struct bpf_object *obj;
	struct bpf_program *prog, *target = NULL;
	int err = 0;

	obj = open_object(path, &err);
	if (!obj)
		return err;
	bpf_object__for_each_program(prog, obj) {
		bool match = strcmp(bpf_program__name(prog), name) == 0;

		bpf_program__set_autoload(prog, match);
		if (match)
			target = prog;
	}
	err = bpf_object__load(obj);
	if (!err && xlated_out && target)
		dump_xlated(bpf_program__fd(target), xlated_out);
	bpf_object__close(obj);
	return err < 0 ? -err : err;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s OBJ [--program NAME] [--log] [--xlated DIR]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *only = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	char **names = NULL, **sections = NULL;
	size_t count = 0, i;
	int err = 0;

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--log") == 0)
			g_want_log = true;
		else if (strcmp(argv[a], "--program") == 0 && a + 1 < argc)
			only = argv[++a];
		else if (strcmp(argv[a], "--xlated") == 0 && a + 1 < argc)
			g_xlated_dir = argv[++a];
		else if (argv[a][0] != '-' && !path)
			path = argv[a];
		else
			return usage(argv[0]);
	}
	if (!path)
		return usage(argv[0]);

	libbpf_set_print(capture_print);

	/* First pass: list the programs (names and sections) without loading anything. */
	capture_reset();
	obj = open_object(path, &err);
	if (!obj) {
		emit(path, NULL, NULL, "error", err, NULL);
		return 0;
	}
	bpf_object__for_each_program(prog, obj) {
		if (only && strcmp(bpf_program__name(prog), only) != 0)
			continue;
		names = realloc(names, (count + 1) * sizeof(*names));
		sections = realloc(sections, (count + 1) * sizeof(*sections));
		if (!names || !sections)
			die_oom();
		names[count] = strdup(bpf_program__name(prog));
		sections[count] = strdup(bpf_program__section_name(prog));
		if (!names[count] || !sections[count])
			die_oom();
		count++;
	}
	bpf_object__close(obj);

	if (only && count == 0) {
		fprintf(stderr, "libbpf_loader: %s: no program named '%s'\n", path, only);
		return 2;
	}

	for (i = 0; i < count; i++) {
		char *xlated_out = NULL;

		if (g_xlated_dir && asprintf(&xlated_out, "%s/%s.xlated", g_xlated_dir, names[i]) < 0)
			die_oom();
		capture_reset();
		err = load_one(path, names[i], xlated_out);
		emit(path, names[i], sections[i], err ? "fail" : "ok", err, err ? NULL : xlated_out);
		free(xlated_out);
		free(names[i]);
		free(sections[i]);
	}
	free(names);
	free(sections);
	free(g_log.buf);
	return 0;
}
