/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpverdict's snapshots: one row per XDP program on an interface (and per
 * rx queue with --per-queue), each counted by the best mechanism it allows
 * (fexit, driver counters, tracepoints), rendered as the row and verdict
 * records.
 */
#ifndef XDPVERDICT_XVROWS_H
#define XDPVERDICT_XVROWS_H

#include <stdbool.h>
#include <stdint.h>

/* Find the interfaces with XDP and make rows for new programs.  strict:
 * the first pass, where -I and a forced mechanism are checked (exit 4/5). */
void rows_discover(const char *iface, bool strict);
/* Read every counter; print a snapshot, or (print false) take the baseline. */
int rows_snapshot(bool print, const char *iface);
/* Counter updates the BPF maps had no room for. */
uint64_t rows_missed_updates(void);
void rows_free(void);

#endif
