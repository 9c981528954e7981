// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "genl.h"
#include "rtnl.h"
#include "util.h"

int genl_open(void)
{
	return nl_open(NETLINK_GENERIC);
}

struct req {
	struct nlmsghdr nh;
	struct genlmsghdr g;
	char attrs[64];
};

static int family_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct rtattr *tb[CTRL_ATTR_MAX + 1];
	rtnl_msg_attrs(tb, CTRL_ATTR_MAX, nh, GENL_HDRLEN);
	if (tb[CTRL_ATTR_FAMILY_ID] && RTA_PAYLOAD(tb[CTRL_ATTR_FAMILY_ID]) >= sizeof(uint16_t))
		memcpy(ctx, RTA_DATA(tb[CTRL_ATTR_FAMILY_ID]), sizeof(uint16_t));
	return 0;
}

int genl_family(int fd, const char *name)
{
	struct req r;
	uint16_t id = 0;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.nh.nlmsg_type = GENL_ID_CTRL;
	r.nh.nlmsg_flags = NLM_F_ACK; /* one answer, then the acknowledgement */
	r.g.cmd = CTRL_CMD_GETFAMILY;
	r.g.version = 1;
	if (!rtnl_add_attr(&r.nh, sizeof(r), CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1))
		return -ENAMETOOLONG;
	int err = rtnl_dump_req(fd, &r.nh, family_cb, &id);
	if (err)
		return err; /* -ENOENT: no such family */
	return id ? id : -ENOENT;
}

int genl_dump(int fd, int family, uint8_t cmd, rtnl_fn fn, void *ctx)
{
	struct req r;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r.nh.nlmsg_type = (uint16_t)family;
	r.nh.nlmsg_flags = NLM_F_DUMP;
	r.g.cmd = cmd;
	r.g.version = 1;
	return rtnl_dump_req(fd, &r.nh, fn, ctx);
}

const char *netdev_xdpf_name(int bit)
{
	static const char *const names[NETDEV_XDPF_NBITS] = {
		"basic", "redirect", "ndo-xmit", "xsk-zerocopy", "hw-offload", "rx-sg", "ndo-xmit-sg",
	};
	return bit >= 0 && bit < NETDEV_XDPF_NBITS ? names[bit] : NULL;
}

/* include/uapi/linux/netdev.h (absent from older user-space headers) */
enum { NETDEV_CMD_DEV_GET_ = 1, NETDEV_A_DEV_IFINDEX_ = 1, NETDEV_A_DEV_XDP_FEATURES_ = 3, NETDEV_A_DEV_MAX_ = 16 };

struct xdpf_list {
	struct netdev_xdpf *v;
	int n;
};

static int xdpf_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct xdpf_list *l = ctx;
	struct rtattr *tb[NETDEV_A_DEV_MAX_ + 1];
	uint32_t ifindex;
	uint64_t f = 0;

	rtnl_msg_attrs(tb, NETDEV_A_DEV_MAX_, nh, GENL_HDRLEN);
	if (!tb[NETDEV_A_DEV_IFINDEX_] || RTA_PAYLOAD(tb[NETDEV_A_DEV_IFINDEX_]) < sizeof(ifindex))
		return 0;
	memcpy(&ifindex, RTA_DATA(tb[NETDEV_A_DEV_IFINDEX_]), sizeof(ifindex));
	if (tb[NETDEV_A_DEV_XDP_FEATURES_] && RTA_PAYLOAD(tb[NETDEV_A_DEV_XDP_FEATURES_]) >= sizeof(f))
		memcpy(&f, RTA_DATA(tb[NETDEV_A_DEV_XDP_FEATURES_]), sizeof(f));
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct netdev_xdpf){ (int)ifindex, f };
	return 0;
}

int netdev_xdp_features(struct netdev_xdpf **out)
{
	struct xdpf_list l = { NULL, 0 };
	int fd = genl_open();

	*out = NULL;
	if (fd < 0)
		return fd;
	int fam = genl_family(fd, "netdev");
	int err = fam < 0 ? fam : genl_dump(fd, fam, NETDEV_CMD_DEV_GET_, xdpf_cb, &l);
	close(fd);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	return l.n;
}
