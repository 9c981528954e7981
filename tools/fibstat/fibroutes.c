// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>

#include "rtnl.h"
#include "util.h"
#include "fibroutes.h"

int fib_parse_addr(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

void fib_mask_prefix(uint8_t *a, int plen, int alen)
{
	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;
		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

struct link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint32_t vrf_table;  /* a VRF device: its table; else 0 */
};

struct neigh {
	int ifindex;
	int family;
	uint8_t addr[16];
	uint8_t mac[6];
};

struct nhobj {
	uint32_t id;
	int family;
	uint8_t gw[16];
	int ifindex;
	int ngrp;
	uint32_t grp_id[64];
	int grp_w[64];
};

struct route *routes;
int nroutes;
static struct link *links;
static int nlinks;
static struct neigh *neighs; /* kept across refreshes: expired entries still name a MAC */
static int nneighs;
static struct nhobj *nhobjs;
static int nnhobjs;

int fib_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

const char *fib_fmt_addr(int family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *fib_ifname(int ifindex, char *buf, size_t len)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].ifindex == ifindex)
			return links[i].name;
	snprintf(buf, len, "if%d", ifindex);
	return buf;
}

const char *fib_vrf_of_table(uint32_t table)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].vrf_table && links[i].vrf_table == table)
			return links[i].name;
	return NULL;
}

static int on_link(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *tb[IFLA_MAX + 1];
	rtnl_msg_attrs(tb, IFLA_MAX, nh, sizeof(*ifi));
	links = xrealloc(links, (nlinks + 1) * sizeof(*links));
	struct link *l = &links[nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", (const char *)RTA_DATA(tb[IFLA_IFNAME]));
	else
		snprintf(l->name, sizeof(l->name), "if%d", ifi->ifi_index);
	if (tb[IFLA_LINKINFO]) {
		struct rtattr *li[IFLA_INFO_MAX + 1];
		rtnl_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (li[IFLA_INFO_KIND] && !strcmp(RTA_DATA(li[IFLA_INFO_KIND]), "vrf") && li[IFLA_INFO_DATA]) {
			struct rtattr *vd[IFLA_VRF_MAX + 1];
			rtnl_attrs(vd, IFLA_VRF_MAX, RTA_DATA(li[IFLA_INFO_DATA]), RTA_PAYLOAD(li[IFLA_INFO_DATA]));
			if (vd[IFLA_VRF_TABLE])
				l->vrf_table = *(uint32_t *)RTA_DATA(vd[IFLA_VRF_TABLE]);
		}
	}
	return 0;
}

static int on_neigh(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	const struct ndmsg *nd = NLMSG_DATA(nh);
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return 0;
	struct rtattr *tb[NDA_MAX + 1];
	rtnl_msg_attrs(tb, NDA_MAX, nh, sizeof(*nd));
	if (!tb[NDA_DST] || !tb[NDA_LLADDR] || RTA_PAYLOAD(tb[NDA_LLADDR]) != 6 ||
	    RTA_PAYLOAD(tb[NDA_DST]) != (unsigned)fib_addr_len(nd->ndm_family))
		return 0;
	uint8_t addr[16] = { 0 };
	memcpy(addr, RTA_DATA(tb[NDA_DST]), fib_addr_len(nd->ndm_family));
	struct neigh *n = NULL;
	for (int i = 0; i < nneighs && !n; i++)
		if (neighs[i].ifindex == nd->ndm_ifindex && neighs[i].family == nd->ndm_family &&
		    !memcmp(neighs[i].addr, addr, 16))
			n = &neighs[i];
	if (!n) {
		neighs = xrealloc(neighs, (nneighs + 1) * sizeof(*neighs));
		n = &neighs[nneighs++];
		n->ifindex = nd->ndm_ifindex;
		n->family = nd->ndm_family;
		memcpy(n->addr, addr, 16);
	}
	memcpy(n->mac, RTA_DATA(tb[NDA_LLADDR]), 6);
	return 0;
}

static int on_nexthop(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWNEXTHOP)
		return 0;
	const struct nhmsg *m = NLMSG_DATA(nh);
	struct rtattr *tb[NHA_MAX + 1];
	rtnl_msg_attrs(tb, NHA_MAX, nh, sizeof(*m));
	if (!tb[NHA_ID])
		return 0;
	nhobjs = xrealloc(nhobjs, (nnhobjs + 1) * sizeof(*nhobjs));
	struct nhobj *x = &nhobjs[nnhobjs++];
	memset(x, 0, sizeof(*x));
	x->id = *(uint32_t *)RTA_DATA(tb[NHA_ID]);
	x->family = m->nh_family;
	if (tb[NHA_OIF])
		x->ifindex = *(int *)RTA_DATA(tb[NHA_OIF]);
	if (tb[NHA_GATEWAY] && (RTA_PAYLOAD(tb[NHA_GATEWAY]) == 4 || RTA_PAYLOAD(tb[NHA_GATEWAY]) == 16)) {
		x->family = RTA_PAYLOAD(tb[NHA_GATEWAY]) == 4 ? AF_INET : AF_INET6;
		memcpy(x->gw, RTA_DATA(tb[NHA_GATEWAY]), RTA_PAYLOAD(tb[NHA_GATEWAY]));
	} else {
		x->family = 0;
	}
	if (tb[NHA_GROUP]) {
		const struct nexthop_grp *g = RTA_DATA(tb[NHA_GROUP]);
		int n = RTA_PAYLOAD(tb[NHA_GROUP]) / sizeof(*g);
		for (int i = 0; i < n && x->ngrp < 64; i++) {
			x->grp_id[x->ngrp] = g[i].id;
			/* weight - 1 in 8 bits; newer kernels carry 8 more in the byte after it */
			const uint8_t *raw = (const uint8_t *)&g[i];
			x->grp_w[x->ngrp++] = (raw[4] | raw[5] << 8) + 1;
		}
	}
	return 0;
}

static void route_add_nh(struct route *r, int gw_family, const void *gw, int ifindex, int weight)
{
	r->nh = xrealloc(r->nh, (r->nnh + 1) * sizeof(*r->nh));
	struct nhop *n = &r->nh[r->nnh++];
	memset(n, 0, sizeof(*n));
	n->gw_family = (uint8_t)gw_family;
	if (gw_family)
		memcpy(n->gw, gw, fib_addr_len(gw_family));
	n->ifindex = ifindex;
	n->weight = weight;
}

static void parse_gw(struct rtattr **tb, int family, int *gwf, uint8_t gw[16])
{
	*gwf = 0;
	memset(gw, 0, 16);
	if (tb[RTA_GATEWAY] && RTA_PAYLOAD(tb[RTA_GATEWAY]) == (unsigned)fib_addr_len(family)) {
		*gwf = family;
		memcpy(gw, RTA_DATA(tb[RTA_GATEWAY]), fib_addr_len(family));
	} else if (tb[RTA_VIA] && RTA_PAYLOAD(tb[RTA_VIA]) >= 2) {
		const struct rtvia *v = RTA_DATA(tb[RTA_VIA]);
		int f = v->rtvia_family;
		if ((f == AF_INET || f == AF_INET6) && RTA_PAYLOAD(tb[RTA_VIA]) >= 2 + (unsigned)fib_addr_len(f)) {
			*gwf = f;
			memcpy(gw, v->rtvia_addr, fib_addr_len(f));
		}
	}
}

static bool route_wanted(const struct route_filter *f, int family, const uint8_t *prefix, int plen)
{
	if (f->family && family != f->family)
		return false;
	if (f->has_prefix)
		return family == f->prefix_family && plen == f->plen && !memcmp(prefix, f->prefix, 16);
	return true;
}

static int on_route(const struct nlmsghdr *nh, void *ctx)
{
	const struct route_filter *f = ctx;
	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	if ((rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) || rt->rtm_type != RTN_UNICAST ||
	    (rt->rtm_flags & RTM_F_CLONED))
		return 0;
	struct rtattr *tb[RTA_MAX + 1];
	rtnl_msg_attrs(tb, RTA_MAX, nh, sizeof(*rt));
	struct route r = { .family = rt->rtm_family, .plen = rt->rtm_dst_len, .table = rt->rtm_table };
	if (tb[RTA_TABLE])
		r.table = *(uint32_t *)RTA_DATA(tb[RTA_TABLE]);
	if (tb[RTA_PRIORITY])
		r.metric = *(uint32_t *)RTA_DATA(tb[RTA_PRIORITY]);
	if (tb[RTA_DST] && RTA_PAYLOAD(tb[RTA_DST]) == (unsigned)fib_addr_len(r.family))
		memcpy(r.prefix, RTA_DATA(tb[RTA_DST]), fib_addr_len(r.family));
	if (!route_wanted(f, r.family, r.prefix, r.plen))
		return 0;
	if (tb[RTA_MULTIPATH]) {
		const struct rtnexthop *rtnh = RTA_DATA(tb[RTA_MULTIPATH]);
		int len = RTA_PAYLOAD(tb[RTA_MULTIPATH]);
		while (len >= (int)sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) && rtnh->rtnh_len <= len) {
			struct rtattr *ntb[RTA_MAX + 1];
			rtnl_attrs(ntb, RTA_MAX, RTNH_DATA(rtnh), rtnh->rtnh_len - RTNH_LENGTH(0));
			int gwf;
			uint8_t gw[16];
			parse_gw(ntb, r.family, &gwf, gw);
			route_add_nh(&r, gwf, gw, rtnh->rtnh_ifindex, rtnh->rtnh_hops + 1);
			len -= RTNH_ALIGN(rtnh->rtnh_len);
			rtnh = RTNH_NEXT(rtnh);
		}
	} else if (tb[RTA_NH_ID]) {
		r.nh_id = *(uint32_t *)RTA_DATA(tb[RTA_NH_ID]);
	} else if (tb[RTA_OIF]) {
		int gwf;
		uint8_t gw[16];
		parse_gw(tb, r.family, &gwf, gw);
		route_add_nh(&r, gwf, gw, *(int *)RTA_DATA(tb[RTA_OIF]), 1);
	}
	routes = xrealloc(routes, (nroutes + 1) * sizeof(*routes));
	routes[nroutes++] = r;
	return 0;
}

static struct nhobj *nhobj_find(uint32_t id)
{
	for (int i = 0; i < nnhobjs; i++)
		if (nhobjs[i].id == id)
			return &nhobjs[i];
	return NULL;
}

static void routes_free(void)
{
	for (int i = 0; i < nroutes; i++)
		free(routes[i].nh);
	free(routes);
	routes = NULL;
	nroutes = 0;
}

static int route_cmp(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	int c = memcmp(x->prefix, y->prefix, 16);
	if (c)
		return c;
	if (x->plen != y->plen)
		return x->plen - y->plen;
	/* the lowest metric first: the route the kernel uses (flow_route) */
	return x->metric < y->metric ? -1 : x->metric > y->metric;
}

void fibroutes_refresh(int rtnl, const struct route_filter *f)
{
	int err;

	free(links);
	links = NULL;
	nlinks = 0;
	if ((err = rtnl_dump(rtnl, RTM_GETLINK, AF_UNSPEC, on_link, NULL)))
		die_errno(err, NULL, "cannot list interfaces");
	free(nhobjs);
	nhobjs = NULL;
	nnhobjs = 0;
	rtnl_dump(rtnl, RTM_GETNEXTHOP, AF_UNSPEC, on_nexthop, NULL); /* absent before 5.3: fine */
	if ((err = rtnl_dump(rtnl, RTM_GETNEIGH, AF_UNSPEC, on_neigh, NULL)))
		die_errno(err, NULL, "cannot list neighbours");
	if (!f)
		return;
	routes_free();
	if (f->family != AF_INET6 && (err = rtnl_dump(rtnl, RTM_GETROUTE, AF_INET, on_route, (void *)f)))
		die_errno(err, NULL, "cannot list IPv4 routes");
	if (f->family != AF_INET && (err = rtnl_dump(rtnl, RTM_GETROUTE, AF_INET6, on_route, (void *)f)) &&
	    err != -EAFNOSUPPORT)
		die_errno(err, NULL, "cannot list IPv6 routes");
	/* resolve nexthop objects; keep multipath routes (any route with -r) */
	int keep = 0;
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		if (r->nh_id) {
			struct nhobj *x = nhobj_find(r->nh_id);
			if (x && x->ngrp) {
				for (int k = 0; k < x->ngrp; k++) {
					struct nhobj *m = nhobj_find(x->grp_id[k]);
					if (m)
						route_add_nh(r, m->family, m->gw, m->ifindex, x->grp_w[k]);
				}
			} else if (x) {
				route_add_nh(r, x->family, x->gw, x->ifindex, 1);
			}
		}
		if (r->nnh >= 2 || (f->has_prefix && r->nnh >= 1))
			routes[keep++] = *r;
		else
			free(r->nh);
	}
	nroutes = keep;
	qsort(routes, nroutes, sizeof(*routes), route_cmp);
	for (int i = 0; i < nroutes; i++)
		for (int j = 0; j < routes[i].nnh; j++) {
			struct nhop *n = &routes[i].nh[j];
			for (int q = 0; q < nneighs && n->gw_family && !n->has_mac; q++)
				if (neighs[q].ifindex == n->ifindex && neighs[q].family == n->gw_family &&
				    !memcmp(neighs[q].addr, n->gw, 16)) {
					n->has_mac = true;
					memcpy(n->mac, neighs[q].mac, 6);
				}
		}
}

const char *fib_route_str(const struct route *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	snprintf(buf, len, "%s/%d", fib_fmt_addr(r->family, r->prefix, a, sizeof(a)), r->plen);
	return buf;
}

void fibroutes_free(void)
{
	routes_free();
	free(links);
	free(neighs);
	free(nhobjs);
	links = NULL;
	neighs = NULL;
	nhobjs = NULL;
	nlinks = nneighs = nnhobjs = 0;
}
