// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "util.h"

int bpfobj_ids(enum bpf_obj_kind kind, uint32_t **ids)
{
	uint32_t id = 0, *arr = NULL;
	int n = 0, cap = 0, err;

	for (;;) {
		if (kind == OBJ_MAP)
			err = bpf_map_get_next_id(id, &id);
		else if (kind == OBJ_PROG)
			err = bpf_prog_get_next_id(id, &id);
		else
			err = bpf_link_get_next_id(id, &id);
		if (err) {
			if (errno == ENOENT)
				break;
			free(arr);
			return -errno;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			arr = xrealloc(arr, cap * sizeof(*arr));
		}
		arr[n++] = id;
	}
	*ids = arr;
	return n;
}

int bpfobj_map_open(uint32_t id, struct bpf_map_info *info)
{
	uint32_t len = sizeof(*info);
	int fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int bpfobj_prog_open(uint32_t id, struct bpf_prog_info *info)
{
	uint32_t len = sizeof(*info);
	int fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int bpfobj_prog_map_ids(int prog_fd, uint32_t **ids)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	uint32_t n = info.nr_map_ids;
	uint32_t *arr = xcalloc(n ? n : 1, sizeof(uint32_t));
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (uint64_t)(uintptr_t)arr;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		free(arr);
		return -errno;
	}
	if (info.nr_map_ids < n)
		n = info.nr_map_ids;
	*ids = arr;
	return (int)n;
}

int fdinfo_u64(int fd, const char *key, uint64_t *val)
{
	return proc_fdinfo_u64(0, fd, key, val);
}

int proc_fdinfo_u64(int pid, int fd, const char *key, uint64_t *val)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	int ret = -ENOENT;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *p = line + klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			*val = strtoull(p, NULL, 10);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

const char *map_type_name(uint32_t type)
{
	static __thread char buf[24];
	const char *s = libbpf_bpf_map_type_str(type);
	if (s)
		return s;
	switch (type) {
	case 31: return "user_ringbuf";
	case 32: return "cgrp_storage";
	case 33: return "arena";
	}
	snprintf(buf, sizeof(buf), "type_%u", type);
	return buf;
}

int map_type_from_name(const char *name)
{
	for (uint32_t t = 1; t < 64; t++) {
		const char *s = map_type_name(t);
		if (strncmp(s, "type_", 5) && !strcmp(s, name))
			return (int)t;
	}
	return -1;
}

const char *prog_type_name(uint32_t type)
{
	static __thread char buf[24];
	const char *s = libbpf_bpf_prog_type_str(type);
	if (s)
		return s;
	snprintf(buf, sizeof(buf), "type_%u", type);
	return buf;
}

int bpfobj_iter_read(struct bpf_program *prog, size_t recsize, void (*fn)(const void *rec, void *ctx),
		     void *ctx)
{
	struct bpf_link *link;
	char buf[4096];
	size_t have = 0;
	int fd, err = 0;

	if (recsize == 0 || recsize > sizeof(buf))
		return -EINVAL;
	link = bpf_program__attach_iter(prog, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		have += r;
		size_t off = 0;
		for (; off + recsize <= have; off += recsize)
			fn(buf + off, ctx);
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	close(fd);
	bpf_link__destroy(link);
	return err;
}

struct owner_list {
	struct owner *v;
	int n, cap;
};

static void add_owner(const void *p, void *ctx)
{
	struct owner_list *l = ctx;
	struct owner_rec rec;
	memcpy(&rec, p, sizeof(rec));
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct owner *o = &l->v[l->n++];
	o->pid = rec.pid;
	o->id = rec.id;
	o->fd = rec.fd;
	o->kind = rec.kind;
	memcpy(o->comm, rec.comm, sizeof(rec.comm));
	o->comm[15] = '\0';
}

int bpfobj_owners(struct bpf_program *owners_scan, struct owner **out)
{
	struct owner_list l = { 0 };
	int err = bpfobj_iter_read(owners_scan, sizeof(struct owner_rec), add_owner, &l);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	return l.n;
}

/* ---- pins ----------------------------------------------------------- */

static struct pin *pins;
static int npins, cappins;

static int pin_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char link[64], target[64];
	(void)st;
	(void)ftw;
	if (flag != FTW_F)
		return 0;
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(link, target, sizeof(target) - 1);
	target[l > 0 ? l : 0] = '\0';
	enum bpf_obj_kind kind = 0;
	uint32_t id = 0;
	if (strstr(target, "bpf-map")) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			kind = OBJ_MAP;
			id = info.id;
		}
	} else if (strstr(target, "bpf-prog")) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			kind = OBJ_PROG;
			id = info.id;
		}
	} else if (strstr(target, "bpf_link") || strstr(target, "bpf-link")) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			kind = OBJ_LINK;
			id = info.id;
		}
	}
	close(fd);
	if (!kind)
		return 0;
	if (npins == cappins) {
		cappins = cappins ? cappins * 2 : 16;
		pins = xrealloc(pins, cappins * sizeof(*pins));
	}
	pins[npins].id = id;
	pins[npins].kind = kind;
	pins[npins].path = xstrdup(path);
	npins++;
	return 0;
}

int bpfobj_pins(struct pin **out)
{
	char line[4096], **walked = NULL;
	int nwalked = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	pins = NULL;
	npins = cappins = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts ... - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "bpf ", 4))
			continue;
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		/* bpffs mounted several times on one path (stacked): the walk
		 * sees the top one each time, so walk each path once */
		bool seen = false;
		for (int i = 0; i < nwalked && !seen; i++)
			seen = !strcmp(walked[i], tok);
		if (seen)
			continue;
		walked = xrealloc(walked, (nwalked + 1) * sizeof(*walked));
		walked[nwalked++] = xstrdup(tok);
		nftw(tok, pin_visit, 16, FTW_PHYS | FTW_MOUNT);
	}
	for (int i = 0; i < nwalked; i++)
		free(walked[i]);
	free(walked);
	fclose(f);
	*out = pins;
	return npins;
}

void bpfobj_pins_free(struct pin *p, int n)
{
	for (int i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

int proc_memlock_limit(int pid, uint64_t *bytes)
{
	char path[64], line[256];
	int ret = -1;
	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Max locked memory", 17))
			continue;
		char soft[32];
		if (sscanf(line + 17, "%31s", soft) == 1) {
			if (!strcmp(soft, "unlimited"))
				*bytes = UINT64_MAX;
			else
				*bytes = strtoull(soft, NULL, 10);
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

bool proc_exists(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

uint64_t bpfobj_recursion_misses(struct bpf_object *obj)
{
	struct bpf_program *p;
	uint64_t total = 0;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int fd = bpf_program__fd(p);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		total += info.recursion_misses;
	}
	return total;
}
