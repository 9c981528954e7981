// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcverdict: what TC (cls_bpf, tcx, netkit) and LWT BPF programs do with
 * packets.
 *
 * tc_exit: fexit on the main function of one TC or LWT program (the front
 * end loads one copy per program with common/progwatch): counts what it
 * returned per (netns, interface, direction), and for redirects the target
 * the program chose, read from the kernel's redirect info.
 *
 * redir_exit: fexit on skb_do_redirect: a redirect that failed after the
 * program returned, charged to the program that asked for it on this CPU.
 *
 * kfree_skb (tp_btf/raw_tp twins), where trampolines are not allowed: drops
 * with the TC_INGRESS / TC_EGRESS drop reasons, per interface and direction.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tcverdict.h"
#include "events.bpf.h"
#include "hooks.bpf.h"
#include "counting.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_KEYS 4096

const volatile __u32 target_prog_id = 0; /* fexit copy: the program it watches */
const volatile __u32 target_lwt_dir = 0; /* and for an LWT program, its direction (TVD_LWT_*) */
const volatile bool emit_events = false;
const volatile struct tv_rflags rflags = {};

#ifdef TV_PCPU_REDIRECT_INFO
/* per-CPU redirect info before Linux 6.11 (later: in the task's
 * bpf_net_context).  Only in the copy built for those kernels
 * (tcverdict_pcpu.bpf.c): resolving even a weak kernel variable that the
 * kernel lacks makes libbpf search module BTF, which needs CAP_SYS_ADMIN. */
extern struct bpf_redirect_info bpf_redirect_info __ksym __weak;
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_KEYS);
	__type(key, struct tv_key);
	__type(value, struct tv_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_KEYS);
	__type(key, struct tv_rkey);
	__type(value, __u64);
} redirects SEC(".maps");

/* The last REDIRECT verdict on this CPU, for redir_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tv_rkey);
} last_redirect SEC(".maps");


static __always_inline void key_of(struct tv_key *k, const struct sk_buff *skb, __u32 prog_id, __u32 dir)
{
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	k->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	k->ifindex = BPF_CORE_READ(dev, ifindex);
	k->prog_id = prog_id;
	k->dir = dir;
}

static __always_inline void send_event(void *ctx, __u32 kind, const struct tv_key *k, const struct sk_buff *skb,
				       int verdict, __u32 reason, int err, __u32 tgt, __u32 tflags)
{
	struct tv_event e = {};

	e.ktime_ns = bpf_ktime_get_ns();
	e.kind = kind;
	e.netns = k->netns;
	e.ifindex = k->ifindex;
	e.prog_id = k->prog_id;
	e.dir = k->dir;
	e.verdict = verdict;
	e.reason = reason;
	e.err = err;
	e.tgt_ifindex = tgt;
	e.tgt_flags = tflags;
	BPF_CORE_READ_STR_INTO(&e.ifname, skb, dev, name);
	events_submit(ctx, &e, sizeof(e));
}

/* Where the program's bpf_redirect*() asked to go: the kernel keeps it in
 * bpf_redirect_info until the hook acts on the verdict. */
static __always_inline void redirect_target(__u32 *tgt, __u32 *flags)
{
	__u32 f = 0;

	*tgt = 0;
	if (bpf_core_field_exists(struct task_struct, bpf_net_context)) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		struct bpf_net_context *nc = BPF_CORE_READ(t, bpf_net_context);
		if (nc) {
			*tgt = BPF_CORE_READ(nc, ri.tgt_index);
			f = BPF_CORE_READ(nc, ri.flags);
		}
	}
#ifdef TV_PCPU_REDIRECT_INFO
	else if (&bpf_redirect_info) {
		struct bpf_redirect_info *ri = bpf_this_cpu_ptr(&bpf_redirect_info);
		*tgt = BPF_CORE_READ(ri, tgt_index);
		f = BPF_CORE_READ(ri, flags);
	}
#endif
	*flags = (f & BPF_F_INGRESS ? TV_RF_INGRESS : 0) | (rflags.peer && (f & rflags.peer) ? TV_RF_PEER : 0) |
		 (rflags.neigh && (f & rflags.neigh) ? TV_RF_NEIGH : 0);
}

static __always_inline __u32 slot_of(int ret)
{
	if (ret >= -1 && ret <= 8)
		return (__u32)(ret + 1);
	return ret == 128 ? TV_REROUTE : TV_OTHER;
}

/* ---- fexit on the TC or LWT program --------------------------------- */

SEC("fexit")
int BPF_PROG(tc_exit, struct sk_buff *skb, int ret)
{
	static const struct tv_val zero;
	struct tv_key k = {};
	struct tv_val *v;
	__u32 slot = slot_of(ret), dir = target_lwt_dir;

	if (!dir)
		dir = BPF_CORE_READ_BITFIELD_PROBED(skb, tc_at_ingress) ? TVD_INGRESS : TVD_EGRESS;
	key_of(&k, skb, target_prog_id, dir);
	v = lookup_or_init(&counts, &k, &zero);
	if (v) {
		__u32 i = slot;
		asm volatile("" : "+r"(i)); /* keep the mask: the verifier needs the bound */
		v->n[i & 15]++;
	}
	if (slot == TV_REDIRECT) {
		static const __u64 zero64;
		struct tv_rkey rk = { .k = k };
		__u32 z = 0;
		__u64 *n;

		redirect_target(&rk.tgt_ifindex, &rk.flags);
		n = lookup_or_init(&redirects, &rk, &zero64);
		if (n)
			(*n)++;
		struct tv_rkey *last = bpf_map_lookup_elem(&last_redirect, &z);
		if (last)
			*last = rk;
	}
	if (slot == TV_SHOT && emit_events)
		send_event(ctx, TV_EV_DROP, &k, skb, ret, 0, 0, 0, 0);
	return 0;
}

/* ---- a redirect that failed ----------------------------------------- */

SEC("fexit/skb_do_redirect")
int BPF_PROG(redir_exit, struct sk_buff *skb, int ret)
{
	struct tv_rkey *last;
	struct tv_val *v;
	__u32 z = 0;

	/* 0: done; -EAGAIN: bpf_redirect_peer hands the packet on */
	if (ret == 0 || ret == -11)
		return 0;
	last = bpf_map_lookup_elem(&last_redirect, &z);
	if (!last || !last->k.prog_id)
		return 0;
	v = bpf_map_lookup_elem(&counts, &last->k);
	if (v)
		v->n[TV_REDIR_ERR]++;
	if (emit_events)
		send_event(ctx, TV_EV_REDIR_ERR, &last->k, skb, 7, 0, ret, last->tgt_ifindex, last->flags);
	return 0;
}

/* ---- drop reasons, without trampolines ------------------------------ */

static __always_inline int on_kfree_skb(void *ctx, const struct sk_buff *skb, __u32 reason)
{
	static const struct tv_val zero;
	struct tv_key k = {};
	struct tv_val *v;
	__u32 dir;

	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TC_INGRESS) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_INGRESS))
		dir = TVD_INGRESS;
	else if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS) &&
		 reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS))
		dir = TVD_EGRESS;
	else
		return 0;
	key_of(&k, skb, 0, dir);
	v = lookup_or_init(&counts, &k, &zero);
	if (v)
		v->n[TV_SHOT]++;
	if (emit_events)
		send_event(ctx, TV_EV_DROP, &k, skb, -2, reason, 0, 0, 0);
	return 0;
}

TP_TWIN(kfree_skb, "kfree_skb", struct sk_buff *skb, void *location, int reason)
{
	return on_kfree_skb(ctx, skb, (__u32)reason);
}
