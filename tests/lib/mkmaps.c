// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mapstat test scenario: create BPF maps of every countable type, fill them
 * to known levels, record what was put in (the test's ground truth) as JSON,
 * and hold them until SIGTERM.  SIGUSR1 adds GROW_STEP entries to ms_grow.
 *
 *   mkmaps OUT.json FIXTURE.bpf.o [BIG_ENTRIES] [PIN_DIR]
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define GROW_STEP 200

static FILE *out;
static int first = 1;
static volatile sig_atomic_t grow_req, stop_req;

static void on_usr1(int s) { (void)s; grow_req++; }
static void on_term(int s) { (void)s; stop_req = 1; }

static void fail(const char *what)
{
	fprintf(stderr, "mkmaps: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned map_id(int fd)
{
	struct bpf_map_info info = {};
	unsigned len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("map info");
	return info.id;
}

/* expected < 0: not countable (JSON null) */
static void record(const char *name, int fd, long long expected, long long max)
{
	fprintf(out, "%s\n  {\"name\":\"%s\",\"id\":%u,\"expected\":", first ? "" : ",", name, map_id(fd));
	if (expected < 0)
		fprintf(out, "null");
	else
		fprintf(out, "%lld", expected);
	fprintf(out, ",\"max\":%lld}", max);
	first = 0;
}

static int mk(enum bpf_map_type t, const char *name, unsigned ks, unsigned vs, unsigned max,
	      unsigned flags, int inner_fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags, .inner_map_fd = inner_fd);
	int fd = bpf_map_create(t, name, ks, vs, max, &o);
	if (fd < 0) {
		fprintf(stderr, "mkmaps: create %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return fd;
}

static void fill_u32(int fd, unsigned from, unsigned n, unsigned vsize, unsigned long long flags)
{
	char val[256] = {};
	(void)vsize;
	for (unsigned k = from; k < from + n; k++)
		if (bpf_map_update_elem(fd, &k, val, flags))
			fail("update");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mkmaps OUT.json FIXTURE.bpf.o [BIG_ENTRIES] [PIN_DIR]\n");
		return 2;
	}
	unsigned big = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1000000;
	const char *pin_dir = argc > 4 ? argv[4] : NULL;
	int ncpu = libbpf_num_possible_cpus();
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	out = fopen(tmp, "w");
	if (!out)
		fail("open output");
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fprintf(out, "{\"pid\":%d,\"grow_step\":%d,\"maps\":[", getpid(), GROW_STEP);

	/* 1,000,000-entry hash, filled with batched updates */
	int big_fd = mk(BPF_MAP_TYPE_HASH, "ms_hash_big", 4, 8, big + big / 10, 0, -1);
	{
		unsigned chunk = 65536;
		unsigned *keys = calloc(chunk, 4);
		unsigned long long *vals = calloc(chunk, 8);
		for (unsigned done = 0; done < big;) {
			unsigned n = big - done < chunk ? big - done : chunk;
			for (unsigned i = 0; i < n; i++)
				keys[i] = done + i;
			__u32 count = n;
			if (bpf_map_update_batch(big_fd, keys, vals, &count, NULL)) {
				for (unsigned i = 0; i < n; i++) /* batch ops missing: one by one */
					if (bpf_map_update_elem(big_fd, &keys[i], &vals[i], 0))
						fail("update big");
			}
			done += n;
		}
		free(keys);
		free(vals);
	}
	record("ms_hash_big", big_fd, big, big + big / 10);

	int h = mk(BPF_MAP_TYPE_HASH, "ms_hash", 4, 8, 100, 0, -1);
	fill_u32(h, 0, 37, 8, 0);
	record("ms_hash", h, 37, 100);

	int hn = mk(BPF_MAP_TYPE_HASH, "ms_hash_noprea", 4, 8, 1000, BPF_F_NO_PREALLOC, -1);
	fill_u32(hn, 0, 250, 8, 0);
	record("ms_hash_noprea", hn, 250, 1000);

	int grow = mk(BPF_MAP_TYPE_HASH, "ms_grow", 4, 8, 10000, 0, -1);
	fill_u32(grow, 0, 1000, 8, 0);
	record("ms_grow", grow, 1000, 10000);

	int ph = mk(BPF_MAP_TYPE_PERCPU_HASH, "ms_percpu_hash", 4, 8, 64, 0, -1);
	{
		char *v = calloc(ncpu, 8);
		for (unsigned k = 0; k < 10; k++)
			if (bpf_map_update_elem(ph, &k, v, 0))
				fail("percpu update");
		free(v);
	}
	record("ms_percpu_hash", ph, 10, 64);

	/* LRU under eviction: 1000 distinct keys into 128 slots.  How many
	 * survive is the kernel's business: count them with our own walk. */
	int lru = mk(BPF_MAP_TYPE_LRU_HASH, "ms_lru", 4, 8, 128, 0, -1);
	fill_u32(lru, 0, 1000, 8, 0);
	{
		unsigned a, b, n = 0;
		int err = bpf_map_get_next_key(lru, NULL, &a);
		while (!err) {
			n++;
			err = bpf_map_get_next_key(lru, &a, &b);
			a = b;
		}
		record("ms_lru", lru, n, 128);
	}

	int lpc = mk(BPF_MAP_TYPE_LRU_PERCPU_HASH, "ms_lru_percpu", 4, 8, 64, 0, -1);
	{
		char *v = calloc(ncpu, 8);
		for (unsigned k = 0; k < 20; k++)
			if (bpf_map_update_elem(lpc, &k, v, 0))
				fail("lru percpu update");
		free(v);
	}
	record("ms_lru_percpu", lpc, 20, 64);

	/* LPM trie: 5 x /32, 3 x /24, 2 x /16, 1 x /8 */
	int lpm = mk(BPF_MAP_TYPE_LPM_TRIE, "ms_lpm", 8, 4, 100, BPF_F_NO_PREALLOC, -1);
	{
		struct { unsigned plen; unsigned char a[4]; } k;
		unsigned v = 0;
		int mix[][2] = { { 32, 5 }, { 24, 3 }, { 16, 2 }, { 8, 1 } };
		for (int m = 0; m < 4; m++)
			for (int i = 0; i < mix[m][1]; i++) {
				k.plen = mix[m][0];
				k.a[0] = 10;
				k.a[1] = (unsigned char)(m * 10 + i);
				k.a[2] = (unsigned char)i;
				k.a[3] = (unsigned char)i;
				if (bpf_map_update_elem(lpm, &k, &v, 0))
					fail("lpm update");
			}
	}
	record("ms_lpm", lpm, 11, 100);

	int q = mk(BPF_MAP_TYPE_QUEUE, "ms_queue", 0, 8, 16, 0, -1);
	for (unsigned long long i = 0; i < 5; i++)
		if (bpf_map_update_elem(q, NULL, &i, 0))
			fail("queue push");
	record("ms_queue", q, 5, 16);

	int st = mk(BPF_MAP_TYPE_STACK, "ms_stack", 0, 8, 16, 0, -1);
	for (unsigned long long i = 0; i < 9; i++)
		if (bpf_map_update_elem(st, NULL, &i, 0))
			fail("stack push");
	{
		unsigned long long v;
		if (bpf_map_lookup_and_delete_elem(st, NULL, &v) || bpf_map_lookup_and_delete_elem(st, NULL, &v))
			fail("stack pop");
	}
	record("ms_stack", st, 7, 16);

	int arr = mk(BPF_MAP_TYPE_ARRAY, "ms_array", 4, 8, 10, 0, -1);
	record("ms_array", arr, 10, 10);
	int parr = mk(BPF_MAP_TYPE_PERCPU_ARRAY, "ms_percpu_array", 4, 8, 4, 0, -1);
	record("ms_percpu_array", parr, 4, 4);

	/* ring buffer with 5 unread 100-byte records (8-byte header each) */
	struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
	if (!obj || bpf_object__load(obj))
		fail("load fixture");
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "ms_produce"));
	int rb = bpf_map__fd(bpf_object__find_map_by_name(obj, "ms_ringbuf"));
	{
		char pkt[64] = {};
		LIBBPF_OPTS(bpf_test_run_opts, tr, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 5);
		if (bpf_prog_test_run_opts(prog, &tr))
			fail("test run");
	}
	record("ms_ringbuf", rb, 5 * (8 + 104), 16384);

	int pa = mk(BPF_MAP_TYPE_PROG_ARRAY, "ms_prog_array", 4, 4, 8, 0, -1);
	for (unsigned k = 0; k < 8; k += 3) /* slots 0, 3, 6 */
		if (bpf_map_update_elem(pa, &k, &prog, 0))
			fail("prog array");
	record("ms_prog_array", pa, 3, 8);

	int inner = mk(BPF_MAP_TYPE_ARRAY, "ms_inner", 4, 4, 1, 0, -1);
	int aom = mk(BPF_MAP_TYPE_ARRAY_OF_MAPS, "ms_array_of_map", 4, 4, 4, 0, inner);
	for (unsigned k = 1; k < 3; k++)
		if (bpf_map_update_elem(aom, &k, &inner, 0))
			fail("array of maps");
	record("ms_inner", inner, 1, 1);
	record("ms_array_of_map", aom, 2, 4);
	int hom = mk(BPF_MAP_TYPE_HASH_OF_MAPS, "ms_hash_of_maps", 4, 4, 8, 0, inner);
	for (unsigned k = 10; k < 13; k++)
		if (bpf_map_update_elem(hom, &k, &inner, 0))
			fail("hash of maps");
	record("ms_hash_of_maps", hom, 3, 8);

	unsigned lo = if_nametoindex("lo");
	int dm = mk(BPF_MAP_TYPE_DEVMAP, "ms_devmap", 4, 4, 8, 0, -1);
	for (unsigned k = 2; k < 4; k++)
		if (bpf_map_update_elem(dm, &k, &lo, 0))
			fail("devmap");
	record("ms_devmap", dm, 2, 8);
	int dmh = mk(BPF_MAP_TYPE_DEVMAP_HASH, "ms_devmap_hash", 4, 4, 8, 0, -1);
	for (unsigned k = 100; k < 103; k++)
		if (bpf_map_update_elem(dmh, &k, &lo, 0))
			fail("devmap hash");
	record("ms_devmap_hash", dmh, 3, 8);

	int cm = mk(BPF_MAP_TYPE_CPUMAP, "ms_cpumap", 4, 4, ncpu, 0, -1);
	{
		unsigned k = 0, qsize = 64;
		if (bpf_map_update_elem(cm, &k, &qsize, 0))
			fail("cpumap");
	}
	record("ms_cpumap", cm, 1, ncpu);

	/* sockmap / sockhash with bound UDP sockets */
	int sm = mk(BPF_MAP_TYPE_SOCKMAP, "ms_sockmap", 4, 4, 8, 0, -1);
	int sh = mk(BPF_MAP_TYPE_SOCKHASH, "ms_sockhash", 4, 4, 8, 0, -1);
	for (unsigned k = 0; k < 2; k++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)))
			fail("udp socket");
		unsigned slot = k * 5;
		if (bpf_map_update_elem(sm, &slot, &s, 0))
			fail("sockmap");
		slot = 40 + k;
		if (bpf_map_update_elem(sh, &slot, &s, 0))
			fail("sockhash");
	}
	record("ms_sockmap", sm, 2, 8);
	record("ms_sockhash", sh, 2, 8);

	int bloom = mk(BPF_MAP_TYPE_BLOOM_FILTER, "ms_bloom", 0, 4, 100, 0, -1);
	{
		unsigned v = 7;
		bpf_map_update_elem(bloom, NULL, &v, 0);
	}
	record("ms_bloom", bloom, -1, 100);
	int pea = mk(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "ms_perf_array", 4, 4, 2, 0, -1);
	record("ms_perf_array", pea, -1, 2);

	if (pin_dir) {
		char path[512];
		snprintf(path, sizeof(path), "%s/ms_hash", pin_dir);
		if (bpf_obj_pin(h, path))
			fail("pin");
		fprintf(out, "],\n\"pinned\":{\"name\":\"ms_hash\",\"path\":\"%s\"}", path);
	} else {
		fprintf(out, "]");
	}
	fprintf(out, ",\"prog_id\":%u}\n", ({
		struct bpf_prog_info pi = {};
		unsigned l = sizeof(pi);
		bpf_obj_get_info_by_fd(prog, &pi, &l);
		pi.id;
	}));
	fclose(out);
	if (rename(tmp, argv[1]))
		fail("rename");

	unsigned next = 1000;
	while (!stop_req) {
		pause();
		while (grow_req > 0) {
			grow_req--;
			fill_u32(grow, next, GROW_STEP, 8, 0);
			next += GROW_STEP;
		}
	}
	bpf_object__close(obj);
	return 0;
}
