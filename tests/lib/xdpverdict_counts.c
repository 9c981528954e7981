// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for xdpverdict: print the fixture's own verdict counts (map
 * fx_verdicts, by id) as a JSON array [aborted, drop, pass, tx, redirect,
 * redirects to the empty slot].  The same numbers as
 * `bpftool map dump id ID`, in one small process (the tests poll it).
 *
 *   xdpverdict_counts MAP_ID
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "util.h"

int main(int argc, char **argv)
{
	uint64_t id;

	prog_name = "xdpverdict_counts";
	if (argc != 2 || parse_u64(argv[1], &id) || !id || id > UINT32_MAX)
		die(EXIT_USAGE, "usage: xdpverdict_counts MAP_ID");
	int fd = bpf_map_get_fd_by_id((uint32_t)id);
	if (fd < 0)
		die(EXIT_NOTFOUND, "no BPF map with id %llu: %s", (unsigned long long)id, strerror(errno));
	printf("[");
	for (uint32_t k = 0; k < 6; k++) {
		uint64_t v = 0;
		if (bpf_map_lookup_elem(fd, &k, &v))
			die(EXIT_FAIL, "map %llu key %u: %s", (unsigned long long)id, k, strerror(errno));
		printf("%s%llu", k ? "," : "", (unsigned long long)v);
	}
	printf("]\n");
	close(fd);
	return 0;
}
