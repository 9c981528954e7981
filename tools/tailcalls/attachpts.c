// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "attachpts.h"
#include "maplist.h"
#include "bpfobj.h"
#include "probe.h"
#include "tcdisc.h"
#include "util.h"

/* Newer than the uapi headers we build against (Linux 6.1). */
#define AP_LINK_NETFILTER 10
#define AP_LINK_TCX 11
#define AP_LINK_UPROBE_MULTI 12
#define AP_LINK_NETKIT 13
#define AP_LINK_SOCKMAP 14

/* ---- the list being built -------------------------------------------- */

struct ap_list {
	struct attachpt *a;
	int n, cap;
	uint64_t *cgid; /* parallel: cgroup id of cgroup entries */
};

static struct attachpt *ap_add(struct ap_list *l, const char *hook)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->a = xrealloc(l->a, l->cap * sizeof(*l->a));
		l->cgid = xrealloc(l->cgid, l->cap * sizeof(*l->cgid));
	}
	struct attachpt *a = &l->a[l->n];
	memset(a, 0, sizeof(*a));
	l->cgid[l->n] = 0;
	l->n++;
	snprintf(a->hook, sizeof(a->hook), "%s", hook);
	return a;
}

static const char *attach_type_name(uint32_t t)
{
	static __thread char buf[32];
	static const char *const newer[] = {
		[45] = "netfilter", [46] = "tcx_ingress", [47] = "tcx_egress",
		[48] = "trace_uprobe_multi", [49] = "cgroup_unix_connect",
		[50] = "cgroup_unix_sendmsg", [51] = "cgroup_unix_recvmsg",
		[52] = "cgroup_unix_getpeername", [53] = "cgroup_unix_getsockname",
		[54] = "netkit_primary", [55] = "netkit_peer",
	};
	const char *s = libbpf_bpf_attach_type_str(t);
	if (s)
		return s;
	if (t < sizeof(newer) / sizeof(newer[0]) && newer[t])
		return newer[t];
	snprintf(buf, sizeof(buf), "attach_type_%u", t);
	return buf;
}


static void query_ids(int target, uint32_t type, uint32_t **ids, uint32_t *cnt)
{
	uint32_t cap = 64, flags = 0;
	*ids = NULL;
	*cnt = 0;
	for (;;) {
		uint32_t *buf = xcalloc(cap, sizeof(uint32_t)), n = cap;
		if (bpf_prog_query(target, type, 0, &flags, buf, &n)) {
			static bool told;
			free(buf);
			if (errno == ENOSPC && cap < 65536) {
				cap *= 4;
				continue;
			}
			if ((errno == EPERM || errno == EACCES) && !told) {
				told = true;
				note("cannot query cgroup, tcx and netns attachments: %s (needs CAP_NET_ADMIN before Linux 6.9)",
				     errno_name(errno));
			}
			return;
		}
		*ids = buf;
		*cnt = n;
		return;
	}
}

static int cmp_ifindex(const void *a, const void *b)
{
	const struct if_nameindex *x = a, *y = b;
	return (int)x->if_index - (int)y->if_index;
}

static struct attachpt *ap_netns(struct ap_list *l, const char *hook, const struct netns *ns, int ifindex,
				 uint32_t prog)
{
	struct attachpt *a = ap_add(l, hook);
	a->prog_id = prog;
	a->ifindex = ifindex;
	a->netns_ino = ns->ino;
	snprintf(a->netns, sizeof(a->netns), "%s", ns->name);
	return a;
}

/* One program of the TC family (common/tcdisc): cls_bpf as "tc", tcx,
 * netkit, and LWT programs on routes as "lwt". */
static void add_tcprog(struct ap_list *l, const struct netns *ns, const struct tcprog *v, int i)
{
	const struct tcprog *p = &v[i];
	const char *dir = tc_dir_name(p->dir);
	struct attachpt *a;
	unsigned pos = 0;
	switch (p->kind) {
	case TCK_CLS_BPF:
		a = ap_netns(l, "tc", ns, p->ifindex, p->prog_id);
		snprintf(a->target, sizeof(a->target), "%s", p->ifname);
		snprintf(a->detail, sizeof(a->detail), "%s prio %u handle 0x%x", dir, p->pref, p->handle);
		snprintf(a->id, sizeof(a->id), "tc:%" PRIu64 ":%d:%s:%u:%u", ns->ino, p->ifindex, dir, p->pref,
			 p->handle);
		break;
	case TCK_TCX:
	case TCK_NETKIT:
		/* position on the hook: tcdisc keeps the order they run in */
		for (int k = 0; k < i; k++)
			pos += v[k].kind == p->kind && v[k].ifindex == p->ifindex && v[k].dir == p->dir;
		a = ap_netns(l, tc_kind_name(p->kind), ns, p->ifindex, p->prog_id);
		a->link_id = p->link_id;
		snprintf(a->target, sizeof(a->target), "%s", p->ifname);
		snprintf(a->detail, sizeof(a->detail), "%s #%u", dir, pos);
		snprintf(a->id, sizeof(a->id), "%s:%" PRIu64 ":%d:%s:%u", tc_kind_name(p->kind), ns->ino, p->ifindex,
			 dir, p->prog_id);
		break;
	case TCK_LWT:
		a = ap_netns(l, "lwt", ns, p->ifindex, p->prog_id);
		if (*p->ifname)
			snprintf(a->target, sizeof(a->target), "%s via %s", p->route, p->ifname);
		else
			snprintf(a->target, sizeof(a->target), "%s", p->route);
		/* the route names its program; no id: see tcdisc.h for the match */
		if (p->prog_id)
			snprintf(a->detail, sizeof(a->detail), "%s", dir);
		else if (p->candidates > 1)
			snprintf(a->detail, sizeof(a->detail), "%.8s, ambiguous: %d candidates for %.48s", dir,
				 p->candidates, p->lwt_name);
		else
			snprintf(a->detail, sizeof(a->detail), "%.8s, no loaded program matches %.48s", dir, p->lwt_name);
		snprintf(a->id, sizeof(a->id), "lwt:%" PRIu64 ":%.80s:%d:%s", ns->ino, p->route, p->ifindex, dir);
		break;
	}
}

static void walk_netns(struct ap_list *l, const struct netns *ns, int nsfd)
{
	struct if_nameindex *ifs = if_nameindex();
	int nif = 0;
	struct tcprog *tc = NULL;
	int ntc = tcdisc_collect(&tc);
	bool *done = NULL;

	if (ntc < 0) {
		note("TC, tcx, netkit and LWT programs of network namespace %s not read: %s", ns->name,
		     errno_name(-ntc));
		ntc = 0;
	}
	done = xcalloc(ntc ? ntc : 1, sizeof(bool));
	for (; ifs && ifs[nif].if_index; nif++)
		;
	if (nif)
		qsort(ifs, nif, sizeof(*ifs), cmp_ifindex);
	for (int i = 0; i < nif; i++) {
		int ifindex = (int)ifs[i].if_index;
		const char *ifname = ifs[i].if_name;
		LIBBPF_OPTS(bpf_xdp_query_opts, xo);
		if (!bpf_xdp_query(ifindex, 0, &xo)) {
			struct { uint32_t id; const char *mode; } m[] = {
				{ xo.drv_prog_id, "drv" }, { xo.skb_prog_id, "skb" }, { xo.hw_prog_id, "hw" },
			};
			for (int k = 0; k < 3; k++) {
				if (!m[k].id)
					continue;
				struct attachpt *a = ap_netns(l, "xdp", ns, ifindex, m[k].id);
				snprintf(a->target, sizeof(a->target), "%s", ifname);
				snprintf(a->detail, sizeof(a->detail), "%s", m[k].mode);
				snprintf(a->id, sizeof(a->id), "xdp:%" PRIu64 ":%d:%s", ns->ino, ifindex, m[k].mode);
			}
		}
		for (int k = 0; k < ntc; k++)
			if (tc[k].ifindex == ifindex) {
				add_tcprog(l, ns, tc, k);
				done[k] = true;
			}
	}
	/* LWT routes without a device, and interfaces gone meanwhile */
	for (int k = 0; k < ntc; k++)
		if (!done[k])
			add_tcprog(l, ns, tc, k);
	free(done);
	free(tc);
	uint32_t *ids, n;
	query_ids(nsfd, BPF_FLOW_DISSECTOR, &ids, &n);
	for (uint32_t k = 0; k < n; k++) {
		struct attachpt *a = ap_netns(l, "flow_dissector", ns, 0, ids[k]);
		snprintf(a->target, sizeof(a->target), "netns %s", ns->name);
		snprintf(a->id, sizeof(a->id), "flow_dissector:%" PRIu64 ":%u", ns->ino, ids[k]);
	}
	free(ids);
	if (ifs)
		if_freenameindex(ifs);
}

/* ---- cgroups -------------------------------------------------------------- */

static const uint32_t cgroup_types[] = {
	0, 1, 2, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22,
	29, 30, 31, 32, 34, 43, 49, 50, 51, 52, 53,
};

static struct ap_list *cg_list;
static size_t cg_rootlen;

static int cg_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_D)
		return 0;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	const char *rel = path + cg_rootlen;
	for (size_t t = 0; t < sizeof(cgroup_types) / sizeof(cgroup_types[0]); t++) {
		uint32_t *ids, n;
		query_ids(fd, cgroup_types[t], &ids, &n);
		for (uint32_t k = 0; k < n; k++) {
			struct attachpt *a = ap_add(cg_list, "cgroup");
			cg_list->cgid[cg_list->n - 1] = st->st_ino;
			a->prog_id = ids[k];
			snprintf(a->target, sizeof(a->target), "%s", *rel ? rel : "/");
			snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(cgroup_types[t]));
			snprintf(a->id, sizeof(a->id), "cgroup:%" PRIu64 ":%s:%u", (uint64_t)st->st_ino,
				 attach_type_name(cgroup_types[t]), ids[k]);
		}
		free(ids);
	}
	close(fd);
	return 0;
}

static void walk_cgroups(struct ap_list *l)
{
	char line[4096], root[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok) {
			snprintf(root, sizeof(root), "%s", tok);
			break;
		}
	}
	fclose(f);
	if (!*root)
		return;
	cg_list = l;
	cg_rootlen = strlen(root);
	if (cg_rootlen == 1)
		cg_rootlen = 0; /* mounted on "/" */
	nftw(root, cg_visit, 32, FTW_PHYS | FTW_MOUNT);
	cg_list = NULL;
}

/* ---- sockmaps ------------------------------------------------------------------ */

static void walk_sockmaps(struct ap_list *l, const struct maplist *ml)
{
	static const uint32_t types[] = { BPF_SK_SKB_STREAM_PARSER, BPF_SK_SKB_STREAM_VERDICT,
					  BPF_SK_MSG_VERDICT, 38 /* BPF_SK_SKB_VERDICT */ };
	/* types from the map iterator: only sockmaps are opened (never a prog array) */
	for (int i = 0; i < ml->n; i++) {
		struct bpf_map_info info;
		if (ml->v[i].type != BPF_MAP_TYPE_SOCKMAP && ml->v[i].type != BPF_MAP_TYPE_SOCKHASH)
			continue;
		int fd = maplist_open(&ml->v[i], &info);
		if (fd < 0)
			continue;
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			uint32_t *ids, n;
			query_ids(fd, types[t], &ids, &n);
			for (uint32_t k = 0; k < n; k++) {
				struct attachpt *a = ap_add(l, "sockmap");
				a->prog_id = ids[k];
				snprintf(a->target, sizeof(a->target), "map %u %s", info.id, info.name);
				snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(types[t]));
				snprintf(a->id, sizeof(a->id), "sockmap:%u:%u:%u", info.id, types[t], ids[k]);
			}
			free(ids);
		}
		close(fd);
	}
}

/* ---- perf events held by processes ----------------------------------------------- */

static void walk_perf_fds(struct ap_list *l)
{
	static const char *const hooks[] = { "raw_tracepoint", "tracepoint", "kprobe", "kretprobe",
					     "uprobe", "uretprobe" };
	struct owner *own = NULL;
	/* who holds perf events: the shared owner scan (bpf/owners.bpf.h), not
	 * a walk of /proc/PID/fd */
	int n = maplist_owners(&own);
	if (n < 0) {
		note("perf-event attachments not read: owner scan failed: %s", errno_name(n));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (own[i].kind != OBJ_PERF)
			continue;
		char buf[256] = "";
		uint32_t len = sizeof(buf), prog_id = 0, fd_type = 0;
		__u64 off = 0, addr = 0;
		if (bpf_task_fd_query((int)own[i].pid, (int)own[i].fd, 0, buf, &len, &prog_id, &fd_type, &off, &addr) ||
		    !prog_id || fd_type >= sizeof(hooks) / sizeof(hooks[0]))
			continue;
		buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = '\0';
		char target[256];
		if ((fd_type == BPF_FD_TYPE_KPROBE || fd_type == BPF_FD_TYPE_KRETPROBE) && !*buf)
			snprintf(target, sizeof(target), "0x%llx", (unsigned long long)addr);
		else if (off)
			snprintf(target, sizeof(target), "%.200s+0x%llx", buf, (unsigned long long)off);
		else
			snprintf(target, sizeof(target), "%.200s", buf);
		char id[128];
		snprintf(id, sizeof(id), "%s:%.100s:%u", hooks[fd_type], target, prog_id);
		bool dup = false;
		for (int j = 0; j < l->n && !dup; j++)
			dup = !strcmp(l->a[j].id, id);
		if (dup)
			continue;
		struct attachpt *a = ap_add(l, hooks[fd_type]);
		a->prog_id = prog_id;
		a->pid = (int)own[i].pid;
		snprintf(a->target, sizeof(a->target), "%s", target);
		snprintf(a->id, sizeof(a->id), "%s", id);
	}
	free(own);
}

/* ---- links ---------------------------------------------------------------------- */

/* struct bpf_link_info with room for the members newer kernels fill in. */
union link_info {
	struct bpf_link_info info;
	struct {
		uint32_t type, id, prog_id, pad;
		uint32_t u32[24];
	} raw;
};

static const char *link_type_name(uint32_t t)
{
	static const char *const names[] = {
		"link", "raw_tracepoint", "tracing", "cgroup", "iter", "netns", "xdp", "perf_event",
		"kprobe_multi", "struct_ops", "netfilter", "tcx", "uprobe_multi", "netkit", "sockmap",
	};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "link";
}

static struct attachpt *find_unlinked(struct ap_list *l, const char *hook, uint32_t prog, int ifindex)
{
	for (int i = 0; i < l->n; i++) {
		struct attachpt *a = &l->a[i];
		if (!a->link_id && a->prog_id == prog && !strcmp(a->hook, hook) &&
		    (ifindex < 0 || a->ifindex == ifindex))
			return a;
	}
	return NULL;
}

static const char *netns_name(const struct netns *ns, int nns, uint64_t ino)
{
	for (int i = 0; i < nns; i++)
		if (ns[i].ino == ino)
			return ns[i].name;
	return NULL;
}

static void tracing_target(const union link_info *li, char *buf, size_t len)
{
	uint32_t obj = li->info.tracing.target_obj_id, type = li->info.tracing.target_btf_id;
	const char *at = attach_type_name(li->info.tracing.attach_type);
	if (!obj) {
		snprintf(buf, len, "%s", at);
		return;
	}
	/* a kernel function when the object is kernel BTF, else a BPF program */
	int fd = bpf_btf_get_fd_by_id(obj);
	struct bpf_btf_info bi;
	char name[64] = "";
	uint32_t blen = sizeof(bi);
	memset(&bi, 0, sizeof(bi));
	bi.name = (uint64_t)(uintptr_t)name;
	bi.name_len = sizeof(name);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &bi, &blen) && bi.kernel_btf) {
		const struct btf *vm = probe_vmlinux_btf();
		struct btf *b = NULL;
		const char *fn = NULL;
		if (!strcmp(name, "vmlinux")) {
			b = (struct btf *)vm;
		} else if (vm) {
			b = btf__load_from_kernel_by_id_split(obj, (struct btf *)vm);
			if (libbpf_get_error(b))
				b = NULL;
		}
		const struct btf_type *t = b ? btf__type_by_id(b, type) : NULL;
		if (t)
			fn = btf__name_by_offset(b, t->name_off);
		snprintf(buf, len, "%s %s%s%s", at, strcmp(name, "vmlinux") ? name : "",
			 strcmp(name, "vmlinux") ? ":" : "", fn ? fn : "?");
		if (b && b != vm)
			btf__free(b);
	} else {
		snprintf(buf, len, "%s prog %u", at, obj);
	}
	if (fd >= 0)
		close(fd);
}

static void walk_links(struct ap_list *l, const struct netns *ns, int nns)
{
	uint32_t *ids = NULL;
	int n = bpfobj_ids(OBJ_LINK, &ids);
	for (int i = 0; i < n; i++) {
		int fd = bpf_link_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		union link_info li;
		char name[256] = "";
		uint32_t len = sizeof(li);
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
			close(fd);
			continue;
		}
		if (li.info.type == BPF_LINK_TYPE_RAW_TRACEPOINT || li.info.type == BPF_LINK_TYPE_ITER) {
			uint32_t type = li.info.type;
			memset(&li, 0, sizeof(li));
			if (type == BPF_LINK_TYPE_RAW_TRACEPOINT) {
				li.info.raw_tracepoint.tp_name = (uint64_t)(uintptr_t)name;
				li.info.raw_tracepoint.tp_name_len = sizeof(name);
			} else {
				li.info.iter.target_name = (uint64_t)(uintptr_t)name;
				li.info.iter.target_name_len = sizeof(name);
			}
			len = sizeof(li);
			if (bpf_obj_get_info_by_fd(fd, &li, &len))
				name[0] = '\0';
			name[sizeof(name) - 1] = '\0';
		}
		close(fd);

		uint32_t type = li.info.type, prog = li.info.prog_id, id = li.info.id;
		struct attachpt *a = NULL;
		bool known = false;
		/* tcx and netkit links come with their programs (BPF_PROG_QUERY) */
		for (int k = 0; k < l->n && !known; k++)
			known = l->a[k].link_id == id;
		if (known)
			continue;
		const char *nsname;
		switch (type) {
		case BPF_LINK_TYPE_XDP:
			a = find_unlinked(l, "xdp", prog, (int)li.info.xdp.ifindex);
			break;
		case AP_LINK_TCX:
			a = find_unlinked(l, "tcx", prog, (int)li.raw.u32[0]);
			break;
		case BPF_LINK_TYPE_NETNS:
			a = find_unlinked(l, "flow_dissector", prog, -1);
			if (a && a->netns_ino != li.info.netns.netns_ino)
				a = NULL;
			break;
		case BPF_LINK_TYPE_PERF_EVENT:
			for (const char *h = "tracepoint"; !a && h;
			     h = !strcmp(h, "tracepoint") ? "kprobe" : !strcmp(h, "kprobe") ? "kretprobe"
				 : !strcmp(h, "kretprobe") ? "uprobe" : !strcmp(h, "uprobe") ? "uretprobe" : NULL)
				a = find_unlinked(l, h, prog, -1);
			break;
		case BPF_LINK_TYPE_CGROUP:
			for (int k = 0; k < l->n && !a; k++)
				if (!l->a[k].link_id && l->a[k].prog_id == prog && !strcmp(l->a[k].hook, "cgroup") &&
				    l->cgid[k] == li.info.cgroup.cgroup_id &&
				    !strcmp(l->a[k].detail, attach_type_name(li.info.cgroup.attach_type)))
					a = &l->a[k];
			break;
		}
		if (a) {
			a->link_id = id;
			continue;
		}
		a = ap_add(l, link_type_name(type));
		a->prog_id = prog;
		a->link_id = id;
		snprintf(a->id, sizeof(a->id), "link:%u", id);
		switch (type) {
		case BPF_LINK_TYPE_RAW_TRACEPOINT:
		case BPF_LINK_TYPE_ITER:
			snprintf(a->target, sizeof(a->target), "%s", name);
			break;
		case BPF_LINK_TYPE_TRACING:
			tracing_target(&li, a->target, sizeof(a->target));
			break;
		case BPF_LINK_TYPE_CGROUP:
			snprintf(a->target, sizeof(a->target), "cgroup id %" PRIu64, (uint64_t)li.info.cgroup.cgroup_id);
			snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(li.info.cgroup.attach_type));
			break;
		case BPF_LINK_TYPE_NETNS:
			nsname = netns_name(ns, nns, li.info.netns.netns_ino);
			a->netns_ino = li.info.netns.netns_ino;
			snprintf(a->netns, sizeof(a->netns), "%s", nsname ? nsname : "");
			snprintf(a->target, sizeof(a->target), "netns %s", nsname ? nsname : "?");
			snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(li.info.netns.attach_type));
			break;
		case BPF_LINK_TYPE_XDP:
		case AP_LINK_TCX:
		case AP_LINK_NETKIT:
			a->ifindex = (int)li.raw.u32[0];
			snprintf(a->target, sizeof(a->target), "ifindex %u", li.raw.u32[0]);
			if (type != BPF_LINK_TYPE_XDP)
				snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(li.raw.u32[1]));
			break;
		case BPF_LINK_TYPE_STRUCT_OPS:
			snprintf(a->target, sizeof(a->target), "map %u", li.raw.u32[0]);
			break;
		case AP_LINK_NETFILTER:
			snprintf(a->target, sizeof(a->target), "pf %u hook %u", li.raw.u32[0], li.raw.u32[1]);
			snprintf(a->detail, sizeof(a->detail), "priority %d", (int)li.raw.u32[2]);
			break;
		case AP_LINK_SOCKMAP:
			snprintf(a->target, sizeof(a->target), "map %u", li.raw.u32[0]);
			snprintf(a->detail, sizeof(a->detail), "%s", attach_type_name(li.raw.u32[1]));
			break;
		default:
			break;
		}
	}
	free(ids);
}

/* ---- all of it ------------------------------------------------------------------- */

int attachpts_collect(const struct maplist *maps, struct attachpt **out, int *nnetns)
{
	struct ap_list l = { 0 };
	struct netns *ns = NULL;
	int nns = netns_list(&ns), entered = 0;

	for (int i = 0; i < nns; i++) {
		int fd = open(ns[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* the process went away */
		int err = netns_enter(fd);
		if (err) {
			/* not a failure: the graph says how many were searched */
			note("cannot enter network namespace %s: %s", ns[i].name, errno_name(-err));
			close(fd);
			continue;
		}
		walk_netns(&l, &ns[i], fd);
		entered++;
		close(fd);
		netns_return_or_die();
	}
	walk_cgroups(&l);
	walk_sockmaps(&l, maps);
	walk_perf_fds(&l);
	walk_links(&l, ns, nns);
	free(ns);
	free(l.cgid);
	if (nnetns)
		*nnetns = entered;
	*out = l.a;
	return l.n;
}
