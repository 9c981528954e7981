// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tcpchrono: runs both ends of TCP connections on loopback
 * (receiver = accepting child process, sender = connecting parent) and, just
 * before each end closes, records getsockopt(TCP_INFO): the ground truth the
 * tests compare tcpchrono with.
 *
 *   tcpchrono_pair [--scenario slow|sndbuf|bulk] [--bytes N] [-6] [--port P]
 *                  [--conns N] [--hold] [--read-delay-us N]
 *   tcpchrono_pair --churn SEC [--port P] [-6]     connections per second
 *   tcpchrono_pair --open N [--port P] [-6]        N idle connections held
 *   tcpchrono_pair --bpf-stats                     BPF run-time statistics on
 *   --comm HEX (with any of them): both ends' process name, as hex bytes
 *   ("626164fffe" for "bad\xff\xfe": invalid UTF-8, quotes, backslashes,
 *   newlines no shell word can carry), set with prctl(PR_SET_NAME)
 *
 * slow:   receiver SO_RCVBUF 4 KiB reads 1 KiB every 2 ms: rwnd-limited
 * sndbuf: sender SO_SNDBUF 8 KiB, paced at 4 MB/s (SO_MAX_PACING_RATE: TCP's
 *         own pacing, whatever the congestion control), receiver SO_RCVBUF
 *         16 KiB reads 64 KiB every 5 ms.  The kernel starts the
 *         sndbuf-limited chronograph when it sends the last queued data while
 *         the writer waits for buffer space: with pacing that is the pacing
 *         timer, every time; unpaced on loopback, 6.1 sends everything before
 *         the writer blocks and the chronograph never starts.
 * bulk:   receiver SO_RCVBUF 4 MiB, reads at full speed: busy, unconstrained
 * stall:  receiver SO_RCVBUF 4 KiB never reads; the sender fills the window,
 *         waits --stall-ms (500) with the rwnd-limited chronograph running,
 *         reads TCP_INFO and aborts (SO_LINGER 0: RST, CLOSE inside close()),
 *         so the chronograph is still running when the connection closes
 * Each can be tuned: --sndbuf --rcvbuf --read-size --read-delay-us
 * --write-size --nodelay --cork --cc NAME --pacing BYTES_PER_SEC.  --retry N repeats a connection (up to N times)
 * until the sender's TCP_INFO shows the scenario (rwnd > busy/2, sndbuf > 0,
 * busy > 0); the record says how many attempts it took.
 *
 * Per connection one JSON line on stdout, after both ends closed:
 *  {"scenario":..,"family":4|6,"bytes":N,"attempts":N,"shown":BOOL,
 *   "sender":{END},"receiver":{END}}
 *  END = {"pid","port","busy_us","rwnd_limited_us","sndbuf_limited_us",
 *         "bytes_acked","bytes_received","total_retrans","gap_us"}
 * Each end closes in three steps: shutdown(SHUT_WR), wait until all it sent
 * and its FIN are acknowledged (SIOCOUTQ 0), getsockopt(TCP_INFO), close().
 * Its chronographs are idle from that reading on; gap_us is the time from
 * the reading to the return of close().  The counters that can still move
 * after the reading: the sender's bytes_received (+1, the receiver's FIN).
 *
 * --hold: once all data is acknowledged, print
 *   {"held":true,"sender_pid":..,"sender_port":..,"receiver_port":..}, keep the connection
 *   open until stdin reaches end of file, then close as above and print the
 *   record.
 * --open N: print {"open":N,"port":P} once N connections are established
 *   (accepting ends in a child process), hold them until stdin reaches end
 *   of file.
 * --churn SEC: connect, send 1 KiB, wait for the server's close, close;
 *   print {"conns":N,"seconds":S,"per_second":R,"cpu_us_per_conn":C}
 *   (C: user + system CPU of both ends per connection).
 * --bpf-stats: turn on the kernel's BPF run-time statistics (run_cnt,
 *   run_time_ns) with BPF_ENABLE_STATS, print {"bpf_stats":true}, keep them
 *   on until stdin reaches end of file.  Unlike kernel.bpf_stats_enabled,
 *   this changes no setting other programs read, and ends with the process.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum scenario { SC_BULK, SC_SLOW, SC_SNDBUF, SC_STALL };
static const char *const sc_names[] = { "bulk", "slow", "sndbuf", "stall" };

static struct {
	enum scenario sc;
	long bytes;
	int family;
	int port;
	int conns;
	bool hold;
	long read_delay_us;
	double churn;
	int open;
	int sndbuf, rcvbuf;     /* -1: the scenario's choice */
	long write_size, read_size;
	bool nodelay, cork;
	int retry;
	const char *cc;
	long pacing;
	long stall_ms;
} o = { .sc = SC_BULK, .bytes = -1, .family = 4, .conns = 1, .read_delay_us = -1,
	.sndbuf = -1, .rcvbuf = -1, .write_size = 1 << 16, .read_size = -1, .retry = 1, .stall_ms = 500,
	.pacing = -1 };

static void fail(const char *what)
{
	fprintf(stderr, "tcpchrono_pair: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static socklen_t make_addr(struct sockaddr_storage *ss, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (o.family == 6) {
		struct sockaddr_in6 *a = (void *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (void *)ss;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (void *)&ss, &len))
		fail("getsockname");
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static int listener(int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, o.port);
	int one = 1;
	int fd = socket(o.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* FORCE: beyond net.core.rmem_max when root, so the guest behaves alike */
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		fail("SO_RCVBUF");
	if (bind(fd, (void *)&ss, len))
		fail("bind");
	if (listen(fd, 4096))
		fail("listen");
	return fd;
}

static int connect_to(int port, int sndbuf)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, port);
	int fd = socket(o.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)))
		fail("SO_SNDBUF");
	if (connect(fd, (void *)&ss, len))
		fail("connect");
	return fd;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Until everything written (and the FIN, once sent) is acknowledged. */
static void wait_acked(int fd)
{
	for (;;) {
		int outq = 0;
		if (ioctl(fd, SIOCOUTQ, &outq))
			fail("SIOCOUTQ");
		if (!outq)
			return;
		sleep_us(1000);
	}
}

/* Send our FIN and wait for its ACK (so the FIN's own busy time is in the
 * reading), read TCP_INFO, close; time from that reading to close()'s return. */
static void finish(int fd, struct tcp_info *ti, char *out, size_t outlen, bool graceful)
{
	socklen_t len = sizeof(*ti);
	int port = local_port(fd);

	if (graceful) {
		if (shutdown(fd, SHUT_WR))
			fail("shutdown");
		wait_acked(fd);
	} else {
		/* abort: close() sends a RST and moves to CLOSE right away */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			fail("SO_LINGER");
	}
	memset(ti, 0, sizeof(*ti));
	double t0 = now_us();
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len))
		fail("TCP_INFO");
	close(fd);
	double gap = now_us() - t0;
	snprintf(out, outlen,
		 "{\"pid\":%d,\"port\":%d,\"busy_us\":%llu,\"rwnd_limited_us\":%llu,"
		 "\"sndbuf_limited_us\":%llu,\"bytes_acked\":%llu,\"bytes_received\":%llu,"
		 "\"total_retrans\":%u,\"gap_us\":%.0f}",
		 getpid(), port, (unsigned long long)ti->tcpi_busy_time,
		 (unsigned long long)ti->tcpi_rwnd_limited, (unsigned long long)ti->tcpi_sndbuf_limited,
		 (unsigned long long)ti->tcpi_bytes_acked, (unsigned long long)ti->tcpi_bytes_received,
		 ti->tcpi_total_retrans, gap);
}

static void wait_stdin_eof(void)
{
	char c[256];
	while (read(0, c, sizeof(c)) > 0)
		;
}

/* Receiver: accept, read to end of file (slowly in "slow"), report, close. */
static void receiver(int lfd, int wfd)
{
	char *buf = malloc(1 << 16);
	char line[512];
	if (!buf)
		fail("malloc");
	for (;;) { /* until the sender is done and kills us */
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			fail("accept");
		size_t chunk = (size_t)o.read_size;
		struct tcp_info ti;
		if (o.sc == SC_STALL) {
			/* never read: the window closes; wait for the sender's RST */
			int port = local_port(fd);
			for (;;) {
				socklen_t len = sizeof(ti);
				if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
					fail("TCP_INFO");
				if (ti.tcpi_state == 7 /* TCP_CLOSE */)
					break;
				sleep_us(1000);
			}
			snprintf(line, sizeof(line),
				 "{\"pid\":%d,\"port\":%d,\"busy_us\":%llu,\"rwnd_limited_us\":%llu,"
				 "\"sndbuf_limited_us\":%llu,\"bytes_acked\":%llu,\"bytes_received\":%llu,"
				 "\"total_retrans\":%u,\"gap_us\":0}",
				 getpid(), port, (unsigned long long)ti.tcpi_busy_time,
				 (unsigned long long)ti.tcpi_rwnd_limited,
				 (unsigned long long)ti.tcpi_sndbuf_limited,
				 (unsigned long long)ti.tcpi_bytes_acked,
				 (unsigned long long)ti.tcpi_bytes_received, ti.tcpi_total_retrans);
			close(fd);
			if (write(wfd, line, strlen(line) + 1) < 0)
				fail("pipe write");
			continue;
		}
		for (;;) {
			ssize_t n = read(fd, buf, chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				fail("read");
			if (n == 0)
				break;
			if (o.read_delay_us)
				sleep_us(o.read_delay_us);
		}
		finish(fd, &ti, line, sizeof(line), true);
		if (write(wfd, line, strlen(line) + 1) < 0)
			fail("pipe write");
	}
	free(buf);
}

/* Sender: connect, write everything, wait until it is acknowledged. */
static int send_all(int port)
{
	static char buf[1 << 16];
	int fd = connect_to(port, o.sndbuf);
	long left = o.bytes;
	int one = 1;
	if (o.nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		fail("TCP_NODELAY");
	if (o.cork && setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)))
		fail("TCP_CORK");
	if (o.cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o.cc, strlen(o.cc)))
		fail("TCP_CONGESTION");
	unsigned int rate = (unsigned int)o.pacing;
	if (o.pacing && setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate)))
		fail("SO_MAX_PACING_RATE");
	while (left > 0) {
		ssize_t n = write(fd, buf, left < o.write_size ? (size_t)left : (size_t)o.write_size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("write");
		left -= n;
	}
	wait_acked(fd);
	return fd;
}

/* stall: fill the send buffer and the peer's window, then wait with the
 * receive-window chronograph running. */
static int send_stalled(int port)
{
	static char buf[1 << 16];
	int fd = connect_to(port, o.sndbuf);
	for (;;) {
		ssize_t n = send(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			fail("send");
	}
	sleep_us(o.stall_ms * 1000);
	return fd;
}

/* Did the sender show what the scenario is about?  (Its TCP_INFO before close.) */
static bool scenario_shown(const struct tcp_info *ti)
{
	switch (o.sc) {
	case SC_SLOW:
		return ti->tcpi_rwnd_limited * 2 > ti->tcpi_busy_time;
	case SC_SNDBUF:
		return ti->tcpi_sndbuf_limited > 0;
	case SC_STALL:
		return ti->tcpi_rwnd_limited * 2 > (uint64_t)o.stall_ms * 1000;
	default:
		return ti->tcpi_busy_time > 0;
	}
}

static int read_line0(int rfd, char *out, size_t len)
{
	size_t i = 0;
	while (i < len - 1) {
		ssize_t n = read(rfd, out + i, 1);
		if (n <= 0)
			return -1;
		if (out[i] == '\0')
			return 0;
		i++;
	}
	return -1;
}

static void transfers(void)
{
	int pfd[2];
	int lfd = listener(o.rcvbuf);
	int port = local_port(lfd);

	if (pipe(pfd))
		fail("pipe");
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(pfd[0]);
		receiver(lfd, pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	close(lfd);
	for (int i = 0; i < o.conns; i++) {
		char snd[512], rcv[512];
		int attempt = 0;
		bool shown;
		do {
			int fd = o.sc == SC_STALL ? send_stalled(port) : send_all(port);
			struct tcp_info ti;
			if (o.hold) {
				printf("{\"held\":true,\"sender_pid\":%d,\"sender_port\":%d,"
				       "\"receiver_port\":%d}\n", getpid(), local_port(fd), port);
				fflush(stdout);
				wait_stdin_eof();
			}
			finish(fd, &ti, snd, sizeof(snd), o.sc != SC_STALL);
			if (read_line0(pfd[0], rcv, sizeof(rcv)))
				fail("receiver report");
			shown = scenario_shown(&ti);
			attempt++;
		} while (!shown && attempt < o.retry);
		printf("{\"scenario\":\"%s\",\"family\":%d,\"bytes\":%ld,\"attempts\":%d,\"shown\":%s,"
		       "\"sender\":%s,\"receiver\":%s}\n",
		       sc_names[o.sc], o.family, o.bytes, attempt, shown ? "true" : "false", snd, rcv);
		fflush(stdout);
	}
	int st;
	kill(child, SIGTERM);
	waitpid(child, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		exit(1);
}

/* ---- bench modes ---------------------------------------------------- */

/* Soft RLIMIT_NOFILE up to want (or the hard limit); error if that is short. */
static void raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		fail("getrlimit");
	if ((long)rl.rlim_cur >= want)
		return;
	rl.rlim_cur = (long)rl.rlim_max < want ? rl.rlim_max : (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &rl) || (long)rl.rlim_cur < want) {
		errno = EMFILE;
		fail("RLIMIT_NOFILE hard limit too low for --open");
	}
}

static void churn(void)
{
	int lfd = listener(0);
	int port = local_port(lfd);
	pid_t child = fork();
	char buf[1024] = { 0 };

	if (child < 0)
		fail("fork");
	if (child == 0) {
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				fail("accept");
			size_t got = 0;
			while (got < sizeof(buf)) {
				ssize_t n = read(fd, buf, sizeof(buf) - got);
				if (n <= 0)
					break;
				got += n;
			}
			close(fd); /* server closes first: TIME_WAIT stays on this side */
		}
	}
	close(lfd);
	long n = 0;
	double t0 = now_us(), end = t0 + o.churn * 1e6;
	while (now_us() < end) {
		int fd = connect_to(port, 0);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			fail("write");
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		n++;
	}
	double secs = (now_us() - t0) / 1e6;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* CPU both ends used (user + system, softirq work done on their behalf
	 * included): less sensitive to other load than the rate */
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double cpu = self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
		     kids.ru_stime.tv_sec + (self.ru_utime.tv_usec + self.ru_stime.tv_usec +
		     kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
	printf("{\"conns\":%ld,\"seconds\":%.3f,\"per_second\":%.1f,\"cpu_us_per_conn\":%.2f}\n",
	       n, secs, n / secs, n ? cpu * 1e6 / n : 0);
}

/* N idle connections: the accepting ends in a child, the connecting ends
 * here, so each process needs N descriptors, not 2N. */
static void open_many(void)
{
	raise_nofile(o.open + 64L);
	int lfd = listener(0);
	int port = local_port(lfd);
	int done[2], ready[2];
	char x = 0;
	int *c = calloc(o.open, sizeof(int));
	if (!c || pipe(done) || pipe(ready))
		fail("calloc/pipe");
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		close(done[1]);
		close(ready[0]);
		for (int i = 0; i < o.open; i++)
			if (accept(lfd, NULL, NULL) < 0)
				fail("accept");
		if (write(ready[1], &x, 1) != 1) /* all accepted */
			fail("pipe write");
		while (read(done[0], &x, 1) > 0) /* hold them until the parent is done */
			;
		_exit(0);
	}
	close(done[0]);
	close(ready[1]);
	close(lfd);
	for (int i = 0; i < o.open; i++)
		c[i] = connect_to(port, 0);
	if (read(ready[0], &x, 1) != 1)
		fail("accepting child");
	printf("{\"open\":%d,\"port\":%d}\n", o.open, port);
	fflush(stdout);
	wait_stdin_eof();
	for (int i = 0; i < o.open; i++)
		close(c[i]);
	free(c);
	close(done[1]);
	waitpid(child, NULL, 0);
}

static void bpf_stats(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	int fd = (int)syscall(__NR_bpf, BPF_ENABLE_STATS, &attr, sizeof(attr));
	if (fd < 0)
		fail("BPF_ENABLE_STATS");
	printf("{\"bpf_stats\":true}\n");
	fflush(stdout);
	wait_stdin_eof();
	close(fd);
}

/* The process name from hex bytes (at most 15: the kernel's limit);
 * children inherit it. */
static int set_comm_hex(const char *hex)
{
	char name[16] = { 0 };
	size_t n = strlen(hex);

	if (!n || n % 2 || n / 2 > 15)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !v)
			return -1;
		name[i] = (char)v;
	}
	return prctl(PR_SET_NAME, name, 0, 0, 0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "scenario", required_argument, 0, 's' }, { "bytes", required_argument, 0, 'b' },
		{ "port", required_argument, 0, 'p' }, { "conns", required_argument, 0, 'n' },
		{ "hold", no_argument, 0, 'H' }, { "read-delay-us", required_argument, 0, 'd' },
		{ "churn", required_argument, 0, 'C' }, { "open", required_argument, 0, 'O' },
		{ "sndbuf", required_argument, 0, 'S' }, { "rcvbuf", required_argument, 0, 'R' },
		{ "write-size", required_argument, 0, 'w' }, { "read-size", required_argument, 0, 'r' },
		{ "nodelay", no_argument, 0, 'N' }, { "cork", no_argument, 0, 'K' },
		{ "cc", required_argument, 0, 'c' }, { "pacing", required_argument, 0, 'a' }, { "retry", required_argument, 0, 'y' },
		{ "stall-ms", required_argument, 0, 'T' }, { "bpf-stats", no_argument, 0, 'B' },
		{ "comm", required_argument, 0, 'm' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "6", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!strcmp(optarg, "slow"))
				o.sc = SC_SLOW;
			else if (!strcmp(optarg, "sndbuf"))
				o.sc = SC_SNDBUF;
			else if (!strcmp(optarg, "bulk"))
				o.sc = SC_BULK;
			else if (!strcmp(optarg, "stall"))
				o.sc = SC_STALL;
			else
				goto usage;
			break;
		case 'b': o.bytes = atol(optarg); break;
		case 'p': o.port = atoi(optarg); break;
		case 'n': o.conns = atoi(optarg); break;
		case 'H': o.hold = true; break;
		case 'd': o.read_delay_us = atol(optarg); break;
		case 'C': o.churn = atof(optarg); break;
		case 'O': o.open = atoi(optarg); break;
		case '6': o.family = 6; break;
		case 'S': o.sndbuf = atoi(optarg); break;
		case 'R': o.rcvbuf = atoi(optarg); break;
		case 'w': o.write_size = atol(optarg); break;
		case 'r': o.read_size = atol(optarg); break;
		case 'N': o.nodelay = true; break;
		case 'K': o.cork = true; break;
		case 'c': o.cc = optarg; break;
		case 'a': o.pacing = atol(optarg); break;
		case 'y': o.retry = atoi(optarg); break;
		case 'T': o.stall_ms = atol(optarg); break;
		case 'B': bpf_stats(); return 0;
		case 'm':
			if (set_comm_hex(optarg))
				goto usage;
			break;
		default: goto usage;
		}
	}
	if (o.conns < 1 || o.retry < 1 || (o.hold && (o.conns != 1 || o.retry != 1)))
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	if (o.churn > 0) {
		churn();
		return 0;
	}
	if (o.open > 0) {
		open_many();
		return 0;
	}
	if (o.bytes < 0)
		o.bytes = o.sc == SC_SLOW ? 256 * 1024 : o.sc == SC_SNDBUF ? 1000000 : 64 << 20;
	if (o.sndbuf < 0)
		o.sndbuf = o.sc == SC_SNDBUF ? 8192 : 0;
	if (o.rcvbuf < 0)
		o.rcvbuf = o.sc == SC_SLOW || o.sc == SC_STALL ? 4096 : o.sc == SC_SNDBUF ? 16384 : 4 << 20;
	if (o.read_size < 0)
		o.read_size = o.sc == SC_SLOW ? 1024 : 1 << 16;
	if (o.read_delay_us < 0)
		o.read_delay_us = o.sc == SC_SLOW ? 2000 : o.sc == SC_SNDBUF ? 5000 : 0;
	if (o.pacing < 0)
		o.pacing = o.sc == SC_SNDBUF ? 4000000 : 0;
	if (o.write_size < 1 || o.write_size > 1 << 16 || o.read_size < 1 || o.read_size > 1 << 16)
		goto usage;
	transfers();
	return 0;
usage:
	fprintf(stderr, "usage: tcpchrono_pair [--scenario slow|sndbuf|bulk] [--bytes N] [-6] [--port P] "
			"[--conns N] [--hold] [--retry N] [--sndbuf N] [--rcvbuf N] [--read-size N] "
			"[--read-delay-us N] [--write-size N] [--nodelay] [--comm HEX] | --churn SEC | --open N | --bpf-stats\n");
	return 2;
}
