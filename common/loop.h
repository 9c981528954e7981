/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Interval timer, signals and snapshot count. */
#ifndef BPFSCOPE_LOOP_H
#define BPFSCOPE_LOOP_H

#include <stdbool.h>

/* Install SIGINT/SIGTERM/SIGHUP handlers (stop flag), ignore SIGPIPE. */
void loop_init(void);
bool loop_stopping(void);
void loop_request_stop(void);

/* Called while waiting, e.g. to poll a ring buffer; returns <0 to abort. */
typedef int (*loop_poll_fn)(void *ctx, int timeout_ms);

struct ticker {
	double interval; /* seconds */
	long count;      /* 0 = unlimited */
	long done;
	double next;     /* monotonic deadline of the next tick */
	double last;     /* monotonic time of the previous tick */
};

void ticker_start(struct ticker *t, double interval, long count);
/* Wait for the next tick, polling meanwhile.  Returns false when the
 * count is reached, a signal arrived or poll failed.  *dt gets the seconds
 * elapsed since the previous tick. */
bool ticker_wait(struct ticker *t, loop_poll_fn poll, void *ctx, double *dt);
/* Count one snapshot done; returns false if that was the last one. */
bool ticker_tick(struct ticker *t);

/* The snapshot driver every interval tool runs: snap(ctx, dt) after each
 * interval (dt: seconds it lasted), -c snapshots at most, and when SIGINT,
 * SIGTERM or SIGHUP stops the run in the middle of an interval, once more
 * for the part of it that elapsed, so Ctrl-C never loses what was counted.
 * poll (may be NULL) runs while waiting.  Returns 0, snap's error, or
 * -EIO when poll failed. */
typedef int (*snapshot_fn)(void *ctx, double dt);
int snapshot_run(double interval, long count, loop_poll_fn poll, void *pctx, snapshot_fn snap, void *ctx);

#endif
