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
 *
 * lru_*: LRU maps under pressure.  The LRU calls htab_lru_map_delete_node()
 * (through a function pointer, so never inlined) for each element it
 * reclaims to make room; it returns true when it really unlinked it: those
 * are the evictions, counted per map id in lru_counts.  --updates adds the
 * successful calls of htab_lru_map_update_elem() and
 * __htab_lru_percpu_map_update_elem() (the syscall path of lru_percpu_hash
 * calls the latter directly; the helper path through its wrapper).  fexit
 * where the kernel has trampolines, else kprobe + kretprobe with the map id
 * saved per task at entry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "mapstat.h"
#include "owners.bpf.h"
#include "counting.bpf.h"

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

/* ---- LRU evictions and updates ------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, LRU_COUNT_MAPS);
	__type(key, __u32);
	__type(value, struct lru_count);
} lru_counts SEC(".maps");

/* kprobe mode: the map id, saved at entry per task (pid_tgid) for the
 * kretprobe; one map per function family (an update nests evictions). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} lru_evict_entry SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} lru_update_entry SEC(".maps");

static __always_inline __u32 map_id_of(const void *map)
{
	return BPF_CORE_READ((const struct bpf_map *)map, id); /* bpf_htab starts with its map */
}

static __always_inline void lru_count_add(__u32 id, bool eviction)
{
	static const struct lru_count zero;
	struct lru_count *c = lookup_or_init(&lru_counts, &id, &zero);
	if (!c)
		return;
	if (eviction)
		c->evictions++;
	else
		c->updates++;
}

/* bool return: only the low byte of the return register is defined */
SEC("fexit/htab_lru_map_delete_node")
int BPF_PROG(lru_evict_fx, void *htab, void *node, __u64 ret)
{
	if (ret & 0xff)
		lru_count_add(map_id_of(htab), true);
	return 0;
}

SEC("fexit/htab_lru_map_update_elem")
int BPF_PROG(lru_update_fx, void *map, void *key, void *value, __u64 flags, __u64 ret)
{
	if (!(int)ret)
		lru_count_add(map_id_of(map), false);
	return 0;
}

SEC("fexit/__htab_lru_percpu_map_update_elem")
int BPF_PROG(lru_pupdate_fx, void *map, void *key, void *value, __u64 flags, __u64 onallcpus, __u64 ret)
{
	if (!(int)ret)
		lru_count_add(map_id_of(map), false);
	return 0;
}

static __always_inline void entry_save(void *entries, const void *map)
{
	__u64 task = bpf_get_current_pid_tgid();
	__u32 id = map_id_of(map);
	if (bpf_map_update_elem(entries, &task, &id, BPF_ANY))
		count_missed();
}

/* The id saved at entry (and forgotten), or 0 when there is none (counted
 * as missed: the entry kprobe was skipped or its slot was taken). */
static __always_inline __u32 entry_take(void *entries)
{
	__u64 task = bpf_get_current_pid_tgid();
	__u32 *id = bpf_map_lookup_elem(entries, &task), v;
	if (!id) {
		count_missed();
		return 0;
	}
	v = *id;
	bpf_map_delete_elem(entries, &task);
	return v;
}

SEC("kprobe/htab_lru_map_delete_node")
int BPF_KPROBE(lru_evict_kp, void *htab)
{
	entry_save(&lru_evict_entry, htab);
	return 0;
}

SEC("kretprobe/htab_lru_map_delete_node")
int BPF_KRETPROBE(lru_evict_kr, __u64 ret)
{
	__u32 id = entry_take(&lru_evict_entry);
	if (id && (ret & 0xff))
		lru_count_add(id, true);
	return 0;
}

SEC("kprobe/htab_lru_map_update_elem")
int BPF_KPROBE(lru_update_kp, void *map)
{
	entry_save(&lru_update_entry, map);
	return 0;
}

SEC("kretprobe/htab_lru_map_update_elem")
int BPF_KRETPROBE(lru_update_kr, __u64 ret)
{
	__u32 id = entry_take(&lru_update_entry);
	if (id && !(int)ret)
		lru_count_add(id, false);
	return 0;
}

SEC("kprobe/__htab_lru_percpu_map_update_elem")
int BPF_KPROBE(lru_pupdate_kp, void *map)
{
	entry_save(&lru_update_entry, map);
	return 0;
}

SEC("kretprobe/__htab_lru_percpu_map_update_elem")
int BPF_KRETPROBE(lru_pupdate_kr, __u64 ret)
{
	__u32 id = entry_take(&lru_update_entry);
	if (id && !(int)ret)
		lru_count_add(id, false);
	return 0;
}
