// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcverdict: what are TC and LWT BPF programs, and act_mirred, doing with
 * my packets?  Per interface, direction, attach kind (cls_bpf, tcx,
 * netkit, lwt) and program: each verdict and every redirect target; per
 * act_mirred action: redirects and mirrors with the kernel's own counts;
 * drops and failed redirects as they happen.
 *
 * Per program, the best exact mechanism this kernel offers (tvrows.c):
 *   fexit        a trampoline on the program itself (one copy of the BPF
 *                object per program, common/progwatch): every verdict
 *   drop_reason  kfree_skb with the TC_INGRESS/TC_EGRESS drop reasons: SHOT
 *                of a hook's only program; every other verdict unknown
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "opts.h"
#include "probe.h"
#include "progwatch.h"
#include "tcdisc.h"
#include "util.h"
#include "tv.h"
#include "tvrows.h"
#include "tcverdict.skel.h"
#include "tcverdict_pcpu.skel.h"

/* ---- options -------------------------------------------------------- */

struct tv_opts to;
struct nsset nss;

enum { OPT_ALL_NETNS = 0x2000 };

static const struct argp_option options[] = {
	{ "all-netns", OPT_ALL_NETNS, NULL, 0, "Every network namespace: this one, those under /run/netns and "
	  "those of running processes", 1 },
	{ "prog", 'P', "ID", 0, "Only program ID's rows (and events)", 1 },
	{ 0 },
};

static const char doc[] =
	"tcverdict: what TC (cls_bpf, tcx, netkit) and LWT BPF programs, and act_mirred actions, do with "
	"packets: verdicts per interface, direction and program, redirect targets, mirred counts.\v"
	"--mechanism: fexit or drop_reason (how verdicts are counted), tp_btf or raw_tp (how the kfree_skb "
	"tracepoint is attached for drop reasons).\n"
	"Examples:\n"
	"  tcverdict                     # every TC/LWT program and mirred action, each second\n"
	"  tcverdict -I eth0 -i 5        # eth0's programs, every 5 s\n"
	"  tcverdict --all-netns -o json\n"
	"  tcverdict -e                  # drops and failed redirects as they happen\n"
	"  tcverdict -o prom -c 1 -i 10 --file /var/lib/prometheus/node-exporter/tcverdict.prom";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	uint64_t v;
	switch (key) {
	case OPT_ALL_NETNS:
		to.all_netns = true;
		break;
	case 'P':
		if (parse_u64(arg, &v) || !v || v > UINT32_MAX)
			usage_error("invalid program ID '%s': expected a number from 1, as bpftool prog lists them", arg);
		to.prog_id = (uint32_t)v;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_IFACE, OPTG_NETNS, OPTG_EVENTS, OPTG_MECHANISM);

/* --mechanism NAME[,NAME]: fexit or drop_reason choose how verdicts are
 * counted; tp_btf and raw_tp how kfree_skb is attached (and alone, count
 * with drop reasons).  drop_reason is no hook of its own: taken out of what
 * hooks_select() sees.  Returns the hook names (NULL: none), malloc'd. */
static char *mechanism_option(const char *arg)
{
	char *hookm = NULL, *copy = xstrdup(arg), *save = NULL;
	bool fexit = false, dr = false;
	size_t len = 0;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "drop_reason")) {
			dr = true;
			continue;
		}
		if (strcmp(t, "fexit") && strcmp(t, "tp_btf") && strcmp(t, "raw_tp"))
			die(EXIT_USAGE, "invalid --mechanism '%s': expected fexit, drop_reason, tp_btf or raw_tp "
			    "(see --help)", t);
		fexit |= !strcmp(t, "fexit");
		dr |= strcmp(t, "fexit") != 0;
		hookm = xrealloc(hookm, len + strlen(t) + 2);
		len += sprintf(hookm + len, "%s%s", len ? "," : "", t);
	}
	free(copy);
	if (fexit && dr)
		die(EXIT_USAGE, "--mechanism fexit and drop_reason exclude each other: verdicts are counted one way "
		    "(see --help)");
	to.forced = fexit ? SRC_FEXIT : dr ? SRC_DROP_REASON : SRC_NONE;
	return hookm;
}

/* ---- hooks ---------------------------------------------------------- */

struct hook hooks[H_N] = {
	/* aimed at each TC/LWT program by common/progwatch: never loaded in
	 * the main object */
	[H_FEXIT] = { "tc_program_return", HOOK_OPTIONAL, "exact counts of every verdict (drop reasons instead)",
		      .alt = { { .mech = MECH_FEXIT, .prog = "tc_exit", .clone = true } } },
	[H_REDIR_ERR] = { "skb_do_redirect", HOOK_OPTIONAL, "redirects that failed",
			  .alt = { { .mech = MECH_FEXIT, .prog = "redir_exit", .target = "skb_do_redirect" } } },
	/* attached when a row or the event stream counts with drop reasons */
	[H_KFREE] = { "kfree_skb", HOOK_OPTIONAL, "SHOT without fexit",
		      .alt = { { .mech = MECH_TP_BTF, .prog = "btf_kfree_skb", .target = "kfree_skb", .manual = true },
			       { .mech = MECH_RAW_TP, .prog = "raw_kfree_skb", .target = "kfree_skb",
				 .manual = true } } },
};

struct tcverdict_bpf *skel;
struct progwatch *watch;

const char *source_name(enum source s)
{
	static const char *const names[] = {
		[SRC_NONE] = "none", [SRC_FEXIT] = "fexit", [SRC_DROP_REASON] = "drop_reason",
	};
	return names[s];
}

bool drop_reasons_on(void)
{
	struct hook *h = &hooks[H_KFREE];
	if (h->link)
		return true;
	if (!hook_active(h))
		return false;
	h->link = bpf_program__attach(h->prog);
	if (!h->link) {
		warnx_("cannot attach kfree_skb: %s: no drop reasons", errno_name(errno));
		return false;
	}
	return true;
}

/* fexit copies, one per TC or LWT program; before Linux 6.11 from the
 * object that reads the per-CPU redirect info (tcverdict_pcpu). */
static uint32_t lwt_dir(const struct bpf_prog_info *info)
{
	return info->type == BPF_PROG_TYPE_LWT_IN ? TVD_LWT_IN : info->type == BPF_PROG_TYPE_LWT_OUT ? TVD_LWT_OUT
	       : info->type == BPF_PROG_TYPE_LWT_XMIT ? TVD_LWT_XMIT : 0;
}

#define TV_WATCH_OPS(name, T)                                                                              \
	static void *name##_open(void) { return T##__open(); }                                           \
	static struct bpf_object *name##_obj(void *s) { return ((struct T *)s)->obj; }                   \
	static struct bpf_link **name##_link(void *s) { return &((struct T *)s)->links.tc_exit; }        \
	static void name##_destroy(void *s) { T##__destroy(s); }                                         \
	static void name##_prepare(void *s, uint32_t prog_id, const struct bpf_prog_info *info)          \
	{                                                                                                 \
		struct T *c = s;                                                                          \
		c->rodata->target_prog_id = prog_id;                                                      \
		c->rodata->target_lwt_dir = lwt_dir(info);                                                \
		c->rodata->rflags.peer = skel->rodata->rflags.peer;                                       \
		c->rodata->rflags.neigh = skel->rodata->rflags.neigh;                                     \
		c->rodata->emit_events = skel->rodata->emit_events;                                       \
	}                                                                                                 \
	static const struct progwatch_ops name##_ops = {                                                  \
		.prog = "tc_exit", .open = name##_open, .obj = name##_obj, .link = name##_link,           \
		.prepare = name##_prepare, .destroy = name##_destroy,                                     \
	}
TV_WATCH_OPS(tv, tcverdict_bpf);
TV_WATCH_OPS(tvpcpu, tcverdict_pcpu_bpf);

/* ---- fields: described once ---------------------------------------- */

const char *const verdict_names[TV_NACT] = {
	"unspec", "ok", "reclassify", "shot", "pipe", "stolen", "queued", "repeat", "redirect", "trap",
	"reroute", "other",
};

enum { MF_FEXIT, MF_DROP_REASONS, MF_NOTE, MF_MISSED_UPDATES, MF_NFIELDS };
static const struct field mfields[MF_NFIELDS] = {
	[MF_FEXIT] = { "fexit", "", FK_LABEL, 0,
		       "BPF trampolines (fexit on the TC and LWT programs): available, unavailable on this kernel, or "
		       "not used (--mechanism)", 0, 0, 0 },
	[MF_DROP_REASONS] = { "drop_reasons", "", FK_LABEL, 0,
			      "How kfree_skb is attached for TC drop reasons: tp_btf, raw_tp, or none (not needed or "
			      "not available)", 0, 0, 0 },
	[MF_NOTE] = { "note", "", FK_TEXT, 0,
		      "Remarks on this snapshot: verdicts a mechanism cannot count, rows with no mechanism, "
		      "no program attached", 0, 0, 0 },
	[MF_MISSED_UPDATES] = { "missed_updates", "", FK_COUNTER, 0,
				"Counter updates lost because a counting map was full (4096 interface, direction and "
				"program combinations)", 0, 0, 0 },
};
static const struct schema snap_meta_schema = { "tcverdict", "programs", mfields, MF_NFIELDS, NULL };

#define F_DIR(FL) { "direction", "DIR", FK_LABEL, (FL) | FF_LEFT, \
	"Where the program runs: ingress or egress (cls_bpf, tcx), primary or peer (netkit), in, out or xmit " \
	"(lwt)", 0, 0, 7 }
#define F_KIND(FL) { "kind", "KIND", FK_LABEL, (FL) | FF_LEFT, "How the program is attached: cls_bpf, tcx, " \
	"netkit or lwt", 0, 0, 7 }
#define F_ROUTE(FL) { "route", "ROUTE", FK_LABEL, (FL) | FF_LEFT, "The route an LWT program is attached to " \
	"(prefix and table); null for the other kinds", 0, 0, 0 }
#define F_SOURCE(FL) { "source", "SOURCE", FK_LABEL, (FL), "Counting mechanism: fexit, drop_reason or none", 0, 0, 0 }

#define CNT (FF_JSON | FF_WIDE)
#define RATE (FF_TABLE | FF_JSON)
static struct field fields[R_NFIELDS] = {
	[R_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[R_IFACE] = F_IFACE(FF_ALL),
	[R_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[R_DIR] = F_DIR(FF_ALL),
	[R_KIND] = F_KIND(FF_ALL),
	[R_ROUTE] = F_ROUTE(FF_JSON | FF_PROM | FF_WIDE),
	[R_PROG_ID] = F_PROG_ID(FF_ALL),
	[R_PROG] = F_PROG_NAME(FF_JSON | FF_PROM | FF_WIDE),
	[R_SOURCE] = F_SOURCE(FF_ALL),
#define V(slot, name, hdr, what) [R_V0 + slot] = { name, hdr, FK_COUNTER, CNT, \
	"Packets the program returned " what " for", 0, 0, 0 }
	V(TV_UNSPEC, "unspec", "UNSPEC", "TC_ACT_UNSPEC or TCX_NEXT (-1: the next filter or program decides)"),
	V(TV_OK, "ok", "OK", "TC_ACT_OK, TCX_PASS or BPF_OK"),
	V(TV_RECLASSIFY, "reclassify", "RECLASS", "TC_ACT_RECLASSIFY"),
	V(TV_SHOT, "shot", "SHOT", "TC_ACT_SHOT, TCX_DROP or BPF_DROP"),
	V(TV_PIPE, "pipe", "PIPE", "TC_ACT_PIPE"),
	V(TV_STOLEN, "stolen", "STOLEN", "TC_ACT_STOLEN"),
	V(TV_QUEUED, "queued", "QUEUED", "TC_ACT_QUEUED"),
	V(TV_REPEAT, "repeat", "REPEAT", "TC_ACT_REPEAT"),
	V(TV_REDIRECT, "redirect", "REDIR", "TC_ACT_REDIRECT, TCX_REDIRECT or BPF_REDIRECT"),
	V(TV_TRAP, "trap", "TRAP", "TC_ACT_TRAP"),
	V(TV_REROUTE, "reroute", "REROUTE", "BPF_LWT_REROUTE (LWT)"),
	V(TV_OTHER, "other", "OTHER", "any other value"),
#undef V
	[R_REDIR_ERR] = { "redirect_errors", "REDIR_ERR", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			  "Redirects the program asked for that failed (skb_do_redirect; fexit only)", 0, 0, 0 },
	[R_PACKETS] = { "packets", "PACKETS", FK_COUNTER, CNT,
			"Packets the program ran on (every verdict, when all are known)", 0, 0, 0 },
	[R_PACKETS_RATE] = { "packets_per_second", "PKT/s", FK_GAUGE, RATE,
			     "Packets per second the program ran on over the last interval", 0, 0, 0 },
	[R_OK_RATE] = { "ok_packets_per_second", "OK/s", FK_GAUGE, RATE,
			"OK (TC_ACT_OK, TCX_PASS, BPF_OK) packets per second over the last interval", 0, 0, 0 },
	[R_SHOT_RATE] = { "shot_packets_per_second", "SHOT/s", FK_GAUGE, RATE,
			  "SHOT (TC_ACT_SHOT, TCX_DROP, BPF_DROP) packets per second over the last interval", 0, 0, 0 },
	[R_REDIRECT_RATE] = { "redirect_packets_per_second", "REDIR/s", FK_GAUGE, RATE,
			      "REDIRECT packets per second over the last interval", 0, 0, 0 },
};
const struct schema row_schema = { "tcverdict", "programs", fields, R_NFIELDS, &snap_meta_schema };

/* Prometheus only: one sample per row and known verdict. */
static const struct field vfields[VD_NFIELDS] = {
	[VD_NETNS] = F_NETNS(FF_PROM),
	[VD_IFACE] = F_IFACE(FF_PROM),
	[VD_DIR] = F_DIR(FF_PROM),
	[VD_KIND] = F_KIND(FF_PROM),
	[VD_ROUTE] = F_ROUTE(FF_PROM),
	[VD_PROG_ID] = F_PROG_ID(FF_PROM),
	[VD_PROG] = F_PROG_NAME(FF_PROM),
	[VD_SOURCE] = F_SOURCE(FF_PROM),
	[VD_VERDICT] = { "verdict", "VERDICT", FK_LABEL, FF_PROM,
			 "What the program returned: unspec, ok, reclassify, shot, pipe, stolen, queued, repeat, "
			 "redirect, trap, reroute or other", 0, 0, 0 },
	[VD_PACKETS] = { "packets", "PACKETS", FK_COUNTER, FF_PROM,
			 "Packets the program returned the verdict for (verdicts the mechanism cannot count have no "
			 "sample)", 0, 0, 0 },
};
const struct schema verdict_schema = { "tcverdict", "verdicts", vfields, VD_NFIELDS, NULL };

static const struct field rdfields[RD_NFIELDS] = {
	[RD_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[RD_IFACE] = F_IFACE(FF_ALL),
	[RD_DIR] = F_DIR(FF_ALL),
	[RD_KIND] = F_KIND(FF_JSON | FF_PROM | FF_WIDE),
	[RD_PROG_ID] = F_PROG_ID(FF_ALL),
	[RD_PROG] = F_PROG_NAME(FF_JSON | FF_PROM | FF_WIDE),
	[RD_TARGET] = { "target", "TARGET", FK_LABEL, FF_ALL, "Redirect target interface (in the program's "
			"namespace; for peer redirects, the peer's namespace)", 0, 0, 0 },
	[RD_TARGET_IFINDEX] = { "target_ifindex", "TO_IF", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE | FF_RIGHT,
				"Index of the redirect target interface", 0, 0, 0 },
	[RD_TARGET_DIR] = { "target_direction", "TO_DIR", FK_LABEL, FF_ALL,
			    "Where the packet enters the target: ingress (BPF_F_INGRESS, peer) or egress", 0, 0, 0 },
	[RD_VIA] = { "via", "VIA", FK_LABEL, FF_ALL,
		     "Which helper: redirect (bpf_redirect), peer (bpf_redirect_peer) or neigh "
		     "(bpf_redirect_neigh)", 0, 0, 0 },
	[RD_PACKETS] = { "redirected_packets", "PACKETS", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			 "Packets the program redirected there since tcverdict started", 0, 0, 0 },
	[RD_RATE] = { "packets_per_second", "PKT/s", FK_GAUGE, RATE,
		      "Packets per second redirected there over the last interval", 0, 0, 0 },
};
const struct schema redirect_schema = { "tcverdict", "redirects", rdfields, RD_NFIELDS, NULL };

static const struct field mrfields[M_NFIELDS] = {
	[M_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[M_INDEX] = { "index", "INDEX", FK_LABEL, FF_ALL | FF_RIGHT, "The mirred action's index (tc actions ls "
		      "action mirred)", 0, 0, 0 },
	[M_ACTION] = { "action", "ACTION", FK_LABEL, FF_ALL, "redirect or mirror", 0, 0, 0 },
	[M_TARGET_DIR] = { "target_direction", "TO_DIR", FK_LABEL, FF_ALL,
			   "Where the packet enters the target: ingress or egress", 0, 0, 0 },
	[M_TARGET] = { "target", "TARGET", FK_LABEL, FF_ALL, "The target interface (empty when it is gone)", 0, 0, 0 },
	[M_TARGET_IFINDEX] = { "target_ifindex", "TO_IF", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE | FF_RIGHT,
			       "Index of the target interface", 0, 0, 0 },
	[M_PACKETS] = { "mirred_packets", "PACKETS", FK_COUNTER, FF_ALL,
			"Packets through the action since it was created (the kernel's action statistics)", 0, 0, 0 },
	[M_BYTES] = { "mirred_bytes", "BYTES", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		      "Bytes through the action since it was created", 0, 0, 0 },
	[M_DROPS] = { "mirred_drops", "DROPS", FK_COUNTER, FF_ALL,
		      "Packets the action dropped (target gone or down, recursion limit)", 0, 0, 0 },
	[M_OVERLIMITS] = { "mirred_overlimits", "OVERLIM", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			   "The action's overlimits counter", 0, 0, 0 },
	[M_RATE] = { "packets_per_second", "PKT/s", FK_GAUGE, RATE,
		     "Packets per second through the action over the last interval", 0, 0, 0 },
};
const struct schema mirred_schema = { "tcverdict", "mirred", mrfields, M_NFIELDS, NULL };

enum { EM_MECH, EM_NFIELDS };
static const struct field emfields[EM_NFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0,
		      "Where the events come from (fexit on the programs and skb_do_redirect, or kfree_skb drop "
		      "reasons) and the event transport (ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema event_meta_schema = { "tcverdict", "events", emfields, EM_NFIELDS, NULL };

static const struct field efields[E_NFIELDS] = {
	[E_TYPE] = { "type", "TYPE", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT, HELP_TYPE, 0, 0, 14 },
	[E_NETNS] = F_NETNS(FF_JSON | FF_WIDE),
	[E_IFACE] = F_IFACE(FF_TABLE | FF_JSON),
	[E_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[E_DIR] = F_DIR(FF_TABLE | FF_JSON),
	[E_PROG_ID] = F_PROG_ID(FF_TABLE | FF_JSON),
	[E_PROG] = F_PROG_NAME(FF_JSON | FF_WIDE),
	[E_VERDICT] = { "verdict", "VERDICT", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT,
			"What the program returned (shot, redirect); null when only the drop reason is known", 0, 0, 8 },
	[E_REASON] = { "reason", "REASON", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT,
		       "The kernel's drop reason (TC_INGRESS, TC_EGRESS); null under fexit", 0, 0, 10 },
	[E_ERRNO_NAME] = F_ERRNO_NAME(FF_TABLE | FF_JSON),
	[E_TARGET] = { "target", "TARGET", FK_TEXT, FF_TABLE | FF_JSON,
		       "Redirect target: interface name and index, direction and helper", 0, 0, 28 },
};
const struct schema event_schema = { "tcverdict", "events", efields, E_NFIELDS, &event_meta_schema };

OUT_REGISTER(&row_schema, &verdict_schema, &redirect_schema, &mirred_schema, &event_schema);

/* ---- facts and misses ----------------------------------------------- */

void snapshot_facts(struct snapshot *sn)
{
	const struct hook *k = &hooks[H_KFREE];
	snap_meta(sn, "fexit", "%s", hook_active(&hooks[H_FEXIT]) ? "available"
		  : hooks[H_FEXIT].off ? "not used" : "unavailable on this kernel");
	snap_meta(sn, "drop_reasons", "%s", k->link ? hook_chosen(k) : "none");
}

uint64_t recursion_misses(void *ctx)
{
	(void)ctx;
	return bpfobj_recursion_misses(skel->obj) + progwatch_misses(watch);
}

/* ---- main ----------------------------------------------------------- */

static void load(const char *hookm)
{
	long long v;
	skel = tcverdict_bpf__open();
	if (!skel)
		die_errno(errno, NULL, "cannot open BPF object");
	hooks_select(skel->obj, hooks, H_N, hookm);
	/* the kernel's internal redirect flags moved between versions */
	skel->rodata->rflags.peer = probe_btf_enumerator("BPF_F_PEER", &v) ? (uint32_t)v : 0;
	skel->rodata->rflags.neigh = probe_btf_enumerator("BPF_F_NEIGH", &v) ? (uint32_t)v : 0;
	skel->rodata->emit_events = copts.events;
	evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
	int err = tcverdict_bpf__load(skel);
	if (err)
		die_bpf_load(err);
}

static int interval_done(void *ctx, double dt)
{
	(void)ctx;
	(void)dt; /* rates come from each row's own time stamps */
	rows_discover(false);
	return rows_snapshot(true);
}

static int run_events(void)
{
	char mech[128];
	rows_discover(true);
	if (!hook_active(&hooks[H_FEXIT]) && !drop_reasons_on())
		die(EXIT_NOFEATURE, "--events needs fexit or the kfree_skb tracepoint: neither is available here");
	snprintf(mech, sizeof(mech), "%s", hook_active(&hooks[H_FEXIT])
		 ? (hooks[H_REDIR_ERR].link ? "fexit on the programs and skb_do_redirect" : "fexit on the programs")
		 : "kfree_skb drop reasons");
	struct evbuf *evb = evbuf_open(skel->maps.events, skel->maps.events_lost, tv_on_event, NULL);
	if (!evb)
		die_errno(errno, NULL, "cannot open the event buffer");
	evbuf_set_misses(evb, recursion_misses, NULL);
	event_meta("mechanism", "%s, %s", mech, evbuf_mechanism(evb));
	int err = event_start(&event_schema);
	if (!err)
		err = event_run(evb, copts.count, 200, tv_events_idle, NULL);
	evbuf_free(evb);
	return err;
}

static int run_snapshots(void)
{
	rows_discover(true);
	rows_snapshot(false); /* baseline: rates start now */
	if (!copts.interval_set)
		copts.interval = 1.0;
	return snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, NULL);
}

int main(int argc, char **argv)
{
	opts_parse(&argp, argc, argv, NULL);
	char *hookm = copts.mechanism ? mechanism_option(copts.mechanism) : NULL;
	if (copts.netns && to.all_netns)
		die(EXIT_USAGE, "--netns and --all-netns exclude each other (see --help)");
	require_bpf_privileges();
	probe_require_btf();
	nsset_setup(&nss, copts.netns, to.all_netns);
	if (to.prog_id) {
		struct bpf_prog_info pi;
		int fd = bpfobj_prog_open(to.prog_id, &pi);
		if (fd == -ENOENT)
			die(EXIT_NOTFOUND, "no BPF program %u (list them with: bpftool prog)", to.prog_id);
		if (fd < 0)
			die_errno(fd, "CAP_SYS_ADMIN", "cannot open BPF program %u", to.prog_id);
		close(fd);
	}

	/* fexit counts; drop reasons only when asked for or needed */
	hooks[H_FEXIT].off = to.forced == SRC_DROP_REASON;
	hooks[H_REDIR_ERR].off = to.forced == SRC_DROP_REASON;
	if (to.forced == SRC_DROP_REASON)
		hooks[H_KFREE].policy = HOOK_REQUIRED;
	bool net_context = probe_btf_member("task_struct", "bpf_net_context"); /* 6.11+ */
	load(hookm);
	hooks_attach(hooks, H_N);
	watch = progwatch_new(net_context ? &tv_ops : &tvpcpu_ops, skel->obj);

	int err = copts.events ? run_events() : run_snapshots();
	if (err)
		die_errno(err, NULL, "cannot write output");

	/* clean exit: every link and program goes with its skeleton */
	progwatch_free(watch);
	hooks_detach(hooks, H_N);
	tcverdict_bpf__destroy(skel);
	rows_free();
	nsset_free(&nss);
	event_meta_free();
	free(hookm);
	return EXIT_OK;
}
