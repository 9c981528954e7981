// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-driver XDP counter table.  Sources: each driver's ethtool string
 * table and its XDP action switch (Linux 6.1 and 6.18).  Where a driver has
 * no PASS counter but counts every packet the program saw, PASS is packets
 * minus the other four verdicts.  Where a driver folds ABORTED (or failed
 * TX / redirects) into its drop counter, the xdp_exception and
 * xdp_redirect_err tracepoints give the part to take out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdpmap.h"

static const char *const verdict_names[XV_NVERDICTS] = {
	"aborted", "drop", "pass", "tx", "redirect",
};

const char *xdp_verdict_name(enum xdp_verdict v)
{
	return (unsigned)v < XV_NVERDICTS ? verdict_names[v] : "invalid";
}

/* veth (drivers/net/veth.c, veth_rq_stats_desc, both kernels): every packet
 * through NAPI with a program is counted in xdp_packets; xdp_drops counts
 * DROP, ABORTED and invalid actions; xdp_tx and xdp_redirect count only
 * frames that were queued; a failed XDP_TX raises xdp_exception(TX), a failed
 * redirect xdp_redirect_err, and both land in rx_queue_N_drops. */
static const struct xdp_counter_rule veth_rules[] = {
	{ "rx_queue_%u_xdp_packets", XR_PACKETS },
	{ "rx_queue_%u_xdp_drops", XR_DROP },
	{ "rx_queue_%u_xdp_tx", XR_TX },
	{ "rx_queue_%u_xdp_redirect", XR_REDIRECT },
	{ NULL, XR_NONE },
};

/* virtio_net: xdp_packets counts every run; xdp_tx and xdp_redirects are
 * raised before the attempt (failures included); xdp_drops counts DROP,
 * ABORTED, invalid actions and failed TX/redirects.  Queue names are
 * rx_queue_N_* up to 6.9 and rxN_* since the 6.10 statistics rework. */
static const struct xdp_counter_rule virtio_rules[] = {
	{ "rx_queue_%u_xdp_packets", XR_PACKETS },
	{ "rx_queue_%u_xdp_drops", XR_DROP },
	{ "rx_queue_%u_xdp_tx", XR_TX },
	{ "rx_queue_%u_xdp_redirects", XR_REDIRECT },
	{ "rx%u_xdp_packets", XR_PACKETS },
	{ "rx%u_xdp_drops", XR_DROP },
	{ "rx%u_xdp_tx", XR_TX },
	{ "rx%u_xdp_redirects", XR_REDIRECT },
	{ NULL, XR_NONE },
};

/* mlx5_core (en_rx.c mlx5e_xdp_handle): rxN_xdp_drop counts DROP, ABORTED,
 * invalid actions and failed TX/redirects (which also raise
 * xdp_exception); rxN_xdp_redirect counts successful redirects;
 * rxN_xdp_tx_xmit the XDP_TX frames posted.  No count of packets seen, so
 * PASS is not derivable. */
static const struct xdp_counter_rule mlx5_rules[] = {
	{ "rx%u_xdp_drop", XR_DROP },
	{ "rx%u_xdp_redirect", XR_REDIRECT },
	{ "rx%u_xdp_tx_xmit", XR_TX },
	{ NULL, XR_NONE },
};

/* ena (ena_xdp.c): one counter per verdict and queue, invalid actions
 * apart; counted by the verdict the program returned. */
static const struct xdp_counter_rule ena_rules[] = {
	{ "queue_%u_rx_xdp_aborted", XR_ABORTED },
	{ "queue_%u_rx_xdp_invalid", XR_INVALID },
	{ "queue_%u_rx_xdp_drop", XR_DROP },
	{ "queue_%u_rx_xdp_pass", XR_PASS },
	{ "queue_%u_rx_xdp_tx", XR_TX },
	{ "queue_%u_rx_xdp_redirect", XR_REDIRECT },
	{ NULL, XR_NONE },
};

static const struct xdp_driver_map drivers[] = {
	{ "veth", XD_DROP_HAS_ABORTED, veth_rules,
	  "pass = xdp_packets - xdp_drops - xdp_tx - xdp_redirect - failed tx - failed redirects; "
	  "aborted = xdp_exception(ABORTED/invalid); drop = xdp_drops - aborted" },
	{ "virtio_net",
	  XD_DROP_HAS_ABORTED | XD_DROP_HAS_TX_ERR | XD_DROP_HAS_REDIR_ERR | XD_TX_HAS_ERR |
		  XD_REDIR_HAS_ERR,
	  virtio_rules,
	  "pass = xdp_packets - xdp_drops - (xdp_tx - failed tx) - (xdp_redirects - failed redirects); "
	  "aborted = xdp_exception(ABORTED/invalid); drop = xdp_drops - aborted - failed tx - failed redirects" },
	{ "mlx5_core", XD_DROP_HAS_ABORTED | XD_DROP_HAS_TX_ERR | XD_DROP_HAS_REDIR_ERR, mlx5_rules,
	  "no packet count: pass unknown; aborted = xdp_exception(ABORTED/invalid); "
	  "drop = xdp_drop - aborted - failed tx - failed redirects; tx = xdp_tx_xmit + failed tx" },
	{ "ena", XD_TX_HAS_ERR | XD_REDIR_HAS_ERR, ena_rules,
	  "one counter per verdict; aborted = xdp_aborted + xdp_invalid" },
	{ "i40e", 0, NULL, "no per-verdict XDP counters in ethtool -S: use fexit or tracepoints" },
	{ "ice", 0, NULL, "no per-verdict XDP counters in ethtool -S: use fexit or tracepoints" },
	{ "ixgbe", 0, NULL, "no per-verdict XDP counters in ethtool -S: use fexit or tracepoints" },
	{ "bnxt_en", 0, NULL, "no per-verdict XDP counters in ethtool -S: use fexit or tracepoints" },
};

const struct xdp_driver_map *xdpmap_all(int *n)
{
	*n = (int)(sizeof(drivers) / sizeof(drivers[0]));
	return drivers;
}

const struct xdp_driver_map *xdpmap_driver(const char *driver)
{
	int n;
	const struct xdp_driver_map *d = xdpmap_all(&n);
	for (int i = 0; driver && i < n; i++)
		if (!strcmp(d[i].driver, driver))
			return &d[i];
	return NULL;
}

/* Match name against pattern; "%u" matches one or more digits. */
static bool match_pattern(const char *pat, const char *name, int *queue)
{
	const char *pu = strstr(pat, "%u");
	*queue = -1;
	if (!pu)
		return !strcmp(pat, name);
	size_t pre = (size_t)(pu - pat);
	if (strncmp(pat, name, pre))
		return false;
	const char *p = name + pre;
	if (*p < '0' || *p > '9')
		return false;
	long q = 0;
	while (*p >= '0' && *p <= '9') {
		q = q * 10 + (*p - '0');
		if (q > 1000000)
			return false;
		p++;
	}
	if (strcmp(p, pu + 2))
		return false;
	*queue = (int)q;
	return true;
}

enum xdp_role xdpmap_match(const struct xdp_driver_map *d, const char *name, int *queue)
{
	*queue = -1;
	if (!d || !d->rules || !name)
		return XR_NONE;
	for (const struct xdp_counter_rule *r = d->rules; r->pattern; r++)
		if (match_pattern(r->pattern, name, queue))
			return r->role;
	*queue = -1;
	return XR_NONE;
}

static uint64_t sub_floor(uint64_t a, uint64_t b)
{
	/* counters are read one after another: never show a negative count */
	return a > b ? a - b : 0;
}

void xdpmap_derive(const struct xdp_driver_map *d, const struct xdp_role_sums *s,
		   const struct xdp_tp_facts *tp, struct xdp_verdicts *out)
{
	unsigned fl = d ? d->flags : 0;
	bool tpv = tp && tp->valid;
	uint64_t exc_tx = tpv ? tp->exc_tx : 0, rerr = tpv ? tp->redirect_err : 0;

	memset(out, 0, sizeof(*out));

	/* ABORTED */
	if (s->have[XR_ABORTED]) {
		out->v[XV_ABORTED] = s->v[XR_ABORTED] + (s->have[XR_INVALID] ? s->v[XR_INVALID] : 0);
		out->known[XV_ABORTED] = true;
	} else if (tpv && (s->have[XR_DROP] || s->have[XR_PACKETS])) {
		out->v[XV_ABORTED] = tp->exc_aborted;
		out->known[XV_ABORTED] = true;
	}
	/* TX */
	if (s->have[XR_TX] && (tpv || (fl & XD_TX_HAS_ERR))) {
		out->v[XV_TX] = s->v[XR_TX] + ((fl & XD_TX_HAS_ERR) ? 0 : exc_tx);
		out->known[XV_TX] = true;
	}
	/* REDIRECT */
	if (s->have[XR_REDIRECT] && (tpv || (fl & XD_REDIR_HAS_ERR))) {
		out->v[XV_REDIRECT] = s->v[XR_REDIRECT] + ((fl & XD_REDIR_HAS_ERR) ? 0 : rerr);
		out->known[XV_REDIRECT] = true;
	}
	/* DROP */
	if (s->have[XR_DROP]) {
		bool needs_tp = fl & (XD_DROP_HAS_ABORTED | XD_DROP_HAS_TX_ERR | XD_DROP_HAS_REDIR_ERR);
		if (!needs_tp || tpv) {
			uint64_t x = s->v[XR_DROP];
			if (fl & XD_DROP_HAS_ABORTED)
				x = sub_floor(x, tp->exc_aborted);
			if (fl & XD_DROP_HAS_TX_ERR)
				x = sub_floor(x, exc_tx);
			if (fl & XD_DROP_HAS_REDIR_ERR)
				x = sub_floor(x, rerr);
			out->v[XV_DROP] = x;
			out->known[XV_DROP] = true;
		}
	}
	/* PASS */
	if (s->have[XR_PASS]) {
		out->v[XV_PASS] = s->v[XR_PASS];
		out->known[XV_PASS] = true;
	} else if (s->have[XR_PACKETS] && out->known[XV_ABORTED] && out->known[XV_DROP] &&
		   out->known[XV_TX] && out->known[XV_REDIRECT]) {
		uint64_t x = s->v[XR_PACKETS];
		for (int v = 0; v < XV_NVERDICTS; v++)
			if (v != XV_PASS)
				x = sub_floor(x, out->v[v]);
		out->v[XV_PASS] = x;
		out->known[XV_PASS] = true;
	}
	out->packets_known = true;
	for (int v = 0; v < XV_NVERDICTS; v++) {
		out->packets_known &= out->known[v];
		out->packets += out->v[v];
	}
	if (!out->packets_known)
		out->packets = 0;
}

uint64_t counter_advance(struct counter_track *c, uint64_t now)
{
	if (!c->started) {
		c->started = true;
		c->first = c->last = now;
		c->carried = 0;
		return 0;
	}
	if (now < c->last) {
		/* reset (driver reloaded, queues reconfigured): bank what the
		 * previous run grew and restart from 0 */
		c->carried += c->last - c->first;
		c->first = 0;
	}
	c->last = now;
	return c->carried + (now - c->first);
}
