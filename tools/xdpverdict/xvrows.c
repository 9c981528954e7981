// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "util.h"
#include "xdpmap.h"
#include "xv.h"
#include "xvdisp.h"
#include "xvns.h"
#include "mapread.h"
#include "xvrows.h"
#include "progwatch.h"
#include "xdpverdict.skel.h"

struct stat_ctr {
	enum xdp_role role;
	int queue;
	struct counter_track t;
};

/* One row: an XDP program on an interface (optionally one rx queue). */
struct row {
	int nsi;
	uint32_t netns;
	int ifindex;
	int queue;        /* -1: the whole interface */
	uint32_t prog_id;
	enum xdp_mode_kind mode;
	char ifname[IF_NAMESIZE];
	char driver[32];
	char prog_name[BPF_OBJ_NAME_LEN];
	enum source src;
	const struct xdp_driver_map *dm;
	bool seen;
	/* driver counters, by name, tracked from the row's first reading */
	char (*stat_names)[32];
	struct stat_ctr *stats;
	int nstats;
	/* tracepoint and fexit totals, tracked the same way */
	struct counter_track exc[XV_NACT], redir_ok, redir_err, xmit_drops;
	struct counter_track fx[XV_NACT];
	/* previous totals for rates */
	struct xdp_verdicts prev;
	uint64_t prev_err;
	double prev_t;
	bool have_prev;
};
static struct row *rows;
static int nrows;

/* A component program behind a libxdp dispatcher (xvdisp.c): counted by
 * fexit on the component itself, per interface. */
struct crow {
	uint32_t netns;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t disp_id;
	struct xvd_component c;
	bool conf_known;
	uint32_t prio, mask;  /* from the dispatcher's configuration */
	enum source src;      /* SRC_FEXIT or SRC_NONE */
	char why[256];        /* SRC_NONE: why */
	bool seen;
	struct counter_track fx[XV_NACT];
	/* previous totals for rates: the five verdicts, continued, returned */
	uint64_t prev[XV_NVERDICTS + 2];
	bool prev_known[XV_NVERDICTS + 2];
	double prev_t;
};
static struct crow *crows;
static int ncrows;
static char disp_why[256]; /* dispatchers whose components could not be listed */

/* ---- choosing a mechanism ------------------------------------------- */

static bool tp_attached(void)
{
	return hook_active(&hooks[H_EXCEPTION]);
}

/* xdp_redirect fires for every redirected packet: attached only once a row
 * counts with the tracepoints. */
static void ensure_redirect_tp(void)
{
	struct hook *h = &hooks[H_REDIRECT];
	if (h->link || !hook_active(h) || !tp_attached())
		return;
	h->link = bpf_program__attach(h->prog);
	if (!h->link)
		note("cannot attach xdp_redirect: %s", errno_name(errno));
}

/* Can the driver's counters count this program?  Reads them once. */
static bool driver_usable(struct row *r, const struct xv_ns *n)
{
	struct netdev_stats st;
	bool any = false;

	if (r->mode != XDPM_NATIVE || !r->dm || !r->dm->rules)
		return false;
	if (ethtool_stats_read(n->sock, r->ifname, &st))
		return false;
	for (int i = 0; i < st.n; i++) {
		int q;
		any |= xdpmap_match(r->dm, st.names[i], &q) != XR_NONE;
	}
	ethtool_stats_free(&st);
	return any;
}

/* Pick the row's mechanism; exit when a forced one is impossible and
 * exiting is allowed (at start), else fall back and say why under -v. */
static void choose_source(struct row *r, const struct xv_ns *n, bool strict)
{
	const char *why = NULL;
	char where[64];
	enum source f = xo.forced;
	snprintf(where, sizeof(where), "%s%s%s", r->ifname, n->name[0] ? " in netns " : "", n->name);

	if (f == SRC_NONE || f == SRC_FEXIT) {
		if (!hook_active(&hooks[H_FEXIT])) {
			why = hooks[H_FEXIT].why[0] ? hooks[H_FEXIT].why : "not requested";
		} else if (r->mode == XDPM_OFFLOAD) {
			why = "the program is offloaded to the NIC";
		} else if (!progwatch_add(watch, r->prog_id, &why)) {
			r->src = SRC_FEXIT;
			return;
		}
		if (f == SRC_FEXIT) {
			if (strict)
				die(EXIT_NOFEATURE, "--mechanism fexit is unavailable for %s: %s (try without --mechanism)",
				    where, why);
			warnx_("fexit unavailable for %s (%s): not counted", where, why);
			r->src = SRC_NONE;
			return;
		}
		note("%s: no fexit (%s)", where, why);
	}
	if (f == SRC_NONE || f == SRC_DRIVER) {
		if (driver_usable(r, n)) {
			r->src = SRC_DRIVER;
			return;
		}
		why = r->mode != XDPM_NATIVE ? "driver counters do not count generic or offloaded XDP"
		      : !r->dm ? "the driver is not in xdpverdict's counter table"
		      : !r->dm->rules ? "the driver has no per-verdict XDP counters"
				      : "the driver shows no XDP counters";
		if (f == SRC_DRIVER) {
			if (strict)
				die(EXIT_NOFEATURE, "--mechanism driver is unavailable for %s (driver %s, %s mode): %s "
				    "(try without --mechanism)", where, r->driver[0] ? r->driver : "unknown",
				    xdp_mode_name(r->mode), why);
			warnx_("driver counters unavailable for %s (%s): not counted", where, why);
			r->src = SRC_NONE;
			return;
		}
		note("%s: no driver counters (%s)", where, why);
	}
	r->src = tp_attached() ? SRC_TRACEPOINT : SRC_NONE; /* SRC_NONE: nothing exact at all */
	if (r->src == SRC_TRACEPOINT)
		ensure_redirect_tp();
}

/* ---- rows ----------------------------------------------------------- */

static struct row *row_find(uint32_t netns, int ifindex, uint32_t prog_id, int queue)
{
	for (int i = 0; i < nrows; i++)
		if (rows[i].netns == netns && rows[i].ifindex == ifindex &&
		    rows[i].prog_id == prog_id && rows[i].queue == queue)
			return &rows[i];
	return NULL;
}

static void row_free(struct row *r)
{
	free(r->stat_names);
	free(r->stats);
}

static void row_new(int nsi, const struct netdev *d, int x, bool strict)
{
	struct xv_ns *n = &nss[nsi];
	rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
	struct row *r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->nsi = nsi;
	r->netns = n->ino;
	r->ifindex = d->ifindex;
	r->queue = -1;
	r->prog_id = d->xdp[x].prog_id;
	r->mode = d->xdp[x].mode;
	r->seen = true;
	snprintf(r->ifname, sizeof(r->ifname), "%s", d->name);
	if (ethtool_driver(n->sock, d->name, r->driver, sizeof(r->driver)))
		r->driver[0] = '\0';
	r->dm = xdpmap_driver(r->driver);
	struct bpf_prog_info pi;
	int pfd = bpfobj_prog_open(r->prog_id, &pi);
	if (pfd >= 0) {
		snprintf(r->prog_name, sizeof(r->prog_name), "%s", pi.name);
		close(pfd);
	}
	choose_source(r, n, strict);
	note("%s: program %u (%s) in %s mode, driver %s: counting with %s%s%s", r->ifname, r->prog_id,
	     r->prog_name, xdp_mode_name(r->mode), r->driver[0] ? r->driver : "?",
	     r->src == SRC_NONE ? "nothing" : source_name(r->src), r->src == SRC_DRIVER ? "; " : "",
	     r->src == SRC_DRIVER ? r->dm->derivation : "");
}

/* ---- components behind a libxdp dispatcher --------------------------- */

static struct crow *crow_find(uint32_t netns, int ifindex, uint32_t disp_id, uint32_t prog_id)
{
	for (int i = 0; i < ncrows; i++)
		if (crows[i].netns == netns && crows[i].ifindex == ifindex && crows[i].disp_id == disp_id &&
		    crows[i].c.prog_id == prog_id)
			return &crows[i];
	return NULL;
}

/* A new component: fexit on it where trampolines are in use, else
 * nothing counts it (the driver's counters and the xdp tracepoints only
 * know the dispatcher). */
static void crow_new(const struct row *r, const struct xvd_dispatcher *d, const struct xvd_component *k)
{
	const char *why = NULL;

	crows = xrealloc(crows, (ncrows + 1) * sizeof(*crows));
	struct crow *c = &crows[ncrows++];
	memset(c, 0, sizeof(*c));
	c->netns = r->netns;
	c->ifindex = r->ifindex;
	snprintf(c->ifname, sizeof(c->ifname), "%s", r->ifname);
	c->disp_id = r->prog_id;
	c->c = *k;
	xvdisp_full_name(&c->c);
	c->seen = true;
	c->conf_known = d->conf_known && k->slot >= 0;
	if (c->conf_known) {
		c->prio = d->run_prio[k->slot];
		c->mask = d->chain_actions[k->slot];
	}
	c->src = SRC_NONE;
	if (!hook_active(&hooks[H_FEXIT])) {
		if (hooks[H_FEXIT].off)
			snprintf(c->why, sizeof(c->why), "fexit not used (--mechanism or --events): components are "
				 "counted with fexit only");
		else
			snprintf(c->why, sizeof(c->why), "fexit unavailable on this kernel (%s): components are "
				 "counted with fexit only", hooks[H_FEXIT].why[0] ? hooks[H_FEXIT].why : "not attached");
	} else if (r->mode == XDPM_OFFLOAD) {
		snprintf(c->why, sizeof(c->why), "the dispatcher is offloaded to the NIC");
	} else if (progwatch_add(watch, k->prog_id, &why)) {
		snprintf(c->why, sizeof(c->why), "no fexit on the component: %s", why);
	} else {
		c->src = SRC_FEXIT;
	}
	note("%s: dispatcher %u slot %d: component %u (%s), priority %s%u, chain-call mask 0x%x: counting with %s%s%s",
	     c->ifname, c->disp_id, k->slot, k->prog_id, c->c.name, c->conf_known ? "" : "unknown ", c->prio, c->mask,
	     source_name(c->src), c->src == SRC_NONE ? ": " : "", c->src == SRC_NONE ? c->why : "");
}

/* The components of every dispatcher row (rows already discovered). */
static void components_discover(void)
{
	for (int i = 0; i < ncrows; i++)
		crows[i].seen = false;
	disp_why[0] = '\0';
	xvdisp_scan();
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		struct xvd_dispatcher d;
		if (r->queue >= 0 || !xvdisp_lookup(r->prog_id, r->prog_name, &d))
			continue;
		if (d.why && !disp_why[0])
			snprintf(disp_why, sizeof(disp_why), "components of the dispatcher on %s not listed: %s",
				 r->ifname, d.why);
		for (int k = 0; k < d.ncomp; k++) {
			struct crow *c = crow_find(r->netns, r->ifindex, r->prog_id, d.comp[k].prog_id);
			if (c)
				c->seen = true;
			else
				crow_new(&rows[i], &d, &d.comp[k]);
		}
	}
	xvdisp_sweep();
	int j = 0;
	for (int i = 0; i < ncrows; i++)
		if (crows[i].seen)
			crows[j++] = crows[i];
	ncrows = j;
	for (int i = 0; i < ncrows; i++)
		if (crows[i].src == SRC_FEXIT)
			progwatch_use(watch, crows[i].c.prog_id);
}

void rows_discover(const char *iface, bool strict)
{
	bool iface_exists = false, iface_has_xdp = false;

	xvns_refresh();
	for (int i = 0; i < nrows; i++)
		rows[i].seen = false;
	for (int i = 0; i < nns; i++) {
		for (int k = 0; k < nss[i].ndevs; k++) {
			const struct netdev *d = &nss[i].devs[k];
			if (iface && strcmp(iface, d->name))
				continue;
			iface_exists = true;
			for (int x = 0; x < d->nxdp; x++) {
				iface_has_xdp = true;
				struct row *r = row_find(nss[i].ino, d->ifindex, d->xdp[x].prog_id, -1);
				if (r)
					r->seen = true;
				else
					row_new(i, d, x, strict);
			}
		}
	}
	if (strict && iface && !iface_exists)
		die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", iface,
		    nns == 1 && nss[0].name[0] ? " in network namespace " : (nns > 1 ? " in any watched namespace" : ""),
		    nns == 1 ? nss[0].name : "");
	if (strict && iface && !iface_has_xdp)
		die(EXIT_NOTFOUND, "interface '%s' has no XDP program attached (attach one, e.g. ip link set dev %s xdp "
		    "obj PROG.o)", iface, iface);
	/* per-queue rows live as long as their interface row */
	for (int i = 0; i < nrows; i++) {
		if (rows[i].queue < 0)
			continue;
		struct row *parent = row_find(rows[i].netns, rows[i].ifindex, rows[i].prog_id, -1);
		rows[i].seen = parent && parent->seen;
	}
	/* forget rows whose program went away */
	int j = 0;
	for (int i = 0; i < nrows; i++) {
		if (rows[i].seen)
			rows[j++] = rows[i];
		else
			row_free(&rows[i]);
	}
	nrows = j;
	for (int i = 0; i < nrows; i++)
		if (rows[i].src == SRC_FEXIT)
			progwatch_use(watch, rows[i].prog_id);
	components_discover();
	progwatch_sweep(watch);
}

void rows_free(void)
{
	for (int i = 0; i < nrows; i++)
		row_free(&rows[i]);
	free(rows);
	rows = NULL;
	nrows = 0;
	free(crows);
	crows = NULL;
	ncrows = 0;
	xvdisp_free();
}

/* ---- reading -------------------------------------------------------- */

/* Per-CPU sums of the fexit and tracepoint maps. */
struct fsum { struct xv_fkey k; struct xv_fval v; };
struct tsum { struct xv_tkey k; struct xv_tval v; };
static struct fsum *fsums;
static int nfsums;
static struct tsum *tsums;
static int ntsums;

static void read_maps(void)
{
	if ((nfsums = map_read_percpu_sums(bpf_map__fd(skel->maps.fexit_counts), sizeof(*fsums),
					   offsetof(struct fsum, v), (void **)&fsums)) < 0 ||
	    (ntsums = map_read_percpu_sums(bpf_map__fd(skel->maps.tp_counts), sizeof(*tsums), offsetof(struct tsum, v),
					   (void **)&tsums)) < 0)
		die_errno(nfsums < 0 ? nfsums : ntsums, NULL, "cannot read the verdict counters");
}

uint64_t rows_missed_updates(void)
{
	uint32_t zero = 0;
	uint64_t t;
	return map_lookup_percpu_sum(bpf_map__fd(skel->maps.missed), &zero, 1, &t) ? 0 : t;
}

/* Tracepoint totals for a row: its program's events plus the
 * program-less ones (bulk_tx, devmap_xmit) of its interface, the latter
 * only for the row of the native program. */
static void tp_totals(const struct row *r, struct xv_tval *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ntsums; i++) {
		const struct tsum *s = &tsums[i];
		if (s->k.netns != r->netns || (int)s->k.ifindex != r->ifindex)
			continue;
		if (s->k.prog_id != r->prog_id && !(s->k.prog_id == 0 && r->mode != XDPM_GENERIC))
			continue;
		for (int a = 0; a < XV_NACT; a++)
			out->exc[a] += s->v.exc[a];
		out->redirect_ok += s->v.redirect_ok;
		out->redirect_err += s->v.redirect_err;
		out->bulk_drops += s->v.bulk_drops;
		out->devmap_drops += s->v.devmap_drops;
	}
}

/* The fexit totals of a row's program, of one queue (q >= 0) or all;
 * false when there is no entry. */
static bool fexit_sum(uint32_t netns, int ifindex, uint32_t prog_id, int q, uint64_t tot[XV_NACT])
{
	bool any = false;
	memset(tot, 0, XV_NACT * sizeof(*tot));
	for (int k = 0; k < nfsums; k++) {
		const struct fsum *s = &fsums[k];
		if (s->k.netns != netns || (int)s->k.ifindex != ifindex || s->k.prog_id != prog_id ||
		    (q >= 0 && (int)s->k.queue != q))
			continue;
		any = true;
		for (int a = 0; a < XV_NACT; a++)
			tot[a] += s->v.act[a];
	}
	return any;
}

static bool fexit_totals(const struct row *r, int q, uint64_t tot[XV_NACT])
{
	return fexit_sum(r->netns, r->ifindex, r->prog_id, q, tot);
}

/* fexit totals to verdicts, counted from the row's first reading. */
static void fexit_verdicts(struct row *r, uint64_t tot[XV_NACT], struct xdp_verdicts *v)
{
	memset(v, 0, sizeof(*v));
	for (int a = 0; a < XV_NACT; a++)
		tot[a] = counter_advance(&r->fx[a], tot[a]);
	tot[XDP_ABORTED] += tot[XV_ACT_INVALID];
	for (int a = 0; a < XV_NVERDICTS; a++) {
		v->v[a] = tot[a];
		v->known[a] = true;
		v->packets += tot[a];
	}
	v->packets_known = true;
}

/* Driver counters of a row, as role sums over all queues or one queue. */
static int driver_read(struct row *r, struct xdp_role_sums *all, struct xdp_role_sums **perq, int *nq)
{
	struct netdev_stats st;
	int err = ethtool_stats_read(nss[r->nsi].sock, r->ifname, &st);

	memset(all, 0, sizeof(*all));
	*perq = NULL;
	*nq = 0;
	if (err)
		return err;
	for (int i = 0; i < st.n; i++) {
		int q;
		enum xdp_role role = xdpmap_match(r->dm, st.names[i], &q);
		if (role == XR_NONE)
			continue;
		/* find or add this counter's tracker (by name) */
		int idx = -1;
		for (int k = 0; k < r->nstats; k++)
			if (!strcmp(r->stat_names[k], st.names[i]))
				idx = k;
		if (idx < 0) {
			r->stat_names = xrealloc(r->stat_names, (r->nstats + 1) * sizeof(*r->stat_names));
			r->stats = xrealloc(r->stats, (r->nstats + 1) * sizeof(*r->stats));
			idx = r->nstats++;
			memcpy(r->stat_names[idx], st.names[i], sizeof(r->stat_names[idx]));
			memset(&r->stats[idx], 0, sizeof(r->stats[idx]));
			r->stats[idx].role = role;
			r->stats[idx].queue = q;
		}
		uint64_t d = counter_advance(&r->stats[idx].t, st.vals[i]);
		all->v[role] += d;
		all->have[role] = true;
		if (q >= 0) {
			if (q >= *nq) {
				*perq = xrealloc(*perq, (q + 1) * sizeof(**perq));
				memset(*perq + *nq, 0, (q + 1 - *nq) * sizeof(**perq));
				*nq = q + 1;
			}
			(*perq)[q].v[role] += d;
			(*perq)[q].have[role] = true;
		}
	}
	ethtool_stats_free(&st);
	return 0;
}

/* ---- one snapshot --------------------------------------------------- */

/* The verdict records of the current snapshot (Prometheus only). */
static struct snapshot *vsn;
static const char *const verdict_labels[XV_NVERDICTS] = { "aborted", "drop", "pass", "tx", "redirect" };

static void copy_label(struct record *to, int ti, const struct record *from, int fi)
{
	const struct value *v = rec_get(from, fi);
	if (v->t == V_STR)
		rec_str(to, ti, v->s);
	else if (v->t == V_U64)
		rec_u64(to, ti, v->u);
}

/* Remember a row's totals: rates start from here. */
static void remember(struct row *r, const struct xdp_verdicts *v, uint64_t errs, double now)
{
	r->prev = *v;
	r->prev_err = errs;
	r->prev_t = now;
	r->have_prev = true;
}

static void put_verdicts(struct record *rec, struct row *r, const struct xdp_verdicts *v, uint64_t errs, double now)
{
	for (int a = 0; a < XV_NVERDICTS; a++) {
		if (!v->known[a])
			continue;
		rec_u64(rec, R_ABORTED + a, v->v[a]);
		if (r->have_prev && r->prev.known[a] && now > r->prev_t)
			rec_dbl(rec, R_ABORTED_RATE + a, ((double)v->v[a] - (double)r->prev.v[a]) / (now - r->prev_t));
		if (vsn) {
			struct record *vr = snap_add(vsn);
			copy_label(vr, VD_NETNS, rec, R_NETNS);
			copy_label(vr, VD_IFACE, rec, R_IFACE);
			copy_label(vr, VD_QUEUE, rec, R_QUEUE);
			copy_label(vr, VD_MODE, rec, R_MODE);
			copy_label(vr, VD_PROG_ID, rec, R_PROG_ID);
			copy_label(vr, VD_PROG, rec, R_PROG);
			copy_label(vr, VD_SOURCE, rec, R_SOURCE);
			rec_str(vr, VD_VERDICT, verdict_labels[a]);
			rec_u64(vr, VD_PACKETS, v->v[a]);
		}
	}
	if (v->packets_known)
		rec_u64(rec, R_PACKETS, v->packets);
	if (r->have_prev && now > r->prev_t && tp_attached())
		rec_dbl(rec, R_ERR_RATE, ((double)errs - (double)r->prev_err) / (now - r->prev_t));
	remember(r, v, errs, now);
}

static struct record *row_record(struct snapshot *sn, const struct row *r, int queue)
{
	char nb[32];
	struct record *rec = snap_add(sn);
	rec_str(rec, R_NETNS, xvns_display(r->netns, nb, sizeof(nb)));
	rec_str(rec, R_IFACE, r->ifname);
	rec_u64(rec, R_IFINDEX, r->ifindex);
	if (queue >= 0)
		rec_u64(rec, R_QUEUE, queue);
	rec_str(rec, R_DRIVER, r->driver[0] ? r->driver : NULL);
	rec_str(rec, R_MODE, xdp_mode_name(r->mode));
	rec_u64(rec, R_PROG_ID, r->prog_id);
	rec_str(rec, R_PROG, r->prog_name);
	rec_str(rec, R_SOURCE, source_name(r->src));
	return rec;
}

/* Per-queue sub-rows keep their own rate state. */
static struct row *queue_row(int parent_i, int q)
{
	struct row *parent = &rows[parent_i];
	struct row *r = row_find(parent->netns, parent->ifindex, parent->prog_id, q);
	if (r)
		return r;
	rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
	parent = &rows[parent_i];
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->netns = parent->netns;
	r->ifindex = parent->ifindex;
	r->prog_id = parent->prog_id;
	r->queue = q;
	r->seen = true;
	/* fexit entries of a queue appear with its first packet, all counted
	 * by this run: they count from 0 */
	for (int a = 0; a < XV_NACT; a++)
		r->fx[a] = (struct counter_track){ .started = true };
	return r;
}

/* One queue's row: printed, or its baseline taken. */
static void queue_out(struct snapshot *sn, int i, int q, const struct xdp_verdicts *qv, double now)
{
	struct row *qr = queue_row(i, q);
	if (!sn) {
		remember(qr, qv, 0, now);
		return;
	}
	struct record *rec = row_record(sn, &rows[i], q);
	put_verdicts(rec, qr, qv, 0, now);
	rec_none(rec, R_ERR_RATE);
}

/* The per-queue rows of interface row i (fexit and driver counting). */
static void queue_rows(struct snapshot *sn, int i, const struct xdp_tp_facts *tp,
		       const struct xdp_role_sums *perq, int nq, double now)
{
	if (rows[i].src == SRC_FEXIT) {
		int maxq = -1;
		for (int k = 0; k < nfsums; k++)
			if (fsums[k].k.netns == rows[i].netns && (int)fsums[k].k.ifindex == rows[i].ifindex &&
			    fsums[k].k.prog_id == rows[i].prog_id && (int)fsums[k].k.queue > maxq)
				maxq = (int)fsums[k].k.queue;
		for (int q = 0; q <= maxq; q++) {
			uint64_t tot[XV_NACT];
			struct xdp_verdicts qv;
			if (!fexit_totals(&rows[i], q, tot))
				continue;
			fexit_verdicts(queue_row(i, q), tot, &qv);
			queue_out(sn, i, q, &qv, now);
		}
	} else if (rows[i].src == SRC_DRIVER) {
		/* tracepoint facts are per interface: usable per queue only
		 * when there is one queue or they are all zero */
		bool tp_zero = !tp->exc_aborted && !tp->exc_tx && !tp->redirect_err;
		struct xdp_tp_facts qtp = *tp;
		qtp.valid = tp->valid && (nq <= 1 || tp_zero);
		for (int q = 0; q < nq; q++) {
			struct xdp_verdicts qv;
			xdpmap_derive(rows[i].dm, &perq[q], &qtp, &qv);
			queue_out(sn, i, q, &qv, now);
		}
	}
}

/* One component's counts: a record (and its verdict records for
 * Prometheus), or (csn NULL) the baseline.  Returns whether its counts are
 * unknown. */
static bool component_out(struct snapshot *csn, struct snapshot *cvsn, struct crow *c, double now)
{
	static const char *const vl[XV_NVERDICTS] = { "aborted", "drop", "pass", "tx", "redirect" };
	uint64_t tot[XV_NACT], val[XV_NVERDICTS + 2];
	bool known[XV_NVERDICTS + 2] = { false };
	const char *chain_why = NULL;

	if (c->src == SRC_FEXIT) {
		fexit_sum(c->netns, c->ifindex, c->c.prog_id, -1, tot);
		for (int a = 0; a < XV_NACT; a++)
			tot[a] = counter_advance(&c->fx[a], tot[a]);
		for (int a = 0; a < XV_NVERDICTS; a++) {
			val[a] = tot[a] + (a == XDP_ABORTED ? tot[XV_ACT_INVALID] : 0);
			known[a] = true;
		}
		/* the dispatcher goes on after verdict A when bit A of the
		 * component's chain-call actions is set: exact, given the
		 * configuration, except for invalid actions (folded into
		 * ABORTED here) when the mask has bits beyond XDP_REDIRECT
		 * (libxdp always sets bit 31, its stubs' return value) */
		if (!c->conf_known) {
			chain_why = "the dispatcher's configuration is unknown";
		} else if (tot[XV_ACT_INVALID] && (c->mask & ~0x1fU)) {
			chain_why = "the component returned invalid actions, which its chain-call mask may continue";
		} else {
			val[XV_NVERDICTS] = val[XV_NVERDICTS + 1] = 0;
			for (int a = 0; a < XV_NVERDICTS; a++)
				val[XV_NVERDICTS + !(c->mask & (1U << a))] += tot[a];
			val[XV_NVERDICTS + 1] += tot[XV_ACT_INVALID];
			known[XV_NVERDICTS] = known[XV_NVERDICTS + 1] = true;
		}
	}
	if (csn) {
		char nb[32], ab[160];
		struct record *rec = snap_add(csn);
		rec_str(rec, C_NETNS, xvns_display(c->netns, nb, sizeof(nb)));
		rec_str(rec, C_IFACE, c->ifname);
		rec_u64(rec, C_IFINDEX, c->ifindex);
		rec_u64(rec, C_DISPATCHER, c->disp_id);
		if (c->c.slot >= 0)
			rec_u64(rec, C_SLOT, c->c.slot);
		rec_u64(rec, C_PROG_ID, c->c.prog_id);
		rec_str(rec, C_PROG, c->c.name);
		if (c->conf_known) {
			rec_u64(rec, C_PRIO, c->prio);
			xvdisp_actions(c->mask, ab, sizeof(ab));
			for (char *save = NULL, *t = strtok_r(ab, ",", &save); t; t = strtok_r(NULL, ",", &save))
				rec_list_str(rec, C_CHAIN, t);
		}
		rec_str(rec, C_SOURCE, source_name(c->src));
		for (int a = 0; a < XV_NVERDICTS + 2; a++) {
			int f = a < XV_NVERDICTS ? C_ABORTED + a : C_CONTINUED + a - XV_NVERDICTS;
			int fr = a < XV_NVERDICTS ? C_ABORTED_RATE + a : C_CONTINUED_RATE + a - XV_NVERDICTS;
			if (!known[a])
				continue;
			rec_u64(rec, f, val[a]);
			if (c->prev_known[a] && now > c->prev_t)
				rec_dbl(rec, fr, ((double)val[a] - (double)c->prev[a]) / (now - c->prev_t));
		}
		if (known[XV_ABORTED]) {
			uint64_t n = 0;
			for (int a = 0; a < XV_NVERDICTS; a++)
				n += val[a];
			rec_u64(rec, C_PACKETS, n);
		}
		if (c->src == SRC_NONE)
			rec_str(rec, C_NOTE, c->why);
		else if (chain_why)
			rec_str(rec, C_NOTE, chain_why);
		for (int a = 0; a < XV_NVERDICTS && cvsn; a++) {
			if (!known[a])
				continue;
			struct record *vr = snap_add(cvsn);
			copy_label(vr, CV_NETNS, rec, C_NETNS);
			copy_label(vr, CV_IFACE, rec, C_IFACE);
			copy_label(vr, CV_DISPATCHER, rec, C_DISPATCHER);
			copy_label(vr, CV_SLOT, rec, C_SLOT);
			copy_label(vr, CV_PROG_ID, rec, C_PROG_ID);
			copy_label(vr, CV_PROG, rec, C_PROG);
			copy_label(vr, CV_SOURCE, rec, C_SOURCE);
			rec_str(vr, CV_VERDICT, vl[a]);
			rec_u64(vr, CV_PACKETS, val[a]);
		}
	}
	for (int a = 0; a < XV_NVERDICTS + 2; a++) {
		c->prev[a] = val[a];
		c->prev_known[a] = known[a];
	}
	c->prev_t = now;
	return c->src == SRC_NONE;
}

int rows_snapshot(bool print, const char *iface)
{
	struct snapshot *sn = print ? snap_begin(&row_schema) : NULL;
	double now = now_mono();
	bool partial = false, none = false;

	vsn = print ? snap_begin(&verdict_schema) : NULL;
	read_maps();
	if (sn)
		snapshot_facts(sn);
	int nbase = nrows;
	for (int i = 0; i < nbase; i++) {
		struct row *r = &rows[i];
		struct xdp_verdicts v = {};
		struct xv_tval tv;
		struct xdp_role_sums all, *perq = NULL;
		uint64_t exc[XV_NACT], tot[XV_NACT];
		int nq = 0;

		if (r->queue >= 0)
			continue;
		tp_totals(r, &tv);
		for (int a = 0; a < XV_NACT; a++)
			exc[a] = counter_advance(&r->exc[a], tv.exc[a]);
		uint64_t rok = counter_advance(&r->redir_ok, tv.redirect_ok);
		uint64_t rerr = counter_advance(&r->redir_err, tv.redirect_err);
		uint64_t xdrops = counter_advance(&r->xmit_drops, tv.bulk_drops + tv.devmap_drops);
		uint64_t errs = rerr + exc[XDP_TX] + xdrops;
		struct xdp_tp_facts tp = {
			.valid = tp_attached(),
			.exc_aborted = exc[XDP_ABORTED] + exc[XV_ACT_INVALID],
			.exc_tx = exc[XDP_TX],
			.redirect_err = rerr,
		};

		switch (r->src) {
		case SRC_FEXIT:
			fexit_totals(r, -1, tot);
			fexit_verdicts(r, tot, &v);
			break;
		case SRC_DRIVER:
			if (driver_read(r, &all, &perq, &nq)) {
				note("%s: cannot read driver counters now", r->ifname);
				break;
			}
			xdpmap_derive(r->dm, &all, &tp, &v);
			break;
		case SRC_TRACEPOINT:
			v.v[XV_ABORTED] = tp.exc_aborted;
			v.known[XV_ABORTED] = true;
			if (hooks[H_REDIRECT].link) {
				v.v[XV_REDIRECT] = rok + rerr;
				v.known[XV_REDIRECT] = true;
			}
			break;
		default:
			break;
		}
		for (int a = 0; a < XV_NVERDICTS; a++)
			partial |= !v.known[a] && r->src != SRC_NONE;
		none |= r->src == SRC_NONE;

		if (sn) {
			struct record *rec = row_record(sn, r, -1);
			if (tp_attached()) {
				rec_u64(rec, R_REDIR_ERR, rerr);
				rec_u64(rec, R_TX_ERR, exc[XDP_TX]);
				rec_u64(rec, R_XMIT_DROPS, xdrops);
			}
			put_verdicts(rec, r, &v, errs, now);
		} else {
			remember(r, &v, errs, now); /* the baseline: rates start here */
		}
		if (xo.per_queue)
			queue_rows(sn, i, &tp, perq, nq, now);
		free(perq);
	}
	struct snapshot *csn = print ? snap_begin(&component_schema) : NULL;
	struct snapshot *cvsn = print ? snap_begin(&component_verdict_schema) : NULL;
	const char *comp_why = NULL;
	for (int i = 0; i < ncrows; i++)
		if (component_out(csn, cvsn, &crows[i], now) && !comp_why)
			comp_why = crows[i].why;
	if (!sn)
		return 0;
	char note[512] = "";
	if (!nrows)
		snprintf(note, sizeof(note), "no XDP program attached%s", iface ? " to the selected interface" : "");
	if (partial)
		snprintf(note, sizeof(note), "-: verdicts this mechanism cannot count exactly here (see man xdpverdict, "
			 "MECHANISMS)");
	if (none)
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%ssource none: no exact mechanism for "
			 "this program on this kernel", note[0] ? "; " : "");
	if (comp_why)
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%sdispatcher components not counted: %s",
			 note[0] ? "; " : "", comp_why);
	if (disp_why[0])
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s%s", note[0] ? "; " : "", disp_why);
	if (note[0])
		snap_meta(sn, "note", "%s", note);
	uint64_t m = rows_missed_updates();
	static bool missed_warned;
	if (m && !missed_warned) {
		warnx_("%" PRIu64 " counter updates lost: a counting map is full (more than 4096 interface, "
		       "queue and program combinations); counted in missed_updates", m);
		missed_warned = true;
	}
	snap_meta_u64(sn, "missed_updates", m);
	out_set_missed(recursion_misses(NULL));
	snap_append(sn, vsn);
	snap_append(sn, csn);
	snap_append(sn, cvsn);
	vsn = NULL;
	return snap_end(sn);
}
