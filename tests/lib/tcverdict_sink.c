// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tcverdict: a UDP sink on several ports that counts the
 * datagrams each port received (ground truth for what a TC program passed
 * or redirected).  PORT@DEV binds the socket to interface DEV
 * (SO_BINDTODEVICE): it then receives only what arrives on DEV, which tells
 * a packet redirected to DEV's ingress from one that came in elsewhere.
 *
 *   tcverdict_sink OUT PORT[@DEV]...
 *
 * Every socket is bound to the wildcard address.  Once all are bound, OUT
 * is written (atomically: a temporary file renamed over it) with every
 * count at 0, which says the sink is ready; it is rewritten when counts
 * changed (at most every 20 ms), and a last time on SIGTERM/SIGINT, after
 * draining what is queued, before exiting 0.  OUT is one JSON object:
 *   {"9001":N,"9006@b1":N,...}  (keys as given on the command line)
 * Exit status: 2 for bad arguments, 1 for socket set-up failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_PORTS 32
#define WRITE_GAP_MS 20

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t stop_sink;

static void on_signal(int sig)
{
	(void)sig;
	stop_sink = 1;
}

static void write_counts(const char *out, char **keys, const uint64_t *counts, int n)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(EXIT_FAIL, "%s: %s", tmp, strerror(errno));
	fputc('{', f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", keys[i], (unsigned long long)counts[i]);
	fputs("}\n", f);
	if (fclose(f) || rename(tmp, out))
		die(EXIT_FAIL, "%s: %s", out, strerror(errno));
}

/* Read everything queued on fd; returns the number of datagrams. */
static uint64_t drain(int fd)
{
	static char buf[2048];
	uint64_t n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		die(EXIT_FAIL, "recv: %s", strerror(errno));
	return n;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[MAX_PORTS];
	uint64_t counts[MAX_PORTS] = { 0 };
	int n = argc - 2;

	prog_name = "tcverdict_sink";
	if (argc < 3 || n > MAX_PORTS)
		die(EXIT_USAGE, "usage: tcverdict_sink OUT PORT[@DEV]... (at most %d)", MAX_PORTS);
	for (int i = 0; i < n; i++) {
		char spec[64], *dev;
		uint64_t port;
		snprintf(spec, sizeof(spec), "%s", argv[i + 2]);
		dev = strchr(spec, '@');
		if (dev)
			*dev++ = 0;
		if (parse_u64(spec, &port) || !port || port > 65535)
			die(EXIT_USAGE, "invalid port '%s'", argv[i + 2]);
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die(EXIT_FAIL, "socket: %s", strerror(errno));
		int rcvbuf = 4 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1))
			die(EXIT_FAIL, "SO_BINDTODEVICE %s: %s", dev, strerror(errno));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			die(EXIT_FAIL, "bind port %llu: %s", (unsigned long long)port, strerror(errno));
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
	}
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	write_counts(argv[1], argv + 2, counts, n);
	/* under a flood, the file is rewritten at most every WRITE_GAP_MS */
	uint64_t last_write = mono_ms();
	bool dirty = false;
	while (!stop_sink) {
		int r = poll(pfd, (nfds_t)n, dirty ? WRITE_GAP_MS : -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN) {
				counts[i] += drain(pfd[i].fd);
				dirty = true;
			}
		if (dirty && mono_ms() - last_write >= WRITE_GAP_MS) {
			write_counts(argv[1], argv + 2, counts, n);
			last_write = mono_ms();
			dirty = false;
		}
	}
	for (int i = 0; i < n; i++)
		counts[i] += drain(pfd[i].fd);
	write_counts(argv[1], argv + 2, counts, n);
	return 0;
}
