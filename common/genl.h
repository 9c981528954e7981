/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Generic netlink: family ids through nlctrl, dumps, and the "netdev"
 * family's per-device XDP features (NETDEV_CMD_DEV_GET, Linux 6.3+). */
#ifndef BPFSCOPE_GENL_H
#define BPFSCOPE_GENL_H

#include <stdint.h>

#include "rtnl.h"

/* A NETLINK_GENERIC socket in the current network namespace: fd or -errno. */
int genl_open(void);
/* The id of family name (CTRL_CMD_GETFAMILY): > 0, -ENOENT when this
 * kernel has no such family, or -errno. */
int genl_family(int fd, const char *name);
/* Dump command cmd of family id; fn sees every answer (the attributes
 * follow a struct genlmsghdr).  0, the callback's value, or -errno. */
int genl_dump(int fd, int family, uint8_t cmd, rtnl_fn fn, void *ctx);

/* NETDEV_XDP_ACT_* (include/uapi/linux/netdev.h), named as the kernel's
 * netdev.yaml names them. */
enum {
	NETDEV_XDPF_BASIC = 1 << 0,
	NETDEV_XDPF_REDIRECT = 1 << 1,
	NETDEV_XDPF_NDO_XMIT = 1 << 2,
	NETDEV_XDPF_XSK_ZEROCOPY = 1 << 3,
	NETDEV_XDPF_HW_OFFLOAD = 1 << 4,
	NETDEV_XDPF_RX_SG = 1 << 5,
	NETDEV_XDPF_NDO_XMIT_SG = 1 << 6,
	NETDEV_XDPF_NBITS = 7,
};
/* "basic", "redirect", ... for bit i (NULL beyond those known). */
const char *netdev_xdpf_name(int bit);

struct netdev_xdpf {
	int ifindex;
	uint64_t features; /* NETDEV_A_DEV_XDP_FEATURES */
};
/* Every device of the current namespace with its XDP features, from the
 * netdev family.  Count, -ENOENT when the kernel has no netdev family
 * (before 6.3), or -errno; *out malloc'd. */
int netdev_xdp_features(struct netdev_xdpf **out);

#endif
