// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mapstat: entry counts of every BPF map, from inside the kernel.
 *
 * maps_kfunc / maps_core: iter/bpf_map programs emitting one map_count per
 * map.  maps_kfunc uses bpf_map_sum_elem_count() (6.6+) for the hash family;
 * maps_core is loaded instead on older kernels.  Both read the per-type
 * counters that exist (LPM trie, queue/stack, ring buffer, sockhash,
 * devmap_hash) with CO-RE.  count_elems / count_socks are the exact
 * in-kernel fallbacks for hash maps and sockmaps, attached to one map at a
 * time.  owners_scan (owners.bpf.h) finds which processes hold which maps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "mapstat.h"
#include "owners.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym __weak;

static __always_inline bool hash_family(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

/* Counters the map types keep themselves. */
static __always_inline void count_core(struct bpf_map *map, struct map_count *r)
{
	switch (r->type) {
	case BPF_MAP_TYPE_LPM_TRIE: {
		struct lpm_trie *t = (void *)map; /* map is the first member */
		r->entries = BPF_CORE_READ(t, n_entries);
		r->method = CM_CORE;
		break;
	}
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK: {
		struct bpf_queue_stack *qs = (void *)map;
		__u32 head = BPF_CORE_READ(qs, head);
		__u32 tail = BPF_CORE_READ(qs, tail);
		__u32 size = BPF_CORE_READ(qs, size);
		if (size) {
			r->entries = head >= tail ? head - tail : size - tail + head;
			r->method = CM_CORE;
		}
		break;
	}
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF: {
		struct bpf_ringbuf_map *rm = (void *)map;
		struct bpf_ringbuf *rb = BPF_CORE_READ(rm, rb);
		unsigned long cons = BPF_CORE_READ(rb, consumer_pos);
		unsigned long prod = BPF_CORE_READ(rb, producer_pos);
		r->entries = prod - cons; /* bytes written and not yet consumed */
		r->method = CM_CORE;
		break;
	}
	case BPF_MAP_TYPE_SOCKHASH: {
		struct bpf_shtab *sh = (void *)map;
		r->entries = BPF_CORE_READ(sh, count.counter);
		r->method = CM_CORE;
		break;
	}
	case BPF_MAP_TYPE_DEVMAP_HASH: {
		struct bpf_dtab *d = (void *)map;
		r->entries = BPF_CORE_READ(d, items);
		r->method = CM_CORE;
		break;
	}
	default:
		break;
	}
}

static __always_inline int emit(struct bpf_iter__bpf_map *ctx, bool kfunc)
{
	struct bpf_map *map = ctx->map;
	struct map_count r = {};

	if (!map)
		return 0;
	r.id = map->id;
	r.type = map->map_type;
	if (kfunc && hash_family(r.type)) {
		r.entries = bpf_map_sum_elem_count(map);
		r.method = CM_KFUNC;
	} else {
		count_core(map, &r);
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("iter/bpf_map")
int maps_kfunc(struct bpf_iter__bpf_map *ctx)
{
	return emit(ctx, true);
}

SEC("iter/bpf_map")
int maps_core(struct bpf_iter__bpf_map *ctx)
{
	return emit(ctx, false);
}

__u64 elem_count;

SEC("iter/bpf_map_elem")
int count_elems(struct bpf_iter__bpf_map_elem *ctx)
{
	if (ctx->key)
		elem_count++;
	return 0;
}

__u64 sock_count;

SEC("iter/sockmap")
int count_socks(struct bpf_iter__sockmap *ctx)
{
	if (ctx->key && ctx->sk)
		sock_count++;
	return 0;
}
