/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Who refers to each BPF map: the processes holding it open (owners, from
 * the iter/task_file scan), the bpffs paths it is pinned at, the programs
 * using it; the memory a holder's fdinfo says it is charged; and which maps
 * are mapstat's own.
 */
#ifndef MAPSTAT_REFS_H
#define MAPSTAT_REFS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfobj.h"

struct map_use {
	uint32_t map, prog;
};

struct refs {
	struct owner *own;      /* may list a map several times per process (one per fd) */
	int nown;
	struct pin *pins;       /* each (map, path) once */
	int npins;
	struct map_use *uses;
	int nuses;
};

/* Fill r: owners with owners_scan (NULL: none), pins always, program uses
 * when progs.  Owners of this process are left out.  A failed owner scan is
 * a note (r->nown 0). */
void refs_read(struct refs *r, struct bpf_program *owners_scan, bool progs);
void refs_free(struct refs *r);

/* Is map id held open by pid? */
bool refs_held_by(const struct refs *r, uint32_t id, int pid);
/* Is map id pinned at root or below it? */
bool refs_pinned_under(const struct refs *r, uint32_t id, const char *root);
/* own[k] is the first record of its process for map id (one per pid). */
bool refs_first_owner(const struct refs *r, int k, uint32_t id);
/* own[k] is the first record of its process. */
bool refs_first_of_pid(const struct refs *r, int k);
/* Memory charged to map id from one of its holders' fdinfo (no map is
 * opened: a prog array must never be, common/maplist.h).  0 or -errno
 * (-EACCES: the holder has capabilities mapstat lacks, CAP_SYS_PTRACE
 * would do; a note under -v says so). */
int refs_memlock(const struct refs *r, uint32_t id, uint64_t *bytes);
/* Distinct maps process pid holds and the sum of their memlock; *known is
 * false when some holder's fdinfo could not be read.  Returns the number of
 * maps. */
uint64_t refs_pid_maps(const struct refs *r, uint32_t pid, uint64_t *bytes, bool *known);
/* memlock-charged kernels: a warning for each owner at 90% or more of its
 * RLIMIT_MEMLOCK. */
void refs_warn_memlock(const struct refs *r);

/* Does path lie at root or below it? */
bool path_under(const char *path, const char *root);

/* mapstat's own maps: its object's, and those created while it started
 * (ids above max_before, by libbpf's and the probes' feature checks) that
 * no other process holds. */
void own_maps_collect(struct bpf_object *obj, struct bpf_program *owners_scan, uint32_t max_before);
bool own_map(uint32_t id);
void own_maps_free(void);

#endif
