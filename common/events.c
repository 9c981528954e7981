// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "loop.h"
#include "mapread.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"

/* Records handed out per poll or consume call at most.  libbpf keeps
 * consuming a ring buffer while producers keep writing, so under a sustained
 * flood one call would never return and Ctrl-C would never be seen; past the
 * budget the callback stops it (the record it returns on is consumed). */
#define EVBUF_BUDGET 4096
#define EVBUF_PAUSE (-ECANCELED)

struct evbuf {
	struct ring_buffer *rb;
	unsigned taken; /* records in this call */
	struct perf_buffer *pb;
	int lost_fd;
	uint64_t perf_lost;
	evbuf_fn fn;
	void *ctx;
	uint64_t lost_warned; /* lost count last warned about */
	uint64_t (*misses)(void *ctx);
	void *misses_ctx;
	int cb_err;           /* a perf buffer callback's error (write failed) */
	double warn_time;
};

void evbuf_configure(struct bpf_map *events, bool force_perf, volatile bool *use_perf)
{
	force_perf |= copts.perf_buffer;
	bool perf = force_perf || !probe_ringbuf();
	*use_perf = perf;
	if (!perf)
		return;
	note("events: using a perf buffer%s", force_perf ? " (forced)" : " (kernel has no ring buffer)");
	bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	bpf_map__set_key_size(events, sizeof(int));
	bpf_map__set_value_size(events, sizeof(int));
	bpf_map__set_max_entries(events, 0); /* libbpf: one per possible CPU */
}

static int rb_cb(void *ctx, void *data, size_t size)
{
	struct evbuf *eb = ctx;
	if (event_limit_reached())
		return EVBUF_PAUSE; /* -c reached: leave the rest unread */
	int err = eb->fn(eb->ctx, data, size);
	if (err < 0)
		return err;
	return ++eb->taken >= EVBUF_BUDGET ? EVBUF_PAUSE : 0;
}

static void pb_cb(void *ctx, int cpu, void *data, __u32 size)
{
	struct evbuf *eb = ctx;
	(void)cpu;
	if (!event_limit_reached() && !eb->cb_err) {
		int err = eb->fn(eb->ctx, data, size);
		if (err < 0)
			eb->cb_err = err; /* perf buffer callbacks return nothing: poll reports it */
	}
}

static void pb_lost(void *ctx, int cpu, __u64 cnt)
{
	struct evbuf *eb = ctx;
	(void)cpu;
	eb->perf_lost += cnt;
}

struct evbuf *evbuf_open(struct bpf_map *events, struct bpf_map *lost, evbuf_fn fn, void *ctx)
{
	struct evbuf *eb = xcalloc(1, sizeof(*eb));
	eb->fn = fn;
	eb->ctx = ctx;
	eb->lost_fd = bpf_map__fd(lost);
	if (bpf_map__type(events) == BPF_MAP_TYPE_RINGBUF) {
		eb->rb = ring_buffer__new(bpf_map__fd(events), rb_cb, eb, NULL);
		if (!eb->rb)
			goto fail;
	} else {
		eb->pb = perf_buffer__new(bpf_map__fd(events), 64, pb_cb, pb_lost, eb, NULL);
		if (!eb->pb)
			goto fail;
	}
	out_set_lost(0);
	return eb;
fail:
	free(eb);
	return NULL;
}

/* After each poll: the lost count for the output contract (lost_events on
 * every event line and snapshot) and one warning a second while it grows. */
static void refresh_lost(struct evbuf *eb)
{
	uint64_t lost = evbuf_lost(eb);
	out_set_lost(lost);
	if (lost <= eb->lost_warned)
		return;
	double now = now_mono();
	if (now - eb->warn_time < 1.0)
		return;
	warnx_("%" PRIu64 " events lost (%s full), %" PRIu64 " in total", lost - eb->lost_warned,
	       eb->rb ? "ring buffer" : "perf buffer", lost);
	eb->lost_warned = lost;
	eb->warn_time = now;
}

/* perf buffers need no budget: libbpf reads each CPU's buffer up to the head
 * it saw when it started. */
int evbuf_poll(struct evbuf *eb, int timeout_ms)
{
	eb->taken = 0;
	int err = eb->rb ? ring_buffer__poll(eb->rb, timeout_ms) : perf_buffer__poll(eb->pb, timeout_ms);
	refresh_lost(eb);
	if (eb->cb_err)
		return eb->cb_err;
	if (err == -EINTR || err == EVBUF_PAUSE)
		return 0;
	return err < 0 ? err : 0;
}

int evbuf_consume(struct evbuf *eb)
{
	eb->taken = 0;
	int err = eb->rb ? ring_buffer__consume(eb->rb) : perf_buffer__consume(eb->pb);
	refresh_lost(eb);
	if (eb->cb_err)
		return eb->cb_err;
	if (err == EVBUF_PAUSE)
		return 0;
	return err < 0 ? err : 0;
}

uint64_t evbuf_lost(struct evbuf *eb)
{
	uint32_t zero = 0;
	uint64_t bpf_lost = 0;
	if (map_lookup_percpu_sum(eb->lost_fd, &zero, 1, &bpf_lost))
		bpf_lost = 0;
	return eb->perf_lost + bpf_lost;
}

const char *evbuf_mechanism(const struct evbuf *eb)
{
	return eb->rb ? "ringbuf" : "perfbuf";
}

void evbuf_free(struct evbuf *eb)
{
	if (!eb)
		return;
	ring_buffer__free(eb->rb);
	perf_buffer__free(eb->pb);
	free(eb);
}

int event_run(struct evbuf *eb, long count, int tick_ms, event_idle_fn idle, void *ctx)
{
	double missed_at = 0;
	int err = 0;

	event_set_limit(count);
	while (!loop_stopping() && !event_limit_reached()) {
		double now = now_mono();
		if (eb->misses && now - missed_at >= 1.0) {
			out_set_missed(eb->misses(eb->misses_ctx));
			missed_at = now;
		}
		err = evbuf_poll(eb, tick_ms);
		if (err)
			break;
		if (idle && (err = idle(ctx)))
			break;
	}
	/* what arrived before a signal, up to the count */
	if (!err && !event_limit_reached())
		err = evbuf_consume(eb);
	if (eb->misses) {
		/* skips after the last line printed reach no line: say them here */
		uint64_t before = out_missed(), now = eb->misses(eb->misses_ctx);
		out_set_missed(now);
		if (now > before)
			warnx_("%" PRIu64 " more events missed at the end (a BPF program was already running on the CPU), "
			       "%" PRIu64 " in total", now - before, now);
	}
	return err;
}

void evbuf_set_misses(struct evbuf *eb, uint64_t (*misses)(void *ctx), void *ctx)
{
	eb->misses = misses;
	eb->misses_ctx = ctx;
}
