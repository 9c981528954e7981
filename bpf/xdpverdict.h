/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Keys, counters and events shared by bpf/xdpverdict.bpf.c and tools/xdpverdict.c. */
#ifndef BPFSCOPE_XDPVERDICT_H
#define BPFSCOPE_XDPVERDICT_H

/* Actions 0..4 are XDP_ABORTED..XDP_REDIRECT; anything else a program
 * returns is counted in slot XV_ACT_INVALID (the kernel treats it as
 * ABORTED). */
#define XV_NACT 6
#define XV_ACT_INVALID 5

/* fexit counts: one entry per (netns, interface, rx queue, program). */
struct xv_fkey {
	__u32 netns;    /* network namespace inode */
	__u32 ifindex;
	__u32 queue;    /* rx queue index */
	__u32 prog_id;  /* the XDP program fexit is attached to */
};

struct xv_fval {
	__u64 act[XV_NACT];
};

/* Tracepoint counts: one entry per (netns, interface, program); prog_id is
 * 0 for xdp_bulk_tx / xdp_devmap_xmit, which do not name a program. */
struct xv_tkey {
	__u32 netns;
	__u32 ifindex;
	__u32 prog_id;
	__u32 pad;
};

struct xv_tval {
	__u64 exc[XV_NACT];   /* xdp_exception by action */
	__u64 redirect_ok;    /* xdp_redirect */
	__u64 redirect_err;   /* xdp_redirect_err */
	__u64 bulk_sent;      /* xdp_bulk_tx: XDP_TX frames sent */
	__u64 bulk_drops;     /* xdp_bulk_tx: XDP_TX frames the driver dropped */
	__u64 devmap_sent;    /* xdp_devmap_xmit from this interface */
	__u64 devmap_drops;
};

enum xv_event_kind {
	XV_EV_EXCEPTION = 1,  /* xdp_exception */
	XV_EV_REDIRECT_ERR,   /* xdp_redirect_err */
	XV_EV_BULK_TX_ERR,    /* xdp_bulk_tx with drops or an error */
	XV_EV_DEVMAP_ERR,     /* xdp_devmap_xmit with drops or an error */
};

struct xv_event {
	__u64 ktime_ns;
	__u32 kind;
	__u32 netns;
	__u32 ifindex;
	__u32 prog_id;
	__u32 act;
	__s32 err;
	__s32 to_ifindex;     /* redirect target interface, 0 if none */
	__u32 map_id;
	__u32 map_index;
	__u32 sent;
	__u32 drops;
	__u32 pad;
	char ifname[16];
};

#endif
