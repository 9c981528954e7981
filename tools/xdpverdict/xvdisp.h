/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libxdp's multi-program dispatcher (xdp-loader, xdp_program__attach):
 * the XDP program on the interface is "xdp_dispatcher", whose stub
 * functions prog0..prog9 are replaced (freplace, BPF_PROG_TYPE_EXT) by the
 * component programs, each called in turn while its verdict is one of its
 * chain-call actions.  This module finds a dispatcher's components (the
 * tracing links of EXT programs aimed at it) and its configuration (the
 * struct xdp_dispatcher_config in its .rodata, read through the map's BTF),
 * and declares the records of the components.
 */
#ifndef XDPVERDICT_XVDISP_H
#define XDPVERDICT_XVDISP_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "output.h"

#define XVD_SLOTS 10 /* prog0..prog9 (libxdp's MAX_DISPATCHER_ACTIONS) */

struct xvd_component {
	uint32_t prog_id;
	uint32_t link_id;
	int slot;                      /* prog0 -> 0; -1 when the function has another name */
	char name[64];                 /* the kernel's (15 bytes at most); xvdisp_full_name */
};

struct xvd_dispatcher {
	uint32_t prog_id;
	bool conf_known;               /* xdp_dispatcher_config read */
	unsigned version;              /* dispatcher_version (0: the field is absent, version 1) */
	unsigned enabled;              /* num_progs_enabled */
	uint32_t chain_actions[XVD_SLOTS]; /* bit A: verdict A continues the chain */
	uint32_t run_prio[XVD_SLOTS];
	const char *conf_why;          /* config not read: why */
	int ncomp;
	struct xvd_component comp[XVD_SLOTS];
	const char *why;               /* components not listed: why (NULL: listed) */
};

/* Start a discovery pass: walk the BPF links once (tracing links of EXT
 * programs).  Cheap when no dispatcher is attached: only called then. */
void xvdisp_scan(void);
/* Is program prog_id (named name) a libxdp dispatcher?  If so fill d from
 * the last scan (its configuration is read once per dispatcher) and return
 * true. */
bool xvdisp_lookup(uint32_t prog_id, const char *name, struct xvd_dispatcher *d);
/* The kernel keeps 15 bytes of a program's name: the whole one is its main
 * function's in its BTF (as bpftool and xdp-loader show it). */
void xvdisp_full_name(struct xvd_component *k);
/* Forget dispatchers not looked up since the last call (end of a pass). */
void xvdisp_sweep(void);
void xvdisp_free(void);

/* "pass,drop" style names of the actions in a chain-call mask (libxdp's
 * own stub return value, bit 31, left out), into buf. */
const char *xvdisp_actions(uint32_t mask, char *buf, size_t len);

/* The records of the components (xvrows.c fills them). */
enum {
	C_NETNS, C_IFACE, C_IFINDEX, C_DISPATCHER, C_SLOT, C_PROG_ID, C_PROG, C_PRIO, C_CHAIN, C_SOURCE,
	C_ABORTED, C_DROP, C_PASS, C_TX, C_REDIRECT, C_PACKETS, C_CONTINUED, C_RETURNED,
	C_ABORTED_RATE, C_DROP_RATE, C_PASS_RATE, C_TX_RATE, C_REDIRECT_RATE, C_CONTINUED_RATE, C_RETURNED_RATE,
	C_NOTE, C_NFIELDS
};
enum {
	CV_NETNS, CV_IFACE, CV_DISPATCHER, CV_SLOT, CV_PROG_ID, CV_PROG, CV_SOURCE, CV_VERDICT, CV_PACKETS,
	CV_NFIELDS
};
extern const struct schema component_schema, component_verdict_schema;

#endif
