/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xdpverdict: the network namespaces it watches and their interfaces. */
#ifndef XDPVERDICT_XVNS_H
#define XDPVERDICT_XVNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netdev.h"

struct xv_ns {
	const char *name; /* as the user knows it; "" for the tool's own namespace (common/nsset) */
	int fd;           /* -1: the tool's own */
	uint32_t ino;
	int sock;         /* ethtool socket inside it */
	struct netdev *devs;
	int ndevs;
};

extern struct xv_ns *nss;
extern int nns;

/* The tool's own namespace, or NETNS (-N: checked, exits 5/2/3), or with
 * all, every namespace netns_list() finds (/run/netns names and those of
 * running processes, "pid:N"), each once. */
void xvns_setup(const char *netns, bool all);
/* List the interfaces (and their XDP programs) of every namespace again. */
void xvns_refresh(void);
/* The name to show for namespace inode ino ("-": the tool's own). */
const char *xvns_display(uint32_t ino, char *buf, size_t len);
/* The name of interface ifindex in namespace ino, NULL if unknown. */
const char *xvns_ifname(uint32_t ino, int ifindex);
/* Is interface name in any watched namespace (as of the last refresh)? */
bool xvns_has_iface(const char *name);
/* Is ino a watched namespace? */
bool xvns_watched(uint32_t ino);
void xvns_free(void);

#endif
