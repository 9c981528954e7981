/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcpchrono: the records' field indices (the fields are described in
 * tcpchrono.c), close events, owner sweeps and live-mode snapshots. */
#ifndef TCPCHRONO_TCREPORT_H
#define TCPCHRONO_TCREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "output.h"
#include "tcpchrono.h"

/* close: one record per connection as it closes; its meta: the stream's facts */
enum {
	E_PID, E_COMM, E_FAMILY, E_LADDR, E_LPORT, E_RADDR, E_RPORT, E_STATE, E_ORIGIN, E_DUR,
	E_TX, E_RX, E_BUSY, E_RWND, E_RWND_RATIO, E_SNDBUF, E_SNDBUF_RATIO, E_RETRANS, E_CHRONO,
	ENFIELDS
};
enum { EM_MECH, EM_OWNERS, EM_TRANSPORT, EM_HZ, EM_HZ_SOURCE, EMNFIELDS };
/* connections: live mode, one record per connection each interval */
enum {
	L_PID, L_COMM, L_FAMILY, L_LADDR, L_LPORT, L_RADDR, L_RPORT, L_STATE, L_ORIGIN,
	L_BUSY, L_RWND, L_SNDBUF, L_LIMITED_RATIO, L_TX, L_RX, L_RETRANS, L_CHRONO,
	L_BUSY_T, L_RWND_T, L_SNDBUF_T, L_TX_T, L_RX_T, L_RETRANS_T, LNFIELDS
};
enum {
	LM_MECH, LM_OWNERS, LM_NETNS, LM_HZ, LM_HZ_SOURCE, LM_INTERVAL, LM_SWEEP_CONNS, LM_SWEEP_SECS,
	LMNFIELDS
};

extern const struct schema tc_ev_schema, tc_live_schema;

struct tcpchrono_bpf;
struct bpf_link;
struct evbuf;

/* One sweep of the tcp iterator: its records, by socket. */
struct tc_sweep {
	struct tc_record *r;
	int n;
	double secs;
};

/* What the renderers need from the front end. */
struct tc_report {
	struct tcpchrono_bpf *skel;
	struct bpf_link *files;     /* iter/task_file: owner scans (NULL: none) */
	struct bpf_link *tcp;       /* iter/tcp: live mode */
	struct evbuf *eb;
	const char *mechanism, *owners, *hz_source, *netns;
	unsigned hz;
	long top;                   /* live mode: rows kept (0: all) */
	double min_busy_ms, limited_pct;
	bool sweeping;              /* event mode: sweep file tables while owners are pending */
	struct tc_sweeper sweeper;
	struct tc_sweep prev;       /* live mode: the previous sweep */
};

/* Read an iterator to its end.  Returns bytes read or -errno. */
long tc_drain_iter(struct bpf_link *link, char **buf);
/* One close record (evbuf's callback; ctx: the report). */
int tc_on_event(void *ctx, const void *data, size_t size);
/* After each wait of the event driver: read lazily submitted records, sweep
 * file tables when owners are due. */
int tc_event_idle(void *ctx);
/* Live mode: the first sweep, one snapshot per interval (snapshot_run's
 * callback), and the end. */
void tc_live_start(struct tc_report *r);
int tc_live_interval(void *ctx, double dt);
void tc_live_free(struct tc_report *r);

#endif
