// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "mapread.h"
#include "util.h"
#include "fibflows.h"

int proto_number(const char *s)
{
	static const struct { const char *n; int p; } names[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 }, { "gre", 47 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].n))
			return names[i].p;
	char *end;
	errno = 0;
	long p = strtol(s, &end, 10);
	if (errno || end == s || *end || p < 0 || p > 255)
		return -1;
	return (int)p;
}

const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 47: return "gre";
	case 58: return "icmpv6";
	case 132: return "sctp";
	}
	snprintf(buf, len, "%d", p);
	return buf;
}

int flowspec_parse(const char *arg, struct flowspec *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->set = true;
	f->proto = f->sport = f->dport = -1;
	char *copy = xstrdup(arg), *save = NULL;
	const char *bad = NULL;
	char seen[64] = " ";
	for (char *tok = strtok_r(copy, ", ", &save); tok && !bad; tok = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			bad = tok;
			break;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		/* each key once: dst=A,dst=B is a contradiction, not a filter */
		char key[16];
		snprintf(key, sizeof(key), " %s ", k);
		if (strstr(seen, key)) {
			snprintf(err, errlen, "invalid --flow '%s': %.8s= is given twice", arg, k);
			free(copy);
			return -1;
		}
		if (strlen(seen) + strlen(k) + 2 < sizeof(seen)) {
			strcat(seen, k);
			strcat(seen, " ");
		}
		if (!strcmp(k, "proto")) {
			if ((f->proto = proto_number(v)) < 0)
				bad = v;
		} else if (!strcmp(k, "src") || !strcmp(k, "dst")) {
			bool src = k[0] == 's';
			int fam = fib_parse_addr(v, src ? f->src : f->dst);
			if (!fam || (f->family && f->family != fam))
				bad = v;
			f->family = fam;
			*(src ? &f->has_src : &f->has_dst) = true;
		} else if (!strcmp(k, "sport") || !strcmp(k, "dport")) {
			char *end;
			errno = 0;
			long p = strtol(v, &end, 10);
			if (errno || end == v || *end || p < 0 || p > 65535)
				bad = v;
			*(k[0] == 's' ? &f->sport : &f->dport) = (int)p;
		} else {
			bad = k;
		}
	}
	if (bad || !*arg) {
		snprintf(err, errlen, "invalid --flow '%s' at '%.40s': expected proto=P,src=ADDR,sport=N,dst=ADDR,dport=N "
			 "(any subset)", arg, bad ? bad : "");
		free(copy);
		return -1;
	}
	free(copy);
	return 0;
}

bool flow_matches(const struct fs_flow_key *k, int family, const struct flowspec *f)
{
	int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
	if (family && fam != family)
		return false;
	if (!f || !f->set)
		return true;
	if (f->family && f->family != fam)
		return false;
	if (f->proto >= 0 && f->proto != k->proto)
		return false;
	if (f->has_src && memcmp(f->src, k->src, fib_addr_len(fam)))
		return false;
	if (f->has_dst && memcmp(f->dst, k->dst, fib_addr_len(fam)))
		return false;
	if (f->sport >= 0 && f->sport != k->sport)
		return false;
	if (f->dport >= 0 && f->dport != k->dport)
		return false;
	return true;
}

struct flow *fl;
int nfl;
static int capfl;

static int flow_cmp(const void *a, const void *b)
{
	const struct flow *x = a, *y = b;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	int c = memcmp(x->k.dst, y->k.dst, 16);
	if (c)
		return c;
	if ((c = memcmp(x->k.src, y->k.src, 16)))
		return c;
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	if (x->k.sport != y->k.sport)
		return x->k.sport - y->k.sport;
	if (x->k.dport != y->k.dport)
		return x->k.dport - y->k.dport;
	if (x->k.ifindex != y->k.ifindex)
		return (int)x->k.ifindex - (int)y->k.ifindex;
	return memcmp(x->k.mac, y->k.mac, 6);
}

/* Every flow in the BPF table (common/mapread.h: batched where the kernel
 * can), at most max_flows. */
static void on_flow(const void *key, const void *val, void *ctx)
{
	(void)ctx;
	if (nfl >= capfl)
		return;
	memcpy(&fl[nfl].k, key, sizeof(fl[nfl].k));
	memcpy(&fl[nfl].v, val, sizeof(fl[nfl].v));
	nfl++;
}

static void read_flows(int fd, unsigned max_flows)
{
	nfl = 0;
	if (capfl < (int)max_flows) {
		capfl = (int)max_flows;
		fl = xrealloc(fl, capfl * sizeof(*fl));
	}
	int err = map_read_all(fd, false, on_flow, NULL);
	if (err < 0)
		die_errno(err, NULL, "cannot read the flow table");
}

/* The route and nexthop a flow left by: see fibflows.h. */
struct route *flow_route(const struct fs_flow_key *k, int *nhi)
{
	int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
	struct route *best = NULL;
	int best_nh = -1;
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		if (r->family != fam || (best && best->plen >= r->plen))
			continue;
		uint8_t d[16] = { 0 };
		memcpy(d, k->dst, fib_addr_len(fam));
		fib_mask_prefix(d, r->plen, fib_addr_len(fam));
		if (memcmp(d, r->prefix, 16))
			continue;
		int on_dev = -1, n_on_dev = 0, exact = -1;
		for (int j = 0; j < r->nnh; j++) {
			struct nhop *n = &r->nh[j];
			if (n->ifindex != (int)k->ifindex)
				continue;
			n_on_dev++;
			on_dev = j;
			if (n->has_mac && !memcmp(n->mac, k->mac, 6))
				exact = j;
		}
		int pick = exact >= 0 ? exact : n_on_dev == 1 ? on_dev : -1;
		if (pick >= 0) {
			best = r;
			best_nh = pick;
		}
	}
	*nhi = best_nh;
	return best;
}

/* The previous snapshot's flows, sorted: rates and idle times. */
static struct flow *pfl;
static int npfl;

/* Counts of flows retired from the BPF table, per route and nexthop. */
struct retired {
	int family;
	uint32_t table;
	uint8_t prefix[16];
	int plen;
	uint32_t metric;
	uint8_t gw_family;
	uint8_t gw[16];
	int ifindex;
	uint64_t flows, packets, bytes;
};
static struct retired *ret;
static int nret;
static uint64_t retired_total;

static bool same_nh(const struct retired *x, const struct route *r, const struct nhop *n)
{
	return x->family == r->family && x->table == r->table && x->plen == r->plen && x->metric == r->metric &&
	       !memcmp(x->prefix, r->prefix, 16) && x->gw_family == n->gw_family && !memcmp(x->gw, n->gw, 16) &&
	       x->ifindex == n->ifindex;
}

static void retire(const struct flow *f)
{
	int j;
	struct route *r = flow_route(&f->k, &j);
	retired_total++;
	if (!r)
		return;
	struct retired *x = NULL;
	for (int i = 0; i < nret && !x; i++)
		if (same_nh(&ret[i], r, &r->nh[j]))
			x = &ret[i];
	if (!x) {
		ret = xrealloc(ret, (nret + 1) * sizeof(*ret));
		x = &ret[nret++];
		memset(x, 0, sizeof(*x));
		x->family = r->family;
		x->table = r->table;
		memcpy(x->prefix, r->prefix, 16);
		x->plen = r->plen;
		x->metric = r->metric;
		x->gw_family = r->nh[j].gw_family;
		memcpy(x->gw, r->nh[j].gw, 16);
		x->ifindex = r->nh[j].ifindex;
	}
	x->flows++;
	x->packets += f->v.packets;
	x->bytes += f->v.bytes;
}

/* Read the flow table, sorted; note when each flow last moved and retire
 * those idle longer than --flow-timeout (their counts move to the route's
 * nexthop in user space, the BPF entry is freed for new flows). */
void flows_collect(int fd, unsigned max_flows, double timeout)
{
	double now = now_mono();

	read_flows(fd, max_flows);
	qsort(fl, nfl, sizeof(*fl), flow_cmp);
	int keep = 0;
	for (int i = 0; i < nfl; i++) {
		struct flow *f = &fl[i];
		struct flow *p = npfl ? bsearch(f, pfl, npfl, sizeof(*pfl), flow_cmp) : NULL;
		f->last_change = p && p->v.packets == f->v.packets ? p->last_change : now;
		if (timeout > 0 && now - f->last_change > timeout && !bpf_map_delete_elem(fd, &f->k)) {
			retire(f);
			continue;
		}
		fl[keep++] = *f;
	}
	nfl = keep;
}

/* The previous packet count of flow f (0 for a new one); then remember all. */
uint64_t flow_prev_packets(const struct flow *f)
{
	const struct flow *p = npfl ? bsearch(f, pfl, npfl, sizeof(*pfl), flow_cmp) : NULL;
	return p ? p->v.packets : 0;
}

void flows_remember(void)
{
	pfl = xrealloc(pfl, (nfl ? nfl : 1) * sizeof(*pfl));
	memcpy(pfl, fl, nfl * sizeof(*fl));
	npfl = nfl;
}

void flows_add_retired(void)
{
	for (int i = 0; i < nret; i++)
		for (int q = 0; q < nroutes; q++)
			for (int j = 0; j < routes[q].nnh; j++)
				if (same_nh(&ret[i], &routes[q], &routes[q].nh[j])) {
					routes[q].nh[j].flows += ret[i].flows;
					routes[q].nh[j].packets += ret[i].packets;
					routes[q].nh[j].bytes += ret[i].bytes;
				}
}

uint64_t flows_retired(void)
{
	return retired_total;
}

void flows_free(void)
{
	free(fl);
	free(pfl);
	free(ret);
	fl = pfl = NULL;
	ret = NULL;
	nfl = npfl = nret = capfl = 0;
}
