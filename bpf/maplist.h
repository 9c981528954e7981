/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Records of the iter/bpf_map map list (bpf/maplist.bpf.c, common/maplist.c). */
#ifndef BPFSCOPE_MAPLIST_H
#define BPFSCOPE_MAPLIST_H

/* Prog-array slots walked per map; bigger arrays are reported truncated. */
#define MAPLIST_SLOT_CAP (1u << 20)

enum maplist_kind { ML_MAP = 1, ML_SLOT = 2 };

struct maplist_rec {
	__u32 kind;        /* enum maplist_kind */
	__u32 id;          /* map id */
	__u32 type;        /* ML_MAP: enum bpf_map_type */
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 flags;
	__u32 walked;      /* ML_MAP: prog-array slots walked (0: not a prog array) */
	__u32 slot;        /* ML_SLOT: index and the program in it */
	__u32 prog_id;
	char name[16];     /* ML_MAP */
};

#endif
