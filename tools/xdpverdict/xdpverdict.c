// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpverdict: what is XDP doing with my packets?  ABORTED / DROP / PASS /
 * TX / REDIRECT per interface, rx queue and program, plus every exception
 * and redirect error as it happens.
 *
 * Per interface, the best exact mechanism this kernel offers (xvrows.c):
 *   fexit       a trampoline on the XDP program itself (every driver, every
 *               mode; one copy of the BPF object per program, common/progwatch)
 *   driver      the driver's ethtool counters (native mode; xdpmap.c), with
 *               the xdp tracepoints for what the driver folds together
 *   tracepoint  xdp_exception / xdp_redirect(_err) alone: ABORTED and
 *               REDIRECT are exact, the rest is shown as unknown
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "opts.h"
#include "probe.h"
#include "util.h"
#include "xv.h"
#include "xvcheck.h"
#include "xvevents.h"
#include "xvns.h"
#include "xvrows.h"
#include "progwatch.h"
#include "xdpverdict.skel.h"

/* ---- options -------------------------------------------------------- */

struct xv_opts xo;

enum { OPT_ALL_NETNS = 0x2000, OPT_CHECK };

static const struct argp_option options[] = {
	{ "all-netns", OPT_ALL_NETNS, NULL, 0, "Every network namespace: this one, those under /run/netns and "
	  "those of running processes", 1 },
	{ "per-queue", 'q', NULL, 0, "One row per rx queue (fexit and driver counting)", 2 },
	{ "check", OPT_CHECK, "IFACE", OPTION_ARG_OPTIONAL, "Can IFACE (default: every interface) run XDP as "
	  "intended, and if not, why: one finding per line with its fix; attaches nothing (exit 8: not ready)", 2 },
	{ 0 },
};

static const char doc[] =
	"xdpverdict: XDP verdicts (ABORTED, DROP, PASS, TX, REDIRECT) per interface, queue and program.\v"
	"--mechanism: fexit or driver (how verdicts are counted), tp_btf or raw_tp (how the xdp tracepoints "
	"are attached; alone: count with the tracepoints only).\n"
	"Examples:\n"
	"  xdpverdict                    # every interface with XDP, each second\n"
	"  xdpverdict -I eth0 -q 5       # eth0 per rx queue, every 5 s\n"
	"  xdpverdict --all-netns -o json\n"
	"  xdpverdict -e                 # exceptions and redirect errors as they happen\n"
	"  xdpverdict --check eth0       # can eth0 run XDP natively, and deliver XDP_TX?\n"
	"  xdpverdict -o prom -c 1 -i 10 --file /var/lib/prometheus/node-exporter/xdpverdict.prom";

static const char *check_iface;

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case OPT_CHECK:
		xo.check = true;
		check_iface = arg;
		break;
	case ARGP_KEY_ARG:
		/* --check IFACE: the interface, not an interval */
		if (!xo.check || check_iface)
			return ARGP_ERR_UNKNOWN;
		check_iface = arg;
		break;
	case OPT_ALL_NETNS:
		xo.all_netns = true;
		break;
	case 'q':
		xo.per_queue = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_IFACE, OPTG_NETNS, OPTG_EVENTS, OPTG_MECHANISM);

/* --mechanism NAME[,NAME]: fexit and driver choose how verdicts are counted;
 * tp_btf and raw_tp how the xdp tracepoints are attached, and named without
 * fexit or driver, count with the tracepoints alone.  The driver's counters
 * are no kernel hook: "driver" is taken out of what hooks_select() sees.
 * Returns the hook names (NULL: none), malloc'd. */
static char *mechanism_option(const char *arg)
{
	char *hookm = NULL, *copy = xstrdup(arg), *save = NULL;
	bool fexit = false, driver = false, tp = false;
	size_t len = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "driver")) {
			driver = true;
			continue;
		}
		if (strcmp(t, "fexit") && strcmp(t, "tp_btf") && strcmp(t, "raw_tp"))
			die(EXIT_USAGE, "invalid --mechanism '%s': expected fexit, driver, tp_btf or raw_tp (see --help)", t);
		fexit |= !strcmp(t, "fexit");
		tp |= strcmp(t, "fexit") != 0;
		hookm = xrealloc(hookm, len + strlen(t) + 2);
		len += sprintf(hookm + len, "%s%s", len ? "," : "", t);
	}
	free(copy);
	if (fexit && driver)
		die(EXIT_USAGE, "--mechanism fexit and driver exclude each other: verdicts are counted one way (see --help)");
	xo.forced = fexit ? SRC_FEXIT : driver ? SRC_DRIVER : tp ? SRC_TRACEPOINT : SRC_NONE;
	return hookm;
}

/* ---- hooks ---------------------------------------------------------- */

/* Some kernels (6.1) refuse tp_btf programs that read the redirect
 * tracepoints' untyped target argument (void *): raw_tp then. */
static bool btf_redirect_refused;

static bool btf_redirect_ok(const struct hook_alt *a, const char **why)
{
	(void)a;
	*why = "this kernel refuses tp_btf reading its void * argument";
	return !btf_redirect_refused;
}

#define XV_REDIRECT_TWIN(name_, tp_)                                                              \
	{ .mech = MECH_TP_BTF, .prog = "btf_" name_, .target = tp_, .probe = btf_redirect_ok },     \
	{ .mech = MECH_RAW_TP, .prog = "raw_" name_, .target = tp_ }

struct hook hooks[H_N] = {
	/* aimed at each XDP program by common/progwatch (bpfclone_load): never
	 * loaded in the main object */
	[H_FEXIT] = { "xdp_program_return", HOOK_OPTIONAL, "exact counts of every verdict (driver counters or "
		      "tracepoints instead)", .alt = { { .mech = MECH_FEXIT, .prog = "xdp_exit", .clone = true } } },
	[H_EXCEPTION] = { "xdp_exception", HOOK_OPTIONAL, "ABORTED and XDP_TX errors",
			  .alt = { HOOK_TP_TWIN("exception", "xdp_exception") } },
	/* attached when a row counts with the tracepoints (xvrows.c) */
	[H_REDIRECT] = { "xdp_redirect", HOOK_OPTIONAL, "REDIRECT without fexit or driver counters",
			 .alt = { { .mech = MECH_TP_BTF, .prog = "btf_redirect", .target = "xdp_redirect",
				    .probe = btf_redirect_ok, .manual = true },
				  { .mech = MECH_RAW_TP, .prog = "raw_redirect", .target = "xdp_redirect",
				    .manual = true } } },
	[H_REDIRECT_ERR] = { "xdp_redirect_err", HOOK_OPTIONAL, "failed redirects",
			     .alt = { XV_REDIRECT_TWIN("redirect_err", "xdp_redirect_err") } },
	[H_BULK_TX] = { "xdp_bulk_tx", HOOK_OPTIONAL, "XDP_TX frames the driver dropped",
			.alt = { HOOK_TP_TWIN("bulk_tx", "xdp_bulk_tx") } },
	[H_DEVMAP_XMIT] = { "xdp_devmap_xmit", HOOK_OPTIONAL, "redirected frames the driver dropped",
			    .alt = { HOOK_TP_TWIN("devmap_xmit", "xdp_devmap_xmit") } },
};

struct xdpverdict_bpf *skel;

/* fexit copies, one per XDP program (rows choose them, xvrows.c) */
static void *xv_open(void) { return xdpverdict_bpf__open(); }
static struct bpf_object *xv_obj(void *s) { return ((struct xdpverdict_bpf *)s)->obj; }
static struct bpf_link **xv_link(void *s) { return &((struct xdpverdict_bpf *)s)->links.xdp_exit; }
static void xv_destroy(void *s) { xdpverdict_bpf__destroy(s); }
static void xv_prepare(void *s, uint32_t prog_id, const struct bpf_prog_info *info)
{
	(void)info;
	((struct xdpverdict_bpf *)s)->rodata->target_prog_id = prog_id;
}
static const struct progwatch_ops watch_ops = {
	.prog = "xdp_exit", .open = xv_open, .obj = xv_obj, .link = xv_link, .prepare = xv_prepare,
	.destroy = xv_destroy,
};
struct progwatch *watch;

const char *source_name(enum source s)
{
	static const char *const names[] = {
		[SRC_NONE] = "none", [SRC_FEXIT] = "fexit", [SRC_DRIVER] = "driver", [SRC_TRACEPOINT] = "tracepoint",
	};
	return names[s];
}

/* How the xdp tracepoints are attached: "tp_btf", or per tracepoint. */
static char *tp_mechanism(char *buf, size_t len)
{
	return hooks_mechanism(&hooks[H_TP_FIRST], H_TP_N, buf, len);
}

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot: the mechanisms (static, _info labels), remarks on
 * this snapshot's rows (text) and the updates the counting maps had no room
 * for (a counter). */
enum { M_TRACEPOINTS, M_FEXIT, M_NOTE, M_MISSED_UPDATES, M_NFIELDS };
static const struct field mfields[M_NFIELDS] = {
	[M_TRACEPOINTS] = { "tracepoints", "", FK_LABEL, 0,
			    "How the xdp tracepoints are attached: tp_btf or raw_tp, else per tracepoint "
			    "(xdp_exception: tp_btf, xdp_redirect: raw_tp, ...; none: not attached)", 0, 0, 0 },
	[M_FEXIT] = { "fexit", "", FK_LABEL, 0,
		      "BPF trampolines (fexit on the XDP programs): available, unavailable on this kernel, or "
		      "not used (--mechanism, --events)", 0, 0, 0 },
	[M_NOTE] = { "note", "", FK_TEXT, 0,
		     "Remarks on this snapshot: verdicts a mechanism cannot count, rows with no mechanism, "
		     "no XDP program attached", 0, 0, 0 },
	[M_MISSED_UPDATES] = { "missed_updates", "", FK_COUNTER, 0,
			       "Counter updates lost because a counting map was full "
			       "(4096 interface, queue and program combinations)", 0, 0, 0 },
};
static const struct schema snap_meta_schema = { "xdpverdict", "interfaces", mfields, M_NFIELDS, NULL };

/* The verdict counts are table (--wide) and JSON columns; Prometheus has
 * them as one metric with a verdict label (verdict_schema below). */
#define CNT (FF_JSON | FF_WIDE)
#define ERRCNT (FF_JSON | FF_PROM | FF_WIDE)
#define RATE (FF_TABLE | FF_JSON)
static struct field fields[R_NFIELDS] = {
	[R_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[R_IFACE] = F_IFACE(FF_ALL),
	[R_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[R_QUEUE] = { "queue", "QUEUE", FK_LABEL, FF_JSON | FF_WIDE,
		      "Rx queue (with --per-queue; null on the interface's own row)", 0, 0, 0 },
	[R_DRIVER] = { "driver", "DRIVER", FK_TEXT, FF_JSON | FF_WIDE, "Driver of the interface (ethtool -i)", 0, 0, 0 },
	[R_MODE] = { "mode", "MODE", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE,
		     "XDP attach mode: native, generic or offload", 0, 0, 0 },
	[R_PROG_ID] = F_PROG_ID(FF_ALL),
	[R_PROG] = F_PROG_NAME(FF_JSON | FF_PROM | FF_WIDE),
	[R_SOURCE] = { "source", "SOURCE", FK_LABEL, FF_ALL,
		       "Counting mechanism: fexit, driver, tracepoint or none", 0, 0, 0 },
	[R_ABORTED] = { "aborted", "ABORTED", FK_COUNTER, CNT,
			"Packets the program returned XDP_ABORTED (or an invalid action) for", 0, 0, 0 },
	[R_DROP] = { "drop", "DROP", FK_COUNTER, CNT, "Packets the program returned XDP_DROP for", 0, 0, 0 },
	[R_PASS] = { "pass", "PASS", FK_COUNTER, CNT, "Packets the program returned XDP_PASS for", 0, 0, 0 },
	[R_TX] = { "tx", "TX", FK_COUNTER, CNT, "Packets the program returned XDP_TX for", 0, 0, 0 },
	[R_REDIRECT] = { "redirect", "REDIRECT", FK_COUNTER, CNT,
			 "Packets the program returned XDP_REDIRECT for", 0, 0, 0 },
	[R_PACKETS] = { "packets", "PACKETS", FK_COUNTER, CNT,
			"Packets the program ran on (all five verdicts, when all are known)", 0, 0, 0 },
	[R_REDIR_ERR] = { "redirect_errors", "REDIR_ERR", FK_COUNTER, ERRCNT,
			  "XDP_REDIRECTs that failed (xdp_redirect_err)", 0, 0, 0 },
	[R_TX_ERR] = { "tx_errors", "TX_ERR", FK_COUNTER, ERRCNT,
		       "XDP_TX frames that could not be queued (xdp_exception with XDP_TX)", 0, 0, 0 },
	[R_XMIT_DROPS] = { "xmit_drops", "XMIT_DROP", FK_COUNTER, ERRCNT,
			   "XDP_TX or redirected frames the transmitting driver dropped (xdp_bulk_tx, xdp_devmap_xmit)",
			   0, 0, 0 },
	[R_ABORTED_RATE] = { "aborted_packets_per_second", "ABRT/s", FK_GAUGE, RATE,
			     "XDP_ABORTED packets per second over the last interval", 0, 0, 0 },
	[R_DROP_RATE] = { "drop_packets_per_second", "DROP/s", FK_GAUGE, RATE,
			  "XDP_DROP packets per second over the last interval", 0, 0, 0 },
	[R_PASS_RATE] = { "pass_packets_per_second", "PASS/s", FK_GAUGE, RATE,
			  "XDP_PASS packets per second over the last interval", 0, 0, 0 },
	[R_TX_RATE] = { "tx_packets_per_second", "TX/s", FK_GAUGE, RATE,
			"XDP_TX packets per second over the last interval", 0, 0, 0 },
	[R_REDIRECT_RATE] = { "redirect_packets_per_second", "REDIR/s", FK_GAUGE, RATE,
			      "XDP_REDIRECT packets per second over the last interval", 0, 0, 0 },
	[R_ERR_RATE] = { "errors_per_second", "ERR/s", FK_GAUGE, RATE,
			 "Redirect errors, XDP_TX errors and transmit drops per second over the last interval "
			 "(per interface)", 0, 0, 0 },
};
const struct schema row_schema = { "xdpverdict", "interfaces", fields, R_NFIELDS, &snap_meta_schema };

/* Prometheus only: one record per row and known verdict, so the verdicts
 * are one metric, bpfscope_xdpverdict_packets_total{verdict="drop",...}.
 * No table or JSON field: left out of both. */
static struct field vfields[VD_NFIELDS] = {
	[VD_NETNS] = F_NETNS(FF_PROM),
	[VD_IFACE] = F_IFACE(FF_PROM),
	[VD_QUEUE] = { "queue", "QUEUE", FK_LABEL, 0, "Rx queue (with --per-queue; empty on the interface's own row)", 0, 0, 0 },
	[VD_MODE] = { "mode", "MODE", FK_LABEL, FF_PROM, "XDP attach mode: native, generic or offload", 0, 0, 0 },
	[VD_PROG_ID] = F_PROG_ID(FF_PROM),
	[VD_PROG] = F_PROG_NAME(FF_PROM),
	[VD_SOURCE] = { "source", "SOURCE", FK_LABEL, FF_PROM,
			"Counting mechanism: fexit, driver, tracepoint or none", 0, 0, 0 },
	[VD_VERDICT] = { "verdict", "VERDICT", FK_LABEL, FF_PROM,
			 "What the program returned: aborted (or an invalid action), drop, pass, tx or redirect", 0, 0, 0 },
	[VD_PACKETS] = { "packets", "PACKETS", FK_COUNTER, FF_PROM,
			 "Packets the program returned the verdict for (verdicts the mechanism cannot count "
			 "exactly have no sample)", 0, 0, 0 },
};
const struct schema verdict_schema = { "xdpverdict", "verdicts", vfields, VD_NFIELDS, NULL };

/* --events: the stream's facts, then one record per event. */
enum { EM_MECH, EM_NFIELDS };
static const struct field emfields[EM_NFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0,
		      "How the xdp tracepoints are attached (tp_btf, raw_tp, or per tracepoint) and the event "
		      "transport (ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema event_meta_schema = { "xdpverdict", "events", emfields, EM_NFIELDS, NULL };

static const struct field efields[E_NFIELDS] = {
	[E_TYPE] = { "type", "TYPE", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT, HELP_TYPE, 0, 0, 17 },
	[E_NETNS] = F_NETNS(FF_JSON | FF_WIDE),
	[E_IFACE] = F_IFACE(FF_TABLE | FF_JSON),
	[E_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[E_PROG_ID] = F_PROG_ID(FF_TABLE | FF_JSON),
	[E_PROG] = F_PROG_NAME(FF_JSON | FF_WIDE),
	[E_ACTION] = { "action", "ACTION", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT,
		       "The XDP action: ABORTED, DROP, PASS, TX, REDIRECT or INVALID", 0, 0, 8 },
	[E_ERRNO] = F_ERRNO(FF_JSON | FF_WIDE),
	[E_ERRNO_NAME] = F_ERRNO_NAME(FF_TABLE | FF_JSON),
	[E_TO_IFINDEX] = { "to_ifindex", "TO_IF", FK_LABEL, FF_JSON | FF_WIDE,
			   "Index of the redirect target interface", 0, 0, 7 },
	[E_MAP_ID] = F_MAP_ID(FF_JSON | FF_WIDE),
	[E_MAP_INDEX] = { "map_index", "INDEX", FK_LABEL, FF_JSON | FF_WIDE,
			  "Slot of the redirect map (devmap, cpumap, xskmap)", 0, 0, 6 },
	[E_SENT] = { "sent", "SENT", FK_GAUGE, FF_JSON | FF_WIDE,
		     "tx_xmit_error, devmap_xmit_error: frames the transmitting driver sent in this flush", 0, 0, 6 },
	[E_DROPS] = { "drops", "DROPS", FK_GAUGE, FF_JSON | FF_WIDE,
		      "tx_xmit_error, devmap_xmit_error: frames it dropped in this flush", 0, 0, 6 },
	[E_TARGET] = { "target", "TARGET", FK_TEXT, FF_TABLE | FF_JSON,
		       "Redirect target: interface name and index, or map and slot", 0, 0, 24 },
};
const struct schema event_schema = { "xdpverdict", "events", efields, E_NFIELDS, &event_meta_schema };

OUT_REGISTER(&row_schema, &verdict_schema, &event_schema, &check_schema, &finding_schema);


/* ---- facts and misses ----------------------------------------------- */

void snapshot_facts(struct snapshot *sn)
{
	char buf[256];
	snap_meta(sn, "tracepoints", "%s", tp_mechanism(buf, sizeof(buf)));
	snap_meta(sn, "fexit", "%s", hook_active(&hooks[H_FEXIT]) ? "available"
		  : hooks[H_FEXIT].off ? "not used" : "unavailable on this kernel");
}

/* Runs of our programs the kernel skipped: the main object's and every
 * fexit copy's. */
uint64_t recursion_misses(void *ctx)
{
	(void)ctx;
	return bpfobj_recursion_misses(skel->obj) + progwatch_misses(watch);
}

/* ---- main ----------------------------------------------------------- */

/* Open, select the hooks, load; once more with raw_tp for the redirect
 * tracepoints where the kernel refuses their tp_btf twins. */
static void load(const char *hookm)
{
	for (;;) {
		skel = xdpverdict_bpf__open();
		if (!skel)
			die_errno(errno, NULL, "cannot open BPF object");
		hooks_select(skel->obj, hooks, H_N, hookm);
		skel->rodata->emit_events = copts.events;
		evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
		int err = xdpverdict_bpf__load(skel);
		if (!err)
			return;
		bool retry = !btf_redirect_refused && (!strcmp(hook_chosen(&hooks[H_REDIRECT]) ?: "", "tp_btf") ||
						       !strcmp(hook_chosen(&hooks[H_REDIRECT_ERR]) ?: "", "tp_btf"));
		xdpverdict_bpf__destroy(skel);
		skel = NULL;
		if (!retry)
			die_bpf_load(err);
		note("tp_btf on xdp_redirect refused by this kernel (%s): raw_tp for it", errno_name(-err));
		btf_redirect_refused = true;
	}
}

static int interval_done(void *ctx, double dt)
{
	(void)ctx;
	(void)dt; /* rates come from the counters' own time stamps */
	rows_discover(copts.iface, false);
	return rows_snapshot(true, copts.iface);
}

static int run_events(void)
{
	char buf[256];
	xvns_refresh();
	if (copts.iface && !xvns_has_iface(copts.iface))
		die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", copts.iface,
		    copts.netns ? " in network namespace " : "", copts.netns ? copts.netns : "");
	struct evbuf *evb = evbuf_open(skel->maps.events, skel->maps.events_lost, xv_on_event, (void *)copts.iface);
	if (!evb)
		die_errno(errno, NULL, "cannot open the event buffer");
	evbuf_set_misses(evb, recursion_misses, NULL);
	event_meta("mechanism", "%s xdp tracepoints, %s", tp_mechanism(buf, sizeof(buf)), evbuf_mechanism(evb));
	int err = event_start(&event_schema);
	if (!err)
		err = event_run(evb, copts.count, 200, xv_events_idle, NULL);
	evbuf_free(evb);
	return err;
}

static int run_snapshots(void)
{
	if (xo.per_queue) {
		fields[R_QUEUE].flags |= FF_TABLE | FF_PROM;
		vfields[VD_QUEUE].flags |= FF_PROM;
	}
	if (nns > 1)
		fields[R_NETNS].flags |= FF_TABLE;
	rows_discover(copts.iface, true);
	rows_snapshot(false, copts.iface); /* baseline: counts start now */
	if (!copts.interval_set)
		copts.interval = 1.0;
	return snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, NULL);
}

int main(int argc, char **argv)
{
	opts_parse(&argp, argc, argv, NULL);
	if (xo.check) {
		if (copts.events || xo.per_queue || copts.mechanism || copts.interval_set || copts.count > 1)
			die(EXIT_USAGE, "--check is one look at the interfaces: no --events, --per-queue, --mechanism, "
			    "interval or count (see --help)");
		if (check_iface && copts.iface && strcmp(check_iface, copts.iface))
			die(EXIT_USAGE, "--check %s and -I %s name two interfaces (see --help)", check_iface, copts.iface);
		if (copts.netns && xo.all_netns)
			die(EXIT_USAGE, "--netns and --all-netns exclude each other (see --help)");
		return xvcheck_run(check_iface ?: copts.iface, copts.netns, xo.all_netns);
	}
	char *hookm = copts.mechanism ? mechanism_option(copts.mechanism) : NULL;
	if (copts.netns && xo.all_netns)
		die(EXIT_USAGE, "--netns and --all-netns exclude each other (see --help)");
	if (copts.events && xo.per_queue)
		die(EXIT_USAGE, "--per-queue applies to counts, not to --events (see --help)");
	if (copts.events && (xo.forced == SRC_FEXIT || xo.forced == SRC_DRIVER))
		die(EXIT_USAGE, "--mechanism %s counts verdicts: --events streams tracepoint events (see --help)",
		    xo.forced == SRC_FEXIT ? "fexit" : "driver");
	require_bpf_privileges();
	probe_require_btf();
	xvns_setup(copts.netns, xo.all_netns);

	/* the tracepoints are what events and tracepoint counting stand on */
	hooks[H_FEXIT].off = copts.events || xo.forced == SRC_DRIVER || xo.forced == SRC_TRACEPOINT;
	if (copts.events || xo.forced == SRC_TRACEPOINT)
		hooks[H_EXCEPTION].policy = HOOK_REQUIRED;
	load(hookm);
	hooks_attach(hooks, H_N);
	watch = progwatch_new(&watch_ops, skel->obj);

	int err = copts.events ? run_events() : run_snapshots();
	if (err)
		die_errno(err, NULL, "cannot write output");

	/* clean exit: every link and program goes with its skeleton */
	progwatch_free(watch);
	hooks_detach(hooks, H_N);
	xdpverdict_bpf__destroy(skel);
	rows_free();
	xvns_free();
	event_meta_free();
	free(hookm);
	return EXIT_OK;
}
