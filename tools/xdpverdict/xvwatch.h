/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpverdict: fexit on XDP programs, one copy of the BPF object per watched
 * program (bpfclone_load), sharing the counting maps of the main object.
 */
#ifndef XDPVERDICT_XVWATCH_H
#define XDPVERDICT_XVWATCH_H

#include <stdint.h>

struct xdpverdict_bpf;

/* Watch program prog_id (no-op when watched already).  0, or -errno with
 * *why set; a program that failed once is not tried again until swept. */
int xvwatch_add(const struct xdpverdict_bpf *parent, uint32_t prog_id, const char **why);
/* Mark prog_id as still wanted in this discovery pass. */
void xvwatch_use(uint32_t prog_id);
/* Drop the copies no row used since the last sweep. */
void xvwatch_sweep(void);
/* Recursion misses of every copy so far, those already dropped included. */
uint64_t xvwatch_misses(void);
void xvwatch_free(void);

#endif
