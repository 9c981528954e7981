// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The engine's kernel-access layer against the kernel itself: map readers
 * (batch and walk, per-CPU sums), the netns layer, HZ, rates, the generated
 * mechanism line.  Needs root (creates BPF maps). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "hooks.h"
#include "hz.h"
#include "mapread.h"
#include "netns.h"
#include "util.h"

struct seen {
	int n;
	uint64_t keysum, valsum;
	int percpu_ok;
};

static void on_entry(const void *key, const void *val, void *ctx)
{
	struct seen *s = ctx;
	uint32_t k;
	uint64_t v;
	memcpy(&k, key, sizeof(k));
	memcpy(&v, val, sizeof(v));
	s->n++;
	s->keysum += k;
	s->valsum += v;
}

/* 3000 entries: more than one batch of 1024. */
static void test_map_read_all(void **state)
{
	(void)state;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ut_hash", 4, 8, 4096, NULL);
	if (fd < 0)
		skip();
	uint64_t want_k = 0, want_v = 0;
	for (uint32_t k = 1; k <= 3000; k++) {
		uint64_t v = (uint64_t)k * 7;
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
		want_k += k;
		want_v += v;
	}
	struct seen s = { 0 };
	assert_int_equal(map_read_all(fd, false, on_entry, &s), 3000);
	assert_int_equal(s.n, 3000);
	assert_int_equal(s.keysum, want_k);
	assert_int_equal(s.valsum, want_v);
	/* read and delete: the map is empty after */
	memset(&s, 0, sizeof(s));
	assert_int_equal(map_read_all(fd, true, on_entry, &s), 3000);
	assert_int_equal(s.valsum, want_v);
	uint32_t k;
	assert_int_not_equal(bpf_map_get_next_key(fd, NULL, &k), 0);
	close(fd);
}

/* Arrays have no batch delete; the read of an array goes through. */
static void test_map_read_array(void **state)
{
	(void)state;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ut_arr", 4, 8, 10, NULL);
	if (fd < 0)
		skip();
	for (uint32_t k = 0; k < 10; k++) {
		uint64_t v = k + 100;
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
	struct seen s = { 0 };
	assert_int_equal(map_read_all(fd, false, on_entry, &s), 10);
	assert_int_equal(s.valsum, 10 * 100 + 45);
	close(fd);
}

/* LPM tries have no batch operations: the key walk reads them. */
static void test_map_read_walk(void **state)
{
	(void)state;
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ut_lpm", 8, 8, 100, &o);
	if (fd < 0)
		skip();
	uint32_t key[2];
	uint64_t want = 0;
	for (uint32_t i = 1; i <= 50; i++) {
		uint64_t v = i;
		key[0] = 32;
		key[1] = i << 8;
		assert_int_equal(bpf_map_update_elem(fd, key, &v, BPF_ANY), 0);
		want += v;
	}
	struct seen s = { 0 };
	assert_int_equal(map_read_all(fd, false, on_entry, &s), 50);
	assert_int_equal(s.valsum, want);
	close(fd);
}

static void test_percpu_sum(void **state)
{
	(void)state;
	int ncpu = map_ncpus();
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "ut_pcpu", 4, 16, 1, NULL);
	if (fd < 0)
		skip();
	uint64_t *vals = calloc(ncpu, 16), sums[2];
	for (int c = 0; c < ncpu; c++) {
		vals[2 * c] = c + 1;
		vals[2 * c + 1] = 10;
	}
	uint32_t zero = 0;
	assert_int_equal(bpf_map_update_elem(fd, &zero, vals, BPF_ANY), 0);
	assert_int_equal(map_lookup_percpu_sum(fd, &zero, 2, sums), 0);
	assert_int_equal(sums[0], (uint64_t)ncpu * (ncpu + 1) / 2);
	assert_int_equal(sums[1], (uint64_t)ncpu * 10);
	assert_int_equal(percpu_sum_u64(vals, 16, 8), (uint64_t)ncpu * 10);
	uint32_t one = 1;
	assert_int_equal(map_lookup_percpu_sum(fd, &one, 2, sums), -ENOENT);
	free(vals);
	close(fd);
}

/* map_read_percpu_sums: 40 keys of a per-CPU hash, each CPU's copy
 * different; every record has its key and the per-CPU sums. */
static void test_percpu_sums(void **state)
{
	(void)state;
	int ncpu = map_ncpus();
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "ut_psums", 4, 16, 64, NULL);
	if (fd < 0)
		skip();
	uint64_t *vals = calloc(ncpu, 16);
	for (uint32_t k = 0; k < 40; k++) {
		for (int c = 0; c < ncpu; c++) {
			vals[2 * c] = k * 100 + c;
			vals[2 * c + 1] = 1;
		}
		assert_int_equal(bpf_map_update_elem(fd, &k, vals, BPF_ANY), 0);
	}
	struct rec { uint32_t key, pad; uint64_t a, b; } *recs = NULL;
	int n = map_read_percpu_sums(fd, sizeof(*recs), offsetof(struct rec, a), (void **)&recs);
	assert_int_equal(n, 40);
	uint64_t seen = 0;
	for (int i = 0; i < n; i++) {
		assert_true(recs[i].key < 40);
		seen |= 1ull << recs[i].key;
		assert_int_equal(recs[i].a, (uint64_t)ncpu * recs[i].key * 100 + (uint64_t)ncpu * (ncpu - 1) / 2);
		assert_int_equal(recs[i].b, (uint64_t)ncpu);
	}
	assert_int_equal(seen, (1ull << 40) - 1);
	/* a record too small for the value is refused */
	assert_int_equal(map_read_percpu_sums(fd, 16, 8, (void **)&recs), -EINVAL);
	free(recs);
	free(vals);
	close(fd);
}

static void test_rates(void **state)
{
	(void)state;
	assert_true(counter_rate(150, 50, 2.0) == 50.0);
	/* reset: the counter restarted, all of cur is new */
	assert_int_equal(counter_delta(30, 1000), 30);
	assert_true(counter_rate(30, 1000, 3.0) == 10.0);
	assert_true(counter_rate(30, 10, 0) == 0);
}

static void test_netns(void **state)
{
	(void)state;
	assert_int_equal(netns_open("/etc/passwd"), -EINVAL);
	assert_int_equal(netns_open("/no/such/ns"), -ENOENT);
	assert_int_equal(netns_open("no-such-netns-name"), -ENOENT);
	assert_int_equal(netns_open("/proc/self/ns/mnt"), -EINVAL); /* a namespace, not a network one */
	int fd = netns_open("/proc/self/ns/net");
	assert_true(fd >= 0);
	uint32_t a, b;
	assert_int_equal(netns_inode(fd, &a), 0);
	assert_int_equal(netns_self_inode(&b), 0);
	assert_int_equal(a, b);
	close(fd);
	/* ours first, each inode once */
	struct netns *all;
	int n = netns_list(&all);
	assert_true(n >= 1);
	assert_int_equal(all[0].ino, b);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			assert_true(all[i].ino != all[j].ino);
	free(all);
}

static void test_hz(void **state)
{
	(void)state;
	assert_int_equal(hz_snap(249.1), 250);
	assert_int_equal(hz_snap(1003), 1000);
	assert_int_equal(hz_snap(180), 0);
	const char *src = NULL;
	unsigned hz = kernel_hz(&src);
	assert_true(hz == 100 || hz == 250 || hz == 300 || hz == 1000);
	assert_non_null(src);
	/* independent truth: USER_HZ is not CONFIG_HZ, but /proc/timer_list's
	 * jiffies advance at HZ: about hz over 0.5 s * 2 */
	FILE *f = fopen("/proc/timer_list", "r");
	if (!f)
		return;
	char line[256];
	unsigned long long j0 = 0, j1 = 0;
	while (fgets(line, sizeof(line), f) && sscanf(line, "jiffies: %llu", &j0) != 1)
		;
	fclose(f);
	usleep(500000);
	f = fopen("/proc/timer_list", "r");
	while (f && fgets(line, sizeof(line), f) && sscanf(line, "jiffies: %llu", &j1) != 1)
		;
	if (f)
		fclose(f);
	double rate = (double)(j1 - j0) / 0.5;
	assert_true(rate > hz * 0.8 && rate < hz * 1.25);
}

static void test_mechanism_line(void **state)
{
	(void)state;
	struct hook h[3] = {
		{ .name = "a", .alt = { HOOK_TP_TWIN("a", "a") }, .chosen = 0 },
		{ .name = "b", .alt = { HOOK_TP_TWIN("b", "b") }, .chosen = 0 },
		{ .name = "c", .alt = { HOOK_TP_TWIN("c", "c") }, .chosen = 0, .off = true },
	};
	char buf[128];
	assert_string_equal(hooks_mechanism(h, 3, buf, sizeof(buf)), "tp_btf");
	h[1].chosen = 1;
	assert_string_equal(hooks_mechanism(h, 3, buf, sizeof(buf)), "a: tp_btf, b: raw_tp");
	h[1].chosen = -1;
	assert_string_equal(hooks_mechanism(h, 3, buf, sizeof(buf)), "a: tp_btf, b: none");
	assert_null(hook_chosen(&h[2]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_read_all),
		cmocka_unit_test(test_map_read_array),
		cmocka_unit_test(test_map_read_walk),
		cmocka_unit_test(test_percpu_sum),
		cmocka_unit_test(test_percpu_sums),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_hz),
		cmocka_unit_test(test_mechanism_line),
	};
	prog_name = "test_engine";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
