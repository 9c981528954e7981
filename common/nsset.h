/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The network namespaces a tool watches: its own, the one -N names, or with
 * --all-netns every one netns_list() finds.  Each once, by inode.
 */
#ifndef BPFSCOPE_NSSET_H
#define BPFSCOPE_NSSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nsset_ns {
	char *name;       /* as the user knows it; "" for the tool's own namespace */
	int fd;           /* -1: the tool's own */
	uint32_t ino;
};

struct nsset {
	struct nsset_ns *v;
	int n;
};

/* The tool's own namespace, or NETNS (-N: checked, exits 5/2/3), or with
 * all, every namespace netns_list() finds (/run/netns names and those of
 * running processes, "pid:N"). */
void nsset_setup(struct nsset *s, const char *netns, bool all);
/* Enter namespace i (a no-op for the tool's own), and back; both exit on
 * failure. */
void nsset_enter(const struct nsset *s, int i);
void nsset_leave(const struct nsset *s, int i);
/* The name to show for namespace inode ino ("-": the tool's own). */
const char *nsset_display(const struct nsset *s, uint32_t ino, char *buf, size_t len);
/* Index of inode ino in the set, -1 if not watched. */
int nsset_find(const struct nsset *s, uint32_t ino);
void nsset_free(struct nsset *s);

#endif
