// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE /* strverscmp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include "sysblock.h"
#include "util.h"
#include "wbtstat.h"

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return (int)n;
}

static int read_u64_at(const char *path, uint64_t *v)
{
	char buf[64];
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	return parse_u64(buf, v) ? -EINVAL : 0;
}

static int read_i64_at(const char *path, int64_t *v)
{
	char buf[64], *end;
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

void wbt_name_of_majmin(const char *majmin, char *out, size_t len)
{
	char path[128], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/block/%s", majmin);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		snprintf(out, len, "%s", majmin);
		return;
	}
	link[n] = '\0';
	const char *b = strrchr(link, '/');
	snprintf(out, len, "%.*s", (int)len - 1, b ? b + 1 : link);
}

void wbt_resolve_device(const char *arg, char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX], name[64];
	const char *a = arg;

	if (!strncmp(a, "/dev/", 5))
		a += 5;
	if (strchr(a, ':'))
		wbt_name_of_majmin(a, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s", a);
	if (strchr(name, '/') || !*name)
		die(EXIT_NOTFOUND, "no block device '%s' (disks are listed in /sys/block)", arg);
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	if (!access(path, F_OK)) {
		snprintf(out, len, "%s", name);
		return;
	}
	/* a partition: wbt works per disk, so watch its disk */
	snprintf(path, sizeof(path), "/sys/class/block/%s/partition", name);
	if (!access(path, F_OK)) {
		snprintf(path, sizeof(path), "/sys/class/block/%s", name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			char *slash = strrchr(link, '/');
			if (slash) {
				*slash = '\0';
				slash = strrchr(link, '/');
				snprintf(out, len, "%.63s", slash ? slash + 1 : link);
				note("%s is a partition: watching its disk %s", name, out);
				return;
			}
		}
	}
	die(EXIT_NOTFOUND, "no block device '%s' (disks are listed in /sys/block)", arg);
}

void wbt_read_disk(const char *name, bool dbg_ok, struct wbt_disk *d)
{
	char path[PATH_MAX], buf[256];
	uint64_t v;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	if (read_text(path, d->majmin, sizeof(d->majmin)) < 0)
		d->majmin[0] = '\0';
	snprintf(path, sizeof(path), "/sys/block/%s/size", name);
	if (!read_u64_at(path, &v))
		d->sectors = v;
	/* wbt hooks the blk-mq path only; older kernels show the attribute on
	 * bio-based queues too (reading it fails there) */
	snprintf(path, sizeof(path), "/sys/block/%s/mq", name);
	d->wbt_attr = !access(path, F_OK);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/wbt_lat_usec", name);
	d->wbt_attr = d->wbt_attr && !access(path, F_OK);
	d->wbt_init = d->wbt_attr && !read_u64_at(path, &d->lat_usec);
	if (!dbg_ok)
		return;
	snprintf(path, sizeof(path), WBT_DEBUGFS_BLOCK "/%s/rqos/wbt/enabled", name);
	if (read_i64_at(path, &d->enabled))
		return;
	d->dbg = true;
#define DBG(file, var) \
	snprintf(path, sizeof(path), WBT_DEBUGFS_BLOCK "/%s/rqos/wbt/" file, name); \
	if (read_u64_at(path, &var)) \
		d->dbg = false;
	DBG("min_lat_nsec", d->min_lat_ns)
	DBG("curr_win_nsec", d->win_ns)
	DBG("wb_background", d->bg)
	DBG("wb_normal", d->normal)
	DBG("unknown_cnt", d->unknown_cnt)
#undef DBG
	/* "0: inflight 3\n1: inflight 0\n2: inflight 0" */
	snprintf(path, sizeof(path), WBT_DEBUGFS_BLOCK "/%s/rqos/wbt/inflight", name);
	if (read_text(path, buf, sizeof(buf)) < 0) {
		d->dbg = false;
		return;
	}
	d->inflight = wbt_inflight_sum(buf);
}

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(((const struct wbt_disk *)a)->name, ((const struct wbt_disk *)b)->name);
}

int wbt_list_disks(const char *only, bool dbg_ok, struct wbt_disk **out)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *de;
	struct wbt_disk *v = NULL;
	int n = 0;

	if (!dir)
		die(EXIT_FAIL, "cannot read /sys/block: %s", errno_name(errno));
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (only[0] && strcmp(de->d_name, only))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		wbt_read_disk(de->d_name, dbg_ok, &v[n]);
		/* no medium (an unbound loop device, an empty drive): not a disk yet */
		if (!v[n].sectors && !only[0])
			continue;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}
