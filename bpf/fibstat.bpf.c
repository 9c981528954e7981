// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fibstat: how ECMP spreads traffic over nexthops, and which routing tables
 * answer lookups.  Everything is limited to one network namespace (the one
 * the front end names in target_netns before load).
 *
 * The tracepoint programs are tp_btf/raw_tp twins written once (TP_TWIN; the
 * front end's hook table loads one of each pair): under tp_btf fields come by
 * direct (BTF) loads, under raw_tp by bpf_probe_read (LOAD below).
 *
 * xmit (net_dev_start_xmit): every IPv4/IPv6 packet leaving through
 *   an interface some watched route's nexthop uses (watch_ifs, filled by the
 *   front end), counted per flow (5-tuple) and destination MAC.  The MAC
 *   names the neighbour, hence the nexthop, the packet really went to: the
 *   route itself (skb->dst) is already released on most devices by then.
 * sel4 / sel6 (fexit fib_select_multipath / fib6_select_path, where BPF
 *   trampolines are allowed): the nexthop each multipath decision picked,
 *   per route.
 * lk4 / lk6 (fib:fib_table_lookup / fib6:fib6_table_lookup): lookups
 *   per table, result and interfaces, and failed ones as events.
 * rx (netif_receive_skb, with lk4 only): remembers per CPU the
 *   namespace of the packet being received, so IPv4 input lookups that find
 *   nothing (the tracepoint passes no namespace) can still be attributed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "fibstat.h"
#include "events.bpf.h"
#include "hooks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_SCTP_ 132
#define LOOPBACK_IFINDEX_ 1
#define EAGAIN_ 11
#define EACCES_ 13
#define EINVAL_ 22
#define ENETUNREACH_ 101
#define EHOSTUNREACH_ 113
#define RTN_BLACKHOLE_ 6
#define RTN_UNREACHABLE_ 7
#define RTN_PROHIBIT_ 8
#define RTN_THROW_ 9

const volatile __u32 target_netns = 0;
const volatile bool emit_events = false;
const volatile bool emit_misses = false;

/* Interfaces a watched nexthop uses: an array indexed by ifindex (a load
 * the verifier inlines), a hash for the rare ifindex beyond it. */
#define WATCH_ARRAY_SLOTS 65536

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WATCH_ARRAY_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
} watch_ifs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} watch_ifs_big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* --max-flows */
	__type(key, struct fs_flow_key);
	__type(value, struct fs_flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fs_sel_key);
	__type(value, __u64);
} selections SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fs_lk_key);
	__type(value, __u64);
} lookups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FS_NCOUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct rx_ctx {
	__u32 netns;
	__s32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rx_ctx);
} rx_last SEC(".maps");

/* In a TP_TWIN body: a direct (BTF) load under tp_btf, bpf_probe_read under
 * raw_tp (the compiler keeps one: btf is a constant in each twin).
 *   LOAD(dev->ifindex, dev, ifindex) */
#define LOAD(direct, ...) (btf ? (direct) : BPF_CORE_READ(__VA_ARGS__))

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		(*c)++;
}

static __always_inline __u32 dev_netns(const struct net_device *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum);
}

/* ---- egress ---------------------------------------------------------- */

struct iph4 {
	__u8 vihl;
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

struct iph6 {
	__u32 vtcfl;
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline bool has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_;
}

static __always_inline bool watched(__u32 ifindex)
{
	if (ifindex < WATCH_ARRAY_SLOTS) {
		__u8 *w = bpf_map_lookup_elem(&watch_ifs, &ifindex);
		return w && *w;
	}
	return bpf_map_lookup_elem(&watch_ifs_big, &ifindex);
}

/* The hot path: runs for every packet any device transmits.  Fields come by
 * direct (BTF) loads under tp_btf, the headers by two reads. */
TP_TWIN(xmit, "net_dev_start_xmit", const struct sk_buff *skb, const struct net_device *dev)
{
	if (LOAD(dev->nd_net.net->ns.inum, dev, nd_net.net, ns.inum) != target_netns)
		return 0;
	__u32 ifindex = LOAD(dev->ifindex, dev, ifindex);
	if (!watched(ifindex))
		return 0;

	__u16 proto = bpf_ntohs(LOAD(skb->protocol, skb, protocol));
	if (proto != ETH_P_IP_ && proto != ETH_P_IPV6_)
		return 0;
	unsigned char *head = LOAD(skb->head, skb, head);
	__u16 mh = LOAD(skb->mac_header, skb, mac_header), nh = LOAD(skb->network_header, skb, network_header);
	if (nh < mh || nh - mh > 64)
		return 0;

	struct fs_flow_key k = {};
	k.ifindex = ifindex;

	/* the IP header and the ports: at most 60 + 4 bytes (IPv4 with every
	 * option), 40 + 4 for IPv6 without extension headers.  Behind a plain
	 * Ethernet header (the usual case) one read takes the MAC too. */
	struct {
		__u8 pad[2]; /* keeps ip 8-byte aligned: the verifier wants aligned stack loads */
		__u8 eth[14];
		__u8 ip[64];
	} __attribute__((aligned(8))) pkt;
	__u8 *hdr = pkt.ip;
	if (nh - mh == 14) {
		if (bpf_probe_read_kernel(pkt.eth, sizeof(pkt.eth) + sizeof(pkt.ip), head + mh))
			return 0;
		__builtin_memcpy(k.mac, pkt.eth, 6);
	} else {
		if (nh - mh > 14)
			bpf_probe_read_kernel(k.mac, 6, head + mh);
		if (bpf_probe_read_kernel(pkt.ip, sizeof(pkt.ip), head + nh))
			return 0;
	}
	__u32 l4off;
	if (proto == ETH_P_IP_) {
		struct iph4 *ip = (struct iph4 *)hdr;
		k.family = FS_AF_INET;
		k.proto = ip->protocol;
		__builtin_memcpy(k.src, &ip->saddr, 4);
		__builtin_memcpy(k.dst, &ip->daddr, 4);
		l4off = (ip->vihl & 0xf) * 4;
		if (bpf_ntohs(ip->frag_off) & 0x1fff) /* not the first fragment: no ports */
			l4off = 0;
	} else {
		struct iph6 *ip = (struct iph6 *)hdr;
		k.family = FS_AF_INET6;
		k.proto = ip->nexthdr;
		__builtin_memcpy(k.src, ip->saddr, 16);
		__builtin_memcpy(k.dst, ip->daddr, 16);
		l4off = sizeof(*ip);
	}
	if (l4off >= 20 && l4off <= 60 && has_ports(k.proto)) {
		k.sport = (__u16)hdr[l4off] << 8 | hdr[l4off + 1];
		k.dport = (__u16)hdr[l4off + 2] << 8 | hdr[l4off + 3];
	}

	__u32 len = LOAD(skb->len, skb, len);
	__u32 l2 = nh - mh;
	__u64 bytes = len > l2 ? len - l2 : 0;
	__u64 segs = 1;
	if (LOAD(skb->data_len, skb, data_len)) { /* only paged skbs can be GSO */
		struct skb_shared_info *si = (struct skb_shared_info *)(head + LOAD(skb->end, skb, end));
		__u16 gs = BPF_CORE_READ(si, gso_segs);
		if (gs > 1)
			segs = gs;
	}

	struct fs_flow_val *v = bpf_map_lookup_elem(&flows, &k);
	if (!v) {
		struct fs_flow_val z = {};
		long err = bpf_map_update_elem(&flows, &k, &z, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU added it */) {
			count(FS_C_FLOWS_DROPPED);
			return 0;
		}
		v = bpf_map_lookup_elem(&flows, &k);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(&v->packets, segs);
	__sync_fetch_and_add(&v->bytes, bytes);
	return 0;
}

/* ---- multipath selections (fexit) ------------------------------------ */

static __always_inline void add_selection(struct fs_sel_key *k)
{
	__u64 one = 1, *c = bpf_map_lookup_elem(&selections, k);
	if (c) {
		(*c)++;
		return;
	}
	if (bpf_map_update_elem(&selections, k, &one, BPF_NOEXIST)) {
		c = bpf_map_lookup_elem(&selections, k);
		if (c)
			(*c)++;
		else
			count(FS_C_SELECTIONS_DROPPED);
	}
}

static __always_inline void nhc_gw(struct fs_sel_key *k, const struct fib_nh_common *nhc)
{
	k->gw_family = nhc->nhc_gw_family;
	if (k->gw_family == FS_AF_INET)
		__builtin_memcpy(k->gw, &nhc->nhc_gw.ipv4, 4);
	else if (k->gw_family == FS_AF_INET6)
		bpf_probe_read_kernel(k->gw, 16, &nhc->nhc_gw.ipv6);
	k->oif = nhc->nhc_oif;
}

/* Only the first argument is read: 6.1 has (res, hash), later kernels add fl4. */
SEC("fexit/fib_select_multipath")
int BPF_PROG(sel4, struct fib_result *res)
{
	struct fib_nh_common *nhc = res->nhc;
	if (!nhc || nhc->nhc_dev->nd_net.net->ns.inum != target_netns)
		return 0;
	struct fs_sel_key k = {};
	k.family = FS_AF_INET;
	k.table = res->table->tb_id;
	k.plen = res->prefixlen;
	__u32 prefix = res->prefix;
	__builtin_memcpy(k.prefix, &prefix, 4);
	nhc_gw(&k, nhc);
	add_selection(&k);
	return 0;
}

SEC("fexit/fib6_select_path")
int BPF_PROG(sel6, const struct net *net, struct fib6_result *res)
{
	if (net->ns.inum != target_netns)
		return 0;
	struct fib6_info *f6i = res->f6i;
	if (!f6i || !f6i->fib6_nsiblings)
		return 0; /* single path: no decision made */
	struct fib6_nh *nh = res->nh;
	if (!nh)
		return 0;
	struct fs_sel_key k = {};
	k.family = FS_AF_INET6;
	k.table = f6i->fib6_table->tb6_id;
	k.plen = f6i->fib6_dst.plen;
	bpf_probe_read_kernel(k.prefix, 16, &f6i->fib6_dst.addr);
	nhc_gw(&k, &nh->nh_common);
	add_selection(&k);
	return 0;
}

/* ---- table lookups ---------------------------------------------------- */

static __always_inline void add_lookup(struct fs_lk_key *k)
{
	__u64 one = 1, *c = bpf_map_lookup_elem(&lookups, k);
	if (c) {
		(*c)++;
		return;
	}
	if (bpf_map_update_elem(&lookups, k, &one, BPF_NOEXIST)) {
		c = bpf_map_lookup_elem(&lookups, k);
		if (c)
			(*c)++;
		else
			count(FS_C_LOOKUPS_DROPPED);
	}
}

static __always_inline void lookup_event(void *ctx, const struct fs_lk_key *k, __u32 mark, __s32 err,
					 __u8 proto, __u16 sport, __u16 dport, const void *src, const void *dst,
					 int alen)
{
	if (!emit_events || k->result == FS_FOUND || (k->result == FS_MISS && !emit_misses))
		return;
	struct fs_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.table = k->table;
	e.iif = k->iif;
	e.oif = k->oif;
	e.mark = mark;
	e.err = err;
	e.family = k->family;
	e.result = k->result;
	e.proto = proto;
	e.sport = sport;
	e.dport = dport;
	if (alen == 4) {
		bpf_probe_read_kernel(e.src, 4, src);
		bpf_probe_read_kernel(e.dst, 4, dst);
	} else {
		bpf_probe_read_kernel(e.src, 16, src);
		bpf_probe_read_kernel(e.dst, 16, dst);
	}
	events_submit(ctx, &e, sizeof(e));
}

TP_TWIN(rx, "netif_receive_skb", struct sk_buff *skb)
{
	__u32 zero = 0;
	struct rx_ctx *r = bpf_map_lookup_elem(&rx_last, &zero);
	if (!r)
		return 0;
	struct net_device *dev = LOAD(skb->dev, skb, dev);
	r->netns = LOAD(dev->nd_net.net->ns.inum, dev, nd_net.net, ns.inum);
	r->ifindex = LOAD(dev->ifindex, dev, ifindex);
	return 0;
}

TP_TWIN(lk4, "fib_table_lookup", u32 tb_id, const struct flowi4 *flp, const struct fib_nh_common *nhc, int err)
{
	struct fs_lk_key k = {};
	__u32 ns = 0;

	k.iif = LOAD(flp->__fl_common.flowic_iif, flp, __fl_common.flowic_iif);
	k.oif = LOAD(flp->__fl_common.flowic_oif, flp, __fl_common.flowic_oif);
	if (nhc) {
		ns = LOAD(nhc->nhc_dev->nd_net.net->ns.inum, nhc, nhc_dev, nd_net.net, ns.inum);
	} else if (k.iif == LOOPBACK_IFINDEX_) {
		/* an output lookup: made by the current task (process context) */
		struct task_struct *t = bpf_get_current_task_btf();
		ns = LOAD(t->nsproxy->net_ns->ns.inum, t, nsproxy, net_ns, ns.inum);
	} else {
		__u32 zero = 0;
		struct rx_ctx *r = bpf_map_lookup_elem(&rx_last, &zero);
		if (r && r->ifindex == k.iif)
			ns = r->netns;
	}
	if (!ns) {
		count(FS_C_LK_UNATTRIBUTED);
		return 0;
	}
	if (ns != target_netns)
		return 0;

	k.family = FS_AF_INET;
	k.table = tb_id;
	switch (err) {
	case 0: k.result = FS_FOUND; break;
	case -EAGAIN_: k.result = FS_MISS; break;
	case -EHOSTUNREACH_:
	case -ENETUNREACH_: k.result = FS_UNREACHABLE; break;
	case -EACCES_: k.result = FS_PROHIBIT; break;
	case -EINVAL_: k.result = FS_BLACKHOLE; break;
	default: k.result = FS_ERROR; break;
	}
	add_lookup(&k);
	if (emit_events)
		lookup_event(ctx, &k, LOAD(flp->__fl_common.flowic_mark, flp, __fl_common.flowic_mark), err,
			     LOAD(flp->__fl_common.flowic_proto, flp, __fl_common.flowic_proto),
			     bpf_ntohs(LOAD(flp->uli.ports.sport, flp, uli.ports.sport)),
			     bpf_ntohs(LOAD(flp->uli.ports.dport, flp, uli.ports.dport)), &flp->saddr, &flp->daddr, 4);
	return 0;
}

TP_TWIN(lk6, "fib6_table_lookup", const struct net *net, const struct fib6_result *res, struct fib6_table *table,
	const struct flowi6 *flp)
{
	if (LOAD(net->ns.inum, net, ns.inum) != target_netns)
		return 0;
	struct fs_lk_key k = {};
	k.family = FS_AF_INET6;
	k.table = LOAD(table->tb6_id, table, tb6_id);
	k.iif = LOAD(flp->__fl_common.flowic_iif, flp, __fl_common.flowic_iif);
	k.oif = LOAD(flp->__fl_common.flowic_oif, flp, __fl_common.flowic_oif);
	struct fib6_info *f6i = LOAD(res->f6i, res, f6i);
	if (!f6i || f6i == LOAD(net->ipv6.fib6_null_entry, net, ipv6.fib6_null_entry)) {
		k.result = FS_MISS;
	} else {
		switch (LOAD(res->fib6_type, res, fib6_type)) {
		case RTN_UNREACHABLE_: k.result = FS_UNREACHABLE; break;
		case RTN_PROHIBIT_: k.result = FS_PROHIBIT; break;
		case RTN_BLACKHOLE_: k.result = FS_BLACKHOLE; break;
		case RTN_THROW_: k.result = FS_MISS; break;
		default: k.result = FS_FOUND; break;
		}
	}
	add_lookup(&k);
	/* the error the kernel turns these route types into (ip6_rt_type_to_error) */
	__s32 err = k.result == FS_UNREACHABLE ? -EHOSTUNREACH_ : k.result == FS_PROHIBIT ? -EACCES_
		    : k.result == FS_BLACKHOLE ? -EINVAL_ : 0;
	if (emit_events)
		lookup_event(ctx, &k, LOAD(flp->__fl_common.flowic_mark, flp, __fl_common.flowic_mark), err,
			     LOAD(flp->__fl_common.flowic_proto, flp, __fl_common.flowic_proto),
			     bpf_ntohs(LOAD(flp->uli.ports.sport, flp, uli.ports.sport)),
			     bpf_ntohs(LOAD(flp->uli.ports.dport, flp, uli.ports.dport)), &flp->saddr, &flp->daddr, 16);
	return 0;
}
