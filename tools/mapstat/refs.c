// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "refs.h"

static void read_owners(struct refs *r, struct bpf_program *owners_scan)
{
	struct owner *all = NULL;
	int n = bpfobj_owners(owners_scan, &all);
	uint32_t self = (uint32_t)getpid();

	if (n < 0) {
		note("owner scan failed: %s", errno_name(-n));
		return;
	}
	r->own = xcalloc(n ? n : 1, sizeof(*r->own));
	for (int i = 0; i < n; i++)
		if (all[i].kind == OBJ_MAP && all[i].pid != self)
			r->own[r->nown++] = all[i];
	free(all);
}

/* Every bpffs mount is walked, and the same one may be mounted over
 * itself: keep each (map, path) once. */
static void read_pins(struct refs *r)
{
	int n = bpfobj_pins(&r->pins);
	if (n < 0) {
		r->pins = NULL;
		return;
	}
	for (int i = 0; i < n; i++) {
		bool dup = r->pins[i].kind != OBJ_MAP;
		for (int k = 0; k < r->npins && !dup; k++)
			dup = r->pins[k].id == r->pins[i].id && !strcmp(r->pins[k].path, r->pins[i].path);
		if (dup) {
			free(r->pins[i].path);
			continue;
		}
		r->pins[r->npins++] = r->pins[i];
	}
}

static void read_uses(struct refs *r)
{
	uint32_t *ids = NULL;
	int n = bpfobj_ids(OBJ_PROG, &ids);
	for (int i = 0; i < n; i++) {
		struct bpf_prog_info pi;
		uint32_t *mids = NULL;
		int fd = bpfobj_prog_open(ids[i], &pi);
		if (fd < 0)
			continue; /* unloaded meanwhile */
		int nm = bpfobj_prog_map_ids(fd, &mids);
		for (int j = 0; j < nm; j++) {
			r->uses = xrealloc(r->uses, (r->nuses + 1) * sizeof(*r->uses));
			r->uses[r->nuses++] = (struct map_use){ mids[j], ids[i] };
		}
		free(mids);
		close(fd);
	}
	free(ids);
}

void refs_read(struct refs *r, struct bpf_program *owners_scan, bool progs)
{
	memset(r, 0, sizeof(*r));
	if (owners_scan)
		read_owners(r, owners_scan);
	read_pins(r);
	if (progs)
		read_uses(r);
}

void refs_free(struct refs *r)
{
	free(r->own);
	bpfobj_pins_free(r->pins, r->npins);
	free(r->uses);
	memset(r, 0, sizeof(*r));
}

bool refs_held_by(const struct refs *r, uint32_t id, int pid)
{
	for (int k = 0; k < r->nown; k++)
		if (r->own[k].id == id && (int)r->own[k].pid == pid)
			return true;
	return false;
}

bool path_under(const char *path, const char *root)
{
	size_t l = strlen(root);
	while (l > 0 && root[l - 1] == '/')
		l--; /* "/" and "//" leave 0: every path */
	return !strncmp(path, root, l) && (path[l] == '\0' || path[l] == '/');
}

bool refs_pinned_under(const struct refs *r, uint32_t id, const char *root)
{
	for (int k = 0; k < r->npins; k++)
		if (r->pins[k].id == id && path_under(r->pins[k].path, root))
			return true;
	return false;
}

bool refs_first_owner(const struct refs *r, int k, uint32_t id)
{
	if (r->own[k].id != id)
		return false;
	for (int q = 0; q < k; q++)
		if (r->own[q].id == id && r->own[q].pid == r->own[k].pid)
			return false;
	return true;
}

bool refs_first_of_pid(const struct refs *r, int k)
{
	for (int q = 0; q < k; q++)
		if (r->own[q].pid == r->own[k].pid)
			return false;
	return true;
}

/* Read from the holder's own fdinfo; the fd number is checked against the
 * map id in case the holder reused it meanwhile (-ENOENT: closed). */
static int holder_memlock(const struct owner *ow, uint64_t *bytes)
{
	uint64_t id;
	int err = proc_fdinfo_u64((int)ow->pid, (int)ow->fd, "map_id", &id);
	if (!err && id != ow->id)
		err = -ENOENT;
	if (!err)
		err = proc_fdinfo_u64((int)ow->pid, (int)ow->fd, "memlock", bytes);
	if (err == -EACCES || err == -EPERM)
		note("cannot read /proc/%u/fdinfo/%u: %s (needs CAP_SYS_PTRACE): its memory is unknown", ow->pid,
		     ow->fd, errno_name(err));
	return err;
}

int refs_memlock(const struct refs *r, uint32_t id, uint64_t *bytes)
{
	int err = -ENOENT;
	for (int k = 0; k < r->nown; k++)
		if (r->own[k].id == id && !(err = holder_memlock(&r->own[k], bytes)))
			return 0;
	return err;
}

uint64_t refs_pid_maps(const struct refs *r, uint32_t pid, uint64_t *bytes, bool *known)
{
	uint64_t n = 0;
	*bytes = 0;
	*known = true;
	for (int q = 0; q < r->nown; q++) {
		uint64_t b;
		if (r->own[q].pid != pid || !refs_first_owner(r, q, r->own[q].id))
			continue; /* one map held through several fds counts once */
		int err = holder_memlock(&r->own[q], &b);
		if (err == -ENOENT)
			continue; /* closed meanwhile */
		n++;
		if (err)
			*known = false;
		else
			*bytes += b;
	}
	return n;
}

void refs_warn_memlock(const struct refs *r)
{
	for (int k = 0; k < r->nown; k++) {
		uint64_t held, limit;
		bool known;
		if (!refs_first_of_pid(r, k))
			continue;
		refs_pid_maps(r, r->own[k].pid, &held, &known);
		if (known && !proc_memlock_limit(r->own[k].pid, &limit) && limit != UINT64_MAX && held * 10 >= limit * 9)
			warnx_("pid %u (%s) holds %" PRIu64 " bytes of BPF maps, %.0f%% of its RLIMIT_MEMLOCK (%" PRIu64 ")",
			       r->own[k].pid, r->own[k].comm, held, 100.0 * held / limit, limit);
	}
}

/* ---- mapstat's own maps ------------------------------------------------ */

static uint32_t *own_ids;
static int nown_ids;

static void add_own(uint32_t id)
{
	own_ids = xrealloc(own_ids, (nown_ids + 1) * sizeof(uint32_t));
	own_ids[nown_ids++] = id;
}

bool own_map(uint32_t id)
{
	for (int i = 0; i < nown_ids; i++)
		if (own_ids[i] == id)
			return true;
	return false;
}

void own_maps_collect(struct bpf_object *obj, struct bpf_program *owners_scan, uint32_t max_before)
{
	struct bpf_map *m;
	struct refs r = { 0 };
	uint32_t *ids = NULL;

	bpf_object__for_each_map(m, obj) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_map__fd(m) >= 0 && !bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len))
			add_own(info.id);
	}
	if (owners_scan)
		read_owners(&r, owners_scan);
	int n = bpfobj_ids(OBJ_MAP, &ids);
	for (int i = 0; i < n; i++) {
		if (ids[i] <= max_before || own_map(ids[i]))
			continue;
		bool held = false;
		for (int k = 0; k < r.nown && !held; k++)
			held = r.own[k].id == ids[i];
		if (!held)
			add_own(ids[i]);
	}
	free(ids);
	refs_free(&r);
}

void own_maps_free(void)
{
	free(own_ids);
	own_ids = NULL;
	nown_ids = 0;
}
