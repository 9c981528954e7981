/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fibstat: the routing state of one network namespace, read by rtnetlink
 * (common/rtnl): interfaces (and VRFs), neighbours, nexthop objects, and the
 * routes fibstat watches with their nexthops.
 */
#ifndef FIBSTAT_FIBROUTES_H
#define FIBSTAT_FIBROUTES_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nhop {
	uint8_t gw_family;   /* 0: no gateway (device route) */
	uint8_t gw[16];
	int ifindex;
	int weight;
	bool has_mac;        /* the gateway's neighbour entry, once known */
	uint8_t mac[6];
	/* this interval's sums */
	uint64_t flows, packets, bytes, selections;
};

struct route {
	int family;
	uint32_t table;
	uint8_t prefix[16];
	int plen;
	uint32_t metric;     /* RTA_PRIORITY */
	uint32_t nh_id;      /* RTA_NH_ID: resolved through nexthop objects */
	int nnh;
	struct nhop *nh;
};

/* Which routes to keep: the multipath ones of family (0: both), or with
 * has_prefix every route with exactly that prefix. */
struct route_filter {
	int family;
	bool has_prefix;
	int prefix_family;
	uint8_t prefix[16];
	int plen;
};

/* The watched routes, sorted (family, table, prefix, length, metric). */
extern struct route *routes;
extern int nroutes;

/* Re-read interfaces, nexthop objects and neighbours of the namespace the
 * rtnetlink socket rtnl lives in, and with f the routes.  Exits on error. */
void fibroutes_refresh(int rtnl, const struct route_filter *f);
void fibroutes_free(void);

/* Interface name (ifN when unknown), the VRF device of a table (NULL). */
const char *fib_ifname(int ifindex, char *buf, size_t len);
const char *fib_vrf_of_table(uint32_t table);

/* Addresses: 4 or 16 bytes; AF_INET or AF_INET6 for text (0: neither). */
int fib_addr_len(int family);
int fib_parse_addr(const char *s, uint8_t out[16]);
const char *fib_fmt_addr(int family, const uint8_t *a, char *buf, size_t len);
void fib_mask_prefix(uint8_t *a, int plen, int alen);
/* "10.99.0.0/24" */
const char *fib_route_str(const struct route *r, char *buf, size_t len);

#endif
