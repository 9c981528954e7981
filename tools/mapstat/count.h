/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * mapstat's entry counts: the bpf_map iterator's records (kfunc or CO-RE
 * counters, bpf/mapstat.bpf.c), and for the maps it leaves open, in-kernel
 * element walks (iter/bpf_map_elem, iter/sockmap) or user-space walks (key
 * walks, slot lookups, a read-only mmap of a ring buffer's positions).
 */
#ifndef MAPSTAT_COUNT_H
#define MAPSTAT_COUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "mapstat.h"

struct mapstat_bpf;
struct bpf_program;

/* How this run counts the maps the bpf_map iterator did not. */
struct counting {
	struct mapstat_bpf *skel;
	bool elems;   /* count_elems loaded: hash maps walked in the kernel */
	bool socks;   /* count_socks loaded: sockmaps walked in the kernel */
	bool walk;    /* --mechanism walk: user space only */
};

/* Run the bpf_map iterator prog (maps_kfunc or maps_core): one map_count
 * per map, *out malloc'd.  Returns the count or -errno. */
int count_iter_all(struct bpf_program *prog, struct map_count **out);
/* The record of map id in v (n of them), or NULL. */
const struct map_count *count_find(const struct map_count *v, int n, uint32_t id);
/* Count one map the iterator left open (fd open on it, never a prog
 * array: common/maplist.h).  Returns how (CM_NONE: not countable). */
enum count_method count_map(const struct counting *c, int fd, const struct bpf_map_info *info, uint64_t *n);
/* "kfunc", "core", ... as entries_method shows them. */
const char *count_method_name(enum count_method m);

/* Entries per prefix length of an LPM trie (key: u32 prefixlen + data):
 * hist[0..*maxlen], malloc'd.  0 or -errno. */
int count_prefixes(int fd, const struct bpf_map_info *info, uint64_t **hist, uint32_t *maxlen);

#endif
