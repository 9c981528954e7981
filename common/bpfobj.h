/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Enumerate BPF programs, maps and links: info, fdinfo, owners, pins. */
#ifndef BPFSCOPE_BPFOBJ_H
#define BPFSCOPE_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "../bpf/owners.h"

struct bpf_program;
struct bpf_object;

/* All ids of one kind, ascending.  Returns count, or -errno. */
int bpfobj_ids(enum bpf_obj_kind kind, uint32_t **ids);
/* Open by id and fetch info; returns fd or -errno (-ENOENT: gone). */
int bpfobj_map_open(uint32_t id, struct bpf_map_info *info);
int bpfobj_prog_open(uint32_t id, struct bpf_prog_info *info);
/* Map ids a program uses.  Returns count or -errno; *ids malloc'd. */
int bpfobj_prog_map_ids(int prog_fd, uint32_t **ids);

/* Read "key:\tvalue" from /proc/self/fdinfo/FD. */
int fdinfo_u64(int fd, const char *key, uint64_t *val);
/* The same from another process's /proc/PID/fdinfo/FD (pid 0: self). */
int proc_fdinfo_u64(int pid, int fd, const char *key, uint64_t *val);

const char *map_type_name(uint32_t type);   /* "hash", "lru_hash", ... */
int map_type_from_name(const char *name);   /* -1 if unknown */
const char *prog_type_name(uint32_t type);

/* Runs of the object's loaded programs the kernel skipped because a BPF
 * program was already running on that CPU (bpf_prog_info.recursion_misses,
 * 5.12+; 0 before): the missed_events of the output contract. */
uint64_t bpfobj_recursion_misses(struct bpf_object *obj);

/* Run an iterator program (attached without a target) and hand each
 * fixed-size record to fn.  Returns 0 or -errno. */
int bpfobj_iter_read(struct bpf_program *prog, size_t recsize, void (*fn)(const void *rec, void *ctx),
		     void *ctx);

struct owner {
	uint32_t pid, id, fd, kind;
	char comm[16];
};
/* Run the owners_scan iterator (bpf/owners.bpf.h) already loaded in a
 * skeleton.  Returns count or -errno; *out malloc'd. */
int bpfobj_owners(struct bpf_program *owners_scan, struct owner **out);

struct pin {
	uint32_t id;
	enum bpf_obj_kind kind;
	char *path;
};
/* Every object pinned under every mounted bpffs.  Returns count. */
int bpfobj_pins(struct pin **out);
void bpfobj_pins_free(struct pin *p, int n);

/* RLIMIT_MEMLOCK of a process in bytes (UINT64_MAX = unlimited), or -1. */
int proc_memlock_limit(int pid, uint64_t *bytes);
bool proc_exists(int pid);

#endif
