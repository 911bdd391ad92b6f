// SPDX-License-Identifier: GPL-2.0
/* BTF / .BTF.ext fixture for tests/test_btf.py and tests/kernel/test_btf_kernel.py.
 *
 * It exercises every BTF kind clang emits for BPF C: bitfields (kind_flag structs), unions,
 * signed and unsigned enums, a 64-bit enum, arrays, function pointers, typedef/const/volatile/
 * restrict, float, btf_decl_tag and btf_type_tag, global data in .data/.rodata/.bss and a
 * custom section, a BTF-defined map, a static subprogram (more func_info records) and CO-RE
 * relocations.  The line numbers of the statements marked "LINE:" are looked up by the tests
 * in this file, so the markers must stay on the statement they describe.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

enum sample_colour { RED, GREEN = 5, BLUE };
enum sample_signed { NEG = -2, POS = 3 };
enum sample_wide : unsigned long long { WIDE = 0x123456789aULL };

typedef unsigned int sample_u32;

struct sample_bits {
	unsigned int a : 3;
	unsigned int b : 7;
	int c;
	unsigned char tail[6];
	union {
		long long l;
		float f;
	} u;
	double d;
	int (*cb)(void *ctx, const char *name);
	enum sample_colour colour;
	enum sample_signed sign;
	enum sample_wide wide;
	volatile sample_u32 counter;
	int __ttag("sample_user") *tagged;
	char *restrict rp;
} __tag("sample_struct_tag");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct sample_bits);
} sample_map SEC(".maps");

int sample_data = 7;
int sample_data2 = 9;
const volatile int sample_rodata = 42;
long sample_bss;
static int sample_static = 3;
static long sample_static_bss;
int sample_custom SEC(".data.custom") = 11;

static __attribute__((noinline)) int sample_helper(struct sample_bits *s __tag("sample_arg_tag"))
{
	return s->a + s->c; /* LINE: helper-return */
}

SEC("socket")
int sample_prog(struct __sk_buff *skb)
{
	__u32 key = 0; /* LINE: prog-key */
	struct sample_bits *v = bpf_map_lookup_elem(&sample_map, &key);

	if (!v)
		return 0;
	sample_bss += sample_data + sample_data2 + sample_rodata + sample_static + sample_custom;
	sample_static++;
	sample_static_bss += skb->len;
	return sample_helper(v); /* LINE: prog-call */
}

struct sample_core {
	int x;
	int y;
} __attribute__((preserve_access_index));

SEC("socket")
int sample_core_prog(struct __sk_buff *skb)
{
	struct sample_core *c = (void *)(long)skb->data;

	if (__builtin_preserve_field_info(c->y, 2 /* exists */)) /* LINE: core-exists */
		return __builtin_preserve_field_info(c->y, 0 /* byte offset */);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
