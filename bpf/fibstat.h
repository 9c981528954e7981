/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* fibstat: structures shared by bpf/fibstat.bpf.c and tools/fibstat.c. */
#ifndef BPFSCOPE_FIBSTAT_H
#define BPFSCOPE_FIBSTAT_H

#define FS_AF_INET 2
#define FS_AF_INET6 10

/* Egress: one flow leaving through one interface toward one L2 neighbour. */
struct fs_flow_key {
	__u32 ifindex;
	__u8 family;   /* FS_AF_INET / FS_AF_INET6 */
	__u8 proto;    /* IP protocol */
	__u8 mac[6];   /* destination MAC: the nexthop's neighbour entry */
	__u16 sport;   /* host order; 0 without ports */
	__u16 dport;
	__u8 src[16];  /* IPv4 in the first 4 bytes */
	__u8 dst[16];
};

struct fs_flow_val {
	__u64 packets;  /* GSO segments counted one by one */
	__u64 bytes;    /* L3 bytes handed to the device */
};

/* fexit on the multipath selection: one route's chosen nexthop. */
struct fs_sel_key {
	__u32 table;
	__s32 oif;
	__u8 family;
	__u8 plen;
	__u8 gw_family; /* 0: no gateway */
	__u8 pad;
	__u8 prefix[16];
	__u8 gw[16];
};

enum fs_result {
	FS_FOUND,
	FS_MISS,        /* no route in this table (or a throw route) */
	FS_UNREACHABLE,
	FS_PROHIBIT,
	FS_BLACKHOLE,
	FS_ERROR,
	FS_NRESULTS,
};

/* Lookups per table, result and interfaces. */
struct fs_lk_key {
	__u32 table;
	__s32 iif;
	__s32 oif;
	__u8 family;
	__u8 result;
	__u8 pad[2];
};

/* Per-CPU counters (array indexes). */
enum fs_counter {
	FS_C_FLOWS_DROPPED,  /* a new flow did not fit in the flow table */
	FS_C_LK_UNATTRIBUTED, /* an IPv4 lookup whose namespace could not be told */
	FS_C_SELECTIONS_DROPPED,
	FS_C_LOOKUPS_DROPPED,
	FS_NCOUNTERS,
};

struct fs_event {
	__u64 ts_ns;
	__u32 table;
	__s32 iif;
	__s32 oif;
	__u32 mark;
	__s32 err;      /* the error the lookup returns (0: found) */
	__u8 family;
	__u8 result;
	__u8 proto;
	__u8 pad;
	__u16 sport;
	__u16 dport;
	__u8 src[16];
	__u8 dst[16];
};

#endif
