/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A set of fentry/fexit copies, one per watched BPF program: the tool's own
 * object is opened again per program and its one tracing program aimed at
 * that program's main function (bpfclone_load), sharing the counting maps of
 * the tool's main object.  Used by xdpverdict (fexit on XDP programs) and
 * tcverdict (fexit on TC and LWT programs).
 */
#ifndef BPFSCOPE_PROGWATCH_H
#define BPFSCOPE_PROGWATCH_H

#include <stdint.h>

struct bpf_object;
struct bpf_link;
struct bpf_prog_info;

struct progwatch_ops {
	const char *prog;                             /* the tracing program in the object */
	void *(*open)(void);                          /* open a fresh skeleton (NULL + errno on failure) */
	struct bpf_object *(*obj)(void *skel);
	struct bpf_link **(*link)(void *skel);        /* where the copy's link is kept */
	/* set the copy's read-only data before it loads (may be NULL) */
	void (*prepare)(void *skel, uint32_t prog_id, const struct bpf_prog_info *info);
	void (*destroy)(void *skel);
};

struct progwatch;

struct progwatch *progwatch_new(const struct progwatch_ops *ops, const struct bpf_object *parent);
/* Watch program prog_id (no-op when watched already).  0, or -errno with
 * *why set; a program that failed once is not tried again until swept. */
int progwatch_add(struct progwatch *pw, uint32_t prog_id, const char **why);
/* Mark prog_id as still wanted in this discovery pass. */
void progwatch_use(struct progwatch *pw, uint32_t prog_id);
/* Drop the copies not used since the last sweep. */
void progwatch_sweep(struct progwatch *pw);
/* Recursion misses of every copy so far, those already dropped included. */
uint64_t progwatch_misses(const struct progwatch *pw);
/* Every copy detached and freed (NULL is fine). */
void progwatch_free(struct progwatch *pw);

#endif
