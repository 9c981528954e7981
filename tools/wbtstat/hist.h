/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* log2 histograms (the BPF side is bpf/hist.bpf.h). */
#ifndef BPFSCOPE_HIST_H
#define BPFSCOPE_HIST_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SLOTS 64

/* Bucket of v: 0 for 0, else floor(log2(v)) + 1. */
unsigned hist_log2_slot(uint64_t v);
/* Inclusive range of values in a slot. */
uint64_t hist_slot_low(unsigned slot);
uint64_t hist_slot_high(unsigned slot);
/* BCC-style text rendering: "low -> high : count |****|". */
void hist_print(FILE *f, const uint64_t *slots, unsigned nslots, const char *unit);
/* Value at quantile q (0..1), as the upper bound of the slot reaching it. */
uint64_t hist_quantile(const uint64_t *slots, unsigned nslots, double q);

#endif
