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
 * where present is counted by walking the map afterwards, and waits for
 * SIGTERM with the map open.  Without K, it only holds the map.
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
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = !strcmp(argv[3], "nocommon") ? BPF_F_NO_COMMON_LRU : 0);
	int fd = bpf_map_create(type, argv[4], sizeof(uint32_t), sizeof(uint64_t), max, &opts);
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
		double t0 = now();
		for (long r = 0; r < rounds; r++) {
			for (long i = 0; i < k; i++) {
				uint32_t key = (uint32_t)(r * k + i);
				val[0] = key;
				if (bpf_map_update_elem(fd, &key, val, BPF_ANY))
					errs++;
			}
			long got = present_keys(fd, del, d);
			for (long i = 0; i < d && i < got; i++)
				deleted += !bpf_map_delete_elem(fd, &del[i]);
		}
		double t1 = now();
		snprintf(text, sizeof(text),
			 "{\"id\":%u,\"inserted\":%ld,\"update_errors\":%ld,\"deleted\":%ld,\"present\":%ld,"
			 "\"seconds\":%.6f}\n",
			 info.id, k * rounds, errs, deleted, present_keys(fd, NULL, 0), t1 - t0);
		write_out(out, text);
	}
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigwait(&set, &sig);
	close(fd);
	return 0;
}
