// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void loop_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool loop_stopping(void)
{
	return stop_flag != 0;
}

void loop_request_stop(void)
{
	stop_flag = 1;
}

void ticker_start(struct ticker *t, double interval, long count)
{
	t->interval = interval;
	t->count = count;
	t->done = 0;
	t->last = now_mono();
	t->next = t->last + interval;
}

bool ticker_wait(struct ticker *t, loop_poll_fn poll, void *ctx, double *dt)
{
	for (;;) {
		double now = now_mono();
		if (stop_flag)
			return false;
		if (now >= t->next)
			break;
		double left = t->next - now;
		if (poll) {
			int ms = (int)(left * 1000) + 1;
			if (ms > 100)
				ms = 100; /* re-check the stop flag regularly */
			if (poll(ctx, ms) < 0)
				return false;
		} else {
			struct timespec ts;
			if (left > 0.1)
				left = 0.1;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
		}
	}
	double now = now_mono();
	if (dt)
		*dt = now - t->last;
	t->last = now;
	/* no drift: next deadline from the schedule, not from now */
	t->next += t->interval;
	if (t->next < now)
		t->next = now + t->interval;
	return true;
}

bool ticker_tick(struct ticker *t)
{
	t->done++;
	return !(t->count && t->done >= t->count) && !stop_flag;
}

int snapshot_run(double interval, long count, loop_poll_fn poll, void *pctx, snapshot_fn snap, void *ctx)
{
	struct ticker t;
	ticker_start(&t, interval, count);
	for (;;) {
		double dt = 0;
		bool more = ticker_wait(&t, poll, pctx, &dt);
		if (!more) {
			if (!stop_flag)
				return -EIO; /* poll failed */
			/* stopped by a signal: the interval in progress */
			dt = now_mono() - t.last;
		}
		int err = snap(ctx, dt);
		if (err)
			return err;
		if (!more || !ticker_tick(&t))
			return 0;
	}
}
