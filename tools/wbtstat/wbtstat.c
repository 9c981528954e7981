// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wbtstat: what is block-layer writeback throttling doing on each disk
 * (window, scale step, limits, latency), and which processes are being
 * throttled for dirtying pages?
 *
 * This file: options, hooks, records, main.  sysblock.c reads disks from
 * sysfs and debugfs, wbtreport.c renders snapshots and events, hist.c holds
 * the log2 histogram math.
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
#include "hooks.h"
#include "hz.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "wbtreport.h"
#include "sysblock.h"
#include "util.h"
#include "wbtstat.h"
#include "wbtstat.skel.h"

/* ---- options -------------------------------------------------------- */

static struct {
	const char *dev_arg;
	char dev[64];        /* -d, resolved to a disk name */
	double long_pause_ms;
	bool no_hist;
	bool long_pause_set;
} o = { .long_pause_ms = 100 };

enum { OPT_LONG_PAUSE = 0x2000, OPT_NO_HIST };

static const struct argp_option options[] = {
	{ "device", 'd', "DEV", 0, "Only disk DEV (name, /dev path or MAJ:MIN; a partition means its disk)", 1 },
	{ "long-pause", OPT_LONG_PAUSE, "MS", 0, "With -e: report pauses of at least MS milliseconds (default 100)", 2 },
	{ "no-hist", OPT_NO_HIST, NULL, 0, "Leave out the pause-length histograms", 2 },
	{ 0 },
};

static const char doc[] =
	"wbtstat: block-layer writeback throttling (wbt) per disk, and the processes "
	"balance_dirty_pages() throttles.\v"
	"-p PID: only dirty throttling of process PID.  -e: scale steps, latency-target changes and "
	"long pauses as they happen (-c counts events).  --mechanism raw_tp: raw tracepoints even "
	"where tp_btf is available.\n\n"
	"Examples:\n"
	"  wbtstat                    # every disk and throttled process, each second\n"
	"  wbtstat -d sda 5           # one disk, every 5 s\n"
	"  wbtstat -e                 # scale steps, target changes, pauses >= 100 ms\n"
	"  wbtstat -p 4242 -o json    # one writer's throttling as JSON Lines\n"
	"  wbtstat -o prom -c 1 --file /var/lib/prometheus/node-exporter/wbtstat.prom";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'd':
		if (!*arg)
			die(EXIT_USAGE, "invalid --device '': expected a disk name (see --help)");
		o.dev_arg = arg;
		break;
	case OPT_LONG_PAUSE:
		if (parse_double(arg, 0, 3600000, &o.long_pause_ms))
			die(EXIT_USAGE, "invalid --long-pause '%s': expected milliseconds from 0 to 3600000 (see --help)", arg);
		o.long_pause_set = true;
		break;
	case OPT_NO_HIST:
		o.no_hist = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_PID, OPTG_EVENTS, OPTG_MECHANISM);

/* ---- hooks ---------------------------------------------------------- */

/* balance_dirty_pages: an argument layout the BPF side knows (8 or 12). */
static bool bdp_layout_known(const struct hook_alt *a, const char **why)
{
	static char buf[96];
	int n = probe_tp_btf_nargs(a->target);

	(void)a;
	if (n == 8 || n == 12)
		return true;
	snprintf(buf, sizeof(buf), "%d arguments, a layout wbtstat does not know", n);
	*why = buf;
	return false;
}

#define WBT_LACKING "disks show sysfs/debugfs state only (CONFIG_BLK_WBT off?)"

enum { HOOK_TIMER, HOOK_STEP, HOOK_LAT, HOOK_STAT, HOOK_BDP, NHOOKS };
static struct hook hooks[NHOOKS] = {
	[HOOK_TIMER] = { "wbt_timer", HOOK_OPTIONAL, WBT_LACKING, .alt = { HOOK_TP_TWIN("wbt_timer", "wbt_timer") } },
	[HOOK_STEP] = { "wbt_step", HOOK_OPTIONAL, "no scale steps", .alt = { HOOK_TP_TWIN("wbt_step", "wbt_step") } },
	[HOOK_LAT] = { "wbt_lat", HOOK_OPTIONAL, "no latencies over the target",
		       .alt = { HOOK_TP_TWIN("wbt_lat", "wbt_lat") } },
	[HOOK_STAT] = { "wbt_stat", HOOK_OPTIONAL, "no read and write latency statistics",
			.alt = { HOOK_TP_TWIN("wbt_stat", "wbt_stat") } },
	[HOOK_BDP] = { "balance_dirty_pages", HOOK_OPTIONAL, "no throttled processes",
		       .alt = { { MECH_TP_BTF, "btf_bdp", "balance_dirty_pages", .probe = bdp_layout_known },
				{ MECH_RAW_TP, "raw_bdp", "balance_dirty_pages", .probe = bdp_layout_known } } },
};

/* At least one tracepoint must be hooked. */
static void require_any_hook(void)
{
	for (int i = 0; i < NHOOKS; i++)
		if (hook_active(&hooks[i]))
			return;
	die(EXIT_NOFEATURE, "kernel has neither wbt:* nor writeback:balance_dirty_pages tracepoints "
	    "(needs CONFIG_BLK_WBT and tracing)");
}

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot: the mechanisms (static, _info labels) and the
 * tracepoint hits wbtstat's maps had no room for (a counter). */

static const struct field mfields[M_NFIELDS] = {
	[M_MECH] = { "mechanism", "", FK_LABEL, 0,
		     "Hooks in use: tp_btf or raw_tp (per tracepoint when they differ, none for one not hooked)", 0, 0, 0 },
	[M_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[M_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0,
			  "Where kernel_hz came from: kernel config (/proc/config.gz, /boot) or measured", 0, 0, 0 },
	[M_DEBUGFS] = { "debugfs", "", FK_LABEL, 0,
			"Directory live wbt state is read from, or unavailable (window and limits from wbt events)",
			0, 0, 0 },
	[M_UNTRACKED] = { "untracked", "", FK_COUNTER, 0,
			  "Tracepoint hits not counted because wbtstat's maps were full "
			  "(256 disks, 4096 process and disk pairs)", 0, 0, 0 },
};
static const struct schema snap_meta_schema = { "wbtstat", "devices", mfields, M_NFIELDS, NULL };


static const struct field dfields[D_NFIELDS] = {
	[D_DEVICE] = F_DEVICE(FF_ALL),
	[D_DEVT] = { "devt", "MAJ:MIN", FK_TEXT, FF_JSON | FF_WIDE, "Device number of the disk, MAJ:MIN", 0, 0, 0 },
	[D_WBT] = { "wbt", "WBT", FK_TEXT, FF_TABLE | FF_JSON,
		    "Writeback throttling: on, off, or none (the queue cannot run it)", 0, 0, 0 },
	[D_STATE] = { "enable_state", "STATE", FK_TEXT, FF_JSON | FF_WIDE,
		      "wbt's enable state: on-default, on-manual, off-default or off-manual", 0, 0, 0 },
	[D_ENABLED] = { "enabled", "ENABLED", FK_GAUGE, FF_JSON | FF_PROM,
			"1 if writeback throttling is on for the disk, 0 if off (absent: not supported)", 0, 0, 0 },
	[D_MINLAT] = { "min_latency_seconds", "TGT(us)", FK_GAUGE, FF_ALL,
		       "Read latency target (wbt_lat_usec)", 1e-6, 0, 0 },
	[D_WINDOW] = { "window_seconds", "WIN(us)", FK_GAUGE, FF_ALL, "Current monitoring window", 1e-6, 0, 0 },
	[D_STEP] = { "step", "STEP", FK_GAUGE, FF_ALL,
		     "Scale step (positive: depth scaled down, negative: scaled up), as of the last wbt event", 0, 0, 0 },
	[D_BG] = { "wb_background", "BG", FK_GAUGE, FF_ALL, "In-flight limit for background writeback", 0, 0, 0 },
	[D_NORMAL] = { "wb_normal", "NORM", FK_GAUGE, FF_ALL, "In-flight limit for normal writeback", 0, 0, 0 },
	[D_MAX] = { "max_depth", "MAX", FK_GAUGE, FF_ALL,
		    "In-flight limit for high-priority writeback (max_depth), as of the last wbt event", 0, 0, 0 },
	[D_INFLIGHT] = { "inflight", "INFL", FK_GAUGE, FF_ALL, "Throttled writes in flight", 0, 0, 0 },
	[D_UNKNOWN_CNT] = { "unknown_windows", "UNKWIN", FK_GAUGE, FF_JSON | FF_WIDE | FF_PROM,
			    "Consecutive windows without enough samples to decide", 0, 0, 0 },
	[D_DOWN] = { "steps_down", "DOWN", FK_COUNTER, FF_ALL, "Scale-down steps (wbt_step)", 0, 0, 0 },
	[D_UP] = { "steps_up", "UP", FK_COUNTER, FF_ALL, "Scale-up steps (wbt_step)", 0, 0, 0 },
	[D_T_EXCEEDED] = { "timer_exceeded", "EXCEED", FK_COUNTER, FF_ALL,
			   "Windows whose read latency exceeded the target (wbt_timer)", 0, 0, 0 },
	[D_T_OK] = { "timer_ok", "OK", FK_COUNTER, FF_ALL, "Windows within the latency target", 0, 0, 0 },
	[D_T_UNKW] = { "timer_unknown_writes", "UNKW", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		       "Windows with writes but too few read samples", 0, 0, 0 },
	[D_T_UNK] = { "timer_unknown", "UNK", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		      "Windows without enough samples", 0, 0, 0 },
	[D_LAT_EVENTS] = { "latency_exceeded", "LATEV", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			   "Latencies reported over the target (wbt_lat)", 0, 0, 0 },
	[D_LAT_MAX] = { "latency_exceeded_max_seconds", "LATMAX(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			"Largest latency wbt_lat reported in the interval", 1e-6, 0, 0 },
	[D_TARGET_CHANGES] = { "target_changes", "TGTCHG", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			       "Latency-target changes seen at wbt timer runs", 0, 0, 0 },
	[D_R_SAMPLES] = { "read_samples", "RSAMP", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			  "Read completions in the windows wbt_stat reported", 0, 0, 0 },
	[D_R_MEAN] = { "read_latency_mean_seconds", "RMEAN(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		       "Mean read latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_R_MIN] = { "read_latency_min_seconds", "RMIN(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		      "Minimum read latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_R_MAX] = { "read_latency_max_seconds", "RMAX(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		      "Maximum read latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_W_SAMPLES] = { "write_samples", "WSAMP", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			  "Write completions in the windows wbt_stat reported", 0, 0, 0 },
	[D_W_MEAN] = { "write_latency_mean_seconds", "WMEAN(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		       "Mean write latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_W_MIN] = { "write_latency_min_seconds", "WMIN(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		      "Minimum write latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_W_MAX] = { "write_latency_max_seconds", "WMAX(us)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		      "Maximum write latency over the interval's wbt_stat windows", 1e-6, 0, 0 },
	[D_SOURCE] = { "state_source", "SOURCE", FK_TEXT, FF_JSON | FF_WIDE,
		       "Where the state came from: debugfs, debugfs+events, sysfs+events or sysfs", 0, 0, 0 },
};
const struct schema wbt_dev_schema = { "wbtstat", "devices", dfields, D_NFIELDS, &snap_meta_schema };


static const struct field pfields[P_NFIELDS] = {
	[P_PID] = F_PID(FF_ALL),
	[P_COMM] = F_COMM(FF_ALL),
	[P_DEVICE] = F_DEVICE(FF_ALL),
	[P_CALLS] = { "throttle_checks", "CHECKS", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		      "balance_dirty_pages() throttling decisions", 0, 0, 0 },
	[P_PAUSES] = { "pauses", "PAUSES", FK_COUNTER, FF_ALL, "Times the process was put to sleep", 0, 0, 0 },
	[P_PAUSED] = { "paused_seconds", "PAUSED(ms)", FK_COUNTER, FF_ALL,
		       "Time the process was put to sleep for", 0.001, 0, 0 },
	[P_PAUSED_RATIO] = { "paused_ratio", "PAUSED%", FK_GAUGE, FF_ALL,
			     "Share of the interval the process spent in throttling pauses (0-1)", 0.01, 1, 0 },
	[P_MAXPAUSE] = { "max_pause_seconds", "MAXP(ms)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			 "Longest single pause", 0.001, 0, 0 },
	[P_HIST] = { "pause_seconds", "HIST", FK_HIST, FF_JSON | FF_PROM,
		     "Lengths of the process's throttling pauses (log2 buckets of microseconds)", 0, 0, 0 },
	[P_DIRTIED] = { "dirtied_pages", "DIRTIED", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			"Pages dirtied between pauses", 0, 0, 0 },
	[P_DIRTY_RATE] = { "dirty_bytes_per_second", "DIRTY(KiB/s)", FK_GAUGE, FF_ALL,
			   "Rate of dirtying between pauses over the interval", 1024, 0, 0 },
	[P_TASK_RL] = { "task_ratelimit_bytes_per_second", "ALLOWED(KiB/s)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			"Dirtying rate balance_dirty_pages() last allowed the process", 1024, 0, 0 },
	[P_DEV_RL] = { "dirty_ratelimit_bytes_per_second", "DEVLIM(KiB/s)", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		       "Device's balanced dirty rate limit at the last check", 1024, 0, 0 },
};
const struct schema wbt_proc_schema = { "wbtstat", "processes", pfields, P_NFIELDS, NULL };

/* The pause histograms as a bar chart: table only (JSON and Prometheus
 * have pause_seconds). */

static const struct field hfields[H_NFIELDS] = {
	[H_PID] = F_PID(FF_TABLE),
	[H_COMM] = F_COMM(FF_TABLE),
	[H_DEVICE] = F_DEVICE(FF_TABLE),
	[H_LOW] = { "pause_low_seconds", "FROM(us)", FK_GAUGE, FF_TABLE, "Shortest pause length in the bucket", 1e-6, 0, 0 },
	[H_HIGH] = { "pause_high_seconds", "TO(us)", FK_GAUGE, FF_TABLE, "Longest pause length in the bucket", 1e-6, 0, 0 },
	[H_COUNT] = { "pauses", "COUNT", FK_GAUGE, FF_TABLE, "Pauses with a length in the bucket", 0, 0, 0 },
	[H_BAR] = { "distribution", "DISTRIBUTION", FK_TEXT, FF_TABLE, "Bar of the count", 0, 0, 0 },
};
const struct schema wbt_bar_schema = { "wbtstat", "pause_hist", hfields, H_NFIELDS, NULL };

/* --events: the stream's facts, then one record per event. */
static const struct field emfields[EM_NFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0,
		      "Hooks in use (tp_btf or raw_tp, per tracepoint when they differ) and the event transport (ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema event_meta_schema = { "wbtstat", "events", emfields, EM_NFIELDS, NULL };


static const struct field efields[E_NFIELDS] = {
	[E_TYPE] = { "type", "TYPE", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT, HELP_TYPE, 0, 0, 6 },
	[E_DEVICE] = F_DEVICE(FF_TABLE | FF_JSON),
	[E_DETAIL] = { "detail", "DETAIL", FK_TEXT, FF_TABLE, "The event in words", 0, 0, 0 },
	[E_DIRECTION] = { "direction", "DIR", FK_TEXT, FF_JSON, "step: up or down", 0, 0, 0 },
	[E_STEP] = { "step", "STEP", FK_GAUGE, FF_JSON, "step: the new scale step", 0, 0, 0 },
	[E_REASON] = { "reason", "REASON", FK_TEXT, FF_JSON,
		       "step: the verdict of the window that caused it (latency exceeded, latency ok, "
		       "writes only, too few samples, other)", 0, 0, 0 },
	[E_WINDOW] = { "window_seconds", "WIN", FK_GAUGE, FF_JSON, "step: the new monitoring window", 0, 0, 0 },
	[E_BG] = { "wb_background", "BG", FK_GAUGE, FF_JSON, "step: new in-flight limit for background writeback", 0, 0, 0 },
	[E_NORMAL] = { "wb_normal", "NORM", FK_GAUGE, FF_JSON, "step: new in-flight limit for normal writeback", 0, 0, 0 },
	[E_MAX] = { "max_depth", "MAX", FK_GAUGE, FF_JSON, "step: new in-flight limit for high-priority writeback", 0, 0, 0 },
	[E_LAT] = { "latency_seconds", "LAT", FK_GAUGE, FF_JSON,
		    "step: the read latency that exceeded the target (when that was the reason)", 0, 0, 0 },
	[E_OLD_TARGET] = { "old_min_latency_seconds", "OLD", FK_GAUGE, FF_JSON, "target: the previous read latency target", 0, 0, 0 },
	[E_TARGET] = { "min_latency_seconds", "TGT", FK_GAUGE, FF_JSON, "target: the new read latency target (0: wbt off)", 0, 0, 0 },
	[E_PID] = F_PID(FF_JSON),
	[E_COMM] = F_COMM(FF_JSON),
	[E_PAUSE] = { "pause_seconds", "PAUSE", FK_GAUGE, FF_JSON, "pause: length of the pause", 0, 0, 0 },
	[E_PAUSED] = { "paused_seconds", "PAUSED", FK_GAUGE, FF_JSON,
		       "pause: time already paused in the same balance_dirty_pages() call", 0, 0, 0 },
	[E_TASK_RL] = { "task_ratelimit_bytes_per_second", "ALLOWED", FK_GAUGE, FF_JSON,
			"pause: dirtying rate allowed to the process", 0, 0, 0 },
	[E_DIRTIED] = { "dirtied_pages", "DIRTIED", FK_GAUGE, FF_JSON, "pause: pages dirtied since the previous pause", 0, 0, 0 },
};
const struct schema wbt_event_schema = { "wbtstat", "events", efields, E_NFIELDS, &event_meta_schema };

OUT_REGISTER(&wbt_dev_schema, &wbt_proc_schema, &wbt_bar_schema, &wbt_event_schema);

/* ---- main ----------------------------------------------------------- */

static struct wbtstat_bpf *skel;

static uint64_t misses(void *ctx)
{
	return bpfobj_recursion_misses(ctx);
}

static void run_events(struct wbt_report *r)
{
	struct evbuf *eb = evbuf_open(skel->maps.events, skel->maps.events_lost, wbt_on_event, r);
	char mech[320];
	int err;

	if (!eb)
		die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
	snprintf(mech, sizeof(mech), "%s, events: %s", r->mechanism, evbuf_mechanism(eb));
	evbuf_set_misses(eb, misses, skel->obj);
	event_meta("mechanism", "%s", mech);
	out_set_missed(bpfobj_recursion_misses(skel->obj));
	err = event_start(&wbt_event_schema);
	if (!err)
		err = event_run(eb, copts.count, 200, NULL, NULL);
	evbuf_free(eb);
	event_meta_free();
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
}

int main(int argc, char **argv)
{
	static char mechanism[256];
	struct wbt_report r = { .dev = o.dev };
	int err, bdp_nargs;

	opts_parse(&argp, argc, argv, NULL);
	if (o.long_pause_set && !copts.events)
		die(EXIT_USAGE, "--long-pause applies to --events (-e) (see --help)");
	if (!copts.interval_set)
		copts.interval = 1.0;
	require_bpf_privileges();
	probe_require_btf();
	if (o.dev_arg)
		wbt_resolve_device(o.dev_arg, o.dev, sizeof(o.dev));
	r.debugfs = !access(WBT_DEBUGFS_BLOCK, R_OK);
	if (!r.debugfs)
		note("%s not available (debugfs not mounted?): limits and window come from wbt events",
		     WBT_DEBUGFS_BLOCK);
	r.hz = kernel_hz(&r.hz_source);
	if (!r.hz)
		die(EXIT_FAIL, "cannot determine the kernel's HZ (no kernel config, measuring failed)");

	skel = wbtstat_bpf__open();
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	hooks_select(skel->obj, hooks, NHOOKS, copts.mechanism);
	require_any_hook();
	bdp_nargs = probe_tp_btf_nargs("balance_dirty_pages");
	skel->rodata->emit_events = copts.events;
	skel->rodata->targ_tgid = (uint32_t)copts.pid;
	skel->rodata->long_pause_ns = (uint64_t)(o.long_pause_ms * 1e6);
	skel->rodata->bdp_nargs = bdp_nargs > 0 ? (uint32_t)bdp_nargs : 0;
	evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
	err = wbtstat_bpf__load(skel);
	if (err)
		die_bpf_load(err);
	skel->data->jiffy_ns = 1000000000ULL / r.hz;
	hooks_attach(hooks, NHOOKS);
	require_any_hook();
	hooks_mechanism(hooks, NHOOKS, mechanism, sizeof(mechanism));
	note("attached: %s", mechanism);

	r.skel = skel;
	r.no_hist = o.no_hist;
	r.procs = hook_active(&hooks[HOOK_BDP]);
	r.page_bytes = (uint64_t)sysconf(_SC_PAGESIZE);
	r.mechanism = mechanism;
	if (copts.events) {
		run_events(&r);
	} else {
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, wbt_snapshot, &r);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	}
	hooks_detach(hooks, NHOOKS);
	wbtstat_bpf__destroy(skel);
	wbt_report_free();
	return EXIT_OK;
}
