/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Discovery of the traffic-control family of BPF programs in the current
 * network namespace, over rtnetlink and BPF_PROG_QUERY:
 *   - cls_bpf filters on clsact (and ingress) qdiscs, with the other filters
 *     sharing their hook;
 *   - tcx programs (Linux 6.6+) and netkit programs (6.7+), with their links;
 *   - lightweight-tunnel programs on routes of every table, IPv4 and IPv6
 *     (`ip route add ... encap bpf in|out|xmit ...`), matched to loaded
 *     programs by name and type, since the route carries a name and no id;
 *   - act_mirred actions with the kernel's own statistics.
 * Used by tcverdict and by tailcalls (tools/tailcalls/attachpts.c).
 */
#ifndef BPFSCOPE_TCDISC_H
#define BPFSCOPE_TCDISC_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef IFNAMSIZ
#define IFNAMSIZ IF_NAMESIZE
#endif

enum tc_kind { TCK_CLS_BPF, TCK_TCX, TCK_NETKIT, TCK_LWT };
enum tc_dir { TCD_INGRESS, TCD_EGRESS, TCD_PRIMARY, TCD_PEER, TCD_LWT_IN, TCD_LWT_OUT, TCD_LWT_XMIT };
const char *tc_kind_name(enum tc_kind k);  /* "cls_bpf", "tcx", "netkit", "lwt" */
const char *tc_dir_name(enum tc_dir d);    /* "ingress","egress","primary","peer","in","out","xmit" */

struct tcprog {
	enum tc_kind kind;
	enum tc_dir dir;
	int ifindex;                 /* lwt: the route's output device (RTA_OIF; per nexthop for
	                                multipath), 0 if none; netkit: the primary device, for
	                                primary and peer programs alike (the kernel attaches and
	                                queries both there; peer programs run on its peer) */
	char ifname[IFNAMSIZ];       /* "" when ifindex is 0 */
	uint32_t prog_id;            /* 0: an LWT program matched no loaded program, or ambiguously */
	char prog_name[16];          /* from bpf_prog_info (LWT: the loaded program's name when matched) */
	uint32_t link_id;            /* tcx/netkit link, 0 if attached without a link */
	bool direct_action;          /* cls_bpf: TCA_BPF_FLAG_ACT_DIRECT */
	uint32_t pref, handle;       /* cls_bpf */
	char route[160];             /* lwt: "10.9.0.0/24 table main" (family-aware, "default" for /0,
	                                a host route without its /32 or /128, as ip route prints it) */
	char lwt_name[64];           /* lwt: LWT_BPF_PROG_NAME as the route carries it */
	int candidates;              /* lwt: loaded programs of that type matching the name (>1: ambiguous) */
	int others_on_hook;          /* tc hooks: other filters (any kind) or programs on the same
	                                ifindex+direction besides this one (cls_bpf and tcx share
	                                ingress and egress; netkit primary and peer are hooks of their
	                                own); lwt: 0 */
};
/* Every TC-family BPF program in the CURRENT network namespace (the caller
 * enters it), in a stable order (ifindex, dir, kind, pref; then the kernel's
 * own order: tcx/netkit programs in the order they run, LWT routes by route).
 * Returns the count (>= 0) or -errno; *out malloc'd (free()), NULL when 0.
 * Needs root-ish privileges; a query the kernel refuses (tcx on < 6.6, netkit
 * on < 6.7: EINVAL) just lists nothing. */
int tcdisc_collect(struct tcprog **out);

struct tcmirred {
	uint32_t index;
	int eaction;                 /* TCA_EGRESS_REDIR 1, TCA_EGRESS_MIRROR 2, TCA_INGRESS_REDIR 3, TCA_INGRESS_MIRROR 4 */
	int ifindex;                 /* target device (0: none / a block target) */
	char target[IFNAMSIZ];       /* "" when the device is gone */
	int action;                  /* tc_gen action (TC_ACT_STOLEN for redirect, TC_ACT_PIPE for mirror...) */
	uint64_t packets, bytes;     /* TCA_STATS_BASIC (TCA_STATS_PKT64 when present): software and
	                                hardware together, what `tc -s -j actions ls action mirred`
	                                prints as "packets" and "bytes" */
	uint64_t drops, overlimits;  /* TCA_STATS_QUEUE */
	uint32_t refcnt, bindcnt;
};
/* Every act_mirred action in the current netns (RTM_GETACTION dump of kind
 * "mirred"), by index.  Count or -errno; *out malloc'd, NULL when 0. */
int tcdisc_mirred(struct tcmirred **out);

/* ---- pieces, exposed for unit tests ------------------------------------ */

/* "main", "local", "default" or the number. */
void tcdisc_table_name(uint32_t table, char *buf, size_t len);
/* "10.9.0.0/24 table main"; addr is family's address (4 or 16 bytes), NULL
 * for the default route. */
void tcdisc_route_str(int family, const void *addr, int prefixlen, uint32_t table, char *buf, size_t len);

struct tcdisc_prog {
	uint32_t id;
	uint32_t type;               /* BPF_PROG_TYPE_* */
	char name[16];
};
/* The LWT match on a list of loaded programs: those of the direction's type
 * (BPF_PROG_TYPE_LWT_IN/OUT/XMIT) whose name equals lwt_name (as the kernel
 * keeps it: at most 15 characters), else, for iproute2's "FILE:[SECTION]"
 * form, whose name equals SECTION (truncated the same way), else all of
 * that type.  Returns the number of candidates; *id is the program's id
 * when exactly one, else 0. */
int tcdisc_lwt_match(const struct tcdisc_prog *progs, int n, enum tc_dir dir, const char *lwt_name,
		     uint32_t *id);

#endif
