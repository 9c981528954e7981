// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * badcomm: a process with a hostile name, for the output contract's tests.
 *
 *   badcomm NAME_HEX tcp SECONDS        a TCP connection to itself over
 *                                       127.0.0.1, 1 MiB sent, then held
 *   badcomm NAME_HEX map SECONDS        create a BPF array map and hold it
 *   badcomm NAME_HEX write FILE MB      write MB MiB into FILE (buffered), then exit
 *
 * NAME_HEX is the name as hex bytes ("626164fffe" for "bad\xff\xfe"), so a
 * test can pass bytes no shell word can: invalid UTF-8, quotes, backslashes,
 * newlines.  The name is set with prctl(PR_SET_NAME) (what the kernel shows
 * as comm; at most 15 bytes).  Prints "ready" once the object exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char name[16] = {};
	size_t n = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: badcomm NAME_HEX tcp SECONDS | map SECONDS | write FILE MB\n");
		return 2;
	}
	for (const char *h = argv[1]; h[0] && h[1] && n < sizeof(name) - 1; h += 2) {
		int a = hexval(h[0]), b = hexval(h[1]);
		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			fprintf(stderr, "badcomm: bad hex name\n");
			return 2;
		}
		name[n++] = (char)(a * 16 + b);
	}
	if (prctl(PR_SET_NAME, name, 0, 0, 0)) {
		perror("badcomm: prctl");
		return 1;
	}
	if (!strcmp(argv[2], "tcp")) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		int lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
			perror("badcomm: listen");
			return 1;
		}
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			perror("badcomm: connect");
			return 1;
		}
		int afd = accept(lfd, NULL, NULL);
		if (afd < 0) {
			perror("badcomm: accept");
			return 1;
		}
		static char buf[65536];
		memset(buf, 'x', sizeof(buf));
		for (int i = 0; i < 16; i++) {
			if (write(fd, buf, sizeof(buf)) < 0)
				break;
			if (read(afd, buf, sizeof(buf)) < 0)
				break;
		}
		ready();
		sleep(atoi(argv[3]));
		return 0;
	}
	if (!strcmp(argv[2], "map")) {
		int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "badcomm_map", 4, 8, 4, NULL);
		if (fd < 0) {
			fprintf(stderr, "badcomm: map: %s\n", strerror(-fd));
			return 1;
		}
		ready();
		sleep(atoi(argv[3]));
		close(fd);
		return 0;
	}
	if (!strcmp(argv[2], "write") && argc == 5) {
		int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			perror("badcomm: open");
			return 1;
		}
		ready();
		static char buf[1 << 20];
		memset(buf, 'y', sizeof(buf));
		for (int i = 0; i < atoi(argv[4]); i++)
			if (write(fd, buf, sizeof(buf)) < 0) {
				perror("badcomm: write");
				return 1;
			}
		close(fd);
		return 0;
	}
	fprintf(stderr, "badcomm: unknown action %s\n", argv[2]);
	return 2;
}
