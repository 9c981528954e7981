// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ksyms.h"
#include "util.h"

void ksyms_add(struct ksyms *ks, uint64_t start, uint64_t len, uint32_t prog_id, uint32_t func)
{
	if (!len)
		return;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 256;
		ks->syms = xrealloc(ks->syms, ks->cap * sizeof(*ks->syms));
	}
	ks->syms[ks->n++] = (struct ksym){ start, start + len, prog_id, func };
	ks->sorted = false;
}

int ksyms_add_prog(struct ksyms *ks, int prog_fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	uint32_t nk = info.nr_jited_ksyms, nl = info.nr_jited_func_lens, id = info.id;
	if (!nk || !nl || !info.jited_prog_len)
		return 0;
	uint64_t *addrs = xcalloc(nk, sizeof(uint64_t));
	uint32_t *lens = xcalloc(nl, sizeof(uint32_t));
	memset(&info, 0, sizeof(info));
	info.nr_jited_ksyms = nk;
	info.jited_ksyms = (uint64_t)(uintptr_t)addrs;
	info.nr_jited_func_lens = nl;
	info.jited_func_lens = (uint64_t)(uintptr_t)lens;
	len = sizeof(info);
	int ret;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		ret = -errno;
	} else {
		uint32_t n = info.nr_jited_ksyms < info.nr_jited_func_lens ? info.nr_jited_ksyms
									   : info.nr_jited_func_lens;
		if (n > nk)
			n = nk;
		if (n > nl)
			n = nl;
		ret = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (!addrs[i])
				continue; /* addresses hidden (kptr_restrict) */
			ksyms_add(ks, addrs[i], lens[i], id, i);
			ret++;
		}
	}
	free(addrs);
	free(lens);
	return ret;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void sort(struct ksyms *ks)
{
	if (ks->sorted)
		return;
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
	ks->sorted = true;
}

const struct ksym *ksyms_find(struct ksyms *ks, uint64_t addr)
{
	sort(ks);
	int lo = 0, hi = ks->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		const struct ksym *s = &ks->syms[mid];
		if (addr < s->start)
			hi = mid - 1;
		else if (addr >= s->end)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

bool ksyms_hull(struct ksyms *ks, uint64_t *lo, uint64_t *hi)
{
	if (!ks->n)
		return false;
	sort(ks);
	*lo = ks->syms[0].start;
	*hi = 0;
	for (int i = 0; i < ks->n; i++)
		if (ks->syms[i].end > *hi)
			*hi = ks->syms[i].end;
	return true;
}

void ksyms_clear(struct ksyms *ks)
{
	free(ks->syms);
	memset(ks, 0, sizeof(*ks));
}

/* Programs of one object share a BTF object and come with consecutive ids:
 * keep the last one loaded. */
static struct btf *cached_btf;
static uint32_t cached_btf_id;

void ksyms_names_done(void)
{
	btf__free(cached_btf);
	cached_btf = NULL;
	cached_btf_id = 0;
}

/* A program's BTF, read into a buffer of ours (so memory checkers see it
 * written) and parsed; NULL on failure. */
static struct btf *load_btf(uint32_t id)
{
	struct bpf_btf_info bi;
	uint32_t len = sizeof(bi);
	struct btf *b = NULL;
	int fd = bpf_btf_get_fd_by_id(id);
	if (fd < 0)
		return NULL;
	memset(&bi, 0, sizeof(bi));
	if (!bpf_obj_get_info_by_fd(fd, &bi, &len) && bi.btf_size) {
		uint32_t size = bi.btf_size;
		void *data = xcalloc(1, size);
		memset(&bi, 0, sizeof(bi));
		bi.btf = (uint64_t)(uintptr_t)data;
		bi.btf_size = size;
		len = sizeof(bi);
		if (!bpf_obj_get_info_by_fd(fd, &bi, &len) && bi.btf_size <= size) {
			b = btf__new(data, bi.btf_size);
			if (libbpf_get_error(b))
				b = NULL;
		}
		free(data);
	}
	close(fd);
	return b;
}

int ksyms_prog_func_names(int prog_fd, char ***names)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	*names = NULL;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	uint32_t n = info.nr_func_info, rec = info.func_info_rec_size, btf_id = info.btf_id;
	if (!n || !btf_id || rec < sizeof(struct bpf_func_info))
		return 0;
	char *fi = xcalloc(n, rec);
	memset(&info, 0, sizeof(info));
	info.nr_func_info = n;
	info.func_info_rec_size = rec;
	info.func_info = (uint64_t)(uintptr_t)fi;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		int err = -errno;
		free(fi);
		return err;
	}
	if (btf_id != cached_btf_id) {
		ksyms_names_done();
		struct btf *b = load_btf(btf_id);
		if (!b) {
			free(fi);
			return 0;
		}
		cached_btf = b;
		cached_btf_id = btf_id;
	}
	struct btf *btf = cached_btf;
	char **out = xcalloc(n, sizeof(char *));
	for (uint32_t i = 0; i < n; i++) {
		const struct bpf_func_info *f = (const void *)(fi + (size_t)i * rec);
		const struct btf_type *t = btf__type_by_id(btf, f->type_id);
		const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
		out[i] = xstrdup(name && *name ? name : "?");
	}
	free(fi);
	*names = out;
	return (int)n;
}

void ksyms_free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
