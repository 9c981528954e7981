// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tailcalls: what does my tail-call pipeline look like, which slots are
 * empty or cyclic, and where does its CPU time go, tail-called programs
 * included?
 */
#include <argp.h>
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

#include "attachpts.h"
#include "bpfobj.h"
#include "graph.h"
#include "ksyms.h"
#include "maplist.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "tailgraph.h"
#include "util.h"
#include "tailcalls.h"
#include "tailcalls.skel.h"

#define DEFAULT_FREQ 999

/* ---- options -------------------------------------------------------- */

static struct {
	uint32_t *ids;
	int nids;
	unsigned freq;
	bool freq_set;
	bool run_stats;
} o = { .freq = DEFAULT_FREQ };

enum { OPT_RUN_STATS = 0x100 };

static const struct argp_option options[] = {
	{ "prog", 'P', "ID", 0, "Only the pipelines program ID is part of (repeatable)", 1 },
	{ "frequency", 'F', "HZ", 0, "With an interval: samples per second on each CPU (default 999)", 1 },
	{ "run-stats", OPT_RUN_STATS, NULL, 0,
	  "With an interval: turn on the kernel's BPF run statistics for run_cnt and run time; every BPF "
	  "program on the machine then pays two clock reads per run while tailcalls runs (see OVERHEAD)", 1 },
	{ 0 },
};

static const char doc[] =
	"tailcalls: draw BPF tail-call pipelines (programs, prog arrays, slots) from every attach "
	"point, flag empty slots, cycles, chains deeper than the kernel allows, programs reachable "
	"only through tail calls and unused prog arrays; with an interval, profile where their CPU "
	"time goes, tail-called programs included.  Besides table, json and prom, -o dot writes "
	"Graphviz.\v"
	"Examples:\n"
	"  tailcalls                        # every pipeline, as a tree\n"
	"  tailcalls -o dot | dot -Tsvg > pipeline.svg\n"
	"  tailcalls -P 42 -o json          # the pipeline program 42 belongs to\n"
	"  tailcalls -P 42 -i 5             # its CPU profile every 5 s\n"
	"  tailcalls -i 10 -c 1 -F 4999     # one 10 s profile of everything";

static unsigned max_sample_rate(void)
{
	unsigned v = 100000;
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	if (f) {
		if (fscanf(f, "%u", &v) != 1 || !v)
			v = 100000;
		fclose(f);
	}
	return v;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'P':
		o.ids = xrealloc(o.ids, (o.nids + 1) * sizeof(uint32_t));
		o.ids[o.nids++] = opt_u32("--prog", arg, 1, UINT32_MAX);
		break;
	case 'F':
		o.freq = opt_u32("--frequency", arg, 1, max_sample_rate());
		o.freq_set = true;
		break;
	case OPT_RUN_STATS:
		o.run_stats = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

/* ---- fields: described once ---------------------------------------- */

enum { A_HOOK, A_TARGET, A_DETAIL, A_NETNS, A_NETNS_INO, A_IFINDEX, A_PROG, A_LINK, A_PID, ANF };
static const struct field afields[ANF] = {
	[A_HOOK] = { "hook", "%s", FK_LABEL, FF_ALL, "Attach hook", 0, 0, 0 },
	[A_TARGET] = { "target", "%s", FK_LABEL, FF_ALL, "Interface, cgroup, tracepoint or function", 0, 0, 0 },
	[A_DETAIL] = { "detail", "%s", FK_TEXT, FF_TABLE | FF_JSON, "Attach details (mode, priority, flags)", 0, 0, 0 },
	[A_NETNS] = { "netns", "netns=%s", FK_LABEL, FF_ALL, HELP_NETNS, 0, 0, 0 },
	[A_NETNS_INO] = { "netns_ino", "netns_ino=%s", FK_LABEL, FF_JSON, "Network namespace inode number", 0, 0, 0 },
	[A_IFINDEX] = { "ifindex", "ifindex=%s", FK_LABEL, FF_JSON | FF_WIDE, HELP_IFINDEX, 0, 0, 0 },
	[A_PROG] = { "prog_id", "prog=%s", FK_LABEL, FF_JSON, HELP_PROG_ID, 0, 0, 0 },
	[A_LINK] = { "link_id", "link=%s", FK_LABEL, FF_JSON | FF_TABLE, "BPF link ID", 0, 0, 0 },
	[A_PID] = { "pid", "pid=%s", FK_LABEL, FF_JSON | FF_TABLE, HELP_PID, 0, 0, 0 },
};
static const struct schema attach_schema = { "tailcalls", "attach", afields, ANF, NULL };

enum {
	P_ID, P_NAME, P_TYPE, P_TAG, P_DEPTH, P_FLAGS, P_FUNCS, P_BYTES, P_SAMPLES, P_CPU, P_BPF,
	P_FSAMPLES, P_RUNCNT, P_RUNTIME, P_AVG, P_ENTRIES, PNF
};
static struct field pfields[PNF] = {
	[P_ID] = { "prog_id", "prog %s", FK_LABEL, FF_ALL, HELP_PROG_ID, 0, 0, 0 },
	[P_NAME] = { "prog_name", "%s", FK_LABEL, FF_ALL, HELP_PROG_NAME, 0, 0, 0 },
	[P_TYPE] = { "prog_type", "(%s)", FK_LABEL, FF_ALL, "BPF program type (xdp, sched_cls, ...)", 0, 0, 0 },
	[P_TAG] = { "tag", "tag=%s", FK_TEXT, FF_JSON | FF_WIDE, "Program tag (hash of its instructions)", 0, 0, 0 },
	[P_DEPTH] = { "depth", "depth=%s", FK_GAUGE, FF_ALL,
		      "Longest chain of tail calls from an entry program to this program", 0, 0, 0 },
	[P_FLAGS] = { "flags", "!%s", FK_TEXT, FF_TABLE | FF_JSON | FF_LIST, "Findings: cycle, too_deep, ...", 0, 0, 0 },
	[P_FUNCS] = { "functions", "funcs=%s", FK_TEXT, FF_JSON | FF_WIDE | FF_LIST, "BPF functions of the program", 0, 0, 0 },
	[P_BYTES] = { "jited_bytes", "jited=%s", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
		      "Size of the program's JIT image in bytes", 0, 0, 0 },
	[P_SAMPLES] = { "samples", "samples=%s", FK_GAUGE, FF_ALL,
			"CPU samples that hit the program's JIT image during the interval", 0, 0, 0 },
	[P_CPU] = { "cpu_ratio", "cpu=%s%", FK_GAUGE, FF_ALL,
		    "Share of all CPU time (all CPUs) spent in the program during the interval, from samples (0-1)", 0.01, 2, 0 },
	[P_BPF] = { "bpf_ratio", "bpf=%s%", FK_GAUGE, FF_ALL,
		    "Share of the samples in BPF programs that hit this program (0-1)", 0.01, 1, 0 },
	[P_FSAMPLES] = { "function_samples", "func_samples=%s", FK_TEXT, FF_JSON | FF_WIDE | FF_LIST,
			 "Samples per BPF function, in the order of functions", 0, 0, 0 },
	[P_RUNCNT] = { "runs", "runs=%s", FK_GAUGE, FF_ALL,
		       "Runs the kernel dispatched during the interval (BPF_ENABLE_STATS; tail calls not counted)",
		       0, 0, 0 },
	[P_RUNTIME] = { "run_time_seconds", "run=%sms", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			"Time in the program during the interval, tail-called programs included (BPF_ENABLE_STATS)",
			1e-3, 3, 0 },
	[P_AVG] = { "avg_run_seconds", "avg=%sus", FK_GAUGE, FF_ALL, "Average time per dispatched run", 1e-6, 2, 0 },
	[P_ENTRIES] = { "entries", "entries=%s", FK_GAUGE, FF_ALL,
			"Entries counted with fentry during the interval, tail calls included", 0, 0, 0 },
};
static const struct schema prog_schema = { "tailcalls", "progs", pfields, PNF, NULL };

enum { M_ID, M_NAME, M_USED, M_MAX, M_EMPTY, M_FLAGS, MNF };
static const struct field mfields[MNF] = {
	[M_ID] = { "map_id", "prog_array %s", FK_LABEL, FF_ALL, HELP_MAP_ID, 0, 0, 0 },
	[M_NAME] = { "map_name", "%s", FK_LABEL, FF_ALL, HELP_MAP_NAME, 0, 0, 0 },
	[M_USED] = { "used_slots", "used=%s", FK_GAUGE, FF_ALL, "Populated slots", 0, 0, 0 },
	[M_MAX] = { "max_entries", "max=%s", FK_GAUGE, FF_ALL, "Slots", 0, 0, 0 },
	[M_EMPTY] = { "empty_slots", "empty=%s", FK_TEXT, FF_TABLE | FF_JSON | FF_LIST, "Empty slots that some program calls", 0, 0, 0 },
	[M_FLAGS] = { "flags", "!%s", FK_TEXT, FF_TABLE | FF_JSON | FF_LIST, "Findings about the array", 0, 0, 0 },
};
static const struct schema array_schema = { "tailcalls", "prog_arrays", mfields, MNF, NULL };

enum { E_TYPE, E_SLOT, E_CALLS, E_CALLS_TEXT, E_FLAGS, ENF };
static const struct field efields[ENF] = {
	[E_TYPE] = { "edge", "EDGE", FK_TEXT, FF_JSON, "attach, uses or slot", 0, 0, 0 },
	[E_SLOT] = { "slot", "[%s]", FK_LABEL, FF_JSON | FF_TABLE, "Prog array slot", 0, 0, 0 },
	[E_CALLS] = { "calls", "CALLS", FK_TEXT, FF_JSON, "Slots a program calls: a list, or null when not known", 0, 0, 0 },
	[E_CALLS_TEXT] = { "calls_text", "calls %s", FK_TEXT, FF_TABLE, NULL, 0, 0, 0 },
	[E_FLAGS] = { "flags", "!%s", FK_TEXT, FF_JSON | FF_TABLE | FF_LIST, "Findings about the edge", 0, 0, 0 },
};
enum { G_NETNS, G_UNREAD, G_SLOTS, G_SAMPLING, G_RUNSTATS, G_FENTRY, G_ENTRY, G_INTERVAL, G_S_ALL, G_S_USER,
       G_S_KERNEL, G_S_BPF, G_S_LOST, GNF };
static const struct field gfields[GNF] = {
	[G_NETNS] = { "netns_scanned", "", FK_GAUGE, 0, "Network namespaces searched for XDP and TC programs", 0, 0, 0 },
	[G_UNREAD] = { "prog_arrays_unread", "", FK_GAUGE, 0, "Prog arrays whose slots could not be read (see CAVEATS)", 0, 0, 0 },
	[G_SLOTS] = { "prog_array_slots", "", FK_LABEL, 0, "How prog array slots are read", 0, 0, 0 },
	[G_SAMPLING] = { "sampling", "", FK_LABEL, 0, "CPU sampling in use (-i)", 0, 0, 0 },
	[G_RUNSTATS] = { "run_stats", "", FK_LABEL, 0, "Source of run counts and run time", 0, 0, 0 },
	[G_FENTRY] = { "fentry_tail_call_entry", "", FK_LABEL, 0, "Whether fentry sees tail-call entries on this kernel", 0, 0, 0 },
	[G_ENTRY] = { "entry_counts", "", FK_LABEL, 0, "Source of entry counts: fentry or unavailable", 0, 0, 0 },
	[G_INTERVAL] = { "interval_seconds", "", FK_GAUGE, 0, "Length of the interval measured", 0, 0, 0 },
	[G_S_ALL] = { "samples_all", "", FK_GAUGE, 0, "CPU samples taken during the interval, all CPUs", 0, 0, 0 },
	[G_S_USER] = { "samples_user", "", FK_GAUGE, 0, "Samples in user space", 0, 0, 0 },
	[G_S_KERNEL] = { "samples_kernel", "", FK_GAUGE, 0, "Samples in the kernel outside BPF programs", 0, 0, 0 },
	[G_S_BPF] = { "samples_bpf", "", FK_GAUGE, 0, "Samples in the JIT image of some BPF program", 0, 0, 0 },
	[G_S_LOST] = { "samples_lost", "", FK_GAUGE, 0, "Samples not recorded during the interval: the address table was full", 0, 0, 0 },
};
static const struct schema graph_meta_schema = { "tailcalls", "graph", gfields, GNF, NULL };
static const struct schema edge_schema = { "tailcalls", "edges", efields, ENF, &graph_meta_schema };
OUT_REGISTER(&attach_schema, &prog_schema, &array_schema, &edge_schema);

enum { K_ATTACH, K_PROG, K_ARRAY };
static const struct graph_kind kinds[] = {
	[K_ATTACH] = { "attach", &attach_schema, "shape=ellipse, style=filled, fillcolor=lightyellow" },
	[K_PROG] = { "prog", &prog_schema, "shape=box, style=rounded" },
	[K_ARRAY] = { "prog_array", &array_schema, "shape=box3d" },
};

/* ---- the model: what the kernel has now ----------------------------- */

struct progrec {
	uint32_t id, type, jited_len;
	char tag[17];
	char name[64];
	char **funcs;
	int nfuncs;
	uint64_t run_cnt, run_time_ns;
};

struct arrayrec {
	uint32_t id;
	char name[16];
};

struct model {
	struct attachpt *ap;
	int nap, nnetns;
	struct tailgraph tg;
	struct progrec *pr; /* every program shown, ascending id */
	int npr;
	struct arrayrec *ar;
	int nar;
	struct ksyms ks;    /* JIT images of every program (profiling) */
	struct progrec *all; /* run stats of every program (profiling) */
	int nall;
	bool *sel_prog, *sel_array, *sel_ap; /* --prog selection, by index */
	int unknown_slots; /* prog arrays whose slots the iterator could not read */
};

/* Objects that are the tool's own. */
static uint32_t *own_progs, *own_maps;
static int nown_progs, nown_maps;

static bool has_id(const uint32_t *v, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static void add_id(uint32_t **v, int *n, uint32_t id)
{
	if (has_id(*v, *n, id))
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof(uint32_t));
	(*v)[(*n)++] = id;
}

static struct progrec *find_pr(struct progrec *v, int n, uint32_t id)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (v[mid].id == id)
			return &v[mid];
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static void model_free(struct model *m)
{
	free(m->ap);
	tg_free(&m->tg);
	for (int i = 0; i < m->npr; i++)
		ksyms_free_names(m->pr[i].funcs, m->pr[i].nfuncs);
	free(m->pr);
	free(m->ar);
	free(m->all);
	ksyms_clear(&m->ks);
	free(m->sel_prog);
	free(m->sel_array);
	free(m->sel_ap);
	memset(m, 0, sizeof(*m));
}

/* Translated instructions of a program: where its tail calls go. */
static void scan_prog(struct tg_prog *p, int fd, const struct bpf_prog_info *info)
{
	uint32_t len = info->xlated_prog_len;
	if (!len)
		return;
	struct bpf_insn *insns = xcalloc(1, len);
	struct bpf_prog_info xi;
	uint32_t ilen = sizeof(xi);
	memset(&xi, 0, sizeof(xi));
	xi.xlated_prog_len = len;
	xi.xlated_prog_insns = (uint64_t)(uintptr_t)insns;
	if (!bpf_obj_get_info_by_fd(fd, &xi, &ilen) && xi.xlated_prog_len <= len)
		tg_scan_insns(p, insns, (int)(xi.xlated_prog_len / sizeof(struct bpf_insn)));
	free(insns);
}

static void collect(struct model *m, bool profiling)
{
	uint32_t *pids = NULL;
	int np;

	memset(m, 0, sizeof(*m));
	/* every map, prog arrays with their slots, from the map iterator: a
	 * prog array is never opened by id (common/maplist.h says why) */
	struct maplist ml;
	int err = maplist_read(&ml);
	if (err)
		die(err == -EPERM || err == -EACCES ? EXIT_PERM : EXIT_NOFEATURE,
		    "cannot list BPF maps with a map iterator: %s", errno_name(-err));
	int nap = attachpts_collect(&ml, &m->ap, &m->nnetns);
	if (nap < 0)
		die(EXIT_FAIL, "cannot enumerate attach points: %s", errno_name(-nap));
	/* drop the tool's own (its sampling perf events, fentry counters) */
	for (int i = 0; i < nap; i++)
		if (!has_id(own_progs, nown_progs, m->ap[i].prog_id))
			m->ap[m->nap++] = m->ap[i];

	for (int i = 0; i < ml.n; i++) {
		const struct maplist_ent *e = &ml.v[i];
		if (e->type != BPF_MAP_TYPE_PROG_ARRAY || has_id(own_maps, nown_maps, e->id))
			continue;
		struct tg_array *a = tg_add_array(&m->tg, e->id, e->max_entries);
		for (uint32_t k = 0; k < e->nslots; k++)
			tg_array_add_slot(a, e->slots[k].slot, e->slots[k].prog);
		if (!e->slots_known)
			m->unknown_slots++;
		m->ar = xrealloc(m->ar, (m->nar + 1) * sizeof(*m->ar));
		m->ar[m->nar].id = e->id;
		memcpy(m->ar[m->nar].name, e->name, sizeof(m->ar[m->nar].name));
		m->nar++;
	}
	maplist_free(&ml);
	static bool told;
	if (!told)
		note("prog arrays: %s", maplist_mechanism());
	told = true;

	/* programs: attached ones, those using prog arrays, those in slots */
	np = bpfobj_ids(OBJ_PROG, &pids);
	if (np < 0)
		die(EXIT_FAIL, "cannot list BPF programs: %s", errno_name(-np));
	for (int i = 0; i < np; i++) {
		struct bpf_prog_info info;
		if (has_id(own_progs, nown_progs, pids[i]))
			continue;
		int fd = bpfobj_prog_open(pids[i], &info);
		if (fd < 0)
			continue;
		if (profiling) {
			ksyms_add_prog(&m->ks, fd);
			m->all = xrealloc(m->all, (m->nall + 1) * sizeof(*m->all));
			memset(&m->all[m->nall], 0, sizeof(*m->all));
			m->all[m->nall].id = info.id;
			m->all[m->nall].run_cnt = info.run_cnt;
			m->all[m->nall].run_time_ns = info.run_time_ns;
			m->nall++;
		}
		bool attached = false, in_slot = false;
		for (int k = 0; k < m->nap && !attached; k++)
			attached = m->ap[k].prog_id == info.id;
		for (int k = 0; k < m->tg.narrays && !in_slot; k++)
			for (int s = 0; s < m->tg.arrays[k].nslots && !in_slot; s++)
				in_slot = m->tg.arrays[k].slots[s].prog == info.id;
		uint32_t *used = NULL;
		int nused = bpfobj_prog_map_ids(fd, &used), narr = 0;
		for (int k = 0; k < nused; k++)
			narr += tg_array(&m->tg, used[k]) != NULL;
		if (attached || in_slot || narr) {
			struct tg_prog *p = tg_add_prog(&m->tg, info.id);
			p->attached = attached;
			for (int k = 0; k < nused; k++)
				if (tg_array(&m->tg, used[k]))
					tg_prog_add_array(p, used[k]);
			if (narr)
				scan_prog(p, fd, &info);
			m->pr = xrealloc(m->pr, (m->npr + 1) * sizeof(*m->pr));
			struct progrec *r = &m->pr[m->npr++];
			memset(r, 0, sizeof(*r));
			r->id = info.id;
			r->type = info.type;
			r->jited_len = info.jited_prog_len;
			r->run_cnt = info.run_cnt;
			r->run_time_ns = info.run_time_ns;
			for (int k = 0; k < 8; k++)
				snprintf(r->tag + 2 * k, 3, "%02x", info.tag[k]);
			r->nfuncs = ksyms_prog_func_names(fd, &r->funcs);
			if (r->nfuncs < 0)
				r->nfuncs = 0;
			snprintf(r->name, sizeof(r->name), "%s", r->nfuncs ? r->funcs[0] : info.name);
		}
		free(used);
		close(fd);
	}
	free(pids);
	ksyms_names_done();
	tg_analyze(&m->tg);
}

/* --prog: keep the connected parts of the graph holding those programs. */
static void select_parts(struct model *m)
{
	struct tailgraph *g = &m->tg;
	m->sel_prog = xcalloc(g->nprogs ? g->nprogs : 1, sizeof(bool));
	m->sel_array = xcalloc(g->narrays ? g->narrays : 1, sizeof(bool));
	m->sel_ap = xcalloc(m->nap ? m->nap : 1, sizeof(bool));
	if (!o.nids) {
		for (int i = 0; i < g->nprogs; i++)
			m->sel_prog[i] = true;
		for (int i = 0; i < g->narrays; i++)
			m->sel_array[i] = true;
		for (int i = 0; i < m->nap; i++)
			m->sel_ap[i] = true;
		return;
	}
	for (int i = 0; i < g->nprogs; i++)
		m->sel_prog[i] = has_id(o.ids, o.nids, g->progs[i].id);
	for (bool changed = true; changed;) {
		changed = false;
		for (int a = 0; a < g->narrays; a++) {
			struct tg_array *arr = &g->arrays[a];
			bool touch = m->sel_array[a];
			for (int s = 0; s < arr->nslots && !touch; s++) {
				struct tg_prog *q = tg_prog(g, arr->slots[s].prog);
				touch = q && m->sel_prog[q - g->progs];
			}
			for (int p = 0; p < g->nprogs && !touch; p++)
				touch = m->sel_prog[p] && has_id(g->progs[p].arrays, g->progs[p].narrays, arr->id);
			if (!touch)
				continue;
			if (!m->sel_array[a])
				changed = m->sel_array[a] = true;
			for (int s = 0; s < arr->nslots; s++) {
				struct tg_prog *q = tg_prog(g, arr->slots[s].prog);
				if (q && !m->sel_prog[q - g->progs])
					changed = m->sel_prog[q - g->progs] = true;
			}
			for (int p = 0; p < g->nprogs; p++)
				if (!m->sel_prog[p] && has_id(g->progs[p].arrays, g->progs[p].narrays, arr->id))
					changed = m->sel_prog[p] = true;
		}
	}
	for (int i = 0; i < m->nap; i++) {
		struct tg_prog *p = tg_prog(g, m->ap[i].prog_id);
		m->sel_ap[i] = p && m->sel_prog[p - g->progs];
	}
}

/* The --prog ids must name programs that take part in tail calls. */
static void check_selection(const struct model *m)
{
	for (int i = 0; i < o.nids; i++) {
		struct bpf_prog_info info;
		int fd = bpfobj_prog_open(o.ids[i], &info);
		if (fd < 0)
			die(EXIT_NOTFOUND, "no BPF program with id %u (list them with: bpftool prog show)", o.ids[i]);
		close(fd);
		struct tg_prog *p = tg_prog(&m->tg, o.ids[i]);
		if (!p || (!p->narrays && !p->in_slot))
			die(EXIT_NOTFOUND, "program %u (%s) has no tail calls: it uses no prog array and no prog array "
			    "holds it", o.ids[i], info.name);
	}
}

/* ---- profile --------------------------------------------------------- */

struct hit {
	uint32_t prog, func;
	uint64_t n;
};

struct profile {
	struct hit *hits;     /* samples per program function */
	int nhits;
	uint64_t total, user, kernel, in_range, lost; /* sample counters (interval) */
	uint64_t in_progs;    /* samples attributed to some program */
	double seconds;       /* length of the interval */
	struct hit *entries;  /* fentry entry counts per program (interval) */
	int nentries;
	bool valid;
};

static struct tailcalls_bpf *skel;
static int ncpus;
static int stats_fd = -1;    /* ours, with --run-stats */
static bool stats_on;         /* run_cnt/run_time_ns are being counted */
static const char *stats_note;
static char fentry_verdict[160];
static bool fentry_fires;

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

/* Every entry of a hash map with u64 keys and u64 (or per-CPU u64) values,
 * in batches; with del, the entries read are removed.  Kernels without batch
 * operations (before 5.6) fall back to a key walk.  Returns the number of
 * entries or -errno. */
static int hash_read(int fd, bool del, int nvals, void (*fn)(uint64_t key, const uint64_t *vals, void *ctx),
		     void *ctx)
{
	enum { BATCH = 256 };
	uint64_t *keys = xcalloc(BATCH, sizeof(uint64_t));
	uint64_t *vals = xcalloc((size_t)BATCH * nvals, sizeof(uint64_t));
	uint64_t token = 0;
	int n = 0, err = 0;
	bool first = true;

	for (;;) {
		uint32_t count = BATCH;
		err = del ? bpf_map_lookup_and_delete_batch(fd, first ? NULL : &token, &token, keys, vals, &count, NULL)
			  : bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			break;
		for (uint32_t i = 0; i < count; i++)
			fn(keys[i], vals + (size_t)i * nvals, ctx);
		n += (int)count;
		if (err) { /* ENOENT: that was the last batch */
			err = 0;
			goto out;
		}
		first = false;
	}
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
		err = -errno;
		goto out;
	}
	/* no batch operations: walk the keys (0 is never a key: it finds the first) */
	uint64_t key = 0, next;
	err = 0;
	while (!bpf_map_get_next_key(fd, &key, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, vals)) {
			fn(next, vals, ctx);
			n++;
		}
		if (del)
			bpf_map_delete_elem(fd, &next);
		else
			key = next;
	}
out:
	free(keys);
	free(vals);
	return err ? err : n;
}

struct attrib {
	struct profile *pf;
	struct ksyms *ks;
	bool entries;
};

static void attribute(uint64_t ip, const uint64_t *vals, void *ctx)
{
	struct attrib *a = ctx;
	uint64_t sum = 0;
	for (int c = 0; c < (a->entries ? 1 : ncpus); c++)
		sum += vals[c];
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
	int n = hash_read(bpf_map__fd(skel->maps.ip_samples), true, ncpus, attribute, &a);
	if (n < 0)
		die(EXIT_FAIL, "cannot read the sampled addresses: %s", errno_name(-n));
}

static uint64_t prev_stats[TC_NR_STATS];

static void read_stats(struct profile *pf)
{
	int fd = bpf_map__fd(skel->maps.sample_stats);
	uint64_t *vals = xcalloc(ncpus, sizeof(uint64_t)), now[TC_NR_STATS];
	for (uint32_t k = 0; k < TC_NR_STATS; k++) {
		now[k] = 0;
		if (!bpf_map_lookup_elem(fd, &k, vals))
			for (int c = 0; c < ncpus; c++)
				now[k] += vals[c];
	}
	free(vals);
	pf->total = now[TC_ST_TOTAL] - prev_stats[TC_ST_TOTAL];
	pf->user = now[TC_ST_USER] - prev_stats[TC_ST_USER];
	pf->kernel = now[TC_ST_KERNEL] - prev_stats[TC_ST_KERNEL];
	pf->in_range = now[TC_ST_RANGE] - prev_stats[TC_ST_RANGE];
	pf->lost = now[TC_ST_LOST] - prev_stats[TC_ST_LOST];
	memcpy(prev_stats, now, sizeof(now));
}

/* ---- fentry entry counters ------------------------------------------- */

struct counter {
	struct bpf_object *obj;
	struct bpf_link *link;
	uint32_t prog_id; /* the counting program */
	uint32_t target;  /* the counted program */
};

/* Load count_entry from a second copy of the object, aimed at target_fd's
 * function `func`, sharing entry_counts.  Returns 0 or -errno. */
static int counter_attach(struct counter *c, int target_fd, const char *func)
{
	size_t sz;
	const void *elf = tailcalls_bpf__elf_bytes(&sz);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "tailcalls_cnt");
	struct bpf_program *p, *cnt = NULL;
	struct bpf_map *mp;
	int err;

	memset(c, 0, sizeof(*c));
	c->obj = bpf_object__open_mem(elf, sz, &oo);
	if (!c->obj)
		return -errno;
	bpf_object__for_each_program(p, c->obj) {
		bool me = !strcmp(bpf_program__name(p), "count_entry");
		bpf_program__set_autoload(p, me);
		if (me)
			cnt = p;
	}
	bpf_object__for_each_map(mp, c->obj) {
		if (!strcmp(bpf_map__name(mp), "entry_counts"))
			err = bpf_map__reuse_fd(mp, bpf_map__fd(skel->maps.entry_counts));
		else
			err = bpf_map__set_autocreate(mp, false);
		if (err)
			goto fail;
	}
	err = bpf_program__set_attach_target(cnt, target_fd, func);
	if (!err)
		err = bpf_object__load(c->obj);
	if (err)
		goto fail;
	c->link = bpf_program__attach(cnt);
	if (!c->link) {
		err = -errno;
		goto fail;
	}
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(cnt), &info, &len))
		c->prog_id = info.id;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (!bpf_obj_get_info_by_fd(target_fd, &info, &len))
		c->target = info.id;
	add_id(&own_progs, &nown_progs, c->prog_id);
	return 0;
fail:
	bpf_object__close(c->obj);
	c->obj = NULL;
	return err < 0 ? err : -EINVAL;
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
	int n = hash_read(bpf_map__fd(skel->maps.entry_counts), false, 1, attribute, &a);
	if (n < 0)
		die(EXIT_FAIL, "cannot read the entry counters: %s", errno_name(-n));
	for (int i = 0; i < now.nentries; i++) {
		uint64_t before = 0;
		for (int k = 0; k < nprev; k++)
			if (prev[k].prog == now.entries[i].prog)
				before = prev[k].n;
		add_hit(&pf->entries, &pf->nentries, now.entries[i].prog, 0,
			now.entries[i].n >= before ? now.entries[i].n - before : 0);
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
	err = counter_attach(&c1, caller, "selftest_caller");
	if (!err)
		err = counter_attach(&c2, callee, "selftest_callee");
	if (err) {
		if (c1.obj)
			counter_detach(&c1);
		snprintf(fentry_verdict, sizeof(fentry_verdict),
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
		snprintf(fentry_verdict, sizeof(fentry_verdict),
			 "fentry unavailable: the self-test chain did not run (%s, return %u)",
			 err ? errno_name(errno) : "ok", t.retval);
	else if (n_caller != RUNS)
		snprintf(fentry_verdict, sizeof(fentry_verdict),
			 "fentry unavailable: it fired %" PRIu64 " times for %d direct runs", n_caller, RUNS);
	else if (n_callee == RUNS)
		snprintf(fentry_verdict, sizeof(fentry_verdict), "fires");
	else if (n_callee == 0)
		snprintf(fentry_verdict, sizeof(fentry_verdict), "does not fire");
	else
		snprintf(fentry_verdict, sizeof(fentry_verdict), "fires partly (%" PRIu64 " of %d)", n_callee, RUNS);
	fentry_fires = !strcmp(fentry_verdict, "fires");
	/* forget the self-test */
	hash_read(bpf_map__fd(skel->maps.entry_counts), true, 1, ignore, NULL);
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
		const struct progrec *r = find_pr(m->pr, m->npr, p->id);
		if (done || !r || !r->nfuncs || ncounters >= TC_ENTRY_SLOTS)
			continue;
		struct bpf_prog_info info;
		int fd = bpfobj_prog_open(p->id, &info);
		if (fd < 0)
			continue;
		counters = xrealloc(counters, (ncounters + 1) * sizeof(*counters));
		int err = counter_attach(&counters[ncounters], fd, r->funcs[0]);
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
		attr.sample_freq = o.freq;
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue;
			if (errno == EACCES || errno == EPERM)
				die(EXIT_PERM, "cannot open perf events: %s (needs CAP_PERFMON or root)", errno_name(errno));
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

/* ---- rendering ----------------------------------------------------------- */

static void list_empty_u64(struct record *r, int idx)
{
	rec_none(r, idx);
	struct value *v = (struct value *)rec_get(r, idx);
	v->t = V_U64LIST; /* an empty list: [] */
}

static void node_id(char *buf, size_t len, char kind, uint32_t id)
{
	snprintf(buf, len, kind == 'p' ? "prog:%u" : "map:%u", id);
}

static void add_prog_node(struct graph *g, const struct model *m, const struct tg_prog *p,
			  const struct profile *pf, const struct model *prev)
{
	char id[32];
	const struct progrec *r = find_pr(m->pr, m->npr, p->id);
	node_id(id, sizeof(id), 'p', p->id);
	if (graph_find(g, id))
		return;
	struct record *n = graph_node(g, K_PROG, id);
	rec_u64(n, P_ID, p->id);
	if (r) {
		rec_str(n, P_NAME, r->name);
		rec_str(n, P_TYPE, prog_type_name(r->type));
		rec_str(n, P_TAG, r->tag);
		rec_u64(n, P_BYTES, r->jited_len);
		for (int k = 0; k < r->nfuncs; k++)
			rec_list_str(n, P_FUNCS, r->funcs[k]);
	}
	rec_u64(n, P_DEPTH, p->depth);
	if (p->cycle)
		rec_list_str(n, P_FLAGS, "cycle");
	if (p->too_deep)
		rec_list_str(n, P_FLAGS, "too_deep");
	if (p->tail_only)
		rec_list_str(n, P_FLAGS, "tail_call_only");
	if (p->cycle || p->too_deep)
		graph_node_alert(g, id);
	if (!pf || !pf->valid)
		return;
	uint64_t samples = 0;
	int nf = r ? r->nfuncs : 1;
	uint64_t *fs = xcalloc(nf ? nf : 1, sizeof(uint64_t));
	for (int k = 0; k < pf->nhits; k++) {
		if (pf->hits[k].prog != p->id)
			continue;
		samples += pf->hits[k].n;
		if ((int)pf->hits[k].func < nf)
			fs[pf->hits[k].func] += pf->hits[k].n;
	}
	rec_u64(n, P_SAMPLES, samples);
	rec_dbl(n, P_CPU, pf->total ? (double)samples / pf->total : 0);
	rec_dbl(n, P_BPF, pf->in_progs ? (double)samples / pf->in_progs : 0);
	for (int k = 0; r && k < nf; k++)
		rec_list_u64(n, P_FSAMPLES, fs[k]);
	free(fs);
	if (stats_on && r && prev) {
		const struct progrec *b = find_pr(prev->all, prev->nall, p->id);
		const struct progrec *a = find_pr(m->all, m->nall, p->id);
		if (a && b) {
			uint64_t cnt = a->run_cnt - b->run_cnt, ns = a->run_time_ns - b->run_time_ns;
			rec_u64(n, P_RUNCNT, cnt);
			rec_dbl(n, P_RUNTIME, ns / 1e9);
			if (cnt)
				rec_dbl(n, P_AVG, ns / 1e9 / cnt);
		}
	}
	if (fentry_fires) {
		for (int k = 0; k < ncounters; k++) {
			if (counters[k].target != p->id)
				continue;
			uint64_t e = 0;
			for (int q = 0; q < pf->nentries; q++)
				if (pf->entries[q].prog == p->id)
					e = pf->entries[q].n;
			rec_u64(n, P_ENTRIES, e);
		}
	}
}

static int emit(const struct model *m, const struct profile *pf, const struct model *prev)
{
	const struct tailgraph *tg = &m->tg;
	struct graph *g = graph_begin("tailcalls", kinds, 3, &edge_schema, &graph_meta_schema);
	char a[160], b[32];

	graph_meta_num(g, "netns_scanned", m->nnetns);
	graph_meta(g, "prog_array_slots", "%s", maplist_mechanism());
	graph_meta_num(g, "prog_arrays_unread", m->unknown_slots);
	if (pf && pf->valid) {
		graph_meta(g, "sampling", "perf_event cpu-clock at %u Hz on %d CPUs, JIT image attribution",
			   o.freq, nperf);
		graph_meta(g, "run_stats", "%s", stats_note);
		graph_meta(g, "fentry_tail_call_entry", "%s", fentry_verdict);
		graph_meta(g, "entry_counts", "%s", fentry_fires ? "fentry" : "unavailable");
		graph_meta_num(g, "interval_seconds", pf->seconds);
		graph_meta_num(g, "samples_all", (double)pf->total);
		graph_meta_num(g, "samples_user", (double)pf->user);
		graph_meta_num(g, "samples_kernel", (double)pf->kernel + (double)pf->in_range - (double)pf->in_progs);
		graph_meta_num(g, "samples_bpf", (double)pf->in_progs);
		graph_meta_num(g, "samples_lost", (double)pf->lost);
	}

	/* attach points and what they run */
	for (int i = 0; i < m->nap; i++) {
		const struct attachpt *ap = &m->ap[i];
		if (!m->sel_ap[i])
			continue;
		struct record *n = graph_node(g, K_ATTACH, ap->id);
		rec_str(n, A_HOOK, ap->hook);
		rec_str(n, A_TARGET, ap->target);
		if (*ap->detail)
			rec_str(n, A_DETAIL, ap->detail);
		if (*ap->netns || ap->netns_ino) {
			rec_str(n, A_NETNS, ap->netns);
			rec_u64(n, A_NETNS_INO, ap->netns_ino);
		}
		if (ap->ifindex)
			rec_u64(n, A_IFINDEX, (uint64_t)ap->ifindex);
		rec_u64(n, A_PROG, ap->prog_id);
		if (ap->link_id)
			rec_u64(n, A_LINK, ap->link_id);
		if (ap->pid)
			rec_u64(n, A_PID, (uint64_t)ap->pid);
		const struct tg_prog *p = tg_prog(tg, ap->prog_id);
		if (!p)
			continue;
		add_prog_node(g, m, p, pf, prev);
		node_id(b, sizeof(b), 'p', p->id);
		struct record *e = graph_edge(g, ap->id, b, false);
		rec_str(e, E_TYPE, "attach");
	}
	/* programs, then the prog arrays they use and their slots */
	for (int i = 0; i < tg->nprogs; i++)
		if (m->sel_prog[i])
			add_prog_node(g, m, &tg->progs[i], pf, prev);
	for (int i = 0; i < tg->narrays; i++) {
		const struct tg_array *arr = &tg->arrays[i];
		if (!m->sel_array[i])
			continue;
		node_id(a, sizeof(a), 'm', arr->id);
		struct record *n = graph_node(g, K_ARRAY, a);
		rec_u64(n, M_ID, arr->id);
		for (int k = 0; k < m->nar; k++)
			if (m->ar[k].id == arr->id)
				rec_str(n, M_NAME, m->ar[k].name);
		rec_u64(n, M_USED, arr->nslots);
		rec_u64(n, M_MAX, arr->max_entries);
		for (int k = 0; k < arr->ngaps; k++)
			rec_list_u64(n, M_EMPTY, arr->gaps[k]);
		if (arr->ngaps)
			rec_list_str(n, M_FLAGS, "empty_slots");
		if (!arr->used)
			rec_list_str(n, M_FLAGS, "unused");
		if (arr->ngaps || !arr->used)
			graph_node_alert(g, a);
	}
	for (int i = 0; i < tg->nprogs; i++) {
		const struct tg_prog *p = &tg->progs[i];
		if (!m->sel_prog[i])
			continue;
		node_id(b, sizeof(b), 'p', p->id);
		for (int k = 0; k < p->narrays; k++) {
			const struct tg_array *arr = tg_array(tg, p->arrays[k]);
			bool cyc = false;
			for (int s = 0; arr && s < arr->nslots; s++) {
				const struct tg_prog *q = tg_prog(tg, arr->slots[s].prog);
				cyc |= q && q->cycle && q->scc == p->scc && tg_calls_slot(p, arr->id, arr->slots[s].slot);
			}
			node_id(a, sizeof(a), 'm', p->arrays[k]);
			struct record *e = graph_edge(g, b, a, cyc);
			if (!e)
				continue;
			rec_str(e, E_TYPE, "uses");
			uint32_t *slots;
			int ns;
			char txt[128] = "";
			size_t tl = 0;
			if (tg_call_slots(p, p->arrays[k], &slots, &ns)) {
				list_empty_u64(e, E_CALLS);
				for (int s = 0; s < ns; s++) {
					rec_list_u64(e, E_CALLS, slots[s]);
					if (tl < sizeof(txt))
						tl += snprintf(txt + tl, sizeof(txt) - tl, "%s%u", s ? "," : "", slots[s]);
				}
				rec_str(e, E_CALLS_TEXT, ns ? txt : "none");
				free(slots);
			} else {
				rec_str(e, E_CALLS_TEXT, "any");
			}
			if (cyc)
				rec_list_str(e, E_FLAGS, "cycle");
		}
	}
	for (int i = 0; i < tg->narrays; i++) {
		const struct tg_array *arr = &tg->arrays[i];
		if (!m->sel_array[i])
			continue;
		node_id(a, sizeof(a), 'm', arr->id);
		for (int s = 0; s < arr->nslots; s++) {
			const struct tg_prog *q = tg_prog(tg, arr->slots[s].prog);
			if (!q)
				continue;
			bool cyc = false;
			for (int k = 0; q->cycle && k < tg->nprogs && !cyc; k++)
				cyc = tg->progs[k].scc == q->scc && tg_calls_slot(&tg->progs[k], arr->id, arr->slots[s].slot);
			node_id(b, sizeof(b), 'p', q->id);
			struct record *e = graph_edge(g, a, b, cyc);
			if (!e)
				continue;
			rec_str(e, E_TYPE, "slot");
			rec_u64(e, E_SLOT, arr->slots[s].slot);
			if (cyc)
				rec_list_str(e, E_FLAGS, "cycle");
		}
	}
	return graph_end(g);
}

/* ---- main -------------------------------------------------------------------- */

/* Run statistics cost every BPF program on the machine two clock reads per
 * run, so they are turned on only when asked; if someone else already turned
 * them on, they are free to read. */
static void set_run_stats(void)
{
	unsigned on = 0;
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	if (f) {
		if (fscanf(f, "%u", &on) != 1)
			on = 0;
		fclose(f);
	}
	if (o.run_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd >= 0) {
			stats_on = true;
			stats_note = "bpf_enable_stats";
			return;
		}
		stats_note = errno == EINVAL ? "unavailable: kernel lacks BPF_ENABLE_STATS (Linux 5.8+)"
					     : "unavailable: BPF_ENABLE_STATS refused";
		note("run_cnt/run_time_seconds: %s (%s)", stats_note, errno_name(errno));
	} else if (on) {
		stats_on = true;
		stats_note = "kernel.bpf_stats_enabled (already on)";
	} else {
		stats_note = "off (--run-stats turns them on, at a cost to every BPF program)";
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
			add_id(&own_progs, &nown_progs, info.id);
	}
	bpf_object__for_each_map(mp, skel->obj) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_map__fd(mp) >= 0 && !bpf_obj_get_info_by_fd(bpf_map__fd(mp), &info, &len))
			add_id(&own_maps, &nown_maps, info.id);
	}
}

int main(int argc, char **argv)
{
	struct model cur, prev;
	int err;

	copts.allow_dot = true;
	opts_parse(&argp, argc, argv, NULL);
	bool profiling = copts.interval_set || copts.count > 1;
	if (o.freq_set && !profiling)
		die(EXIT_USAGE, "--frequency needs an interval: tailcalls -i SEC -F HZ (see --help)");
	if (o.run_stats && !profiling)
		die(EXIT_USAGE, "--run-stats needs an interval: tailcalls -i SEC --run-stats (see --help)");
	require_bpf_privileges();
	probe_require_btf();
	for (int i = 0; i < o.nids; i++) {
		struct bpf_prog_info info;
		int fd = bpfobj_prog_open(o.ids[i], &info);
		if (fd < 0)
			die(EXIT_NOTFOUND, "no BPF program with id %u (list them with: bpftool prog show)", o.ids[i]);
		close(fd);
	}

	if (profiling) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus <= 0)
			die(EXIT_FAIL, "cannot count CPUs: %s", errno_name(-ncpus));
		skel = tailcalls_bpf__open();
		if (!skel)
			die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
		/* count_entry is loaded per target, from separate copies */
		bpf_program__set_autoload(skel->progs.count_entry, false);
		err = tailcalls_bpf__load(skel);
		if (err)
			die_bpf_load(err);
		own_objects();
		selftest();
		note("fentry on tail-call entry: %s", fentry_verdict);
		set_run_stats();
	}
	if (!profiling) {
		for (int i = P_SAMPLES; i <= P_ENTRIES; i++)
			pfields[i].flags = 0;
	} else {
		if (!stats_on)
			pfields[P_RUNCNT].flags = pfields[P_RUNTIME].flags = pfields[P_AVG].flags = 0;
		if (!fentry_fires)
			pfields[P_ENTRIES].flags = 0;
	}

	loop_init();
	collect(&cur, profiling);
	check_selection(&cur);
	select_parts(&cur);
	if (!profiling) {
		err = emit(&cur, NULL, NULL);
		model_free(&cur);
		free(o.ids);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		return EXIT_OK;
	}

	if (fentry_fires)
		attach_entry_counters(&cur);
	set_range(&cur.ks);
	start_sampling();
	note("sampling started: cpu-clock at %u Hz on %d CPUs", o.freq, nperf);
	struct profile base = { 0 };
	read_stats(&base);
	if (fentry_fires)
		read_entries(&base, &cur.ks);
	free(base.entries);

	struct ticker t;
	ticker_start(&t, copts.interval, copts.count);
	double started = now_mono();
	for (;;) {
		double dt;
		bool last = !ticker_wait(&t, NULL, NULL, &dt);
		/* SIGINT/SIGTERM: the interval so far is printed too */
		if (last && !loop_stopping())
			break;
		struct profile pf = { .valid = true };
		pf.seconds = now_mono() - started;
		started = now_mono();
		prev = cur;
		read_stats(&pf);
		drain_samples(&pf, &prev.ks);
		collect(&cur, true);
		select_parts(&cur);
		if (fentry_fires)
			read_entries(&pf, &cur.ks);
		set_range(&cur.ks);
		err = emit(&cur, &pf, &prev);
		model_free(&prev);
		free(pf.hits);
		free(pf.entries);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		if (last || !ticker_tick(&t))
			break;
	}
	stop_sampling();
	for (int i = 0; i < ncounters; i++)
		counter_detach(&counters[i]);
	free(counters);
	if (stats_fd >= 0)
		close(stats_fd); /* the kernel stops collecting run stats unless others asked */
	model_free(&cur);
	tailcalls_bpf__destroy(skel);
	free(own_progs);
	free(own_maps);
	free(o.ids);
	return EXIT_OK;
}
