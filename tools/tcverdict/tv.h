/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What tcverdict's modules share: options, the hook table and the record
 * layouts the front end (tcverdict.c) defines.
 */
#ifndef TCVERDICT_TV_H
#define TCVERDICT_TV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "hooks.h"
#include "nsset.h"
#include "output.h"
#include "tcverdict.h"

/* How a row's verdicts are counted. */
enum source { SRC_NONE, SRC_FEXIT, SRC_DROP_REASON };
const char *source_name(enum source s);

struct tv_opts {
	bool all_netns;
	uint32_t prog_id;      /* -P: only this program's rows */
	enum source forced;    /* --mechanism fexit or drop_reason; SRC_NONE: the best */
};
extern struct tv_opts to;
extern struct nsset nss;

/* fexit on the programs (per program, common/progwatch), fexit on
 * skb_do_redirect, the kfree_skb tracepoint (drop reasons). */
enum { H_FEXIT, H_REDIR_ERR, H_KFREE, H_N };
extern struct hook hooks[H_N];

struct tcverdict_bpf;
extern struct tcverdict_bpf *skel;
extern struct progwatch *watch;

enum {
	R_NETNS, R_IFACE, R_IFINDEX, R_DIR, R_KIND, R_ROUTE, R_PROG_ID, R_PROG, R_SOURCE,
	R_V0, /* TV_NACT verdict counters, in slot order */
	R_REDIR_ERR = R_V0 + TV_NACT, R_PACKETS,
	R_PACKETS_RATE, R_OK_RATE, R_SHOT_RATE, R_REDIRECT_RATE,
	R_NFIELDS
};
enum { VD_NETNS, VD_IFACE, VD_DIR, VD_KIND, VD_ROUTE, VD_PROG_ID, VD_PROG, VD_SOURCE, VD_VERDICT, VD_PACKETS,
       VD_NFIELDS };
enum { RD_NETNS, RD_IFACE, RD_DIR, RD_KIND, RD_PROG_ID, RD_PROG, RD_TARGET, RD_TARGET_IFINDEX, RD_TARGET_DIR,
       RD_VIA, RD_PACKETS, RD_RATE, RD_NFIELDS };
enum { M_NETNS, M_INDEX, M_ACTION, M_TARGET_DIR, M_TARGET, M_TARGET_IFINDEX, M_PACKETS, M_BYTES, M_DROPS,
       M_OVERLIMITS, M_RATE, M_NFIELDS };
enum { E_TYPE, E_NETNS, E_IFACE, E_IFINDEX, E_DIR, E_PROG_ID, E_PROG, E_VERDICT, E_REASON, E_ERRNO_NAME,
       E_TARGET, E_NFIELDS };
extern const struct schema row_schema, verdict_schema, redirect_schema, mirred_schema, event_schema;
extern const char *const verdict_names[TV_NACT];

/* Facts of a snapshot (tcverdict.c), and recursion misses of every
 * program this run loaded. */
void snapshot_facts(struct snapshot *sn);
uint64_t recursion_misses(void *ctx);
/* Attach the kfree_skb hook now (it is manual): false if it cannot be. */
bool drop_reasons_on(void);

#endif
