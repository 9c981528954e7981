/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting maps that never lose an update silently: lookup_or_init() finds
 * or makes a key's counters, and an update a full map refused is counted in
 * the object's `missed` map (the front end reports it as missed_updates).
 * Included once per BPF object (xdpverdict, tcverdict).
 */
#ifndef BPFSCOPE_COUNTING_BPF_H
#define BPFSCOPE_COUNTING_BPF_H

#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} missed SEC(".maps");

static __always_inline void count_missed(void)
{
	__u32 zero = 0;
	__u64 *m = bpf_map_lookup_elem(&missed, &zero);
	if (m)
		(*m)++;
}

/* The value of key in map, inserted as *zero when absent; NULL (counted
 * as missed) when the map is full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	if (bpf_map_update_elem(map, key, zero, BPF_NOEXIST) && bpf_map_lookup_elem(map, key) == NULL) {
		count_missed();
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

#endif
