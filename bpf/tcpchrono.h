/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tcpchrono: records shared by bpf/tcpchrono.bpf.c and tools/tcpchrono.c,
 * and the chronograph arithmetic both sides (and the unit tests) use.
 */
#ifndef BPFSCOPE_TCPCHRONO_H
#define BPFSCOPE_TCPCHRONO_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define TC_COMM_LEN 16
#define TC_MAX_PORTS 8

/* How the owner of a connection became known. */
enum tc_origin {
	TC_ORIGIN_UNKNOWN = 0,  /* set up before tcpchrono started, owner never seen */
	TC_ORIGIN_CONNECT,      /* connect(): CLOSE -> SYN_SENT, in the caller's context */
	TC_ORIGIN_ACCEPT,       /* accept(): the accepting process */
	TC_ORIGIN_SCAN,         /* found in a process's file table (iter/task_file) */
};

/* One connection: the close event, or one live-mode sample from iter/tcp. */
struct tc_record {
	__u64 sk;              /* kernel address of the socket: live-mode key only */
	__u64 duration_ns;     /* set-up to close; 0 when set up before tcpchrono started */
	__u64 busy_us;         /* tcpi_busy_time: all three chronographs */
	__u64 rwnd_us;         /* tcpi_rwnd_limited */
	__u64 sndbuf_us;       /* tcpi_sndbuf_limited */
	__u64 bytes_acked;     /* tcpi_bytes_acked */
	__u64 bytes_received;  /* tcpi_bytes_received */
	__u32 total_retrans;   /* tcpi_total_retrans */
	__u32 pid;             /* owner (tgid); 0 when unknown */
	__u8 saddr[16];        /* local address (IPv4 in the first 4 bytes) */
	__u8 daddr[16];        /* remote address */
	__u16 sport;           /* local port, host order */
	__u16 dport;           /* remote port, host order */
	__u16 family;          /* AF_INET or AF_INET6 */
	__u8 state;            /* TCP state before the close / at the sample */
	__u8 origin;           /* enum tc_origin */
	__u8 chrono_type;      /* chronograph running at that moment (0: none) */
	__u8 pad[7];
	char comm[TC_COMM_LEN];
};

/*
 * The kernel's tcp_get_info_chrono_stats(): chrono_stat[] holds jiffies spent
 * busy, rwnd-limited and sndbuf-limited; the chronograph still running
 * (chrono_type, since chrono_start) is added; each is scaled by USEC_PER_SEC / HZ
 * and busy time is the sum of the three.  u32 jiffies wrap like tcp_jiffies32.
 */
static __always_inline void tc_chrono_usecs(const __u32 stat[3], __u32 type, __u32 start,
					    __u32 now, __u32 hz, __u64 *busy, __u64 *rwnd,
					    __u64 *sndbuf)
{
	__u64 per = hz ? 1000000 / hz : 0;
	__u64 s0 = stat[0], s1 = stat[1], s2 = stat[2];
	__u32 running = now - start;

	if (type == 1)
		s0 += running;
	else if (type == 2)
		s1 += running;
	else if (type == 3)
		s2 += running;
	s0 *= per;
	s1 *= per;
	s2 *= per;
	*busy = s0 + s1 + s2;
	*rwnd = s1;
	*sndbuf = s2;
}

/* --min-busy and --limited: non-zero if the connection is shown.
 * limited_bp is the --limited percentage in basis points (1/100 %). */
static __always_inline int tc_pass_limits(__u64 busy, __u64 rwnd, __u64 sndbuf,
					  __u64 min_busy_us, __u64 limited_bp)
{
	if (busy < min_busy_us)
		return 0;
	if (limited_bp && (!busy || (rwnd + sndbuf) * 10000 < limited_bp * busy))
		return 0;
	return 1;
}

#endif
