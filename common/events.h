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
 * has one (unless force_perf or --perf-buffer), else retypes `events` as a perf event array.
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

/* How the driver learns the missed events (recursion misses of every
 * program the tool loaded, e.g. bpfobj_recursion_misses of its object). */
void evbuf_set_misses(struct evbuf *eb, uint64_t (*misses)(void *ctx), void *ctx);

/* The event driver.  Polls (tick_ms at most per wait) until count events
 * were printed (exact: records queued past the count are never printed;
 * 0: no limit), SIGINT/SIGTERM/SIGHUP (loop_init), a write error, or idle
 * (may be NULL; runs after each wait, e.g. to drain lazily submitted
 * records) returning non-zero.  Keeps lost_events current after every poll
 * and missed_events once a second, for every event line.  Returns 0 or the
 * first error. */
typedef int (*event_idle_fn)(void *ctx);
int event_run(struct evbuf *eb, long count, int tick_ms, event_idle_fn idle, void *ctx);

#endif
