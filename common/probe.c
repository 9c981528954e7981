// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probe.h"
#include "util.h"

static struct btf *vmlinux_btf;
static bool vmlinux_btf_tried;

void probe_require_btf(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		die(EXIT_NOFEATURE, "kernel has no BTF (/sys/kernel/btf/vmlinux missing): "
		    "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)");
}

const struct btf *probe_vmlinux_btf(void)
{
	if (!vmlinux_btf_tried) {
		vmlinux_btf_tried = true;
		vmlinux_btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(vmlinux_btf))
			vmlinux_btf = NULL;
	}
	return vmlinux_btf;
}

static int find(const char *name, int kind)
{
	const struct btf *btf = probe_vmlinux_btf();
	if (!btf)
		return -1;
	return btf__find_by_name_kind(btf, name, kind);
}

bool probe_btf_func(const char *name)
{
	return find(name, BTF_KIND_FUNC) > 0;
}

bool probe_btf_struct(const char *name)
{
	return find(name, BTF_KIND_STRUCT) > 0;
}

bool probe_btf_member(const char *strct, const char *member)
{
	const struct btf *btf = probe_vmlinux_btf();
	int id = find(strct, BTF_KIND_STRUCT);
	if (id <= 0)
		return false;
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

bool probe_iter(const char *target)
{
	char name[128];
	snprintf(name, sizeof(name), "bpf_iter_%s", target);
	return probe_btf_func(name);
}

bool probe_tp_btf(const char *tp)
{
	char name[128];
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return find(name, BTF_KIND_TYPEDEF) > 0;
}

static const struct bpf_insn ret0[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

bool probe_raw_tp(const char *tp)
{
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", ret0, 2, NULL);
	if (fd < 0)
		return false;
	int lfd = bpf_raw_tracepoint_open(tp, fd);
	if (lfd >= 0)
		close(lfd);
	close(fd);
	return lfd >= 0;
}

bool probe_fentry(void)
{
	static int cached = -1;
	if (cached >= 0)
		return cached;
	cached = 0;
	int id = find("bpf_fentry_test1", BTF_KIND_FUNC);
	if (id <= 0)
		id = find("do_nanosleep", BTF_KIND_FUNC);
	if (id <= 0)
		return false;
	LIBBPF_OPTS(bpf_prog_load_opts, o,
		.expected_attach_type = BPF_TRACE_FENTRY,
		.attach_btf_id = id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", ret0, 2, &o);
	if (fd < 0) {
		note("fentry/fexit unavailable: loading a trampoline program failed: %s",
		     errno_name(errno));
		return false;
	}
	int lfd = bpf_raw_tracepoint_open(NULL, fd);
	if (lfd >= 0) {
		cached = 1;
		close(lfd);
	} else {
		note("fentry/fexit unavailable: attaching a trampoline failed: %s", errno_name(errno));
	}
	close(fd);
	return cached;
}

bool probe_kprobe(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
}

bool probe_ringbuf(void)
{
	return probe_map_type(BPF_MAP_TYPE_RINGBUF);
}

bool probe_map_type(enum bpf_map_type t)
{
	return libbpf_probe_bpf_map_type(t, NULL) == 1;
}

bool probe_prog_type(enum bpf_prog_type t)
{
	return libbpf_probe_bpf_prog_type(t, NULL) == 1;
}

bool probe_helper(enum bpf_prog_type t, enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(t, id, NULL) == 1;
}

bool probe_memcg_accounting(void)
{
	/* memcg accounting of BPF memory arrived together with the
	 * bpf_ktime_get_coarse_ns helper (5.11); libbpf uses the same test. */
	return probe_helper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_ktime_get_coarse_ns);
}
