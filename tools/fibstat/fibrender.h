/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fibstat's views, rendered as records: nexthops of the watched routes,
 * flows, lookups per table (one snapshot each), failed lookups (events).
 */
#ifndef FIBSTAT_FIBRENDER_H
#define FIBSTAT_FIBRENDER_H

#include <stddef.h>

int snapshot_nexthops(double dt);
int snapshot_flows(double dt);
int snapshot_tables(double dt);
/* The event buffer's callback. */
int fib_on_event(void *ctx, const void *data, size_t size);
void fibrender_free(void);

#endif
