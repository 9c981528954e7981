// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tailcalls: what does my tail-call pipeline look like, which slots are
 * empty or cyclic, and where does its CPU time go, tail-called programs
 * included?
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfobj.h"
#include "graph.h"
#include "maplist.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "model.h"
#include "profile.h"

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
	const struct progrec *r = model_find(m->pr, m->npr, p->id);
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
	if (prof.stats_on && r && prev) {
		const struct progrec *b = model_find(prev->all, prev->nall, p->id);
		const struct progrec *a = model_find(m->all, m->nall, p->id);
		if (a && b) {
			uint64_t cnt = a->run_cnt - b->run_cnt, ns = a->run_time_ns - b->run_time_ns;
			rec_u64(n, P_RUNCNT, cnt);
			rec_dbl(n, P_RUNTIME, ns / 1e9);
			if (cnt)
				rec_dbl(n, P_AVG, ns / 1e9 / cnt);
		}
	}
	if (prof.fentry_fires && prof_counts(p->id)) {
		uint64_t e = 0;
		for (int q = 0; q < pf->nentries; q++)
			if (pf->entries[q].prog == p->id)
				e = pf->entries[q].n;
		rec_u64(n, P_ENTRIES, e);
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
			   prof.freq, prof.ncpus);
		graph_meta(g, "run_stats", "%s", prof.stats_note);
		graph_meta(g, "fentry_tail_call_entry", "%s", prof.fentry_verdict);
		graph_meta(g, "entry_counts", "%s", prof.fentry_fires ? "fentry" : "unavailable");
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
		if (ap->prog_id) /* 0: an LWT route whose program is unknown or ambiguous */
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

/* One profiled interval: the samples of the model they were taken in, the
 * model now (*ctx), drawn with both. */
static int interval_done(void *ctx, double dt)
{
	struct model *cur = ctx, prev = *cur;
	struct profile pf = { .valid = true, .seconds = dt };

	prof_read_samples(&pf, &prev.ks);
	model_collect(cur, true);
	model_select(cur, o.ids, o.nids);
	prof_read_entries(&pf, &cur->ks);
	int err = emit(cur, &pf, &prev);
	model_free(&prev);
	prof_free(&pf);
	return err;
}

int main(int argc, char **argv)
{
	struct model cur;
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
	/* every program is listed and opened by id: CAP_SYS_ADMIN's alone */
	uint32_t *ids = NULL;
	int n = bpfobj_ids(OBJ_PROG, &ids);
	free(ids);
	if (n < 0)
		die_errno(n, NEED_LIST, "cannot list BPF programs");
	for (int i = 0; i < o.nids; i++) {
		struct bpf_prog_info info;
		close(model_prog_open(o.ids[i], &info));
	}

	if (profiling)
		prof_init(o.freq, o.run_stats);
	if (!profiling) {
		for (int i = P_SAMPLES; i <= P_ENTRIES; i++)
			pfields[i].flags = 0;
	} else {
		if (!prof.stats_on)
			pfields[P_RUNCNT].flags = pfields[P_RUNTIME].flags = pfields[P_AVG].flags = 0;
		if (!prof.fentry_fires)
			pfields[P_ENTRIES].flags = 0;
	}

	model_collect(&cur, profiling);
	model_check_selection(&cur, o.ids, o.nids);
	model_select(&cur, o.ids, o.nids);
	if (!profiling) {
		err = emit(&cur, NULL, NULL);
	} else {
		prof_start(&cur);
		/* SIGINT/SIGTERM: the interval so far is printed too */
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, &cur);
		prof_stop();
	}
	model_free(&cur);
	model_own_free();
	free(o.ids);
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	return EXIT_OK;
}
