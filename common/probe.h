/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Kernel feature probes: ask the kernel, never infer from a version. */
#ifndef BPFSCOPE_PROBE_H
#define BPFSCOPE_PROBE_H

#include <stdbool.h>
#include <linux/bpf.h>

struct btf;

/* Exit EXIT_NOFEATURE with one line unless the kernel exposes BTF. */
void probe_require_btf(void);
/* Kernel BTF parsed by libbpf (cached; NULL if unavailable).  Costly: the
 * name probes below do not need it. */
const struct btf *probe_vmlinux_btf(void);
/* Free what the probes cached (call before loading the skeleton). */
void probe_release(void);

/* Name probes look in vmlinux's BTF, then in every module's
 * (/sys/kernel/btf/MODULE): functions and tracepoints of vrf, veth or a NIC
 * driver are found when the module is loaded. */
bool probe_btf_func(const char *name);  /* kernel function or kfunc in BTF */
/* The module whose BTF the last successful name probe found it in, or NULL
 * for vmlinux. */
const char *probe_btf_module(void);
bool probe_btf_struct(const char *name);
bool probe_btf_member(const char *strct, const char *member);
/* The value of enumerator name in any enum of vmlinux's BTF (anonymous
 * ones included): true and *val, or false. */
bool probe_btf_enumerator(const char *name, long long *val);
bool probe_iter(const char *target);    /* "bpf_map", "task_file", ... */
bool probe_tp_btf(const char *tp);      /* tracepoint usable by tp_btf */
bool probe_raw_tp(const char *tp);      /* tracepoint attachable as raw_tp */
/* Arguments a tracepoint passes to BPF (from btf_trace_TP), or -1. */
int probe_tp_btf_nargs(const char *tp);
bool probe_fentry(void);                /* BPF trampolines usable (fentry/fexit) */
bool probe_kprobe(void);                /* kprobe PMU present */
bool probe_ringbuf(void);
bool probe_map_type(enum bpf_map_type t);
bool probe_prog_type(enum bpf_prog_type t);
bool probe_helper(enum bpf_prog_type t, enum bpf_func_id id);
/* Kernel charges BPF memory to memcg (5.11+) rather than RLIMIT_MEMLOCK. */
bool probe_memcg_accounting(void);

#endif
