/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Records of the iter/task_file owner scan (bpf/owners.bpf.h). */
#ifndef BPFSCOPE_OWNERS_H
#define BPFSCOPE_OWNERS_H

enum bpf_obj_kind { OBJ_MAP = 1, OBJ_PROG = 2, OBJ_LINK = 3, OBJ_PERF = 4 };

/* What an owner scan reports (OWNERS_KINDS in the BPF object). */
#define OWN_BPF  (1 << 0)   /* BPF maps, programs and links: id set */
#define OWN_PERF (1 << 1)   /* perf events (id 0: ask bpf_task_fd_query(pid, fd)) */

struct owner_rec {
	__u32 pid;   /* tgid */
	__u32 id;    /* map, prog or link id; 0 for perf events */
	__u32 fd;
	__u32 kind;  /* enum bpf_obj_kind */
	char comm[16];
};

#endif
