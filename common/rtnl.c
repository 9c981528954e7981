// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>

#include "rtnl.h"

int nl_open(int protocol)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	int one = 1, big = 1 << 20;
	/* answers stay within the namespace; a large buffer avoids ENOBUFS on big dumps */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int rtnl_open(void)
{
	return nl_open(NETLINK_ROUTE);
}

static size_t header_len(int type)
{
	switch (type) {
	case RTM_GETROUTE: return sizeof(struct rtmsg);
	case RTM_GETLINK: return sizeof(struct ifinfomsg);
	case RTM_GETNEIGH: return sizeof(struct ndmsg);
	case RTM_GETNEXTHOP: return sizeof(struct nhmsg);
	case RTM_GETADDR: return sizeof(struct ifaddrmsg);
	case RTM_GETQDISC:
	case RTM_GETTCLASS:
	case RTM_GETTFILTER: return sizeof(struct tcmsg);
	case RTM_GETACTION: return sizeof(struct tcamsg);
	default: return sizeof(struct rtgenmsg);
	}
}

int rtnl_dump(int fd, int type, int family, rtnl_fn fn, void *ctx)
{
	struct {
		struct nlmsghdr nh;
		unsigned char body[64];
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(header_len(type));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.body[0] = (unsigned char)family; /* every header starts with its family */
	return rtnl_dump_req(fd, &req.nh, fn, ctx);
}

/* After a callback stopped early: read what is left of the answer so the
 * socket stays usable (later answers are also told apart by sequence). */
static void drain(int fd, char *buf, size_t cap)
{
	for (;;) {
		ssize_t m = recv(fd, buf, cap, MSG_DONTWAIT);
		if (m <= 0)
			return;
		for (struct nlmsghdr *d = (struct nlmsghdr *)buf; NLMSG_OK(d, (size_t)m); d = NLMSG_NEXT(d, m))
			if (d->nlmsg_type == NLMSG_DONE || d->nlmsg_type == NLMSG_ERROR)
				return;
	}
}

int rtnl_dump_req(int fd, struct nlmsghdr *req, rtnl_fn fn, void *ctx)
{
	static uint32_t seq;
	req->nlmsg_flags |= NLM_F_REQUEST;
	req->nlmsg_seq = ++seq;
	req->nlmsg_pid = 0;
	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;

	static char buf[1 << 16] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue; /* a late answer to an earlier request */
			if (nh->nlmsg_type == NLMSG_DONE) {
				/* a dump that failed part way says so here */
				if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
					int e;
					memcpy(&e, NLMSG_DATA(nh), sizeof(e));
					return e < 0 ? e : 0;
				}
				return 0;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error ? e->error : 0;
			}
			int r = fn ? fn(nh, ctx) : 0;
			if (r) {
				drain(fd, buf, sizeof(buf));
				return r;
			}
		}
	}
}

struct rtattr *rtnl_add_attr(struct nlmsghdr *nh, size_t cap, int type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(nh->nlmsg_len);
	if (at + RTA_SPACE(len) > cap || RTA_LENGTH(len) > 0xffff)
		return NULL;
	struct rtattr *a = (struct rtattr *)((char *)nh + at);
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	/* the padding too: requests are sent as built */
	memset((char *)RTA_DATA(a) + len, 0, RTA_SPACE(len) - RTA_LENGTH(len));
	nh->nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
	return a;
}

struct rtattr *rtnl_nest_begin(struct nlmsghdr *nh, size_t cap, int type)
{
	return rtnl_add_attr(nh, cap, type | NLA_F_NESTED, NULL, 0);
}

void rtnl_nest_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	if (nest)
		nest->rta_len = (unsigned short)((char *)nh + nh->nlmsg_len - (char *)nest);
}

void rtnl_attrs(struct rtattr **tb, int max, const struct rtattr *rta, int len)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		int t = rta->rta_type & NLA_TYPE_MASK;
		if (t <= max)
			tb[t] = (struct rtattr *)rta;
	}
}

void rtnl_msg_attrs(struct rtattr **tb, int max, const struct nlmsghdr *nh, size_t hdrlen)
{
	const struct rtattr *rta = (const struct rtattr *)((const char *)NLMSG_DATA(nh) + NLMSG_ALIGN(hdrlen));
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(hdrlen);
	rtnl_attrs(tb, max, rta, len < 0 ? 0 : len);
}
