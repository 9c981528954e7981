// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for wbtstat: the concurrent reader.  Reads FILE with O_DIRECT
 * in 4 KiB blocks, over and over, until SIGTERM or SIGINT, so each read is
 * a real request on the device (no page cache) and the process never dirties
 * a page.  Prints the number of reads on exit.
 *
 *   wbtstat_reader FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long reads = 0;
	void *buf;
	off_t off = 0;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: wbtstat_reader FILE\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "wbtstat_reader: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, 4096, 4096)) {
		fprintf(stderr, "wbtstat_reader: out of memory\n");
		return 1;
	}
	while (!stop) {
		ssize_t n = pread(fd, buf, 4096, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "wbtstat_reader: read: %s\n", strerror(errno));
			return 1;
		}
		if (n < 4096) {
			off = 0;
			continue;
		}
		reads++;
		off += 4096;
	}
	printf("%lu\n", reads);
	free(buf);
	close(fd);
	return 0;
}
