// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpverdict: what XDP does with every packet.
 *
 * xdp_exit: fexit on the main function of one running XDP program (the
 * front end loads one copy per program with bpfclone_load()):
 * counts the action it returned per (netns, interface, rx queue).
 *
 * The xdp tracepoints, tp_btf/raw_tp twins (TP_TWIN; the front end's hook
 * table loads one of each pair): exceptions by action, redirects and
 * redirect errors, XDP_TX bulk flushes and devmap transmissions, per
 * (netns, interface, program).  Errors are also streamed as events when the
 * front end asks for them (--events).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "xdpverdict.h"
#include "events.bpf.h"
#include "hooks.bpf.h"
#include "counting.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_KEYS 4096
#define INT_MAX_ 0x7fffffff

const volatile __u32 target_prog_id = 0; /* fexit copy: the program it watches */
const volatile bool emit_events = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_KEYS);
	__type(key, struct xv_fkey);
	__type(value, struct xv_fval);
} fexit_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_KEYS);
	__type(key, struct xv_tkey);
	__type(value, struct xv_tval);
} tp_counts SEC(".maps");

static __always_inline __u32 dev_netns(const struct net_device *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

/* ---- fexit on the XDP program -------------------------------------- */

SEC("fexit")
int BPF_PROG(xdp_exit, struct xdp_buff *xdp, int ret)
{
	static const struct xv_fval zero;
	struct xv_fkey key = {};
	struct xv_fval *v;
	struct net_device *dev = BPF_CORE_READ(xdp, rxq, dev);
	__u32 act = (__u32)ret;

	key.netns = dev_netns(dev);
	key.ifindex = BPF_CORE_READ(dev, ifindex);
	key.queue = BPF_CORE_READ(xdp, rxq, queue_index);
	key.prog_id = target_prog_id;
	v = lookup_or_init(&fexit_counts, &key, &zero);
	if (!v)
		return 0;
	if (act > XDP_REDIRECT)
		act = XV_ACT_INVALID;
	v->act[act]++;
	return 0;
}

/* ---- tracepoints ---------------------------------------------------- */

static __always_inline struct xv_tval *tp_slot(const struct net_device *dev, __u32 prog_id)
{
	static const struct xv_tval zero;
	struct xv_tkey key = {};

	key.netns = dev_netns(dev);
	key.ifindex = BPF_CORE_READ(dev, ifindex);
	key.prog_id = prog_id;
	return lookup_or_init(&tp_counts, &key, &zero);
}

static __always_inline void send_event(void *ctx, __u32 kind, const struct net_device *dev,
				       __u32 prog_id, __u32 act, int err, int to_ifindex,
				       __u32 map_id, __u32 map_index, int sent, int drops)
{
	struct xv_event e = {};

	e.ktime_ns = bpf_ktime_get_ns();
	e.kind = kind;
	e.netns = dev_netns(dev);
	e.ifindex = BPF_CORE_READ(dev, ifindex);
	e.prog_id = prog_id;
	e.act = act;
	e.err = err;
	e.to_ifindex = to_ifindex;
	e.map_id = map_id;
	e.map_index = map_index;
	e.sent = sent;
	e.drops = drops;
	BPF_CORE_READ_STR_INTO(&e.ifname, dev, name);
	events_submit(ctx, &e, sizeof(e));
}

static __always_inline int on_exception(void *ctx, const struct net_device *dev,
					const struct bpf_prog *xdp, __u32 act)
{
	__u32 prog_id = BPF_CORE_READ(xdp, aux, id);
	struct xv_tval *v = tp_slot(dev, prog_id);

	if (v)
		v->exc[act > XDP_REDIRECT ? XV_ACT_INVALID : act]++;
	if (emit_events)
		send_event(ctx, XV_EV_EXCEPTION, dev, prog_id, act, 0, 0, 0, 0, 0, 0);
	return 0;
}

/* The target of a redirect, as the kernel's own tracepoint decodes it. */
static __always_inline int redirect_target(const void *tgt, int map_type, __u32 map_id,
					   __u32 *index)
{
	if (map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH) {
		const struct bpf_dtab_netdev *d = tgt;
		return d ? BPF_CORE_READ(d, dev, ifindex) : 0;
	}
	if (map_type == BPF_MAP_TYPE_UNSPEC && map_id == INT_MAX_) {
		int ifindex = *index;
		*index = 0;
		return ifindex;
	}
	return 0;
}

static __always_inline int on_redirect(void *ctx, const struct net_device *dev,
				       const struct bpf_prog *xdp, const void *tgt, int err,
				       int map_type, __u32 map_id, __u32 index)
{
	__u32 prog_id = BPF_CORE_READ(xdp, aux, id);
	struct xv_tval *v = tp_slot(dev, prog_id);

	if (v) {
		if (err)
			v->redirect_err++;
		else
			v->redirect_ok++;
	}
	if (err && emit_events) {
		int to = redirect_target(tgt, map_type, map_id, &index);
		send_event(ctx, XV_EV_REDIRECT_ERR, dev, prog_id, XDP_REDIRECT, err, to,
			   map_id == INT_MAX_ ? 0 : map_id, index, 0, 0);
	}
	return 0;
}

static __always_inline int on_bulk_tx(void *ctx, const struct net_device *dev, int sent,
				      int drops, int err)
{
	struct xv_tval *v = tp_slot(dev, 0);

	if (v) {
		v->bulk_sent += sent;
		v->bulk_drops += drops;
	}
	if ((drops || err) && emit_events)
		send_event(ctx, XV_EV_BULK_TX_ERR, dev, 0, XDP_TX, err, 0, 0, 0, sent, drops);
	return 0;
}

static __always_inline int on_devmap_xmit(void *ctx, const struct net_device *from,
					  const struct net_device *to, int sent, int drops, int err)
{
	struct xv_tval *v = tp_slot(from, 0);

	if (v) {
		v->devmap_sent += sent;
		v->devmap_drops += drops;
	}
	if ((drops || err) && emit_events)
		send_event(ctx, XV_EV_DEVMAP_ERR, from, 0, XDP_REDIRECT, err,
			   BPF_CORE_READ(to, ifindex), 0, 0, sent, drops);
	return 0;
}

/* tp_btf and raw_tp twins from one body (the front end's hook table loads
 * one of each pair). */
TP_TWIN(exception, "xdp_exception", const struct net_device *dev, const struct bpf_prog *xdp, u32 act)
{
	return on_exception(ctx, dev, xdp, act);
}

TP_TWIN(redirect, "xdp_redirect", const struct net_device *dev, const struct bpf_prog *xdp, const void *tgt,
	int err, int map_type, u32 map_id, u32 index)
{
	return on_redirect(ctx, dev, xdp, tgt, err, map_type, map_id, index);
}

TP_TWIN(redirect_err, "xdp_redirect_err", const struct net_device *dev, const struct bpf_prog *xdp,
	const void *tgt, int err, int map_type, u32 map_id, u32 index)
{
	return on_redirect(ctx, dev, xdp, tgt, err, map_type, map_id, index);
}

TP_TWIN(bulk_tx, "xdp_bulk_tx", const struct net_device *dev, int sent, int drops, int err)
{
	return on_bulk_tx(ctx, dev, sent, drops, err);
}

TP_TWIN(devmap_xmit, "xdp_devmap_xmit", const struct net_device *from, const struct net_device *to, int sent,
	int drops, int err)
{
	return on_devmap_xmit(ctx, from, to, sent, drops, err);
}
