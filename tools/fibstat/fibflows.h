/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fibstat: flows (5-tuples per interface and neighbour MAC) from the BPF flow
 * table: --flow specs, which watched route and nexthop a flow left by,
 * retiring idle flows while keeping their counts.
 */
#ifndef FIBSTAT_FIBFLOWS_H
#define FIBSTAT_FIBFLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "fibstat.h"
#include "fibroutes.h"

/* --flow proto=P,src=A,sport=N,dst=A,dport=N (any subset, each key once). */
struct flowspec {
	bool set;
	int family;        /* 0: any */
	int proto;         /* -1: any */
	bool has_src, has_dst;
	uint8_t src[16], dst[16];
	int sport, dport;  /* -1: any */
};
/* 0, or -1 with a message (naming the bad part) in err. */
int flowspec_parse(const char *arg, struct flowspec *f, char *err, size_t errlen);
/* Does a flow match family (0: any) and f (NULL or unset: any)? */
bool flow_matches(const struct fs_flow_key *k, int family, const struct flowspec *f);

/* IP protocol by name or number (-1: neither), and its name. */
int proto_number(const char *s);
const char *proto_name(int p, char *buf, size_t len);

struct flow {
	struct fs_flow_key k;
	struct fs_flow_val v;
	double last_change;  /* monotonic time its packet count last moved */
};

/* This snapshot's flows, sorted. */
extern struct flow *fl;
extern int nfl;

/* The route (of routes[]) and nexthop *nhi a flow left by, or NULL: the
 * longest prefix among the routes that holds the destination and has a
 * nexthop on the device, told apart by the neighbour's MAC where several
 * share it. */
struct route *flow_route(const struct fs_flow_key *k, int *nhi);

/* Read the BPF flow table (map_fd, max_flows entries at most), sorted; note
 * when each flow last moved and retire those idle longer than timeout
 * seconds (0: never): their counts move to their route's nexthop, the BPF
 * entry is freed for new flows. */
void flows_collect(int map_fd, unsigned max_flows, double timeout);
/* Add the retired flows' counts to the routes' nexthops. */
void flows_add_retired(void);
/* Flows retired so far. */
uint64_t flows_retired(void);
/* The previous snapshot's packet count of flow f (0 for a new one). */
uint64_t flow_prev_packets(const struct flow *f);
/* Remember this snapshot's flows for the next one. */
void flows_remember(void);
void flows_free(void);

#endif
