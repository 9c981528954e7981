// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpverdict: what is XDP doing with my packets?  ABORTED / DROP / PASS /
 * TX / REDIRECT per interface, rx queue and program, plus every exception
 * and redirect error as it happens.
 *
 * Per interface, the best exact mechanism this kernel offers:
 *   fexit       a trampoline on the XDP program itself (every driver, every mode)
 *   driver      the driver's ethtool counters (native mode; common/xdpmap.c),
 *               with the xdp tracepoints for what the driver folds together
 *   tracepoint  xdp_exception / xdp_redirect(_err) alone: ABORTED and
 *               REDIRECT are exact, the rest is shown as unknown
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "netdev.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "xdpmap.h"
#include "xdpverdict.h"
#include "xdpverdict.skel.h"

/* ---- options -------------------------------------------------------- */

enum source { SRC_AUTO, SRC_FEXIT, SRC_DRIVER, SRC_TRACEPOINT };
static const char *const source_names[] = {
	[SRC_AUTO] = "auto", [SRC_FEXIT] = "fexit", [SRC_DRIVER] = "driver",
	[SRC_TRACEPOINT] = "tracepoint",
};

static struct {
	const char *iface;
	const char *netns;
	bool all_netns;
	enum source source;
	bool events;
	bool per_queue;
} o;

enum { OPT_ALL_NETNS = 0x2000, OPT_SOURCE };

static const struct argp_option options[] = {
	{ "interface", 'I', "IFACE", 0, "Only interface IFACE", 1 },
	{ "netns", 'N', "NETNS", 0, "Interfaces in network namespace NETNS (name under /run/netns, or a path)", 1 },
	{ "all-netns", OPT_ALL_NETNS, NULL, 0, "This namespace and every one under /run/netns", 1 },
	{ "source", OPT_SOURCE, "HOW", 0, "Counting: auto (best per interface), fexit, driver or tracepoint", 2 },
	{ "per-queue", 'q', NULL, 0, "One row per rx queue (fexit and driver counting)", 2 },
	{ "events", 'e', NULL, 0, "Stream exceptions and redirect/transmit errors as they happen", 2 },
	{ 0 },
};

static const char doc[] =
	"xdpverdict: XDP verdicts (ABORTED, DROP, PASS, TX, REDIRECT) per interface, queue and program.\v"
	"Examples:\n"
	"  xdpverdict                    # every interface with XDP, each second\n"
	"  xdpverdict -I eth0 -q 5       # eth0 per rx queue, every 5 s\n"
	"  xdpverdict --all-netns -o json\n"
	"  xdpverdict --events           # exceptions and redirect errors as they happen\n"
	"  xdpverdict -o prom -c 1 -i 10 --file /var/lib/node_exporter/xdp.prom";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'I':
		if (!*arg || strlen(arg) >= IF_NAMESIZE)
			die(EXIT_USAGE, "invalid --interface '%s': expected an interface name (see --help)", arg);
		o.iface = arg;
		break;
	case 'N':
		if (!*arg)
			die(EXIT_USAGE, "invalid --netns '': expected a name under /run/netns or a path (see --help)");
		o.netns = arg;
		break;
	case OPT_ALL_NETNS:
		o.all_netns = true;
		break;
	case OPT_SOURCE:
		if (!strcmp(arg, "auto"))
			o.source = SRC_AUTO;
		else if (!strcmp(arg, "fexit"))
			o.source = SRC_FEXIT;
		else if (!strcmp(arg, "driver"))
			o.source = SRC_DRIVER;
		else if (!strcmp(arg, "tracepoint"))
			o.source = SRC_TRACEPOINT;
		else
			die(EXIT_USAGE, "invalid --source '%s': expected auto, fexit, driver or tracepoint (see --help)", arg);
		break;
	case 'q':
		o.per_queue = true;
		break;
	case 'e':
		o.events = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot: the mechanisms (static, _info labels), remarks on
 * this snapshot's rows (text) and the updates the counting maps had no room
 * for (a counter). */
enum { M_TRACEPOINTS, M_FEXIT, M_NOTE, M_MISSED_UPDATES, M_NFIELDS };
static const struct field mfields[M_NFIELDS] = {
	[M_TRACEPOINTS] = { "tracepoints", "", FK_LABEL, 0,
			    "How the xdp tracepoints are attached: tp_btf, raw_tp, tp_btf+raw_tp or none", 0, 0, 0 },
	[M_FEXIT] = { "fexit", "", FK_LABEL, 0,
		      "BPF trampolines (fexit on the XDP programs): available or unavailable on this kernel", 0, 0, 0 },
	[M_NOTE] = { "note", "", FK_TEXT, 0,
		     "Remarks on this snapshot: verdicts a mechanism cannot count, rows with no mechanism, "
		     "no XDP program attached", 0, 0, 0 },
	[M_MISSED_UPDATES] = { "missed_updates", "", FK_COUNTER, 0,
			       "Counter updates lost because a counting map was full "
			       "(4096 interface, queue and program combinations)", 0, 0, 0 },
};
static const struct schema snap_meta_schema = { "xdpverdict", "interfaces", mfields, M_NFIELDS, NULL };

enum {
	R_NETNS, R_IFACE, R_IFINDEX, R_QUEUE, R_DRIVER, R_MODE, R_PROG_ID, R_PROG, R_SOURCE,
	R_ABORTED, R_DROP, R_PASS, R_TX, R_REDIRECT, R_PACKETS,
	R_REDIR_ERR, R_TX_ERR, R_XMIT_DROPS,
	R_ABORTED_RATE, R_DROP_RATE, R_PASS_RATE, R_TX_RATE, R_REDIRECT_RATE, R_ERR_RATE,
	R_NFIELDS
};

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
static const struct schema row_schema = { "xdpverdict", "interfaces", fields, R_NFIELDS, &snap_meta_schema };

/* Prometheus only: one record per row and known verdict, so the verdicts
 * are one metric, bpfscope_xdpverdict_packets_total{verdict="drop",...}.
 * No table or JSON field: left out of both. */
enum { VD_NETNS, VD_IFACE, VD_QUEUE, VD_MODE, VD_PROG_ID, VD_PROG, VD_SOURCE, VD_VERDICT, VD_PACKETS, VD_NFIELDS };
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
static const struct schema verdict_schema = { "xdpverdict", "verdicts", vfields, VD_NFIELDS, NULL };

/* --events: the stream's facts, then one record per event. */
enum { EM_MECH, EM_NFIELDS };
static const struct field emfields[EM_NFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0,
		      "How the xdp tracepoints are attached (tp_btf, raw_tp) and the event transport "
		      "(ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema event_meta_schema = { "xdpverdict", "events", emfields, EM_NFIELDS, NULL };

enum {
	E_TYPE, E_NETNS, E_IFACE, E_IFINDEX, E_PROG_ID, E_PROG, E_ACTION, E_ERRNO, E_ERRNO_NAME,
	E_TO_IFINDEX, E_MAP_ID, E_MAP_INDEX, E_SENT, E_DROPS, E_TARGET, E_NFIELDS
};
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
static const struct schema event_schema = { "xdpverdict", "events", efields, E_NFIELDS, &event_meta_schema };

OUT_REGISTER(&row_schema, &verdict_schema, &event_schema);

static const char *const action_names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

static const char *action_name(uint32_t act)
{
	return act < 5 ? action_names[act] : "INVALID";
}

/* ---- state ---------------------------------------------------------- */

struct ns {
	char *name;       /* as the user knows it; "" for our own namespace */
	int fd;           /* -1: our own */
	uint32_t ino;
	int sock;         /* ethtool socket inside it */
	struct netdev *devs;
	int ndevs;
};

static struct ns *nss;
static int nns;

/* One watched program: one fexit copy of the BPF object. */
struct watch {
	uint32_t prog_id;
	struct xdpverdict_bpf *skel;
	bool failed;      /* tried, could not attach: do not retry */
	bool used;
};
static struct watch *watches;
static int nwatches;

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
	int nqueues;      /* queues the driver counters showed */
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

static struct xdpverdict_bpf *skel;
static struct evbuf *evb;
static bool have_fentry, tp_attached;
static const char *tp_kind = "none"; /* tp_btf or raw_tp */
static struct bpf_link *redirect_link;
static struct bpf_link **tp_links;
static int ntp_links;

/* ---- namespaces ----------------------------------------------------- */

static void ns_add(const char *name, int fd)
{
	uint32_t ino;
	if (fd >= 0 ? netns_inode(fd, &ino) : netns_self_inode(&ino))
		die(EXIT_FAIL, "cannot identify network namespace %s", name && *name ? name : "(own)");
	for (int i = 0; i < nns; i++) {
		if (nss[i].ino == ino) { /* the same namespace under two names */
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (fd >= 0)
		netns_enter_or_die(fd, name);
	int sock = ethtool_socket();
	if (fd >= 0)
		netns_return_or_die();
	if (sock < 0)
		die(EXIT_FAIL, "cannot open a socket in network namespace %s: %s", name, errno_name(-sock));
	nss = xrealloc(nss, (nns + 1) * sizeof(*nss));
	nss[nns++] = (struct ns){ .name = xstrdup(name ? name : ""), .fd = fd, .ino = ino, .sock = sock };
}

static void ns_setup(void)
{
	if (o.netns) {
		ns_add(o.netns, netns_require("--netns", o.netns, NULL));
		return;
	}
	ns_add("", -1);
	if (o.all_netns) {
		/* every namespace this process can see: /run/netns names and
		 * those of running processes (containers), each once */
		struct netns *all;
		int n = netns_list(&all);
		for (int i = 1; i < n; i++) {
			int fd = netns_open(all[i].path);
			if (fd >= 0)
				ns_add(all[i].name, fd);
		}
		free(all);
	}
}

static const char *ns_display(uint32_t ino, char *buf, size_t len)
{
	for (int i = 0; i < nns; i++)
		if (nss[i].ino == ino)
			return nss[i].name[0] ? nss[i].name : "-";
	snprintf(buf, len, "ns:%u", ino);
	return buf;
}

/* List interfaces (and their XDP programs) in every namespace we watch. */
static void ns_refresh(void)
{
	for (int i = 0; i < nns; i++) {
		struct ns *n = &nss[i];
		free(n->devs);
		n->devs = NULL;
		n->ndevs = 0;
		if (n->fd >= 0 && netns_enter(n->fd))
			die(EXIT_FAIL, "cannot enter network namespace %s: %s", n->name, errno_name(errno));
		int cnt = netdev_list(&n->devs);
		if (n->fd >= 0 && netns_return())
			die(EXIT_FAIL, "cannot return to the original network namespace: %s", errno_name(errno));
		if (cnt < 0)
			die(EXIT_FAIL, "cannot list interfaces in %s: %s", n->name[0] ? n->name : "this namespace",
			    errno_name(-cnt));
		n->ndevs = cnt;
	}
}

static const char *ifname_of(uint32_t ino, int ifindex)
{
	for (int i = 0; i < nns; i++)
		for (int k = 0; nss[i].ino == ino && k < nss[i].ndevs; k++)
			if (nss[i].devs[k].ifindex == ifindex)
				return nss[i].devs[k].name;
	return NULL;
}

/* ---- fexit copies --------------------------------------------------- */

/* Name of a program's main function, from its BTF. */
static int prog_main_func(int fd, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	uint32_t ilen = sizeof(info);
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	if (!info.btf_id || !info.nr_func_info)
		return -ENOENT;
	uint32_t nr = info.nr_func_info, rec = info.func_info_rec_size, btf_id = info.btf_id;
	if (rec < sizeof(struct bpf_func_info))
		return -EINVAL;
	void *fi = xcalloc(nr, rec);
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nr;
	info.func_info_rec_size = rec;
	info.func_info = (uint64_t)(unsigned long)fi;
	ilen = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		err = -errno;
		free(fi);
		return err;
	}
	struct btf *btf = btf__load_from_kernel_by_id(btf_id);
	if (!btf) {
		err = -errno;
		free(fi);
		return err;
	}
	const struct btf_type *t = btf__type_by_id(btf, ((struct bpf_func_info *)fi)->type_id);
	const char *fn = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (fn && *fn)
		snprintf(name, len, "%s", fn);
	else
		err = -ENOENT;
	btf__free(btf);
	free(fi);
	return err;
}

static struct watch *watch_find(uint32_t prog_id)
{
	for (int i = 0; i < nwatches; i++)
		if (watches[i].prog_id == prog_id)
			return &watches[i];
	return NULL;
}

/* Attach fexit to a program.  Returns 0, or -errno with *why set. */
static int watch_add(uint32_t prog_id, const char **why)
{
	struct watch *w = watch_find(prog_id);
	char fn[128];
	int fd, err;

	if (w && w->skel)
		return 0;
	if (w && w->failed) {
		*why = "attaching fexit failed before";
		return -EAGAIN;
	}
	if (!w) {
		watches = xrealloc(watches, (nwatches + 1) * sizeof(*watches));
		w = &watches[nwatches++];
		memset(w, 0, sizeof(*w));
		w->prog_id = prog_id;
	}
	w->failed = true;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0) {
		*why = "the program is gone";
		return -errno;
	}
	err = prog_main_func(fd, fn, sizeof(fn));
	if (err) {
		*why = "the program has no BTF function info";
		close(fd);
		return err;
	}
	struct xdpverdict_bpf *s = xdpverdict_bpf__open();
	if (!s) {
		err = -errno;
		*why = "cannot open the BPF object";
		close(fd);
		return err;
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, p == s->progs.xdp_exit);
	s->rodata->target_prog_id = prog_id;
	evbuf_configure(s->maps.events, false, &s->rodata->events_use_perf);
	err = bpf_program__set_attach_target(s->progs.xdp_exit, fd, fn);
	if (!err)
		err = bpf_map__reuse_fd(s->maps.fexit_counts, bpf_map__fd(skel->maps.fexit_counts));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.tp_counts, bpf_map__fd(skel->maps.tp_counts));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.missed, bpf_map__fd(skel->maps.missed));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.events, bpf_map__fd(skel->maps.events));
	if (!err)
		err = bpf_map__reuse_fd(s->maps.events_lost, bpf_map__fd(skel->maps.events_lost));
	if (!err)
		err = xdpverdict_bpf__load(s);
	if (err) {
		*why = "loading the fexit program failed";
	} else {
		s->links.xdp_exit = bpf_program__attach(s->progs.xdp_exit);
		if (!s->links.xdp_exit) {
			err = -errno;
			*why = "attaching the fexit program failed";
		}
	}
	close(fd);
	if (err) {
		xdpverdict_bpf__destroy(s);
		return err;
	}
	note("fexit attached to program %u (%s)", prog_id, fn);
	w->skel = s;
	w->failed = false;
	return 0;
}

/* Runs of our programs the kernel skipped (recursion_misses), of every
 * object so far: those of fexit copies already gone are kept. */
static uint64_t retired_misses;

static uint64_t recursion_misses(void)
{
	uint64_t t = retired_misses + bpfobj_recursion_misses(skel->obj);
	for (int i = 0; i < nwatches; i++)
		if (watches[i].skel)
			t += bpfobj_recursion_misses(watches[i].skel->obj);
	return t;
}

static void watches_sweep(void)
{
	for (int i = 0; i < nwatches; i++) {
		if (!watches[i].used && watches[i].skel) {
			retired_misses += bpfobj_recursion_misses(watches[i].skel->obj);
			xdpverdict_bpf__destroy(watches[i].skel);
			watches[i].skel = NULL;
			watches[i].failed = false;
		}
		watches[i].used = false;
	}
}

/* ---- choosing a mechanism ------------------------------------------- */

static void ensure_redirect_tp(void)
{
	if (redirect_link || !tp_attached)
		return;
	struct bpf_program *p = !strcmp(tp_kind, "tp_btf") ? skel->progs.tp_btf_redirect
							   : skel->progs.raw_tp_redirect;
	if (!bpf_program__autoload(p))
		return;
	redirect_link = bpf_program__attach(p);
	if (!redirect_link)
		note("cannot attach xdp_redirect: %s", errno_name(errno));
}

/* Can the driver's counters count this program?  Reads them once. */
static bool driver_usable(struct row *r, const struct ns *n)
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

/* Pick the row's mechanism; die when a forced one is impossible and dying
 * is allowed (at start), else fall back and say why under -v. */
static void choose_source(struct row *r, const struct ns *n, bool strict)
{
	const char *why = NULL;
	char where[64];
	snprintf(where, sizeof(where), "%s%s%s", r->ifname, n->name[0] ? " in netns " : "", n->name);

	if (o.source == SRC_AUTO || o.source == SRC_FEXIT) {
		if (!have_fentry) {
			why = "this kernel does not allow BPF trampolines (fentry/fexit)";
		} else if (r->mode == XDPM_OFFLOAD) {
			why = "the program is offloaded to the NIC";
		} else if (!watch_add(r->prog_id, &why)) {
			r->src = SRC_FEXIT;
			return;
		}
		if (o.source == SRC_FEXIT) {
			if (strict)
				die(EXIT_NOFEATURE, "--source fexit is unavailable for %s: %s (try --source auto)", where, why);
			warnx_("fexit unavailable for %s (%s): not counted", where, why);
			r->src = SRC_AUTO;
			return;
		}
		note("%s: no fexit (%s)", where, why);
	}
	if (o.source == SRC_AUTO || o.source == SRC_DRIVER) {
		if (driver_usable(r, n)) {
			r->src = SRC_DRIVER;
			return;
		}
		why = r->mode != XDPM_NATIVE ? "driver counters do not count generic or offloaded XDP"
		      : !r->dm ? "the driver is not in xdpverdict's counter table"
		      : !r->dm->rules ? "the driver has no per-verdict XDP counters"
				      : "the driver shows no XDP counters";
		if (o.source == SRC_DRIVER) {
			if (strict)
				die(EXIT_NOFEATURE, "--source driver is unavailable for %s (driver %s, %s mode): %s (try --source auto)",
				    where, r->driver[0] ? r->driver : "unknown", xdp_mode_name(r->mode), why);
			warnx_("driver counters unavailable for %s (%s): not counted", where, why);
			r->src = SRC_AUTO;
			return;
		}
		note("%s: no driver counters (%s)", where, why);
	}
	if (!tp_attached) {
		if (strict && o.source == SRC_TRACEPOINT)
			die(EXIT_NOFEATURE, "--source tracepoint is unavailable: the kernel has no xdp_exception tracepoint");
		r->src = SRC_AUTO; /* nothing exact at all */
		return;
	}
	r->src = SRC_TRACEPOINT;
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

/* Discover interfaces with XDP; make rows for new programs.  strict: this
 * is the first pass, when filters and forced mechanisms are checked. */
static void discover(bool strict)
{
	bool iface_exists = false, iface_has_xdp = false;

	ns_refresh();
	for (int i = 0; i < nrows; i++)
		rows[i].seen = false;
	for (int i = 0; i < nns; i++) {
		struct ns *n = &nss[i];
		for (int k = 0; k < n->ndevs; k++) {
			struct netdev *d = &n->devs[k];
			if (o.iface && strcmp(o.iface, d->name))
				continue;
			iface_exists = true;
			for (int x = 0; x < d->nxdp; x++) {
				iface_has_xdp = true;
				struct row *r = row_find(n->ino, d->ifindex, d->xdp[x].prog_id, -1);
				if (r) {
					r->seen = true;
					continue;
				}
				rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
				r = &rows[nrows++];
				memset(r, 0, sizeof(*r));
				r->nsi = i;
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
				note("%s: program %u (%s) in %s mode, driver %s: counting with %s%s%s",
				     r->ifname, r->prog_id, r->prog_name, xdp_mode_name(r->mode),
				     r->driver[0] ? r->driver : "?", r->src == SRC_AUTO ? "nothing" : source_names[r->src],
				     r->src == SRC_DRIVER ? "; " : "", r->src == SRC_DRIVER ? r->dm->derivation : "");
			}
		}
	}
	if (strict && o.iface && !iface_exists)
		die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", o.iface,
		    o.netns ? " in network namespace " : (o.all_netns ? " in any watched namespace" : ""),
		    o.netns ? o.netns : "");
	if (strict && o.iface && !iface_has_xdp)
		die(EXIT_NOTFOUND, "interface '%s' has no XDP program attached (attach one, e.g. ip link set dev %s xdp obj PROG.o)",
		    o.iface, o.iface);
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
	for (int i = 0; i < nrows; i++) {
		struct watch *w = rows[i].src == SRC_FEXIT ? watch_find(rows[i].prog_id) : NULL;
		if (w)
			w->used = true;
	}
	watches_sweep();
}

/* ---- reading -------------------------------------------------------- */

/* Per-CPU sums of the fexit and tracepoint maps. */
struct fsum { struct xv_fkey k; struct xv_fval v; };
struct tsum { struct xv_tkey k; struct xv_tval v; };
static struct fsum *fsums;
static int nfsums;
static struct tsum *tsums;
static int ntsums;
static int ncpus;

static void read_maps(void)
{
	struct xv_fkey fk, fnext;
	struct xv_tkey tk, tnext;
	struct xv_fval *fv = xcalloc(ncpus, sizeof(*fv));
	struct xv_tval *tv = xcalloc(ncpus, sizeof(*tv));
	int fd;
	void *prev;

	nfsums = ntsums = 0;
	fd = bpf_map__fd(skel->maps.fexit_counts);
	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &fnext); prev = &fk) {
		fk = fnext;
		if (bpf_map_lookup_elem(fd, &fk, fv))
			continue;
		fsums = xrealloc(fsums, (nfsums + 1) * sizeof(*fsums));
		struct fsum *s = &fsums[nfsums++];
		memset(s, 0, sizeof(*s));
		s->k = fk;
		for (int c = 0; c < ncpus; c++)
			for (int a = 0; a < XV_NACT; a++)
				s->v.act[a] += fv[c].act[a];
	}
	fd = bpf_map__fd(skel->maps.tp_counts);
	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &tnext); prev = &tk) {
		tk = tnext;
		if (bpf_map_lookup_elem(fd, &tk, tv))
			continue;
		tsums = xrealloc(tsums, (ntsums + 1) * sizeof(*tsums));
		struct tsum *s = &tsums[ntsums++];
		memset(s, 0, sizeof(*s));
		s->k = tk;
		for (int c = 0; c < ncpus; c++) {
			for (int a = 0; a < XV_NACT; a++)
				s->v.exc[a] += tv[c].exc[a];
			s->v.redirect_ok += tv[c].redirect_ok;
			s->v.redirect_err += tv[c].redirect_err;
			s->v.bulk_sent += tv[c].bulk_sent;
			s->v.bulk_drops += tv[c].bulk_drops;
			s->v.devmap_sent += tv[c].devmap_sent;
			s->v.devmap_drops += tv[c].devmap_drops;
		}
	}
	free(fv);
	free(tv);
}

static uint64_t missed_total(void)
{
	uint64_t *v = xcalloc(ncpus, sizeof(uint64_t)), t = 0;
	uint32_t zero = 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.missed), &zero, v))
		for (int c = 0; c < ncpus; c++)
			t += v[c];
	free(v);
	return t;
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

static void put_verdicts(struct record *rec, struct row *r, const struct xdp_verdicts *v,
			 uint64_t errs, double now)
{
	for (int a = 0; a < XV_NVERDICTS; a++) {
		if (!v->known[a])
			continue;
		rec_u64(rec, R_ABORTED + a, v->v[a]);
		if (r->have_prev && r->prev.known[a] && now > r->prev_t)
			rec_dbl(rec, R_ABORTED_RATE + a,
				((double)v->v[a] - (double)r->prev.v[a]) / (now - r->prev_t));
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
	if (r->have_prev && now > r->prev_t && tp_attached)
		rec_dbl(rec, R_ERR_RATE, ((double)errs - (double)r->prev_err) / (now - r->prev_t));
	r->prev = *v;
	r->prev_err = errs;
	r->prev_t = now;
	r->have_prev = true;
}

static struct record *row_record(struct snapshot *sn, const struct row *r, int queue)
{
	char nb[32];
	struct record *rec = snap_add(sn);
	rec_str(rec, R_NETNS, ns_display(r->netns, nb, sizeof(nb)));
	rec_str(rec, R_IFACE, r->ifname);
	rec_u64(rec, R_IFINDEX, r->ifindex);
	if (queue >= 0)
		rec_u64(rec, R_QUEUE, queue);
	rec_str(rec, R_DRIVER, r->driver[0] ? r->driver : NULL);
	rec_str(rec, R_MODE, xdp_mode_name(r->mode));
	rec_u64(rec, R_PROG_ID, r->prog_id);
	rec_str(rec, R_PROG, r->prog_name);
	rec_str(rec, R_SOURCE, r->src == SRC_AUTO ? "none" : source_names[r->src]);
	return rec;
}

/* Per-queue sub-rows keep their own rate state. */
static struct row *queue_row(struct row *parent, int q)
{
	ptrdiff_t off = parent - rows;
	struct row *r = row_find(parent->netns, parent->ifindex, parent->prog_id, q);
	if (r)
		return r;
	rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
	parent = rows + off;
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

static int snapshot(bool print)
{
	struct snapshot *sn = print ? snap_begin(&row_schema) : NULL;
	double now = now_mono();

	vsn = print ? snap_begin(&verdict_schema) : NULL;
	bool partial = false, none = false;
	int nq_rows = 0;

	read_maps();
	if (sn) {
		snap_meta(sn, "tracepoints", "%s", tp_kind);
		snap_meta(sn, "fexit", "%s", have_fentry ? "available" : "unavailable on this kernel");
	}
	int nbase = nrows;
	for (int i = 0; i < nbase; i++) {
		struct row *r = &rows[i];
		struct xdp_verdicts v = {};
		struct xv_tval tv;
		struct xdp_role_sums all, *perq = NULL;
		int nq = 0;

		if (r->queue >= 0)
			continue;
		tp_totals(r, &tv);
		uint64_t exc[XV_NACT];
		for (int a = 0; a < XV_NACT; a++)
			exc[a] = counter_advance(&r->exc[a], tv.exc[a]);
		uint64_t rok = counter_advance(&r->redir_ok, tv.redirect_ok);
		uint64_t rerr = counter_advance(&r->redir_err, tv.redirect_err);
		uint64_t xdrops = counter_advance(&r->xmit_drops, tv.bulk_drops + tv.devmap_drops);
		struct xdp_tp_facts tp = {
			.valid = tp_attached,
			.exc_aborted = exc[XDP_ABORTED] + exc[XV_ACT_INVALID],
			.exc_tx = exc[XDP_TX],
			.redirect_err = rerr,
		};

		switch (r->src) {
		case SRC_FEXIT: {
			uint64_t tot[XV_NACT] = {};
			for (int k = 0; k < nfsums; k++) {
				const struct fsum *s = &fsums[k];
				if (s->k.netns != r->netns || (int)s->k.ifindex != r->ifindex || s->k.prog_id != r->prog_id)
					continue;
				for (int a = 0; a < XV_NACT; a++)
					tot[a] += s->v.act[a];
			}
			for (int a = 0; a < XV_NACT; a++)
				tot[a] = counter_advance(&r->fx[a], tot[a]);
			tot[XDP_ABORTED] += tot[XV_ACT_INVALID];
			for (int a = 0; a < XV_NVERDICTS; a++) {
				v.v[a] = tot[a];
				v.known[a] = true;
				v.packets += tot[a];
			}
			v.packets_known = true;
			break;
		}
		case SRC_DRIVER:
			if (driver_read(r, &all, &perq, &nq)) {
				note("%s: cannot read driver counters now", r->ifname);
				break;
			}
			xdpmap_derive(r->dm, &all, &tp, &v);
			r->nqueues = nq;
			break;
		case SRC_TRACEPOINT:
			v.v[XV_ABORTED] = tp.exc_aborted;
			v.known[XV_ABORTED] = true;
			if (redirect_link) {
				v.v[XV_REDIRECT] = rok + rerr;
				v.known[XV_REDIRECT] = true;
			}
			break;
		default:
			break;
		}
		for (int a = 0; a < XV_NVERDICTS; a++)
			partial |= !v.known[a] && r->src != SRC_AUTO;
		none |= r->src == SRC_AUTO;

		if (sn) {
			struct record *rec = row_record(sn, r, -1);
			if (tp_attached) {
				rec_u64(rec, R_REDIR_ERR, rerr);
				rec_u64(rec, R_TX_ERR, exc[XDP_TX]);
				rec_u64(rec, R_XMIT_DROPS, xdrops);
			}
			put_verdicts(rec, &rows[i], &v, rerr + exc[XDP_TX] + xdrops, now);
		} else {
			/* priming read: rates start from here */
			r->prev = v;
			r->prev_err = rerr + exc[XDP_TX] + xdrops;
			r->prev_t = now;
			r->have_prev = true;
		}

		/* per-queue rows */
		if (o.per_queue && r->src == SRC_FEXIT) {
			int maxq = -1;
			for (int k = 0; k < nfsums; k++)
				if (fsums[k].k.netns == r->netns && (int)fsums[k].k.ifindex == r->ifindex &&
				    fsums[k].k.prog_id == r->prog_id && (int)fsums[k].k.queue > maxq)
					maxq = (int)fsums[k].k.queue;
			for (int q = 0; q <= maxq; q++) {
				uint64_t tot[XV_NACT] = {};
				bool any = false;
				for (int k = 0; k < nfsums; k++) {
					const struct fsum *s = &fsums[k];
					if (s->k.netns != rows[i].netns || (int)s->k.ifindex != rows[i].ifindex ||
					    s->k.prog_id != rows[i].prog_id || (int)s->k.queue != q)
						continue;
					any = true;
					for (int a = 0; a < XV_NACT; a++)
						tot[a] += s->v.act[a];
				}
				if (!any)
					continue;
				struct row *qr = queue_row(&rows[i], q);
				struct xdp_verdicts qv = {};
				for (int a = 0; a < XV_NACT; a++)
					tot[a] = counter_advance(&qr->fx[a], tot[a]);
				tot[XDP_ABORTED] += tot[XV_ACT_INVALID];
				for (int a = 0; a < XV_NVERDICTS; a++) {
					qv.v[a] = tot[a];
					qv.known[a] = true;
					qv.packets += tot[a];
				}
				qv.packets_known = true;
				if (sn) {
					struct record *rec = row_record(sn, &rows[i], q);
					put_verdicts(rec, qr, &qv, 0, now);
					rec_none(rec, R_ERR_RATE);
				} else {
					qr->prev = qv;
					qr->prev_t = now;
					qr->have_prev = true;
				}
				nq_rows++;
			}
		} else if (o.per_queue && r->src == SRC_DRIVER) {
			/* tracepoint facts are per interface: usable per queue only
			 * when there is one queue or they are all zero */
			bool tp_zero = !tp.exc_aborted && !tp.exc_tx && !tp.redirect_err;
			struct xdp_tp_facts qtp = tp;
			qtp.valid = tp.valid && (nq <= 1 || tp_zero);
			for (int q = 0; q < nq; q++) {
				struct xdp_verdicts qv;
				struct row *qr = queue_row(&rows[i], q);
				xdpmap_derive(rows[i].dm, &perq[q], &qtp, &qv);
				if (sn) {
					struct record *rec = row_record(sn, &rows[i], q);
					put_verdicts(rec, qr, &qv, 0, now);
					rec_none(rec, R_ERR_RATE);
				} else {
					qr->prev = qv;
					qr->prev_t = now;
					qr->have_prev = true;
				}
				nq_rows++;
			}
		}
		free(perq);
	}
	if (!sn)
		return 0;
	char note[256] = "";
	if (!nrows)
		snprintf(note, sizeof(note), "no XDP program attached%s", o.iface ? " to the selected interface" : "");
	if (partial)
		snprintf(note, sizeof(note), "-: verdicts this mechanism cannot count exactly here (see man xdpverdict, MECHANISMS)");
	if (none)
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%ssource none: no exact mechanism for "
			 "this program on this kernel", note[0] ? "; " : "");
	if (note[0])
		snap_meta(sn, "note", "%s", note);
	uint64_t m = missed_total();
	static bool missed_warned;
	if (m && !missed_warned) {
		warnx_("%" PRIu64 " counter updates lost: a counting map is full (more than 4096 interface, "
		       "queue and program combinations); counted in missed_updates", m);
		missed_warned = true;
	}
	snap_meta_u64(sn, "missed_updates", m);
	out_set_missed(recursion_misses());
	(void)nq_rows;
	snap_append(sn, vsn);
	vsn = NULL;
	return snap_end(sn);
}

/* ---- events --------------------------------------------------------- */

static long events_left; /* -c in --events mode */

static bool event_selected(const struct xv_event *e)
{
	bool ns_ok = false;
	for (int i = 0; i < nns; i++)
		ns_ok |= nss[i].ino == e->netns;
	if (!ns_ok)
		return false;
	return !o.iface || !strncmp(o.iface, e->ifname, sizeof(e->ifname));
}

static int on_event(void *ctx, const void *data, size_t size)
{
	const struct xv_event *e = data;
	char nb[32], tb[64];
	(void)ctx;

	if (size < sizeof(*e) || !event_selected(e))
		return 0;
	struct record *r = event_new(&event_schema);
	rec_str(r, E_NETNS, ns_display(e->netns, nb, sizeof(nb)));
	char ifname[sizeof(e->ifname) + 1] = {};
	memcpy(ifname, e->ifname, sizeof(e->ifname));
	rec_str(r, E_IFACE, ifname);
	rec_u64(r, E_IFINDEX, e->ifindex);
	if (e->prog_id) {
		struct bpf_prog_info pi;
		int fd = bpfobj_prog_open(e->prog_id, &pi);
		rec_u64(r, E_PROG_ID, e->prog_id);
		if (fd >= 0) {
			rec_str(r, E_PROG, pi.name);
			close(fd);
		}
	}
	switch (e->kind) {
	case XV_EV_EXCEPTION: rec_str(r, E_TYPE, "exception"); break;
	case XV_EV_REDIRECT_ERR: rec_str(r, E_TYPE, "redirect_error"); break;
	case XV_EV_BULK_TX_ERR: rec_str(r, E_TYPE, "tx_xmit_error"); break;
	case XV_EV_DEVMAP_ERR: rec_str(r, E_TYPE, "devmap_xmit_error"); break;
	default: rec_str(r, E_TYPE, "unknown"); break;
	}
	rec_str(r, E_ACTION, action_name(e->act));
	if (e->err) {
		rec_str(r, E_ERRNO_NAME, errno_name(e->err));
		rec_u64(r, E_ERRNO, (uint64_t)(e->err < 0 ? -(int64_t)e->err : e->err));
	}
	if (e->to_ifindex) {
		const char *tn = ifname_of(e->netns, e->to_ifindex);
		snprintf(tb, sizeof(tb), "%s%sifindex %d", tn ? tn : "", tn ? " " : "", e->to_ifindex);
		rec_str(r, E_TARGET, tb);
		rec_u64(r, E_TO_IFINDEX, e->to_ifindex);
	}
	if (e->map_id) {
		rec_u64(r, E_MAP_ID, e->map_id);
		rec_u64(r, E_MAP_INDEX, e->map_index);
		if (!e->to_ifindex) {
			snprintf(tb, sizeof(tb), "map %u [%u]", e->map_id, e->map_index);
			rec_str(r, E_TARGET, tb);
		}
	}
	if (e->kind == XV_EV_BULK_TX_ERR || e->kind == XV_EV_DEVMAP_ERR) {
		rec_u64(r, E_SENT, e->sent);
		rec_u64(r, E_DROPS, e->drops);
	}
	int err = event_emit(r);
	if (err)
		return err;
	if (events_left && --events_left == 0)
		loop_request_stop();
	return 0;
}

/* ---- main ----------------------------------------------------------- */

static bool pick_tp(const char *tp, struct bpf_program *btf_prog, struct bpf_program *raw_prog,
		    bool force_raw, bool *used_raw)
{
	bool b = !force_raw && probe_tp_btf(tp), r = !b && probe_raw_tp(tp);
	bpf_program__set_autoload(btf_prog, b);
	bpf_program__set_autoload(raw_prog, r);
	if (!b && !r)
		note("tracepoint xdp:%s not in this kernel: not loaded", tp);
	*used_raw |= r && !force_raw;
	return b || r;
}

/* One interval (the snapshot driver's callback): rates come from the
 * counters' own time stamps. */
static int interval_done(void *ctx, double dt)
{
	(void)ctx;
	(void)dt;
	discover(false);
	return snapshot(true);
}

int main(int argc, char **argv)
{
	int err;

	opts_parse(&argp, argc, argv, NULL);
	if (o.events)
		opts_event_stream("--events");
	if (o.netns && o.all_netns)
		die(EXIT_USAGE, "--netns and --all-netns exclude each other (see --help)");
	if (o.events && o.per_queue)
		die(EXIT_USAGE, "--per-queue applies to counts, not to --events (see --help)");
	require_bpf_privileges();
	probe_require_btf();
	ns_setup();
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die(EXIT_FAIL, "cannot count possible CPUs: %s", errno_name(-ncpus));

	/* probe */
	have_fentry = !o.events && o.source != SRC_DRIVER && o.source != SRC_TRACEPOINT && probe_fentry();
	if (o.source == SRC_FEXIT && !have_fentry)
		die(EXIT_NOFEATURE, "--source fexit is unavailable: this kernel does not allow BPF trampolines "
		    "(fentry/fexit); use --source driver or tracepoint");

	/* open, configure, load.  Some kernels refuse tp_btf programs that
	 * read the redirect tracepoints' untyped target argument (void *):
	 * those two are then loaded as raw_tp. */
	bool raw = false, any_tp = false, raw_redirect = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		skel = xdpverdict_bpf__open();
		if (!skel)
			die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
		bpf_program__set_autoload(skel->progs.xdp_exit, false);
		raw = false;
		any_tp = pick_tp("xdp_exception", skel->progs.tp_btf_exception, skel->progs.raw_tp_exception, false, &raw);
		pick_tp("xdp_redirect", skel->progs.tp_btf_redirect, skel->progs.raw_tp_redirect, raw_redirect, &raw);
		pick_tp("xdp_redirect_err", skel->progs.tp_btf_redirect_err, skel->progs.raw_tp_redirect_err,
			raw_redirect, &raw);
		pick_tp("xdp_bulk_tx", skel->progs.tp_btf_bulk_tx, skel->progs.raw_tp_bulk_tx, false, &raw);
		pick_tp("xdp_devmap_xmit", skel->progs.tp_btf_devmap_xmit, skel->progs.raw_tp_devmap_xmit, false, &raw);
		if (!any_tp && (o.source == SRC_TRACEPOINT || o.events))
			die(EXIT_NOFEATURE, "the kernel has no xdp_exception tracepoint: %s is unavailable",
			    o.events ? "--events" : "--source tracepoint");
		skel->rodata->emit_events = o.events;
		evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
		err = xdpverdict_bpf__load(skel);
		if (!err)
			break;
		bool retry = !raw_redirect && (bpf_program__autoload(skel->progs.tp_btf_redirect) ||
					       bpf_program__autoload(skel->progs.tp_btf_redirect_err));
		xdpverdict_bpf__destroy(skel);
		skel = NULL;
		if (!retry)
			break;
		note("tp_btf on xdp_redirect refused by this kernel (%s): using raw_tp for it", errno_name(-err));
		raw_redirect = true;
	}
	if (!skel)
		die_bpf_load(err);
	tp_kind = !any_tp ? "none" : raw_redirect && !raw ? "tp_btf+raw_tp" : raw ? "raw_tp" : "tp_btf";

	/* attach the tracepoints (xdp_redirect only when a row needs it) */
	struct bpf_program *p;
	bpf_object__for_each_program(p, skel->obj) {
		if (!bpf_program__autoload(p) || p == skel->progs.tp_btf_redirect || p == skel->progs.raw_tp_redirect)
			continue;
		struct bpf_link *l = bpf_program__attach(p);
		if (!l) {
			if (p == skel->progs.tp_btf_exception || p == skel->progs.raw_tp_exception)
				any_tp = false;
			note("cannot attach %s: %s", bpf_program__name(p), errno_name(errno));
			continue;
		}
		tp_links = xrealloc(tp_links, (ntp_links + 1) * sizeof(*tp_links));
		tp_links[ntp_links++] = l;
	}
	tp_attached = any_tp;
	if (!tp_attached) {
		if (o.source == SRC_TRACEPOINT || o.events)
			die(EXIT_NOFEATURE, "cannot attach the xdp_exception tracepoint: %s is unavailable",
			    o.events ? "--events" : "--source tracepoint");
		tp_kind = "none";
	}
	loop_init();

	if (o.events) {
		ns_refresh();
		if (o.iface) {
			bool found = false;
			for (int i = 0; i < nns; i++)
				for (int k = 0; k < nss[i].ndevs; k++)
					found |= !strcmp(nss[i].devs[k].name, o.iface);
			if (!found)
				die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", o.iface,
				    o.netns ? " in network namespace " : "", o.netns ? o.netns : "");
		}
		evb = evbuf_open(skel->maps.events, skel->maps.events_lost, on_event, NULL);
		if (!evb)
			die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
		event_meta("mechanism", "%s xdp tracepoints, %s", tp_kind, evbuf_mechanism(evb));
		err = event_start(&event_schema);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		events_left = copts.count;
		double missed_at = 0;
		while (!loop_stopping()) {
			if (now_mono() - missed_at >= 1.0) {
				out_set_missed(recursion_misses());
				missed_at = now_mono();
			}
			err = evbuf_poll(evb, 200);
			if (err < 0)
				die(EXIT_FAIL, "cannot read events: %s", errno_name(-err));
			if (loop_stopping())
				break;
			/* keep interface names fresh for targets */
			static double last_refresh;
			if (now_mono() - last_refresh > 2) {
				ns_refresh();
				last_refresh = now_mono();
			}
		}
		evbuf_free(evb);
	} else {
		if (o.per_queue) {
			fields[R_QUEUE].flags |= FF_TABLE | FF_PROM;
			vfields[VD_QUEUE].flags |= FF_PROM;
		}
		if (nns > 1)
			fields[R_NETNS].flags |= FF_TABLE;
		discover(true);
		snapshot(false); /* baseline: counts start now */
		if (!copts.interval_set)
			copts.interval = 1.0;
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, NULL);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	}

	/* clean exit: every link and program goes with its skeleton */
	for (int i = 0; i < nwatches; i++)
		xdpverdict_bpf__destroy(watches[i].skel);
	free(watches);
	bpf_link__destroy(redirect_link);
	for (int i = 0; i < ntp_links; i++)
		bpf_link__destroy(tp_links[i]);
	free(tp_links);
	xdpverdict_bpf__destroy(skel);
	for (int i = 0; i < nrows; i++)
		row_free(&rows[i]);
	free(rows);
	free(fsums);
	free(tsums);
	for (int i = 0; i < nns; i++) {
		free(nss[i].name);
		free(nss[i].devs);
		close(nss[i].sock);
		if (nss[i].fd >= 0)
			close(nss[i].fd);
	}
	free(nss);
	event_meta_free();
	return EXIT_OK;
}
