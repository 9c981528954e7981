// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* wbtstat: snapshots (devices, processes, pause histograms) and events,
 * from wbtstat's maps and event records, sysfs and debugfs. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hist.h"
#include "loop.h"
#include "output.h"
#include "wbtreport.h"
#include "sysblock.h"
#include "util.h"
#include "wbtstat.h"
#include "wbtstat.skel.h"

/* The histogram's bucket bounds: wbt_pause_le(). */
static const double *pause_le(void)
{
	static double le[WBT_PAUSE_SLOTS];
	if (!le[0])
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
			le[s] = wbt_pause_le(s);
	return le;
}

struct prev_dev {
	char majmin[WBT_NAME_LEN];
	uint64_t r_samples, r_sum, w_samples, w_sum;
};

struct prev_proc {
	struct wbt_proc_key key;
	uint64_t paused_ns, dirtied;
};

static struct prev_dev *pdev;
static int npdev;
static struct prev_proc *pproc;
static int npproc;

/*
 * BPF_MAP_GET_NEXT_KEY with the whole attr zeroed and a real start key:
 * libbpf 1.1 zeroes only part of the attr and passes NULL for the first
 * key, which valgrind's model of bpf(2) reports.  The start key is one no
 * entry has (bdi ids start at 1; tgid 0 never dirties pages).
 */
static int next_key(int fd, const void *key, void *next)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = fd;
	attr.key = (uint64_t)(unsigned long)key;
	attr.next_key = (uint64_t)(unsigned long)next;
	return syscall(__NR_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)) ? -errno : 0;
}

struct dev_entry {
	struct wbt_dev v;
	bool slot_ok;
	struct wbt_slot slot;
};

static int read_devs(const struct wbt_report *R, struct dev_entry **out, uint64_t old_epoch)
{
	int fd = bpf_map__fd(R->skel->maps.devs);
	struct dev_entry *v = NULL;
	__u64 key = 0, next;
	int n = 0;

	while (!next_key(fd, &key, &next)) {
		key = next;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		if (bpf_map_lookup_elem(fd, &key, &v[n].v))
			continue;
		struct wbt_slot *s = &v[n].v.slot[old_epoch & 1];
		v[n].slot_ok = s->epoch == old_epoch;
		v[n].slot = *s;
		n++;
	}
	*out = v;
	return n;
}

/* Nearest double to the exact value (ns * 1e-9 is not). */
static double ns_to_s(uint64_t ns)
{
	return ns / 1e9;
}

static void fill_device(struct record *r, const struct wbt_disk *d, const struct dev_entry *e,
			struct prev_dev *next_prev)
{
	const char *source = "sysfs";

	rec_str(r, D_DEVICE, d->name);
	rec_str(r, D_DEVT, d->majmin);
	if (!d->wbt_attr) {
		rec_str(r, D_WBT, "none");
		rec_str(r, D_SOURCE, source);
		return;
	}
	bool on = d->wbt_init && d->lat_usec > 0;
	if (d->dbg)
		on = on && (d->enabled == 1 || d->enabled == 2);
	rec_str(r, D_WBT, on ? "on" : "off");
	rec_u64(r, D_ENABLED, on);
	if (d->dbg) {
		source = "debugfs";
		rec_str(r, D_STATE, wbt_enable_state_name(d->enabled));
		rec_dbl(r, D_MINLAT, ns_to_s(d->min_lat_ns));
		rec_dbl(r, D_WINDOW, ns_to_s(d->win_ns));
		rec_u64(r, D_BG, d->bg);
		rec_u64(r, D_NORMAL, d->normal);
		rec_u64(r, D_INFLIGHT, d->inflight);
		rec_u64(r, D_UNKNOWN_CNT, d->unknown_cnt);
	} else if (d->wbt_init) {
		rec_dbl(r, D_MINLAT, d->lat_usec / 1e6);
	}
	if (e) {
		const struct wbt_dev *w = &e->v;
		if (!d->dbg) {
			source = "sysfs+events";
			if (w->have & WBT_HAVE_RWB) {
				rec_str(r, D_STATE, wbt_enable_state_name(w->enable_state));
				rec_u64(r, D_UNKNOWN_CNT, w->unknown_cnt);
			}
			if (w->have & WBT_HAVE_LIMITS) {
				rec_dbl(r, D_WINDOW, ns_to_s(w->window_ns));
				rec_u64(r, D_BG, w->bg);
				rec_u64(r, D_NORMAL, w->normal);
			}
			if (w->have & WBT_HAVE_INFLIGHT)
				rec_u64(r, D_INFLIGHT, w->inflight);
		} else {
			source = "debugfs+events";
		}
		if (w->have & WBT_HAVE_STEP)
			rec_i64(r, D_STEP, w->step);
		if (w->have & WBT_HAVE_LIMITS)
			rec_u64(r, D_MAX, w->max);
	}
	rec_str(r, D_SOURCE, source);
	if (!d->wbt_init && !e)
		return;

	const struct wbt_dev z = {};
	const struct wbt_dev *w = e ? &e->v : &z;
	rec_u64(r, D_DOWN, w->steps_down);
	rec_u64(r, D_UP, w->steps_up);
	rec_u64(r, D_T_EXCEEDED, w->timers[WBT_V_EXCEEDED]);
	rec_u64(r, D_T_OK, w->timers[WBT_V_OK]);
	rec_u64(r, D_T_UNKW, w->timers[WBT_V_UNKNOWN_WRITES]);
	rec_u64(r, D_T_UNK, w->timers[WBT_V_UNKNOWN]);
	rec_u64(r, D_LAT_EVENTS, w->lat_events);
	rec_u64(r, D_TARGET_CHANGES, w->target_changes);
	rec_u64(r, D_R_SAMPLES, w->r_samples);
	rec_u64(r, D_W_SAMPLES, w->w_samples);

	/* interval figures */
	struct prev_dev p = {};
	for (int i = 0; i < npdev; i++)
		if (!strcmp(pdev[i].majmin, d->majmin))
			p = pdev[i];
	snprintf(next_prev->majmin, sizeof(next_prev->majmin), "%s", d->majmin);
	next_prev->r_samples = w->r_samples;
	next_prev->r_sum = w->r_sum_ns;
	next_prev->w_samples = w->w_samples;
	next_prev->w_sum = w->w_sum_ns;
	double mean;
	if (wbt_interval_mean_us(w->r_sum_ns, w->r_samples, p.r_sum, p.r_samples, &mean))
		rec_dbl(r, D_R_MEAN, mean / 1e6);
	if (wbt_interval_mean_us(w->w_sum_ns, w->w_samples, p.w_sum, p.w_samples, &mean))
		rec_dbl(r, D_W_MEAN, mean / 1e6);
	if (e && e->slot_ok) {
		if (e->slot.rmin_ns != ~0ULL)
			rec_dbl(r, D_R_MIN, ns_to_s(e->slot.rmin_ns));
		if (e->slot.rmax_ns)
			rec_dbl(r, D_R_MAX, ns_to_s(e->slot.rmax_ns));
		if (e->slot.wmin_ns != ~0ULL)
			rec_dbl(r, D_W_MIN, ns_to_s(e->slot.wmin_ns));
		if (e->slot.wmax_ns)
			rec_dbl(r, D_W_MAX, ns_to_s(e->slot.wmax_ns));
		if (e->slot.lat_max_ns)
			rec_dbl(r, D_LAT_MAX, ns_to_s(e->slot.lat_max_ns));
	}
}

struct proc_entry {
	struct wbt_proc_key key;
	struct wbt_proc v;
	char device[64];
};

/* CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns() */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_procs(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;
	if (x->v.paused_ns != y->v.paused_ns)
		return x->v.paused_ns > y->v.paused_ns ? -1 : 1;
	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return strcmp(x->device, y->device);
}

static int cmp_proc_keys(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;
	int c;
	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	if ((c = strcmp(x->device, y->device)))
		return c;
	if (x->v.last_ns != y->v.last_ns)
		return x->v.last_ns > y->v.last_ns ? -1 : 1;
	return 0;
}

static int read_procs(const struct wbt_report *R, struct proc_entry **out)
{
	int fd = bpf_map__fd(R->skel->maps.procs);
	struct proc_entry *v = NULL;
	struct wbt_proc_key key = {}, next;
	struct wbt_proc_key *gone = NULL;
	int n = 0, total = 0, ngone = 0;
	bool prune;

	/* Once the map is half full, forget processes that exited over a minute
	 * ago (their last figures were shown), so new ones still fit. */
	while (!next_key(fd, &key, &next)) {
		key = next;
		total++;
	}
	prune = total >= WBT_MAX_PROCS / 2;
	memset(&key, 0, sizeof(key));
	while (!next_key(fd, &key, &next)) {
		key = next;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].key = key;
		if (bpf_map_lookup_elem(fd, &key, &v[n].v))
			continue;
		if (prune && !proc_exists((int)key.tgid) && mono_ns() - v[n].v.last_ns > 60000000000ULL) {
			gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
			gone[ngone++] = key;
			continue;
		}
		v[n].v.comm[WBT_COMM_LEN - 1] = '\0';
		v[n].v.bdi[WBT_NAME_LEN - 1] = '\0';
		wbt_name_of_majmin(v[n].v.bdi, v[n].device, sizeof(v[n].device));
		if (R->dev[0] && strcmp(v[n].device, R->dev))
			continue;
		n++;
	}
	/* after the walk: a deleted key would restart it */
	for (int i = 0; i < ngone; i++)
		bpf_map_delete_elem(fd, &gone[i]);
	free(gone);
	/* one record per process and disk name (a disk added again has a new
	 * bdi with the same name): the latest */
	if (n)
		qsort(v, n, sizeof(*v), cmp_proc_keys);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (!m || v[m - 1].key.tgid != v[i].key.tgid || strcmp(v[m - 1].device, v[i].device))
			v[m++] = v[i];
	n = m;
	if (n)
		qsort(v, n, sizeof(*v), cmp_procs);
	*out = v;
	return n;
}

static void add_meta(const struct wbt_report *R, struct snapshot *sn)
{
	static bool untracked_warned;
	uint64_t untracked = R->skel->bss->untracked;

	snap_meta(sn, "mechanism", "%s", R->mechanism);
	snap_meta_u64(sn, "kernel_hz", R->hz);
	snap_meta(sn, "kernel_hz_source", "%s", R->hz_source);
	snap_meta(sn, "debugfs", "%s", R->debugfs ? WBT_DEBUGFS_BLOCK : "unavailable");
	snap_meta_u64(sn, "untracked", untracked);
	if (untracked && !untracked_warned) {
		warnx_("%" PRIu64 " tracepoint hits not counted: wbtstat's maps are full "
		       "(%d disks, %d process and disk pairs); counted in untracked", untracked,
		       WBT_MAX_DEVS, WBT_MAX_PROCS);
		untracked_warned = true;
	}
	out_set_missed(bpfobj_recursion_misses(R->skel->obj));
}

int wbt_snapshot(void *ctx, double dt)
{
	const struct wbt_report *R = ctx;
	uint64_t old_epoch = R->skel->data->epoch;
	struct wbt_disk *disks;
	struct dev_entry *devs;
	struct proc_entry *procs;
	int ndisks, ndevs, nprocs;

	/* new events go to the other latency slot from now on */
	R->skel->data->epoch = old_epoch + 1;
	ndevs = read_devs(R, &devs, old_epoch);
	ndisks = wbt_list_disks(R->dev, R->debugfs, &disks);
	nprocs = R->procs ? read_procs(R, &procs) : (procs = NULL, 0);

	struct snapshot *sn = snap_begin(&wbt_dev_schema);
	struct prev_dev *next_pdev = xcalloc(ndisks ? ndisks : 1, sizeof(*next_pdev));
	int nnext = 0;
	add_meta(R, sn);
	for (int i = 0; i < ndisks; i++) {
		const struct dev_entry *e = NULL;
		/* a disk removed and added again has a new bdi: the latest one */
		for (int k = 0; k < ndevs; k++)
			if (disks[i].majmin[0] && !strcmp(devs[k].v.name, disks[i].majmin) &&
			    (!e || devs[k].v.last_ns > e->v.last_ns))
				e = &devs[k];
		fill_device(snap_add(sn), &disks[i], e, &next_pdev[nnext]);
		if (next_pdev[nnext].majmin[0])
			nnext++;
	}
	free(pdev);
	pdev = next_pdev;
	npdev = nnext;

	struct snapshot *ps = snap_begin(&wbt_proc_schema);
	struct snapshot *hs = snap_begin(&wbt_bar_schema);
	struct prev_proc *next_pproc = xcalloc(nprocs ? nprocs : 1, sizeof(*next_pproc));
	for (int i = 0; i < nprocs; i++) {
		const struct proc_entry *p = &procs[i];
		struct prev_proc pv = {};
		for (int k = 0; k < npproc; k++)
			if (pproc[k].key.tgid == p->key.tgid && pproc[k].key.bdi_id == p->key.bdi_id)
				pv = pproc[k];
		next_pproc[i].key = p->key;
		next_pproc[i].paused_ns = p->v.paused_ns;
		next_pproc[i].dirtied = p->v.dirtied_pages;

		struct record *r = snap_add(ps);
		rec_u64(r, P_PID, p->key.tgid);
		rec_str(r, P_COMM, p->v.comm);
		rec_str(r, P_DEVICE, p->device);
		rec_u64(r, P_CALLS, p->v.calls);
		rec_u64(r, P_PAUSES, p->v.pauses);
		rec_dbl(r, P_PAUSED, p->v.paused_ns / 1e9);
		rec_dbl(r, P_MAXPAUSE, p->v.max_pause_ns / 1e9);
		rec_u64(r, P_DIRTIED, p->v.dirtied_pages);
		rec_u64(r, P_TASK_RL, p->v.task_ratelimit * R->page_bytes);
		rec_u64(r, P_DEV_RL, p->v.dirty_ratelimit * R->page_bytes);
		if (dt > 0) {
			uint64_t paused = p->v.paused_ns >= pv.paused_ns ? p->v.paused_ns - pv.paused_ns : 0;
			uint64_t dirtied = p->v.dirtied_pages >= pv.dirtied ? p->v.dirtied_pages - pv.dirtied : 0;
			rec_dbl(r, P_PAUSED_RATIO, paused / 1e9 / dt);
			rec_dbl(r, P_DIRTY_RATE, (double)dirtied * R->page_bytes / dt);
		}
		if (R->no_hist)
			continue;
		uint64_t counts[WBT_PAUSE_SLOTS];
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
			counts[s] = p->v.hist[s];
		rec_hist(r, P_HIST, pause_le(), counts, WBT_PAUSE_SLOTS, ns_to_s(p->v.paused_ns));
		uint64_t top = 0;
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++)
			if (p->v.hist[s] > top)
				top = p->v.hist[s];
		for (int s = 0; s < WBT_PAUSE_SLOTS; s++) {
			char bar[31];
			unsigned len;
			if (!p->v.hist[s])
				continue;
			len = (unsigned)(p->v.hist[s] * 30 / top);
			memset(bar, '*', len);
			bar[len] = '\0';
			struct record *h = snap_add(hs);
			rec_u64(h, H_PID, p->key.tgid);
			rec_str(h, H_COMM, p->v.comm);
			rec_str(h, H_DEVICE, p->device);
			rec_dbl(h, H_LOW, hist_slot_low(s) / 1e6);
			rec_dbl(h, H_HIGH, hist_slot_high(s) / 1e6);
			rec_u64(h, H_COUNT, p->v.hist[s]);
			rec_str(h, H_BAR, bar);
		}
	}
	free(pproc);
	pproc = next_pproc;
	npproc = nprocs;
	snap_append(sn, ps);
	snap_append(sn, hs);

	free(disks);
	free(devs);
	free(procs);
	return snap_end(sn);
}

/* ---- events --------------------------------------------------------- */

int wbt_on_event(void *ctx, const void *data, size_t size)
{
	const struct wbt_report *R = ctx;
	struct wbt_event copy; /* perf buffer records are only 4-byte aligned */
	const struct wbt_event *e = &copy;
	char dev[64], name[WBT_NAME_LEN], detail[256];
	struct record *r;

	if (size < sizeof(copy))
		return 0;
	memcpy(&copy, data, sizeof(copy));
	memcpy(name, e->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	wbt_name_of_majmin(name, dev, sizeof(dev));
	if (R->dev[0] && strcmp(dev, R->dev))
		return 0;
	r = event_new(&wbt_event_schema);
	rec_str(r, E_DEVICE, dev);
	switch (e->type) {
	case WBT_EV_STEP: {
		int n;
		rec_str(r, E_TYPE, "step");
		rec_str(r, E_DIRECTION, e->up ? "up" : "down");
		rec_i64(r, E_STEP, e->step);
		rec_str(r, E_REASON, wbt_verdict_name(e->verdict));
		rec_dbl(r, E_WINDOW, ns_to_s(e->window_ns));
		rec_u64(r, E_BG, e->bg);
		rec_u64(r, E_NORMAL, e->normal);
		rec_u64(r, E_MAX, e->max);
		n = snprintf(detail, sizeof(detail), "scale %s to step %d (%s", e->up ? "up" : "down",
			     e->step, wbt_verdict_name(e->verdict));
		if (e->lat_ns) {
			rec_dbl(r, E_LAT, ns_to_s(e->lat_ns));
			n += snprintf(detail + n, sizeof(detail) - n, ": %.0fus", e->lat_ns / 1e3);
		}
		snprintf(detail + n, sizeof(detail) - n, "), window %.0fus, limits bg %u normal %u max %u",
			 e->window_ns / 1e3, e->bg, e->normal, e->max);
		break;
	}
	case WBT_EV_TARGET:
		rec_str(r, E_TYPE, "target");
		rec_dbl(r, E_OLD_TARGET, ns_to_s(e->old_lat_ns));
		rec_dbl(r, E_TARGET, ns_to_s(e->new_lat_ns));
		snprintf(detail, sizeof(detail), "latency target %.0fus -> %.0fus%s",
			 e->old_lat_ns / 1e3, e->new_lat_ns / 1e3, e->new_lat_ns ? "" : " (wbt off)");
		break;
	case WBT_EV_PAUSE: {
		char comm[WBT_COMM_LEN];
		memcpy(comm, e->comm, sizeof(comm));
		comm[sizeof(comm) - 1] = '\0';
		rec_str(r, E_TYPE, "pause");
		rec_u64(r, E_PID, e->pid);
		rec_str(r, E_COMM, comm);
		rec_dbl(r, E_PAUSE, ns_to_s(e->pause_ns));
		rec_dbl(r, E_PAUSED, ns_to_s(e->paused_ns));
		rec_u64(r, E_TASK_RL, e->task_ratelimit * R->page_bytes);
		rec_u64(r, E_DIRTIED, e->dirtied);
		snprintf(detail, sizeof(detail), "pid %u (%s) sleeps %.0fms after %u dirtied pages; allowed %" PRIu64 " KiB/s",
			 e->pid, comm, e->pause_ns / 1e6, e->dirtied, (uint64_t)e->task_ratelimit * R->page_bytes / 1024);
		break;
	}
	default:
		record_free(r);
		return 0;
	}
	rec_str(r, E_DETAIL, detail);
	int err = event_emit(r);
	if (err)
		loop_request_stop(); /* a write error: the perf buffer ignores what this returns */
	return err < 0 ? err : 0;
}

void wbt_report_free(void)
{
	free(pdev);
	free(pproc);
	pdev = NULL;
	pproc = NULL;
	npdev = npproc = 0;
}
