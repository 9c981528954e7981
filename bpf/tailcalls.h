/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared between bpf/tailcalls.bpf.c and tools/tailcalls/. */
#ifndef BPFSCOPE_TAILCALLS_H
#define BPFSCOPE_TAILCALLS_H

/* Distinct sampled instruction pointers kept per interval. */
#define TC_IP_SLOTS 16384
/* Programs whose entries fentry can count at once. */
#define TC_ENTRY_SLOTS 4096

/* Per-CPU sample counters (sample_stats). */
enum tc_stat {
	TC_ST_TOTAL,   /* every sample */
	TC_ST_USER,    /* in user mode */
	TC_ST_KERNEL,  /* in the kernel, outside the JIT image range */
	TC_ST_RANGE,   /* in the JIT image range: recorded in ip_samples */
	TC_ST_LOST,    /* in range but ip_samples was full */
	TC_NR_STATS,
};

#endif
