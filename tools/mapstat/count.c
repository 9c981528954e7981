// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "mapread.h"
#include "util.h"
#include "count.h"
#include "mapstat.skel.h"

static const char *const method_names[] = {
	[CM_NONE] = "none", [CM_KFUNC] = "kfunc", [CM_CORE] = "core",
	[CM_ITER_ELEM] = "iter_elem", [CM_ITER_SOCK] = "iter_sockmap",
	[CM_SLOTS] = "slots", [CM_KEYWALK] = "keywalk", [CM_FIXED] = "fixed",
	[CM_MMAP] = "mmap",
};

const char *count_method_name(enum count_method m)
{
	return m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m] : "none";
}

struct acc {
	struct map_count *v;
	int n, cap;
};

static void take(const void *rec, void *ctx)
{
	struct acc *a = ctx;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	memcpy(&a->v[a->n++], rec, sizeof(*a->v));
}

int count_iter_all(struct bpf_program *prog, struct map_count **out)
{
	struct acc a = { 0 };
	int err = bpfobj_iter_read(prog, sizeof(struct map_count), take, &a);
	if (err) {
		free(a.v);
		return err;
	}
	*out = a.v;
	return a.n;
}

const struct map_count *count_find(const struct map_count *v, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

/* Run an element iterator (it writes nothing: it counts in .bss) over the
 * map fd to its end.  0 or -errno. */
static int iter_on_map(struct bpf_program *prog, int map_fd)
{
	union bpf_iter_link_info li = { .map = { .map_fd = map_fd } };
	LIBBPF_OPTS(bpf_iter_attach_opts, ao, .link_info = &li, .link_info_len = sizeof(li));
	struct bpf_link *link = bpf_program__attach_iter(prog, &ao);
	char buf[64];
	int err = 0;

	if (!link)
		return -errno;
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		err = -errno;
	for (ssize_t r = 1; fd >= 0 && r;) {
		r = read(fd, buf, sizeof(buf));
		/* EAGAIN: a million elements without output; the next read goes on */
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			err = -errno;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	return err;
}

static int count_keywalk(int fd, const struct bpf_map_info *info, uint64_t *out)
{
	int n = map_walk_keys(fd, info->key_size, NULL, NULL);
	*out = n > 0 ? (uint64_t)n : 0;
	return n < 0 ? n : 0;
}

static int count_slots(int fd, const struct bpf_map_info *info, uint64_t *out)
{
	char *val = xcalloc(1, info->value_size + 8);
	uint64_t n = 0;
	for (uint32_t i = 0; i < info->max_entries; i++) {
		if (!bpf_map_lookup_elem(fd, &i, val)) {
			n++;
			continue;
		}
		if (errno != ENOENT) {
			int err = -errno;
			free(val);
			return err;
		}
	}
	free(val);
	*out = n;
	return 0;
}

/* Ring buffer positions from user space: the consumer and producer pages
 * map read-only without disturbing the owner. */
static int count_ringbuf_mmap(int fd, uint64_t *out)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	unsigned long cons = *(volatile unsigned long *)p;
	unsigned long prod = *(volatile unsigned long *)((char *)p + page);
	munmap(p, 2 * page);
	*out = prod - cons;
	return 0;
}

static bool is_hash(uint32_t t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

enum count_method count_map(const struct counting *c, int fd, const struct bpf_map_info *info, uint64_t *n)
{
	uint32_t t = info->type;
	if (t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY) {
		*n = info->max_entries;
		return CM_FIXED;
	}
	if (is_hash(t) && c->elems && !c->walk) {
		c->skel->bss->elem_count = 0;
		if (!iter_on_map(c->skel->progs.count_elems, fd)) {
			*n = c->skel->bss->elem_count;
			return CM_ITER_ELEM;
		}
	}
	if (t == BPF_MAP_TYPE_SOCKMAP && c->socks && !c->walk) {
		c->skel->bss->sock_count = 0;
		if (!iter_on_map(c->skel->progs.count_socks, fd)) {
			*n = c->skel->bss->sock_count;
			return CM_ITER_SOCK;
		}
	}
	switch (t) {
	case BPF_MAP_TYPE_HASH: case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH: case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS: case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_SOCKHASH: case BPF_MAP_TYPE_DEVMAP_HASH:
	case BPF_MAP_TYPE_CGROUP_STORAGE: case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return count_keywalk(fd, info, n) ? CM_NONE : CM_KEYWALK;
	case BPF_MAP_TYPE_RINGBUF:
		return count_ringbuf_mmap(fd, n) ? CM_NONE : CM_MMAP;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS: case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_CPUMAP: case BPF_MAP_TYPE_SOCKMAP:
		return count_slots(fd, info, n) ? CM_NONE : CM_SLOTS;
	default:
		return CM_NONE;
	}
}

struct plen_hist {
	uint64_t *hist;
	uint32_t maxlen;
};

static void count_plen(const void *key, void *ctx)
{
	struct plen_hist *h = ctx;
	uint32_t plen;
	memcpy(&plen, key, 4); /* struct bpf_lpm_trie_key: prefixlen first */
	if (plen <= h->maxlen)
		h->hist[plen]++;
}

int count_prefixes(int fd, const struct bpf_map_info *info, uint64_t **hist, uint32_t *maxlen)
{
	if (info->key_size < 4)
		return -EINVAL;
	struct plen_hist h = { xcalloc((info->key_size - 4) * 8 + 1, sizeof(uint64_t)), (info->key_size - 4) * 8 };
	int n = map_walk_keys(fd, info->key_size, count_plen, &h);
	if (n < 0) {
		free(h.hist);
		*hist = NULL;
		return n;
	}
	*hist = h.hist;
	*maxlen = h.maxlen;
	return 0;
}
