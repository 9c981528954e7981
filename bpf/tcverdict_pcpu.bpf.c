// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcverdict's fexit copies for kernels before Linux 6.11, whose redirect
 * information is a per-CPU variable (bpf_redirect_info) rather than part of
 * the task's bpf_net_context: the same programs, with that variable.
 */
#define TV_PCPU_REDIRECT_INFO 1
#include "tcverdict.bpf.c"
