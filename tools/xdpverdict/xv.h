/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What xdpverdict's modules share: the options, the hook table and the
 * record layouts the front end (xdpverdict.c) defines.
 */
#ifndef XDPVERDICT_XV_H
#define XDPVERDICT_XV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "hooks.h"
#include "output.h"
#include "xdpverdict.h"

/* How a row's verdicts are counted (SRC_NONE: nothing exact; as an
 * option, nothing forced). */
enum source { SRC_NONE, SRC_FEXIT, SRC_DRIVER, SRC_TRACEPOINT };
const char *source_name(enum source s);

struct xv_opts {
	bool all_netns;
	bool per_queue;
	enum source forced; /* --mechanism fexit, driver, or tp_btf/raw_tp alone */
	bool check;         /* --check: readiness of the interfaces (xvcheck.c) */
};
extern struct xv_opts xo;

/* The hook table: fexit on the XDP programs (attached per program by
 * common/progwatch), then the xdp tracepoints. */
enum { H_FEXIT, H_EXCEPTION, H_REDIRECT, H_REDIRECT_ERR, H_BULK_TX, H_DEVMAP_XMIT, H_N };
#define H_TP_FIRST H_EXCEPTION
#define H_TP_N (H_N - H_TP_FIRST)
extern struct hook hooks[H_N];

struct xdpverdict_bpf;
extern struct xdpverdict_bpf *skel;
/* The fexit copies, one per XDP program (common/progwatch). */
extern struct progwatch *watch;

/* Records (the schemas are in xdpverdict.c). */
enum {
	R_NETNS, R_IFACE, R_IFINDEX, R_QUEUE, R_DRIVER, R_MODE, R_PROG_ID, R_PROG, R_SOURCE,
	R_ABORTED, R_DROP, R_PASS, R_TX, R_REDIRECT, R_PACKETS,
	R_REDIR_ERR, R_TX_ERR, R_XMIT_DROPS,
	R_ABORTED_RATE, R_DROP_RATE, R_PASS_RATE, R_TX_RATE, R_REDIRECT_RATE, R_ERR_RATE,
	R_NFIELDS
};
enum { VD_NETNS, VD_IFACE, VD_QUEUE, VD_MODE, VD_PROG_ID, VD_PROG, VD_SOURCE, VD_VERDICT, VD_PACKETS, VD_NFIELDS };
enum {
	E_TYPE, E_NETNS, E_IFACE, E_IFINDEX, E_PROG_ID, E_PROG, E_ACTION, E_ERRNO, E_ERRNO_NAME,
	E_TO_IFINDEX, E_MAP_ID, E_MAP_INDEX, E_SENT, E_DROPS, E_TARGET, E_NFIELDS
};
extern const struct schema row_schema, verdict_schema, event_schema;

/* The facts of a snapshot (xdpverdict.c): mechanisms and the like. */
void snapshot_facts(struct snapshot *sn);
/* Recursion misses of every program this run loaded. */
uint64_t recursion_misses(void *ctx);

#endif
