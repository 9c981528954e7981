// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsset.h"
#include "util.h"
#include "xvns.h"

struct xv_ns *nss;
int nns;

/* The namespaces (common/nsset); each gets its ethtool socket here. */
static struct nsset set;

void xvns_setup(const char *netns, bool all)
{
	nsset_setup(&set, netns, all);
	nss = xcalloc(set.n, sizeof(*nss));
	for (int i = 0; i < set.n; i++) {
		nsset_enter(&set, i);
		int sock = ethtool_socket();
		nsset_leave(&set, i);
		if (sock < 0)
			die_errno(sock, "CAP_NET_ADMIN", "cannot open a socket in network namespace %s",
				  set.v[i].name[0] ? set.v[i].name : "(own)");
		nss[i] = (struct xv_ns){ .name = set.v[i].name, .fd = set.v[i].fd, .ino = set.v[i].ino, .sock = sock };
	}
	nns = set.n;
}

const char *xvns_display(uint32_t ino, char *buf, size_t len)
{
	return nsset_display(&set, ino, buf, len);
}

void xvns_refresh(void)
{
	for (int i = 0; i < nns; i++) {
		struct xv_ns *n = &nss[i];
		free(n->devs);
		n->devs = NULL;
		n->ndevs = 0;
		nsset_enter(&set, i);
		int cnt = netdev_list(&n->devs);
		nsset_leave(&set, i);
		if (cnt < 0)
			die_errno(cnt, NULL, "cannot list interfaces in %s", n->name[0] ? n->name : "this namespace");
		n->ndevs = cnt;
	}
}

const char *xvns_ifname(uint32_t ino, int ifindex)
{
	for (int i = 0; i < nns; i++)
		for (int k = 0; nss[i].ino == ino && k < nss[i].ndevs; k++)
			if (nss[i].devs[k].ifindex == ifindex)
				return nss[i].devs[k].name;
	return NULL;
}

bool xvns_has_iface(const char *name)
{
	for (int i = 0; i < nns; i++)
		for (int k = 0; k < nss[i].ndevs; k++)
			if (!strcmp(nss[i].devs[k].name, name))
				return true;
	return false;
}

bool xvns_watched(uint32_t ino)
{
	return nsset_find(&set, ino) >= 0;
}

void xvns_free(void)
{
	for (int i = 0; i < nns; i++) {
		free(nss[i].devs);
		close(nss[i].sock);
	}
	free(nss);
	nss = NULL;
	nns = 0;
	nsset_free(&set);
}
