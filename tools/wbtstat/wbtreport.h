/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* wbtstat: the records' field indices (the fields are described in
 * wbtstat.c), and the snapshot and event renderers. */
#ifndef WBTSTAT_WBTREPORT_H
#define WBTSTAT_WBTREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output.h"

/* devices: one record per disk; its meta: facts about the snapshot */
enum { M_MECH, M_HZ, M_HZ_SOURCE, M_DEBUGFS, M_UNTRACKED, M_NFIELDS };
enum {
	D_DEVICE, D_DEVT, D_WBT, D_STATE, D_ENABLED, D_MINLAT, D_WINDOW, D_STEP, D_BG, D_NORMAL,
	D_MAX, D_INFLIGHT, D_UNKNOWN_CNT, D_DOWN, D_UP, D_T_EXCEEDED, D_T_OK, D_T_UNKW, D_T_UNK,
	D_LAT_EVENTS, D_LAT_MAX, D_TARGET_CHANGES, D_R_SAMPLES, D_R_MEAN, D_R_MIN, D_R_MAX,
	D_W_SAMPLES, D_W_MEAN, D_W_MIN, D_W_MAX, D_SOURCE, D_NFIELDS
};
/* processes: one record per throttled process and disk */
enum {
	P_PID, P_COMM, P_DEVICE, P_CALLS, P_PAUSES, P_PAUSED, P_PAUSED_RATIO, P_MAXPAUSE, P_HIST,
	P_DIRTIED, P_DIRTY_RATE, P_TASK_RL, P_DEV_RL, P_NFIELDS
};
/* pause_hist: the pause histograms as bar charts (table only) */
enum { H_PID, H_COMM, H_DEVICE, H_LOW, H_HIGH, H_COUNT, H_BAR, H_NFIELDS };
/* events (-e): the stream's facts, then one record per event */
enum { EM_MECH, EM_NFIELDS };
enum {
	E_TYPE, E_DEVICE, E_DETAIL, E_DIRECTION, E_STEP, E_REASON, E_WINDOW, E_BG, E_NORMAL, E_MAX,
	E_LAT, E_OLD_TARGET, E_TARGET, E_PID, E_COMM, E_PAUSE, E_PAUSED, E_TASK_RL, E_DIRTIED, E_NFIELDS
};

extern const struct schema wbt_dev_schema, wbt_proc_schema, wbt_bar_schema, wbt_event_schema;

struct wbtstat_bpf;

/* What the renderers need from the front end. */
struct wbt_report {
	struct wbtstat_bpf *skel;
	const char *dev;        /* -d: only this disk ("" for all) */
	bool no_hist;           /* --no-hist */
	bool procs;             /* balance_dirty_pages is hooked */
	bool debugfs;           /* WBT_DEBUGFS_BLOCK is readable */
	uint64_t page_bytes;
	unsigned hz;
	const char *hz_source;  /* "kernel config" or "measured" */
	const char *mechanism;
};

/* One snapshot over dt seconds (snapshot_run's callback; ctx: the report). */
int wbt_snapshot(void *ctx, double dt);
/* One event record (evbuf's callback; ctx: the report). */
int wbt_on_event(void *ctx, const void *data, size_t size);
/* Free what the snapshots kept between intervals. */
void wbt_report_free(void);

#endif
