// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * wbtstat: what block-layer writeback throttling (wbt) does on each disk,
 * and which processes balance_dirty_pages() holds back.
 *
 * Every hook exists twice, as tp_btf and as raw_tp (TP_TWIN); the front
 * end's hook table loads one of each pair.  The bodies read through
 * BPF_CORE_READ, so they work with either kind of context.
 *
 *  wbt:wbt_timer   verdict of each monitoring window, plus the whole rq_wb
 *                  state (CO-RE: the struct is private to blk-wbt.c and its
 *                  layout differs between kernels)
 *  wbt:wbt_step    scale up / scale down with the new limits
 *  wbt:wbt_lat     latency that exceeded the target
 *  wbt:wbt_stat    the read/write completion statistics of a window
 *  writeback:balance_dirty_pages   per-process dirty throttling; its
 *                  argument list changed (dirty_throttle_control pointer
 *                  instead of five numbers), bdp_nargs says which one
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "wbtstat.h"
#include "hist.bpf.h"
#include "events.bpf.h"
#include "hooks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile bool emit_events = false;      /* --events */
const volatile __u32 targ_tgid = 0;           /* -p */
const volatile __u64 long_pause_ns = 0;       /* --long-pause */
const volatile __u32 bdp_nargs = 0;           /* balance_dirty_pages layout: 8 or 12 */

/* Set after load, before attach. */
__u64 jiffy_ns = 4000000;                     /* 1e9 / HZ */
__u64 epoch = 1;                              /* flipped by the front end each snapshot */

/* Devices / processes not tracked because their map was full. */
__u64 untracked;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WBT_MAX_DEVS);
	__type(key, __u64);
	__type(value, struct wbt_dev);
} devs SEC(".maps");

/* Not an LRU: entries never vanish unseen.  The front end deletes processes
 * that exited a while ago; what does not fit is counted in untracked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WBT_MAX_PROCS);
	__type(key, struct wbt_proc_key);
	__type(value, struct wbt_proc);
} procs SEC(".maps");

/* Zeroed template for new entries (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wbt_proc);
} scratch SEC(".maps");

static struct wbt_dev zero_dev;

static __always_inline struct wbt_dev *dev_of(struct backing_dev_info *bdi)
{
	__u64 id = BPF_CORE_READ(bdi, id);
	struct wbt_dev *d = bpf_map_lookup_elem(&devs, &id);

	if (d)
		return d;
	bpf_map_update_elem(&devs, &id, &zero_dev, BPF_NOEXIST);
	d = bpf_map_lookup_elem(&devs, &id);
	if (!d)
		__sync_fetch_and_add(&untracked, 1);
	if (d && !d->name[0])
		bpf_probe_read_kernel_str(d->name, sizeof(d->name), &bdi->dev_name);
	return d;
}

/* The period slot for latency extremes. */
static __always_inline struct wbt_slot *slot_of(struct wbt_dev *d)
{
	__u64 e = epoch;
	struct wbt_slot *s = &d->slot[e & 1];

	if (s->epoch != e) {
		s->epoch = e;
		s->rmin_ns = ~0ULL;
		s->wmin_ns = ~0ULL;
		s->rmax_ns = 0;
		s->wmax_ns = 0;
		s->lat_max_ns = 0;
	}
	return s;
}

/*
 * The device's struct rq_wb: bdi->owner is the disk's device, embedded in
 * its block_device; the queue's rq_qos list holds wbt's rq_qos, embedded in
 * rq_wb.  Offsets come from the running kernel's BTF.
 */
static __always_inline struct rq_wb *rwb_of(struct backing_dev_info *bdi)
{
	unsigned long owner;
	struct block_device *bdev;
	struct rq_qos *rqos;

	/* kernels without this layout: no rq_wb state, the tracepoints still count */
	if (!bpf_core_type_exists(struct rq_wb) ||
	    !bpf_core_field_exists(struct block_device, bd_device) ||
	    !bpf_core_field_exists(struct block_device, bd_queue) ||
	    !bpf_core_field_exists(struct backing_dev_info, owner))
		return NULL;
	owner = (unsigned long)BPF_CORE_READ(bdi, owner);
	if (!owner)
		return NULL;
	bdev = (void *)(owner - bpf_core_field_offset(struct block_device, bd_device));
	rqos = BPF_CORE_READ(bdev, bd_queue, rq_qos);
	for (int i = 0; i < 4 && rqos; i++) {
		if (BPF_CORE_READ(rqos, id) == bpf_core_enum_value(enum rq_qos_id, RQ_QOS_WBT))
			return (void *)((unsigned long)rqos - bpf_core_field_offset(struct rq_wb, rqos));
		rqos = BPF_CORE_READ(rqos, next);
	}
	return NULL;
}

/* Read the live rq_wb state into d (at a timer: before the step it may cause). */
static __always_inline void read_rwb(void *ctx, struct backing_dev_info *bdi, struct wbt_dev *d)
{
	struct rq_wb *rwb = rwb_of(bdi);
	__u64 min_lat;
	__u32 inflight = 0;

	if (!rwb)
		return;
	min_lat = BPF_CORE_READ(rwb, min_lat_nsec);
	if ((d->have & WBT_HAVE_RWB) && d->min_lat_ns != min_lat) {
		__sync_fetch_and_add(&d->target_changes, 1);
		if (emit_events) {
			struct wbt_event ev = {};

			ev.ts_ns = bpf_ktime_get_ns();
			ev.type = WBT_EV_TARGET;
			__builtin_memcpy(ev.name, d->name, sizeof(ev.name));
			ev.old_lat_ns = d->min_lat_ns;
			ev.new_lat_ns = min_lat;
			events_submit(ctx, &ev, sizeof(ev));
		}
	}
	d->min_lat_ns = min_lat;
	d->enable_state = BPF_CORE_READ(rwb, enable_state);
	d->unknown_cnt = BPF_CORE_READ(rwb, unknown_cnt);
	d->window_ns = BPF_CORE_READ(rwb, cur_win_nsec);
	d->bg = BPF_CORE_READ(rwb, wb_background);
	d->normal = BPF_CORE_READ(rwb, wb_normal);
	d->max = BPF_CORE_READ(rwb, rq_depth.max_depth);
	inflight += BPF_CORE_READ(rwb, rq_wait[0].inflight.counter);
	inflight += BPF_CORE_READ(rwb, rq_wait[1].inflight.counter);
	inflight += BPF_CORE_READ(rwb, rq_wait[2].inflight.counter);
	d->inflight = inflight;
	d->have |= WBT_HAVE_RWB | WBT_HAVE_LIMITS | WBT_HAVE_INFLIGHT;
}

static __always_inline int on_timer(void *ctx, struct backing_dev_info *bdi, __u32 status,
				    int step, __u32 inflight)
{
	struct wbt_dev *d = dev_of(bdi);

	if (!d)
		return 0;
	read_rwb(ctx, bdi, d);
	__sync_fetch_and_add(&d->timers[status < WBT_V_NR ? status : WBT_V_OTHER], 1);
	d->last_verdict = status;
	d->step = step;
	d->inflight = inflight;
	d->have |= WBT_HAVE_STEP | WBT_HAVE_INFLIGHT;
	d->last_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_step(void *ctx, struct backing_dev_info *bdi, const char *msg,
				   int step, unsigned long window, __u32 bg, __u32 normal, __u32 max)
{
	struct wbt_dev *d = dev_of(bdi);
	char m[12] = {};
	bool up;

	if (!d)
		return 0;
	bpf_probe_read_kernel_str(m, sizeof(m), msg);
	/* "scale up" / "scale down" (tracepoint_string in blk-wbt.c) */
	up = m[6] == 'u';
	if (up)
		__sync_fetch_and_add(&d->steps_up, 1);
	else
		__sync_fetch_and_add(&d->steps_down, 1);
	d->step = step;
	d->window_ns = window;
	d->bg = bg;
	d->normal = normal;
	d->max = max;
	d->have |= WBT_HAVE_STEP | WBT_HAVE_LIMITS;
	d->last_ns = bpf_ktime_get_ns();
	if (emit_events) {
		struct wbt_event ev = {};

		ev.ts_ns = d->last_ns;
		ev.type = WBT_EV_STEP;
		__builtin_memcpy(ev.name, d->name, sizeof(ev.name));
		ev.step = step;
		ev.up = up;
		ev.verdict = d->last_verdict;
		ev.window_ns = window;
		ev.bg = bg;
		ev.normal = normal;
		ev.max = max;
		ev.lat_ns = d->last_verdict == WBT_V_EXCEEDED ? d->last_lat_ns : 0;
		events_submit(ctx, &ev, sizeof(ev));
	}
	return 0;
}

static __always_inline int on_lat(struct backing_dev_info *bdi, unsigned long lat)
{
	struct wbt_dev *d = dev_of(bdi);
	struct wbt_slot *s;

	if (!d)
		return 0;
	__sync_fetch_and_add(&d->lat_events, 1);
	d->last_lat_ns = lat;
	s = slot_of(d);
	if (lat > s->lat_max_ns)
		s->lat_max_ns = lat;
	d->last_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_stat(struct backing_dev_info *bdi, struct blk_rq_stat *stat)
{
	struct wbt_dev *d = dev_of(bdi);
	struct wbt_slot *s;
	__u64 rmean, rmin, rmax, wmean, wmin, wmax;
	__u32 rn, wn;

	if (!d)
		return 0;
	rmean = BPF_CORE_READ(&stat[0], mean);
	rmin = BPF_CORE_READ(&stat[0], min);
	rmax = BPF_CORE_READ(&stat[0], max);
	rn = BPF_CORE_READ(&stat[0], nr_samples);
	wmean = BPF_CORE_READ(&stat[1], mean);
	wmin = BPF_CORE_READ(&stat[1], min);
	wmax = BPF_CORE_READ(&stat[1], max);
	wn = BPF_CORE_READ(&stat[1], nr_samples);
	__sync_fetch_and_add(&d->stat_events, 1);
	__sync_fetch_and_add(&d->r_samples, rn);
	__sync_fetch_and_add(&d->r_sum_ns, rmean * rn);
	__sync_fetch_and_add(&d->w_samples, wn);
	__sync_fetch_and_add(&d->w_sum_ns, wmean * wn);
	s = slot_of(d);
	if (rn && rmin < s->rmin_ns)
		s->rmin_ns = rmin;
	if (rn && rmax > s->rmax_ns)
		s->rmax_ns = rmax;
	if (wn && wmin < s->wmin_ns)
		s->wmin_ns = wmin;
	if (wn && wmax > s->wmax_ns)
		s->wmax_ns = wmax;
	d->last_ns = bpf_ktime_get_ns();
	return 0;
}

/* balance_dirty_pages, whatever the argument layout. */
static __always_inline int on_bdp(void *ctx, struct bdi_writeback *wb, unsigned long dirty_rl,
				  unsigned long task_rl, unsigned long dirtied, long pause,
				  unsigned long start)
{
	__u64 tgid_pid = bpf_get_current_pid_tgid();
	__u32 tgid = tgid_pid >> 32, zero = 0;
	struct backing_dev_info *bdi;
	struct wbt_proc_key key = {};
	struct wbt_proc *p, *tmpl;

	if (targ_tgid && tgid != targ_tgid)
		return 0;
	bdi = BPF_CORE_READ(wb, bdi);
	key.tgid = tgid;
	key.bdi_id = BPF_CORE_READ(bdi, id);
	p = bpf_map_lookup_elem(&procs, &key);
	if (!p) {
		tmpl = bpf_map_lookup_elem(&scratch, &zero);
		if (!tmpl)
			return 0;
		bpf_get_current_comm(tmpl->comm, sizeof(tmpl->comm));
		bpf_probe_read_kernel_str(tmpl->bdi, sizeof(tmpl->bdi), &bdi->dev_name);
		bpf_map_update_elem(&procs, &key, tmpl, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&procs, &key);
		if (!p) {
			__sync_fetch_and_add(&untracked, 1);
			return 0;
		}
	}
	__sync_fetch_and_add(&p->calls, 1);
	p->task_ratelimit = task_rl;
	p->dirty_ratelimit = dirty_rl;
	p->last_ns = bpf_ktime_get_ns();
	if (pause <= 0)
		return 0;

	__u64 ns = (__u64)pause * jiffy_ns;
	__u32 s = hist_log2_slot(ns / 1000);

	__sync_fetch_and_add(&p->pauses, 1);
	__sync_fetch_and_add(&p->paused_ns, ns);
	__sync_fetch_and_add(&p->dirtied_pages, dirtied);
	if (ns > p->max_pause_ns)
		p->max_pause_ns = ns;
	if (s >= WBT_PAUSE_SLOTS)
		s = WBT_PAUSE_SLOTS - 1;
	__sync_fetch_and_add(&p->hist[s], 1);

	if (emit_events && ns >= long_pause_ns) {
		struct wbt_event ev = {};
		__u64 j = bpf_jiffies64();

		ev.ts_ns = p->last_ns;
		ev.type = WBT_EV_PAUSE;
		ev.pid = (__u32)tgid_pid;
		bpf_get_current_comm(ev.comm, sizeof(ev.comm));
		bpf_probe_read_kernel_str(ev.name, sizeof(ev.name), &bdi->dev_name);
		ev.pause_ns = ns;
		ev.paused_ns = j > start ? (j - start) * jiffy_ns : 0;
		ev.task_ratelimit = task_rl;
		ev.dirtied = dirtied;
		events_submit(ctx, &ev, sizeof(ev));
	}
	return 0;
}

/* ---- hooks: each a tp_btf/raw_tp twin (bpf/hooks.bpf.h) ---------------- */

TP_TWIN(wbt_timer, "wbt_timer", struct backing_dev_info *bdi, unsigned int status, int step,
	unsigned int inflight)
{
	return on_timer(ctx, bdi, status, step, inflight);
}

TP_TWIN(wbt_step, "wbt_step", struct backing_dev_info *bdi, const char *msg, int step,
	unsigned long window, unsigned int bg, unsigned int normal, unsigned int max)
{
	return on_step(ctx, bdi, msg, step, window, bg, normal, max);
}

TP_TWIN(wbt_lat, "wbt_lat", struct backing_dev_info *bdi, unsigned long lat)
{
	return on_lat(bdi, lat);
}

TP_TWIN(wbt_stat, "wbt_stat", struct backing_dev_info *bdi, struct blk_rq_stat *stat)
{
	return on_stat(bdi, stat);
}

/*
 * balance_dirty_pages: two argument layouts, one subprogram each: only the
 * one bdp_nargs selects is ever verified, so the other's argument offsets,
 * invalid on this kernel, are never checked.  args is the tracepoint's u64
 * array (ctx in both twins).
 */
static __noinline int bdp_args8(void *ctx, __u64 *args)
{
	/* wb, dtc, dirty_ratelimit, task_ratelimit, dirtied, period, pause, start_time */
	return on_bdp(ctx, (void *)args[0], args[2], args[3], args[4], (long)args[6], args[7]);
}

static __noinline int bdp_args12(void *ctx, __u64 *args)
{
	/* wb, thresh, bg_thresh, dirty, bdi_thresh, bdi_dirty, dirty_ratelimit,
	 * task_ratelimit, dirtied, period, pause, start_time */
	return on_bdp(ctx, (void *)args[0], args[6], args[7], args[8], (long)args[10], args[11]);
}

TP_TWIN(bdp, "balance_dirty_pages")
{
	if (bdp_nargs == 8)
		return bdp_args8(ctx, ctx);
	if (bdp_nargs == 12)
		return bdp_args12(ctx, ctx);
	return 0;
}
