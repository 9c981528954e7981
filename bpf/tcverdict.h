/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Keys, counters and events shared by bpf/tcverdict.bpf.c and tools/tcverdict/. */
#ifndef BPFSCOPE_TCVERDICT_H
#define BPFSCOPE_TCVERDICT_H

/* Verdict slots: what a TC, tcx, netkit or LWT program returned.  Slot =
 * return value + 1 for -1..8 (TC_ACT_UNSPEC/TCX_NEXT .. TC_ACT_TRAP), then
 * BPF_LWT_REROUTE (128), then anything else; TV_REDIR_ERR counts the
 * redirects that failed afterwards (skb_do_redirect). */
enum {
	TV_UNSPEC, TV_OK, TV_RECLASSIFY, TV_SHOT, TV_PIPE, TV_STOLEN, TV_QUEUED, TV_REPEAT, TV_REDIRECT,
	TV_TRAP, TV_REROUTE, TV_OTHER, TV_NACT, TV_REDIR_ERR = TV_NACT, TV_NSLOTS
};

/* Where a program ran: the hook's direction.  TC programs say ingress or
 * egress (skb->tc_at_ingress); LWT programs their program type. */
enum { TVD_INGRESS, TVD_EGRESS, TVD_PRIMARY, TVD_PEER, TVD_LWT_IN, TVD_LWT_OUT, TVD_LWT_XMIT };

struct tv_key {
	__u32 netns;
	__u32 ifindex;
	__u32 prog_id;   /* 0: drop_reason counts, per hook */
	__u32 dir;
};

struct tv_val {
	__u64 n[16]; /* TV_NSLOTS used; a power of two, so the BPF side can mask the index */
};

/* Redirects by target: bpf_redirect(), _peer() and _neigh() as the kernel
 * recorded them for the program's return (bpf_redirect_info). */
struct tv_rkey {
	struct tv_key k;
	__u32 tgt_ifindex;
	__u32 flags;     /* TV_RF_* */
};
#define TV_RF_INGRESS 1
#define TV_RF_PEER 2
#define TV_RF_NEIGH 4

/* The kernel's internal redirect flags (their values changed across
 * versions: the front end reads them from BTF). */
struct tv_rflags {
	__u32 peer, neigh;
};

enum tv_event_kind {
	TV_EV_DROP = 1,      /* the program returned SHOT/DROP (fexit), or a TC drop reason (kfree_skb) */
	TV_EV_REDIR_ERR,     /* skb_do_redirect failed after the program returned REDIRECT */
};

struct tv_event {
	__u64 ktime_ns;
	__u32 kind;
	__u32 netns;
	__u32 ifindex;
	__u32 prog_id;       /* 0: unknown (drop reasons without fexit) */
	__u32 dir;
	__s32 verdict;       /* the program's return value; -2: not known */
	__u32 reason;        /* drop reason (kfree_skb), 0 under fexit */
	__s32 err;           /* redirect errors: -errno */
	__u32 tgt_ifindex;
	__u32 tgt_flags;     /* TV_RF_* */
	char ifname[16];
};

#endif
