// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libxdp dispatchers and their components (xvdisp.h).
 *
 * The components are found from the kernel's side only (no bpffs needed):
 * every BPF link is walked once per discovery pass, and the tracing links
 * whose program is of type EXT and whose target is the dispatcher's program
 * id are its components; the link's target BTF id names the stub function
 * the component replaces (prog0..prog9) in the dispatcher's BTF.  The
 * dispatcher's configuration (run priorities, chain-call actions) is the
 * variable "conf" of its .rodata map, located and decoded by the map's own
 * BTF (member names, not a copied layout), once per dispatcher: libxdp
 * never changes a loaded dispatcher, it replaces it with a new program.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hooks.h"
#include "util.h"
#include "xvdisp.h"

#define DISPATCHER_NAME "xdp_dispatcher"
#define DISPATCHER_MAGIC 236 /* 'X' + 'D' + 'P', dispatcher versions 2 and later */

/* ---- the links of one pass ------------------------------------------- */

struct extlink {
	uint32_t link_id, prog_id, target, target_btf;
};
static struct extlink *links;
static int nlinks;
static bool scanned;
static int scan_err; /* -errno: the links could not be listed */

void xvdisp_scan(void)
{
	scanned = false; /* walked on the first lookup of the pass */
}

static void scan_links(void)
{
	uint32_t id = 0;

	nlinks = 0;
	scan_err = 0;
	scanned = true;
	for (;;) {
		if (bpf_link_get_next_id(id, &id)) {
			if (errno != ENOENT)
				scan_err = -errno;
			break;
		}
		int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == EPERM || errno == EACCES) {
				scan_err = -errno;
				break;
			}
			continue; /* gone meanwhile */
		}
		struct bpf_link_info li;
		uint32_t len = sizeof(li);
		memset(&li, 0, sizeof(li));
		/* fentry/fexit on a program (ours included) also name it as
		 * their target: only links of other attach types are
		 * candidates, checked to be EXT programs on lookup */
		if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == BPF_LINK_TYPE_TRACING &&
		    li.tracing.target_obj_id && li.tracing.attach_type != BPF_TRACE_FENTRY &&
		    li.tracing.attach_type != BPF_TRACE_FEXIT && li.tracing.attach_type != BPF_MODIFY_RETURN) {
			links = xrealloc(links, (nlinks + 1) * sizeof(*links));
			links[nlinks++] = (struct extlink){ id, li.prog_id, li.tracing.target_obj_id,
							   li.tracing.target_btf_id };
		}
		close(fd);
	}
}

/* ---- dispatchers, their BTF and configuration (cached) ---------------- */

struct dcache {
	uint32_t prog_id;
	bool used;
	struct btf *btf; /* the dispatcher program's BTF: slot names */
	struct xvd_dispatcher conf; /* the configuration part */
};
static struct dcache *cache;
static int ncache;

static uint64_t rd(const unsigned char *p, uint32_t size)
{
	switch (size) {
	case 1: return p[0];
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
	return 0;
}

/* Decode struct xdp_dispatcher_config at buf (size bytes) by its BTF
 * type st: the members by name.  NULL, or why not. */
static const char *decode_conf(const struct btf *b, const struct btf_type *st, const unsigned char *buf,
			       uint32_t size, struct xvd_dispatcher *d)
{
	const struct btf_member *m = btf_members(st);
	bool have_magic = false, have_enabled = false, have_chain = false;

	if (!btf_is_struct(st))
		return "its conf is not a struct";
	for (int i = 0; i < btf_vlen(st); i++, m++) {
		const char *mn = btf__name_by_offset(b, m->name_off);
		uint32_t off = btf_member_bit_offset(st, i) / 8;
		const struct btf_type *mt = btf__type_by_id(b, btf__resolve_type(b, m->type));
		if (!mn || !mt || btf_member_bitfield_size(st, i))
			continue;
		if (btf_is_int(mt)) {
			if (off + mt->size > size)
				return "its conf is larger than the map value";
			uint64_t v = rd(buf + off, mt->size);
			if (!strcmp(mn, "magic")) {
				if (v != DISPATCHER_MAGIC)
					return "wrong magic number";
				have_magic = true;
			} else if (!strcmp(mn, "dispatcher_version")) {
				d->version = (unsigned)v;
			} else if (!strcmp(mn, "num_progs_enabled")) {
				d->enabled = (unsigned)v;
				have_enabled = true;
			}
		} else if (btf_is_array(mt)) {
			const struct btf_array *a = btf_array(mt);
			const struct btf_type *et = btf__type_by_id(b, btf__resolve_type(b, a->type));
			uint32_t *dst = !strcmp(mn, "chain_call_actions") ? d->chain_actions
					: !strcmp(mn, "run_prios")         ? d->run_prio
									   : NULL;
			if (!dst || !et || !btf_is_int(et) || et->size != 4)
				continue;
			for (uint32_t k = 0; k < a->nelems && k < XVD_SLOTS; k++) {
				if (off + (k + 1) * 4 > size)
					return "its conf is larger than the map value";
				dst[k] = (uint32_t)rd(buf + off + k * 4, 4);
			}
			have_chain |= dst == d->chain_actions;
		}
	}
	(void)have_magic; /* version 1 had none */
	if (!have_enabled || !have_chain)
		return "its conf has no num_progs_enabled or chain_call_actions";
	return NULL;
}

/* The dispatcher's configuration from its .rodata map.  Only programs
 * named like libxdp's dispatcher get here, and it has no map but its
 * .rodata array (a map must be opened to learn its type: no prog array is
 * expected here, the maps tailcalls and mapstat avoid opening by id). */
static const char *read_conf(int prog_fd, struct xvd_dispatcher *d)
{
	uint32_t *ids = NULL, zero = 0;
	const char *why = "no .rodata map with a conf variable";
	int n = bpfobj_prog_map_ids(prog_fd, &ids);

	if (n < 0)
		return "cannot list its maps";
	for (int i = 0; i < n && why; i++) {
		struct bpf_map_info mi;
		int mfd = bpfobj_map_open(ids[i], &mi);
		if (mfd < 0) {
			why = exit_status_for(mfd) == EXIT_PERM ? "opening its .rodata by id needs CAP_SYS_ADMIN"
								 : "cannot open its .rodata";
			continue;
		}
		size_t nl = strlen(mi.name);
		if (mi.type != BPF_MAP_TYPE_ARRAY || nl < 7 || strcmp(mi.name + nl - 7, ".rodata") ||
		    !mi.btf_id || !mi.btf_value_type_id || !mi.value_size) {
			close(mfd);
			continue;
		}
		struct btf *b = btf__load_from_kernel_by_id(mi.btf_id);
		unsigned char *buf = xcalloc(1, mi.value_size);
		const struct btf_type *ds = b ? btf__type_by_id(b, mi.btf_value_type_id) : NULL;
		if (!b)
			why = "cannot load its BTF";
		else if (bpf_map_lookup_elem(mfd, &zero, buf))
			why = "cannot read its .rodata";
		else if (ds && btf_is_datasec(ds)) {
			const struct btf_var_secinfo *vs = btf_var_secinfos(ds);
			for (int k = 0; k < btf_vlen(ds); k++, vs++) {
				const struct btf_type *var = btf__type_by_id(b, vs->type);
				const char *vn = var ? btf__name_by_offset(b, var->name_off) : NULL;
				if (!vn || strcmp(vn, "conf") || vs->offset + vs->size > mi.value_size)
					continue;
				const struct btf_type *st = btf__type_by_id(b, btf__resolve_type(b, var->type));
				why = st ? decode_conf(b, st, buf + vs->offset, vs->size, d) : "bad BTF";
				break;
			}
		}
		free(buf);
		btf__free(b);
		close(mfd);
	}
	free(ids);
	return why;
}

static struct dcache *cache_get(uint32_t prog_id)
{
	for (int i = 0; i < ncache; i++)
		if (cache[i].prog_id == prog_id)
			return &cache[i];
	struct bpf_prog_info pi;
	int fd = bpfobj_prog_open(prog_id, &pi);
	cache = xrealloc(cache, (ncache + 1) * sizeof(*cache));
	struct dcache *c = &cache[ncache++];
	memset(c, 0, sizeof(*c));
	c->prog_id = prog_id;
	c->conf.prog_id = prog_id;
	if (fd < 0) {
		c->conf.conf_why = exit_status_for(fd) == EXIT_PERM ? "opening it by id needs CAP_SYS_ADMIN"
								    : "the program is gone";
		return c;
	}
	if (pi.btf_id)
		c->btf = btf__load_from_kernel_by_id(pi.btf_id);
	c->conf.conf_why = read_conf(fd, &c->conf);
	c->conf.conf_known = !c->conf.conf_why;
	if (c->conf.conf_why)
		note("dispatcher %u: configuration unknown (%s)", prog_id, c->conf.conf_why);
	else
		note("dispatcher %u: version %u, %u programs enabled", prog_id, c->conf.version, c->conf.enabled);
	close(fd);
	return c;
}

bool xvdisp_lookup(uint32_t prog_id, const char *name, struct xvd_dispatcher *d)
{
	if (strcmp(name, DISPATCHER_NAME))
		return false;
	struct dcache *c = cache_get(prog_id);
	c->used = true;
	*d = c->conf;
	d->ncomp = 0;
	d->why = NULL;
	if (!scanned)
		scan_links();
	if (scan_err) {
		d->why = exit_status_for(scan_err) == EXIT_PERM ? "listing BPF links by id needs CAP_SYS_ADMIN"
								 : "cannot list the BPF links";
		return true;
	}
	for (int i = 0; i < nlinks && d->ncomp < XVD_SLOTS; i++) {
		if (links[i].target != prog_id)
			continue;
		struct bpf_prog_info pi;
		int fd = bpfobj_prog_open(links[i].prog_id, &pi);
		if (fd < 0)
			continue;
		if (pi.type != BPF_PROG_TYPE_EXT) {
			close(fd);
			continue;
		}
		struct xvd_component *k = &d->comp[d->ncomp++];
		memset(k, 0, sizeof(*k));
		k->prog_id = links[i].prog_id;
		k->link_id = links[i].link_id;
		k->slot = -1;
		snprintf(k->name, sizeof(k->name), "%s", pi.name);
		close(fd);
		const struct btf_type *t = c->btf ? btf__type_by_id(c->btf, links[i].target_btf) : NULL;
		const char *fn = t ? btf__name_by_offset(c->btf, t->name_off) : NULL;
		int slot;
		char extra;
		if (fn && sscanf(fn, "prog%d%c", &slot, &extra) == 1 && slot >= 0 && slot < XVD_SLOTS)
			k->slot = slot;
	}
	if (!d->ncomp && d->conf_known && d->enabled)
		d->why = "no BPF link names it as its target (older kernels do not name the targets of links)";
	/* slot order: the order the dispatcher calls them in */
	for (int i = 1; i < d->ncomp; i++)
		for (int j = i; j > 0 && (unsigned)d->comp[j].slot < (unsigned)d->comp[j - 1].slot; j--) {
			struct xvd_component t = d->comp[j];
			d->comp[j] = d->comp[j - 1];
			d->comp[j - 1] = t;
		}
	return true;
}

void xvdisp_full_name(struct xvd_component *k)
{
	char full[sizeof(k->name)];

	if (strlen(k->name) != BPF_OBJ_NAME_LEN - 1)
		return;
	struct bpf_prog_info pi;
	int fd = bpfobj_prog_open(k->prog_id, &pi);
	if (fd < 0)
		return;
	if (!bpf_prog_main_func(fd, full, sizeof(full)) && !strncmp(full, k->name, BPF_OBJ_NAME_LEN - 1))
		snprintf(k->name, sizeof(k->name), "%s", full);
	close(fd);
}

void xvdisp_sweep(void)
{
	int j = 0;
	for (int i = 0; i < ncache; i++) {
		if (cache[i].used) {
			cache[i].used = false;
			cache[j++] = cache[i];
		} else {
			btf__free(cache[i].btf);
		}
	}
	ncache = j;
}

void xvdisp_free(void)
{
	for (int i = 0; i < ncache; i++)
		btf__free(cache[i].btf);
	free(cache);
	cache = NULL;
	ncache = 0;
	free(links);
	links = NULL;
	nlinks = 0;
}

const char *xvdisp_actions(uint32_t mask, char *buf, size_t len)
{
	static const char *const names[] = { "aborted", "drop", "pass", "tx", "redirect" };
	size_t n = 0;

	buf[0] = '\0';
	for (int a = 0; a < 31 && n < len; a++) {
		if (!(mask & (1U << a)))
			continue;
		if (a < 5)
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[a]);
		else
			n += snprintf(buf + n, len - n, "%s%d", n ? "," : "", a);
	}
	return buf;
}

/* ---- the records ----------------------------------------------------- */

#define CNT (FF_JSON | FF_WIDE)
#define RATE (FF_TABLE | FF_JSON)
static const struct field cfields[C_NFIELDS] = {
	[C_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[C_IFACE] = F_IFACE(FF_ALL),
	[C_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[C_DISPATCHER] = { "dispatcher_prog_id", "DISP", FK_LABEL, FF_ALL | FF_RIGHT,
			   "ID of the libxdp dispatcher program attached to the interface", 0, 0, 0 },
	[C_SLOT] = { "slot", "SLOT", FK_LABEL, FF_ALL | FF_RIGHT,
		     "Dispatcher slot the component replaces (prog0..prog9 -> 0..9): the order of the calls", 0, 0, 0 },
	[C_PROG_ID] = F_PROG_ID(FF_ALL),
	[C_PROG] = F_PROG_NAME(FF_ALL),
	[C_PRIO] = { "run_priority", "PRIO", FK_GAUGE, FF_ALL,
		     "The component's run priority in the dispatcher's configuration (lower runs first)", 0, 0, 0 },
	[C_CHAIN] = { "chain_call_actions", "CHAIN", FK_TEXT, FF_TABLE | FF_JSON | FF_LIST,
		      "Verdicts after which the dispatcher calls the next component (after the last one it "
		      "returns XDP_PASS); any other verdict is returned at once", 0, 0, 0 },
	[C_SOURCE] = { "source", "SOURCE", FK_LABEL, FF_ALL,
		       "Counting mechanism of the component: fexit, or none", 0, 0, 0 },
	[C_ABORTED] = { "aborted", "ABORTED", FK_COUNTER, CNT,
			"Packets the component returned XDP_ABORTED (or an invalid action) for", 0, 0, 0 },
	[C_DROP] = { "drop", "DROP", FK_COUNTER, CNT, "Packets the component returned XDP_DROP for", 0, 0, 0 },
	[C_PASS] = { "pass", "PASS", FK_COUNTER, CNT, "Packets the component returned XDP_PASS for", 0, 0, 0 },
	[C_TX] = { "tx", "TX", FK_COUNTER, CNT, "Packets the component returned XDP_TX for", 0, 0, 0 },
	[C_REDIRECT] = { "redirect", "REDIRECT", FK_COUNTER, CNT,
			 "Packets the component returned XDP_REDIRECT for", 0, 0, 0 },
	[C_PACKETS] = { "packets", "PACKETS", FK_COUNTER, CNT, "Packets the component ran on", 0, 0, 0 },
	[C_CONTINUED] = { "chain_continued", "CONT", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			  "Packets after which the dispatcher went on to the next component (after the last: "
			  "returned XDP_PASS): verdicts in chain_call_actions", 0, 0, 0 },
	[C_RETURNED] = { "chain_returned", "RET", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
			 "Packets whose verdict the dispatcher returned at once: verdicts not in chain_call_actions",
			 0, 0, 0 },
	[C_ABORTED_RATE] = { "aborted_packets_per_second", "ABRT/s", FK_GAUGE, RATE,
			     "XDP_ABORTED packets per second over the last interval", 0, 0, 0 },
	[C_DROP_RATE] = { "drop_packets_per_second", "DROP/s", FK_GAUGE, RATE,
			  "XDP_DROP packets per second over the last interval", 0, 0, 0 },
	[C_PASS_RATE] = { "pass_packets_per_second", "PASS/s", FK_GAUGE, RATE,
			  "XDP_PASS packets per second over the last interval", 0, 0, 0 },
	[C_TX_RATE] = { "tx_packets_per_second", "TX/s", FK_GAUGE, RATE,
			"XDP_TX packets per second over the last interval", 0, 0, 0 },
	[C_REDIRECT_RATE] = { "redirect_packets_per_second", "REDIR/s", FK_GAUGE, RATE,
			      "XDP_REDIRECT packets per second over the last interval", 0, 0, 0 },
	[C_CONTINUED_RATE] = { "continued_packets_per_second", "CONT/s", FK_GAUGE, RATE,
			       "Packets per second the dispatcher passed on to the next component", 0, 0, 0 },
	[C_RETURNED_RATE] = { "returned_packets_per_second", "RET/s", FK_GAUGE, RATE,
			      "Packets per second whose verdict the dispatcher returned at once", 0, 0, 0 },
	[C_NOTE] = { "note", "NOTE", FK_TEXT, FF_JSON | FF_WIDE,
		     "Why the component's counts are unknown (null when they are counted)", 0, 0, 0 },
};
const struct schema component_schema = { "xdpverdict", "components", cfields, C_NFIELDS, NULL };

/* Prometheus only, like the interfaces' verdicts: one record per component
 * and counted verdict. */
static const struct field cvfields[CV_NFIELDS] = {
	[CV_NETNS] = F_NETNS(FF_PROM),
	[CV_IFACE] = F_IFACE(FF_PROM),
	[CV_DISPATCHER] = { "dispatcher_prog_id", "DISP", FK_LABEL, FF_PROM,
			    "ID of the libxdp dispatcher program attached to the interface", 0, 0, 0 },
	[CV_SLOT] = { "slot", "SLOT", FK_LABEL, FF_PROM,
		      "Dispatcher slot the component replaces (prog0..prog9 -> 0..9): the order of the calls", 0, 0, 0 },
	[CV_PROG_ID] = F_PROG_ID(FF_PROM),
	[CV_PROG] = F_PROG_NAME(FF_PROM),
	[CV_SOURCE] = { "source", "SOURCE", FK_LABEL, FF_PROM,
			"Counting mechanism of the component: fexit, or none", 0, 0, 0 },
	[CV_VERDICT] = { "verdict", "VERDICT", FK_LABEL, FF_PROM,
			 "What the component returned: aborted (or an invalid action), drop, pass, tx or redirect",
			 0, 0, 0 },
	[CV_PACKETS] = { "component_packets", "PACKETS", FK_COUNTER, FF_PROM,
			 "Packets the component returned the verdict for (no sample when it is not counted)", 0, 0, 0 },
};
const struct schema component_verdict_schema = { "xdpverdict", "component_verdicts", cvfields, CV_NFIELDS,
						  NULL };

OUT_REGISTER(&component_schema, &component_verdict_schema);
