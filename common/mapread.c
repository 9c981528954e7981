// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mapread.h"
#include "util.h"

int map_ncpus(void)
{
	static int n;
	if (!n) {
		n = libbpf_num_possible_cpus();
		if (n <= 0)
			die(EXIT_FAIL, "cannot tell the number of possible CPUs: %s", errno_name(n));
	}
	return n;
}

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int map_read_all(int fd, bool del, map_entry_fn fn, void *ctx)
{
	enum { BATCH = 1024 };
	struct bpf_map_info info;
	uint32_t ilen = sizeof(info);
	int n = 0, err = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	size_t ks = info.key_size, vs = is_percpu(info.type) ? round8(info.value_size) * map_ncpus()
							      : info.value_size;
	char *keys = xcalloc(BATCH, ks ? ks : 1), *vals = xcalloc(BATCH, vs ? vs : 1);
	uint64_t token = 0;
	bool first = true;

	for (;;) {
		uint32_t count = BATCH;
		err = del ? bpf_map_lookup_and_delete_batch(fd, first ? NULL : &token, &token, keys, vals, &count, NULL)
			  : bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			break;
		for (uint32_t i = 0; i < count; i++)
			fn(keys + (size_t)i * ks, vals + (size_t)i * vs, ctx);
		n += (int)count;
		if (err) { /* ENOENT: that was the last batch */
			err = 0;
			goto out;
		}
		first = false;
	}
	/* no batch support: EINVAL before 5.6, the kernel's ENOTSUPP (524) for map types without it */
	if (!first || (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP && errno != 524)) {
		err = -errno;
		goto out;
	}
	/* no batch operations for this map or kernel: walk the keys */
	err = 0;
	char *key = xcalloc(1, ks ? ks : 1), *next = xcalloc(1, ks ? ks : 1);
	bool have = false;
	while (!bpf_map_get_next_key(fd, have ? key : NULL, next)) {
		if (!bpf_map_lookup_elem(fd, next, vals)) {
			fn(next, vals, ctx);
			n++;
		}
		if (del) {
			bpf_map_delete_elem(fd, next);
			have = false; /* the first key left is the next one */
		} else {
			memcpy(key, next, ks);
			have = true;
		}
	}
	free(key);
	free(next);
out:
	free(keys);
	free(vals);
	return err ? err : n;
}

int map_walk_keys(int fd, size_t key_size, void (*fn)(const void *key, void *ctx), void *ctx)
{
	char *a = xcalloc(1, key_size ? key_size : 1), *b = xcalloc(1, key_size ? key_size : 1);
	int n = 0, err = bpf_map_get_next_key(fd, NULL, a);

	while (!err) {
		n++;
		if (fn)
			fn(a, ctx);
		err = bpf_map_get_next_key(fd, a, b);
		char *t = a;
		a = b;
		b = t;
	}
	err = errno == ENOENT ? 0 : -errno;
	free(a);
	free(b);
	return err ? err : n;
}

void percpu_sum_fields(const void *value, size_t value_size, void *out)
{
	size_t nf = value_size / sizeof(uint64_t);
	uint64_t *o = out;
	for (size_t f = 0; f < nf; f++)
		o[f] = percpu_sum_u64(value, value_size, f * sizeof(uint64_t));
}

uint64_t percpu_sum_u64(const void *value, size_t value_size, size_t off)
{
	size_t stride = round8(value_size);
	uint64_t sum = 0, v;
	for (int c = 0; c < map_ncpus(); c++) {
		memcpy(&v, (const char *)value + (size_t)c * stride + off, sizeof(v));
		sum += v;
	}
	return sum;
}

int map_lookup_percpu_sum(int fd, const void *key, unsigned nfields, uint64_t *sums)
{
	size_t vs = (size_t)nfields * sizeof(uint64_t);
	uint64_t *vals = xcalloc(map_ncpus(), vs);
	int err = 0;

	memset(sums, 0, vs);
	if (bpf_map_lookup_elem(fd, key, vals))
		err = -errno;
	else
		for (unsigned f = 0; f < nfields; f++)
			sums[f] = percpu_sum_u64(vals, vs, f * sizeof(uint64_t));
	free(vals);
	return err;
}

uint64_t counter_delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : cur;
}

double counter_rate(uint64_t cur, uint64_t prev, double dt)
{
	return dt > 0 ? (double)counter_delta(cur, prev) / dt : 0;
}

struct sums_ctx {
	size_t rec_size, val_off, key_size, val_size;
	char *recs;
	int n;
};

static void sum_entry(const void *key, const void *val, void *ctx)
{
	struct sums_ctx *c = ctx;
	c->recs = xrealloc(c->recs, (size_t)(c->n + 1) * c->rec_size);
	char *r = c->recs + (size_t)c->n++ * c->rec_size;
	memset(r, 0, c->rec_size);
	memcpy(r, key, c->key_size);
	percpu_sum_fields(val, c->val_size, r + c->val_off);
}

int map_read_percpu_sums(int fd, size_t rec_size, size_t val_off, void **recs)
{
	struct bpf_map_info info;
	uint32_t ilen = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	if (info.key_size > val_off || val_off + info.value_size > rec_size)
		return -EINVAL;
	struct sums_ctx c = { rec_size, val_off, info.key_size, info.value_size, *recs, 0 };
	int err = map_read_all(fd, false, sum_entry, &c);
	*recs = c.recs;
	return err < 0 ? err : c.n;
}
