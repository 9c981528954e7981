// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for fibstat: many UDP flows with distinct source ports (the
 * sender) and a receiver that counts packets, payload bytes and the distinct
 * flows it saw (the sink, ground truth for where each flow went).
 *
 *   udpflows send --dst ADDR --dport N [--src ADDR] [--sport-base N] [--flows N]
 *                 [--packets N | --duration SEC] [--size BYTES] [--mark M]
 *                 [--dev IFNAME] [--unconnected] [--rate PPS]
 *   udpflows sink --bind ADDR --port N [--idle-ms MS] [--ready FILE] [--no-list]
 *
 * send: IPv4 or IPv6 from the address syntax.  Flow i (0 <= i < flows) is a
 *   socket bound to SRC:(sport-base + i) (SRC omitted: the wildcard address);
 *   each sends --packets datagrams of --size payload bytes (default 64) to
 *   DST:dport, round-robin over the flows (or, with --duration, for that many
 *   seconds).  --mark sets SO_MARK, --dev SO_BINDTODEVICE.  By default each
 *   socket is connect()ed (one route lookup per flow); --unconnected uses
 *   sendto() on an unconnected socket, so every datagram does its own route
 *   lookup.  Sends are paced to --rate packets/s (default 50000; 0 = as fast
 *   as possible) so that a sink behind veth links never drops.  Failed sends
 *   are data, not failures: they are counted per errno name (a connect() that
 *   fails counts every datagram of that flow as failed with its errno), and the
 *   helper still exits 0.  Output, one JSON line:
 *     {"sent":N,"errors":N,"errno":{"EHOSTUNREACH":N,...},"flows":N,"seconds":S}
 *
 * sink: binds ADDR:port with a large receive buffer, creates (touches) FILE
 *   once bound, then counts datagrams until no datagram arrived for --idle-ms
 *   after the last one (0, the default: no idle limit), or until SIGTERM /
 *   SIGINT (it then first drains what is already queued).  Output, one JSON
 *   line:
 *     {"packets":N,"bytes":N,"flows":N,"flow_list":["10.1.0.2:40001",...]}
 *   bytes are payload bytes; flows are distinct (source address, source port)
 *   pairs (the destination is the bound address and port, so these are
 *   distinct 5-tuples); flow_list names them in order of first arrival, IPv4
 *   as "ADDR:PORT", IPv6 as "[ADDR]:PORT".  --no-list leaves flow_list out.
 *
 * Exit status: 0, or 2 for bad arguments, 1 for socket set-up failures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define MAX_PAYLOAD 1452 /* IPv6 over a 1500-byte MTU without fragments */

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

static socklen_t addr_len(const union addr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* Parse an IPv4 or IPv6 literal into *a with port; returns the family or -1. */
static int parse_addr(const char *s, uint16_t port, union addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(port);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		return AF_INET6;
	}
	return -1;
}

static void set_port(union addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

static uint64_t num_arg(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	uint64_t v;

	if (parse_u64(s, &v) || v < lo || v > hi)
		die(EXIT_USAGE, "invalid %s '%s' (%llu..%llu)", opt, s, (unsigned long long)lo,
		    (unsigned long long)hi);
	return v;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- send ------------------------------------------------------------- */

/* Errors per errno value (small positive numbers). */
#define MAX_ERRNO 4096
static uint64_t err_count[MAX_ERRNO];

static void count_error(int err, uint64_t n, uint64_t *errors)
{
	if (err <= 0 || err >= MAX_ERRNO)
		err = MAX_ERRNO - 1;
	err_count[err] += n;
	*errors += n;
}

static void raise_nofile(uint64_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		die(EXIT_USAGE, "too many flows: need %llu file descriptors, the limit is %llu",
		    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

static int do_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "dport", required_argument, NULL, 'p' },
		{ "sport-base", required_argument, NULL, 'b' },
		{ "flows", required_argument, NULL, 'f' },
		{ "packets", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "size", required_argument, NULL, 'z' },
		{ "mark", required_argument, NULL, 'm' },
		{ "dev", required_argument, NULL, 'i' },
		{ "unconnected", no_argument, NULL, 'u' },
		{ "rate", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *src_s = NULL, *dst_s = NULL, *dev = NULL;
	uint64_t dport = 0, sport_base = 40000, flows = 1, packets = 1, size = 64, mark = 0;
	uint64_t rate = 50000;
	double duration = 0;
	bool unconnected = false, have_mark = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': src_s = optarg; break;
		case 'd': dst_s = optarg; break;
		case 'p': dport = num_arg("--dport", optarg, 1, 65535); break;
		case 'b': sport_base = num_arg("--sport-base", optarg, 1, 65535); break;
		case 'f': flows = num_arg("--flows", optarg, 1, 65535); break;
		case 'n': packets = num_arg("--packets", optarg, 0, UINT32_MAX); break;
		case 'D':
			if (parse_double(optarg, 0.001, 3600, &duration))
				die(EXIT_USAGE, "invalid --duration '%s'", optarg);
			break;
		case 'z': size = num_arg("--size", optarg, 0, MAX_PAYLOAD); break;
		case 'm': mark = num_arg("--mark", optarg, 0, UINT32_MAX); have_mark = true; break;
		case 'i': dev = optarg; break;
		case 'u': unconnected = true; break;
		case 'r': rate = num_arg("--rate", optarg, 0, 100000000); break;
		default: die(EXIT_USAGE, "send: unknown option (see the file header)");
		}
	}
	if (optind != argc)
		die(EXIT_USAGE, "send: unexpected argument '%s'", argv[optind]);
	if (!dst_s || !dport)
		die(EXIT_USAGE, "send: --dst and --dport are required");
	if (sport_base + flows - 1 > 65535)
		die(EXIT_USAGE, "send: --sport-base + --flows exceeds port 65535");

	union addr dst, src;
	int fam = parse_addr(dst_s, (uint16_t)dport, &dst);
	if (fam < 0)
		die(EXIT_USAGE, "send: invalid --dst address '%s'", dst_s);
	if (src_s) {
		if (parse_addr(src_s, 0, &src) != fam)
			die(EXIT_USAGE, "send: invalid --src address '%s' (same family as --dst)", src_s);
	} else {
		memset(&src, 0, sizeof(src));
		src.sa.sa_family = (sa_family_t)fam;
	}

	raise_nofile(flows + 16);
	int *fds = xcalloc(flows, sizeof(*fds));
	int *ferr = xcalloc(flows, sizeof(*ferr)); /* connect() errno per flow, 0 = usable */
	uint64_t sent = 0, errors = 0;

	for (uint64_t i = 0; i < flows; i++) {
		int fd = socket(fam, SOCK_DGRAM, 0);
		if (fd < 0)
			die(EXIT_FAIL, "socket: %s", strerror(errno));
		if (have_mark) {
			int m = (int)mark;
			if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)))
				die(EXIT_FAIL, "SO_MARK: %s", strerror(errno));
		}
		if (dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1))
			die(EXIT_FAIL, "SO_BINDTODEVICE %s: %s", dev, strerror(errno));
		set_port(&src, (uint16_t)(sport_base + i));
		if (bind(fd, &src.sa, addr_len(&src)))
			die(EXIT_FAIL, "bind %s port %llu: %s", src_s ? src_s : "*",
			    (unsigned long long)(sport_base + i), strerror(errno));
		if (!unconnected && connect(fd, &dst.sa, addr_len(&dst)))
			ferr[i] = errno ? errno : EIO;
		fds[i] = fd;
	}

	char *buf = xcalloc(1, MAX_PAYLOAD);
	memset(buf, 0xa5, MAX_PAYLOAD);
	uint64_t gap = rate ? 1000000000ull / rate : 0;
	uint64_t start = mono_ns(), deadline = start + (uint64_t)(duration * 1e9), k = 0;
	bool stop = false;

	for (uint64_t round = 0; !stop && (duration > 0 || round < packets); round++) {
		for (uint64_t i = 0; i < flows; i++, k++) {
			if (gap) {
				uint64_t due = start + k * gap, now = mono_ns();
				if (due > now + 20000)
					sleep_ns(due - now);
			}
			if (duration > 0 && (k & 63) == 0 && mono_ns() >= deadline) {
				stop = true;
				break;
			}
			if (ferr[i]) {
				count_error(ferr[i], 1, &errors);
				continue;
			}
			ssize_t n;
			if (unconnected)
				n = sendto(fds[i], buf, size, 0, &dst.sa, addr_len(&dst));
			else
				n = send(fds[i], buf, size, 0);
			if (n == (ssize_t)size)
				sent++;
			else
				count_error(n < 0 ? errno : EMSGSIZE, 1, &errors);
		}
	}
	double secs = (double)(mono_ns() - start) / 1e9;

	for (uint64_t i = 0; i < flows; i++)
		close(fds[i]);
	printf("{\"sent\":%llu,\"errors\":%llu,\"errno\":{", (unsigned long long)sent,
	       (unsigned long long)errors);
	const char *sep = "";
	for (int e = 1; e < MAX_ERRNO; e++) {
		if (!err_count[e])
			continue;
		printf("%s\"%s\":%llu", sep, e == MAX_ERRNO - 1 ? "EOTHER" : errno_name(e),
		       (unsigned long long)err_count[e]);
		sep = ",";
	}
	printf("},\"flows\":%llu,\"seconds\":%.3f}\n", (unsigned long long)flows, secs);
	free(buf);
	free(fds);
	free(ferr);
	return 0;
}

/* ---- sink ------------------------------------------------------------- */

struct flow {
	uint8_t addr[16];
	uint16_t port;
	uint8_t used;
};

static struct flow *ftab; /* open addressing, power-of-two size */
static uint32_t *forder;  /* slot index of each flow in order of first arrival */
static size_t fsize = 1024, fcount;

static uint32_t flow_hash(const uint8_t *addr, uint16_t port)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

static size_t flow_slot(struct flow *tab, size_t size, const uint8_t *addr, uint16_t port)
{
	size_t s = flow_hash(addr, port) & (size - 1);

	while (tab[s].used && (tab[s].port != port || memcmp(tab[s].addr, addr, 16)))
		s = (s + 1) & (size - 1);
	return s;
}

static void flow_add(const uint8_t *addr, uint16_t port)
{
	size_t s = flow_slot(ftab, fsize, addr, port);

	if (ftab[s].used)
		return;
	if ((fcount + 1) * 2 > fsize) {
		size_t nsize = fsize * 2;
		struct flow *ntab = xcalloc(nsize, sizeof(*ntab));
		for (size_t i = 0; i < fcount; i++) {
			struct flow *f = &ftab[forder[i]];
			size_t ns = flow_slot(ntab, nsize, f->addr, f->port);
			ntab[ns] = *f;
			forder[i] = (uint32_t)ns;
		}
		free(ftab);
		ftab = ntab;
		fsize = nsize;
		forder = xrealloc(forder, fsize * sizeof(*forder));
		s = flow_slot(ftab, fsize, addr, port);
	}
	memcpy(ftab[s].addr, addr, 16);
	ftab[s].port = port;
	ftab[s].used = 1;
	forder[fcount++] = (uint32_t)s;
}

static volatile sig_atomic_t stop_sink;

static void on_signal(int sig)
{
	(void)sig;
	stop_sink = 1;
}

#define BATCH 64

static int do_sink(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "idle-ms", required_argument, NULL, 'I' },
		{ "ready", required_argument, NULL, 'r' },
		{ "no-list", no_argument, NULL, 'L' },
		{ 0 },
	};
	const char *bind_s = NULL, *ready = NULL;
	uint64_t port = 0, idle_ms = 0;
	bool list = true;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bind_s = optarg; break;
		case 'p': port = num_arg("--port", optarg, 1, 65535); break;
		case 'I': idle_ms = num_arg("--idle-ms", optarg, 0, 86400000); break;
		case 'r': ready = optarg; break;
		case 'L': list = false; break;
		default: die(EXIT_USAGE, "sink: unknown option (see the file header)");
		}
	}
	if (optind != argc)
		die(EXIT_USAGE, "sink: unexpected argument '%s'", argv[optind]);
	if (!bind_s || !port)
		die(EXIT_USAGE, "sink: --bind and --port are required");

	union addr local;
	int fam = parse_addr(bind_s, (uint16_t)port, &local);
	if (fam < 0)
		die(EXIT_USAGE, "sink: invalid --bind address '%s'", bind_s);

	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0)
		die(EXIT_FAIL, "socket: %s", strerror(errno));
	int rcvbuf = 64 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fam == AF_INET6) {
		int on = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	if (bind(fd, &local.sa, addr_len(&local)))
		die(EXIT_FAIL, "bind %s port %llu: %s", bind_s, (unsigned long long)port, strerror(errno));
	if (ready) {
		int rfd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (rfd < 0)
			die(EXIT_FAIL, "ready file %s: %s", ready, strerror(errno));
		close(rfd);
	}

	ftab = xcalloc(fsize, sizeof(*ftab));
	forder = xcalloc(fsize, sizeof(*forder));

	static char bufs[BATCH][2048];
	union addr from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	uint64_t packets = 0, bytes = 0, last = 0;

	for (;;) {
		int timeout = -1;
		if (stop_sink)
			break;
		if (idle_ms && packets) {
			uint64_t now = mono_ns(), end = last + idle_ms * 1000000ull;
			if (now >= end)
				break;
			timeout = (int)((end - now + 999999) / 1000000);
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout);
		if (r < 0 && errno != EINTR)
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		/* read everything queued, also after a signal (drain) */
		for (;;) {
			for (int i = 0; i < BATCH; i++) {
				iov[i].iov_base = bufs[i];
				iov[i].iov_len = sizeof(bufs[i]);
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_name = &from[i];
				msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			}
			int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0) {
				if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					die(EXIT_FAIL, "recvmmsg: %s", strerror(errno));
				break;
			}
			for (int i = 0; i < n; i++) {
				uint8_t key[16] = { 0 };
				uint16_t sport;
				if (from[i].sa.sa_family == AF_INET6) {
					memcpy(key, &from[i].in6.sin6_addr, 16);
					sport = ntohs(from[i].in6.sin6_port);
				} else {
					/* IPv4 as ::ffff:a.b.c.d, so families never collide */
					key[10] = key[11] = 0xff;
					memcpy(key + 12, &from[i].in.sin_addr, 4);
					sport = ntohs(from[i].in.sin_port);
				}
				flow_add(key, sport);
				packets++;
				bytes += msgs[i].msg_len;
			}
			last = mono_ns();
		}
	}
	close(fd);

	printf("{\"packets\":%llu,\"bytes\":%llu,\"flows\":%zu", (unsigned long long)packets,
	       (unsigned long long)bytes, fcount);
	if (list) {
		printf(",\"flow_list\":[");
		for (size_t i = 0; i < fcount; i++) {
			struct flow *f = &ftab[forder[i]];
			char a[INET6_ADDRSTRLEN];
			static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
			if (fam == AF_INET && !memcmp(f->addr, v4mapped, 12)) {
				inet_ntop(AF_INET, f->addr + 12, a, sizeof(a));
				printf("%s\"%s:%u\"", i ? "," : "", a, f->port);
			} else {
				inet_ntop(AF_INET6, f->addr, a, sizeof(a));
				printf("%s\"[%s]:%u\"", i ? "," : "", a, f->port);
			}
		}
		printf("]");
	}
	printf("}\n");
	free(ftab);
	free(forder);
	return 0;
}

int main(int argc, char **argv)
{
	prog_name = "udpflows";
	if (argc < 2)
		die(EXIT_USAGE, "usage: udpflows send|sink OPTIONS (see tests/lib/udpflows.c)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sink"))
		return do_sink(argc - 1, argv + 1);
	die(EXIT_USAGE, "unknown mode '%s' (send or sink)", argv[1]);
}
