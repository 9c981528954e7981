// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "hooks.h"
#include "probe.h"
#include "util.h"

static const char *const mech_names[] = {
	[MECH_NONE] = "none",     [MECH_FENTRY] = "fentry",   [MECH_FEXIT] = "fexit",
	[MECH_TP_BTF] = "tp_btf", [MECH_RAW_TP] = "raw_tp",   [MECH_KPROBE] = "kprobe",
	[MECH_KRETPROBE] = "kretprobe", [MECH_ITER] = "iter", [MECH_OTHER] = "other",
};

const char *hook_mech_name(enum hook_mech m)
{
	return m < sizeof(mech_names) / sizeof(mech_names[0]) && mech_names[m] ? mech_names[m] : "?";
}

const char *hook_alt_name(const struct hook_alt *a)
{
	return a->name ? a->name : hook_mech_name(a->mech);
}

static int nalts(const struct hook *h)
{
	int n = 0;
	while (n < HOOK_MAX_ALTS && h->alt[n].mech != MECH_NONE)
		n++;
	return n;
}

/* Does the kernel offer this alternative?  *why says why not. */
static bool alt_available(const struct hook_alt *a, const char **why)
{
	static char buf[160];
	const char *t = a->target;

	switch (a->mech) {
	case MECH_FENTRY:
	case MECH_FEXIT:
		if (!probe_fentry()) {
			*why = "no BPF trampolines";
			return false;
		}
		if (t && !probe_btf_func(t)) {
			snprintf(buf, sizeof(buf), "no function %s in kernel BTF", t);
			*why = buf;
			return false;
		}
		break;
	case MECH_TP_BTF:
		if (t && !probe_tp_btf(t)) {
			snprintf(buf, sizeof(buf), "no BTF for tracepoint %s", t);
			*why = buf;
			return false;
		}
		break;
	case MECH_RAW_TP:
		if (t && !probe_raw_tp(t)) {
			snprintf(buf, sizeof(buf), "no tracepoint %s", t);
			*why = buf;
			return false;
		}
		break;
	case MECH_KPROBE:
	case MECH_KRETPROBE:
		if (!probe_kprobe()) {
			*why = "no kprobes";
			return false;
		}
		if (t && !probe_btf_func(t)) {
			snprintf(buf, sizeof(buf), "no function %s in kernel BTF", t);
			*why = buf;
			return false;
		}
		break;
	case MECH_ITER:
		if (t && !probe_iter(t)) {
			snprintf(buf, sizeof(buf), "no %s iterator", t);
			*why = buf;
			return false;
		}
		break;
	default:
		break;
	}
	if (a->probe && !a->probe(a, why))
		return false;
	return true;
}

static bool has_alt(const struct hook *h, const char *name, size_t len)
{
	for (int i = 0; i < nalts(h); i++) {
		const char *nm = hook_alt_name(&h->alt[i]);
		if (strlen(nm) == len && !strncmp(nm, name, len))
			return true;
	}
	return false;
}

/* The first name of the comma-separated list mech that h has, or NULL. */
static const char *forced_for(const struct hook *h, const char *mech, size_t *len)
{
	for (const char *p = mech; p && *p;) {
		size_t l = strcspn(p, ",");
		if (l && has_alt(h, p, l)) {
			*len = l;
			return p;
		}
		p += l + (p[l] == ',');
	}
	return NULL;
}

void hooks_select(struct bpf_object *obj, struct hook *h, int n, const char *mech)
{
	/* every name in --mechanism must be an alternative of some hook */
	for (const char *p = mech; p && *p;) {
		size_t l = strcspn(p, ",");
		bool known = false;
		for (int k = 0; k < n && !known; k++)
			known = l && has_alt(&h[k], p, l);
		if (!known) {
			char list[256] = "";
			size_t off = 0;
			for (int k = 0; k < n; k++)
				for (int i = 0; i < nalts(&h[k]); i++) {
					const char *nm = hook_alt_name(&h[k].alt[i]);
					if (strstr(list, nm))
						continue;
					int w = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", nm);
					if (w > 0 && (size_t)w < sizeof(list) - off)
						off += w;
				}
			die(EXIT_USAGE, "invalid --mechanism '%.*s': expected %s%s (see --help)", (int)l, p,
			    strchr(list, ',') ? "one of " : "", list);
		}
		p += l + (p[l] == ',');
	}
	/* two names for one hook contradict each other */
	for (int k = 0; k < n && mech; k++) {
		size_t l1 = 0;
		const char *first = forced_for(&h[k], mech, &l1);
		for (const char *p = first ? first + l1 : NULL; p && *p;) {
			p += *p == ',';
			size_t l = strcspn(p, ",");
			if (l && has_alt(&h[k], p, l) && !(l == l1 && !strncmp(p, first, l)))
				die(EXIT_USAGE, "invalid --mechanism '%s': %.*s and %.*s are two ways to hook %s: give one",
				    mech, (int)l1, first, (int)l, p, h[k].name);
			p += l;
		}
	}
	for (int k = 0; k < n; k++) {
		struct hook *hk = &h[k];
		char tried[160] = "";
		size_t off = 0, flen = 0;
		const char *forced = mech ? forced_for(hk, mech, &flen) : NULL;

		hk->chosen = -1;
		hk->prog = NULL;
		hk->link = NULL;
		hk->why[0] = '\0';
		for (int i = 0; i < nalts(hk) && !hk->off && hk->chosen < 0; i++) {
			const struct hook_alt *a = &hk->alt[i];
			const char *nm = hook_alt_name(a), *why = "not requested";
			bool this_one = forced && strlen(nm) == flen && !strncmp(nm, forced, flen);
			if (forced && !this_one)
				continue;
			if (a->on_request && !this_one)
				continue;
			if (alt_available(a, &why)) {
				hk->chosen = i;
				break;
			}
			/* forced: the reasons alone (every alternative tried has that name) */
			int w = forced ? snprintf(tried + off, sizeof(tried) - off, "%s%s", off ? "; " : "", why)
				       : snprintf(tried + off, sizeof(tried) - off, "%s%s: %s", off ? "; " : "", nm, why);
			if (w > 0 && (size_t)w < sizeof(tried) - off)
				off += w;
		}
		/* a forced name: every alternative of that name was tried */
		if (forced && !hk->off && hk->chosen < 0)
			die(EXIT_NOFEATURE, "--mechanism %.*s: the kernel cannot hook %s that way (%s)", (int)flen, forced,
			    hk->name, tried);
		if (!hk->off && hk->chosen < 0) {
			snprintf(hk->why, sizeof(hk->why), "%s", tried[0] ? tried : "no alternative");
			if (hk->policy == HOOK_REQUIRED)
				die(EXIT_NOFEATURE, "kernel offers no way to hook %s (%s)", hk->name, hk->why);
			note("%s: not hooked (%s)%s%s", hk->name, hk->why, hk->lacking ? ": " : "",
			     hk->lacking ? hk->lacking : "");
		}
	}
	/* autoload: only what was chosen, anywhere in the table (clones load
	 * in their own copies) */
	for (int k = 0; k < n; k++)
		for (int i = 0; i < nalts(&h[k]); i++) {
			if (!h[k].alt[i].prog)
				continue;
			struct bpf_program *p = bpf_object__find_program_by_name(obj, h[k].alt[i].prog);
			if (!p)
				die(EXIT_FAIL, "internal error: hook %s names program %s, absent from the BPF object",
				    h[k].name, h[k].alt[i].prog);
			if (h[k].chosen == i)
				h[k].prog = p;
		}
	for (int k = 0; k < n; k++)
		for (int i = 0; i < nalts(&h[k]); i++) {
			if (!h[k].alt[i].prog)
				continue;
			struct bpf_program *p = bpf_object__find_program_by_name(obj, h[k].alt[i].prog);
			bool load = false;
			for (int j = 0; j < n && !load; j++)
				load = h[j].prog == p && !h[j].alt[h[j].chosen].clone;
			bpf_program__set_autoload(p, load);
		}
	for (int k = 0; k < n; k++)
		if (h[k].chosen >= 0)
			note("%s: %s%s", h[k].name, hook_alt_name(&h[k].alt[h[k].chosen]),
			     h[k].chosen > 0 ? " (preferred alternatives unavailable or not requested)" : "");
}

void hooks_attach(struct hook *h, int n)
{
	for (int k = 0; k < n; k++) {
		struct hook *hk = &h[k];
		if (hk->chosen < 0 || hk->link)
			continue;
		const struct hook_alt *a = &hk->alt[hk->chosen];
		if (a->manual || a->clone || !a->prog)
			continue;
		hk->link = bpf_program__attach(hk->prog);
		if (hk->link)
			continue;
		int err = errno;
		const char *nm = hook_alt_name(&hk->alt[hk->chosen]);
		if (hk->policy == HOOK_REQUIRED) {
			if (err == EPERM || err == EACCES)
				die(EXIT_PERM, "cannot attach %s to %s: %s (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)",
				    nm, hk->name, errno_name(err));
			die(EXIT_FAIL, "cannot attach %s to %s: %s", nm, hk->name, errno_name(err));
		}
		snprintf(hk->why, sizeof(hk->why), "attaching %s failed: %s", nm, errno_name(err));
		note("%s: not hooked (%s)%s%s", hk->name, hk->why, hk->lacking ? ": " : "",
		     hk->lacking ? hk->lacking : "");
		hk->chosen = -1;
	}
}

void hooks_detach(struct hook *h, int n)
{
	for (int k = 0; k < n; k++) {
		bpf_link__destroy(h[k].link);
		h[k].link = NULL;
	}
}

const char *hook_chosen(const struct hook *h)
{
	return !h->off && h->chosen >= 0 ? hook_alt_name(&h->alt[h->chosen]) : NULL;
}

bool hook_active(const struct hook *h)
{
	return hook_chosen(h) != NULL;
}

char *hooks_mechanism(const struct hook *h, int n, char *buf, size_t len)
{
	const char *same = NULL;
	bool uniform = true;
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < n; k++) {
		if (h[k].off)
			continue;
		const char *c = hook_chosen(&h[k]);
		if (!c || (same && strcmp(same, c)))
			uniform = false;
		if (!same && c)
			same = c;
	}
	if (uniform && same) {
		snprintf(buf, len, "%s", same);
		return buf;
	}
	for (int k = 0; k < n; k++) {
		if (h[k].off)
			continue;
		const char *c = hook_chosen(&h[k]);
		int w = snprintf(buf + off, len - off, "%s%s: %s", off ? ", " : "", h[k].name, c ? c : "none");
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += w;
	}
	return buf;
}

int bpfclone_load(struct bpf_object *copy, const char *prog, const struct bpf_object *parent, int target_fd,
		  const char *func, struct bpf_link **link)
{
	struct bpf_program *p, *me = NULL;
	struct bpf_map *m;
	int err;

	*link = NULL;
	bpf_object__for_each_program(p, copy) {
		bool is = !strcmp(bpf_program__name(p), prog);
		bpf_program__set_autoload(p, is);
		if (is)
			me = p;
	}
	if (!me)
		return -ENOENT;
	bpf_object__for_each_map(m, copy) {
		if (bpf_map__is_internal(m))
			continue; /* .rodata/.data/.bss: the copy's own */
		struct bpf_map *pm = bpf_object__find_map_by_name(parent, bpf_map__name(m));
		err = pm ? bpf_map__reuse_fd(m, bpf_map__fd(pm)) : bpf_map__set_autocreate(m, false);
		if (err)
			return err;
	}
	err = bpf_program__set_attach_target(me, target_fd, func);
	if (!err)
		err = bpf_object__load(copy);
	if (err)
		return err < 0 ? err : -EINVAL;
	*link = bpf_program__attach(me);
	if (!*link)
		return -errno;
	return 0;
}

int bpf_prog_main_func(int prog_fd, char *name, size_t len)
{
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	int err = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &ilen))
		return -errno;
	if (!info.btf_id || !info.nr_func_info)
		return -ENOENT;
	uint32_t nr = info.nr_func_info, rec = info.func_info_rec_size, btf_id = info.btf_id;
	if (rec < sizeof(struct bpf_func_info))
		return -EINVAL;
	void *fi = xcalloc(nr, rec);
	memset(&info, 0, sizeof(info));
	info.nr_func_info = nr;
	info.func_info_rec_size = rec;
	info.func_info = (uint64_t)(unsigned long)fi;
	ilen = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &ilen)) {
		err = -errno;
		free(fi);
		return err;
	}
	struct btf *btf = btf__load_from_kernel_by_id(btf_id);
	if (!btf) {
		err = -errno;
		free(fi);
		return err;
	}
	/* the first func_info record is the program's entry */
	const struct btf_type *t = btf__type_by_id(btf, ((struct bpf_func_info *)fi)->type_id);
	const char *nm = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (nm && *nm)
		snprintf(name, len, "%s", nm);
	else
		err = -ENOENT;
	btf__free(btf);
	free(fi);
	return err;
}
