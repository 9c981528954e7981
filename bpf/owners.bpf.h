/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The owner scan every tool shares: one iter/task_file program, owners_scan,
 * that walks every process's file table and reports who holds what.
 *   - OWNERS_KINDS (define before including; default OWN_BPF) says which
 *     records it writes: BPF maps, programs and links (OWN_BPF), perf events
 *     (OWN_PERF).  Read them with bpfobj_owners() in common/bpfobj.c.
 *   - A tool that wants the sockets defines OWNERS_ON_SOCKET(task, sock)
 *     before including: it is called in BPF for each socket file (what
 *     tcpchrono uses to name the owners of connections it did not see open).
 */
#ifndef BPFSCOPE_OWNERS_BPF_H
#define BPFSCOPE_OWNERS_BPF_H

#include "owners.h"

#ifndef OWNERS_KINDS
#define OWNERS_KINDS OWN_BPF
#endif

/*
 * BPF objects and perf events are anonymous-inode files named "bpf-map",
 * "bpf-prog", "bpf_link" and "[perf_event]".  Matching the dentry name works
 * on kernels whose kallsyms do not list data symbols (no
 * CONFIG_KALLSYMS_ALL), where comparing f_op with bpf_map_fops would not
 * resolve.
 */
static __always_inline bool name_is(const char *a, const char *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

SEC("iter/task_file")
int owners_scan(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct owner_rec r = {};
	char name[14] = {};
	const unsigned char *dname;

	if (!task || !file)
		return 0;
#ifdef OWNERS_ON_SOCKET
	{
		struct socket *sock = bpf_sock_from_file(file);
		if (sock) {
			OWNERS_ON_SOCKET(task, sock);
			return 0;
		}
	}
#endif
	if (!(OWNERS_KINDS & (OWN_BPF | OWN_PERF)))
		return 0;
	dname = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(name, sizeof(name), dname);
	if ((OWNERS_KINDS & OWN_BPF) && name_is(name, "bpf-map", 8)) {
		struct bpf_map *map = BPF_CORE_READ(file, private_data);
		r.id = BPF_CORE_READ(map, id);
		r.kind = OBJ_MAP;
	} else if ((OWNERS_KINDS & OWN_BPF) && name_is(name, "bpf-prog", 9)) {
		struct bpf_prog *prog = BPF_CORE_READ(file, private_data);
		r.id = BPF_CORE_READ(prog, aux, id);
		r.kind = OBJ_PROG;
	} else if ((OWNERS_KINDS & OWN_BPF) && name_is(name, "bpf_link", 9)) {
		struct bpf_link *link = BPF_CORE_READ(file, private_data);
		r.id = BPF_CORE_READ(link, id);
		r.kind = OBJ_LINK;
	} else if ((OWNERS_KINDS & OWN_PERF) && name_is(name, "[perf_event]", 13)) {
		r.kind = OBJ_PERF;
	} else {
		return 0;
	}
	r.pid = task->tgid;
	r.fd = ctx->fd;
	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), task->comm);
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

#endif
