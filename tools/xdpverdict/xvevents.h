/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xdpverdict --events: one record per exception or redirect/transmit error. */
#ifndef XDPVERDICT_XVEVENTS_H
#define XDPVERDICT_XVEVENTS_H

#include <stddef.h>

/* The event buffer's callback (ctx: the -I filter, NULL for none). */
int xv_on_event(void *ctx, const void *data, size_t size);
/* The event driver's idle callback: keeps interface names fresh. */
int xv_events_idle(void *ctx);

#endif
