/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Ring buffer with perf buffer fallback, and lost-event accounting. */
#ifndef BPFSCOPE_EVENTS_H
#define BPFSCOPE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map;
struct evbuf;

typedef int (*evbuf_fn)(void *ctx, const void *data, size_t size);

/* Before load: choose the transport.  Uses the ring buffer when the kernel
 * has one (unless force_perf), else retypes `events` as a perf event array.
 * Sets *use_perf (the tool's rodata events_use_perf). */
void evbuf_configure(struct bpf_map *events, bool force_perf, volatile bool *use_perf);

/* After load. */
struct evbuf *evbuf_open(struct bpf_map *events, struct bpf_map *lost, evbuf_fn fn, void *ctx);
int evbuf_poll(struct evbuf *eb, int timeout_ms); /* <0 on error */
/* Read whatever is waiting without waiting for a wakeup (for producers using
 * events_submit_lazy()).  <0 on error. */
int evbuf_consume(struct evbuf *eb);
/* Events lost so far: failed submissions in BPF plus perf-buffer drops. */
uint64_t evbuf_lost(struct evbuf *eb);
const char *evbuf_mechanism(const struct evbuf *eb); /* "ringbuf" or "perfbuf" */
void evbuf_free(struct evbuf *eb);

#endif
