// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"
#include "nsset.h"
#include "util.h"

static void add(struct nsset *s, const char *name, int fd)
{
	uint32_t ino;
	if (fd >= 0 ? netns_inode(fd, &ino) : netns_self_inode(&ino))
		die(EXIT_FAIL, "cannot identify network namespace %s", *name ? name : "(own)");
	if (nsset_find(s, ino) >= 0) { /* the same namespace under two names */
		if (fd >= 0)
			close(fd);
		return;
	}
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = (struct nsset_ns){ .name = xstrdup(name), .fd = fd, .ino = ino };
}

void nsset_setup(struct nsset *s, const char *netns, bool all)
{
	memset(s, 0, sizeof(*s));
	if (netns) {
		struct netns ns;
		int fd = netns_require("--netns", netns, &ns);
		add(s, ns.name, fd);
		return;
	}
	add(s, "", -1);
	if (!all)
		return;
	struct netns *v;
	int n = netns_list(&v);
	for (int i = 1; i < n; i++) { /* [0] is the tool's own */
		int fd = netns_open(v[i].path);
		if (fd >= 0) /* a process may have gone meanwhile */
			add(s, v[i].name, fd);
	}
	free(v);
}

void nsset_enter(const struct nsset *s, int i)
{
	if (s->v[i].fd >= 0)
		netns_enter_or_die(s->v[i].fd, s->v[i].name);
}

void nsset_leave(const struct nsset *s, int i)
{
	if (s->v[i].fd >= 0)
		netns_return_or_die();
}

int nsset_find(const struct nsset *s, uint32_t ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].ino == ino)
			return i;
	return -1;
}

const char *nsset_display(const struct nsset *s, uint32_t ino, char *buf, size_t len)
{
	int i = nsset_find(s, ino);
	if (i >= 0)
		return s->v[i].name[0] ? s->v[i].name : "-";
	snprintf(buf, len, "ns:%u", ino);
	return buf;
}

void nsset_free(struct nsset *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->v[i].name);
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
