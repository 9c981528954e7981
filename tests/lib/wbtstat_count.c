// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for wbtstat: loads tests/fixtures/wbtstat_count.bpf.o for one
 * disk, prints "ready", and on SIGTERM/SIGINT prints what the fixture
 * counted as shell assignments (K_*), then detaches everything.
 *
 *   wbtstat_count FIXTURE.bpf.o MAJ:MIN
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static const char *const names[] = {
	"timer0", "timer1", "timer2", "timer3", "timer4",
	"down", "up", "lat", "stat", "rsamples", "wsamples",
};
#define NKEYS (sizeof(names) / sizeof(names[0]))

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[8] = {};
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	struct sigaction sa;
	int nlinks = 0, fd;
	__u64 total = 0;

	if (argc != 3 || strlen(argv[2]) >= 32) {
		fprintf(stderr, "usage: wbtstat_count FIXTURE.bpf.o MAJ:MIN\n");
		return 2;
	}
	libbpf_set_print(silent);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "wbtstat_count: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_map(map, obj) {
		size_t sz = 0;
		char ro[64] = {};
		const char *n = bpf_map__name(map);
		if (!bpf_map__is_internal(map) || !strstr(n, ".rodata"))
			continue;
		if (!bpf_map__initial_value(map, &sz) || sz < 32 || sz > sizeof(ro)) {
			fprintf(stderr, "wbtstat_count: unexpected .rodata\n");
			return 1;
		}
		memcpy(ro, argv[2], strlen(argv[2])); /* disk[] is the only read-only datum */
		if (bpf_map__set_initial_value(map, ro, sz)) {
			fprintf(stderr, "wbtstat_count: cannot set the disk name\n");
			return 1;
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "wbtstat_count: cannot load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (nlinks == 8)
			break;
		links[nlinks] = bpf_program__attach(prog);
		if (!links[nlinks]) {
			fprintf(stderr, "wbtstat_count: cannot attach %s: %s\n", bpf_program__name(prog),
				strerror(errno));
			return 1;
		}
		nlinks++;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();

	fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counts"));
	for (__u32 k = 0; k < NKEYS; k++) {
		__u64 v = 0;
		if (bpf_map_lookup_elem(fd, &k, &v))
			v = 0;
		printf("K_%s=%llu\n", names[k], (unsigned long long)v);
		if (k <= 8)
			total += v; /* events: timers, steps, lat, stat */
	}
	printf("K_total=%llu\n", (unsigned long long)total);
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return 0;
}
