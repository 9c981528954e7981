// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tailcalls: where does the CPU time of a tail-call pipeline go?
 *
 * sample_ip: attached to a cpu-clock perf event on every CPU.  Each sample's
 * kernel instruction pointer, when it falls in the address range of the JIT
 * images (ip_lo..ip_hi, set by the front end), is counted in ip_samples; the
 * front end attributes those addresses to programs and subprograms.
 *
 * selftest_caller / selftest_callee / selftest_array: a two-program chain the
 * front end runs with BPF_PROG_TEST_RUN at start-up, with count_entry
 * attached to both, to learn whether this kernel fires fentry trampolines for
 * programs entered by a tail call.
 *
 * count_entry: fentry program loaded once per target program (from a second
 * copy of this object); counts entries per traced function address.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tailcalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 ip_lo = 0;
__u64 ip_hi = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TC_IP_SLOTS);
	__type(key, __u64);
	__type(value, __u64);
} ip_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} sample_stats SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&sample_stats, &idx);
	if (v)
		(*v)++;
}

#if defined(__TARGET_ARCH_x86)
/* struct bpf_perf_event_data with x86-64's pt_regs: a fixed uapi layout, so
 * no CO-RE relocation, and libbpf need not parse the kernel's BTF at load
 * (start-up is much faster, above all under emulation). */
struct tc_perf_ctx {
	__u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
	__u64 sample_period, addr;
};
#define SAMPLE_CTX struct tc_perf_ctx
#define SAMPLE_IP(ctx) ((ctx)->ip)
#else
#define SAMPLE_CTX struct bpf_perf_event_data
#define SAMPLE_IP(ctx) PT_REGS_IP(&(ctx)->regs)
#endif

SEC("perf_event")
int sample_ip(SAMPLE_CTX *ctx)
{
	__u64 ip = SAMPLE_IP(ctx), one = 1, *v;

	stat_inc(TC_ST_TOTAL);
	if ((__s64)ip >= 0) { /* x86-64 and arm64: kernel addresses have the top bit set */
		stat_inc(TC_ST_USER);
		return 0;
	}
	if (ip < ip_lo || ip >= ip_hi) {
		stat_inc(TC_ST_KERNEL);
		return 0;
	}
	stat_inc(TC_ST_RANGE);
	v = bpf_map_lookup_elem(&ip_samples, &ip);
	if (v) {
		(*v)++; /* per-CPU value: no other writer */
		return 0;
	}
	if (!bpf_map_update_elem(&ip_samples, &ip, &one, BPF_NOEXIST))
		return 0;
	v = bpf_map_lookup_elem(&ip_samples, &ip); /* another CPU inserted it */
	if (v)
		(*v)++;
	else
		stat_inc(TC_ST_LOST);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} selftest_array SEC(".maps");

SEC("xdp")
int selftest_caller(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &selftest_array, 0);
	return XDP_DROP;
}

SEC("xdp")
int selftest_callee(struct xdp_md *ctx)
{
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TC_ENTRY_SLOTS);
	__type(key, __u64);
	__type(value, __u64);
} entry_counts SEC(".maps");

/* The target (a program's main function) is set before load. */
SEC("fentry/selftest_callee")
int count_entry(void *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx), one = 1, *v;

	v = bpf_map_lookup_elem(&entry_counts, &ip);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(&entry_counts, &ip, &one, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&entry_counts, &ip);
		if (v)
			__sync_fetch_and_add(v, 1);
	}
	return 0;
}
