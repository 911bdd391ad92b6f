// SPDX-License-Identifier: GPL-2.0
/* Memory for the disassembler tests: loads and stores of every width (signed loads and
 * immediate stores with -mcpu=v4), every atomic operation, map lookups, global data,
 * helper calls, bpf-to-bpf calls, a bpf_loop callback, a tail call, a kfunc and a bounded
 * loop. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val {
	__u64 u64;
	__u32 u32;
	__u16 u16;
	__u8 u8;
	__s8 s8;
	__s16 s16;
	__s32 s32;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct val);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct val);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp_table SEC(".maps");

__u64 counter = 1;		/* .data */
__u32 scratch;			/* .bss */
const volatile __u32 limit = 8;	/* .rodata */

/* struct bpf_iter_num is in the 6.4+ UAPI header; the verifier matches it by name and size. */
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

SEC("socket")
int loads_stores(struct __sk_buff *skb)
{
	__u32 key = skb->len & 3;
	struct val *v = bpf_map_lookup_elem(&arr, &key);
	__s64 sum;

	if (!v)
		return 0;
	sum = (__s64)v->u64 + v->u32 + v->u16 + v->u8 + v->s8 + v->s16 + v->s32;
	v->u64 = skb->mark;
	v->u32 = skb->len;
	v->u16 = (__u16)skb->priority;
	v->u8 = (__u8)skb->hash;
	v->s8 = 5;
	v->s16 = -6;
	v->s32 = 70000;
	return (int)sum;
}

SEC("socket")
int atomics(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&hash, &key);
	__u64 r = 0;

	if (!v)
		return 0;
	__sync_fetch_and_add(&v->u64, skb->len);
	__sync_fetch_and_add(&v->u32, 1);
	r += __sync_fetch_and_add(&v->u64, 2);
	r += __sync_fetch_and_add(&v->u32, 3);
	r += __sync_fetch_and_or(&v->u64, 4);
	r += __sync_fetch_and_and(&v->u32, 5);
	r += __sync_fetch_and_xor(&v->u64, 6);
	__sync_fetch_and_or(&v->u32, 16);
	__sync_fetch_and_and(&v->u64, 17);
	__sync_fetch_and_xor(&v->u32, 18);
	r += __sync_lock_test_and_set(&v->u64, 7);
	r += __sync_lock_test_and_set(&v->u32, 8);
	r += __sync_val_compare_and_swap(&v->u64, 9, r);
	r += __sync_val_compare_and_swap(&v->u32, 10, 11);
	return (int)r;
}

static __attribute__((noinline)) int twice(int x)
{
	return x * 2 + (int)scratch;
}

static __attribute__((noinline)) int add3(int a, int b, int c)
{
	return twice(a) + b + c;
}

static int loop_cb(__u64 index, void *ctx)
{
	__u64 *acc = ctx;

	*acc += index;
	return index > 5;
}

SEC("socket")
int calls(struct __sk_buff *skb)
{
	__u64 acc = 0;
	int r;

	r = add3((int)skb->len, twice((int)skb->mark), (int)bpf_get_prandom_u32());
	r += (int)bpf_ktime_get_ns();
	r += (int)bpf_get_smp_processor_id();
	bpf_loop(limit, loop_cb, &acc, 0);
	counter += acc;
	scratch = (__u32)r;
	return r + (int)counter;
}

SEC("socket")
int loops(struct __sk_buff *skb)
{
	struct bpf_iter_num it;
	int *p, sum = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 16 && i < (int)skb->len; i++)
		sum += i * (int)skb->mark;
	bpf_iter_num_new(&it, 0, 4);
	while ((p = bpf_iter_num_next(&it)))
		sum += *p;
	bpf_iter_num_destroy(&it);
	return sum;
}

SEC("socket")
int tail(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jmp_table, 0);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
