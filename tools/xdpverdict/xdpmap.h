/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * XDP verdicts from driver counters: for each driver, which ethtool -S
 * counters count which XDP verdict, and how the five verdicts are derived
 * from them (with the xdp_exception / xdp_redirect_err tracepoint counts
 * where a driver folds failures into another counter).  Pure logic, no I/O.
 */
#ifndef BPFSCOPE_XDPMAP_H
#define BPFSCOPE_XDPMAP_H

#include <stdbool.h>
#include <stdint.h>

enum xdp_verdict { XV_ABORTED, XV_DROP, XV_PASS, XV_TX, XV_REDIRECT, XV_NVERDICTS };

/* What a driver counter counts. */
enum xdp_role {
	XR_NONE,
	XR_PACKETS,  /* every packet the XDP program ran on */
	XR_ABORTED,
	XR_INVALID,  /* invalid actions (handled as ABORTED) */
	XR_DROP,     /* XDP_DROP; see XD_DROP_HAS_* for what else */
	XR_PASS,
	XR_TX,       /* XDP_TX; XD_TX_HAS_ERR: failures included */
	XR_REDIRECT, /* XDP_REDIRECT; XD_REDIR_HAS_ERR: failures included */
	XR_NROLES
};

/* How a driver's counters relate to the verdicts. */
#define XD_DROP_HAS_ABORTED   0x01 /* drop counter includes ABORTED and invalid actions */
#define XD_DROP_HAS_TX_ERR    0x02 /* ... and XDP_TX frames that could not be queued */
#define XD_DROP_HAS_REDIR_ERR 0x04 /* ... and failed redirects */
#define XD_TX_HAS_ERR         0x08 /* tx counter counts every XDP_TX, failed ones too */
#define XD_REDIR_HAS_ERR      0x10 /* redirect counter counts every XDP_REDIRECT */

struct xdp_counter_rule {
	const char *pattern; /* exact name; "%u" stands for the rx queue number */
	enum xdp_role role;
};

struct xdp_driver_map {
	const char *driver;  /* ethtool -i driver name */
	unsigned flags;
	const struct xdp_counter_rule *rules; /* NULL-terminated; NULL: no XDP counters */
	const char *derivation; /* one line, for -v and the man page */
};

const char *xdp_verdict_name(enum xdp_verdict v); /* "aborted", "drop", ... */

/* The mapping for a driver, or NULL if the driver is not in the table. */
const struct xdp_driver_map *xdpmap_driver(const char *driver);
/* Every entry, for listing; *n gets the count. */
const struct xdp_driver_map *xdpmap_all(int *n);

/* Classify one counter name.  Returns its role (XR_NONE if it counts no
 * verdict); *queue gets the rx queue it belongs to, or -1 if device-wide. */
enum xdp_role xdpmap_match(const struct xdp_driver_map *d, const char *name, int *queue);

/* Role totals over a set of counters (one queue or the whole device). */
struct xdp_role_sums {
	uint64_t v[XR_NROLES];
	bool have[XR_NROLES];
};

/* What the xdp tracepoints saw for the same interface and time span. */
struct xdp_tp_facts {
	bool valid;           /* tracepoints attached and attributable */
	uint64_t exc_aborted; /* xdp_exception with ABORTED or an invalid action */
	uint64_t exc_tx;      /* xdp_exception with XDP_TX: TX frames that failed */
	uint64_t redirect_err;/* xdp_redirect_err */
};

struct xdp_verdicts {
	uint64_t v[XV_NVERDICTS];
	bool known[XV_NVERDICTS];
	uint64_t packets;     /* sum of the five, when all are known */
	bool packets_known;
};

/* Derive the five verdicts.  A verdict is known only when it follows
 * exactly from the counters (and, where the driver needs them, the
 * tracepoint facts); nothing is estimated. */
void xdpmap_derive(const struct xdp_driver_map *d, const struct xdp_role_sums *s,
		   const struct xdp_tp_facts *tp, struct xdp_verdicts *out);

/* A counter read repeatedly: total growth since the first reading, across
 * resets (a reading below the previous one starts a new run from 0). */
struct counter_track {
	bool started;
	uint64_t first, last, carried;
};
uint64_t counter_advance(struct counter_track *c, uint64_t now);

#endif
