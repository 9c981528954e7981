// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tcpchrono: close events, owner sweeps and live-mode snapshots, from the
 * BPF side's records and iterators. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "output.h"
#include "tcreport.h"
#include "mapread.h"
#include "util.h"
#include "tcpchrono.skel.h"

static const char *const tcp_states[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

static const char *const origins[] = {
	[TC_ORIGIN_UNKNOWN] = "unknown", [TC_ORIGIN_CONNECT] = "connect",
	[TC_ORIGIN_ACCEPT] = "accept", [TC_ORIGIN_SCAN] = "scan", [TC_ORIGIN_CLOSE] = "close",
};
#define NORIGINS (sizeof(origins) / sizeof(origins[0]))

static const char *const chronos[] = { "none", "busy", "rwnd_limited", "sndbuf_limited" };

static const char *state_name(unsigned s)
{
	return s < sizeof(tcp_states) / sizeof(tcp_states[0]) && tcp_states[s] ? tcp_states[s] : "?";
}

/* Fields every connection record shares, close event or live sample. */
struct ident_idx { int pid, comm, family, laddr, lport, raddr, rport, state, origin, chrono; };

static void rec_ident(struct record *rec, const struct tc_record *r, const struct ident_idx *ix)
{
	char a[INET6_ADDRSTRLEN];
	int af = r->family == AF_INET6 ? AF_INET6 : AF_INET;

	if (r->pid)
		rec_u64(rec, ix->pid, r->pid);
	rec_str(rec, ix->comm, r->pid && r->comm[0] ? r->comm : NULL);
	rec_str(rec, ix->family, af == AF_INET ? "ipv4" : "ipv6");
	rec_str(rec, ix->laddr, inet_ntop(af, r->saddr, a, sizeof(a)));
	rec_u64(rec, ix->lport, r->sport);
	rec_str(rec, ix->raddr, inet_ntop(af, r->daddr, a, sizeof(a)));
	rec_u64(rec, ix->rport, r->dport);
	rec_str(rec, ix->state, state_name(r->state));
	/* an owner never learnt is unknown, whatever set the connection up */
	rec_str(rec, ix->origin, !r->pid ? "unknown" : r->origin < NORIGINS ? origins[r->origin] : "?");
	rec_str(rec, ix->chrono, r->chrono_type < 4 ? chronos[r->chrono_type] : "?");
}

/* Times are reported in seconds (microsecond resolution, like tcp_info). */
static double usecs(uint64_t us)
{
	return (double)us / 1e6;
}

/* part of busy time, 0-1; null (unknown) when never busy */
static void rec_ratio(struct record *rec, int idx, uint64_t part, uint64_t busy)
{
	if (busy)
		rec_dbl(rec, idx, (double)part / (double)busy);
}

/* ---- owner sweeps ---------------------------------------------------- */

static uint64_t bss_read(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* One pass of iter/task_file: names whoever holds a socket still unnamed. */
static void owner_sweep(struct tc_report *R, double start)
{
	uint64_t before = bss_read(&R->skel->bss->scan_resolved);
	char *buf = NULL;
	long len = tc_drain_iter(R->files, &buf);

	free(buf);
	if (len < 0)
		note("owner scan failed: %s", errno_name((int)-len));
	tc_sweep_done(&R->sweeper, start, now_mono(), bss_read(&R->skel->bss->scan_resolved) - before);
}

int tc_event_idle(void *ctx)
{
	struct tc_report *R = ctx;
	/* woken when a batch is waiting; drained every wait regardless */
	int err = evbuf_consume(R->eb);
	if (err < 0 || !R->sweeping || loop_stopping())
		return err;
	double now = now_mono();
	uint64_t opened = bss_read(&R->skel->bss->passive_opened);
	uint64_t settled = bss_read(&R->skel->bss->passive_settled);
	if (tc_sweep_due(&R->sweeper, now, opened, settled))
		owner_sweep(R, now);
	return 0;
}

/* ---- event mode ----------------------------------------------------- */

static const struct ident_idx ev_ix = {
	E_PID, E_COMM, E_FAMILY, E_LADDR, E_LPORT, E_RADDR, E_RPORT, E_STATE, E_ORIGIN, E_CHRONO,
};

int tc_on_event(void *ctx, const void *data, size_t size)
{
	struct tc_record copy; /* perf buffer records are only 4-byte aligned */
	const struct tc_record *r = &copy;
	(void)ctx;
	if (size < sizeof(copy))
		return 0;
	memcpy(&copy, data, sizeof(copy));
	struct record *rec = event_new(&tc_ev_schema);
	rec_ident(rec, r, &ev_ix);
	if (r->duration_ns)
		rec_dbl(rec, E_DUR, usecs(r->duration_ns / 1000));
	rec_u64(rec, E_TX, r->bytes_acked);
	rec_u64(rec, E_RX, r->bytes_received);
	rec_dbl(rec, E_BUSY, usecs(r->busy_us));
	rec_dbl(rec, E_RWND, usecs(r->rwnd_us));
	rec_ratio(rec, E_RWND_RATIO, r->rwnd_us, r->busy_us);
	rec_dbl(rec, E_SNDBUF, usecs(r->sndbuf_us));
	rec_ratio(rec, E_SNDBUF_RATIO, r->sndbuf_us, r->busy_us);
	rec_u64(rec, E_RETRANS, r->total_retrans);
	int err = event_emit(rec);
	if (err)
		loop_request_stop(); /* a write error: the perf buffer ignores what this returns */
	return err < 0 ? err : 0;
}

/* ---- live mode ------------------------------------------------------ */

long tc_drain_iter(struct bpf_link *link, char **buf)
{
	size_t cap = 0, len = 0;
	int fd = bpf_iter_create(bpf_link__fd(link));

	*buf = NULL;
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			*buf = xrealloc(*buf, cap);
		}
		ssize_t n = read(fd, *buf + len, cap - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	return (long)len;
}

static int by_sk(const void *a, const void *b)
{
	const struct tc_record *x = a, *y = b;
	return x->sk < y->sk ? -1 : x->sk > y->sk;
}

static void sweep(const struct tc_report *R, struct tc_sweep *s)
{
	char *buf = NULL;
	long len;
	double t0 = now_mono();

	if (R->files) {
		len = tc_drain_iter(R->files, &buf);
		free(buf);
		if (len < 0)
			note("owner scan failed: %s", errno_name((int)-len));
	}
	/* the iterator walks the namespace this process is in when it creates
	 * the iterator's fd: -N's, entered before the first sweep */
	len = tc_drain_iter(R->tcp, &buf);
	s->secs = now_mono() - t0;
	if (len < 0)
		die(EXIT_FAIL, "cannot read the tcp iterator: %s", errno_name((int)-len));
	s->r = (struct tc_record *)buf;
	s->n = (int)(len / (long)sizeof(struct tc_record));
	qsort(s->r, s->n, sizeof(*s->r), by_sk);
	/* a socket the iterator met twice (its tables changed under it) is
	 * one connection: one series each */
	int n = 0;
	for (int i = 0; i < s->n; i++)
		if (!n || s->r[i].sk != s->r[n - 1].sk)
			s->r[n++] = s->r[i];
	s->n = n;
}

struct row {
	const struct tc_record *r;
	uint64_t busy, rwnd, sndbuf, tx, rx, retrans;
};

static int by_limited(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	uint64_t lx = x->rwnd + x->sndbuf, ly = y->rwnd + y->sndbuf;
	if (lx != ly)
		return lx > ly ? -1 : 1;
	if (x->busy != y->busy)
		return x->busy > y->busy ? -1 : 1;
	if (x->tx != y->tx)
		return x->tx > y->tx ? -1 : 1;
	return by_sk(x->r, y->r);
}

/* the one counter-reset rule (common/mapread.h) */
#define delta counter_delta

static bool same_conn(const struct tc_record *a, const struct tc_record *b)
{
	return a->sport == b->sport && a->dport == b->dport && a->family == b->family &&
	       !memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16) &&
	       a->busy_us >= b->busy_us && a->bytes_acked >= b->bytes_acked;
}

static const struct ident_idx live_ix = {
	L_PID, L_COMM, L_FAMILY, L_LADDR, L_LPORT, L_RADDR, L_RPORT, L_STATE, L_ORIGIN, L_CHRONO,
};

static int live_snapshot(const struct tc_report *R, const struct tc_sweep *cur, const struct tc_sweep *prev,
			 double dt)
{
	struct row *rows = xcalloc(cur->n ? cur->n : 1, sizeof(*rows));
	int nrows = 0;
	uint64_t min_busy = (uint64_t)llround(R->min_busy_ms * 1000);
	uint64_t limited_bp = (uint64_t)llround(R->limited_pct * 100);

	for (int i = 0; i < cur->n; i++) {
		const struct tc_record *r = &cur->r[i];
		const struct tc_record *p = bsearch(r, prev->r, prev->n, sizeof(*r), by_sk);
		struct tc_record zero = { 0 };
		if (!p || !same_conn(r, p))
			p = &zero; /* new since the last sweep: all of it is in this interval */
		struct row w = {
			.r = r,
			.busy = delta(r->busy_us, p->busy_us),
			.rwnd = delta(r->rwnd_us, p->rwnd_us),
			.sndbuf = delta(r->sndbuf_us, p->sndbuf_us),
			.tx = delta(r->bytes_acked, p->bytes_acked),
			.rx = delta(r->bytes_received, p->bytes_received),
			.retrans = delta(r->total_retrans, p->total_retrans),
		};
		if (!tc_pass_limits(w.busy, w.rwnd, w.sndbuf, min_busy, limited_bp))
			continue;
		rows[nrows++] = w;
	}
	qsort(rows, nrows, sizeof(*rows), by_limited);

	out_set_missed(bpfobj_recursion_misses(R->skel->obj));
	struct snapshot *sn = snap_begin(&tc_live_schema);
	snap_meta(sn, "mechanism", "%s", R->mechanism);
	snap_meta(sn, "owners", "%s", R->owners);
	snap_meta(sn, "netns", "%s", R->netns);
	snap_meta_u64(sn, "kernel_hz", R->hz);
	snap_meta(sn, "kernel_hz_source", "%s", R->hz_source);
	/* microseconds are plenty, and read back shortest */
	snap_meta_num(sn, "interval_seconds", round(dt * 1e6) / 1e6);
	snap_meta_u64(sn, "sweep_connections", (uint64_t)cur->n);
	snap_meta_num(sn, "sweep_seconds", round(cur->secs * 1e6) / 1e6);
	for (int i = 0; i < nrows && (!R->top || i < R->top); i++) {
		const struct row *w = &rows[i];
		struct record *rec = snap_add(sn);
		rec_ident(rec, w->r, &live_ix);
		rec_dbl(rec, L_BUSY, usecs(w->busy));
		rec_dbl(rec, L_RWND, usecs(w->rwnd));
		rec_dbl(rec, L_SNDBUF, usecs(w->sndbuf));
		rec_ratio(rec, L_LIMITED_RATIO, w->rwnd + w->sndbuf, w->busy);
		rec_u64(rec, L_TX, w->tx);
		rec_u64(rec, L_RX, w->rx);
		rec_u64(rec, L_RETRANS, w->retrans);
		rec_dbl(rec, L_BUSY_T, usecs(w->r->busy_us));
		rec_dbl(rec, L_RWND_T, usecs(w->r->rwnd_us));
		rec_dbl(rec, L_SNDBUF_T, usecs(w->r->sndbuf_us));
		rec_u64(rec, L_TX_T, w->r->bytes_acked);
		rec_u64(rec, L_RX_T, w->r->bytes_received);
		rec_u64(rec, L_RETRANS_T, w->r->total_retrans);
	}
	free(rows);
	return snap_end(sn);
}

int tc_live_interval(void *ctx, double dt)
{
	struct tc_report *R = ctx;
	struct tc_sweep cur;

	sweep(R, &cur);
	int err = live_snapshot(R, &cur, &R->prev, dt);
	free(R->prev.r);
	R->prev = cur;
	return err;
}

void tc_live_start(struct tc_report *R)
{
	sweep(R, &R->prev);
}

void tc_live_free(struct tc_report *R)
{
	free(R->prev.r);
	R->prev.r = NULL;
}
