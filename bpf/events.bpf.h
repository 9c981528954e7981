/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Event transport shared by every tool: a BPF ring buffer, or a perf event
 * array on kernels without one (the front end retypes the map before load,
 * see common/events.c).  Failed submissions are counted in events_lost.
 */
#ifndef BPFSCOPE_EVENTS_BPF_H
#define BPFSCOPE_EVENTS_BPF_H

#ifndef EVENTS_RINGBUF_BYTES
#define EVENTS_RINGBUF_BYTES (256 * 1024)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} events_lost SEC(".maps");

/* Set by the front end before load; frozen, so the verifier prunes the
 * branch that does not match the map type. */
const volatile bool events_use_perf = false;

static __always_inline void events_count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&events_lost, &zero);
	if (lost)
		(*lost)++;
}

static __always_inline int events_submit(void *ctx, void *data, __u64 size)
{
	long err;

	if (events_use_perf)
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size);
	else
		err = bpf_ringbuf_output(&events, data, size, 0);
	if (err)
		events_count_lost();
	return err ? -1 : 0;
}

/* Like events_submit(), but the ring buffer wakes the reader only once
 * wakeup_bytes are waiting, sparing a wakeup per event on busy paths.  The
 * reader must also drain on a timer (evbuf_consume()).  The perf buffer path
 * is unchanged. */
static __always_inline int events_submit_lazy(void *ctx, void *data, __u64 size, __u64 wakeup_bytes)
{
	long err;

	if (events_use_perf) {
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, size);
	} else {
		__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes
				      ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
		err = bpf_ringbuf_output(&events, data, size, flags);
	}
	if (err)
		events_count_lost();
	return err ? -1 : 0;
}

#endif
