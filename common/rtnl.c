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

int rtnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
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

static size_t header_len(int type)
{
	switch (type) {
	case RTM_GETROUTE: return sizeof(struct rtmsg);
	case RTM_GETLINK: return sizeof(struct ifinfomsg);
	case RTM_GETNEIGH: return sizeof(struct ndmsg);
	case RTM_GETNEXTHOP: return sizeof(struct nhmsg);
	case RTM_GETADDR: return sizeof(struct ifaddrmsg);
	default: return sizeof(struct rtgenmsg);
	}
}

int rtnl_dump(int fd, int type, int family, rtnl_fn fn, void *ctx)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nh;
		unsigned char body[64];
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(header_len(type));
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = ++seq;
	req.body[0] = (unsigned char)family; /* every header starts with its family */
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
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
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error ? e->error : 0;
			}
			int r = fn(nh, ctx);
			if (r) {
				/* drain the rest so the socket stays usable */
				for (;;) {
					ssize_t m = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
					if (m <= 0)
						break;
					bool done = false;
					for (struct nlmsghdr *d = (struct nlmsghdr *)buf; NLMSG_OK(d, (size_t)m);
					     d = NLMSG_NEXT(d, m))
						if (d->nlmsg_type == NLMSG_DONE || d->nlmsg_type == NLMSG_ERROR)
							done = true;
					if (done)
						break;
				}
				return r;
			}
		}
	}
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
