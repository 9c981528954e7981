// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "netns.h"
#include "util.h"

#define NETNS_RUN_DIR "/run/netns"

static int home_fd = -1;

int netns_open(const char *name_or_path)
{
	char path[PATH_MAX];
	int fd;

	if (!name_or_path || !*name_or_path)
		return -EINVAL;
	if (strchr(name_or_path, '/'))
		snprintf(path, sizeof(path), "%s", name_or_path);
	else if (snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name_or_path) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* only an nsfs file answers NS_GET_NSTYPE (4.11+) */
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int netns_require(const char *opt, const char *arg, struct netns *ns)
{
	int fd = netns_open(arg);
	uint32_t ino = 0;

	switch (fd) {
	case -ENOENT:
		die(EXIT_NOTFOUND, "no network namespace '%s' (names are under " NETNS_RUN_DIR ", see ip netns list)",
		    arg);
	case -EACCES:
	case -EPERM:
		die(EXIT_PERM, "cannot open network namespace '%s': %s (needs CAP_SYS_ADMIN)", arg, errno_name(fd));
	case -EINVAL:
		die(EXIT_USAGE, "invalid %s '%s': not a network namespace (expected a name under " NETNS_RUN_DIR
		    " or a path such as /proc/PID/ns/net)", opt, arg);
	default:
		if (fd < 0)
			die(EXIT_FAIL, "cannot open network namespace '%s': %s", arg, errno_name(fd));
	}
	if (ns) {
		memset(ns, 0, sizeof(*ns));
		netns_inode(fd, &ino);
		ns->ino = ino;
		if (strchr(arg, '/'))
			snprintf(ns->name, sizeof(ns->name), "ns:%u", ino);
		else
			snprintf(ns->name, sizeof(ns->name), "%s", arg);
		if (strchr(arg, '/'))
			snprintf(ns->path, sizeof(ns->path), "%s", arg);
		else
			snprintf(ns->path, sizeof(ns->path), NETNS_RUN_DIR "/%s", arg);
	}
	return fd;
}

int netns_enter(int fd)
{
	if (home_fd < 0) {
		home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (home_fd < 0)
			return -errno;
	}
	if (setns(fd, CLONE_NEWNET))
		return -errno;
	return 0;
}

int netns_return(void)
{
	if (home_fd < 0)
		return 0;
	if (setns(home_fd, CLONE_NEWNET))
		return -errno;
	return 0;
}

void netns_enter_or_die(int fd, const char *label)
{
	int err = netns_enter(fd);
	if (err == -EPERM || err == -EACCES)
		die(EXIT_PERM, "cannot enter network namespace %s: %s (needs CAP_SYS_ADMIN)", label, errno_name(err));
	if (err)
		die(EXIT_FAIL, "cannot enter network namespace %s: %s", label, errno_name(err));
}

void netns_return_or_die(void)
{
	int err = netns_return();
	if (err)
		die(EXIT_FAIL, "cannot return to the original network namespace: %s", errno_name(err));
}

int netns_inode(int fd, uint32_t *ino)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	*ino = (uint32_t)st.st_ino;
	return 0;
}

int netns_self_inode(uint32_t *ino)
{
	struct stat st;
	/* the original namespace even after netns_enter() */
	if (home_fd >= 0)
		return netns_inode(home_fd, ino);
	if (stat("/proc/self/ns/net", &st))
		return -errno;
	*ino = (uint32_t)st.st_ino;
	return 0;
}

static bool ns_ino(const char *path, uint64_t *ino)
{
	struct stat st;
	if (stat(path, &st))
		return false;
	*ino = st.st_ino;
	return true;
}

/* Add a namespace unless its inode is there already; a /run/netns name
 * (rename) replaces the name it had. */
static void ns_add(struct netns **v, int *n, uint64_t ino, const char *name, const char *path, bool rename)
{
	for (int i = 0; i < *n; i++) {
		if ((*v)[i].ino != ino)
			continue;
		if (rename && strcmp((*v)[i].name, "init")) {
			snprintf((*v)[i].name, sizeof((*v)[i].name), "%s", name);
			snprintf((*v)[i].path, sizeof((*v)[i].path), "%s", path);
		}
		return;
	}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	struct netns *r = &(*v)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->ino = ino;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->path, sizeof(r->path), "%s", path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int netns_list(struct netns **out)
{
	struct netns *v = NULL;
	int n = 0;
	uint64_t self, init = 0, ino;
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (ns_ino("/proc/self/ns/net", &self)) {
		bool is_init = ns_ino("/proc/1/ns/net", &init) && init == self;
		ns_add(&v, &n, self, is_init ? "init" : "self", "/proc/self/ns/net", false);
	}
	if ((d = opendir(NETNS_RUN_DIR))) {
		char **names = NULL;
		int nn = 0;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			names = xrealloc(names, (nn + 1) * sizeof(char *));
			names[nn++] = xstrdup(e->d_name);
		}
		closedir(d);
		if (nn)
			qsort(names, nn, sizeof(char *), cmp_str);
		for (int i = 0; i < nn; i++) {
			snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", names[i]);
			if (ns_ino(path, &ino))
				ns_add(&v, &n, ino, names[i], path, true);
			free(names[i]);
		}
		free(names);
	}
	if ((d = opendir("/proc"))) {
		int *pids = NULL, np = 0;
		while ((e = readdir(d))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			if (*end || pid <= 0)
				continue;
			pids = xrealloc(pids, (np + 1) * sizeof(int));
			pids[np++] = (int)pid;
		}
		closedir(d);
		if (np)
			qsort(pids, np, sizeof(int), cmp_int);
		for (int i = 0; i < np; i++) {
			char name[32];
			snprintf(path, sizeof(path), "/proc/%d/ns/net", pids[i]);
			if (!ns_ino(path, &ino))
				continue;
			snprintf(name, sizeof(name), "pid:%d", pids[i]);
			ns_add(&v, &n, ino, name, path, false);
		}
		free(pids);
	}
	*out = v;
	return n;
}
