/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* wbtstat: records shared by bpf/wbtstat.bpf.c and tools/wbtstat/. */
#ifndef BPFSCOPE_WBTSTAT_H
#define BPFSCOPE_WBTSTAT_H

#define WBT_NAME_LEN 32   /* bdi name, "MAJ:MIN" for block devices */
#define WBT_COMM_LEN 16
#define WBT_PAUSE_SLOTS 32 /* log2 slots of pause lengths in microseconds */
#define WBT_MAX_DEVS 256
#define WBT_MAX_PROCS 4096

/* Timer verdicts: the kernel's LAT_* values (block/blk-wbt.c, 4.10+). */
enum wbt_verdict {
	WBT_V_OTHER = 0,
	WBT_V_OK = 1,
	WBT_V_UNKNOWN = 2,
	WBT_V_UNKNOWN_WRITES = 3,
	WBT_V_EXCEEDED = 4,
	WBT_V_NR = 5,
};

/* Which parts of wbt_dev's state are known. */
#define WBT_HAVE_STEP 0x1   /* step: from wbt_timer or wbt_step */
#define WBT_HAVE_LIMITS 0x2 /* window, bg, normal, max: from wbt_step or rq_wb */
#define WBT_HAVE_RWB 0x4    /* min_lat, enable_state, unknown_cnt: rq_wb via CO-RE */
#define WBT_HAVE_INFLIGHT 0x8

/* Latency extremes per snapshot period; the front end flips `epoch`. */
struct wbt_slot {
	__u64 epoch;
	__u64 rmin_ns, rmax_ns, wmin_ns, wmax_ns;
	__u64 lat_max_ns;   /* largest wbt_lat latency */
};

/* Per device (key: backing_dev_info id). Counters are cumulative. */
struct wbt_dev {
	char name[WBT_NAME_LEN];
	__u64 timers[WBT_V_NR];       /* wbt_timer events by verdict */
	__u64 steps_down, steps_up;   /* wbt_step events */
	__u64 lat_events;             /* wbt_lat events */
	__u64 stat_events;            /* wbt_stat events */
	__u64 r_samples, r_sum_ns;    /* wbt_stat: samples, mean * samples */
	__u64 w_samples, w_sum_ns;
	__u64 target_changes;         /* min_lat_nsec changes seen in rq_wb */
	__u64 last_ns;                /* ktime of the last event */
	/* state as of the last event */
	__u32 have;                   /* WBT_HAVE_* */
	__s32 step;
	__u64 window_ns;
	__u32 bg, normal, max, inflight;
	__u64 min_lat_ns;
	__s32 enable_state;
	__u32 unknown_cnt;
	__u32 last_verdict;           /* verdict of the last timer: a step's reason */
	__u32 pad;
	__u64 last_lat_ns;            /* latency of the last wbt_lat */
	struct wbt_slot slot[2];
};

struct wbt_proc_key {
	__u32 tgid;
	__u32 pad;
	__u64 bdi_id;
};

/* Per process and device, from writeback:balance_dirty_pages. */
struct wbt_proc {
	char comm[WBT_COMM_LEN];
	char bdi[WBT_NAME_LEN];
	__u64 calls;                  /* tracepoint hits */
	__u64 pauses;                 /* hits that slept (pause > 0) */
	__u64 paused_ns;              /* sum of those pauses */
	__u64 max_pause_ns;
	__u64 dirtied_pages;          /* pages dirtied between pauses */
	__u64 task_ratelimit;         /* pages/s allowed to the task (last) */
	__u64 dirty_ratelimit;        /* pages/s of the device (last) */
	__u64 last_ns;
	__u64 hist[WBT_PAUSE_SLOTS];  /* pauses by log2 microseconds */
};

enum wbt_event_type {
	WBT_EV_STEP = 1,   /* wbt scaled the depth up or down */
	WBT_EV_TARGET,     /* min_lat_nsec changed */
	WBT_EV_PAUSE,      /* balance_dirty_pages slept at least long_pause_ns */
};

struct wbt_event {
	__u64 ts_ns;
	__u32 type;
	__u32 pid;
	char name[WBT_NAME_LEN];
	char comm[WBT_COMM_LEN];
	/* step */
	__s32 step;
	__u32 up;          /* 1: scale up, 0: scale down */
	__u32 verdict;     /* the timer verdict that caused the step */
	__u32 bg, normal, max;
	__u64 window_ns;
	__u64 lat_ns;      /* latency that exceeded the target, if that was the reason */
	/* target */
	__u64 old_lat_ns, new_lat_ns;
	/* pause */
	__u64 pause_ns, paused_ns, task_ratelimit;
	__u32 dirtied;
	__u32 pad;
};

/* ---- front-end helpers (pure; unit-tested in tests/unit/test_wbtstat.c) ---- */
#ifndef __bpf__
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline const char *wbt_verdict_name(unsigned int v)
{
	switch (v) {
	case WBT_V_OK: return "latency ok";
	case WBT_V_UNKNOWN: return "too few samples";
	case WBT_V_UNKNOWN_WRITES: return "writes only";
	case WBT_V_EXCEEDED: return "latency exceeded";
	default: return "other";
	}
}

/* rq_wb.enable_state / debugfs "enabled": WBT_STATE_* of block/blk-wbt.c */
static inline const char *wbt_enable_state_name(long s)
{
	switch (s) {
	case 1: return "on-default";
	case 2: return "on-manual";
	case 3: return "off-default";
	case 4: return "off-manual";
	default: return NULL;
	}
}

/* debugfs rqos/wbt/inflight: "0: inflight 3\n1: inflight 0\n2: inflight 0" -> 3 */
static inline unsigned long long wbt_inflight_sum(const char *text)
{
	unsigned long long sum = 0;

	for (const char *p = strstr(text, "inflight"); p; p = strstr(p + 8, "inflight"))
		sum += strtoull(p + 8, NULL, 10);
	return sum;
}

/* Upper bound, in seconds, of pause slot s (the histogram's le): the BPF
 * side puts a pause of floor(ns / 1000) us into hist_log2_slot(), so slot s
 * holds pauses under 2^s us; the last slot also takes every longer one. */
static inline double wbt_pause_le(unsigned int s)
{
	return s >= WBT_PAUSE_SLOTS - 1 ? INFINITY : ldexp(1, (int)s) / 1e6;
}

/* Mean latency in microseconds over the windows between two readings of the
 * cumulative (sum of mean * samples, samples); returns 0 when there were none. */
static inline int wbt_interval_mean_us(unsigned long long sum_now, unsigned long long n_now,
				       unsigned long long sum_prev, unsigned long long n_prev, double *us)
{
	if (n_now <= n_prev || sum_now < sum_prev)
		return 0;
	*us = (double)(sum_now - sum_prev) / (double)(n_now - n_prev) / 1000.0;
	return 1;
}
#endif

#endif
