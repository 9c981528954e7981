// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hooks.h"
#include "util.h"
#include "xvwatch.h"
#include "xdpverdict.skel.h"

struct watch {
	uint32_t prog_id;
	struct xdpverdict_bpf *skel;
	bool failed;      /* tried, could not attach: do not retry */
	bool used;
};
static struct watch *watches;
static int nwatches;
static uint64_t retired_misses;

static struct watch *watch_find(uint32_t prog_id)
{
	for (int i = 0; i < nwatches; i++)
		if (watches[i].prog_id == prog_id)
			return &watches[i];
	return NULL;
}

int xvwatch_add(const struct xdpverdict_bpf *parent, uint32_t prog_id, const char **why)
{
	struct watch *w = watch_find(prog_id);
	char fn[128];
	int fd, err;

	if (w && w->skel)
		return 0;
	if (w && w->failed) {
		*why = "attaching fexit failed before";
		return -EAGAIN;
	}
	if (!w) {
		watches = xrealloc(watches, (nwatches + 1) * sizeof(*watches));
		w = &watches[nwatches++];
		memset(w, 0, sizeof(*w));
		w->prog_id = prog_id;
	}
	w->failed = true;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0) {
		err = -errno;
		*why = exit_status_for(err) == EXIT_PERM ? "opening it by id needs CAP_SYS_ADMIN" : "the program is gone";
		return err;
	}
	err = bpf_prog_main_func(fd, fn, sizeof(fn));
	if (err) {
		*why = "the program has no BTF function info";
		close(fd);
		return err;
	}
	struct xdpverdict_bpf *s = xdpverdict_bpf__open();
	if (!s) {
		err = -errno;
		*why = "cannot open the BPF object";
		close(fd);
		return err;
	}
	s->rodata->target_prog_id = prog_id;
	err = bpfclone_load(s->obj, "xdp_exit", parent->obj, fd, fn, &s->links.xdp_exit);
	close(fd);
	if (err) {
		*why = "loading or attaching the fexit program failed";
		xdpverdict_bpf__destroy(s);
		return err;
	}
	note("fexit attached to program %u (%s)", prog_id, fn);
	w->skel = s;
	w->failed = false;
	return 0;
}

void xvwatch_use(uint32_t prog_id)
{
	struct watch *w = watch_find(prog_id);
	if (w)
		w->used = true;
}

void xvwatch_sweep(void)
{
	for (int i = 0; i < nwatches; i++) {
		if (!watches[i].used && watches[i].skel) {
			retired_misses += bpfobj_recursion_misses(watches[i].skel->obj);
			xdpverdict_bpf__destroy(watches[i].skel);
			watches[i].skel = NULL;
			watches[i].failed = false;
		}
		watches[i].used = false;
	}
}

uint64_t xvwatch_misses(void)
{
	uint64_t t = retired_misses;
	for (int i = 0; i < nwatches; i++)
		if (watches[i].skel)
			t += bpfobj_recursion_misses(watches[i].skel->obj);
	return t;
}

void xvwatch_free(void)
{
	for (int i = 0; i < nwatches; i++)
		xdpverdict_bpf__destroy(watches[i].skel);
	free(watches);
	watches = NULL;
	nwatches = 0;
}
