// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/libbpf.h>

#include "netdev.h"
#include "util.h"

/* ---- interfaces and XDP -------------------------------------------- */

const char *xdp_mode_name(enum xdp_mode_kind m)
{
	switch (m) {
	case XDPM_NATIVE: return "native";
	case XDPM_GENERIC: return "generic";
	case XDPM_OFFLOAD: return "offload";
	default: return "none";
	}
}

int netdev_list(struct netdev **out)
{
	struct if_nameindex *ifs = if_nameindex(), *p;
	int n = 0, cap = 0;

	*out = NULL;
	if (!ifs)
		return -errno;
	for (p = ifs; p->if_index; p++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		struct netdev *nd;

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		nd = &(*out)[n++];
		memset(nd, 0, sizeof(*nd));
		nd->ifindex = (int)p->if_index;
		snprintf(nd->name, sizeof(nd->name), "%s", p->if_name);
		if (bpf_xdp_query(nd->ifindex, 0, &q))
			continue; /* gone meanwhile, or no netlink: no XDP known */
		if (q.attach_mode == XDP_ATTACHED_NONE)
			continue;
		if (q.drv_prog_id)
			nd->xdp[nd->nxdp++] = (struct netdev_xdp){ q.drv_prog_id, XDPM_NATIVE };
		if (q.skb_prog_id)
			nd->xdp[nd->nxdp++] = (struct netdev_xdp){ q.skb_prog_id, XDPM_GENERIC };
		if (q.hw_prog_id)
			nd->xdp[nd->nxdp++] = (struct netdev_xdp){ q.hw_prog_id, XDPM_OFFLOAD };
		if (!nd->nxdp && q.prog_id) {
			enum xdp_mode_kind m = q.attach_mode == XDP_ATTACHED_SKB ? XDPM_GENERIC
					     : q.attach_mode == XDP_ATTACHED_HW ? XDPM_OFFLOAD
					     : XDPM_NATIVE;
			nd->xdp[nd->nxdp++] = (struct netdev_xdp){ q.prog_id, m };
		}
	}
	if_freenameindex(ifs);
	return n;
}

/* ---- ethtool -------------------------------------------------------- */

int ethtool_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int ethtool_ioctl(int sock, const char *ifname, void *cmd)
{
	struct ifreq ifr = {};

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_data = cmd;
	return ioctl(sock, SIOCETHTOOL, &ifr) ? -errno : 0;
}

int ethtool_driver(int sock, const char *ifname, char *drv, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	int err = ethtool_ioctl(sock, ifname, &info);
	if (err)
		return err;
	snprintf(drv, len, "%s", info.driver);
	return 0;
}

int ethtool_stats_read(int sock, const char *ifname, struct netdev_stats *st)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} sset = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
	struct ethtool_gstrings *gs;
	struct ethtool_stats *req;
	int err, n;

	memset(st, 0, sizeof(*st));
	err = ethtool_ioctl(sock, ifname, &sset);
	if (err)
		return err;
	if (!(sset.hdr.sset_mask & (1ULL << ETH_SS_STATS)) || sset.len == 0)
		return -EOPNOTSUPP;
	if (sset.len > 65536)
		return -E2BIG;
	n = (int)sset.len;

	gs = xcalloc(1, sizeof(*gs) + (size_t)n * ETH_GSTRING_LEN);
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = n;
	err = ethtool_ioctl(sock, ifname, gs);
	if (err) {
		free(gs);
		return err;
	}
	req = xcalloc(1, sizeof(*req) + (size_t)n * sizeof(uint64_t));
	req->cmd = ETHTOOL_GSTATS;
	req->n_stats = n;
	err = ethtool_ioctl(sock, ifname, req);
	if (err) {
		free(gs);
		free(req);
		return err;
	}
	/* the set may have changed between the calls: use the smaller count */
	if ((int)gs->len < n)
		n = (int)gs->len;
	if ((int)req->n_stats < n)
		n = (int)req->n_stats;
	st->n = n;
	st->names = xcalloc(n ? n : 1, sizeof(*st->names));
	st->vals = xcalloc(n ? n : 1, sizeof(uint64_t));
	for (int i = 0; i < n; i++) {
		memcpy(st->names[i], gs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		st->names[i][ETH_GSTRING_LEN - 1] = '\0';
		st->vals[i] = req->data[i];
	}
	free(gs);
	free(req);
	return 0;
}

void ethtool_stats_free(struct netdev_stats *st)
{
	free(st->names);
	free(st->vals);
	memset(st, 0, sizeof(*st));
}
