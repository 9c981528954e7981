// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "maplist.h"
#include "util.h"
#include "model.h"

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

void model_own_prog(uint32_t id)
{
	add_id(&own_progs, &nown_progs, id);
}

void model_own_map(uint32_t id)
{
	add_id(&own_maps, &nown_maps, id);
}

void model_own_free(void)
{
	free(own_progs);
	free(own_maps);
	own_progs = own_maps = NULL;
	nown_progs = nown_maps = 0;
}

const struct progrec *model_find(const struct progrec *v, int n, uint32_t id)
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

void model_free(struct model *m)
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

void model_collect(struct model *m, bool profiling)
{
	uint32_t *pids = NULL;
	int np;

	memset(m, 0, sizeof(*m));
	/* every map, prog arrays with their slots, from the map iterator: a
	 * prog array is never opened by id (common/maplist.h says why) */
	struct maplist ml;
	int err = maplist_read(&ml);
	if (err == -ENOTSUP || err == -EOPNOTSUPP)
		die(EXIT_NOFEATURE, "kernel lacks BPF map iterators (iter/bpf_map, Linux 5.8+): %s", errno_name(-err));
	if (err)
		die_errno(err, NULL, "cannot list BPF maps with a map iterator");
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
		die_errno(np, NEED_LIST, "cannot list BPF programs");
	for (int i = 0; i < np; i++) {
		struct bpf_prog_info info;
		if (has_id(own_progs, nown_progs, pids[i]))
			continue;
		int fd = bpfobj_prog_open(pids[i], &info);
		if (fd == -ENOENT)
			continue; /* unloaded meanwhile */
		if (fd < 0)
			die_errno(fd, NEED_LIST, "cannot open BPF program %u", pids[i]);
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

void model_select(struct model *m, const uint32_t *ids, int nids)
{
	struct tailgraph *g = &m->tg;
	m->sel_prog = xcalloc(g->nprogs ? g->nprogs : 1, sizeof(bool));
	m->sel_array = xcalloc(g->narrays ? g->narrays : 1, sizeof(bool));
	m->sel_ap = xcalloc(m->nap ? m->nap : 1, sizeof(bool));
	if (!nids) {
		for (int i = 0; i < g->nprogs; i++)
			m->sel_prog[i] = true;
		for (int i = 0; i < g->narrays; i++)
			m->sel_array[i] = true;
		for (int i = 0; i < m->nap; i++)
			m->sel_ap[i] = true;
		return;
	}
	for (int i = 0; i < g->nprogs; i++)
		m->sel_prog[i] = has_id(ids, nids, g->progs[i].id);
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

int model_prog_open(uint32_t id, struct bpf_prog_info *info)
{
	int fd = bpfobj_prog_open(id, info);
	if (fd == -ENOENT)
		die(EXIT_NOTFOUND, "no BPF program with id %u (list them with: bpftool prog show)", id);
	if (fd < 0)
		die_errno(fd, NEED_LIST, "cannot open BPF program %u", id);
	return fd;
}

void model_check_selection(const struct model *m, const uint32_t *ids, int nids)
{
	for (int i = 0; i < nids; i++) {
		struct bpf_prog_info info;
		close(model_prog_open(ids[i], &info));
		struct tg_prog *p = tg_prog(&m->tg, ids[i]);
		if (!p || (!p->narrays && !p->in_slot))
			die(EXIT_NOTFOUND, "program %u (%s) has no tail calls: it uses no prog array and no prog array "
			    "holds it", ids[i], info.name);
	}
}