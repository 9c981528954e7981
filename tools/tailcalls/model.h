/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the kernel has now, as tailcalls draws it: attach points, the
 * programs attached or taking part in tail calls, the prog arrays and their
 * slots (read with the map iterator: a prog array is never opened by id,
 * common/maplist.h), analysed as a tail-call graph (tailgraph.h).
 */
#ifndef TAILCALLS_MODEL_H
#define TAILCALLS_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "attachpts.h"
#include "ksyms.h"
#include "tailgraph.h"

/* Listing programs and opening them by id (BPF_PROG_GET_NEXT_ID,
 * BPF_PROG_GET_FD_BY_ID) is CAP_SYS_ADMIN's alone, CAP_BPF or not. */
#define NEED_LIST "CAP_SYS_ADMIN"

struct progrec {
	uint32_t id, type, jited_len;
	char tag[17];
	char name[64];
	char **funcs;
	int nfuncs;
	uint64_t run_cnt, run_time_ns;
};

struct arrayrec {
	uint32_t id;
	char name[16];
};

struct model {
	struct attachpt *ap;
	int nap, nnetns;
	struct tailgraph tg;
	struct progrec *pr;  /* every program shown, ascending id */
	int npr;
	struct arrayrec *ar;
	int nar;
	struct ksyms ks;     /* JIT images of every program (profiling) */
	struct progrec *all; /* run stats of every program (profiling) */
	int nall;
	bool *sel_prog, *sel_array, *sel_ap; /* -P selection, by index */
	int unknown_slots;   /* prog arrays whose slots the iterator could not read */
};

/* Read everything; with profiling, also the JIT images and run statistics
 * of every program.  Exits on failure (3 naming the capability). */
void model_collect(struct model *m, bool profiling);
/* -P: keep the connected parts of the graph holding programs ids[]
 * (all when nids is 0). */
void model_select(struct model *m, const uint32_t *ids, int nids);
/* Each of ids[] names a program that takes part in tail calls, else exit 5. */
void model_check_selection(const struct model *m, const uint32_t *ids, int nids);
void model_free(struct model *m);
/* The record of program id in v (ascending ids), or NULL. */
const struct progrec *model_find(const struct progrec *v, int n, uint32_t id);

/* Open program id: -ENOENT exits 5, other errors exit by errno (3 naming
 * CAP_SYS_ADMIN for EPERM/EACCES).  Returns the fd. */
int model_prog_open(uint32_t id, struct bpf_prog_info *info);

/* The tool's own programs and maps, left out of the model. */
void model_own_prog(uint32_t id);
void model_own_map(uint32_t id);
void model_own_free(void);

#endif
