/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every BPF map in the system, and the programs in each prog array's slots,
 * read with a map iterator (bpf/maplist.bpf.c) instead of opening maps by id.
 *
 * The rule for every tool: never open a prog array by id.  Opening and closing
 * one whose user references already dropped to zero leaks it in the kernel
 * (see bpf/maplist.bpf.c, tests/lib/progarray_leak.c).  maplist_open() opens
 * any other map and refuses prog arrays.
 */
#ifndef BPFSCOPE_MAPLIST_H_
#define BPFSCOPE_MAPLIST_H_

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

struct maplist_slot {
	uint32_t slot, prog;
};

struct maplist_ent {
	uint32_t id, type, key_size, value_size, max_entries, flags;
	char name[16];
	bool slots_known;            /* prog arrays: every slot was read */
	uint32_t nslots;             /* occupied slots, ascending */
	struct maplist_slot *slots;
};

struct maplist {
	struct maplist_ent *v;       /* ascending id */
	int n;
};

/* Fill l with every map.  Loads the iterator on first use.  0 or -errno
 * (-ENOTSUP, -EOPNOTSUPP: the kernel has no bpf_map iterator). */
int maplist_read(struct maplist *l);
void maplist_free(struct maplist *l);
const struct maplist_ent *maplist_find(const struct maplist *l, uint32_t id);
/* The mechanism, for -v and headers: "iter/bpf_map + bpf_loop" or
 * "iter/bpf_map (no bpf_loop: prog-array slots unknown)". */
const char *maplist_mechanism(void);
/* Program id of the loaded iterator (0 before the first read), so tools can
 * leave it out of what they list. */
uint32_t maplist_prog_id(void);
/* Open a map listed in e, fetching its info.  Prog arrays are refused with
 * -EPERM without any bpf(2) call.  fd or -errno (-ENOENT: gone). */
int maplist_open(const struct maplist_ent *e, struct bpf_map_info *info);
/* The shared owner scan (bpf/owners.bpf.h) in the same object: every
 * process's file descriptors to BPF maps, programs, links and perf events
 * (struct owner in bpfobj.h).  Count or -errno (-EOPNOTSUPP: no task_file
 * iterator). */
struct owner;
int maplist_owners(struct owner **out);
/* Unload the iterator (atexit does it too). */
void maplist_close(void);

#endif
