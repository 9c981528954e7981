/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tail-call graph: programs, the PROG_ARRAY maps they use and the
 * programs in those maps' slots, and what is wrong with it (empty slots
 * below the highest populated one, cycles, chains deeper than the kernel's
 * tail-call limit, programs reachable only through tail calls, prog arrays
 * no program uses).  Pure logic: the collector fills it from the kernel.
 */
#ifndef BPFSCOPE_TAILGRAPH_H
#define BPFSCOPE_TAILGRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

/* Tail calls one program can make in a row (MAX_TAIL_CALL_CNT, Linux 5.17+;
 * older kernels allowed 32).  A program more tail calls deep never runs. */
#define TG_MAX_TAIL_CALLS 33

/* A tail-call site: bpf_tail_call(ctx, map, slot). */
struct tg_call {
	uint32_t map_id;  /* 0: not known statically (any prog array the program uses) */
	int64_t slot;     /* -1: not known statically (any slot) */
};

struct tg_prog {
	uint32_t id;
	uint32_t *arrays;     /* ids of the PROG_ARRAY maps the program uses */
	int narrays;
	struct tg_call *calls;
	int ncalls;
	bool calls_known;     /* calls came from the program's instructions */
	bool attached;        /* an attach point runs it (set by the collector) */
	/* results of tg_analyze() */
	int depth;            /* longest chain of tail calls from an entry program */
	bool cycle;           /* part of a tail-call cycle */
	bool too_deep;        /* depth > TG_MAX_TAIL_CALLS: never reached */
	bool in_slot;         /* in some prog array's slot */
	bool tail_only;       /* in a slot, attached nowhere */
	int scc;
};

struct tg_slot {
	uint32_t slot, prog;
};

struct tg_array {
	uint32_t id, max_entries;
	struct tg_slot *slots; /* populated slots, ascending */
	int nslots;
	/* results of tg_analyze() */
	bool used;            /* some program uses it */
	uint32_t *gaps;       /* empty slots below the highest populated one */
	int ngaps;
};

struct tailgraph {
	struct tg_prog *progs;
	int nprogs;
	struct tg_array *arrays;
	int narrays;
};

struct tg_prog *tg_add_prog(struct tailgraph *g, uint32_t id);
struct tg_array *tg_add_array(struct tailgraph *g, uint32_t id, uint32_t max_entries);
void tg_array_add_slot(struct tg_array *a, uint32_t slot, uint32_t prog);
void tg_prog_add_array(struct tg_prog *p, uint32_t map_id);
struct tg_prog *tg_prog(const struct tailgraph *g, uint32_t id);
struct tg_array *tg_array(const struct tailgraph *g, uint32_t id);

/* Find the tail-call sites in a program's translated instructions (as
 * BPF_OBJ_GET_INFO_BY_FD returns them: map pointers as map ids, tail calls
 * as calls to helper 12).  Sets calls and calls_known. */
void tg_scan_insns(struct tg_prog *p, const struct bpf_insn *insns, int n);
/* Can p tail-call slot `slot` of prog array `map_id`? */
bool tg_calls_slot(const struct tg_prog *p, uint32_t map_id, uint32_t slot);
/* The slots of map_id p calls: returns false for "any slot"; else *slots
 * (malloc'd, ascending, unique) and *n. */
bool tg_call_slots(const struct tg_prog *p, uint32_t map_id, uint32_t **slots, int *n);

/* Compute the results above. */
void tg_analyze(struct tailgraph *g);
void tg_free(struct tailgraph *g);

#endif
