/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Network namespaces: one layer for -N, --all-netns and walks over them. */
#ifndef BPFSCOPE_NETNS_H
#define BPFSCOPE_NETNS_H

#include <limits.h>
#include <stdint.h>

struct netns {
	uint64_t ino;       /* nsfs inode: what BPF sees as ns.inum */
	char name[64];      /* name under /run/netns, "init", "self", "pid:N", or "ns:INODE" for a path */
	char path[PATH_MAX];/* what to open to enter it */
};

/* Open a network namespace: NAME under /run/netns, or a path (anything with
 * a '/', e.g. /proc/PID/ns/net).  Returns an fd or -errno: -ENOENT absent,
 * -EACCES/-EPERM not allowed, -EINVAL not a network namespace. */
int netns_open(const char *name_or_path);
/* -N's argument (OPT names the option in messages): opened and checked, or
 * one line and exit: absent 5, not a network namespace 2, EACCES/EPERM 3
 * (names CAP_SYS_ADMIN).  Fills *ns (may be NULL); returns the fd. */
int netns_require(const char *opt, const char *arg, struct netns *ns);
/* Switch this (single-threaded) process to the namespace fd; the first call
 * remembers the original one.  netns_return() goes back.  0 or -errno. */
int netns_enter(int fd);
int netns_return(void);
/* netns_enter that exits on failure (EPERM 3 naming CAP_SYS_ADMIN, else 1);
 * netns_return likewise (1). */
void netns_enter_or_die(int fd, const char *label);
void netns_return_or_die(void);
/* Inode number identifying a namespace fd. */
int netns_inode(int fd, uint32_t *ino);
/* The namespace this process started in. */
int netns_self_inode(uint32_t *ino);
/* Every network namespace this process can see, each once: its own ("init"
 * when it is init's, else "self"), those named under /run/netns, then those
 * of running processes ("pid:N", lowest pid).  Returns the count; *out
 * malloc'd. */
int netns_list(struct netns **out);

#endif
