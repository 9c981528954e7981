// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpchrono: for each TCP connection, how long was the sender busy, and how
 * much of that was it limited by the receiver's window or by its own send
 * buffer?  One line per connection when it closes, or (-i, --top) every
 * connection sampled each interval, most starved first.
 */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "tcpchrono.h"
#include "tcpchrono.skel.h"

/* ---- options -------------------------------------------------------- */

static struct {
	int pid;
	uint16_t ports[TC_MAX_PORTS];
	int nports;
	int family;
	double min_busy_ms;
	double limited_pct;
	long top;          /* rows kept in live mode; 0 = all */
	bool live;
	struct tc_method method;
	unsigned ringbuf_pages;
	bool perf_buffer;
} o;

enum {
	OPT_MIN_BUSY = 0x2000, OPT_LIMITED, OPT_TOP, OPT_METHOD, OPT_RINGBUF_PAGES, OPT_PERF_BUFFER,
};

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "Only connections owned by process PID", 1 },
	{ "port", 'P', "PORT[,PORT]", 0, "Only connections with PORT at either end (up to 8)", 1 },
	{ "ipv4", '4', NULL, 0, "Only IPv4 connections", 1 },
	{ "ipv6", '6', NULL, 0, "Only IPv6 connections", 1 },
	{ "min-busy", OPT_MIN_BUSY, "MS", 0, "Only connections busy at least MS milliseconds (live mode: in the interval)", 1 },
	{ "limited", OPT_LIMITED, "PCT", 0, "Only connections limited (rwnd + sndbuf) at least PCT% of their busy time", 1 },
	{ "top", OPT_TOP, "N", OPTION_ARG_OPTIONAL, "Live mode: the N most limited connections each interval (default 10; interval 1 s unless -i)", 2 },
	{ "method", OPT_METHOD, "HOW[,HOW]", 0, "Hooks: auto (best available); state changes: tp_btf, raw_tp; "
	  "owners of accepted connections: fexit, kprobe, state, syscalls (costs every system call; see the man page)", 2 },
	{ "ringbuf-pages", OPT_RINGBUF_PAGES, "N", OPTION_HIDDEN, "Ring buffer size in pages (tests)", 2 },
	{ "perf-buffer", OPT_PERF_BUFFER, NULL, OPTION_HIDDEN, "Use a perf buffer even if the kernel has a ring buffer", 2 },
	{ 0 },
};

static const char doc[] =
	"tcpchrono: TCP sender chronographs (busy, receive-window-limited and send-buffer-limited time) "
	"for every connection, when it closes or live.\v"
	"Examples:\n"
	"  tcpchrono                    # one line per connection as it closes\n"
	"  tcpchrono -P 443 --limited 50  # port 443 connections limited half their busy time\n"
	"  tcpchrono --top              # the 10 most starved connections, every second\n"
	"  tcpchrono -i 5 -o prom --file /var/lib/node_exporter/tcpchrono.prom";

static void parse_ports(const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o.nports == TC_MAX_PORTS) {
			free(copy);
			die(EXIT_USAGE, "invalid --port '%s': at most %d ports (see --help)", arg, TC_MAX_PORTS);
		}
		o.ports[o.nports++] = (uint16_t)opt_u32("--port", tok, 1, 65535);
	}
	free(copy);
	if (!o.nports)
		die(EXIT_USAGE, "invalid --port '%s': expected PORT[,PORT] (see --help)", arg);
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'p':
		o.pid = opt_pid("--pid", arg);
		break;
	case 'P':
		parse_ports(arg);
		break;
	case '4':
	case '6':
		if (o.family)
			die(EXIT_USAGE, "-4 and -6 exclude each other (see --help)");
		o.family = key == '4' ? AF_INET : AF_INET6;
		break;
	case OPT_MIN_BUSY:
		if (parse_double(arg, 0, 1e9, &o.min_busy_ms))
			die(EXIT_USAGE, "invalid --min-busy '%s': expected milliseconds from 0 (see --help)", arg);
		break;
	case OPT_LIMITED:
		o.limited_pct = opt_percent("--limited", arg);
		break;
	case OPT_TOP:
		/* "--top 3" means 3 rows, as "--top=3" does, not a 3 s interval */
		if (!arg && state->next < state->argc && state->argv[state->next][0] >= '0' &&
		    state->argv[state->next][0] <= '9' && !strchr(state->argv[state->next], '.'))
			arg = state->argv[state->next++];
		o.top = arg ? (long)opt_u32("--top", arg, 1, 1000000) : 10;
		o.live = true;
		break;
	case OPT_METHOD:
		if (tc_parse_method(arg, &o.method))
			die(EXIT_USAGE, "invalid --method '%s': expected auto, or tp_btf or raw_tp and/or "
			    "one of fexit, kprobe, state, syscalls, comma-separated (see --help)", arg);
		break;
	case OPT_RINGBUF_PAGES:
		o.ringbuf_pages = opt_u32("--ringbuf-pages", arg, 1, 1u << 16);
		if (o.ringbuf_pages & (o.ringbuf_pages - 1))
			die(EXIT_USAGE, "invalid --ringbuf-pages '%s': expected a power of 2 (see --help)", arg);
		break;
	case OPT_PERF_BUFFER:
		o.perf_buffer = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

/* ---- fields: described once ---------------------------------------- */

/* Shared by close events and live mode. */
#define HELP_FAMILY "Address family: ipv4 or ipv6"
#define HELP_LADDR "Local address"
#define HELP_LPORT "Local port"
#define HELP_RADDR "Remote address"
#define HELP_RPORT "Remote port"
#define HELP_STATE "TCP state (close events: the state the connection left for CLOSE)"
#define HELP_ORIGIN "How the owner was learnt: connect, accept, close, scan or unknown"
#define HELP_CHRONO "Sender chronograph running at that moment: none, busy, rwnd_limited or sndbuf_limited"
/* Stream and snapshot facts. */
#define HELP_MECH "Hook for TCP state changes, or how live mode samples connections"
#define HELP_OWNERS "How owners are found: connect, accept, earlier connections"
#define HELP_HZ_SOURCE "Where HZ came from: kernel config or measured from jiffies"

/* Close events: one table line or JSON line (type "close") each.  Event
 * tables have fixed widths: addresses 39 (IPv6; 15 with -4), ports 5. */
enum {
	E_PID, E_COMM, E_FAMILY, E_LADDR, E_LPORT, E_RADDR, E_RPORT, E_STATE, E_ORIGIN, E_DUR,
	E_TX, E_RX, E_BUSY, E_RWND, E_RWND_RATIO, E_SNDBUF, E_SNDBUF_RATIO, E_RETRANS, E_CHRONO,
	ENFIELDS
};

#define EV (FF_TABLE | FF_JSON)
#define EW (FF_WIDE | FF_JSON)
/* not const: -4 narrows the address columns */
static struct field efields[ENFIELDS] = {
	[E_PID] = F_PID(EV),
	[E_COMM] = F_COMM(EV),
	[E_FAMILY] = { "family", "FAMILY", FK_TEXT, FF_JSON, HELP_FAMILY, 0, 0, 6 },
	[E_LADDR] = { "laddr", "LADDR", FK_LABEL, EV, HELP_LADDR, 0, 0, 39 },
	[E_LPORT] = { "lport", "LPORT", FK_LABEL, EV, HELP_LPORT, 0, 0, 5 },
	[E_RADDR] = { "raddr", "RADDR", FK_LABEL, EV, HELP_RADDR, 0, 0, 39 },
	[E_RPORT] = { "rport", "RPORT", FK_LABEL, EV, HELP_RPORT, 0, 0, 5 },
	[E_STATE] = { "state", "STATE", FK_TEXT, EW, HELP_STATE, 0, 0, 11 },
	[E_ORIGIN] = { "origin", "ORIGIN", FK_TEXT, EW, HELP_ORIGIN, 0, 0, 7 },
	[E_DUR] = { "duration_seconds", "DUR(ms)", FK_GAUGE, EW,
		    "From connect() or the handshake to close; null when set up before tcpchrono started", 0.001, 0, 9 },
	[E_TX] = { "acked_bytes", "TX(KiB)", FK_COUNTER, EV,
		   "Bytes acknowledged by the peer (tcpi_bytes_acked)", 1024, 0, 9 },
	[E_RX] = { "received_bytes", "RX(KiB)", FK_COUNTER, EV,
		   "Bytes received (tcpi_bytes_received)", 1024, 0, 9 },
	[E_BUSY] = { "busy_seconds", "BUSY(ms)", FK_COUNTER, EV,
		     "Seconds with data to send, limited or not (tcpi_busy_time)", 0.001, 0, 9 },
	[E_RWND] = { "rwnd_limited_seconds", "RWND(ms)", FK_COUNTER, EW,
		     "Seconds limited by the receive window (tcpi_rwnd_limited)", 0.001, 0, 9 },
	[E_RWND_RATIO] = { "rwnd_limited_ratio", "RWND%", FK_GAUGE, EV,
			   "Receive-window-limited time as a fraction of busy time (0-1); no value (JSON null) when never busy", 0.01, 1, 6 },
	[E_SNDBUF] = { "sndbuf_limited_seconds", "SNDBUF(ms)", FK_COUNTER, EW,
		       "Seconds limited by the send buffer (tcpi_sndbuf_limited)", 0.001, 0, 10 },
	[E_SNDBUF_RATIO] = { "sndbuf_limited_ratio", "SNDBUF%", FK_GAUGE, EV,
			     "Send-buffer-limited time as a fraction of busy time (0-1); no value (JSON null) when never busy", 0.01, 1, 7 },
	[E_RETRANS] = { "retransmitted_segments", "RETRANS", FK_COUNTER, EW,
			"Segments retransmitted (tcpi_total_retrans)", 0, 0, 7 },
	[E_CHRONO] = { "chrono_running", "RUNNING", FK_TEXT, EW, HELP_CHRONO, 0, 0, 14 },
};
/* Facts about the event stream: top-level fields of every JSON line. */
enum { EM_MECH, EM_OWNERS, EM_TRANSPORT, EM_HZ, EM_HZ_SOURCE, EMNFIELDS };
static const struct field emfields[EMNFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0, HELP_MECH, 0, 0, 0 },
	[EM_OWNERS] = { "owners", "", FK_LABEL, 0, HELP_OWNERS, 0, 0, 0 },
	[EM_TRANSPORT] = { "transport", "", FK_LABEL, 0, "Event transport: ringbuf or perfbuf", 0, 0, 0 },
	[EM_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[EM_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0, HELP_HZ_SOURCE, 0, 0, 0 },
};
static const struct schema ev_meta_schema = { "tcpchrono", "close", emfields, EMNFIELDS, NULL };
/* JSON "type": the array name */
static const struct schema ev_schema = { "tcpchrono", "close", efields, ENFIELDS, &ev_meta_schema };

/* Live mode: per-interval deltas, most limited first, and the connection's
 * totals (the kernel's, since the connection began). */
enum {
	L_PID, L_COMM, L_FAMILY, L_LADDR, L_LPORT, L_RADDR, L_RPORT, L_STATE, L_ORIGIN,
	L_BUSY, L_RWND, L_SNDBUF, L_LIMITED_RATIO, L_TX, L_RX, L_RETRANS, L_CHRONO,
	L_BUSY_T, L_RWND_T, L_SNDBUF_T, L_TX_T, L_RX_T, L_RETRANS_T, LNFIELDS
};

#define LT (FF_JSON | FF_PROM | FF_WIDE)
static const struct field lfields[LNFIELDS] = {
	[L_PID] = F_PID(FF_ALL),
	[L_COMM] = F_COMM(FF_ALL),
	[L_FAMILY] = { "family", "FAMILY", FK_TEXT, FF_JSON, HELP_FAMILY, 0, 0, 0 },
	[L_LADDR] = { "laddr", "LADDR", FK_LABEL, FF_ALL, HELP_LADDR, 0, 0, 0 },
	[L_LPORT] = { "lport", "LPORT", FK_LABEL, FF_ALL, HELP_LPORT, 0, 0, 0 },
	[L_RADDR] = { "raddr", "RADDR", FK_LABEL, FF_ALL, HELP_RADDR, 0, 0, 0 },
	[L_RPORT] = { "rport", "RPORT", FK_LABEL, FF_ALL, HELP_RPORT, 0, 0, 0 },
	[L_STATE] = { "state", "STATE", FK_TEXT, FF_JSON | FF_WIDE, HELP_STATE, 0, 0, 0 },
	[L_ORIGIN] = { "origin", "ORIGIN", FK_TEXT, FF_JSON | FF_WIDE, HELP_ORIGIN, 0, 0, 0 },
	[L_BUSY] = { "interval_busy_seconds", "BUSY(ms)", FK_GAUGE, FF_ALL,
		     "Seconds the sender was busy during the last interval", 0.001, 0, 0 },
	[L_RWND] = { "interval_rwnd_limited_seconds", "RWND(ms)", FK_GAUGE, FF_ALL,
		     "Seconds limited by the receive window during the last interval", 0.001, 0, 0 },
	[L_SNDBUF] = { "interval_sndbuf_limited_seconds", "SNDBUF(ms)", FK_GAUGE, FF_ALL,
		       "Seconds limited by the send buffer during the last interval", 0.001, 0, 0 },
	[L_LIMITED_RATIO] = { "limited_ratio", "LIMITED%", FK_GAUGE, FF_ALL,
			      "Receive-window plus send-buffer limited time as a fraction of busy time (0-1), "
			      "last interval; no value (JSON null) when not busy", 0.01, 1, 0 },
	[L_TX] = { "interval_acked_bytes", "TX(KiB)", FK_GAUGE, FF_ALL,
		   "Bytes acknowledged by the peer during the last interval", 1024, 0, 0 },
	[L_RX] = { "interval_received_bytes", "RX(KiB)", FK_GAUGE, LT, "Bytes received during the last interval", 1024, 0, 0 },
	[L_RETRANS] = { "interval_retransmitted_segments", "RETRANS", FK_GAUGE, LT,
			"Segments retransmitted during the last interval", 0, 0, 0 },
	[L_CHRONO] = { "chrono_running", "RUNNING", FK_TEXT, FF_JSON | FF_WIDE, HELP_CHRONO, 0, 0, 0 },
	[L_BUSY_T] = { "busy_seconds", "BUSY-TOT(ms)", FK_COUNTER, LT,
		       "Seconds busy since the connection began (tcpi_busy_time)", 0.001, 0, 0 },
	[L_RWND_T] = { "rwnd_limited_seconds", "RWND-TOT(ms)", FK_COUNTER, LT,
		       "Seconds receive-window limited since the connection began (tcpi_rwnd_limited)", 0.001, 0, 0 },
	[L_SNDBUF_T] = { "sndbuf_limited_seconds", "SNDBUF-TOT(ms)", FK_COUNTER, LT,
			 "Seconds send-buffer limited since the connection began (tcpi_sndbuf_limited)", 0.001, 0, 0 },
	[L_TX_T] = { "acked_bytes", "TX-TOT(KiB)", FK_COUNTER, LT,
		     "Bytes acknowledged by the peer since the connection began (tcpi_bytes_acked)", 1024, 0, 0 },
	[L_RX_T] = { "received_bytes", "RX-TOT(KiB)", FK_COUNTER, LT,
		     "Bytes received since the connection began (tcpi_bytes_received)", 1024, 0, 0 },
	[L_RETRANS_T] = { "retransmitted_segments", "RETRANS-TOT", FK_COUNTER, LT,
			  "Segments retransmitted since the connection began (tcpi_total_retrans)", 0, 0, 0 },
};
/* Facts about a snapshot: static ones are labels of bpfscope_tcpchrono_info,
 * the numbers gauges of their own. */
enum { LM_MECH, LM_OWNERS, LM_HZ, LM_HZ_SOURCE, LM_INTERVAL, LM_SWEEP_CONNS, LM_SWEEP_SECS, LMNFIELDS };
static const struct field lmfields[LMNFIELDS] = {
	[LM_MECH] = { "mechanism", "", FK_LABEL, 0, HELP_MECH, 0, 0, 0 },
	[LM_OWNERS] = { "owners", "", FK_LABEL, 0, HELP_OWNERS, 0, 0, 0 },
	[LM_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[LM_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0, HELP_HZ_SOURCE, 0, 0, 0 },
	[LM_INTERVAL] = { "interval_seconds", "", FK_GAUGE, 0, "Seconds the interval deltas cover", 0, 0, 0 },
	[LM_SWEEP_CONNS] = { "sweep_connections", "", FK_GAUGE, 0,
			     "Connections the last sweep sampled, before filters", 0, 0, 0 },
	[LM_SWEEP_SECS] = { "sweep_seconds", "", FK_GAUGE, 0,
			    "Seconds the last sweep took (owner scan and tcp iterator)", 0, 0, 0 },
};
static const struct schema live_meta_schema = { "tcpchrono", "connections", lmfields, LMNFIELDS, NULL };
static const struct schema live_schema = { "tcpchrono", "connections", lfields, LNFIELDS, &live_meta_schema };
OUT_REGISTER(&ev_schema, &live_schema);

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

/* ---- state ---------------------------------------------------------- */

static struct tcpchrono_bpf *skel;
static struct evbuf *eb;
static uint64_t nevents;
static int write_err;
static char mech_state[64], mech_owner[192];
static int kernel_hz;
static const char *hz_source;
/* "state" owners: sweeps of every file table while accepted connections
 * are waiting for an owner (see tc_sweep_due) */
static bool sweeping;
static struct tc_sweeper sweeper;

static long drain_iter(struct bpf_link *link, char **buf);

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
static void owner_sweep(double start)
{
	uint64_t before = bss_read(&skel->bss->scan_resolved);
	char *buf = NULL;
	long len = drain_iter(skel->links.tc_iter_files, &buf);

	free(buf);
	if (len < 0)
		note("owner scan failed: %s", errno_name((int)-len));
	tc_sweep_done(&sweeper, start, now_mono(), bss_read(&skel->bss->scan_resolved) - before);
}

static void maybe_sweep(void)
{
	double now = now_mono();
	uint64_t opened = bss_read(&skel->bss->passive_opened);
	uint64_t settled = bss_read(&skel->bss->passive_settled);

	if (tc_sweep_due(&sweeper, now, opened, settled))
		owner_sweep(now);
}

/* ---- event mode ----------------------------------------------------- */

static const struct ident_idx ev_ix = {
	E_PID, E_COMM, E_FAMILY, E_LADDR, E_LPORT, E_RADDR, E_RPORT, E_STATE, E_ORIGIN, E_CHRONO,
};

static int on_event(void *ctx, const void *data, size_t size)
{
	struct tc_record copy; /* perf buffer records are only 4-byte aligned */
	const struct tc_record *r = &copy;
	(void)ctx;
	if (size < sizeof(copy) || (copts.count && nevents >= (uint64_t)copts.count))
		return 0;
	memcpy(&copy, data, sizeof(copy));
	struct record *rec = event_new(&ev_schema);
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
	if (err) {
		write_err = err;
		loop_request_stop();
		return 0;
	}
	nevents++;
	if (copts.count && nevents >= (uint64_t)copts.count)
		loop_request_stop();
	return 0;
}

/* Missed runs of our programs (recursion_misses): about once a second in
 * event mode, before each snapshot in live mode. */
static void refresh_missed(void)
{
	out_set_missed(bpfobj_recursion_misses(skel->obj));
}

static void run_events(void)
{
	double missed_at;

	eb = evbuf_open(skel->maps.events, skel->maps.events_lost, on_event, NULL);
	if (!eb)
		die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
	event_meta("mechanism", "%s", mech_state);
	event_meta("owners", "%s", mech_owner);
	event_meta("transport", "%s", evbuf_mechanism(eb));
	event_meta_u64("kernel_hz", (uint64_t)kernel_hz);
	event_meta("kernel_hz_source", "%s", hz_source);
	refresh_missed();
	missed_at = now_mono();
	if ((write_err = event_start(&ev_schema)))
		goto out;
	/* lost events: evbuf counts them for every line and warns on stderr */
	while (!loop_stopping()) {
		/* woken when a batch is waiting; drained every 100 ms regardless */
		int err = evbuf_poll(eb, 100);
		if (err >= 0 && !loop_stopping())
			err = evbuf_consume(eb);
		if (err < 0)
			die(EXIT_FAIL, "cannot read events: %s", errno_name(-err));
		if (sweeping && !loop_stopping())
			maybe_sweep();
		if (now_mono() - missed_at >= 1.0) {
			refresh_missed();
			missed_at = now_mono();
		}
	}
	if (!write_err && !(copts.count && nevents >= (uint64_t)copts.count))
		evbuf_consume(eb); /* what arrived before the signal */
out:
	if (write_err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-write_err));
}

/* ---- live mode ------------------------------------------------------ */

/* Read an iterator to its end.  Returns bytes read or -errno. */
static long drain_iter(struct bpf_link *link, char **buf)
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

struct sweep {
	struct tc_record *r;
	int n;
	double secs;
};

static void sweep(struct sweep *s)
{
	char *buf = NULL;
	long len;
	double t0 = now_mono();

	if (skel->links.tc_iter_files) {
		len = drain_iter(skel->links.tc_iter_files, &buf);
		free(buf);
		if (len < 0)
			note("owner scan failed: %s", errno_name((int)-len));
	}
	len = drain_iter(skel->links.tc_iter_tcp, &buf);
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

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

static bool same_conn(const struct tc_record *a, const struct tc_record *b)
{
	return a->sport == b->sport && a->dport == b->dport && a->family == b->family &&
	       !memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16) &&
	       a->busy_us >= b->busy_us && a->bytes_acked >= b->bytes_acked;
}

static const struct ident_idx live_ix = {
	L_PID, L_COMM, L_FAMILY, L_LADDR, L_LPORT, L_RADDR, L_RPORT, L_STATE, L_ORIGIN, L_CHRONO,
};

static int live_snapshot(const struct sweep *cur, const struct sweep *prev, double dt)
{
	struct row *rows = xcalloc(cur->n ? cur->n : 1, sizeof(*rows));
	int nrows = 0;
	uint64_t min_busy = (uint64_t)llround(o.min_busy_ms * 1000);
	uint64_t limited_bp = (uint64_t)llround(o.limited_pct * 100);

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

	refresh_missed();
	struct snapshot *sn = snap_begin(&live_schema);
	snap_meta(sn, "mechanism", "iter/tcp (this network namespace)");
	snap_meta(sn, "owners", "%s", mech_owner);
	snap_meta_u64(sn, "kernel_hz", (uint64_t)kernel_hz);
	snap_meta(sn, "kernel_hz_source", "%s", hz_source);
	/* microseconds are plenty, and read back shortest */
	snap_meta_num(sn, "interval_seconds", round(dt * 1e6) / 1e6);
	snap_meta_u64(sn, "sweep_connections", (uint64_t)cur->n);
	snap_meta_num(sn, "sweep_seconds", round(cur->secs * 1e6) / 1e6);
	for (int i = 0; i < nrows && (!o.top || i < o.top); i++) {
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

static int live_interval(void *ctx, double dt)
{
	struct sweep *prev = ctx, cur;
	sweep(&cur);
	int err = live_snapshot(&cur, prev, dt);
	free(prev->r);
	*prev = cur;
	return err;
}

static void run_live(void)
{
	struct sweep prev = { 0 };

	sweep(&prev);
	int err = snapshot_run(copts.interval, copts.count, NULL, NULL, live_interval, &prev);
	free(prev.r);
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
}

/* ---- the kernel's HZ ------------------------------------------------ */

/* libbpf resolves CONFIG_HZ from the kernel's config file when it has one. */
static bool kconfig_readable(void)
{
	struct utsname u;
	char path[sizeof(u.release) + 16];

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	return !access(path, R_OK) || !access("/proc/config.gz", R_OK);
}

static int timer_list_jiffies(uint64_t *j, double *when)
{
	FILE *f = fopen("/proc/timer_list", "r");
	char line[256];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "jiffies: %" SCNu64, j) == 1) {
			*when = now_mono();
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/* No config file: count the kernel's jiffies against the monotonic clock and
 * take the nearest HZ the kernel can be built with. */
static int measure_hz(void)
{
	static const int choices[] = { 100, 250, 300, 1000 };
	uint64_t j0, j1;
	double t0, t1;
	struct timespec nap = { 0, 250 * 1000 * 1000 };

	if (timer_list_jiffies(&j0, &t0))
		return -1;
	nanosleep(&nap, NULL);
	if (timer_list_jiffies(&j1, &t1) || t1 <= t0)
		return -1;
	double rate = (double)(j1 - j0) / (t1 - t0);
	int best = 0;
	for (unsigned i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (!best || fabs(rate - choices[i]) < fabs(rate - best))
			best = choices[i];
	return fabs(rate - best) <= best * 0.1 ? best : -1;
}

/* ---- main ----------------------------------------------------------- */

static void attach(struct bpf_program *prog, struct bpf_link **link, const char *what)
{
	if (!bpf_program__autoload(prog))
		return;
	*link = bpf_program__attach(prog);
	if (!*link)
		die(EXIT_FAIL, "cannot attach %s: %s (try --method raw_tp)", what, errno_name(errno));
}

int main(int argc, char **argv)
{
	char kconfig[32] = "";
	int err;

	opts_parse(&argp, argc, argv, NULL);
	o.live |= copts.interval_set;
	if (o.live && !copts.interval_set)
		copts.interval = 1.0;
	if (!o.live && copts.format == OUT_PROM)
		die(EXIT_USAGE, "-o prom needs live mode (-i SEC or --top): close events are a stream (see --help)");
	if (!o.live && copts.file)
		die(EXIT_USAGE, "--file needs live mode (-i SEC or --top) (see --help)");
	if (copts.state)
		die(EXIT_USAGE, "--state does not apply: tcpchrono's counters are the kernel's own "
		    "per-connection totals, which need no state across runs (see tcpchrono(8))");
	if (o.family == AF_INET) /* IPv4 addresses only: the event table's narrower columns */
		efields[E_LADDR].width = efields[E_RADDR].width = 15;
	require_bpf_privileges();
	probe_require_btf();
	if (o.pid && !proc_exists(o.pid))
		die(EXIT_NOTFOUND, "no process with pid %d", o.pid);

	/* probe: the state-change hook */
	bool tp_btf = o.method.state != TC_STATE_RAW_TP && probe_tp_btf("inet_sock_set_state");
	if (!tp_btf && o.method.state == TC_STATE_TP_BTF)
		die(EXIT_NOFEATURE, "kernel lacks tp_btf for sock:inet_sock_set_state (try --method raw_tp)");
	if (!tp_btf && !probe_raw_tp("inet_sock_set_state"))
		die(EXIT_NOFEATURE, "kernel lacks the sock:inet_sock_set_state tracepoint (Linux 4.16+)");
	snprintf(mech_state, sizeof(mech_state), "%s sock/inet_sock_set_state", tp_btf ? "tp_btf" : "raw_tp");

	/* probe: who accepted a connection.  Only accept-time hooks by default;
	 * without one, the process that closes it and file-table sweeps.  The
	 * system-call hook only when asked for: every process pays for it. */
	enum tc_owner_hook owner = o.method.owner;
	bool scan = probe_iter("task_file") && probe_btf_func("bpf_sock_from_file");
	if (owner == TC_OWNER_AUTO || owner == TC_OWNER_FEXIT) {
		bool ok = probe_btf_func("inet_accept") && probe_fentry();
		if (ok)
			owner = TC_OWNER_FEXIT;
		else if (owner == TC_OWNER_FEXIT)
			die(EXIT_NOFEATURE, "kernel lacks BPF trampolines for fexit/inet_accept "
			    "(try --method kprobe or --method state)");
		else
			owner = probe_kprobe() ? TC_OWNER_KPROBE : TC_OWNER_STATE;
	} else if (owner == TC_OWNER_KPROBE && !probe_kprobe()) {
		die(EXIT_NOFEATURE, "kernel lacks kprobes for kretprobe/inet_csk_accept (try --method state)");
	}
	bool sys_tp_btf = false, sys_raw = false;
	if (owner == TC_OWNER_SYSCALLS) {
#if defined(__x86_64__)
		sys_tp_btf = o.method.state != TC_STATE_RAW_TP && probe_tp_btf("sys_exit");
		sys_raw = !sys_tp_btf && probe_raw_tp("sys_exit");
#endif
		if (!sys_tp_btf && !sys_raw)
			die(EXIT_NOFEATURE, "--method syscalls needs the raw_syscalls:sys_exit tracepoint on x86_64");
		warnx_("--method syscalls: a BPF program runs at the exit of every system call of every process");
	}
	if (o.live && !probe_iter("tcp"))
		die(EXIT_NOFEATURE, "live mode needs the tcp iterator (iter/tcp, Linux 5.9+)");

	/* probe: the kernel's HZ */
	if (kconfig_readable()) {
		hz_source = "kernel config";
	} else {
		int hz = measure_hz();
		if (hz <= 0)
			die(EXIT_NOFEATURE, "cannot tell the kernel's HZ: no /boot/config-$(uname -r), "
			    "/proc/config.gz or /proc/timer_list");
		snprintf(kconfig, sizeof(kconfig), "CONFIG_HZ=%d\n", hz);
		hz_source = "measured from jiffies";
		note("no kernel config file: HZ %d measured from /proc/timer_list", hz);
	}

	/* open, configure */
	LIBBPF_OPTS(bpf_object_open_opts, oo, .kconfig = kconfig[0] ? kconfig : NULL);
	skel = tcpchrono_bpf__open_opts(&oo);
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	bpf_program__set_autoload(skel->progs.tc_state, tp_btf);
	bpf_program__set_autoload(skel->progs.tc_state_raw, !tp_btf);
	bpf_program__set_autoload(skel->progs.tc_accept_fx, owner == TC_OWNER_FEXIT);
	bpf_program__set_autoload(skel->progs.tc_accept_kr, owner == TC_OWNER_KPROBE);
	bpf_program__set_autoload(skel->progs.tc_sysexit, sys_tp_btf);
	bpf_program__set_autoload(skel->progs.tc_sysexit_raw, sys_raw);
	bpf_program__set_autoload(skel->progs.tc_iter_files, scan);
	bpf_program__set_autoload(skel->progs.tc_iter_tcp, o.live);
	if (!scan)
		note("iter/task_file or bpf_sock_from_file missing: tc_iter_files not loaded");
	skel->rodata->emit_events = !o.live;
	skel->rodata->filter_pid = o.pid;
	skel->rodata->filter_family = o.family;
	skel->rodata->filter_nports = o.nports;
	memcpy((void *)skel->rodata->filter_ports, o.ports, sizeof(o.ports));
	if (!o.live) {
		skel->rodata->filter_min_busy_us = (uint64_t)llround(o.min_busy_ms * 1000);
		skel->rodata->filter_limited_bp = (uint64_t)llround(o.limited_pct * 100);
	}
#if defined(__x86_64__)
	skel->rodata->nr_accept = SYS_accept;
	skel->rodata->nr_accept4 = SYS_accept4;
#endif
	if (o.ringbuf_pages)
		bpf_map__set_max_entries(skel->maps.events, o.ringbuf_pages * getpagesize());
	/* the reader drains every 100 ms and is woken early only when an eighth
	 * of the ring buffer is waiting: no wakeup per event on busy hosts */
	skel->rodata->wakeup_bytes = bpf_map__max_entries(skel->maps.events) / 8;
	evbuf_configure(skel->maps.events, o.perf_buffer, &skel->rodata->events_use_perf);

	err = tcpchrono_bpf__load(skel);
	if (err)
		die_bpf_load(err);
	kernel_hz = skel->kconfig->CONFIG_HZ;

	/* attach */
	attach(skel->progs.tc_state, &skel->links.tc_state, "tp_btf/inet_sock_set_state");
	attach(skel->progs.tc_state_raw, &skel->links.tc_state_raw, "raw_tp/inet_sock_set_state");
	attach(skel->progs.tc_accept_fx, &skel->links.tc_accept_fx, "fexit/inet_accept");
	if (owner == TC_OWNER_KPROBE) {
		skel->links.tc_accept_kr = bpf_program__attach(skel->progs.tc_accept_kr);
		if (!skel->links.tc_accept_kr) {
			if (o.method.owner == TC_OWNER_KPROBE)
				die(EXIT_FAIL, "cannot attach kretprobe/inet_csk_accept: %s (try --method state)",
				    errno_name(errno));
			note("kretprobe/inet_csk_accept: %s: owners from closing processes and sweeps instead",
			     errno_name(errno));
			owner = TC_OWNER_STATE;
		}
	}
	attach(skel->progs.tc_sysexit, &skel->links.tc_sysexit, "tp_btf/sys_exit");
	attach(skel->progs.tc_sysexit_raw, &skel->links.tc_sysexit_raw, "raw_tp/sys_exit");
	if (scan) {
		skel->links.tc_iter_files = bpf_program__attach_iter(skel->progs.tc_iter_files, NULL);
		if (!skel->links.tc_iter_files)
			die(EXIT_FAIL, "cannot attach the task_file iterator: %s", errno_name(errno));
		char *buf = NULL;
		long len = drain_iter(skel->links.tc_iter_files, &buf); /* owners of earlier connections */
		free(buf);
		if (len < 0)
			note("owner scan failed: %s", errno_name((int)-len));
	}
	const char *accept_how =
		owner == TC_OWNER_FEXIT ? "fexit inet_accept" :
		owner == TC_OWNER_KPROBE ? "kretprobe inet_csk_accept" :
		sys_tp_btf ? "tp_btf raw_syscalls/sys_exit" :
		sys_raw ? "raw_tp raw_syscalls/sys_exit" :
		scan ? "closing process (sock/inet_sock_set_state) + iter/task_file sweeps" :
		"closing process (sock/inet_sock_set_state)";
	snprintf(mech_owner, sizeof(mech_owner), "connect: sock/inet_sock_set_state, accept: %s%s",
		 accept_how, scan ? ", earlier: iter/task_file" : "");
	if (owner != TC_OWNER_FEXIT)
		note("owners of accepted connections: %s", accept_how);
	/* live mode sweeps every interval anyway */
	sweeping = !o.live && scan && owner != TC_OWNER_FEXIT && owner != TC_OWNER_KPROBE;
	if (sweeping)
		tc_sweeper_init(&sweeper, now_mono(), bss_read(&skel->bss->passive_opened));
	if (o.live) {
		skel->links.tc_iter_tcp = bpf_program__attach_iter(skel->progs.tc_iter_tcp, NULL);
		if (!skel->links.tc_iter_tcp)
			die(EXIT_FAIL, "cannot attach the tcp iterator: %s", errno_name(errno));
	}
	note("ready: programs attached%s", scan ? ", owners of earlier connections scanned" : "");

	/* loop */
	loop_init();
	if (o.live)
		run_live();
	else
		run_events();

	evbuf_free(eb);
	event_meta_free();
	tcpchrono_bpf__destroy(skel);
	return EXIT_OK;
}
