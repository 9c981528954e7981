// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "maplist.h"
#include "probe.h"
#include "util.h"
#include "maplist.skel.h"
#include "../bpf/maplist.h"

static struct maplist_bpf *skel;
static struct bpf_program *iter;
static bool walking;
static uint32_t iter_id;

static int load_one(bool walk)
{
	skel = maplist_bpf__open();
	if (!skel)
		return -errno;
	bpf_program__set_autoload(skel->progs.maplist_iter, walk);
	bpf_program__set_autoload(skel->progs.maplist_flat, !walk);
	bpf_program__set_autoload(skel->progs.owners_scan, probe_iter("task_file"));
	int err = maplist_bpf__load(skel);
	if (err) {
		maplist_bpf__destroy(skel);
		skel = NULL;
		return err;
	}
	iter = walk ? skel->progs.maplist_iter : skel->progs.maplist_flat;
	walking = walk;
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(iter), &info, &len))
		iter_id = info.id;
	return 0;
}

static int load(void)
{
	if (skel)
		return 0;
	/* bpf_loop (5.17) walks the slots; without it, the maps alone */
	int err = load_one(true);
	if (err)
		err = load_one(false);
	if (!err)
		atexit(maplist_close);
	return err;
}

void maplist_close(void)
{
	maplist_bpf__destroy(skel);
	skel = NULL;
	iter = NULL;
	iter_id = 0;
}

const char *maplist_mechanism(void)
{
	return walking ? "iter/bpf_map + bpf_loop" : "iter/bpf_map (no bpf_loop: prog-array slots unknown)";
}

uint32_t maplist_prog_id(void)
{
	return iter_id;
}

struct acc {
	struct maplist *l;
	int cap;
};

static struct maplist_ent *find_mut(struct maplist *l, uint32_t id)
{
	/* slot records follow their map's record: look from the end */
	for (int i = l->n - 1; i >= 0; i--)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

static void take(const void *p, void *ctx)
{
	struct acc *a = ctx;
	struct maplist_rec r;
	memcpy(&r, p, sizeof(r));
	if (r.kind == ML_MAP) {
		if (a->l->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 64;
			a->l->v = xrealloc(a->l->v, a->cap * sizeof(*a->l->v));
		}
		struct maplist_ent *e = &a->l->v[a->l->n++];
		memset(e, 0, sizeof(*e));
		e->id = r.id;
		e->type = r.type;
		e->key_size = r.key_size;
		e->value_size = r.value_size;
		e->max_entries = r.max_entries;
		e->flags = r.flags;
		memcpy(e->name, r.name, sizeof(e->name));
		e->name[sizeof(e->name) - 1] = '\0';
		e->slots_known = r.type == BPF_MAP_TYPE_PROG_ARRAY && r.walked == r.max_entries;
	} else if (r.kind == ML_SLOT) {
		struct maplist_ent *e = find_mut(a->l, r.id);
		if (!e)
			return;
		e->slots = xrealloc(e->slots, (e->nslots + 1) * sizeof(*e->slots));
		e->slots[e->nslots].slot = r.slot;
		e->slots[e->nslots].prog = r.prog_id;
		e->nslots++;
	}
}

static int by_id(const void *a, const void *b)
{
	const struct maplist_ent *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int maplist_read(struct maplist *l)
{
	memset(l, 0, sizeof(*l));
	int err = load();
	if (err)
		return err;
	struct acc a = { l, 0 };
	err = bpfobj_iter_read(iter, sizeof(struct maplist_rec), take, &a);
	if (err) {
		maplist_free(l);
		return err;
	}
	qsort(l->v, l->n, sizeof(*l->v), by_id);
	return 0;
}

void maplist_free(struct maplist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i].slots);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct maplist_ent *maplist_find(const struct maplist *l, uint32_t id)
{
	int lo = 0, hi = l->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (l->v[mid].id == id)
			return &l->v[mid];
		if (l->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

int maplist_open(const struct maplist_ent *e, struct bpf_map_info *info)
{
	if (e->type == BPF_MAP_TYPE_PROG_ARRAY)
		return -EPERM;
	return bpfobj_map_open(e->id, info);
}

int maplist_owners(struct owner **out)
{
	int err = load();
	if (err)
		return err;
	if (!bpf_program__autoload(skel->progs.owners_scan))
		return -EOPNOTSUPP;
	return bpfobj_owners(skel->progs.owners_scan, out);
}
