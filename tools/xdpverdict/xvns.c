// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "util.h"
#include "xvns.h"

struct xv_ns *nss;
int nns;

static void ns_add(const char *name, int fd)
{
	uint32_t ino;
	if (fd >= 0 ? netns_inode(fd, &ino) : netns_self_inode(&ino))
		die(EXIT_FAIL, "cannot identify network namespace %s", *name ? name : "(own)");
	for (int i = 0; i < nns; i++) {
		if (nss[i].ino == ino) { /* the same namespace under two names */
			if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (fd >= 0)
		netns_enter_or_die(fd, name);
	int sock = ethtool_socket();
	if (fd >= 0)
		netns_return_or_die();
	if (sock < 0)
		die_errno(sock, "CAP_NET_ADMIN", "cannot open a socket in network namespace %s", *name ? name : "(own)");
	nss = xrealloc(nss, (nns + 1) * sizeof(*nss));
	nss[nns++] = (struct xv_ns){ .name = xstrdup(name), .fd = fd, .ino = ino, .sock = sock };
}

void xvns_setup(const char *netns, bool all)
{
	if (netns) {
		struct netns ns;
		int fd = netns_require("--netns", netns, &ns);
		ns_add(ns.name, fd);
		return;
	}
	ns_add("", -1);
	if (!all)
		return;
	struct netns *v;
	int n = netns_list(&v);
	for (int i = 1; i < n; i++) { /* [0] is the tool's own */
		int fd = netns_open(v[i].path);
		if (fd >= 0) /* a process may have gone meanwhile */
			ns_add(v[i].name, fd);
	}
	free(v);
}

const char *xvns_display(uint32_t ino, char *buf, size_t len)
{
	for (int i = 0; i < nns; i++)
		if (nss[i].ino == ino)
			return nss[i].name[0] ? nss[i].name : "-";
	snprintf(buf, len, "ns:%u", ino);
	return buf;
}

void xvns_refresh(void)
{
	for (int i = 0; i < nns; i++) {
		struct xv_ns *n = &nss[i];
		free(n->devs);
		n->devs = NULL;
		n->ndevs = 0;
		if (n->fd >= 0)
			netns_enter_or_die(n->fd, n->name);
		int cnt = netdev_list(&n->devs);
		if (n->fd >= 0)
			netns_return_or_die();
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
	for (int i = 0; i < nns; i++)
		if (nss[i].ino == ino)
			return true;
	return false;
}

void xvns_free(void)
{
	for (int i = 0; i < nns; i++) {
		free(nss[i].name);
		free(nss[i].devs);
		close(nss[i].sock);
		if (nss[i].fd >= 0)
			close(nss[i].fd);
	}
	free(nss);
	nss = NULL;
	nns = 0;
}
