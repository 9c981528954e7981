// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wbtstat: what is block-layer writeback throttling doing on each disk
 * (window, scale step, limits, latency), and which processes are being
 * throttled for dirtying pages?
 */
#define _GNU_SOURCE /* strverscmp */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "hist.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "wbtstat.h"
#include "wbtstat.skel.h"

/* ---- options -------------------------------------------------------- */

static struct {
	const char *dev_arg;
	char dev[64];        /* -d, resolved to a disk name */
	int pid;
	bool events;
	double long_pause_ms;
	bool raw_tp;
	bool no_hist;
	bool long_pause_set;
} o = { .long_pause_ms = 100 };

enum { OPT_LONG_PAUSE = 0x2000, OPT_RAW_TP, OPT_NO_HIST };

static const struct argp_option options[] = {
	{ "device", 'd', "DEV", 0, "Only disk DEV (name, /dev path or MAJ:MIN; a partition means its disk)", 1 },
	{ "pid", 'p', "PID", 0, "Only dirty throttling of process PID", 1 },
	{ "events", 'e', NULL, 0, "Stream scale steps, latency-target changes and long pauses as they happen", 2 },
	{ "long-pause", OPT_LONG_PAUSE, "MS", 0, "With --events: report pauses of at least MS milliseconds (default 100)", 2 },
	{ "raw-tp", OPT_RAW_TP, NULL, 0, "Use raw tracepoints even where tp_btf is available", 2 },
	{ "no-hist", OPT_NO_HIST, NULL, 0, "Leave out the pause-length histograms", 2 },
	{ 0 },
};

static const char doc[] =
	"wbtstat: block-layer writeback throttling (wbt) per disk, and the processes "
	"balance_dirty_pages() throttles.\v"
	"Examples:\n"
	"  wbtstat                    # every disk and throttled process, each second\n"
	"  wbtstat -d sda 5           # one disk, every 5 s\n"
	"  wbtstat -e                 # scale steps, target changes, pauses >= 100 ms\n"
	"  wbtstat -p 4242 -o json    # one writer's throttling as JSON Lines\n"
	"  wbtstat -o prom -c 1 --file /var/lib/node_exporter/wbtstat.prom";

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'd':
		if (!*arg)
			die(EXIT_USAGE, "invalid --device '': expected a disk name (see --help)");
		o.dev_arg = arg;
		break;
	case 'p':
		o.pid = opt_pid("--pid", arg);
		break;
	case 'e':
		o.events = true;
		break;
	case OPT_LONG_PAUSE:
		if (parse_double(arg, 0, 3600000, &o.long_pause_ms))
			die(EXIT_USAGE, "invalid --long-pause '%s': expected milliseconds from 0 to 3600000 (see --help)", arg);
		o.long_pause_set = true;
		break;
	case OPT_RAW_TP:
		o.raw_tp = true;
		break;
	case OPT_NO_HIST:
		o.no_hist = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot: the mechanisms (static, _info labels) and the
 * tracepoint hits wbtstat's maps had no room for (a counter). */
enum { M_MECH, M_HZ, M_HZ_SOURCE, M_DEBUGFS, M_UNTRACKED, M_NFIELDS };

static const struct field mfields[M_NFIELDS] = {
	[M_MECH] = { "mechanism", "", FK_LABEL, 0,
		     "Hooks in use: tp_btf or raw_tp (one per tracepoint group when they differ)", 0, 0, 0 },
	[M_HZ] = { "kernel_hz", "", FK_LABEL, 0, HELP_KERNEL_HZ, 0, 0, 0 },
	[M_HZ_SOURCE] = { "kernel_hz_source", "", FK_LABEL, 0,
			  "Where kernel_hz came from: the kernel config (/proc/config.gz, /boot) or measured", 0, 0, 0 },
	[M_DEBUGFS] = { "debugfs", "", FK_LABEL, 0,
			"Directory live wbt state is read from, or unavailable (window and limits from wbt events)",
			0, 0, 0 },
	[M_UNTRACKED] = { "untracked", "", FK_COUNTER, 0,
			  "Tracepoint hits not counted because wbtstat's maps were full "
			  "(256 disks, 4096 process and disk pairs)", 0, 0, 0 },
};
static const struct schema snap_meta_schema = { "wbtstat", "devices", mfields, M_NFIELDS, NULL };

enum {
	D_DEVICE, D_DEVT, D_WBT, D_STATE, D_ENABLED, D_MINLAT, D_WINDOW, D_STEP, D_BG, D_NORMAL,
	D_MAX, D_INFLIGHT, D_UNKNOWN_CNT, D_DOWN, D_UP, D_T_EXCEEDED, D_T_OK, D_T_UNKW, D_T_UNK,
	D_LAT_EVENTS, D_LAT_MAX, D_TARGET_CHANGES, D_R_SAMPLES, D_R_MEAN, D_R_MIN, D_R_MAX,
	D_W_SAMPLES, D_W_MEAN, D_W_MIN, D_W_MAX, D_SOURCE, D_NFIELDS
};

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
static const struct schema dev_schema = { "wbtstat", "devices", dfields, D_NFIELDS, &snap_meta_schema };

enum {
	P_PID, P_COMM, P_DEVICE, P_CALLS, P_PAUSES, P_PAUSED, P_PAUSED_RATIO, P_MAXPAUSE, P_HIST,
	P_DIRTIED, P_DIRTY_RATE, P_TASK_RL, P_DEV_RL, P_NFIELDS
};

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
static const struct schema proc_schema = { "wbtstat", "processes", pfields, P_NFIELDS, NULL };

/* The pause histograms as a bar chart: table only (JSON and Prometheus
 * have pause_seconds). */
enum { H_PID, H_COMM, H_DEVICE, H_LOW, H_HIGH, H_COUNT, H_BAR, H_NFIELDS };

static const struct field hfields[H_NFIELDS] = {
	[H_PID] = F_PID(FF_TABLE),
	[H_COMM] = F_COMM(FF_TABLE),
	[H_DEVICE] = F_DEVICE(FF_TABLE),
	[H_LOW] = { "pause_low_seconds", "FROM(us)", FK_GAUGE, FF_TABLE, "Shortest pause length in the bucket", 1e-6, 0, 0 },
	[H_HIGH] = { "pause_high_seconds", "TO(us)", FK_GAUGE, FF_TABLE, "Longest pause length in the bucket", 1e-6, 0, 0 },
	[H_COUNT] = { "pauses", "COUNT", FK_GAUGE, FF_TABLE, "Pauses with a length in the bucket", 0, 0, 0 },
	[H_BAR] = { "distribution", "DISTRIBUTION", FK_TEXT, FF_TABLE, "Bar of the count", 0, 0, 0 },
};
static const struct schema bar_schema = { "wbtstat", "pause_hist", hfields, H_NFIELDS, NULL };

/* --events: the stream's facts, then one record per event. */
enum { EM_MECH, EM_NFIELDS };
static const struct field emfields[EM_NFIELDS] = {
	[EM_MECH] = { "mechanism", "", FK_LABEL, 0,
		      "Hooks in use (tp_btf or raw_tp) and the event transport (ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema event_meta_schema = { "wbtstat", "events", emfields, EM_NFIELDS, NULL };

enum {
	E_TYPE, E_DEVICE, E_DETAIL, E_DIRECTION, E_STEP, E_REASON, E_WINDOW, E_BG, E_NORMAL, E_MAX,
	E_LAT, E_OLD_TARGET, E_TARGET, E_PID, E_COMM, E_PAUSE, E_PAUSED, E_TASK_RL, E_DIRTIED, E_NFIELDS
};

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
static const struct schema event_schema = { "wbtstat", "events", efields, E_NFIELDS, &event_meta_schema };

OUT_REGISTER(&dev_schema, &proc_schema, &bar_schema, &event_schema);

/* ---- hooks ---------------------------------------------------------- */

enum hook_kind { HK_NONE, HK_TP_BTF, HK_RAW_TP };
static const char *const hook_kind_names[] = { "none", "tp_btf", "raw_tp" };

struct hook {
	const char *tp;
	struct bpf_program *btf, *raw;
	struct bpf_link **btf_link, **raw_link;
	enum hook_kind kind;
};

enum { HOOK_TIMER, HOOK_STEP, HOOK_LAT, HOOK_STAT, HOOK_BDP, NHOOKS };

static struct wbtstat_bpf *skel;
static struct hook hooks[NHOOKS];
static char mechanism[160];
static unsigned hz;
static const char *hz_source = "";
static uint64_t page_bytes = 4096;
static double pause_le[WBT_PAUSE_SLOTS]; /* wbt_pause_le() */
static bool have_debugfs;
static struct evbuf *eb;

#define DEBUGFS_BLOCK "/sys/kernel/debug/block"

/* ---- small file readers --------------------------------------------- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static int read_u64_at(const char *path, uint64_t *v)
{
	char buf[64];
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	return parse_u64(buf, v) ? -EINVAL : 0;
}

static int read_i64_at(const char *path, int64_t *v)
{
	char buf[64], *end;
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

/* "7:0" -> "loop0" through /sys/dev/block; unknown ones keep MAJ:MIN. */
static void name_of_majmin(const char *majmin, char *out, size_t len)
{
	char path[128], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%s", majmin);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(out, len, "%s", majmin);
		return;
	}
	link[n] = '\0';
	const char *b = strrchr(link, '/');
	snprintf(out, len, "%.*s", (int)len - 1, b ? b + 1 : link);
}

/* -d argument -> disk name under /sys/block. */
static void resolve_device(const char *arg)
{
	char path[PATH_MAX], link[PATH_MAX], name[64];
	const char *a = arg;

	if (!strncmp(a, "/dev/", 5))
		a += 5;
	if (strchr(a, ':'))
		name_of_majmin(a, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s", a);
	if (strchr(name, '/') || !*name)
		die(EXIT_NOTFOUND, "no block device '%s' (disks are listed in /sys/block)", arg);
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	if (!access(path, F_OK)) {
		snprintf(o.dev, sizeof(o.dev), "%s", name);
		return;
	}
	/* a partition: wbt works per disk, so watch its disk */
	snprintf(path, sizeof(path), "/sys/class/block/%s/partition", name);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "/sys/class/block/%s", name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			char *slash = strrchr(link, '/');
			if (slash) {
				*slash = '\0';
				slash = strrchr(link, '/');
				snprintf(o.dev, sizeof(o.dev), "%.63s", slash ? slash + 1 : link);
				note("%s is a partition: watching its disk %s", name, o.dev);
				return;
			}
		}
	}
	die(EXIT_NOTFOUND, "no block device '%s' (disks are listed in /sys/block)", arg);
}

/* ---- kernel HZ ------------------------------------------------------ */

static unsigned hz_from_config(void)
{
	struct utsname u;
	char boot[320], line[256];
	const char *paths[] = { "/proc/config.gz", boot };

	if (uname(&u))
		return 0;
	snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		gzFile g = gzopen(paths[i], "rb"); /* reads plain files too */
		unsigned v = 0;
		if (!g)
			continue;
		while (gzgets(g, line, sizeof(line)))
			if (!strncmp(line, "CONFIG_HZ=", 10)) {
				v = (unsigned)strtoul(line + 10, NULL, 10);
				break;
			}
		gzclose(g);
		if (v) {
			hz_source = i == 0 ? "kernel config /proc/config.gz" : "kernel config in /boot";
			return v;
		}
	}
	return 0;
}

static int clock_sample(uint64_t *j, uint64_t *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, t);

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.calib), &t))
		return -errno;
	*j = skel->bss->calib_jiffies;
	*ns = skel->bss->calib_ns;
	return 0;
}

/* Time at least 50 ms worth of jiffies, edge to edge, inside the kernel. */
static unsigned hz_measure(void)
{
	uint64_t j0, t0, j1, t1, j, t;
	double deadline = now_mono() + 5;

	if (clock_sample(&j0, &t0))
		return 0;
	do {
		if (clock_sample(&j1, &t1) || now_mono() > deadline)
			return 0;
	} while (j1 == j0);
	do {
		if (clock_sample(&j, &t) || now_mono() > deadline)
			return 0;
	} while (t - t1 < 50000000ULL);
	j0 = j;
	do {
		if (clock_sample(&j, &t) || now_mono() > deadline)
			return 0;
	} while (j == j0);
	hz_source = "measured";
	return wbt_hz_snap((double)(j - j1) * 1e9 / (double)(t - t1));
}

/* ---- per-device state from sysfs and debugfs ------------------------ */

struct disk {
	char name[64];
	char majmin[32];
	uint64_t sectors;
	bool wbt_attr;     /* a blk-mq queue with queue/wbt_lat_usec: wbt can run */
	bool wbt_init;     /* ... and reads (EINVAL: wbt not set up on the queue) */
	uint64_t lat_usec;
	bool dbg;          /* debugfs rqos/wbt present */
	int64_t enabled;
	uint64_t min_lat_ns, win_ns, bg, normal, inflight, unknown_cnt;
};

static void read_disk(const char *name, struct disk *d)
{
	char path[PATH_MAX], buf[256];
	uint64_t v;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	if (read_text(path, d->majmin, sizeof(d->majmin)) < 0)
		d->majmin[0] = '\0';
	snprintf(path, sizeof(path), "/sys/block/%s/size", name);
	if (!read_u64_at(path, &v))
		d->sectors = v;
	/* wbt hooks the blk-mq path only; older kernels show the attribute on
	 * bio-based queues too (reading it fails there) */
	snprintf(path, sizeof(path), "/sys/block/%s/mq", name);
	d->wbt_attr = !access(path, F_OK);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/wbt_lat_usec", name);
	d->wbt_attr = d->wbt_attr && !access(path, F_OK);
	d->wbt_init = d->wbt_attr && !read_u64_at(path, &d->lat_usec);
	if (!have_debugfs)
		return;
	snprintf(path, sizeof(path), DEBUGFS_BLOCK "/%s/rqos/wbt/enabled", name);
	if (read_i64_at(path, &d->enabled))
		return;
	d->dbg = true;
#define DBG(file, var) \
	snprintf(path, sizeof(path), DEBUGFS_BLOCK "/%s/rqos/wbt/" file, name); \
	if (read_u64_at(path, &var)) \
		d->dbg = false;
	DBG("min_lat_nsec", d->min_lat_ns)
	DBG("curr_win_nsec", d->win_ns)
	DBG("wb_background", d->bg)
	DBG("wb_normal", d->normal)
	DBG("unknown_cnt", d->unknown_cnt)
#undef DBG
	/* "0: inflight 3\n1: inflight 0\n2: inflight 0" */
	snprintf(path, sizeof(path), DEBUGFS_BLOCK "/%s/rqos/wbt/inflight", name);
	if (read_text(path, buf, sizeof(buf)) < 0) {
		d->dbg = false;
		return;
	}
	d->inflight = wbt_inflight_sum(buf);
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(((const struct disk *)a)->name, ((const struct disk *)b)->name);
}

/* Disks to list: every /sys/block entry with a medium, plus -d. */
static int list_disks(struct disk **out)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *de;
	struct disk *v = NULL;
	int n = 0;

	if (!dir)
		die(EXIT_FAIL, "cannot read /sys/block: %s", errno_name(errno));
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (o.dev[0] && strcmp(de->d_name, o.dev))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		read_disk(de->d_name, &v[n]);
		/* no medium (an unbound loop device, an empty drive): not a disk yet */
		if (!v[n].sectors && !o.dev[0])
			continue;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

/* ---- snapshot ------------------------------------------------------- */

struct prev_dev {
	char majmin[WBT_NAME_LEN];
	uint64_t r_samples, r_sum, w_samples, w_sum;
};

struct prev_proc {
	struct wbt_proc_key key;
	uint64_t paused_ns, dirtied;
};

static struct prev_dev *pdev;
static int npdev;
static struct prev_proc *pproc;
static int npproc;

/*
 * BPF_MAP_GET_NEXT_KEY with the whole attr zeroed and a real start key:
 * libbpf 1.1 zeroes only part of the attr and passes NULL for the first
 * key, which valgrind's model of bpf(2) reports.  The start key is one no
 * entry has (bdi ids start at 1; tgid 0 never dirties pages).
 */
static int next_key(int fd, const void *key, void *next)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (uint64_t)(unsigned long)key;
	attr.next_key = (uint64_t)(unsigned long)next;
	return syscall(__NR_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)) ? -errno : 0;
}

struct dev_entry {
	struct wbt_dev v;
	bool slot_ok;
	struct wbt_slot slot;
};

static int read_devs(struct dev_entry **out, uint64_t old_epoch)
{
	int fd = bpf_map__fd(skel->maps.devs);
	struct dev_entry *v = NULL;
	__u64 key = 0, next;
	int n = 0;

	while (!next_key(fd, &key, &next)) {
		key = next;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		if (bpf_map_lookup_elem(fd, &key, &v[n].v))
			continue;
		struct wbt_slot *s = &v[n].v.slot[old_epoch & 1];
		v[n].slot_ok = s->epoch == old_epoch;
		v[n].slot = *s;
		n++;
	}
	*out = v;
	return n;
}

/* Nearest double to the exact value (ns * 1e-9 is not). */
static double ns_to_s(uint64_t ns)
{
	return ns / 1e9;
}

static void fill_device(struct record *r, const struct disk *d, const struct dev_entry *e,
			struct prev_dev *next_prev)
{
	const char *source = "sysfs";

	rec_str(r, D_DEVICE, d->name);
	rec_str(r, D_DEVT, d->majmin);
	if (!d->wbt_attr) {
		rec_str(r, D_WBT, "none");
		rec_str(r, D_SOURCE, source);
		return;
	}
	bool on = d->wbt_init && d->lat_usec > 0;
	if (d->dbg)
		on = on && (d->enabled == 1 || d->enabled == 2);
	rec_str(r, D_WBT, on ? "on" : "off");
	rec_u64(r, D_ENABLED, on);
	if (d->dbg) {
		source = "debugfs";
		rec_str(r, D_STATE, wbt_enable_state_name(d->enabled));
		rec_dbl(r, D_MINLAT, ns_to_s(d->min_lat_ns));
		rec_dbl(r, D_WINDOW, ns_to_s(d->win_ns));
		rec_u64(r, D_BG, d->bg);
		rec_u64(r, D_NORMAL, d->normal);
		rec_u64(r, D_INFLIGHT, d->inflight);
		rec_u64(r, D_UNKNOWN_CNT, d->unknown_cnt);
	} else if (d->wbt_init) {
		rec_dbl(r, D_MINLAT, d->lat_usec / 1e6);
	}
	if (e) {
		const struct wbt_dev *w = &e->v;
		if (!d->dbg) {
			source = "sysfs+events";
			if (w->have & WBT_HAVE_RWB) {
				rec_str(r, D_STATE, wbt_enable_state_name(w->enable_state));
				rec_u64(r, D_UNKNOWN_CNT, w->unknown_cnt);
			}
			if (w->have & WBT_HAVE_LIMITS) {
				rec_dbl(r, D_WINDOW, ns_to_s(w->window_ns));
				rec_u64(r, D_BG, w->bg);
				rec_u64(r, D_NORMAL, w->normal);
			}
			if (w->have & WBT_HAVE_INFLIGHT)
				rec_u64(r, D_INFLIGHT, w->inflight);
		} else {
			source = "debugfs+events";
		}
		if (w->have & WBT_HAVE_STEP)
			rec_i64(r, D_STEP, w->step);
		if (w->have & WBT_HAVE_LIMITS)
			rec_u64(r, D_MAX, w->max);
	}
	rec_str(r, D_SOURCE, source);
	if (!d->wbt_init && !e)
		return;

	const struct wbt_dev z = {};
	const struct wbt_dev *w = e ? &e->v : &z;
	rec_u64(r, D_DOWN, w->steps_down);
	rec_u64(r, D_UP, w->steps_up);
	rec_u64(r, D_T_EXCEEDED, w->timers[WBT_V_EXCEEDED]);
	rec_u64(r, D_T_OK, w->timers[WBT_V_OK]);
	rec_u64(r, D_T_UNKW, w->timers[WBT_V_UNKNOWN_WRITES]);
	rec_u64(r, D_T_UNK, w->timers[WBT_V_UNKNOWN]);
	rec_u64(r, D_LAT_EVENTS, w->lat_events);
	rec_u64(r, D_TARGET_CHANGES, w->target_changes);
	rec_u64(r, D_R_SAMPLES, w->r_samples);
	rec_u64(r, D_W_SAMPLES, w->w_samples);

	/* interval figures */
	struct prev_dev p = {};
	for (int i = 0; i < npdev; i++)
		if (!strcmp(pdev[i].majmin, d->majmin))
			p = pdev[i];
	snprintf(next_prev->majmin, sizeof(next_prev->majmin), "%s", d->majmin);
	next_prev->r_samples = w->r_samples;
	next_prev->r_sum = w->r_sum_ns;
	next_prev->w_samples = w->w_samples;
	next_prev->w_sum = w->w_sum_ns;
	double mean;
	if (wbt_interval_mean_us(w->r_sum_ns, w->r_samples, p.r_sum, p.r_samples, &mean))
		rec_dbl(r, D_R_MEAN, mean / 1e6);
	if (wbt_interval_mean_us(w->w_sum_ns, w->w_samples, p.w_sum, p.w_samples, &mean))
		rec_dbl(r, D_W_MEAN, mean / 1e6);
	if (e && e->slot_ok) {
		if (e->slot.rmin_ns != ~0ULL)
			rec_dbl(r, D_R_MIN, ns_to_s(e->slot.rmin_ns));
		if (e->slot.rmax_ns)
			rec_dbl(r, D_R_MAX, ns_to_s(e->slot.rmax_ns));
		if (e->slot.wmin_ns != ~0ULL)
			rec_dbl(r, D_W_MIN, ns_to_s(e->slot.wmin_ns));
		if (e->slot.wmax_ns)
			rec_dbl(r, D_W_MAX, ns_to_s(e->slot.wmax_ns));
		if (e->slot.lat_max_ns)
			rec_dbl(r, D_LAT_MAX, ns_to_s(e->slot.lat_max_ns));
	}
}

struct proc_entry {
	struct wbt_proc_key key;
	struct wbt_proc v;
	char device[64];
};

/* CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns() */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_procs(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;
	if (x->v.paused_ns != y->v.paused_ns)
		return x->v.paused_ns > y->v.paused_ns ? -1 : 1;
	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return strcmp(x->device, y->device);
}

static int cmp_proc_keys(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;
	int c;
	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	if ((c = strcmp(x->device, y->device)))
		return c;
	if (x->v.last_ns != y->v.last_ns)
		return x->v.last_ns > y->v.last_ns ? -1 : 1;
	return 0;
}

static int read_procs(struct proc_entry **out)
{
	int fd = bpf_map__fd(skel->maps.procs);
	struct proc_entry *v = NULL;
	struct wbt_proc_key key = {}, next;
	struct wbt_proc_key *gone = NULL;
	int n = 0, total = 0, ngone = 0;
	bool prune;

	/* Once the map is half full, forget processes that exited over a minute
	 * ago (their last figures were shown), so new ones still fit. */
	while (!next_key(fd, &key, &next)) {
		key = next;
		total++;
	}
	prune = total >= WBT_MAX_PROCS / 2;
	memset(&key, 0, sizeof(key));
	while (!next_key(fd, &key, &next)) {
		key = next;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &v[n].v))
			continue;
		if (prune && !proc_exists((int)key.tgid) && mono_ns() - v[n].v.last_ns > 60000000000ULL) {
			gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
			gone[ngone++] = key;
			continue;
		}
		v[n].v.comm[WBT_COMM_LEN - 1] = '\0';
		v[n].v.bdi[WBT_NAME_LEN - 1] = '\0';
		name_of_majmin(v[n].v.bdi, v[n].device, sizeof(v[n].device));
		if (o.dev[0] && strcmp(v[n].device, o.dev))
			continue;
		n++;
	}
	/* after the walk: a deleted key would restart it */
	for (int i = 0; i < ngone; i++)
		bpf_map_delete_elem(fd, &gone[i]);
	free(gone);
	/* one record per process and disk name (a disk added again has a new
	 * bdi with the same name): the latest */
	if (n)
		qsort(v, n, sizeof(*v), cmp_proc_keys);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (!m || v[m - 1].key.tgid != v[i].key.tgid || strcmp(v[m - 1].device, v[i].device))
			v[m++] = v[i];
	n = m;
	if (n)
		qsort(v, n, sizeof(*v), cmp_procs);
	*out = v;
	return n;
}

static void add_meta(struct snapshot *sn)
{
	static bool untracked_warned;
	uint64_t untracked = skel->bss->untracked;

	snap_meta(sn, "mechanism", "%s", mechanism);
	snap_meta_u64(sn, "kernel_hz", hz);
	snap_meta(sn, "kernel_hz_source", "%s", hz_source);
	snap_meta(sn, "debugfs", "%s", have_debugfs ? DEBUGFS_BLOCK : "unavailable");
	snap_meta_u64(sn, "untracked", untracked);
	if (untracked && !untracked_warned) {
		warnx_("%" PRIu64 " tracepoint hits not counted: wbtstat's maps are full "
		       "(%d disks, %d process and disk pairs); counted in untracked", untracked,
		       WBT_MAX_DEVS, WBT_MAX_PROCS);
		untracked_warned = true;
	}
	out_set_missed(bpfobj_recursion_misses(skel->obj));
}

static int snapshot(double dt)
{
	uint64_t old_epoch = skel->data->epoch;
	struct disk *disks;
	struct dev_entry *devs;
	struct proc_entry *procs;
	int ndisks, ndevs, nprocs;

	/* new events go to the other latency slot from now on */
	skel->data->epoch = old_epoch + 1;
	ndevs = read_devs(&devs, old_epoch);
	ndisks = list_disks(&disks);
	nprocs = hooks[HOOK_BDP].kind != HK_NONE ? read_procs(&procs) : (procs = NULL, 0);

	struct snapshot *sn = snap_begin(&dev_schema);
	struct prev_dev *next_pdev = xcalloc(ndisks ? ndisks : 1, sizeof(*next_pdev));
	int nnext = 0;
	add_meta(sn);
	for (int i = 0; i < ndisks; i++) {
		const struct dev_entry *e = NULL;
		/* a disk removed and added again has a new bdi: the latest one */
		for (int k = 0; k < ndevs; k++)
			if (disks[i].majmin[0] && !strcmp(devs[k].v.name, disks[i].majmin) &&
			    (!e || devs[k].v.last_ns > e->v.last_ns))
				e = &devs[k];
		fill_device(snap_add(sn), &disks[i], e, &next_pdev[nnext]);
		if (next_pdev[nnext].majmin[0])
			nnext++;
	}
	free(pdev);
	pdev = next_pdev;
	npdev = nnext;

	struct snapshot *ps = snap_begin(&proc_schema);
	struct snapshot *hs = snap_begin(&bar_schema);
	struct prev_proc *next_pproc = xcalloc(nprocs ? nprocs : 1, sizeof(*next_pproc));
	for (int i = 0; i < nprocs; i++) {
		const struct proc_entry *p = &procs[i];
		struct prev_proc pv = {};
		for (int k = 0; k < npproc; k++)
			if (pproc[k].key.tgid == p->key.tgid && pproc[k].key.bdi_id == p->key.bdi_id)
				pv = pproc[k];
		next_pproc[i].key = p->key;
		next_pproc[i].paused_ns = p->v.paused_ns;
		next_pproc[i].dirtied = p->v.dirtied_pages;

		struct record *r = snap_add(ps);
		rec_u64(r, P_PID, p->key.tgid);
		rec_str(r, P_COMM, p->v.comm);
		rec_str(r, P_DEVICE, p->device);
		rec_u64(r, P_CALLS, p->v.calls);
		rec_u64(r, P_PAUSES, p->v.pauses);
		rec_dbl(r, P_PAUSED, p->v.paused_ns / 1e9);
		rec_dbl(r, P_MAXPAUSE, p->v.max_pause_ns / 1e9);
		rec_u64(r, P_DIRTIED, p->v.dirtied_pages);
		rec_u64(r, P_TASK_RL, p->v.task_ratelimit * page_bytes);
		rec_u64(r, P_DEV_RL, p->v.dirty_ratelimit * page_bytes);
		if (dt > 0) {
			uint64_t paused = p->v.paused_ns >= pv.paused_ns ? p->v.paused_ns - pv.paused_ns : 0;
			uint64_t dirtied = p->v.dirtied_pages >= pv.dirtied ? p->v.dirtied_pages - pv.dirtied : 0;
			rec_dbl(r, P_PAUSED_RATIO, paused / 1e9 / dt);
			rec_dbl(r, P_DIRTY_RATE, (double)dirtied * page_bytes / dt);
		}
		if (o.no_hist)
			continue;
		uint64_t counts[WBT_PAUSE_SLOTS];
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
			counts[s] = p->v.hist[s];
		rec_hist(r, P_HIST, pause_le, counts, WBT_PAUSE_SLOTS, ns_to_s(p->v.paused_ns));
		uint64_t top = 0;
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
			if (p->v.hist[s] > top)
				top = p->v.hist[s];
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++) {
			char bar[31];
			unsigned len;
			if (!p->v.hist[s])
				continue;
			len = (unsigned)(p->v.hist[s] * 30 / top);
			memset(bar, '*', len);
			bar[len] = '\0';
			struct record *h = snap_add(hs);
			rec_u64(h, H_PID, p->key.tgid);
			rec_str(h, H_COMM, p->v.comm);
			rec_str(h, H_DEVICE, p->device);
			rec_dbl(h, H_LOW, hist_slot_low(s) / 1e6);
			rec_dbl(h, H_HIGH, hist_slot_high(s) / 1e6);
			rec_u64(h, H_COUNT, p->v.hist[s]);
			rec_str(h, H_BAR, bar);
		}
	}
	free(pproc);
	pproc = next_pproc;
	npproc = nprocs;
	snap_append(sn, ps);
	snap_append(sn, hs);

	free(disks);
	free(devs);
	free(procs);
	return snap_end(sn);
}

static int snapshot_cb(void *ctx, double dt)
{
	(void)ctx;
	return snapshot(dt);
}

/* ---- events --------------------------------------------------------- */

static int on_event(void *ctx, const void *data, size_t size)
{
	const struct wbt_event *e = data;
	char dev[64], name[WBT_NAME_LEN], detail[256];
	struct record *r;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	memcpy(name, e->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	name_of_majmin(name, dev, sizeof(dev));
	if (o.dev[0] && strcmp(dev, o.dev))
		return 0;
	r = event_new(&event_schema);
	rec_str(r, E_DEVICE, dev);
	switch (e->type) {
	case WBT_EV_STEP: {
		int n;
		rec_str(r, E_TYPE, "step");
		rec_str(r, E_DIRECTION, e->up ? "up" : "down");
		rec_i64(r, E_STEP, e->step);
		rec_str(r, E_REASON, wbt_verdict_name(e->verdict));
		rec_dbl(r, E_WINDOW, ns_to_s(e->window_ns));
		rec_u64(r, E_BG, e->bg);
		rec_u64(r, E_NORMAL, e->normal);
		rec_u64(r, E_MAX, e->max);
		n = snprintf(detail, sizeof(detail), "scale %s to step %d (%s", e->up ? "up" : "down",
			     e->step, wbt_verdict_name(e->verdict));
		if (e->lat_ns) {
			rec_dbl(r, E_LAT, ns_to_s(e->lat_ns));
			n += snprintf(detail + n, sizeof(detail) - n, ": %.0fus", e->lat_ns / 1e3);
		}
		snprintf(detail + n, sizeof(detail) - n, "), window %.0fus, limits bg %u normal %u max %u",
			 e->window_ns / 1e3, e->bg, e->normal, e->max);
		break;
	}
	case WBT_EV_TARGET:
		rec_str(r, E_TYPE, "target");
		rec_dbl(r, E_OLD_TARGET, ns_to_s(e->old_lat_ns));
		rec_dbl(r, E_TARGET, ns_to_s(e->new_lat_ns));
		snprintf(detail, sizeof(detail), "latency target %.0fus -> %.0fus%s",
			 e->old_lat_ns / 1e3, e->new_lat_ns / 1e3, e->new_lat_ns ? "" : " (wbt off)");
		break;
	case WBT_EV_PAUSE: {
		char comm[WBT_COMM_LEN];
		memcpy(comm, e->comm, sizeof(comm));
		comm[sizeof(comm) - 1] = '\0';
		rec_str(r, E_TYPE, "pause");
		rec_u64(r, E_PID, e->pid);
		rec_str(r, E_COMM, comm);
		rec_dbl(r, E_PAUSE, ns_to_s(e->pause_ns));
		rec_dbl(r, E_PAUSED, ns_to_s(e->paused_ns));
		rec_u64(r, E_TASK_RL, e->task_ratelimit * page_bytes);
		rec_u64(r, E_DIRTIED, e->dirtied);
		snprintf(detail, sizeof(detail), "pid %u (%s) sleeps %.0fms after %u dirtied pages; allowed %" PRIu64 " KiB/s",
			 e->pid, comm, e->pause_ns / 1e6, e->dirtied, (uint64_t)e->task_ratelimit * page_bytes / 1024);
		break;
	}
	default:
		record_free(r);
		return 0;
	}
	rec_str(r, E_DETAIL, detail);
	if (event_emit(r))
		loop_request_stop();
	return 0;
}

static int poll_events(void *ctx, int timeout_ms)
{
	static double missed_at;
	double now = now_mono();

	(void)ctx;
	if (now - missed_at >= 1.0) {
		out_set_missed(bpfobj_recursion_misses(skel->obj));
		missed_at = now;
	}
	return evbuf_poll(eb, timeout_ms);
}

/* ---- main ----------------------------------------------------------- */

static enum hook_kind pick(struct hook *h)
{
	if (!o.raw_tp && probe_tp_btf(h->tp))
		return HK_TP_BTF;
	if (probe_raw_tp(h->tp))
		return HK_RAW_TP;
	return HK_NONE;
}

static void set_mechanism(void)
{
	enum hook_kind wbt = hooks[HOOK_TIMER].kind, bdp = hooks[HOOK_BDP].kind;
	int n = 0;

	for (int i = HOOK_STEP; i <= HOOK_STAT; i++)
		if (hooks[i].kind != wbt)
			wbt = HK_NONE; /* cannot happen with one kernel; say so if it does */
	if (wbt != HK_NONE && wbt == bdp)
		n = snprintf(mechanism, sizeof(mechanism), "%s", hook_kind_names[wbt]);
	else
		n = snprintf(mechanism, sizeof(mechanism), "wbt: %s, balance_dirty_pages: %s",
			     wbt != HK_NONE ? hook_kind_names[wbt] : "unavailable",
			     bdp != HK_NONE ? hook_kind_names[bdp] : "unavailable");
	if (o.events && n > 0 && (size_t)n < sizeof(mechanism))
		snprintf(mechanism + n, sizeof(mechanism) - n, ", events: %s", evbuf_mechanism(eb));
}

int main(int argc, char **argv)
{
	static const char *const tps[NHOOKS] = { "wbt_timer", "wbt_step", "wbt_lat", "wbt_stat",
						 "balance_dirty_pages" };
	int err, bdp_nargs;

	opts_parse(&argp, argc, argv, NULL);
	if (o.long_pause_set && !o.events)
		die(EXIT_USAGE, "--long-pause applies to --events (see --help)");
	if (o.events)
		opts_event_stream("--events");
	if (!copts.interval_set)
		copts.interval = 1.0;
	require_bpf_privileges();
	probe_require_btf();
	if (o.dev_arg)
		resolve_device(o.dev_arg);
	if (o.pid && !proc_exists(o.pid))
		die(EXIT_NOTFOUND, "no process with pid %d", o.pid);
	page_bytes = (uint64_t)sysconf(_SC_PAGESIZE);
	for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
		pause_le[s] = wbt_pause_le(s);
	have_debugfs = !access(DEBUGFS_BLOCK, R_OK);
	if (!have_debugfs)
		note("%s not available (debugfs not mounted?): limits and window come from wbt events", DEBUGFS_BLOCK);

	/* probe: tp_btf where the kernel has it, else raw_tp */
	bool any = false;
	for (int i = 0; i < NHOOKS; i++) {
		hooks[i].tp = tps[i];
		hooks[i].kind = pick(&hooks[i]);
		any |= hooks[i].kind != HK_NONE;
		if (hooks[i].kind == HK_NONE)
			note("tracepoint %s not available: not loaded", tps[i]);
	}
	bdp_nargs = probe_tp_btf_nargs("balance_dirty_pages");
	if (hooks[HOOK_BDP].kind != HK_NONE && bdp_nargs != 8 && bdp_nargs != 12) {
		note("balance_dirty_pages has %d arguments, a layout wbtstat does not know: not loaded", bdp_nargs);
		hooks[HOOK_BDP].kind = HK_NONE;
	}
	if (!any)
		die(EXIT_NOFEATURE, "kernel has neither wbt:* nor writeback:balance_dirty_pages tracepoints "
		    "(needs CONFIG_BLK_WBT and tracing)");
	if (hooks[HOOK_TIMER].kind == HK_NONE)
		note("no wbt tracepoints (CONFIG_BLK_WBT off?): disks show sysfs/debugfs state only");

	skel = wbtstat_bpf__open();
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	hooks[HOOK_TIMER].btf = skel->progs.btf_wbt_timer;
	hooks[HOOK_TIMER].raw = skel->progs.raw_wbt_timer;
	hooks[HOOK_TIMER].btf_link = &skel->links.btf_wbt_timer;
	hooks[HOOK_TIMER].raw_link = &skel->links.raw_wbt_timer;
	hooks[HOOK_STEP].btf = skel->progs.btf_wbt_step;
	hooks[HOOK_STEP].raw = skel->progs.raw_wbt_step;
	hooks[HOOK_STEP].btf_link = &skel->links.btf_wbt_step;
	hooks[HOOK_STEP].raw_link = &skel->links.raw_wbt_step;
	hooks[HOOK_LAT].btf = skel->progs.btf_wbt_lat;
	hooks[HOOK_LAT].raw = skel->progs.raw_wbt_lat;
	hooks[HOOK_LAT].btf_link = &skel->links.btf_wbt_lat;
	hooks[HOOK_LAT].raw_link = &skel->links.raw_wbt_lat;
	hooks[HOOK_STAT].btf = skel->progs.btf_wbt_stat;
	hooks[HOOK_STAT].raw = skel->progs.raw_wbt_stat;
	hooks[HOOK_STAT].btf_link = &skel->links.btf_wbt_stat;
	hooks[HOOK_STAT].raw_link = &skel->links.raw_wbt_stat;
	hooks[HOOK_BDP].btf = skel->progs.btf_bdp;
	hooks[HOOK_BDP].raw = skel->progs.raw_bdp;
	hooks[HOOK_BDP].btf_link = &skel->links.btf_bdp;
	hooks[HOOK_BDP].raw_link = &skel->links.raw_bdp;
	for (int i = 0; i < NHOOKS; i++) {
		bpf_program__set_autoload(hooks[i].btf, hooks[i].kind == HK_TP_BTF);
		bpf_program__set_autoload(hooks[i].raw, hooks[i].kind == HK_RAW_TP);
		if (hooks[i].kind == HK_RAW_TP)
			note("%s: using raw_tp%s", tps[i], o.raw_tp ? " (--raw-tp)" : " (no tp_btf)");
	}
	skel->rodata->emit_events = o.events;
	skel->rodata->targ_tgid = (uint32_t)o.pid;
	skel->rodata->long_pause_ns = (uint64_t)(o.long_pause_ms * 1e6);
	skel->rodata->bdp_nargs = bdp_nargs > 0 ? (uint32_t)bdp_nargs : 0;
	evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
	err = wbtstat_bpf__load(skel);
	if (err)
		die_bpf_load(err);

	hz = hz_from_config();
	if (!hz)
		hz = hz_measure();
	if (!hz)
		die(EXIT_FAIL, "cannot determine the kernel's HZ (no kernel config, measuring failed)");
	note("HZ %u (%s)", hz, hz_source);
	skel->data->jiffy_ns = 1000000000ULL / hz;

	if (o.events) {
		eb = evbuf_open(skel->maps.events, skel->maps.events_lost, on_event, NULL);
		if (!eb)
			die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
	}
	for (int i = 0; i < NHOOKS; i++) {
		struct bpf_program *p = hooks[i].kind == HK_TP_BTF ? hooks[i].btf : hooks[i].raw;
		struct bpf_link **l = hooks[i].kind == HK_TP_BTF ? hooks[i].btf_link : hooks[i].raw_link;
		if (hooks[i].kind == HK_NONE)
			continue;
		*l = bpf_program__attach(p);
		if (!*l)
			die(EXIT_FAIL, "cannot attach to tracepoint %s (%s): %s", tps[i],
			    hook_kind_names[hooks[i].kind], errno_name(errno));
	}
	set_mechanism();
	note("attached: %s", mechanism);

	loop_init();
	struct ticker t;
	double dt = 0;
	ticker_start(&t, copts.interval, copts.count);
	if (o.events) {
		event_meta("mechanism", "%s", mechanism);
		out_set_missed(bpfobj_recursion_misses(skel->obj));
		err = event_start(&event_schema);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		while (ticker_wait(&t, poll_events, NULL, &dt))
			if (!ticker_tick(&t))
				break;
		evbuf_poll(eb, 0);
		event_meta_free();
	} else {
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, snapshot_cb, NULL);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	}
	evbuf_free(eb);
	wbtstat_bpf__destroy(skel);
	free(pdev);
	free(pproc);
	return EXIT_OK;
}
