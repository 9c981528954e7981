/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtnetlink dumps (routes, links, neighbours, nexthop objects) without libmnl. */
#ifndef BPFSCOPE_RTNL_H
#define BPFSCOPE_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* Called once per message of the dump; a non-zero return stops the dump
 * and is returned by rtnl_dump. */
typedef int (*rtnl_fn)(const struct nlmsghdr *nh, void *ctx);

/* A NETLINK_ROUTE socket in the current network namespace: fd or -errno. */
int rtnl_open(void);
/* Dump RTM_GETROUTE / RTM_GETLINK / RTM_GETNEIGH / RTM_GETNEXTHOP for family
 * (AF_UNSPEC for all).  0, the callback's value, or -errno. */
int rtnl_dump(int fd, int type, int family, rtnl_fn fn, void *ctx);

/* Index the attributes in [rta, rta+len) by type into tb[0..max]; later
 * duplicates win, unknown types are skipped. */
void rtnl_attrs(struct rtattr **tb, int max, const struct rtattr *rta, int len);
/* The attributes after a fixed header of hdrlen bytes in message nh. */
void rtnl_msg_attrs(struct rtattr **tb, int max, const struct nlmsghdr *nh, size_t hdrlen);

#endif
