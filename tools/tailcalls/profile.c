// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hooks.h"
#include "mapread.h"
#include "util.h"
#include "profile.h"
#include "tailcalls.h"
#include "tailcalls.skel.h"

static struct tailcalls_bpf *skel;
static int ncpus;
static int stats_fd = -1; /* ours, with --run-stats */
struct prof_facts prof;

static void add_hit(struct hit **v, int *n, uint32_t prog, uint32_t func, uint64_t c)
{
	for (int i = 0; i < *n; i++)
		if ((*v)[i].prog == prog && (*v)[i].func == func) {
			(*v)[i].n += c;
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct hit){ prog, func, c };
}

/* Every entry of a hash map with u64 keys and u64 (or per-CPU u64) values
 * (common/mapread.h: batches, or a key walk before 5.6); with del, the
 * entries read are removed.  Returns the number of entries or -errno. */
struct hash_read_ctx {
	void (*fn)(uint64_t key, const uint64_t *vals, void *ctx);
	void *ctx;
};

static void hash_read_entry(const void *key, const void *val, void *c)
{
	struct hash_read_ctx *h = c;
	uint64_t k;
	memcpy(&k, key, sizeof(k));
	h->fn(k, val, h->ctx);
}

static int hash_read(int fd, bool del, void (*fn)(uint64_t key, const uint64_t *vals, void *ctx), void *ctx)
{
	struct hash_read_ctx h = { fn, ctx };
	return map_read_all(fd, del, hash_read_entry, &h);
}

struct attrib {
	struct profile *pf;
	struct ksyms *ks;
	bool entries;
};

static void attribute(uint64_t ip, const uint64_t *vals, void *ctx)
{
	struct attrib *a = ctx;
	/* ip_samples is per-CPU, entry_counts is not */
	uint64_t sum = a->entries ? vals[0] : percpu_sum_u64(vals, sizeof(uint64_t), 0);
	const struct ksym *s = ksyms_find(a->ks, ip);
	if (!s)
		return;
	if (a->entries) {
		add_hit(&a->pf->entries, &a->pf->nentries, s->prog_id, 0, sum);
	} else {
		add_hit(&a->pf->hits, &a->pf->nhits, s->prog_id, s->func, sum);
		a->pf->in_progs += sum;
	}
}

/* Sampled addresses since the last call, attributed with ks; the map is emptied. */
static void drain_samples(struct profile *pf, struct ksyms *ks)
{
	struct attrib a = { pf, ks, false };
	int n = hash_read(bpf_map__fd(skel->maps.ip_samples), true, attribute, &a);
	if (n < 0)
		die(EXIT_FAIL, "cannot read the sampled addresses: %s", errno_name(-n));
}

static uint64_t prev_stats[TC_NR_STATS];

static void read_stats(struct profile *pf)
{
	int fd = bpf_map__fd(skel->maps.sample_stats);
	uint64_t now[TC_NR_STATS];
	for (uint32_t k = 0; k < TC_NR_STATS; k++)
		if (map_lookup_percpu_sum(fd, &k, 1, &now[k]))
			now[k] = 0;
	pf->total = counter_delta(now[TC_ST_TOTAL], prev_stats[TC_ST_TOTAL]);
	pf->user = counter_delta(now[TC_ST_USER], prev_stats[TC_ST_USER]);
	pf->kernel = counter_delta(now[TC_ST_KERNEL], prev_stats[TC_ST_KERNEL]);
	pf->in_range = counter_delta(now[TC_ST_RANGE], prev_stats[TC_ST_RANGE]);
	pf->lost = counter_delta(now[TC_ST_LOST], prev_stats[TC_ST_LOST]);
	memcpy(prev_stats, now, sizeof(now));
}

/* ---- fentry entry counters ------------------------------------------- */

struct counter {
	struct bpf_object *obj;
	struct bpf_link *link;
	uint32_t prog_id; /* the counting program */
	uint32_t target;  /* the counted program */
};

/* count_entry from a fresh copy of the object, aimed at the main function
 * of the program target_fd, sharing the tool's maps (entry_counts).
 * Returns 0 or -errno. */
static int counter_attach(struct counter *c, int target_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "tailcalls_cnt");
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	char func[128];
	size_t sz;
	const void *elf = tailcalls_bpf__elf_bytes(&sz);

	memset(c, 0, sizeof(*c));
	int err = bpf_prog_main_func(target_fd, func, sizeof(func));
	if (err)
		return err;
	c->obj = bpf_object__open_mem(elf, sz, &oo);
	if (!c->obj)
		return -errno;
	err = bpfclone_load(c->obj, "count_entry", skel->obj, target_fd, func, &c->link);
	if (err) {
		bpf_object__close(c->obj);
		c->obj = NULL;
		return err;
	}
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(bpf_object__find_program_by_name(c->obj, "count_entry")),
				    &info, &len))
		c->prog_id = info.id;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(target_fd, &info, &len))
		c->target = info.id;
	model_own_prog(c->prog_id);
	return 0;
}

static void counter_detach(struct counter *c)
{
	bpf_link__destroy(c->link);
	bpf_object__close(c->obj);
	memset(c, 0, sizeof(*c));
}

/* Entry counts since the last call, per program. */
static void read_entries(struct profile *pf, struct ksyms *ks)
{
	static struct hit *prev;
	static int nprev;
	struct profile now = { 0 };
	struct attrib a = { &now, ks, true };

	if (!pf) { /* forget everything */
		free(prev);
		prev = NULL;
		nprev = 0;
		return;
	}
	int n = hash_read(bpf_map__fd(skel->maps.entry_counts), false, attribute, &a);
	if (n < 0)
		die(EXIT_FAIL, "cannot read the entry counters: %s", errno_name(-n));
	for (int i = 0; i < now.nentries; i++) {
		uint64_t before = 0;
		for (int k = 0; k < nprev; k++)
			if (prev[k].prog == now.entries[i].prog)
				before = prev[k].n;
		add_hit(&pf->entries, &pf->nentries, now.entries[i].prog, 0,
			counter_delta(now.entries[i].n, before));
	}
	free(prev);
	prev = now.entries;
	nprev = now.nentries;
}

static void ignore(uint64_t key, const uint64_t *vals, void *ctx)
{
	(void)key;
	(void)vals;
	(void)ctx;
}

/* Does fentry fire for a program entered by a tail call?  Run the tool's own
 * two-program chain with BPF_PROG_TEST_RUN, with counters on both. */
static void selftest(void)
{
	enum { RUNS = 64 };
	int caller = bpf_program__fd(skel->progs.selftest_caller);
	int callee = bpf_program__fd(skel->progs.selftest_callee);
	int arr = bpf_map__fd(skel->maps.selftest_array);
	uint32_t zero = 0;
	struct counter c1, c2;
	int err;

	/* no separate feature probe: attaching the counters is the probe */
	if (bpf_map_update_elem(arr, &zero, &callee, BPF_ANY))
		die(EXIT_FAIL, "self-test: cannot fill its prog array: %s", errno_name(errno));
	err = counter_attach(&c1, caller);
	if (!err)
		err = counter_attach(&c2, callee);
	if (err) {
		if (c1.obj)
			counter_detach(&c1);
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict),
			 "fentry unavailable: cannot attach fentry to a BPF program: %s", errno_name(-err));
		return;
	}
	unsigned char pkt[64] = { 0 }, out[64];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt), .data_out = out,
		    .data_size_out = sizeof(out), .repeat = RUNS);
	err = bpf_prog_test_run_opts(caller, &t);
	struct ksyms ks = { 0 };
	ksyms_add_prog(&ks, caller);
	ksyms_add_prog(&ks, callee);
	struct profile pf = { 0 };
	read_entries(&pf, &ks);
	uint64_t n_caller = 0, n_callee = 0;
	for (int i = 0; i < pf.nentries; i++) {
		if (pf.entries[i].prog == c1.target)
			n_caller = pf.entries[i].n;
		if (pf.entries[i].prog == c2.target)
			n_callee = pf.entries[i].n;
	}
	free(pf.entries);
	ksyms_clear(&ks);
	counter_detach(&c1);
	counter_detach(&c2);
	if (err || t.retval != XDP_PASS)
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict),
			 "fentry unavailable: the self-test chain did not run (%s, return %u)",
			 err ? errno_name(errno) : "ok", t.retval);
	else if (n_caller != RUNS)
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict),
			 "fentry unavailable: it fired %" PRIu64 " times for %d direct runs", n_caller, RUNS);
	else if (n_callee == RUNS)
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict), "fires");
	else if (n_callee == 0)
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict), "does not fire");
	else
		snprintf(prof.fentry_verdict, sizeof(prof.fentry_verdict), "fires partly (%" PRIu64 " of %d)", n_callee, RUNS);
	prof.fentry_fires = !strcmp(prof.fentry_verdict, "fires");
	/* forget the self-test */
	hash_read(bpf_map__fd(skel->maps.entry_counts), true, ignore, NULL);
	read_entries(NULL, NULL);
}

static struct counter *counters;
static int ncounters;

/* With trampolines firing on tail-call entry: count every tail-called
 * program of the graph. */
static void attach_entry_counters(const struct model *m)
{
	for (int i = 0; i < m->tg.nprogs; i++) {
		const struct tg_prog *p = &m->tg.progs[i];
		if (!m->sel_prog[i] || !p->in_slot)
			continue;
		bool done = false;
		for (int k = 0; k < ncounters && !done; k++)
			done = counters[k].target == p->id;
		if (done || ncounters >= TC_ENTRY_SLOTS)
			continue;
		struct bpf_prog_info info;
		int fd = bpfobj_prog_open(p->id, &info);
		if (fd < 0)
			continue; /* unloaded meanwhile */
		counters = xrealloc(counters, (ncounters + 1) * sizeof(*counters));
		int err = counter_attach(&counters[ncounters], fd);
		if (err)
			note("cannot count entries of program %u with fentry: %s", p->id, errno_name(-err));
		else
			ncounters++;
		close(fd);
	}
}

/* ---- sampling ---------------------------------------------------------- */

static int *perf_fds;
static struct bpf_link **perf_links;
static int nperf;

static bool cpu_online(int cpu)
{
	char line[1024];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	bool on = false;
	if (!f)
		return true;
	if (fgets(line, sizeof(line), f)) {
		for (char *tok = strtok(line, ",\n"); tok; tok = strtok(NULL, ",\n")) {
			int a, b;
			int k = sscanf(tok, "%d-%d", &a, &b);
			if (k == 1)
				b = a;
			if (k >= 1 && cpu >= a && cpu <= b)
				on = true;
		}
	}
	fclose(f);
	return on;
}

static void start_sampling(void)
{
	for (int cpu = 0; cpu < ncpus; cpu++) {
		if (!cpu_online(cpu))
			continue;
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.size = sizeof(attr);
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.freq = 1;
		attr.sample_freq = prof.freq;
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue;
			if (errno == EACCES || errno == EPERM)
				die_errno(errno, "CAP_PERFMON or CAP_SYS_ADMIN", "cannot open perf events");
			die(EXIT_NOFEATURE, "cannot open a cpu-clock perf event on CPU %d: %s", cpu, errno_name(errno));
		}
		struct bpf_link *l = bpf_program__attach_perf_event(skel->progs.sample_ip, fd);
		if (!l) {
			int err = errno;
			close(fd);
			die(EXIT_FAIL, "cannot attach the sampling program on CPU %d: %s", cpu, errno_name(err));
		}
		perf_fds = xrealloc(perf_fds, (nperf + 1) * sizeof(int));
		perf_links = xrealloc(perf_links, (nperf + 1) * sizeof(*perf_links));
		perf_fds[nperf] = fd;
		perf_links[nperf] = l;
		nperf++;
	}
	if (!nperf)
		die(EXIT_NOFEATURE, "no online CPU accepted a cpu-clock perf event");
}

static void stop_sampling(void)
{
	for (int i = 0; i < nperf; i++) {
		bpf_link__destroy(perf_links[i]);
		close(perf_fds[i]);
	}
	free(perf_links);
	free(perf_fds);
	nperf = 0;
}


/* Sample only addresses inside the JIT images (their hull). */
static void set_range(struct ksyms *ks)
{
	uint64_t lo = 0, hi = 0;
	if (!ksyms_hull(ks, &lo, &hi))
		lo = hi = 0;
	skel->bss->ip_lo = lo;
	skel->bss->ip_hi = hi;
}

/* Run statistics cost every BPF program on the machine two clock reads per
 * run, so they are turned on only when asked; if someone else already turned
 * them on, they are free to read. */
static void set_run_stats(bool run_stats)
{
	unsigned on = 0;
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	if (f) {
		if (fscanf(f, "%u", &on) != 1)
			on = 0;
		fclose(f);
	}
	if (run_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd >= 0) {
			prof.stats_on = true;
			prof.stats_note = "bpf_enable_stats";
			return;
		}
		prof.stats_note = errno == EINVAL ? "unavailable: kernel lacks BPF_ENABLE_STATS (Linux 5.8+)"
						  : "unavailable: BPF_ENABLE_STATS refused";
		note("run_cnt/run_time_seconds: %s (%s)", prof.stats_note, errno_name(errno));
	} else if (on) {
		prof.stats_on = true;
		prof.stats_note = "kernel.bpf_stats_enabled (already on)";
	} else {
		prof.stats_note = "off (--run-stats turns them on, at a cost to every BPF program)";
	}
}

static void own_objects(void)
{
	struct bpf_program *p;
	struct bpf_map *mp;
	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_program__fd(p) >= 0 && !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			model_own_prog(info.id);
	}
	bpf_object__for_each_map(mp, skel->obj) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_map__fd(mp) >= 0 && !bpf_obj_get_info_by_fd(bpf_map__fd(mp), &info, &len))
			model_own_map(info.id);
	}
}

/* ---- the profiler ------------------------------------------------------ */

void prof_init(unsigned freq, bool run_stats)
{
	prof.freq = freq;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die(EXIT_FAIL, "cannot count CPUs: %s", errno_name(-ncpus));
	skel = tailcalls_bpf__open();
	if (!skel)
		die_errno(errno, NULL, "cannot open BPF object");
	/* count_entry is loaded per target, from fresh copies (bpfclone_load) */
	bpf_program__set_autoload(skel->progs.count_entry, false);
	int err = tailcalls_bpf__load(skel);
	if (err)
		die_bpf_load(err);
	own_objects();
	selftest();
	note("fentry on tail-call entry: %s", prof.fentry_verdict);
	set_run_stats(run_stats);
}

void prof_start(struct model *m)
{
	struct profile base = { 0 };
	if (prof.fentry_fires)
		attach_entry_counters(m);
	set_range(&m->ks);
	start_sampling();
	prof.ncpus = nperf;
	note("sampling started: cpu-clock at %u Hz on %d CPUs", prof.freq, nperf);
	read_stats(&base);
	if (prof.fentry_fires)
		read_entries(&base, &m->ks);
	free(base.entries);
}

void prof_read_samples(struct profile *pf, struct ksyms *before)
{
	read_stats(pf);
	drain_samples(pf, before);
}

void prof_read_entries(struct profile *pf, struct ksyms *now)
{
	if (prof.fentry_fires)
		read_entries(pf, now);
	set_range(now);
}

bool prof_counts(uint32_t id)
{
	for (int k = 0; k < ncounters; k++)
		if (counters[k].target == id)
			return true;
	return false;
}

void prof_free(struct profile *pf)
{
	free(pf->hits);
	free(pf->entries);
	memset(pf, 0, sizeof(*pf));
}

void prof_stop(void)
{
	stop_sampling();
	for (int i = 0; i < ncounters; i++)
		counter_detach(&counters[i]);
	free(counters);
	counters = NULL;
	ncounters = 0;
	read_entries(NULL, NULL);
	if (stats_fd >= 0)
		close(stats_fd); /* the kernel stops collecting run stats unless others asked */
	stats_fd = -1;
	tailcalls_bpf__destroy(skel);
	skel = NULL;
}
