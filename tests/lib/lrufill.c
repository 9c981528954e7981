// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lrufill: an LRU map under eviction, with its own ground truth.
 *
 *   lrufill TYPE MAX FLAGS NAME GO OUT [K D [ROUNDS]]
 *
 * Creates a map of TYPE (lru_hash or lru_percpu_hash; u32 keys, u64 values)
 * with MAX entries and FLAGS (common, or nocommon for BPF_F_NO_COMMON_LRU)
 * named NAME, and writes {"id":ID} to OUT.  Then it waits until the file GO
 * exists, and ROUNDS times (default 1): inserts K distinct keys (new ones each
 * round) with BPF_MAP_UPDATE_ELEM, deletes D of the keys present, counted
 * by a get_next_key walk.  It then writes to OUT (replaced atomically):
 *   {"id":ID,"inserted":K*ROUNDS,"update_errors":E,"deleted":D*ROUNDS,"present":P,"seconds":S}
 * where present is counted by walking the map afterwards and S is the time
 * the inserts took (walks and deletions excluded), and waits for
 * SIGTERM with the map open.  Without K, it only holds the map.
 *
 * With LRUFILL_PROG=PATH (build/fixtures/mapstat_lru.bpf.o), the map is that
 * object's, and the keys are inserted by its XDP program (BPF_PROG_TEST_RUN,
 * one key per run), not by the bpf(2) syscall: the kernel hides syscall
 * updates from kprobes (bpf_disable_instrumentation), not from fexit.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_out(const char *path, const char *text)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, path)) {
		perror(path);
		exit(1);
	}
}

static long present_keys(int fd, uint32_t *first, long want)
{
	uint32_t key, next;
	long n = 0;
	int err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		if (first && n < want)
			first[n] = next;
		n++;
		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 9 && argc != 10) {
		fprintf(stderr, "usage: lrufill TYPE MAX FLAGS NAME GO OUT [K D [ROUNDS]]\n");
		return 2;
	}
	enum bpf_map_type type = !strcmp(argv[1], "lru_hash")		? BPF_MAP_TYPE_LRU_HASH
				 : !strcmp(argv[1], "lru_percpu_hash") ? BPF_MAP_TYPE_LRU_PERCPU_HASH
								       : BPF_MAP_TYPE_UNSPEC;
	uint32_t max = strtoul(argv[2], NULL, 10);
	const char *go = argv[5], *out = argv[6];
	long k = argc > 7 ? atol(argv[7]) : 0, d = argc > 8 ? atol(argv[8]) : 0;
	long rounds = argc > 9 ? atol(argv[9]) : 1;
	if (type == BPF_MAP_TYPE_UNSPEC || !max) {
		fprintf(stderr, "lrufill: bad TYPE or MAX\n");
		return 2;
	}
	uint32_t flags = !strcmp(argv[3], "nocommon") ? BPF_F_NO_COMMON_LRU : 0;
	const char *prog_path = getenv("LRUFILL_PROG");
	struct bpf_object *obj = NULL;
	int fd, prog_fd = -1;
	if (prog_path) {
		obj = bpf_object__open_file(prog_path, NULL);
		struct bpf_map *m = obj ? bpf_object__find_map_by_name(obj, "bs_lru") : NULL;
		if (!m || bpf_map__set_type(m, type) || bpf_map__set_max_entries(m, max) ||
		    bpf_map__set_map_flags(m, flags) || bpf_object__load(obj)) {
			fprintf(stderr, "lrufill: cannot load %s\n", prog_path);
			return 1;
		}
		fd = bpf_map__fd(m);
		prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "lru_insert"));
	} else {
		LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
		fd = bpf_map_create(type, argv[4], sizeof(uint32_t), sizeof(uint64_t), max, &opts);
	}
	if (fd < 0) {
		perror("bpf_map_create");
		return 1;
	}
	struct bpf_map_info info = {};
	uint32_t ilen = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		perror("map info");
		return 1;
	}
	char text[512];
	snprintf(text, sizeof(text), "{\"id\":%u}\n", info.id);
	write_out(out, text);
	if (k) {
		int ncpus = libbpf_num_possible_cpus();
		uint64_t *val = calloc(ncpus > 0 ? ncpus : 1, sizeof(uint64_t));
		uint32_t *del = calloc(d ? d : 1, sizeof(uint32_t));
		long errs = 0, deleted = 0;
		while (access(go, F_OK))
			usleep(10000);
		double ins = 0;
		for (long r = 0; r < rounds; r++) {
			double t0 = now();
			for (long i = 0; i < k && prog_fd < 0; i++) {
				uint32_t key = (uint32_t)(r * k + i);
				val[0] = key;
				if (bpf_map_update_elem(fd, &key, val, BPF_ANY))
					errs++;
			}
			if (prog_fd >= 0) {
				char pkt[64] = { 0 };
				LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
					    .repeat = (int)k);
				if (bpf_prog_test_run_opts(prog_fd, &topts)) {
					perror("BPF_PROG_TEST_RUN");
					return 1;
				}
			}
			ins += now() - t0;
			long got = d ? present_keys(fd, del, d) : 0;
			for (long i = 0; i < d && i < got; i++)
				deleted += !bpf_map_delete_elem(fd, &del[i]);
		}
		snprintf(text, sizeof(text),
			 "{\"id\":%u,\"inserted\":%ld,\"update_errors\":%ld,\"deleted\":%ld,\"present\":%ld,"
			 "\"seconds\":%.6f}\n",
			 info.id, k * rounds, errs, deleted, present_keys(fd, NULL, 0), ins);
		write_out(out, text);
	}
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
	if (obj)
		bpf_object__close(obj);
	else
		close(fd);
	return 0;
}
