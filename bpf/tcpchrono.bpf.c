// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tcpchrono: the kernel's TCP sender chronographs (busy, rwnd-limited,
 * sndbuf-limited time) for every connection.
 *
 * btf_tc_state / raw_tc_state: sock/inet_sock_set_state, a TP_TWIN (tp_btf,
 *   raw_tp fallback; the front end's hook table loads one).
 *   CLOSE -> SYN_SENT remembers the connecting process; LISTEN -> SYN_RECV
 *   remembers when a passive connection was set up; -> CLOSE reads the
 *   chronographs and emits one tc_record.  A state change made by the
 *   process holding the socket (close(), shutdown(), or its backlog
 *   processed on its way out of a socket call) names the owner of a
 *   passive connection nobody has named yet.
 * tc_accept_fx: fexit on inet_accept, the accepting process (trampolines).
 * tc_accept_kr: kretprobe on inet_csk_accept, the same where kprobes exist
 *   and trampolines do not.
 * tc_sysexit: only with --mechanism syscalls: accept()/accept4()
 *   returning an fd, resolved to its socket through the caller's file table.
 *   Runs on every system call of every process.
 * owners_scan (bpf/owners.bpf.h): iter/task_file, owners of sockets set up before we started,
 *   and (swept by the front end while some are pending) of accepted ones.
 * tc_iter_tcp: iter/tcp, live mode: one tc_record per connection of the
 *   network namespace the front end creates the iterator in (-N).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "tcpchrono.h"
/* closes come in bursts (a server shutting down, a churn of short
 * connections): room for about 7,700 records between two reads */
#define EVENTS_RINGBUF_BYTES (1024 * 1024)
#include "events.bpf.h"
#include "hooks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define ECONNABORTED 103
#define PF_KTHREAD 0x00200000

/* The kernel's HZ: jiffies -> microseconds as tcp_get_info() does. */
extern int CONFIG_HZ __kconfig;

/* Set by the front end before load. */
const volatile bool emit_events = true;   /* false in live mode */
const volatile __u32 filter_pid;
const volatile __u16 filter_family;
const volatile __u32 filter_netns;      /* -N in event mode: that namespace's inode */
const volatile __u32 filter_nports;
const volatile __u16 filter_ports[TC_MAX_PORTS];
const volatile __u64 filter_min_busy_us;
const volatile __u64 filter_limited_bp;
const volatile long nr_accept = -1;       /* syscall numbers for tc_sysexit */
const volatile long nr_accept4 = -1;
/* Wake the reader once this much is waiting; it also drains every 100 ms. */
const volatile __u64 wakeup_bytes = 1;

/* Passive connections set up, and those of them that since got an owner or
 * closed without one: the front end sweeps file tables while some are
 * pending.  scan_resolved: owners the sweeps found. */
__u64 passive_opened;
__u64 passive_settled;
__u64 scan_resolved;

struct conn_info {
	__u64 start_ns;   /* 0: set up before we started */
	__u32 pid;        /* 0: not known yet */
	__u8 origin;
	__u8 pending;     /* counted in passive_opened, not yet in passive_settled */
	__u8 pad[2];
	char comm[TC_COMM_LEN];
};

/* A pending passive connection got its owner or is gone: count it once. */
static __always_inline void settle(struct conn_info *ci)
{
	if (ci->pending) {
		ci->pending = 0;
		__sync_fetch_and_add(&passive_settled, 1);
	}
}

/* Socket address -> when and by whom it was set up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn_info);
} conns SEC(".maps");

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP &&
	       BPF_CORE_READ(sk, sk_type) == SOCK_STREAM &&
	       (family == AF_INET || family == AF_INET6);
}

/* -N in event mode: only sockets of that network namespace. */
static __always_inline bool netns_match(const struct sock *sk)
{
	return !filter_netns || BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) == filter_netns;
}

static __always_inline bool port_match(__u16 sport, __u16 dport)
{
	if (!filter_nports)
		return true;
	for (int i = 0; i < TC_MAX_PORTS; i++) {
		if (i >= filter_nports)
			break;
		if (filter_ports[i] == sport || filter_ports[i] == dport)
			return true;
	}
	return false;
}

/* The chronographs as tcp_get_info() reports them, and the counters. */
static __always_inline void fill_chrono(struct tc_record *r, __u32 stat[3], __u32 type, __u32 start)
{
	tc_chrono_usecs(stat, type, start, (__u32)bpf_jiffies64(), CONFIG_HZ,
			&r->busy_us, &r->rwnd_us, &r->sndbuf_us);
	r->chrono_type = type;
}

/* Addresses, ports, chronographs and counters of a full TCP socket, with
 * direct loads through tp (a BTF pointer: tp_btf and iterators). */
static __always_inline void fill_direct(struct tc_record *r, const struct tcp_sock *tp)
{
	const struct sock_common *c = &tp->inet_conn.icsk_inet.sk.__sk_common;
	__u32 stat[3];

	r->sk = (__u64)tp;
	r->family = c->skc_family;
	/* inet_sport, not skc_num: the close path releases the local port
	 * (skc_num = 0) before it reports the state change */
	r->sport = __builtin_bswap16(tp->inet_conn.icsk_inet.inet_sport);
	r->dport = __builtin_bswap16(c->skc_dport);
	if (r->family == AF_INET) {
		*(__u32 *)r->saddr = c->skc_rcv_saddr;
		*(__u32 *)r->daddr = c->skc_daddr;
	} else {
		__builtin_memcpy(r->saddr, &c->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(r->daddr, &c->skc_v6_daddr, 16);
	}
	stat[0] = tp->chrono_stat[0];
	stat[1] = tp->chrono_stat[1];
	stat[2] = tp->chrono_stat[2];
	/* chrono_type: a 2-bit field on 6.1, a whole byte on 6.18 */
	fill_chrono(r, stat, BPF_CORE_READ_BITFIELD(tp, chrono_type), tp->chrono_start);
	r->bytes_acked = tp->bytes_acked;
	r->bytes_received = tp->bytes_received;
	r->total_retrans = tp->total_retrans;
}

/* The same through bpf_probe_read_kernel() (raw tracepoint arguments). */
static __always_inline void fill_probed(struct tc_record *r, const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u32 stat[3] = {};

	r->sk = (__u64)sk;
	r->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	r->sport = __builtin_bswap16(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	r->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (r->family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)r->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)r->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&r->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&r->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	bpf_core_read(&stat, sizeof(stat), &tp->chrono_stat);
	fill_chrono(r, stat, BPF_CORE_READ_BITFIELD_PROBED(tp, chrono_type), BPF_CORE_READ(tp, chrono_start));
	r->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	r->bytes_received = BPF_CORE_READ(tp, bytes_received);
	r->total_retrans = BPF_CORE_READ(tp, total_retrans);
}

/* tc_record is too big for the BPF stack next to everything else. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_record);
} scratch SEC(".maps");

static __always_inline struct tc_record *scratch_record(void)
{
	__u32 zero = 0;
	struct tc_record *r = bpf_map_lookup_elem(&scratch, &zero);
	if (r)
		__builtin_memset(r, 0, sizeof(*r));
	return r;
}

/* owner: the current process sets the connection up (connect).  Else a
 * passive connection, counted as pending (for the sweeps) when counted. */
static __always_inline void remember(const struct sock *sk, __u8 origin, bool owner, bool counted)
{
	__u64 key = (__u64)sk;
	struct conn_info ci = { .start_ns = bpf_ktime_get_ns(), .origin = origin };

	if (owner) {
		ci.pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(&ci.comm, sizeof(ci.comm));
		bpf_map_update_elem(&conns, &key, &ci, BPF_ANY);
		return;
	}
	/* pending: counted until it gets an owner or closes */
	struct conn_info *stale = bpf_map_lookup_elem(&conns, &key);
	if (stale)
		settle(stale); /* an entry left for an earlier socket at this address */
	ci.pending = counted;
	if (!bpf_map_update_elem(&conns, &key, &ci, BPF_ANY) && counted)
		__sync_fetch_and_add(&passive_opened, 1);
}

static __always_inline void closed(void *ctx, const struct sock *sk, int oldstate, __u16 family,
				   const bool btf)
{
	__u64 key = (__u64)sk;
	struct conn_info *ci = bpf_map_lookup_elem(&conns, &key);
	struct tc_record *r;
	__u32 pid = ci ? ci->pid : 0;

	/* a failed connect() or a closed listener: no connection to report */
	if (!emit_events || oldstate == TCP_LISTEN || oldstate == TCP_SYN_SENT)
		goto out;
	if ((filter_pid && pid != filter_pid) || (filter_family && family != filter_family))
		goto out;
	if (!netns_match(sk))
		goto out;
	r = scratch_record();
	if (!r)
		goto out;
	if (btf) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
		if (!tp)
			goto out;
		fill_direct(r, tp);
	} else {
		fill_probed(r, sk);
	}
	if (!port_match(r->sport, r->dport))
		goto out;
	if (!tc_pass_limits(r->busy_us, r->rwnd_us, r->sndbuf_us, filter_min_busy_us,
			    filter_limited_bp))
		goto out;
	r->state = oldstate;
	r->pid = pid;
	if (ci) {
		r->origin = ci->origin;
		if (ci->start_ns)
			r->duration_ns = bpf_ktime_get_ns() - ci->start_ns;
		__builtin_memcpy(r->comm, ci->comm, sizeof(r->comm));
	}
	events_submit_lazy(ctx, r, sizeof(*r), wakeup_bytes);
out:
	if (ci) {
		settle(ci);
		bpf_map_delete_elem(&conns, &key);
	}
}

/*
 * A passive connection whose owner is not known yet changes state while a
 * process holds the socket lock (sk_lock.owned): lock_sock() in a socket
 * call on this socket (close(), shutdown(), or the segments and timers
 * deferred to release_sock() of any call), so current holds the socket.
 * Softirq and timer work on a socket owned by a process is deferred to that
 * process, never done in the context of whoever was interrupted (on
 * loopback: the peer).  Not named: kernel threads (a delayed fput in a
 * kworker) and tcp_abort() (ss -K, bpf_sock_destroy: ECONNABORTED), which
 * lock sockets they do not hold.
 */
static __always_inline void owner_context(const struct sock *sk, int oldstate, int newstate,
					  const bool btf)
{
	struct task_struct *task;
	struct conn_info *ci;
	__u64 key = (__u64)sk;
	int owned, err;

	owned = btf ? sk->sk_lock.owned : BPF_CORE_READ(sk, sk_lock.owned);
	if (!owned)
		return;
	if (newstate == TCP_CLOSE) {
		if (oldstate == TCP_LISTEN || oldstate == TCP_SYN_SENT || oldstate == TCP_CLOSE)
			return;
		err = btf ? sk->sk_err : BPF_CORE_READ(sk, sk_err);
		if (err == ECONNABORTED)
			return;
	}
	task = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return;
	ci = bpf_map_lookup_elem(&conns, &key);
	if (ci && ci->pid)
		return;
	if (!ci) {
		/* set up before we started and not seen by a scan */
		struct conn_info fresh = {};
		bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
		ci = bpf_map_lookup_elem(&conns, &key);
		if (!ci)
			return;
	}
	ci->pid = bpf_get_current_pid_tgid() >> 32;
	ci->origin = TC_ORIGIN_CLOSE;
	bpf_get_current_comm(&ci->comm, sizeof(ci->comm));
	settle(ci);
}

/* btf: sk is a BTF pointer (tp_btf) and can be read directly, which is
 * cheaper than bpf_probe_read_kernel() on this hot path. */
static __always_inline int on_state(void *ctx, const struct sock *sk, int oldstate, int newstate,
				    const bool btf)
{
	__u16 family, proto, type;

	/* most transitions need nothing: decide before touching the socket */
	if (newstate != TCP_SYN_SENT && newstate != TCP_SYN_RECV && newstate != TCP_CLOSE &&
	    newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE_WAIT)
		return 0;
	if (btf) {
		family = sk->__sk_common.skc_family;
		proto = sk->sk_protocol;
		type = sk->sk_type;
	} else {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		proto = BPF_CORE_READ(sk, sk_protocol);
		type = BPF_CORE_READ(sk, sk_type);
	}
	if (proto != IPPROTO_TCP || type != SOCK_STREAM || (family != AF_INET && family != AF_INET6))
		return 0;
	if (newstate != TCP_SYN_SENT && newstate != TCP_SYN_RECV)
		owner_context(sk, oldstate, newstate, btf);
	switch (newstate) {
	case TCP_SYN_SENT:
		remember(sk, TC_ORIGIN_CONNECT, true, false);
		break;
	case TCP_SYN_RECV:
		/* passive open, in softirq: the owner comes with accept() or
		 * later.  Sweeps are only worth it for connections the filters
		 * may show; the remote port is not set yet, the local one (the
		 * listener's) is. */
		if (oldstate == TCP_LISTEN) {
			__u16 lport = btf ? sk->__sk_common.skc_num : BPF_CORE_READ(sk, __sk_common.skc_num);
			remember(sk, TC_ORIGIN_UNKNOWN, false,
				 (!filter_family || family == filter_family) && port_match(lport, 0) &&
				 netns_match(sk));
		}
		break;
	case TCP_CLOSE:
		closed(ctx, sk, oldstate, family, btf);
		break;
	}
	return 0;
}

TP_TWIN(tc_state, "inet_sock_set_state", const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(ctx, sk, oldstate, newstate, btf);
}

/* The process that accepted sk. */
static __always_inline void accepted(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct conn_info *ci;

	if (!sk || !is_tcp(sk))
		return;
	ci = bpf_map_lookup_elem(&conns, &key);
	if (!ci) {
		/* handshake completed before tcpchrono started */
		struct conn_info fresh = { .origin = TC_ORIGIN_ACCEPT };
		bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
		ci = bpf_map_lookup_elem(&conns, &key);
		if (!ci)
			return;
	}
	ci->pid = bpf_get_current_pid_tgid() >> 32;
	ci->origin = TC_ORIGIN_ACCEPT;
	bpf_get_current_comm(&ci->comm, sizeof(ci->comm));
	settle(ci);
}

/* inet_accept(sock, newsock, ...): the argument list changed in 6.10, newsock
 * did not move; it holds the new sock only when accept succeeded. */
SEC("fexit/inet_accept")
int tc_accept_fx(__u64 *ctx)
{
	struct socket *newsock = (struct socket *)ctx[1];

	accepted(BPF_CORE_READ(newsock, sk));
	return 0;
}

/* inet_csk_accept() returns the new sock (NULL on error), in the accepting
 * process: called only by accept, with the same signature in 6.1 and 6.10+
 * as far as the return value goes. */
SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(tc_accept_kr, struct sock *newsk)
{
	accepted(newsk);
	return 0;
}

/* accept()/accept4() returned fd: its socket from the caller's file table. */
static __always_inline int on_sys_exit(long id, long ret)
{
	struct task_struct *task;
	struct file **fds, *f = NULL;
	struct socket *sock;
	unsigned int max;

	if (ret < 0 || (id != nr_accept && id != nr_accept4))
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	fds = BPF_CORE_READ(task, files, fdt, fd);
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (!fds || ret >= max)
		return 0;
	bpf_core_read(&f, sizeof(f), &fds[ret]);
	if (!f)
		return 0;
	sock = BPF_CORE_READ(f, private_data);
	/* a socket's file points back at it: rules out every other kind of file */
	if (!sock || BPF_CORE_READ(sock, file) != f)
		return 0;
	accepted(BPF_CORE_READ(sock, sk));
	return 0;
}

/* --mechanism syscalls only: runs on every system call of every process
 * (the number is all it looks at before accept). */
SEC("tp_btf/sys_exit")
int BPF_PROG(tc_sysexit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	return on_sys_exit(regs->orig_ax, ret);
#else
	return 0; /* the front end offers it on x86_64 only */
#endif
}

/* Owners of sockets set up before tcpchrono started: whoever holds them
 * (called by the shared owner scan, owners_scan, for each socket file). */
static __always_inline void tc_socket_owner(struct task_struct *task, struct socket *sock)
{
	struct conn_info *ci;
	struct sock *sk;
	__u64 key;

	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !is_tcp(sk))
		return;
	key = (__u64)sk;
	ci = bpf_map_lookup_elem(&conns, &key);
	if (ci && ci->pid)
		return;
	if (!ci) {
		/* listeners and unconnected sockets have no connection to name */
		__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (state == TCP_LISTEN || state == TCP_CLOSE)
			return;
		struct conn_info fresh = {};
		bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
		ci = bpf_map_lookup_elem(&conns, &key);
		if (!ci)
			return;
	}
	ci->pid = BPF_CORE_READ(task, tgid);
	ci->origin = TC_ORIGIN_SCAN;
	BPF_CORE_READ_STR_INTO(&ci->comm, task, comm);
	if (ci->pending)
		__sync_fetch_and_add(&scan_resolved, 1);
	settle(ci);
}

/* the shared owner scan, for sockets only: it writes no records */
#define OWNERS_KINDS 0
#define OWNERS_ON_SOCKET(task, sock) tc_socket_owner(task, sock)
#include "owners.bpf.h"

/* Live mode: one record per TCP connection in this network namespace. */
SEC("iter/tcp")
int tc_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tc_record *r;
	struct tcp_sock *tp;
	struct conn_info *ci;
	__u64 key;
	__u8 state;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* request and time-wait sockets: no chronographs */
	state = BPF_CORE_READ(skc, skc_state);
	if (state == TCP_LISTEN || state == TCP_CLOSE || state == TCP_SYN_SENT)
		return 0;
	key = (__u64)tp;
	ci = bpf_map_lookup_elem(&conns, &key);
	if (filter_pid && (!ci || ci->pid != filter_pid))
		return 0;
	r = scratch_record();
	if (!r)
		return 0;
	fill_direct(r, tp);
	if (filter_family && r->family != filter_family)
		return 0;
	if (!port_match(r->sport, r->dport))
		return 0;
	r->state = state;
	if (ci) {
		r->pid = ci->pid;
		r->origin = ci->origin;
		if (ci->start_ns)
			r->duration_ns = bpf_ktime_get_ns() - ci->start_ns;
		__builtin_memcpy(r->comm, ci->comm, sizeof(r->comm));
	}
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}
