// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/tc_act/tc_mirred.h>

#include "bpfobj.h"
#include "mapread.h"
#include "opts.h"
#include "progwatch.h"
#include "tcdisc.h"
#include "util.h"
#include "tv.h"
#include "tvrows.h"
#include "tcverdict.skel.h"

/* One row: a program at one attachment (or one LWT route). */
struct row {
	uint32_t netns;
	struct tcprog p;
	enum source src;
	int shared;               /* lwt: other routes of this namespace running the same program */
	bool seen;
	uint64_t prev[TV_NSLOTS]; /* totals at the last snapshot, for rates */
	double prev_t;
	bool have_prev;
};
static struct row *rows;
static int nrows;

/* One mirred action: the kernel's totals; the previous ones for rates. */
struct mrow {
	uint32_t netns;
	struct tcmirred m;
	uint64_t prev;
	double prev_t;
	bool have_prev, seen;
};
static struct mrow *mrows;
static int nmrows;

/* Interface names per namespace (redirect targets, -I). */
struct ifnames {
	struct if_nameindex *v;
};
static struct ifnames *ifn;

/* Previous redirect totals, for rates. */
struct rprev {
	struct tv_rkey k;
	uint64_t n;
	double t;
};
static struct rprev *rprevs;
static int nrprevs;

static const char *ifname_in(uint32_t netns, uint32_t ifindex)
{
	int i = nsset_find(&nss, netns);
	for (int k = 0; i >= 0 && ifn[i].v && ifn[i].v[k].if_index; k++)
		if (ifn[i].v[k].if_index == ifindex)
			return ifn[i].v[k].if_name;
	return NULL;
}

static bool iface_known(const char *name)
{
	for (int i = 0; i < nss.n; i++)
		for (int k = 0; ifn[i].v && ifn[i].v[k].if_index; k++)
			if (!strcmp(ifn[i].v[k].if_name, name))
				return true;
	return false;
}

/* ---- choosing a mechanism ------------------------------------------- */

static void choose_source(struct row *r, bool strict)
{
	const char *why = NULL;
	char where[256];
	snprintf(where, sizeof(where), "program %u (%s %s %s)", r->p.prog_id, tc_kind_name(r->p.kind),
		 r->p.kind == TCK_LWT ? r->p.route : r->p.ifname, tc_dir_name(r->p.dir));

	if (to.forced != SRC_DROP_REASON) {
		if (!hook_active(&hooks[H_FEXIT]))
			why = hooks[H_FEXIT].why[0] ? hooks[H_FEXIT].why : "not requested";
		else if (!r->p.prog_id)
			why = r->p.candidates > 1 ? "the route's program name matches several loaded programs"
						  : "no loaded program matches the route's program name";
		else if (!progwatch_add(watch, r->p.prog_id, &why)) {
			r->src = SRC_FEXIT;
			return;
		}
		if (to.forced == SRC_FEXIT) {
			if (strict)
				die(EXIT_NOFEATURE, "--mechanism fexit is unavailable for %s: %s (try without --mechanism)",
				    where, why);
			warnx_("fexit unavailable for %s (%s): not counted", where, why);
			r->src = SRC_NONE;
			return;
		}
		note("%s: no fexit (%s)", where, why);
	}
	r->src = SRC_NONE;
	if (r->p.kind == TCK_LWT || r->p.kind == TCK_NETKIT)
		note("%s: its drops carry no TC drop reason: not counted", where);
	else if (r->p.others_on_hook)
		note("%s: %d other filters or programs share the hook: its drops cannot be told apart", where,
		     r->p.others_on_hook);
	else if (drop_reasons_on())
		r->src = SRC_DROP_REASON;
}

/* ---- rows ----------------------------------------------------------- */

static bool same_attachment(const struct row *r, uint32_t netns, const struct tcprog *p)
{
	return r->netns == netns && r->p.kind == p->kind && r->p.dir == p->dir && r->p.ifindex == p->ifindex &&
	       r->p.prog_id == p->prog_id && r->p.pref == p->pref && r->p.handle == p->handle &&
	       !strcmp(r->p.route, p->route);
}

static bool wanted(const struct tcprog *p)
{
	if (copts.iface && strcmp(copts.iface, p->ifname))
		return false;
	return !to.prog_id || p->prog_id == to.prog_id;
}

static void mirred_found(uint32_t netns, const struct tcmirred *m)
{
	if (to.prog_id || (copts.iface && strcmp(copts.iface, m->target)))
		return;
	for (int i = 0; i < nmrows; i++) {
		if (mrows[i].netns == netns && mrows[i].m.index == m->index) {
			mrows[i].m = *m;
			mrows[i].seen = true;
			return;
		}
	}
	mrows = xrealloc(mrows, (nmrows + 1) * sizeof(*mrows));
	mrows[nmrows++] = (struct mrow){ .netns = netns, .m = *m, .seen = true };
}

void rows_discover(bool strict)
{
	bool any = false;

	if (!ifn)
		ifn = xcalloc(nss.n, sizeof(*ifn));
	for (int i = 0; i < nrows; i++)
		rows[i].seen = false;
	for (int i = 0; i < nmrows; i++)
		mrows[i].seen = false;
	for (int i = 0; i < nss.n; i++) {
		struct tcprog *v = NULL;
		struct tcmirred *mv = NULL;
		nsset_enter(&nss, i);
		if (ifn[i].v)
			if_freenameindex(ifn[i].v);
		ifn[i].v = if_nameindex();
		int n = tcdisc_collect(&v);
		int m = tcdisc_mirred(&mv);
		nsset_leave(&nss, i);
		const char *nsname = nss.v[i].name[0] ? nss.v[i].name : "this namespace";
		if (n < 0)
			die_errno(n, "CAP_NET_ADMIN", "cannot list the TC programs of %s", nsname);
		if (m < 0 && strict)
			note("cannot list the mirred actions of %s: %s", nsname, errno_name(m));
		for (int k = 0; k < n; k++) {
			if (!wanted(&v[k]))
				continue;
			any = true;
			struct row *r = NULL;
			for (int j = 0; j < nrows && !r; j++)
				if (same_attachment(&rows[j], nss.v[i].ino, &v[k]))
					r = &rows[j];
			if (r) {
				r->p = v[k];
				r->seen = true;
				continue;
			}
			rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
			r = &rows[nrows++];
			memset(r, 0, sizeof(*r));
			r->netns = nss.v[i].ino;
			r->p = v[k];
			r->seen = true;
			choose_source(r, strict);
		}
		for (int k = 0; k < m; k++)
			mirred_found(nss.v[i].ino, &mv[k]);
		free(v);
		free(mv);
	}
	if (strict && copts.iface && !iface_known(copts.iface))
		die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", copts.iface,
		    copts.netns ? " in network namespace " : "", copts.netns ? copts.netns : "");
	if (strict && to.prog_id && !any)
		die(EXIT_NOTFOUND, "program %u is not attached to a TC hook, tcx, netkit or an LWT route%s%s",
		    to.prog_id, copts.netns ? " in network namespace " : "", copts.netns ? copts.netns : "");
	/* forget what went away */
	int j = 0;
	for (int i = 0; i < nrows; i++)
		if (rows[i].seen)
			rows[j++] = rows[i];
	nrows = j;
	j = 0;
	for (int i = 0; i < nmrows; i++)
		if (mrows[i].seen)
			mrows[j++] = mrows[i];
	nmrows = j;
	for (int i = 0; i < nrows; i++) {
		rows[i].shared = 0;
		for (int k = 0; k < nrows; k++)
			rows[i].shared += k != i && rows[k].p.kind == TCK_LWT && rows[i].p.kind == TCK_LWT &&
					  rows[k].netns == rows[i].netns && rows[k].p.prog_id == rows[i].p.prog_id &&
					  rows[k].p.dir == rows[i].p.dir;
		if (rows[i].src == SRC_FEXIT)
			progwatch_use(watch, rows[i].p.prog_id);
	}
	progwatch_sweep(watch);
}

/* The counting maps as last read, summed over the CPUs. */
struct csum { struct tv_key k; struct tv_val v; };
struct rsum { struct tv_rkey k; uint64_t n; };
static struct csum *csums;
static int ncsums;
static struct rsum *rsums;
static int nrsums;

void rows_free(void)
{
	for (int i = 0; ifn && i < nss.n; i++)
		if (ifn[i].v)
			if_freenameindex(ifn[i].v);
	free(ifn);
	free(rows);
	free(mrows);
	free(rprevs);
	free(csums);
	free(rsums);
	csums = NULL;
	rsums = NULL;
	ifn = NULL;
	rows = NULL;
	mrows = NULL;
	rprevs = NULL;
	nrows = nmrows = nrprevs = 0;
}

/* ---- reading -------------------------------------------------------- */


/* Does map key k belong to row r?  fexit keys carry the program; drop
 * reason keys (prog_id 0) the hook. */
static bool key_matches(const struct row *r, const struct tv_key *k)
{
	if (r->p.kind == TCK_NETKIT) /* peer programs run on the peer device, often in another namespace */
		return r->src == SRC_FEXIT && k->prog_id == r->p.prog_id;
	if (k->netns != r->netns)
		return false;
	if (r->src == SRC_DROP_REASON)
		return !k->prog_id && (int)k->ifindex == r->p.ifindex && k->dir == (uint32_t)r->p.dir;
	if (k->prog_id != r->p.prog_id)
		return false;
	switch (r->p.kind) {
	case TCK_LWT: return k->dir == (uint32_t)r->p.dir; /* wherever the route sent it */
	default: return (int)k->ifindex == r->p.ifindex && k->dir == (uint32_t)r->p.dir;
	}
}

/* ---- one snapshot --------------------------------------------------- */

static struct snapshot *vsn;

static void labels(struct record *rec, int base_netns, int base_iface, int dir, int kind, int prog_id, int prog,
		   const struct row *r)
{
	char nb[32];
	struct bpf_prog_info pi;
	rec_str(rec, base_netns, nsset_display(&nss, r->netns, nb, sizeof(nb)));
	rec_str(rec, base_iface, r->p.ifname);
	rec_str(rec, dir, tc_dir_name(r->p.dir));
	rec_str(rec, kind, tc_kind_name(r->p.kind));
	if (r->p.prog_id)
		rec_u64(rec, prog_id, r->p.prog_id);
	if (r->p.prog_name[0]) {
		rec_str(rec, prog, r->p.prog_name);
	} else if (r->p.prog_id) {
		int fd = bpfobj_prog_open(r->p.prog_id, &pi);
		if (fd >= 0) {
			rec_str(rec, prog, pi.name);
			close(fd);
		}
	}
}

static void put_row(struct snapshot *sn, struct row *r, const uint64_t tot[TV_NSLOTS], double now)
{
	bool known[TV_NACT] = {};
	uint64_t packets = 0;
	for (int a = 0; a < TV_NACT; a++) {
		known[a] = r->src == SRC_FEXIT || (r->src == SRC_DROP_REASON && a == TV_SHOT);
		packets += tot[a];
	}
	double dt = r->have_prev ? now - r->prev_t : 0;
	if (sn) {
		struct record *rec = snap_add(sn);
		labels(rec, R_NETNS, R_IFACE, R_DIR, R_KIND, R_PROG_ID, R_PROG, r);
		rec_u64(rec, R_IFINDEX, r->p.ifindex);
		if (r->p.kind == TCK_LWT)
			rec_str(rec, R_ROUTE, r->p.route);
		rec_str(rec, R_SOURCE, source_name(r->src));
		for (int a = 0; a < TV_NACT; a++) {
			if (!known[a])
				continue;
			rec_u64(rec, R_V0 + a, tot[a]);
			if (vsn) {
				struct record *vr = snap_add(vsn);
				labels(vr, VD_NETNS, VD_IFACE, VD_DIR, VD_KIND, VD_PROG_ID, VD_PROG, r);
				if (r->p.kind == TCK_LWT)
					rec_str(vr, VD_ROUTE, r->p.route);
				rec_str(vr, VD_SOURCE, source_name(r->src));
				rec_str(vr, VD_VERDICT, verdict_names[a]);
				rec_u64(vr, VD_PACKETS, tot[a]);
			}
		}
		static const int rated[][2] = { { TV_OK, R_OK_RATE }, { TV_SHOT, R_SHOT_RATE },
						 { TV_REDIRECT, R_REDIRECT_RATE } };
		for (unsigned k = 0; k < sizeof(rated) / sizeof(rated[0]); k++)
			if (known[rated[k][0]] && dt > 0)
				rec_dbl(rec, rated[k][1], counter_rate(tot[rated[k][0]], r->prev[rated[k][0]], dt));
		if (r->src == SRC_FEXIT) {
			rec_u64(rec, R_PACKETS, packets);
			if (hooks[H_REDIR_ERR].link)
				rec_u64(rec, R_REDIR_ERR, tot[TV_REDIR_ERR]);
			uint64_t prevp = 0;
			for (int a = 0; a < TV_NACT; a++)
				prevp += r->prev[a];
			if (dt > 0)
				rec_dbl(rec, R_PACKETS_RATE, counter_rate(packets, prevp, dt));
		}
	}
	memcpy(r->prev, tot, sizeof(r->prev));
	r->prev_t = now;
	r->have_prev = true;
}

/* A redirect key's rate since the last snapshot; a key seen for the first
 * time counted from 0 at the row's last snapshot (since) or has none. */
static double redirect_rate(const struct tv_rkey *k, uint64_t n, double now, double since, bool print)
{
	for (int i = 0; i < nrprevs; i++) {
		if (memcmp(&rprevs[i].k, k, sizeof(*k)))
			continue;
		double rate = now > rprevs[i].t ? counter_rate(n, rprevs[i].n, now - rprevs[i].t) : -1;
		rprevs[i].n = n;
		rprevs[i].t = now;
		return print ? rate : -1;
	}
	rprevs = xrealloc(rprevs, (nrprevs + 1) * sizeof(*rprevs));
	rprevs[nrprevs++] = (struct rprev){ .k = *k, .n = n, .t = now };
	return print && since > 0 && now > since ? counter_rate(n, 0, now - since) : -1;
}

static void put_redirects(struct snapshot *sn, const struct row *r, double now)
{
	for (int i = 0; i < nrsums; i++) {
		const struct rsum *s = &rsums[i];
		if (!key_matches(r, &s->k.k))
			continue;
		double rate = redirect_rate(&s->k, s->n, now, r->have_prev ? r->prev_t : 0, sn != NULL);
		if (!sn)
			continue;
		struct record *rec = snap_add(sn);
		char tb[40];
		const char *tn = ifname_in(r->netns, s->k.tgt_ifindex);
		labels(rec, RD_NETNS, RD_IFACE, RD_DIR, RD_KIND, RD_PROG_ID, RD_PROG, r);
		snprintf(tb, sizeof(tb), "ifindex %u", s->k.tgt_ifindex);
		rec_str(rec, RD_TARGET, tn && !(s->k.flags & TV_RF_PEER) ? tn : tb);
		rec_u64(rec, RD_TARGET_IFINDEX, s->k.tgt_ifindex);
		rec_str(rec, RD_TARGET_DIR, s->k.flags & (TV_RF_INGRESS | TV_RF_PEER) ? "ingress" : "egress");
		rec_str(rec, RD_VIA, s->k.flags & TV_RF_PEER ? "peer" : s->k.flags & TV_RF_NEIGH ? "neigh" : "redirect");
		rec_u64(rec, RD_PACKETS, s->n);
		if (rate >= 0)
			rec_dbl(rec, RD_RATE, rate);
	}
}

static void put_mirred(struct snapshot *sn, struct mrow *m, double now)
{
	if (sn) {
		char nb[32];
		struct record *rec = snap_add(sn);
		int ea = m->m.eaction;
		rec_str(rec, M_NETNS, nsset_display(&nss, m->netns, nb, sizeof(nb)));
		rec_u64(rec, M_INDEX, m->m.index);
		rec_str(rec, M_ACTION, ea == TCA_EGRESS_MIRROR || ea == TCA_INGRESS_MIRROR ? "mirror" : "redirect");
		rec_str(rec, M_TARGET_DIR, ea == TCA_INGRESS_REDIR || ea == TCA_INGRESS_MIRROR ? "ingress" : "egress");
		rec_str(rec, M_TARGET, m->m.target);
		rec_u64(rec, M_TARGET_IFINDEX, (uint64_t)m->m.ifindex);
		rec_u64(rec, M_PACKETS, m->m.packets);
		rec_u64(rec, M_BYTES, m->m.bytes);
		rec_u64(rec, M_DROPS, m->m.drops);
		rec_u64(rec, M_OVERLIMITS, m->m.overlimits);
		if (m->have_prev && now > m->prev_t)
			rec_dbl(rec, M_RATE, counter_rate(m->m.packets, m->prev, now - m->prev_t));
	}
	m->prev = m->m.packets;
	m->prev_t = now;
	m->have_prev = true;
}

int rows_snapshot(bool print)
{
	struct snapshot *sn = print ? snap_begin(&row_schema) : NULL;
	struct snapshot *rsn = print ? snap_begin(&redirect_schema) : NULL;
	struct snapshot *msn = print ? snap_begin(&mirred_schema) : NULL;
	double now = now_mono();
	bool partial = false, none = false, shared = false;

	vsn = print ? snap_begin(&verdict_schema) : NULL;
	if ((ncsums = map_read_percpu_sums(bpf_map__fd(skel->maps.counts), sizeof(*csums), offsetof(struct csum, v),
					   (void **)&csums)) < 0 ||
	    (nrsums = map_read_percpu_sums(bpf_map__fd(skel->maps.redirects), sizeof(*rsums), offsetof(struct rsum, n),
					   (void **)&rsums)) < 0)
		die_errno(ncsums < 0 ? ncsums : nrsums, NULL, "cannot read the verdict counters");
	if (sn)
		snapshot_facts(sn);
	for (int i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		uint64_t tot[TV_NSLOTS] = {};
		for (int k = 0; k < ncsums; k++)
			if (key_matches(r, &csums[k].k))
				for (int a = 0; a < TV_NSLOTS; a++)
					tot[a] += csums[k].v.n[a];
		partial |= r->src == SRC_DROP_REASON;
		none |= r->src == SRC_NONE;
		shared |= r->shared > 0 && r->src == SRC_FEXIT;
		if (r->src == SRC_FEXIT)
			put_redirects(rsn, r, now);
		put_row(sn, r, tot, now);
	}
	for (int i = 0; i < nmrows; i++)
		put_mirred(msn, &mrows[i], now);
	if (!sn)
		return 0;
	char note[384] = "";
	size_t len = 0;
	if (!nrows && !nmrows)
		len += snprintf(note, sizeof(note), "no TC or LWT program and no mirred action%s",
				copts.iface || to.prog_id ? " matches the selection" : " found");
	if (partial)
		len += snprintf(note + len, sizeof(note) - len, "%sdrop_reason: only SHOT is counted, the other "
				"verdicts are unknown (see man tcverdict, MECHANISMS)", len ? "; " : "");
	if (none && len < sizeof(note))
		len += snprintf(note + len, sizeof(note) - len, "%ssource none: no mechanism counts this program on "
				"this kernel", len ? "; " : "");
	if (shared && len < sizeof(note))
		snprintf(note + len, sizeof(note) - len, "%sroutes that share an LWT program show its counts for "
			 "all of them", len ? "; " : "");
	if (note[0])
		snap_meta(sn, "note", "%s", note);
	uint32_t zero = 0;
	uint64_t missed = 0;
	if (map_lookup_percpu_sum(bpf_map__fd(skel->maps.missed), &zero, 1, &missed))
		missed = 0;
	snap_meta_u64(sn, "missed_updates", missed);
	out_set_missed(recursion_misses(NULL));
	snap_append(sn, vsn);
	snap_append(sn, rsn);
	snap_append(sn, msn);
	vsn = NULL;
	return snap_end(sn);
}

/* ---- events --------------------------------------------------------- */

/* A drop reason names the hook, not the program: the hook's only program,
 * if it has one. */
static uint32_t hook_program(const struct tv_event *e)
{
	for (int i = 0; i < nrows; i++)
		if (rows[i].netns == e->netns && rows[i].p.ifindex == (int)e->ifindex &&
		    rows[i].p.dir == (enum tc_dir)e->dir && !rows[i].p.others_on_hook &&
		    (rows[i].p.kind == TCK_CLS_BPF || rows[i].p.kind == TCK_TCX))
			return rows[i].p.prog_id;
	return 0;
}

int tv_on_event(void *ctx, const void *data, size_t size)
{
	const struct tv_event *e = data;
	char nb[32], tb[64], ifname[sizeof(e->ifname) + 1] = {};
	(void)ctx;

	if (size < sizeof(*e) || nsset_find(&nss, e->netns) < 0)
		return 0;
	memcpy(ifname, e->ifname, sizeof(e->ifname));
	uint32_t prog_id = e->prog_id ? e->prog_id : hook_program(e);
	if ((copts.iface && strcmp(copts.iface, ifname)) || (to.prog_id && prog_id != to.prog_id))
		return 0;
	struct record *r = event_new(&event_schema);
	rec_str(r, E_TYPE, e->kind == TV_EV_DROP ? "drop" : "redirect_error");
	rec_str(r, E_NETNS, nsset_display(&nss, e->netns, nb, sizeof(nb)));
	rec_str(r, E_IFACE, ifname);
	rec_u64(r, E_IFINDEX, e->ifindex);
	rec_str(r, E_DIR, tc_dir_name((enum tc_dir)e->dir));
	if (prog_id) {
		struct bpf_prog_info pi;
		int fd = bpfobj_prog_open(prog_id, &pi);
		rec_u64(r, E_PROG_ID, prog_id);
		if (fd >= 0) {
			rec_str(r, E_PROG, pi.name);
			close(fd);
		}
	}
	if (e->verdict >= -1)
		rec_str(r, E_VERDICT, e->verdict == 7 ? "redirect" : e->verdict == 2 ? "shot" : "other");
	if (e->reason)
		rec_str(r, E_REASON, e->dir == TVD_INGRESS ? "TC_INGRESS" : "TC_EGRESS");
	if (e->err)
		rec_str(r, E_ERRNO_NAME, errno_name(e->err));
	if (e->tgt_ifindex) {
		const char *tn = ifname_in(e->netns, e->tgt_ifindex);
		snprintf(tb, sizeof(tb), "%s%sifindex %u %s%s", tn ? tn : "", tn ? " " : "", e->tgt_ifindex,
			 e->tgt_flags & (TV_RF_INGRESS | TV_RF_PEER) ? "ingress" : "egress",
			 e->tgt_flags & TV_RF_PEER ? " peer" : e->tgt_flags & TV_RF_NEIGH ? " neigh" : "");
		rec_str(r, E_TARGET, tb);
	}
	return event_emit(r);
}

int tv_events_idle(void *ctx)
{
	static double last;
	(void)ctx;
	if (now_mono() - last > 2) { /* programs attached since: their fexit copies */
		rows_discover(false);
		last = now_mono();
	}
	return 0;
}
