/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tcverdict: rows (one per TC/LWT program attachment and mirred action), snapshots and events. */
#ifndef TCVERDICT_TVROWS_H
#define TCVERDICT_TVROWS_H

#include <stdbool.h>
#include <stddef.h>

/* Find the programs of every watched namespace again; new rows choose their
 * mechanism.  strict (at start): a -I, -P or forced mechanism that matches
 * nothing exits. */
void rows_discover(bool strict);
/* One snapshot: printed (print), or only the baseline for rates taken. */
int rows_snapshot(bool print);
void rows_free(void);

/* --events: one record per event; the idle hook rediscovers programs. */
int tv_on_event(void *ctx, const void *data, size_t size);
int tv_events_idle(void *ctx);

#endif
