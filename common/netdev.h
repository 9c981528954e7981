/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Network namespaces, interfaces with their XDP attachment, ethtool stats. */
#ifndef BPFSCOPE_NETDEV_H
#define BPFSCOPE_NETDEV_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "netns.h"

/* ---- interfaces and XDP -------------------------------------------- */

enum xdp_mode_kind { XDPM_NONE, XDPM_NATIVE, XDPM_GENERIC, XDPM_OFFLOAD };

struct netdev_xdp {
	uint32_t prog_id;          /* 0: nothing attached in this mode */
	enum xdp_mode_kind mode;
};

struct netdev {
	int ifindex;
	char name[IF_NAMESIZE];
	int nxdp;                  /* programs attached (one per mode, at most 3) */
	struct netdev_xdp xdp[3];
};

const char *xdp_mode_name(enum xdp_mode_kind m); /* "native", "generic", "offload" */

/* Every interface of the current namespace, with its XDP programs (libbpf
 * bpf_xdp_query).  Returns count or -errno; *out malloc'd. */
int netdev_list(struct netdev **out);

/* ---- ethtool (SIOCETHTOOL) ----------------------------------------- */

/* A socket for ethtool ioctls in the current namespace (ioctls on it keep
 * working after netns_return).  Returns fd or -errno. */
int ethtool_socket(void);
/* Any ethtool command (a struct ethtool_* starting with its cmd) on
 * ifname: 0 or -errno. */
int ethtool_ioctl(int sock, const char *ifname, void *cmd);
/* Driver name (ETHTOOL_GDRVINFO).  0 or -errno. */
int ethtool_driver(int sock, const char *ifname, char *drv, size_t len);

struct netdev_stats {
	int n;
	char (*names)[32];         /* ETH_GSTRING_LEN */
	uint64_t *vals;
};
/* Names (ETH_SS_STATS via ETHTOOL_GSSET_INFO + ETHTOOL_GSTRINGS) and values
 * (ETHTOOL_GSTATS).  0 or -errno (-EOPNOTSUPP: the driver has none). */
int ethtool_stats_read(int sock, const char *ifname, struct netdev_stats *st);
void ethtool_stats_free(struct netdev_stats *st);

#endif
