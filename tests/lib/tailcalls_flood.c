// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Demo/bench helper for tailcalls: send UDP datagrams (18 bytes of zeros) to
 * ADDR:9 as fast as one socket can for SECONDS, then print how many were
 * sent.  Traffic for an XDP pipeline on the receiving interface.
 *
 *   tailcalls_flood ADDR SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	enum { BATCH = 64 };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };
	char payload[18] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	struct mmsghdr msgs[BATCH];
	unsigned long long sent = 0;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1 || atof(argv[2]) <= 0) {
		fprintf(stderr, "usage: tailcalls_flood ADDR SECONDS\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	double end = now() + atof(argv[2]);
	while (now() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR) {
			perror("sendmmsg");
			return 1;
		}
		if (n > 0)
			sent += (unsigned)n;
	}
	printf("%llu\n", sent);
	close(fd);
	return 0;
}
