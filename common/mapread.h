/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading the tools' own BPF maps: whole-map reads and per-CPU sums, once. */
#ifndef BPFSCOPE_MAPREAD_H
#define BPFSCOPE_MAPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Possible CPUs (the number of values a per-CPU map holds per key). */
int map_ncpus(void);

/* Each entry of a map: fn(key, value, ctx).  For per-CPU maps, value is
 * map_ncpus() values, each value_size rounded up to 8 bytes (see
 * percpu_sum_u64).  Batch lookups where the kernel has them (5.6+), else a
 * key walk; with del, what was read is deleted.  Returns the number of
 * entries, or -errno. */
typedef void (*map_entry_fn)(const void *key, const void *value, void *ctx);
int map_read_all(int fd, bool del, map_entry_fn fn, void *ctx);

/* Every entry of a per-CPU map whose value is all u64 fields, as records
 * of rec_size bytes: the key at offset 0, the value summed over the CPUs at
 * val_off.  *recs (malloc'd, or reused when non-NULL: it is realloc'd) gets
 * one record per entry.  Returns the count, or -errno. */
int map_read_percpu_sums(int fd, size_t rec_size, size_t val_off, void **recs);

/* Walk a map's keys without reading values: fn(key, ctx) for each (may be
 * NULL to count).  Returns the number of keys, or -errno. */
int map_walk_keys(int fd, size_t key_size, void (*fn)(const void *key, void *ctx), void *ctx);

/* Sum every u64 field of a per-CPU value (value_size bytes per CPU, all
 * u64 fields) over the CPUs into out (value_size bytes). */
void percpu_sum_fields(const void *value, size_t value_size, void *out);
/* Sum the u64 at byte offset off of each CPU's copy in a per-CPU value
 * whose single-CPU size is value_size. */
uint64_t percpu_sum_u64(const void *value, size_t value_size, size_t off);
/* Look up key in a per-CPU map whose value is nfields u64s and sum each
 * field over the CPUs into sums[].  0 or -errno (-ENOENT: no such key). */
int map_lookup_percpu_sum(int fd, const void *key, unsigned nfields, uint64_t *sums);

/* The one counter-reset rule for rates: the increase of a counter from prev
 * to cur per second over dt; a counter that went backwards was reset (its
 * object re-created), so all of cur is new.  0 when dt <= 0. */
double counter_rate(uint64_t cur, uint64_t prev, double dt);
uint64_t counter_delta(uint64_t cur, uint64_t prev);

#endif
