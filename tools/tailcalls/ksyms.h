/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel address -> symbol, for the addresses BPF programs run at: the JIT
 * image of every program and of each of its subprograms, from the kernel's
 * program info (jited_ksyms + jited_func_lens), named from the program's BTF
 * func_info.  Used to attribute sampled instruction pointers.
 */
#ifndef BPFSCOPE_KSYMS_H
#define BPFSCOPE_KSYMS_H

#include <stdbool.h>
#include <stdint.h>

struct ksym {
	uint64_t start, end;  /* [start, end) */
	uint32_t prog_id;
	uint32_t func;        /* 0 = the program's main function, then subprograms */
};

struct ksyms {
	struct ksym *syms;
	int n, cap;
	bool sorted;
};

/* Add one range.  Ranges must not overlap. */
void ksyms_add(struct ksyms *ks, uint64_t start, uint64_t len, uint32_t prog_id, uint32_t func);
/* Add the JIT images of a program (main function and subprograms).
 * Returns the number of functions added, 0 when the program is not JITed
 * (or its addresses are hidden), or -errno. */
int ksyms_add_prog(struct ksyms *ks, int prog_fd);
/* The range holding addr, or NULL. */
const struct ksym *ksyms_find(struct ksyms *ks, uint64_t addr);
/* Lowest start and highest end of all ranges; false when empty. */
bool ksyms_hull(struct ksyms *ks, uint64_t *lo, uint64_t *hi);
void ksyms_clear(struct ksyms *ks);

/* Names of a program's functions (main first, then subprograms, the order
 * of jited_ksyms) from its BTF func_info.  Returns the count (0 when the
 * program has no BTF) and a malloc'd array of malloc'd strings. */
int ksyms_prog_func_names(int prog_fd, char ***names);
void ksyms_free_names(char **names, int n);
/* Release the BTF object ksyms_prog_func_names keeps for the next call. */
void ksyms_names_done(void);

#endif
