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
/* A bound netlink socket of PROTOCOL (NETLINK_ROUTE, NETLINK_GENERIC...), extended acks on: fd or -errno. */
int nl_open(int protocol);
int rtnl_open(void);
/* Dump RTM_GETROUTE / RTM_GETLINK / RTM_GETNEIGH / RTM_GETNEXTHOP /
 * RTM_GETADDR / RTM_GETQDISC (every interface's) for family (AF_UNSPEC for
 * all), with an otherwise empty header.  0, the callback's value, or -errno. */
int rtnl_dump(int fd, int type, int family, rtnl_fn fn, void *ctx);
/* Send a request the caller prepared (type, flags, fixed header and
 * attributes; nlmsg_len covering them; the sequence number is set here) and
 * hand every answer to fn until NLMSG_DONE, an error or an acknowledgement.
 * With NLM_F_DUMP it serves any dump that needs a header of its own
 * (RTM_GETTFILTER with an ifindex and parent, RTM_GETACTION with attributes);
 * without, a request with NLM_F_ACK (RTM_NEWLINK...).  0, the callback's
 * value, or -errno (a dump the kernel ended with an error in its
 * NLMSG_DONE gives that error). */
int rtnl_dump_req(int fd, struct nlmsghdr *req, rtnl_fn fn, void *ctx);

/* Building a request in a buffer of cap bytes that starts with its
 * nlmsghdr: append an attribute (NULL and nothing appended when it does not
 * fit), open a nest (an empty attribute) and close it (its length then
 * covers everything appended since). */
struct rtattr *rtnl_add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len);
struct rtattr *rtnl_nest_begin(struct nlmsghdr *nh, size_t cap, int type);
void rtnl_nest_end(struct nlmsghdr *nh, struct rtattr *nest);

/* Index the attributes in [rta, rta+len) by type into tb[0..max]; later
 * duplicates win, unknown types are skipped. */
void rtnl_attrs(struct rtattr **tb, int max, const struct rtattr *rta, int len);
/* The attributes after a fixed header of hdrlen bytes in message nh. */
void rtnl_msg_attrs(struct rtattr **tb, int max, const struct nlmsghdr *nh, size_t hdrlen);

#endif
