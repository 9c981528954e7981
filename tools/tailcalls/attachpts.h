/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every place a BPF program is attached that the kernel lets us find:
 *   - XDP (driver, generic, offload) on every interface of every network
 *     namespace we can enter: our own, those named under /run/netns and
 *     those of running processes; there too, from common/tcdisc, TC
 *     filters (cls_bpf), tcx (Linux 6.6+) and netkit (6.7+) programs, and
 *     LWT programs on routes (hook "lwt", target "ROUTE via DEV", prog_id 0
 *     when the route's name matches no loaded program or several); the
 *     netns flow dissector;
 *   - cgroup programs on every cgroup of the cgroup2 hierarchy;
 *   - programs attached to sockmaps and sockhashes;
 *   - every bpf_link (tracing, raw tracepoints, iterators, netns, XDP,
 *     perf events, kprobe_multi, struct_ops, netfilter, tcx, netkit, ...),
 *     merged with what the walks above found;
 *   - tracepoints, kprobes and uprobes attached through perf events held
 *     open by any process (BPF_TASK_FD_QUERY).
 * Socket filters attached with SO_ATTACH_BPF cannot be enumerated.
 */
#ifndef BPFSCOPE_ATTACHPTS_H
#define BPFSCOPE_ATTACHPTS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "netns.h"

struct attachpt {
	char id[128];       /* unique: "xdp:NETNS_INO:IFINDEX:MODE", "link:ID", ... */
	char hook[32];      /* xdp, tc, tcx, netkit, lwt, cgroup, tracepoint, kprobe, raw_tracepoint, ... */
	char target[256];   /* interface, route, cgroup path, tracepoint or function */
	char detail[96];    /* xdp mode, tc direction/priority/handle, attach type */
	char netns[64];     /* network namespace name; "" when not per netns */
	uint64_t netns_ino;
	int ifindex;        /* 0 when not an interface */
	uint32_t prog_id;
	uint32_t link_id;   /* 0: attached without a bpf_link */
	int pid;            /* perf events: a process holding the event; else 0 */
};



struct maplist;
/* All attach points, in a stable order (per netns and interface, then
 * cgroups, links, perf events).  maps (common/maplist.h) says which maps are
 * sockmaps; only those are opened.  Returns the count or -errno; *out
 * malloc'd.  *nnetns gets the number of namespaces entered. */
int attachpts_collect(const struct maplist *maps, struct attachpt **out, int *nnetns);

#endif
