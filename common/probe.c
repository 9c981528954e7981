// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
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

/*
 * Name lookups in kernel BTF without building libbpf's full index: read the
 * raw blob once, find the name in the string section, then scan the type
 * section for a type of that kind pointing at it.  A few ms instead of the
 * ~12 ms (and ~10 MB) of btf__load_vmlinux_btf(), which libbpf then repeats
 * for CO-RE anyway.
 */
struct raw_btf {
	char *data;
	size_t len;
	const char *types, *strs;
	uint32_t types_len, strs_len;
	bool tried, ok, mapped;
};
static struct raw_btf raw;

struct raw_btf_header {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

static bool raw_btf_load(void)
{
	if (raw.tried)
		return raw.ok;
	raw.tried = true;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return false;
	/* Newer kernels let the BTF blob be mapped: no copy at all. */
	if (!fstat(fd, &st) && st.st_size > 0) {
		void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			raw.data = p;
			raw.len = st.st_size;
			raw.mapped = true;
		}
	}
	if (!raw.mapped) {
		size_t cap = st.st_size > 0 ? (size_t)st.st_size : 8 << 20;
		raw.data = xcalloc(1, cap);
		for (;;) {
			ssize_t n = read(fd, raw.data + raw.len, cap - raw.len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			raw.len += n;
			if (raw.len == cap) {
				cap *= 2;
				raw.data = xrealloc(raw.data, cap);
			}
		}
	}
	close(fd);
	struct raw_btf_header h;
	if (raw.len < sizeof(h))
		return false;
	memcpy(&h, raw.data, sizeof(h));
	if (h.magic != 0xeB9F || (uint64_t)h.hdr_len + h.type_off + h.type_len > raw.len ||
	    (uint64_t)h.hdr_len + h.str_off + h.str_len > raw.len)
		return false;
	raw.types = raw.data + h.hdr_len + h.type_off;
	raw.types_len = h.type_len;
	raw.strs = raw.data + h.hdr_len + h.str_off;
	raw.strs_len = h.str_len;
	raw.ok = true;
	return true;
}

/* Size of the data following a struct btf_type of this kind. */
static size_t kind_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case BTF_KIND_INT: return 4;
	case BTF_KIND_ARRAY: return 12;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: return 12 * vlen;
	case BTF_KIND_ENUM: return 8 * vlen;
	case BTF_KIND_FUNC_PROTO: return 8 * vlen;
	case BTF_KIND_VAR: return 4;
	case BTF_KIND_DATASEC: return 12 * vlen;
	case BTF_KIND_DECL_TAG: return 4;
	case 19 /* BTF_KIND_ENUM64 */: return 12 * vlen;
	default: return 0;
	}
}

/* Offsets in strs[0..len) where "name\0" starts (usually once). */
static int str_offsets(const char *strs, uint32_t len, const char *name, uint32_t base, uint32_t *offs, int max)
{
	size_t nlen = strlen(name);
	const char *p = strs, *end = strs + len;
	int n = 0;

	while (n < max && p < end) {
		const char *hit = memmem(p, end - p, name, nlen + 1);
		if (!hit)
			break;
		if (hit == strs || hit[-1] == '\0')
			offs[n++] = base + (uint32_t)(hit - strs);
		p = hit + 1;
	}
	return n;
}

/* A type of want_kind whose name_off is one of offs in a type section. */
static bool scan_types(const char *types, uint32_t types_len, const uint32_t *offs, int noffs, int want_kind)
{
	for (size_t off = 0; off + 12 <= types_len;) {
		uint32_t name_off, info;
		memcpy(&name_off, types + off, 4);
		memcpy(&info, types + off + 4, 4);
		uint32_t kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
		if ((int)kind == want_kind)
			for (int i = 0; i < noffs; i++)
				if (name_off == offs[i])
					return true;
		off += 12 + kind_extra(kind, vlen);
	}
	return false;
}

static char found_module[256]; /* where the last find() hit: "" = vmlinux */

/*
 * Module BTF (/sys/kernel/btf/MODULE) is split BTF on top of vmlinux's: its
 * names are either vmlinux strings (offsets below vmlinux's string length)
 * or its own (offsets continuing after them).  Modules are read only when
 * vmlinux lacks the name: functions and tracepoints of vrf, veth or a NIC
 * driver are there.
 */
static bool find_in_modules(const char *name, int want_kind, const uint32_t *base_offs, int nbase)
{
	DIR *d = opendir("/sys/kernel/btf");
	struct dirent *e;
	bool hit = false;

	if (!d)
		return false;
	while (!hit && (e = readdir(d))) {
		char path[300];
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		size_t cap = 64 << 10, len = 0;
		char *buf = xcalloc(1, cap);
		for (;;) {
			ssize_t r = read(fd, buf + len, cap - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += r;
			if (len == cap)
				buf = xrealloc(buf, cap *= 2);
		}
		close(fd);
		struct raw_btf_header h;
		if (len >= sizeof(h)) {
			memcpy(&h, buf, sizeof(h));
			if (h.magic == 0xeB9F && (uint64_t)h.hdr_len + h.type_off + h.type_len <= len &&
			    (uint64_t)h.hdr_len + h.str_off + h.str_len <= len) {
				uint32_t offs[16];
				int n = nbase < 8 ? nbase : 8;
				memcpy(offs, base_offs, n * sizeof(*offs));
				n += str_offsets(buf + h.hdr_len + h.str_off, h.str_len, name, raw.strs_len, offs + n,
						 16 - n);
				if (n && scan_types(buf + h.hdr_len + h.type_off, h.type_len, offs, n, want_kind)) {
					snprintf(found_module, sizeof(found_module), "%s", e->d_name);
					hit = true;
				}
			}
		}
		free(buf);
	}
	closedir(d);
	return hit;
}

static bool find(const char *name, int want_kind)
{
	uint32_t offs[8];
	int noffs;

	found_module[0] = '\0';
	if (!raw_btf_load())
		return false;
	noffs = str_offsets(raw.strs, raw.strs_len, name, 0, offs, 8);
	if (noffs && scan_types(raw.types, raw.types_len, offs, noffs, want_kind))
		return true;
	return find_in_modules(name, want_kind, offs, noffs);
}

const char *probe_btf_module(void)
{
	return found_module[0] ? found_module : NULL;
}

void probe_release(void)
{
	if (raw.mapped)
		munmap(raw.data, raw.len);
	else
		free(raw.data);
	memset(&raw, 0, sizeof(raw));
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
	vmlinux_btf_tried = false;
}

bool probe_btf_func(const char *name)
{
	return find(name, BTF_KIND_FUNC);
}

bool probe_btf_struct(const char *name)
{
	return find(name, BTF_KIND_STRUCT);
}

/* Each enumerator of enum type t: fn(name, value); stops when fn is true. */
static bool enum_each(const struct btf *btf, const struct btf_type *t,
		      bool (*fn)(const char *name, long long v, void *ctx), void *ctx)
{
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (fn(btf__name_by_offset(btf, e->name_off), e->val, ctx))
				return true;
	} else if (btf_is_enum64(t)) {
		const struct btf_enum64 *e = btf_enum64(t);
		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (fn(btf__name_by_offset(btf, e->name_off), (long long)btf_enum64_value(e), ctx))
				return true;
	}
	return false;
}

struct enum_q {
	const char *name;
	long long val;
};

static bool by_name(const char *name, long long v, void *ctx)
{
	struct enum_q *q = ctx;
	if (strcmp(name, q->name))
		return false;
	q->val = v;
	return true;
}


bool probe_btf_enumerator(const char *name, long long *val)
{
	const struct btf *btf = probe_vmlinux_btf();
	struct enum_q q = { name, 0 };
	int n = btf ? (int)btf__type_cnt(btf) : 0;
	for (int id = 1; id < n; id++) {
		if (enum_each(btf, btf__type_by_id(btf, id), by_name, &q)) {
			*val = q.val;
			return true;
		}
	}
	return false;
}


bool probe_btf_member(const char *strct, const char *member)
{
	const struct btf *btf = probe_vmlinux_btf();
	int id = btf ? btf__find_by_name_kind(btf, strct, BTF_KIND_STRUCT) : -1;
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
	return find(name, BTF_KIND_TYPEDEF);
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
	const struct btf *btf = probe_vmlinux_btf();
	int id = btf ? btf__find_by_name_kind(btf, "bpf_fentry_test1", BTF_KIND_FUNC) : -1;
	if (id <= 0 && btf)
		id = btf__find_by_name_kind(btf, "do_nanosleep", BTF_KIND_FUNC);
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

int probe_tp_btf_nargs(const char *tp)
{
	/* From the raw blob (as find() above): btf_trace_TP is a typedef of a
	 * pointer to the prototype, whose first parameter is the tracepoint's
	 * void *data. */
	char name[128];
	uint32_t *offs = NULL, n = 0, cap = 0, want = 0;
	int nargs = -1;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	if (!raw_btf_load())
		return -1;
	for (size_t off = 0; off + 12 <= raw.types_len;) {
		uint32_t name_off, info, type;
		memcpy(&name_off, raw.types + off, 4);
		memcpy(&info, raw.types + off + 4, 4);
		memcpy(&type, raw.types + off + 8, 4);
		uint32_t kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			offs = xrealloc(offs, cap * sizeof(*offs));
		}
		offs[n++] = (uint32_t)off; /* type id n */
		if (kind == BTF_KIND_TYPEDEF && !want && name_off < raw.strs_len &&
		    !strncmp(raw.strs + name_off, name, raw.strs_len - name_off))
			want = type;
		off += 12 + kind_extra(kind, vlen);
	}
	for (int hop = 0; want && want <= n && hop < 2; hop++) {
		uint32_t info, type;
		memcpy(&info, raw.types + offs[want - 1] + 4, 4);
		memcpy(&type, raw.types + offs[want - 1] + 8, 4);
		uint32_t kind = (info >> 24) & 0x1f;
		if (hop == 0 && kind == BTF_KIND_PTR) {
			want = type;
		} else {
			if (hop == 1 && kind == BTF_KIND_FUNC_PROTO && (info & 0xffff) >= 1)
				nargs = (int)(info & 0xffff) - 1;
			break;
		}
	}
	free(offs);
	return nargs;
}
