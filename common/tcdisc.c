// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* TC-family BPF programs and act_mirred actions of the current network
 * namespace: see tcdisc.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/gen_stats.h>
#include <linux/if_link.h>
#include <linux/lwtunnel.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "bpfobj.h"
#include "rtnl.h"
#include "tcdisc.h"
#include "util.h"

/* enum bpf_attach_type members newer than the uapi headers we build against
 * (Linux 6.1); the values are the kernel's ABI. */
#define TCD_TCX_INGRESS 46
#define TCD_TCX_EGRESS 47
#define TCD_NETKIT_PRIMARY 54
#define TCD_NETKIT_PEER 55

const char *tc_kind_name(enum tc_kind k)
{
	static const char *const n[] = { "cls_bpf", "tcx", "netkit", "lwt" };
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

const char *tc_dir_name(enum tc_dir d)
{
	static const char *const n[] = { "ingress", "egress", "primary", "peer", "in", "out", "xmit" };
	return (unsigned)d < sizeof(n) / sizeof(n[0]) ? n[d] : "?";
}

/* ---- the list being built ------------------------------------------------ */

struct link {
	int ifindex;
	char name[IFNAMSIZ];
	bool netkit;
	bool ingress, egress;   /* a clsact (both) or ingress (ingress only) qdisc */
};

/* filters that are not BPF programs, counted per hook */
struct hook_extra {
	int ifindex;
	enum tc_dir dir;
	int n;
};

struct coll {
	struct tcprog *v;
	int *seq;               /* order of discovery: the last sort key */
	int n, cap;
	struct link *links;
	int nlinks, linkcap;
	struct hook_extra *extra;
	int nextra;
	int family;             /* of the route dump under way */
};

static struct tcprog *add(struct coll *c, enum tc_kind kind, enum tc_dir dir, int ifindex)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
		c->seq = xrealloc(c->seq, c->cap * sizeof(*c->seq));
	}
	struct tcprog *p = &c->v[c->n];
	memset(p, 0, sizeof(*p));
	c->seq[c->n] = c->n;
	c->n++;
	p->kind = kind;
	p->dir = dir;
	p->ifindex = ifindex;
	for (int i = 0; ifindex && i < c->nlinks; i++)
		if (c->links[i].ifindex == ifindex)
			snprintf(p->ifname, sizeof(p->ifname), "%s", c->links[i].name);
	return p;
}

static void count_extra(struct coll *c, int ifindex, enum tc_dir dir)
{
	for (int i = 0; i < c->nextra; i++)
		if (c->extra[i].ifindex == ifindex && c->extra[i].dir == dir) {
			c->extra[i].n++;
			return;
		}
	c->extra = xrealloc(c->extra, (c->nextra + 1) * sizeof(*c->extra));
	c->extra[c->nextra++] = (struct hook_extra){ ifindex, dir, 1 };
}

/* A string attribute, NUL-terminated within its payload, or NULL. */
static const char *attr_str(const struct rtattr *a)
{
	if (!a || !RTA_PAYLOAD(a))
		return NULL;
	const char *s = RTA_DATA(a);
	return memchr(s, '\0', RTA_PAYLOAD(a)) ? s : NULL;
}

static bool attr_u32(const struct rtattr *a, uint32_t *v)
{
	if (!a || RTA_PAYLOAD(a) < sizeof(*v))
		return false;
	memcpy(v, RTA_DATA(a), sizeof(*v));
	return true;
}

/* ---- interfaces and their qdiscs ------------------------------------------------ */

static int on_link(const struct nlmsghdr *nh, void *ctx)
{
	struct coll *c = ctx;
	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	rtnl_msg_attrs(tb, IFLA_MAX, nh, sizeof(*ifi));
	const char *name = attr_str(tb[IFLA_IFNAME]);
	if (!name)
		return 0;
	if (c->nlinks == c->linkcap) {
		c->linkcap = c->linkcap ? c->linkcap * 2 : 16;
		c->links = xrealloc(c->links, c->linkcap * sizeof(*c->links));
	}
	struct link *l = &c->links[c->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	snprintf(l->name, sizeof(l->name), "%s", name);
	if (tb[IFLA_LINKINFO]) {
		rtnl_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), (int)RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		const char *kind = attr_str(li[IFLA_INFO_KIND]);
		l->netkit = kind && !strcmp(kind, "netkit");
	}
	return 0;
}

static int on_qdisc(const struct nlmsghdr *nh, void *ctx)
{
	struct coll *c = ctx;
	if (nh->nlmsg_type != RTM_NEWQDISC || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
		return 0;
	const struct tcmsg *t = NLMSG_DATA(nh);
	struct rtattr *tb[TCA_MAX + 1];
	rtnl_msg_attrs(tb, TCA_MAX, nh, sizeof(*t));
	const char *kind = attr_str(tb[TCA_KIND]);
	if (!kind || t->tcm_parent != TC_H_INGRESS)
		return 0;
	bool clsact = !strcmp(kind, "clsact");
	if (!clsact && strcmp(kind, "ingress"))
		return 0;
	for (int i = 0; i < c->nlinks; i++)
		if (c->links[i].ifindex == t->tcm_ifindex) {
			c->links[i].ingress = true;
			c->links[i].egress |= clsact;
		}
	return 0;
}

/* ---- cls_bpf: a filter dump per interface and direction -------------------------- */

struct fctx {
	struct coll *c;
	int ifindex;
	enum tc_dir dir;
};

static int on_filter(const struct nlmsghdr *nh, void *ctx)
{
	struct fctx *f = ctx;
	if (nh->nlmsg_type != RTM_NEWTFILTER || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
		return 0;
	const struct tcmsg *t = NLMSG_DATA(nh);
	struct rtattr *tb[TCA_MAX + 1], *opt[TCA_BPF_MAX + 1];
	rtnl_msg_attrs(tb, TCA_MAX, nh, sizeof(*t));
	const char *kind = attr_str(tb[TCA_KIND]);
	/* handle 0: the classifier instance itself (one per priority and
	 * protocol), dumped before its filters */
	if (!kind || !t->tcm_handle)
		return 0;
	uint32_t id = 0, flags = 0;
	if (!strcmp(kind, "bpf") && tb[TCA_OPTIONS]) {
		rtnl_attrs(opt, TCA_BPF_MAX, RTA_DATA(tb[TCA_OPTIONS]), (int)RTA_PAYLOAD(tb[TCA_OPTIONS]));
		attr_u32(opt[TCA_BPF_ID], &id);
		attr_u32(opt[TCA_BPF_FLAGS], &flags);
	}
	if (!id) {
		/* u32 dumps its hash tables as nodes too: those are not filters */
		if (strcmp(kind, "u32") || TC_U32_NODE(t->tcm_handle))
			count_extra(f->c, f->ifindex, f->dir);
		return 0; /* classic BPF (TCA_BPF_OPS) lands here too: no program id */
	}
	struct tcprog *p = add(f->c, TCK_CLS_BPF, f->dir, f->ifindex);
	p->prog_id = id;
	p->direct_action = flags & TCA_BPF_FLAG_ACT_DIRECT;
	p->pref = TC_H_MAJ(t->tcm_info) >> 16;
	p->handle = t->tcm_handle;
	return 0;
}

static void dump_filters(struct coll *c, int fd, int ifindex, enum tc_dir dir)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.t.tcm_family = AF_UNSPEC;
	req.t.tcm_ifindex = ifindex;
	req.t.tcm_parent = TC_H_MAKE(TC_H_CLSACT, dir == TCD_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
	struct fctx f = { c, ifindex, dir };
	rtnl_dump_req(fd, &req.nh, on_filter, &f); /* the qdisc may go meanwhile: nothing then */
}

/* ---- tcx and netkit: BPF_PROG_QUERY with link ids ------------------------------- */

/* The query member of union bpf_attr as Linux 6.6 extended it (Debian 12's
 * uapi header stops before link_ids). */
struct query_attr {
	uint32_t target;
	uint32_t attach_type;
	uint32_t query_flags;
	uint32_t attach_flags;
	uint64_t prog_ids;
	uint32_t count;
	uint32_t pad;
	uint64_t prog_attach_flags;
	uint64_t link_ids;
	uint64_t link_attach_flags;
	uint64_t revision;
};

static void query(struct coll *c, int ifindex, uint32_t type, enum tc_kind kind, enum tc_dir dir)
{
	uint32_t cap = 16;
	for (;;) {
		uint32_t *progs = xcalloc(cap, sizeof(uint32_t)), *links = xcalloc(cap, sizeof(uint32_t));
		struct query_attr q;
		memset(&q, 0, sizeof(q));
		q.target = (uint32_t)ifindex;
		q.attach_type = type;
		q.prog_ids = (uint64_t)(uintptr_t)progs;
		q.link_ids = (uint64_t)(uintptr_t)links;
		q.count = cap;
		long r = syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof(q));
		if (r && errno == ENOSPC && q.count > cap && cap < 65536) {
			cap = q.count;
			free(progs);
			free(links);
			continue;
		}
		/* EINVAL: no such attach type on this kernel; ENXIO: not a netkit
		 * device; EACCES: a netkit peer (its programs are queried on the
		 * primary) */
		for (uint32_t k = 0; !r && k < q.count && k < cap; k++) {
			struct tcprog *p = add(c, kind, dir, ifindex);
			p->prog_id = progs[k];
			p->link_id = links[k];
		}
		free(progs);
		free(links);
		return;
	}
}

/* ---- LWT: routes of every table ---------------------------------------------------- */

void tcdisc_table_name(uint32_t table, char *buf, size_t len)
{
	switch (table) {
	case RT_TABLE_MAIN: snprintf(buf, len, "main"); break;
	case RT_TABLE_LOCAL: snprintf(buf, len, "local"); break;
	case RT_TABLE_DEFAULT: snprintf(buf, len, "default"); break;
	default: snprintf(buf, len, "%u", table); break;
	}
}

void tcdisc_route_str(int family, const void *addr, int prefixlen, uint32_t table, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "", t[16];
	int full = family == AF_INET6 ? 128 : 32;
	tcdisc_table_name(table, t, sizeof(t));
	if (!prefixlen || !addr || !inet_ntop(family, addr, a, sizeof(a)))
		snprintf(buf, len, "default table %s", t);
	else if (prefixlen == full)
		snprintf(buf, len, "%s table %s", a, t);
	else
		snprintf(buf, len, "%s/%d table %s", a, prefixlen, t);
}

static void add_lwt(struct coll *c, const char *route, int oif, const struct rtattr *encap)
{
	static const struct { int attr; enum tc_dir dir; } hooks[] = {
		{ LWT_BPF_IN, TCD_LWT_IN }, { LWT_BPF_OUT, TCD_LWT_OUT }, { LWT_BPF_XMIT, TCD_LWT_XMIT },
	};
	struct rtattr *tb[LWT_BPF_MAX + 1], *pb[LWT_BPF_PROG_MAX + 1];
	rtnl_attrs(tb, LWT_BPF_MAX, RTA_DATA(encap), (int)RTA_PAYLOAD(encap));
	for (size_t h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
		const struct rtattr *a = tb[hooks[h].attr];
		if (!a)
			continue;
		rtnl_attrs(pb, LWT_BPF_PROG_MAX, RTA_DATA(a), (int)RTA_PAYLOAD(a));
		const char *name = attr_str(pb[LWT_BPF_PROG_NAME]);
		struct tcprog *p = add(c, TCK_LWT, hooks[h].dir, oif);
		snprintf(p->route, sizeof(p->route), "%s", route);
		snprintf(p->lwt_name, sizeof(p->lwt_name), "%s", name ? name : "");
	}
}

static bool is_bpf_encap(const struct rtattr *type, const struct rtattr *encap)
{
	uint16_t t;
	if (!type || !encap || RTA_PAYLOAD(type) < sizeof(t))
		return false;
	memcpy(&t, RTA_DATA(type), sizeof(t));
	return t == LWTUNNEL_ENCAP_BPF;
}

static int on_route(const struct nlmsghdr *nh, void *ctx)
{
	struct coll *c = ctx;
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *r = NLMSG_DATA(nh);
	struct rtattr *tb[RTA_MAX + 1];
	rtnl_msg_attrs(tb, RTA_MAX, nh, sizeof(*r));
	/* a kernel without IPv6 answers an AF_INET6 dump with every family's */
	if (r->rtm_family != c->family)
		return 0;
	bool mp = tb[RTA_MULTIPATH] != NULL;
	if (!is_bpf_encap(tb[RTA_ENCAP_TYPE], tb[RTA_ENCAP]) && !mp)
		return 0;
	uint32_t table = r->rtm_table, oif = 0;
	attr_u32(tb[RTA_TABLE], &table);
	attr_u32(tb[RTA_OIF], &oif);
	size_t alen = r->rtm_family == AF_INET6 ? 16 : 4;
	const void *dst = tb[RTA_DST] && RTA_PAYLOAD(tb[RTA_DST]) >= alen ? RTA_DATA(tb[RTA_DST]) : NULL;
	char route[160];
	tcdisc_route_str(r->rtm_family, dst, r->rtm_dst_len, table, route, sizeof(route));
	if (is_bpf_encap(tb[RTA_ENCAP_TYPE], tb[RTA_ENCAP]))
		add_lwt(c, route, (int)oif, tb[RTA_ENCAP]);
	if (!mp)
		return 0;
	/* multipath: each nexthop has its own device and encapsulation */
	const struct rtnexthop *n = RTA_DATA(tb[RTA_MULTIPATH]);
	int len = (int)RTA_PAYLOAD(tb[RTA_MULTIPATH]);
	while (len >= (int)sizeof(*n) && n->rtnh_len >= sizeof(*n) && n->rtnh_len <= len) {
		struct rtattr *ntb[RTA_MAX + 1];
		rtnl_attrs(ntb, RTA_MAX, RTNH_DATA(n), (int)(n->rtnh_len - RTNH_LENGTH(0)));
		if (is_bpf_encap(ntb[RTA_ENCAP_TYPE], ntb[RTA_ENCAP]))
			add_lwt(c, route, n->rtnh_ifindex, ntb[RTA_ENCAP]);
		len -= RTNH_ALIGN(n->rtnh_len);
		n = RTNH_NEXT(n);
	}
	return 0;
}

static uint32_t lwt_type(enum tc_dir dir)
{
	return dir == TCD_LWT_IN ? BPF_PROG_TYPE_LWT_IN : dir == TCD_LWT_OUT ? BPF_PROG_TYPE_LWT_OUT
									   : BPF_PROG_TYPE_LWT_XMIT;
}

int tcdisc_lwt_match(const struct tcdisc_prog *progs, int n, enum tc_dir dir, const char *lwt_name,
		     uint32_t *id)
{
	char full[16] = "", sect[16] = "";
	uint32_t type = lwt_type(dir);
	/* the kernel keeps at most 15 characters of a program's name */
	snprintf(full, sizeof(full), "%s", lwt_name);
	const char *o = strstr(lwt_name, ":["), *e = o ? strrchr(o, ']') : NULL;
	if (o && e && e[1] == '\0' && e > o + 2)
		snprintf(sect, sizeof(sect), "%.*s", (int)(e - o - 2), o + 2);
	for (int pass = 0; pass < 3; pass++) {
		const char *want = pass == 0 ? full : sect;
		int cnt = 0;
		uint32_t last = 0;
		if (pass < 2 && !*want)
			continue;
		for (int i = 0; i < n; i++) {
			if (progs[i].type != type || (pass < 2 && strcmp(progs[i].name, want)))
				continue;
			cnt++;
			last = progs[i].id;
		}
		if (cnt || pass == 2) {
			*id = cnt == 1 ? last : 0;
			return cnt;
		}
	}
	*id = 0;
	return 0;
}

/* Loaded programs of the LWT types (all of them: programs are not per
 * namespace). Count; *out malloc'd. */
static int lwt_progs(struct tcdisc_prog **out)
{
	uint32_t *ids = NULL;
	int n = bpfobj_ids(OBJ_PROG, &ids), k = 0;
	*out = NULL;
	if (n <= 0)
		return 0;
	*out = xcalloc(n, sizeof(**out));
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info info;
		int fd = bpfobj_prog_open(ids[i], &info);
		if (fd < 0)
			continue; /* unloaded meanwhile */
		close(fd);
		if (info.type != BPF_PROG_TYPE_LWT_IN && info.type != BPF_PROG_TYPE_LWT_OUT &&
		    info.type != BPF_PROG_TYPE_LWT_XMIT)
			continue;
		(*out)[k].id = info.id;
		(*out)[k].type = info.type;
		memcpy((*out)[k].name, info.name, sizeof((*out)[k].name));
		(*out)[k].name[sizeof((*out)[k].name) - 1] = '\0';
		k++;
	}
	free(ids);
	return k;
}

/* ---- all of it ---------------------------------------------------------------- */

static struct coll *sort_coll;

static int cmp_prog(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	const struct tcprog *x = &sort_coll->v[i], *y = &sort_coll->v[j];
	if (x->ifindex != y->ifindex)
		return x->ifindex < y->ifindex ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->handle != y->handle)
		return x->handle < y->handle ? -1 : 1;
	int r = strcmp(x->route, y->route);
	if (r)
		return r;
	return sort_coll->seq[i] < sort_coll->seq[j] ? -1 : sort_coll->seq[i] > sort_coll->seq[j];
}

int tcdisc_collect(struct tcprog **out)
{
	struct coll c;
	int fd = rtnl_open(), err;
	*out = NULL;
	if (fd < 0)
		return fd;
	memset(&c, 0, sizeof(c));
	if ((err = rtnl_dump(fd, RTM_GETLINK, AF_UNSPEC, on_link, &c))) {
		close(fd);
		free(c.links);
		return err;
	}
	/* only interfaces with a clsact or ingress qdisc can have filters; if
	 * the qdiscs cannot be listed, every interface is asked */
	if (rtnl_dump(fd, RTM_GETQDISC, AF_UNSPEC, on_qdisc, &c))
		for (int i = 0; i < c.nlinks; i++)
			c.links[i].ingress = c.links[i].egress = true;
	for (int i = 0; i < c.nlinks; i++) {
		const struct link *l = &c.links[i];
		if (l->ingress)
			dump_filters(&c, fd, l->ifindex, TCD_INGRESS);
		if (l->egress)
			dump_filters(&c, fd, l->ifindex, TCD_EGRESS);
		query(&c, l->ifindex, TCD_TCX_INGRESS, TCK_TCX, TCD_INGRESS);
		query(&c, l->ifindex, TCD_TCX_EGRESS, TCK_TCX, TCD_EGRESS);
		if (l->netkit) {
			query(&c, l->ifindex, TCD_NETKIT_PRIMARY, TCK_NETKIT, TCD_PRIMARY);
			query(&c, l->ifindex, TCD_NETKIT_PEER, TCK_NETKIT, TCD_PEER);
		}
	}
	int first_lwt = c.n;
	c.family = AF_INET;
	err = rtnl_dump(fd, RTM_GETROUTE, AF_INET, on_route, &c);
	c.family = AF_INET6;
	if (!err)
		err = rtnl_dump(fd, RTM_GETROUTE, AF_INET6, on_route, &c);
	if (err) {
		close(fd);
		free(c.links);
		free(c.extra);
		free(c.seq);
		free(c.v);
		return err;
	}
	close(fd);

	/* LWT: from the name the route carries to a loaded program */
	if (c.n > first_lwt) {
		struct tcdisc_prog *progs;
		int np = lwt_progs(&progs);
		for (int i = first_lwt; i < c.n; i++) {
			struct tcprog *p = &c.v[i];
			p->candidates = tcdisc_lwt_match(progs, np, p->dir, p->lwt_name, &p->prog_id);
			for (int k = 0; p->prog_id && k < np; k++)
				if (progs[k].id == p->prog_id)
					memcpy(p->prog_name, progs[k].name, sizeof(p->prog_name));
		}
		free(progs);
	}
	/* names of the others, and who shares their hook */
	for (int i = 0; i < first_lwt; i++) {
		struct tcprog *p = &c.v[i];
		for (int k = 0; k < i && !*p->prog_name; k++)
			if (c.v[k].prog_id == p->prog_id)
				memcpy(p->prog_name, c.v[k].prog_name, sizeof(p->prog_name));
		if (!*p->prog_name) {
			struct bpf_prog_info info;
			int pfd = bpfobj_prog_open(p->prog_id, &info);
			if (pfd >= 0) {
				memcpy(p->prog_name, info.name, sizeof(p->prog_name));
				p->prog_name[sizeof(p->prog_name) - 1] = '\0';
				close(pfd);
			}
		}
		for (int k = 0; k < first_lwt; k++)
			p->others_on_hook += k != i && c.v[k].ifindex == p->ifindex && c.v[k].dir == p->dir;
		for (int k = 0; k < c.nextra; k++)
			if (c.extra[k].ifindex == p->ifindex && c.extra[k].dir == p->dir)
				p->others_on_hook += c.extra[k].n;
	}
	free(c.links);
	free(c.extra);

	if (!c.n) {
		free(c.v);
		free(c.seq);
		return 0;
	}
	int *order = xcalloc(c.n, sizeof(int));
	for (int i = 0; i < c.n; i++)
		order[i] = i;
	sort_coll = &c;
	qsort(order, c.n, sizeof(int), cmp_prog);
	sort_coll = NULL;
	struct tcprog *v = xcalloc(c.n, sizeof(*v));
	for (int i = 0; i < c.n; i++)
		v[i] = c.v[order[i]];
	free(order);
	free(c.v);
	free(c.seq);
	*out = v;
	return c.n;
}

/* ---- act_mirred ------------------------------------------------------------------ */

struct mctx {
	struct tcmirred *v;
	int n, cap;
};

static void parse_stats(struct tcmirred *m, const struct rtattr *stats)
{
	struct rtattr *st[TCA_STATS_MAX + 1];
	rtnl_attrs(st, TCA_STATS_MAX, RTA_DATA(stats), (int)RTA_PAYLOAD(stats));
	/* struct gnet_stats_basic: __u64 bytes, __u32 packets */
	if (st[TCA_STATS_BASIC] && RTA_PAYLOAD(st[TCA_STATS_BASIC]) >= 12) {
		uint32_t pk;
		memcpy(&m->bytes, RTA_DATA(st[TCA_STATS_BASIC]), 8);
		memcpy(&pk, (const char *)RTA_DATA(st[TCA_STATS_BASIC]) + 8, 4);
		m->packets = pk;
	}
	if (st[TCA_STATS_PKT64] && RTA_PAYLOAD(st[TCA_STATS_PKT64]) >= 8)
		memcpy(&m->packets, RTA_DATA(st[TCA_STATS_PKT64]), 8);
	if (st[TCA_STATS_QUEUE] && RTA_PAYLOAD(st[TCA_STATS_QUEUE]) >= sizeof(struct gnet_stats_queue)) {
		struct gnet_stats_queue q;
		memcpy(&q, RTA_DATA(st[TCA_STATS_QUEUE]), sizeof(q));
		m->drops = q.drops;
		m->overlimits = q.overlimits;
	}
}

static void parse_action(struct mctx *c, const struct rtattr *act)
{
	struct rtattr *tb[TCA_ACT_MAX + 1], *opt[TCA_MIRRED_MAX + 1];
	rtnl_attrs(tb, TCA_ACT_MAX, RTA_DATA(act), (int)RTA_PAYLOAD(act));
	const char *kind = attr_str(tb[TCA_ACT_KIND]);
	if (!kind || strcmp(kind, "mirred") || !tb[TCA_ACT_OPTIONS])
		return;
	rtnl_attrs(opt, TCA_MIRRED_MAX, RTA_DATA(tb[TCA_ACT_OPTIONS]), (int)RTA_PAYLOAD(tb[TCA_ACT_OPTIONS]));
	if (!opt[TCA_MIRRED_PARMS] || RTA_PAYLOAD(opt[TCA_MIRRED_PARMS]) < sizeof(struct tc_mirred))
		return;
	struct tc_mirred parms;
	memcpy(&parms, RTA_DATA(opt[TCA_MIRRED_PARMS]), sizeof(parms));
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	struct tcmirred *m = &c->v[c->n++];
	memset(m, 0, sizeof(*m));
	m->index = parms.index;
	m->eaction = parms.eaction;
	m->ifindex = (int)parms.ifindex;
	m->action = parms.action;
	m->refcnt = (uint32_t)parms.refcnt;
	m->bindcnt = (uint32_t)parms.bindcnt;
	if (m->ifindex && !if_indextoname((unsigned)m->ifindex, m->target))
		m->target[0] = '\0';
	if (tb[TCA_ACT_STATS])
		parse_stats(m, tb[TCA_ACT_STATS]);
}

static int on_action(const struct nlmsghdr *nh, void *ctx)
{
	/* a dump answers with the request's type */
	if ((nh->nlmsg_type != RTM_GETACTION && nh->nlmsg_type != RTM_NEWACTION) ||
	    nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcamsg)))
		return 0;
	struct rtattr *tb[TCA_ROOT_MAX + 1];
	rtnl_msg_attrs(tb, TCA_ROOT_MAX, nh, sizeof(struct tcamsg));
	if (!tb[TCA_ROOT_TAB])
		return 0;
	/* the table: one nest per action, numbered from 1 */
	const struct rtattr *a = RTA_DATA(tb[TCA_ROOT_TAB]);
	int len = (int)RTA_PAYLOAD(tb[TCA_ROOT_TAB]);
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		parse_action(ctx, a);
	return 0;
}

static int cmp_mirred(const void *a, const void *b)
{
	const struct tcmirred *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

int tcdisc_mirred(struct tcmirred **out)
{
	struct {
		struct nlmsghdr nh;
		struct tcamsg t;
		char attrs[128];
	} req;
	static const char kind[] = "mirred";
	struct nla_bitfield32 flags = { TCA_ACT_FLAG_LARGE_DUMP_ON, TCA_ACT_FLAG_LARGE_DUMP_ON };
	*out = NULL;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcamsg));
	req.nh.nlmsg_type = RTM_GETACTION;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.t.tca_family = AF_UNSPEC;
	struct rtattr *tab = rtnl_nest_begin(&req.nh, sizeof(req), TCA_ACT_TAB);
	struct rtattr *one = rtnl_nest_begin(&req.nh, sizeof(req), 1);
	rtnl_add_attr(&req.nh, sizeof(req), TCA_ACT_KIND, kind, sizeof(kind));
	rtnl_nest_end(&req.nh, one);
	rtnl_nest_end(&req.nh, tab);
	rtnl_add_attr(&req.nh, sizeof(req), TCA_ROOT_FLAGS, &flags, sizeof(flags));

	int fd = rtnl_open();
	if (fd < 0)
		return fd;
	struct mctx c = { 0 };
	int err = rtnl_dump_req(fd, &req.nh, on_action, &c);
	close(fd);
	if (err) {
		free(c.v);
		return err;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), cmp_mirred);
	*out = c.v;
	return c.n;
}
