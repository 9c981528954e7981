// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * maplist: every BPF map's identity, and the programs in each prog array's
 * slots, read from inside the kernel without opening any map.
 *
 * Why not BPF_MAP_GET_FD_BY_ID: opening a prog array by id takes a user
 * reference.  When its owner has already closed it (user references 0, the
 * deferred clear of its slots queued) and programs still hold the map, the
 * reopen-and-close drops the user references to 0 a second time; the kernel
 * takes one more map reference for a second clear, the clear work is still
 * pending so it is not queued again, and that reference is never dropped:
 * the map and its programs stay in the kernel until reboot.  An iterator
 * takes no user reference, so it can never trigger that.
 *
 * maplist_iter walks prog-array slots with bpf_loop (5.17+); maplist_flat is
 * loaded where bpf_loop is missing and lists the maps only (walked = 0).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "maplist.h"

/* The shared owner scan (bpf/owners.bpf.h), for tools that load no BPF
 * object of their own: who holds BPF objects and perf events. */
#define OWNERS_KINDS (OWN_BPF | OWN_PERF)
#include "owners.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct walk {
	struct seq_file *seq;
	__u64 ptrs;      /* address of the array's ptrs[] */
	__u32 map_id;
};

static long walk_slot(__u32 i, struct walk *w)
{
	struct maplist_rec r = {};
	struct bpf_prog *prog = NULL;

	if (bpf_probe_read_kernel(&prog, sizeof(prog), (void *)(w->ptrs + (__u64)i * sizeof(void *))))
		return 1;
	if (!prog)
		return 0;
	r.kind = ML_SLOT;
	r.id = w->map_id;
	r.slot = i;
	r.prog_id = BPF_CORE_READ(prog, aux, id);
	bpf_seq_write(w->seq, &r, sizeof(r));
	return 0;
}

static __always_inline int list_map(struct bpf_iter__bpf_map *ctx, bool walk)
{
	struct bpf_map *map = ctx->map;
	struct maplist_rec r = {};

	if (!map)
		return 0;
	r.kind = ML_MAP;
	r.id = map->id;
	r.type = map->map_type;
	r.key_size = map->key_size;
	r.value_size = map->value_size;
	r.max_entries = map->max_entries;
	r.flags = map->map_flags;
	bpf_probe_read_kernel_str(r.name, sizeof(r.name), map->name);
	if (walk && r.type == BPF_MAP_TYPE_PROG_ARRAY)
		r.walked = r.max_entries < MAPLIST_SLOT_CAP ? r.max_entries : MAPLIST_SLOT_CAP;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	if (r.walked) {
		struct bpf_array *arr = (void *)map; /* map is its first member */
		struct walk w = {
			.seq = ctx->meta->seq,
			.ptrs = (__u64)(unsigned long)arr + bpf_core_field_offset(struct bpf_array, ptrs),
			.map_id = r.id,
		};
		bpf_loop(r.walked, walk_slot, &w, 0);
	}
	return 0;
}

SEC("iter/bpf_map")
int maplist_iter(struct bpf_iter__bpf_map *ctx)
{
	return list_map(ctx, true);
}

SEC("iter/bpf_map")
int maplist_flat(struct bpf_iter__bpf_map *ctx)
{
	return list_map(ctx, false);
}
