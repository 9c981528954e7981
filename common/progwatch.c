// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hooks.h"
#include "progwatch.h"
#include "util.h"

struct watch {
	uint32_t prog_id;
	void *skel;
	bool failed; /* tried, could not attach: not retried until swept */
	bool used;
};

struct progwatch {
	const struct progwatch_ops *ops;
	const struct bpf_object *parent;
	struct watch *w;
	int n;
	uint64_t retired_misses;
};

struct progwatch *progwatch_new(const struct progwatch_ops *ops, const struct bpf_object *parent)
{
	struct progwatch *pw = xcalloc(1, sizeof(*pw));
	pw->ops = ops;
	pw->parent = parent;
	return pw;
}

static struct watch *find(struct progwatch *pw, uint32_t prog_id)
{
	for (int i = 0; i < pw->n; i++)
		if (pw->w[i].prog_id == prog_id)
			return &pw->w[i];
	return NULL;
}

int progwatch_add(struct progwatch *pw, uint32_t prog_id, const char **why)
{
	struct watch *w = find(pw, prog_id);
	struct bpf_prog_info info;
	char fn[128];
	int fd, err;

	if (w && w->skel)
		return 0;
	if (w && w->failed) {
		*why = "attaching fexit failed before";
		return -EAGAIN;
	}
	if (!w) {
		pw->w = xrealloc(pw->w, (pw->n + 1) * sizeof(*pw->w));
		w = &pw->w[pw->n++];
		memset(w, 0, sizeof(*w));
		w->prog_id = prog_id;
	}
	w->failed = true;
	fd = bpfobj_prog_open(prog_id, &info);
	if (fd < 0) {
		*why = exit_status_for(fd) == EXIT_PERM ? "opening it by id needs CAP_SYS_ADMIN" : "the program is gone";
		return fd;
	}
	err = bpf_prog_main_func(fd, fn, sizeof(fn));
	if (err) {
		*why = "the program has no BTF function info";
		close(fd);
		return err;
	}
	void *s = pw->ops->open();
	if (!s) {
		err = -errno;
		*why = "cannot open the BPF object";
		close(fd);
		return err;
	}
	if (pw->ops->prepare)
		pw->ops->prepare(s, prog_id, &info);
	err = bpfclone_load(pw->ops->obj(s), pw->ops->prog, pw->parent, fd, fn, pw->ops->link(s));
	close(fd);
	if (err) {
		*why = "loading or attaching the fexit program failed";
		pw->ops->destroy(s);
		return err;
	}
	note("fexit attached to program %u (%s)", prog_id, fn);
	w->skel = s;
	w->failed = false;
	return 0;
}

void progwatch_use(struct progwatch *pw, uint32_t prog_id)
{
	struct watch *w = find(pw, prog_id);
	if (w)
		w->used = true;
}

void progwatch_sweep(struct progwatch *pw)
{
	for (int i = 0; i < pw->n; i++) {
		struct watch *w = &pw->w[i];
		if (!w->used && w->skel) {
			pw->retired_misses += bpfobj_recursion_misses(pw->ops->obj(w->skel));
			pw->ops->destroy(w->skel);
			w->skel = NULL;
			w->failed = false;
		}
		w->used = false;
	}
}

uint64_t progwatch_misses(const struct progwatch *pw)
{
	uint64_t t = pw ? pw->retired_misses : 0;
	for (int i = 0; pw && i < pw->n; i++)
		if (pw->w[i].skel)
			t += bpfobj_recursion_misses(pw->ops->obj(pw->w[i].skel));
	return t;
}

void progwatch_free(struct progwatch *pw)
{
	if (!pw)
		return;
	for (int i = 0; i < pw->n; i++)
		if (pw->w[i].skel)
			pw->ops->destroy(pw->w[i].skel);
	free(pw->w);
	free(pw);
}
