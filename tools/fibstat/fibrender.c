// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "mapread.h"
#include "util.h"
#include "fib.h"
#include "fibrender.h"
#include "fibstat.skel.h"

#define LOOPBACK_IFINDEX 1

/* Event types: the lookup results. */
static const char *const result_names[FS_NRESULTS] = {
	"found", "miss", "unreachable", "prohibit", "blackhole", "error",
};

static bool sel_active(void)
{
	return hook_active(&hooks[H_SEL4]) || hook_active(&hooks[H_SEL6]);
}

static uint64_t counter_sum(enum fs_counter c)
{
	__u32 k = c;
	uint64_t sum;
	return map_lookup_percpu_sum(bpf_map__fd(skel->maps.counters), &k, 1, &sum) ? 0 : sum;
}

/* Rates: the previous snapshot's packet count per identity. */
struct prev {
	char *id;
	uint64_t v;
	bool seen;
};
static struct prev *prevs;
static int nprevs;

static double rate_of(const char *id, uint64_t now, double dt)
{
	struct prev *p = NULL;
	for (int i = 0; i < nprevs && !p; i++)
		if (!strcmp(prevs[i].id, id))
			p = &prevs[i];
	if (!p) {
		prevs = xrealloc(prevs, (nprevs + 1) * sizeof(*prevs));
		p = &prevs[nprevs++];
		p->id = xstrdup(id);
		p->v = 0; /* counting started with the tool */
	}
	double rate = counter_rate(now, p->v, dt);
	p->v = now;
	p->seen = true;
	return rate;
}

static void prevs_free(void)
{
	for (int i = 0; i < nprevs; i++)
		free(prevs[i].id);
	free(prevs);
}

static void on_selection(const void *key, const void *val, void *ctx)
{
	struct fs_sel_key k;
	(void)ctx;
	memcpy(&k, key, sizeof(k));
	uint64_t s = percpu_sum_u64(val, sizeof(uint64_t), 0);
	int fam = k.family == FS_AF_INET ? AF_INET : AF_INET6;
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		if (r->family != fam || r->table != k.table || r->plen != k.plen || memcmp(r->prefix, k.prefix, 16))
			continue;
		for (int j = 0; j < r->nnh; j++) {
			struct nhop *n = &r->nh[j];
			if (n->ifindex == k.oif && n->gw_family == k.gw_family &&
			    (!n->gw_family || !memcmp(n->gw, k.gw, fib_addr_len(n->gw_family))))
				n->selections += s;
		}
	}
}

static void read_selections(void)
{
	int err = map_read_all(bpf_map__fd(skel->maps.selections), false, on_selection, NULL);
	if (err < 0)
		die_errno(err, NULL, "cannot read the multipath selections");
}

/* The policy's name as the label value (kernel: ip-sysctl.rst). */
static const char *policy_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 0: return "L3";
	case 1: return "L4";
	case 2: return "L3_inner";
	case 3: return "custom";
	}
	snprintf(buf, len, "%d", p); /* a policy newer than this tool */
	return buf;
}

/* hash_policy_ipvV and, for the custom policy, hash_fields_ipvV. */
static void hash_policy_meta(struct snapshot *sn, int v)
{
	char path[96], buf[64];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv%d/fib_multipath_hash_policy", v);
	FILE *f = fopen(path, "r");
	int pol = -1;
	if (f) {
		if (fscanf(f, "%d", &pol) != 1)
			pol = -1;
		fclose(f);
	}
	if (pol < 0)
		return;
	snap_meta(sn, v == 4 ? "hash_policy_ipv4" : "hash_policy_ipv6", "%s", policy_name(pol, buf, sizeof(buf)));
	if (pol != 3)
		return;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv%d/fib_multipath_hash_fields", v);
	f = fopen(path, "r");
	if (!f)
		return;
	unsigned long mask = 0;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%li", (long *)&mask) != 1)
		mask = 0;
	fclose(f);
	static const char *const names[] = {
		"src_ip", "dst_ip", "ip_proto", "flowlabel", "src_port", "dst_port", "inner_src_ip",
		"inner_dst_ip", "inner_ip_proto", "inner_flowlabel", "inner_src_port", "inner_dst_port",
	};
	char list[256] = "";
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mask & (1ul << i))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? "," : "", names[i]);
	snap_meta(sn, v == 4 ? "hash_fields_ipv4" : "hash_fields_ipv6", "%s", list[0] ? list : "none");
}

static void gw_str(const struct nhop *n, char *buf, size_t len)
{
	if (n->gw_family)
		fib_fmt_addr(n->gw_family, n->gw, buf, len);
	else
		snprintf(buf, len, "-");
}

/* Facts of the nexthop and flow views. */
static void flow_meta(struct snapshot *sn)
{
	static bool warned;
	char mech[256];

	snap_meta(sn, "mechanism", "%s", hooks_mechanism(hooks, H_N, mech, sizeof(mech)));
	if (fo.rf.family != AF_INET6 && (!fo.rf.has_prefix || fo.rf.prefix_family == AF_INET))
		hash_policy_meta(sn, 4);
	if (fo.rf.family != AF_INET && (!fo.rf.has_prefix || fo.rf.prefix_family == AF_INET6))
		hash_policy_meta(sn, 6);
	snap_meta_u64(sn, "routes", (uint64_t)nroutes);
	snap_meta_u64(sn, "flows_tracked", (uint64_t)nfl);
	snap_meta_u64(sn, "flows_retired", flows_retired());
	uint64_t dropped = counter_sum(FS_C_FLOWS_DROPPED);
	snap_meta_u64(sn, "flows_dropped", dropped);
	if (dropped && !warned) {
		warnx_("the flow table is full (%u flows): new flows go uncounted (flows_dropped); raise --max-flows",
		       fo.max_flows);
		warned = true;
	}
	if (sel_active())
		snap_meta_u64(sn, "selections_dropped", counter_sum(FS_C_SELECTIONS_DROPPED));
	out_set_missed(bpfobj_recursion_misses(skel->obj));
}

int snapshot_nexthops(double dt)
{
	char b1[INET6_ADDRSTRLEN + 8], b2[INET6_ADDRSTRLEN], b3[IF_NAMESIZE + 8], id[256];

	flows_collect(bpf_map__fd(skel->maps.flows), fo.max_flows, fo.flow_timeout);
	for (int i = 0; i < nfl; i++) {
		if (!flow_matches(&fl[i].k, fo.rf.family, &fo.fs))
			continue;
		int j;
		struct route *r = flow_route(&fl[i].k, &j);
		if (!r)
			continue;
		r->nh[j].flows++;
		r->nh[j].packets += fl[i].v.packets;
		r->nh[j].bytes += fl[i].v.bytes;
	}
	flows_add_retired();
	flows_remember();
	if (sel_active())
		read_selections();

	struct snapshot *sn = snap_begin(&nh_schema);
	flow_meta(sn);
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		uint64_t P = 0, F = 0;
		long W = 0;
		for (int j = 0; j < r->nnh; j++) {
			P += r->nh[j].packets;
			F += r->nh[j].flows;
			W += r->nh[j].weight;
		}
		double imbal = 0, fimbal = 0;
		for (int j = 0; j < r->nnh && W; j++) {
			double fair = (double)r->nh[j].weight / W;
			if (P && (double)r->nh[j].packets / P / fair > imbal)
				imbal = (double)r->nh[j].packets / P / fair;
			if (F && (double)r->nh[j].flows / F / fair > fimbal)
				fimbal = (double)r->nh[j].flows / F / fair;
		}
		fib_route_str(r, b1, sizeof(b1));
		for (int j = 0; j < r->nnh; j++) {
			struct nhop *n = &r->nh[j];
			struct record *rec = snap_add(sn);
			rec_str(rec, N_NETNS, fo.ns_label);
			rec_str(rec, N_FAMILY, r->family == AF_INET ? "ipv4" : "ipv6");
			rec_u64(rec, N_TABLE, r->table);
			rec_u64(rec, N_METRIC, r->metric);
			rec_str(rec, N_ROUTE, b1);
			rec_u64(rec, N_NH, (uint64_t)j);
			gw_str(n, b2, sizeof(b2));
			if (n->gw_family)
				rec_str(rec, N_GW, b2);
			else
				rec_none(rec, N_GW);
			rec_str(rec, N_IFACE, fib_ifname(n->ifindex, b3, sizeof(b3)));
			rec_u64(rec, N_WEIGHT, (uint64_t)n->weight);
			rec_u64(rec, N_FLOWS, n->flows);
			rec_u64(rec, N_PACKETS, n->packets);
			rec_u64(rec, N_BYTES, n->bytes);
			snprintf(id, sizeof(id), "%u %u %s %s %d", r->table, r->metric, b1, b2, n->ifindex);
			rec_dbl(rec, N_PPS, rate_of(id, n->packets, dt));
			if (P)
				rec_dbl(rec, N_SHARE, (double)n->packets / P);
			else
				rec_none(rec, N_SHARE);
			if (W)
				rec_dbl(rec, N_FAIR, (double)n->weight / W);
			else
				rec_none(rec, N_FAIR);
			if (P)
				rec_dbl(rec, N_IMBAL, imbal);
			else
				rec_none(rec, N_IMBAL);
			if (F) {
				rec_dbl(rec, N_FLOW_SHARE, (double)n->flows / F);
				rec_dbl(rec, N_FLOW_IMBAL, fimbal);
			} else {
				rec_none(rec, N_FLOW_SHARE);
				rec_none(rec, N_FLOW_IMBAL);
			}
			if (hook_active(&hooks[r->family == AF_INET ? H_SEL4 : H_SEL6]))
				rec_u64(rec, N_SEL, n->selections);
			else
				rec_none(rec, N_SEL);
		}
	}
	return snap_end(sn);
}

int snapshot_flows(double dt)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], rb[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN];
	char ifb[IF_NAMESIZE + 8], pb[16], mac[18];
	static const uint8_t nomac[6];

	flows_collect(bpf_map__fd(skel->maps.flows), fo.max_flows, fo.flow_timeout);
	struct snapshot *sn = snap_begin(&flow_schema);
	flow_meta(sn);
	for (int i = 0; i < nfl; i++) {
		const struct fs_flow_key *k = &fl[i].k;
		if (!flow_matches(k, fo.rf.family, &fo.fs))
			continue;
		int j;
		struct route *r = flow_route(k, &j);
		if (fo.rf.has_prefix && !r)
			continue; /* -r: only flows of that route */
		int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
		struct record *rec = snap_add(sn);
		rec_str(rec, W_NETNS, fo.ns_label);
		rec_str(rec, W_FAMILY, fam == AF_INET ? "ipv4" : "ipv6");
		rec_str(rec, W_PROTO, proto_name(k->proto, pb, sizeof(pb)));
		rec_str(rec, W_SRC, fib_fmt_addr(fam, k->src, src, sizeof(src)));
		rec_u64(rec, W_SPORT, k->sport);
		rec_str(rec, W_DST, fib_fmt_addr(fam, k->dst, dst, sizeof(dst)));
		rec_u64(rec, W_DPORT, k->dport);
		if (memcmp(k->mac, nomac, 6)) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", k->mac[0], k->mac[1], k->mac[2],
				 k->mac[3], k->mac[4], k->mac[5]);
			rec_str(rec, W_MAC, mac);
		} else {
			rec_none(rec, W_MAC);
		}
		if (r) {
			rec_u64(rec, W_TABLE, r->table);
			rec_str(rec, W_ROUTE, fib_route_str(r, rb, sizeof(rb)));
			rec_u64(rec, W_NH, (uint64_t)j);
			gw_str(&r->nh[j], gw, sizeof(gw));
			if (r->nh[j].gw_family)
				rec_str(rec, W_GW, gw);
			else
				rec_none(rec, W_GW);
		} else {
			rec_none(rec, W_TABLE);
			rec_none(rec, W_ROUTE);
			rec_none(rec, W_NH);
			rec_none(rec, W_GW);
		}
		rec_str(rec, W_IFACE, fib_ifname((int)k->ifindex, ifb, sizeof(ifb)));
		rec_u64(rec, W_PACKETS, fl[i].v.packets);
		rec_u64(rec, W_BYTES, fl[i].v.bytes);
		uint64_t before = flow_prev_packets(&fl[i]);
		rec_dbl(rec, W_PPS, counter_rate(fl[i].v.packets, before, dt));
	}
	flows_remember();
	return snap_end(sn);
}

/* ---- table view ------------------------------------------------------ */

struct lkrow {
	int family;
	uint32_t table;
	int iif, oif;
	uint64_t n[FS_NRESULTS];
};

/* Input interface: lo (output lookups) and none read "-". */
static const char *iif_label(int ifindex, char *buf, size_t len)
{
	if (ifindex == 0 || ifindex == LOOPBACK_IFINDEX)
		return "-";
	return fib_ifname(ifindex, buf, len);
}

static const char *oif_label(int ifindex, char *buf, size_t len)
{
	return ifindex ? fib_ifname(ifindex, buf, len) : "-";
}

static int lk_cmp(const void *a, const void *b)
{
	const struct lkrow *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->iif != y->iif)
		return x->iif - y->iif;
	return x->oif - y->oif;
}

struct lkrows {
	struct lkrow *v;
	int n;
};

static void on_lookup(const void *key, const void *val, void *ctx)
{
	struct lkrows *L = ctx;
	struct fs_lk_key k;
	memcpy(&k, key, sizeof(k));
	if (k.result >= FS_NRESULTS)
		return;
	int fam = k.family == FS_AF_INET ? AF_INET : AF_INET6;
	if (fo.rf.family && fam != fo.rf.family)
		return;
	/* output lookups: lo and none both mean "locally generated" */
	int iif = k.iif == LOOPBACK_IFINDEX ? 0 : k.iif;
	struct lkrow *r = NULL;
	for (int i = 0; i < L->n && !r; i++)
		if (L->v[i].family == fam && L->v[i].table == k.table && L->v[i].iif == iif && L->v[i].oif == k.oif)
			r = &L->v[i];
	if (!r) {
		L->v = xrealloc(L->v, (L->n + 1) * sizeof(*L->v));
		r = &L->v[L->n++];
		memset(r, 0, sizeof(*r));
		r->family = fam;
		r->table = k.table;
		r->iif = iif;
		r->oif = k.oif;
	}
	r->n[k.result] += percpu_sum_u64(val, sizeof(uint64_t), 0);
}

int snapshot_tables(double dt)
{
	struct lkrows L = { 0 };
	int err = map_read_all(bpf_map__fd(skel->maps.lookups), false, on_lookup, &L);
	if (err < 0)
		die_errno(err, NULL, "cannot read the lookup counters");
	struct lkrow *rows = L.v;
	int nrows = L.n;
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), lk_cmp);

	char mech[256], b1[IF_NAMESIZE + 8], b2[IF_NAMESIZE + 8], id[64];
	hooks_mechanism(hooks, H_N, mech, sizeof(mech));
	struct snapshot *sn = snap_begin(&lk_schema);
	/* Prometheus: one counter with a result label */
	struct snapshot *res = snap_begin(&lkres_schema);
	snap_meta(sn, "mechanism", "%s", mech);
	if (hook_active(&hooks[H_LK4]))
		snap_meta_u64(sn, "unattributed_ipv4", counter_sum(FS_C_LK_UNATTRIBUTED));
	snap_meta_u64(sn, "lookups_dropped", counter_sum(FS_C_LOOKUPS_DROPPED));
	out_set_missed(bpfobj_recursion_misses(skel->obj));
	for (int i = 0; i < nrows; i++) {
		struct lkrow *r = &rows[i];
		struct record *rec = snap_add(sn);
		uint64_t tot = 0;
		for (int q = 0; q < FS_NRESULTS; q++)
			tot += r->n[q];
		const char *fam = r->family == AF_INET ? "ipv4" : "ipv6";
		const char *vrf = fib_vrf_of_table(r->table);
		rec_str(rec, L_NETNS, fo.ns_label);
		rec_str(rec, L_FAMILY, fam);
		rec_u64(rec, L_TABLE, r->table);
		rec_str(rec, L_VRF, vrf); /* NULL: none */
		rec_str(rec, L_IIF, iif_label(r->iif, b1, sizeof(b1)));
		rec_str(rec, L_OIF, oif_label(r->oif, b2, sizeof(b2)));
		for (int q = 0; q < FS_NRESULTS; q++) {
			struct record *x = snap_add(res);
			rec_str(x, R_NETNS, fo.ns_label);
			rec_str(x, R_FAMILY, fam);
			rec_u64(x, R_TABLE, r->table);
			rec_str(x, R_VRF, vrf);
			rec_str(x, R_IIF, iif_label(r->iif, b1, sizeof(b1)));
			rec_str(x, R_OIF, oif_label(r->oif, b2, sizeof(b2)));
			rec_str(x, R_RESULT, result_names[q]);
			rec_u64(x, R_LOOKUPS, r->n[q]);
		}
		rec_u64(rec, L_LOOKUPS, tot);
		rec_u64(rec, L_FOUND, r->n[FS_FOUND]);
		rec_u64(rec, L_MISS, r->n[FS_MISS]);
		rec_u64(rec, L_UNREACH, r->n[FS_UNREACHABLE]);
		rec_u64(rec, L_PROHIBIT, r->n[FS_PROHIBIT]);
		rec_u64(rec, L_BLACKHOLE, r->n[FS_BLACKHOLE]);
		rec_u64(rec, L_ERROR, r->n[FS_ERROR]);
		snprintf(id, sizeof(id), "lk %d %u %d %d", r->family, r->table, r->iif, r->oif);
		rec_dbl(rec, L_LPS, rate_of(id, tot, dt));
	}
	free(rows);
	snap_append(sn, res);
	return snap_end(sn);
}

/* ---- events ----------------------------------------------------------- */

int fib_on_event(void *ctx, const void *data, size_t size)
{
	(void)ctx;
	if (size < sizeof(struct fs_event))
		return 0;
	const struct fs_event *e = data;
	int fam = e->family == FS_AF_INET ? AF_INET : AF_INET6;
	if (fo.rf.family && fam != fo.rf.family)
		return 0;
	char a[INET6_ADDRSTRLEN], b1[IF_NAMESIZE + 8], pb[16];
	struct record *r = event_new(&ev_schema);
	char rb[16];
	snprintf(rb, sizeof(rb), "result_%u", e->result);
	rec_str(r, E_TYPE, e->result < FS_NRESULTS ? result_names[e->result] : rb);
	rec_str(r, E_FAMILY, fam == AF_INET ? "ipv4" : "ipv6");
	rec_u64(r, E_TABLE, e->table);
	rec_str(r, E_VRF, fib_vrf_of_table(e->table)); /* NULL: none */
	if (e->err) {
		rec_u64(r, E_ERRNO, (uint64_t)(e->err < 0 ? -(int64_t)e->err : e->err));
		rec_str(r, E_ERRNO_NAME, errno_name(e->err));
	} else {
		rec_none(r, E_ERRNO);
		rec_none(r, E_ERRNO_NAME);
	}
	rec_str(r, E_PROTO, proto_name(e->proto, pb, sizeof(pb)));
	rec_str(r, E_SRC, fib_fmt_addr(fam, e->src, a, sizeof(a)));
	rec_u64(r, E_SPORT, e->sport);
	rec_str(r, E_DST, fib_fmt_addr(fam, e->dst, a, sizeof(a)));
	rec_u64(r, E_DPORT, e->dport);
	rec_str(r, E_IIF, iif_label(e->iif, b1, sizeof(b1)));
	rec_str(r, E_OIF, oif_label(e->oif, b1, sizeof(b1)));
	rec_u64(r, E_MARK, e->mark);
	return event_emit(r);
}

void fibrender_free(void)
{
	prevs_free();
}
