// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpchrono: for each TCP connection, how long was the sender busy, and how
 * much of that was it limited by the receiver's window or by its own send
 * buffer?  One line per connection when it closes, or (-i, --top) every
 * connection sampled each interval, most starved first.
 *
 * This file: options, hooks, records, main.  tcreport.c renders close
 * events and live snapshots and runs the owner sweeps.
 */
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "hooks.h"
#include "hz.h"
#include "loop.h"
#include "netns.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "tcreport.h"
#include "util.h"
#include "tcpchrono.h"
#include "tcpchrono.skel.h"

/* ---- options -------------------------------------------------------- */

static struct {
	uint16_t ports[TC_MAX_PORTS];
	int nports;
	double min_busy_ms;
	double limited_pct;
	long top;          /* rows kept in live mode; 0 = all */
	bool live;
	bool top_set;
	unsigned ringbuf_pages;
} o;

enum { OPT_PORT = 0x2000, OPT_MIN_BUSY, OPT_LIMITED, OPT_TOP, OPT_RINGBUF_PAGES };

static const struct argp_option options[] = {
	{ "port", OPT_PORT, "PORT[,PORT]", 0, "Only connections with PORT at either end (up to 8)", 1 },
	{ "min-busy", OPT_MIN_BUSY, "MS", 0, "Only connections busy at least MS milliseconds (live mode: in the interval)", 1 },
	{ "limited", OPT_LIMITED, "PCT", 0, "Only connections limited (rwnd + sndbuf) at least PCT% of their busy time", 1 },
	{ "top", OPT_TOP, "N", OPTION_ARG_OPTIONAL, "Live mode: the N most limited connections each interval (default 10; interval 1 s unless -i)", 2 },
	{ "ringbuf-pages", OPT_RINGBUF_PAGES, "N", OPTION_HIDDEN, "Ring buffer size in pages (tests)", 2 },
	{ 0 },
};

static const char doc[] =
	"tcpchrono: TCP sender chronographs (busy, receive-window-limited and send-buffer-limited time) "
	"for every connection, when it closes or live.\v"
	"Close events are the default mode (-e says so explicitly; -c counts events); -i or --top "
	"samples every connection live, in the network namespace -N names.  --mechanism: tp_btf or "
	"raw_tp for state changes; fexit, kretprobe, sweeps or syscalls (costs every system call; "
	"see the man page) for the owners of accepted connections.\n\n"
	"Examples:\n"
	"  tcpchrono                    # one line per connection as it closes\n"
	"  tcpchrono --port 443 --limited 50  # port 443 connections limited half their busy time\n"
	"  tcpchrono --top              # the 10 most starved connections, every second\n"
	"  tcpchrono -N web --top       # the same in network namespace web\n"
	"  tcpchrono -i 5 -o prom --file /var/lib/prometheus/node-exporter/tcpchrono.prom";

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
	switch (key) {
	case OPT_PORT:
		parse_ports(arg);
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
		o.live = o.top_set = true;
		break;
	case OPT_RINGBUF_PAGES:
		o.ringbuf_pages = opt_u32("--ringbuf-pages", arg, 1, 1u << 16);
		if (o.ringbuf_pages & (o.ringbuf_pages - 1))
			die(EXIT_USAGE, "invalid --ringbuf-pages '%s': expected a power of 2 (see --help)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_PID, OPTG_FAMILY, OPTG_NETNS, OPTG_EVENTS, OPTG_MECHANISM);

/* ---- hooks ---------------------------------------------------------- */

/* The accept() system call's number is the x86_64 one. */
static bool on_x86_64(const struct hook_alt *a, const char **why)
{
	(void)a;
	(void)why;
#if defined(__x86_64__)
	return true;
#else
	*why = "only on x86_64";
	return false;
#endif
}

/* Iterating file tables needs bpf_sock_from_file() (5.11). */
static bool sock_from_file(const struct hook_alt *a, const char **why)
{
	(void)a;
	if (probe_btf_func("bpf_sock_from_file"))
		return true;
	*why = "no bpf_sock_from_file()";
	return false;
}

/*
 * Owners of accepted connections: a hook at accept time where the kernel
 * has one; else (or with --mechanism sweeps) the process that closes the
 * connection and sweeps of the file tables while owners are pending; the
 * system-call hook only on request (every process pays for it).
 */
enum { HK_STATE, HK_ACCEPT, HK_FILES, HK_TCP, NHOOKS };
static struct hook hooks[NHOOKS] = {
	[HK_STATE] = { "inet_sock_set_state", HOOK_REQUIRED,
		       .alt = { HOOK_TP_TWIN("tc_state", "inet_sock_set_state") } },
	[HK_ACCEPT] = { "accept", HOOK_OPTIONAL, "owners of accepted connections: the process that closes them",
			.alt = { { MECH_FEXIT, "tc_accept_fx", "inet_accept" },
				 { MECH_KRETPROBE, "tc_accept_kr", "inet_csk_accept" },
				 { MECH_TP_BTF, "tc_sysexit", "sys_exit", "syscalls", on_x86_64, .on_request = true },
				 { MECH_ITER, "owners_scan", "task_file", "sweeps", sock_from_file, .manual = true } } },
	[HK_FILES] = { "task_file", HOOK_OPTIONAL, "owners of connections set up before tcpchrono started stay unknown",
		       .alt = { { MECH_ITER, "owners_scan", "task_file", .probe = sock_from_file, .manual = true } } },
	[HK_TCP] = { "tcp", HOOK_REQUIRED, .alt = { { MECH_ITER, "tc_iter_tcp", "tcp", .manual = true } } },
};

/* The owners fact: how each kind of connection gets its owner. */
static void describe_owners(char *buf, size_t len)
{
	const char *accept = hook_chosen(&hooks[HK_ACCEPT]), *how = "closing process (sock/inet_sock_set_state)";
	bool files = hook_active(&hooks[HK_FILES]);

	if (accept && !strcmp(accept, "fexit"))
		how = "fexit inet_accept";
	else if (accept && !strcmp(accept, "kretprobe"))
		how = "kretprobe inet_csk_accept";
	else if (accept && !strcmp(accept, "syscalls"))
		how = "tp_btf raw_syscalls/sys_exit";
	else if (accept && !strcmp(accept, "sweeps"))
		how = "closing process (sock/inet_sock_set_state) + iter/task_file sweeps";
	snprintf(buf, len, "connect: sock/inet_sock_set_state, accept: %s%s", how,
		 files ? ", earlier: iter/task_file" : "");
}

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
#define HELP_MECH "Hooks in use: the mechanism of every hook (inet_sock_set_state, accept, task_file; tcp in live mode), " \
	"or one name when they agree"
#define HELP_OWNERS "How owners are found: connect, accept, earlier connections"
#define HELP_HZ_SOURCE "Where kernel_hz came from: kernel config (/proc/config.gz, /boot) or measured"

/* Close events: one table line or JSON line (type "close") each.  Event
 * tables have fixed widths: addresses 39 (IPv6; 15 with -4), ports 5. */

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
static const struct field emfields[EMNFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0, HELP_MECH, 0, 0, 0 },
	[EM_OWNERS] = { "owners", "", FK_LABEL, 0, HELP_OWNERS, 0, 0, 0 },
	[EM_TRANSPORT] = { "transport", "", FK_LABEL, 0, "Event transport: ringbuf or perfbuf", 0, 0, 0 },
	[EM_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[EM_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0, HELP_HZ_SOURCE, 0, 0, 0 },
};
static const struct schema ev_meta_schema = { "tcpchrono", "close", emfields, EMNFIELDS, NULL };
/* JSON "type": the array name */
const struct schema tc_ev_schema = { "tcpchrono", "close", efields, ENFIELDS, &ev_meta_schema };

/* Live mode: per-interval deltas, most limited first, and the connection's
 * totals (the kernel's, since the connection began). */

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
static const struct field lmfields[LMNFIELDS] = {
	[LM_MECH] = { "mechanism", "", FK_LABEL, 0, HELP_MECH, 0, 0, 0 },
	[LM_OWNERS] = { "owners", "", FK_LABEL, 0, HELP_OWNERS, 0, 0, 0 },
	[LM_NETNS] = { "netns", "", FK_LABEL, 0, HELP_NETNS, 0, 0, 0 },
	[LM_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[LM_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0, HELP_HZ_SOURCE, 0, 0, 0 },
	[LM_INTERVAL] = { "interval_seconds", "", FK_GAUGE, 0, "Seconds the interval deltas cover", 0, 0, 0 },
	[LM_SWEEP_CONNS] = { "sweep_connections", "", FK_GAUGE, 0,
			     "Connections the last sweep sampled, before filters", 0, 0, 0 },
	[LM_SWEEP_SECS] = { "sweep_seconds", "", FK_GAUGE, 0,
			    "Seconds the last sweep took (owner scan and tcp iterator)", 0, 0, 0 },
};
static const struct schema live_meta_schema = { "tcpchrono", "connections", lmfields, LMNFIELDS, NULL };
const struct schema tc_live_schema = { "tcpchrono", "connections", lfields, LNFIELDS, &live_meta_schema };
OUT_REGISTER(&tc_ev_schema, &tc_live_schema);

/* ---- main ----------------------------------------------------------- */

static struct tcpchrono_bpf *skel;
static struct tc_report rep;

static uint64_t misses(void *ctx)
{
	return bpfobj_recursion_misses(ctx);
}

static void run_events(void)
{
	int err;

	rep.eb = evbuf_open(skel->maps.events, skel->maps.events_lost, tc_on_event, &rep);
	if (!rep.eb)
		die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
	evbuf_set_misses(rep.eb, misses, skel->obj);
	event_meta("mechanism", "%s", rep.mechanism);
	event_meta("owners", "%s", rep.owners);
	event_meta("transport", "%s", evbuf_mechanism(rep.eb));
	event_meta_u64("kernel_hz", rep.hz);
	event_meta("kernel_hz_source", "%s", rep.hz_source);
	out_set_missed(bpfobj_recursion_misses(skel->obj));
	if (rep.sweeping)
		tc_sweeper_init(&rep.sweeper, now_mono(), __atomic_load_n(&skel->bss->passive_opened, __ATOMIC_RELAXED));
	/* woken when an eighth of the buffer waits; drained every 100 ms regardless */
	err = event_start(&tc_ev_schema);
	if (!err)
		err = event_run(rep.eb, copts.count, 100, tc_event_idle, &rep);
	evbuf_free(rep.eb);
	event_meta_free();
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
}

static struct bpf_link *attach_iter(struct hook *h, const char *what)
{
	h->link = bpf_program__attach_iter(h->prog, NULL);
	if (!h->link)
		die_errno(errno, NULL, "cannot attach the %s iterator", what);
	return h->link;
}

/* Modes and the options that belong to them (exit 2 otherwise). */
static void check_modes(void)
{
	o.live |= copts.interval_set;
	if (copts.events && o.top_set)
		die(EXIT_USAGE, "--top samples connections live and cannot be used with -e (close events) (see --help)");
	if (o.live && !copts.interval_set)
		copts.interval = 1.0;
	if (!o.live && copts.format == OUT_PROM)
		die(EXIT_USAGE, "-o prom needs live mode (-i SEC or --top): close events are a stream (see --help)");
	if (!o.live && copts.file)
		die(EXIT_USAGE, "--file needs live mode (-i SEC or --top) (see --help)");
	if (copts.state)
		die(EXIT_USAGE, "--state does not apply: tcpchrono's counters are the kernel's own "
		    "per-connection totals, which need no state across runs (see tcpchrono(8))");
	if (copts.family == AF_INET) /* IPv4 addresses only: the event table's narrower columns */
		efields[E_LADDR].width = efields[E_RADDR].width = 15;
}

/* Open the object with the kernel's HZ, choose the hooks, set the filters. */
static void open_configured(const struct netns *ns)
{
	static char kconfig[32];

	/* the BPF side converts jiffies with the same HZ the front end reports */
	snprintf(kconfig, sizeof(kconfig), "CONFIG_HZ=%u\n", rep.hz);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .kconfig = kconfig);
	skel = tcpchrono_bpf__open_opts(&oo);
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	hooks[HK_TCP].off = !o.live;
	hooks_select(skel->obj, hooks, NHOOKS, copts.mechanism);
	const char *accept = hook_chosen(&hooks[HK_ACCEPT]);
	if (accept && !strcmp(accept, "syscalls"))
		warnx_("--mechanism syscalls: a BPF program runs at the exit of every system call of every process");
	skel->rodata->emit_events = !o.live;
	skel->rodata->filter_pid = copts.pid;
	skel->rodata->filter_family = copts.family;
	skel->rodata->filter_netns = !o.live ? (uint32_t)ns->ino : 0; /* live mode: the iterator's namespace */
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
	evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
}

/* Attach; the file-table iterator names owners of earlier connections at
 * once; the tcp iterator is created inside -N's namespace. */
static void attach_all(int ns_fd, const struct netns *ns)
{
	hooks_attach(hooks, NHOOKS);
	if (hook_active(&hooks[HK_FILES])) {
		char *buf = NULL;
		long len = tc_drain_iter(rep.files = attach_iter(&hooks[HK_FILES], "task_file"), &buf);
		free(buf);
		if (len < 0)
			note("owner scan failed: %s", errno_name((int)-len));
	}
	if (o.live) {
		/* the tcp iterator walks the namespace its fd is created in: stay there */
		if (ns_fd >= 0)
			netns_enter_or_die(ns_fd, ns->name);
		rep.tcp = attach_iter(&hooks[HK_TCP], "tcp");
	}
}

int main(int argc, char **argv)
{
	static char mechanism[256], owners[192];
	struct netns ns = { .name = "-" };
	int err, ns_fd = -1;

	opts_parse(&argp, argc, argv, NULL);
	check_modes();
	require_bpf_privileges();
	probe_require_btf();
	if (copts.netns)
		ns_fd = netns_require("--netns", copts.netns, &ns);
	rep.hz = kernel_hz(&rep.hz_source);
	if (!rep.hz)
		die(EXIT_NOFEATURE, "cannot tell the kernel's HZ: no /boot/config-$(uname -r), "
		    "/proc/config.gz or /proc/timer_list");
	open_configured(&ns);
	err = tcpchrono_bpf__load(skel);
	if (err)
		die_bpf_load(err);
	attach_all(ns_fd, &ns);
	hooks_mechanism(hooks, NHOOKS, mechanism, sizeof(mechanism));
	describe_owners(owners, sizeof(owners));
	note("ready: %s; owners: %s%s", mechanism, owners,
	     hook_active(&hooks[HK_FILES]) ? "; owners of earlier connections scanned" : "");

	rep.skel = skel;
	rep.mechanism = mechanism;
	rep.owners = owners;
	rep.netns = ns.name;
	rep.top = o.top;
	rep.min_busy_ms = o.min_busy_ms;
	rep.limited_pct = o.limited_pct;
	/* owners found by sweeps when no accept-time hook names them (live
	 * mode sweeps every interval anyway) */
	const char *accept = hook_chosen(&hooks[HK_ACCEPT]);
	rep.sweeping = !o.live && rep.files && (!accept || (strcmp(accept, "fexit") && strcmp(accept, "kretprobe")));
	if (o.live) {
		tc_live_start(&rep);
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, tc_live_interval, &rep);
		tc_live_free(&rep);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	} else {
		run_events();
	}
	hooks_detach(hooks, NHOOKS);
	tcpchrono_bpf__destroy(skel);
	if (ns_fd >= 0)
		close(ns_fd);
	return EXIT_OK;
}
