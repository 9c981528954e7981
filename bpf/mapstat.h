/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef BPFSCOPE_MAPSTAT_H
#define BPFSCOPE_MAPSTAT_H

/* How an entry count was obtained (also see tools/mapstat/). */
enum count_method {
	CM_NONE = 0,    /* not countable */
	CM_KFUNC,       /* bpf_map_sum_elem_count() from iter/bpf_map */
	CM_CORE,        /* the map's own counter, read with CO-RE */
	CM_ITER_ELEM,   /* iter/bpf_map_elem walk inside the kernel */
	CM_ITER_SOCK,   /* iter/sockmap walk inside the kernel */
	CM_SLOTS,       /* per-slot lookups from user space */
	CM_KEYWALK,     /* get_next_key walk from user space */
	CM_FIXED,       /* array family: always max_entries */
	CM_MMAP,        /* ring buffer positions read through a read-only mmap */
};

/* One record per map from the iter/bpf_map program. */
struct map_count {
	__u32 id;
	__u32 type;
	__u64 entries;   /* valid when method != CM_NONE */
	__u32 method;    /* CM_KFUNC, CM_CORE or CM_NONE (user space decides) */
	__u32 pad;
};

/* LRU maps (lru_hash, lru_percpu_hash), counted per map id from the moment
 * mapstat attaches: entries the kernel reclaimed to make room (evictions) and
 * successful updates (--updates).  The value of the per-CPU lru_counts map. */
struct lru_count {
	__u64 evictions;
	__u64 updates;
};

#define LRU_COUNT_MAPS 4096 /* LRU maps counted at once */

#endif
