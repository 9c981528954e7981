/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tailcalls' profiler (-i): cpu-clock samples on every CPU attributed to
 * the JIT images of the programs (bpf/tailcalls.bpf.c sample_ip), the
 * kernel's run statistics, and exact entry counts from fentry programs
 * aimed at the tail-called programs where this kernel fires them on
 * tail-call entry (a self-test at start says).
 */
#ifndef TAILCALLS_PROFILE_H
#define TAILCALLS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

struct hit {
	uint32_t prog, func;
	uint64_t n;
};

/* One interval. */
struct profile {
	struct hit *hits;     /* samples per program function */
	int nhits;
	uint64_t total, user, kernel, in_range, lost; /* sample counters */
	uint64_t in_progs;    /* samples attributed to some program */
	double seconds;       /* length of the interval */
	struct hit *entries;  /* fentry entry counts per program */
	int nentries;
	bool valid;
};

/* What the profiler runs with: the graph's facts. */
struct prof_facts {
	unsigned freq;              /* samples per second and CPU */
	int ncpus;                  /* CPUs sampling */
	bool stats_on;              /* run_cnt and run_time_ns are counted */
	const char *stats_note;     /* their source, or why not */
	char fentry_verdict[160];   /* the self-test's verdict */
	bool fentry_fires;          /* entry counts available */
};
extern struct prof_facts prof;

/* Load the sampler (its objects become the model's own), run the fentry
 * self-test, turn run statistics on with run_stats (else use them if they
 * are on).  Exits on failure. */
void prof_init(unsigned freq, bool run_stats);
/* Start: entry counters on the tail-called programs of m's selection,
 * sampling, and the baseline of every counter. */
void prof_start(struct model *m);
/* The interval that ended: sample counters, and the samples attributed
 * with the JIT images of before (the model they were taken in). */
void prof_read_samples(struct profile *pf, struct ksyms *before);
/* Entry counts attributed with now's JIT images, which also bound the
 * next samples. */
void prof_read_entries(struct profile *pf, struct ksyms *now);
/* An entry counter is attached to program id. */
bool prof_counts(uint32_t id);
void prof_free(struct profile *pf);
/* Stop sampling, detach everything, switch run statistics back off. */
void prof_stop(void);

#endif
