/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What fibstat's modules share: the options, the hook table and the record
 * layouts the front end (fibstat.c) defines.
 */
#ifndef FIBSTAT_FIB_H
#define FIBSTAT_FIB_H

#include <stdbool.h>
#include <stdint.h>

#include "hooks.h"
#include "output.h"
#include "fibflows.h"
#include "fibroutes.h"

struct fib_opts {
	struct route_filter rf; /* -4/-6 and -r */
	bool flows_view;
	struct flowspec fs;
	bool tables;
	bool misses;
	unsigned max_flows;
	double flow_timeout;
	char ns_label[64];      /* the netns label: "-" for the tool's own */
};
extern struct fib_opts fo;

/* The hook table (fibstat.c). */
enum { H_XMIT, H_SEL4, H_SEL6, H_LK4, H_LK6, H_RX, H_N };
extern struct hook hooks[H_N];

struct fibstat_bpf;
extern struct fibstat_bpf *skel;

/* Records (the schemas are in fibstat.c). */
enum {
	N_NETNS, N_FAMILY, N_TABLE, N_METRIC, N_ROUTE, N_NH, N_GW, N_IFACE, N_WEIGHT, N_FLOWS, N_PACKETS, N_BYTES,
	N_PPS, N_SHARE, N_FAIR, N_IMBAL, N_FLOW_SHARE, N_FLOW_IMBAL, N_SEL, N_NFIELDS
};
enum {
	W_NETNS, W_FAMILY, W_PROTO, W_SRC, W_SPORT, W_DST, W_DPORT, W_MAC, W_TABLE, W_ROUTE, W_NH, W_GW, W_IFACE,
	W_PACKETS, W_BYTES, W_PPS, W_NFIELDS
};
enum {
	L_NETNS, L_FAMILY, L_TABLE, L_VRF, L_IIF, L_OIF, L_LOOKUPS, L_FOUND, L_MISS, L_UNREACH, L_PROHIBIT,
	L_BLACKHOLE, L_ERROR, L_LPS, L_NFIELDS
};
enum { R_NETNS, R_FAMILY, R_TABLE, R_VRF, R_IIF, R_OIF, R_RESULT, R_LOOKUPS, R_NFIELDS };
enum {
	E_TYPE, E_FAMILY, E_TABLE, E_VRF, E_ERRNO, E_ERRNO_NAME, E_PROTO, E_SRC, E_SPORT, E_DST, E_DPORT, E_IIF,
	E_OIF, E_MARK, E_NFIELDS
};
extern const struct schema nh_schema, flow_schema, lk_schema, lkres_schema, ev_schema;

#endif
