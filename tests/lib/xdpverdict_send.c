// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for xdpverdict: send exactly COUNT UDP datagrams of SIZE bytes
 * to DST_IP:PORT, GAP_US microseconds apart (paced so that a veth receive
 * ring never overflows), then exit 0.  Any failed send is an error (exit 1).
 *
 *   xdpverdict_send DST_IP PORT COUNT [GAP_US [SIZE]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint64_t port, count, gap = 200, size = 64;
	char buf[1472];

	prog_name = "xdpverdict_send";
	if (argc < 4 || argc > 6)
		die(EXIT_USAGE, "usage: xdpverdict_send DST_IP PORT COUNT [GAP_US [SIZE]]");
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		die(EXIT_USAGE, "invalid IPv4 address '%s'", argv[1]);
	if (parse_u64(argv[2], &port) || port < 1 || port > 65535)
		die(EXIT_USAGE, "invalid port '%s'", argv[2]);
	if (parse_u64(argv[3], &count))
		die(EXIT_USAGE, "invalid count '%s'", argv[3]);
	if (argc > 4 && parse_u64(argv[4], &gap))
		die(EXIT_USAGE, "invalid gap '%s'", argv[4]);
	if (argc > 5 && (parse_u64(argv[5], &size) || size > sizeof(buf)))
		die(EXIT_USAGE, "invalid size '%s' (at most %zu)", argv[5], sizeof(buf));
	dst.sin_port = htons((uint16_t)port);
	memset(buf, 0xa5, sizeof(buf));

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die(EXIT_FAIL, "socket: %s", strerror(errno));
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n = sendto(fd, buf, size, 0, (struct sockaddr *)&dst, sizeof(dst));
		if (n != (ssize_t)size)
			die(EXIT_FAIL, "sendto %s:%u (packet %llu): %s", argv[1], (unsigned)port,
			    (unsigned long long)i + 1, n < 0 ? strerror(errno) : "short write");
		if (gap) {
			struct timespec ts = { gap / 1000000, (gap % 1000000) * 1000 };
			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
	}
	close(fd);
	return 0;
}
