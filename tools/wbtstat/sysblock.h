/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* wbtstat: disks and their wbt state from sysfs and debugfs. */
#ifndef WBTSTAT_SYSBLOCK_H
#define WBTSTAT_SYSBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WBT_DEBUGFS_BLOCK "/sys/kernel/debug/block"

struct wbt_disk {
	char name[64];
	char majmin[32];
	uint64_t sectors;
	bool wbt_attr;     /* a blk-mq queue with queue/wbt_lat_usec: wbt can run */
	bool wbt_init;     /* ... and reads (EINVAL: wbt not set up on the queue) */
	uint64_t lat_usec;
	bool dbg;          /* debugfs rqos/wbt present */
	int64_t enabled;
	uint64_t min_lat_ns, win_ns, bg, normal, inflight, unknown_cnt;
};

/* "7:0" -> "loop0" through /sys/dev/block; unknown ones keep MAJ:MIN. */
void wbt_name_of_majmin(const char *majmin, char *out, size_t len);
/* -d's argument (name, /dev path, MAJ:MIN; a partition means its disk) ->
 * the disk's name under /sys/block; exits 5 when there is none. */
void wbt_resolve_device(const char *arg, char *out, size_t len);
/* One disk's state (debugfs: its rqos/wbt files when dbg_ok). */
void wbt_read_disk(const char *name, bool dbg_ok, struct wbt_disk *d);
/* Disks to list, by name: every /sys/block entry with a medium, or only
 * `only` (when not empty, with a medium or not).  Returns the count. */
int wbt_list_disks(const char *only, bool dbg_ok, struct wbt_disk **out);

#endif
