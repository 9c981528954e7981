// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mapstat: how full is every BPF map, who owns it, where is it pinned, and
 * will it hit its limit?
 */
#include <argp.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "maplist.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "mapstat.h"
#include "mapstat.skel.h"

/* ---- options -------------------------------------------------------- */

enum method_pref { PREF_AUTO, PREF_ITER, PREF_WALK };

static struct {
	uint32_t *ids;
	int nids;
	const char *name;
	int type;
	const char *pinned;
	int pid;
	double warn, crit;
	uint32_t prefixes_id;
	bool prefixes;
	bool no_owners;
	bool owners;
	enum method_pref method;
} o = { .type = -1 };

enum { OPT_PINNED = 0x2000, OPT_WARN, OPT_CRIT, OPT_PREFIXES, OPT_METHOD, OPT_NO_OWNERS, OPT_OWNERS };

static const struct argp_option options[] = {
	{ "id", 'm', "ID", 0, "Only map ID (repeatable)", 1 },
	{ "name", 'n', "GLOB", 0, "Only maps whose name matches GLOB", 1 },
	{ "type", 't', "TYPE", 0, "Only maps of TYPE (hash, lru_hash, lpm_trie, ringbuf, ...)", 1 },
	{ "pinned", OPT_PINNED, "PATH", 0, "Only maps pinned at PATH or below it", 1 },
	{ "pid", 'p', "PID", 0, "Only maps held open by process PID", 1 },
	{ "warn", OPT_WARN, "PCT", 0, "Flag maps at or over PCT% full; exit status 6", 2 },
	{ "crit", OPT_CRIT, "PCT", 0, "Flag maps at or over PCT% full; exit status 7", 2 },
	{ "prefixes", OPT_PREFIXES, "ID", 0, "Histogram of prefix lengths in LPM trie map ID", 2 },
	{ "method", OPT_METHOD, "HOW", 0, "Counting: auto (best available), iter (no kfunc), walk (user-space key walks)", 2 },
	{ "no-owners", OPT_NO_OWNERS, NULL, 0, "Skip the owner-process scan", 2 },
	{ "owners", OPT_OWNERS, NULL, 0, "One row per owner process: maps held, their memory, its RLIMIT_MEMLOCK", 2 },
	{ 0 },
};

static const char doc[] =
	"mapstat: occupancy of every BPF map (entries / max_entries, memory, owners, pins).\v"
	"Examples:\n"
	"  mapstat                      # every map, once\n"
	"  mapstat -t lru_hash 5        # LRU hashes every 5 s, with fill rate\n"
	"  mapstat --warn 80 --crit 95  # exit 6/7 if any map is that full\n"
	"  mapstat -o prom --file /var/lib/node_exporter/mapstat.prom\n"
	"  mapstat --prefixes 42        # prefix lengths in LPM trie 42";

static uint32_t parse_id(const char *opt, const char *arg)
{
	return opt_u32(opt, arg, 1, UINT32_MAX);
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'm':
		o.ids = xrealloc(o.ids, (o.nids + 1) * sizeof(uint32_t));
		o.ids[o.nids++] = parse_id("--id", arg);
		break;
	case 'n':
		o.name = arg;
		break;
	case 't':
		o.type = map_type_from_name(arg);
		if (o.type < 0)
			die(EXIT_USAGE, "unknown map type '%s' (e.g. hash, array, lru_hash, lpm_trie, ringbuf) (see --help)", arg);
		break;
	case OPT_PINNED:
		o.pinned = arg;
		break;
	case 'p':
		o.pid = opt_pid("--pid", arg);
		break;
	case OPT_WARN:
		o.warn = opt_percent("--warn", arg);
		break;
	case OPT_CRIT:
		o.crit = opt_percent("--crit", arg);
		break;
	case OPT_PREFIXES:
		o.prefixes_id = parse_id("--prefixes", arg);
		o.prefixes = true;
		break;
	case OPT_METHOD:
		if (!strcmp(arg, "auto"))
			o.method = PREF_AUTO;
		else if (!strcmp(arg, "iter"))
			o.method = PREF_ITER;
		else if (!strcmp(arg, "walk"))
			o.method = PREF_WALK;
		else
			die(EXIT_USAGE, "invalid --method '%s': expected auto, iter or walk (see --help)", arg);
		break;
	case OPT_NO_OWNERS:
		o.no_owners = true;
		break;
	case OPT_OWNERS:
		o.owners = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot of the maps: static for the whole run (_info
 * labels in Prometheus). */
enum { M_COUNTING, M_ACCOUNTING, M_NFIELDS };
static const struct field mfields[M_NFIELDS] = {
	[M_COUNTING] = { "counting", "", FK_LABEL, 0,
			 "How entries are counted: kfunc (bpf_map_sum_elem_count kfunc and CO-RE counters), "
			 "iter (CO-RE counters and map element iterators) or walk (user-space key walks)", 0, 0, 0 },
	[M_ACCOUNTING] = { "memory_accounting", "", FK_LABEL, 0,
			   "What the kernel charges BPF map memory to: memcg or memlock (RLIMIT_MEMLOCK)", 0, 0, 0 },
};
static const struct schema maps_meta_schema = { "mapstat", "maps", mfields, M_NFIELDS, NULL };

enum {
	F_ID, F_NAME, F_MTYPE, F_KEY, F_VALUE, F_FLAGS, F_MAX, F_ENTRIES, F_USE,
	F_METHOD, F_MEM, F_RATE, F_FULL, F_OWNERS, F_OWNER_PIDS, F_OWNER_COMMS,
	F_PINNED, F_PROGS, F_LEVEL, NFIELDS
};

static struct field fields[NFIELDS] = {
	[F_ID] = F_MAP_ID(FF_ALL),
	[F_NAME] = F_MAP_NAME(FF_ALL),
	[F_MTYPE] = { "map_type", "TYPE", FK_LABEL, FF_ALL,
		      "Map type, as bpftool names it (hash, array, lru_hash, lpm_trie, ringbuf, ...)", 0, 0, 0 },
	[F_KEY] = { "key_size_bytes", "KEY(B)", FK_GAUGE, FF_JSON | FF_WIDE, "Key size", 0, 0, 0 },
	[F_VALUE] = { "value_size_bytes", "VAL(B)", FK_GAUGE, FF_JSON | FF_WIDE, "Value size", 0, 0, 0 },
	[F_FLAGS] = { "flags", "FLAGS", FK_GAUGE, FF_JSON | FF_WIDE, "Map flags (map_flags, BPF_F_*) as a number",
		      0, 0, 0 },
	[F_MAX] = { "max_entries", "MAX", FK_GAUGE, FF_ALL, "Maximum entries (bytes for ring buffers)", 0, 0, 0 },
	[F_ENTRIES] = { "entries", "ENTRIES", FK_GAUGE, FF_ALL,
			"Current entries (bytes in use for ring buffers); absent when not countable", 0, 0, 0 },
	[F_USE] = { "use_ratio", "USE%", FK_GAUGE, FF_ALL, "entries / max_entries (0-1)", 0.01, 1, 0 },
	[F_METHOD] = { "entries_method", "METHOD", FK_TEXT, FF_JSON | FF_WIDE,
		       "How entries was obtained: kfunc, core, iter_elem, iter_sockmap, slots, keywalk, mmap, "
		       "fixed or none", 0, 0, 0 },
	[F_MEM] = { "memlock_bytes", "MEM(KiB)", FK_GAUGE, FF_ALL, "Memory charged to the map (fdinfo memlock)",
		    1024, 0, 0 },
	[F_RATE] = { "entries_per_second", "RATE/s", FK_GAUGE, FF_JSON | FF_PROM,
		     "Change in entries per second over the last interval", 0, 1, 0 },
	[F_FULL] = { "full_in_seconds", "FULL-IN(s)", FK_GAUGE, FF_JSON | FF_PROM,
		     "Seconds until max_entries at the current fill rate", 0, 0, 0 },
	[F_OWNERS] = { "owners", "OWNERS", FK_TEXT, FF_TABLE,
		       "Processes holding the map open, as PID/COMM", 0, 0, 0 },
	[F_OWNER_PIDS] = { "owner_pids", "PIDS", FK_TEXT, FF_JSON | FF_LIST,
			   "Process IDs of the processes holding the map open", 0, 0, 0 },
	[F_OWNER_COMMS] = { "owner_comms", "COMMS", FK_TEXT, FF_JSON | FF_LIST,
			    "Names of the processes holding the map open, in the order of owner_pids", 0, 0, 0 },
	[F_PINNED] = { "pinned", "PINNED", FK_TEXT, FF_JSON | FF_WIDE | FF_LIST,
		       "Paths the map is pinned at, on every mounted bpffs", 0, 0, 0 },
	[F_PROGS] = { "prog_ids", "PROGS", FK_TEXT, FF_JSON | FF_WIDE | FF_LIST,
		      "IDs of the loaded programs that use the map", 0, 0, 0 },
	[F_LEVEL] = { "level", "LEVEL", FK_TEXT, FF_JSON,
		      "ok, warn or crit against --warn and --crit (null without them)", 0, 0, 0 },
};

static const struct schema map_schema = { "mapstat", "maps", fields, NFIELDS, &maps_meta_schema };

/* --prefixes ID: the LPM trie's entries per prefix length. */
enum { P_MAP, P_MAP_NAME, P_PREFIXLEN, P_ENTRIES, PNFIELDS };
static const struct field pfields[PNFIELDS] = {
	[P_MAP] = F_MAP_ID(FF_ALL),
	[P_MAP_NAME] = F_MAP_NAME(FF_ALL),
	[P_PREFIXLEN] = { "prefixlen", "PREFIXLEN", FK_LABEL, FF_ALL, "Prefix length in bits", 0, 0, 0 },
	[P_ENTRIES] = { "prefix_entries", "ENTRIES", FK_GAUGE, FF_ALL, "Entries with this prefix length", 0, 0, 0 },
};
static const struct schema prefix_schema = { "mapstat", "prefixes", pfields, PNFIELDS, NULL };

/* --owners: one record per process holding maps. */
enum { OM_ACCOUNTING, OM_NFIELDS };
static const struct field omfields[OM_NFIELDS] = {
	[OM_ACCOUNTING] = { "memory_accounting", "", FK_LABEL, 0,
			    "What the kernel charges BPF map memory to: memcg or memlock (RLIMIT_MEMLOCK)", 0, 0, 0 },
};
static const struct schema owners_meta_schema = { "mapstat", "owners", omfields, OM_NFIELDS, NULL };

enum { O_PID, O_COMM, O_MAPS, O_MEM, O_LIMIT, O_LIMIT_RATIO, O_ACCOUNTING, ONFIELDS };
static const struct field ofields[ONFIELDS] = {
	[O_PID] = F_PID(FF_ALL),
	[O_COMM] = F_COMM(FF_ALL),
	[O_MAPS] = { "owned_maps", "MAPS", FK_GAUGE, FF_ALL, "BPF maps the process holds open", 0, 0, 0 },
	[O_MEM] = { "owned_memlock_bytes", "MEM(KiB)", FK_GAUGE, FF_ALL,
		    "Sum of memlock of the maps the process holds open", 1024, 0, 0 },
	[O_LIMIT] = { "memlock_limit_bytes", "LIMIT(KiB)", FK_GAUGE, FF_ALL,
		      "RLIMIT_MEMLOCK soft limit; absent when unlimited", 1024, 0, 0 },
	[O_LIMIT_RATIO] = { "memlock_limit_ratio", "LIMIT%", FK_GAUGE, FF_ALL,
			    "owned_memlock_bytes / RLIMIT_MEMLOCK (0-1); absent when unlimited", 0.01, 1, 0 },
	[O_ACCOUNTING] = { "charged_to", "CHARGED-TO", FK_TEXT, FF_TABLE | FF_JSON,
			   "Where the kernel charges the process's map memory: memcg or memlock", 0, 0, 0 },
};
static const struct schema owner_schema = { "mapstat", "owners", ofields, ONFIELDS, &owners_meta_schema };

OUT_REGISTER(&map_schema, &prefix_schema, &owner_schema);

static const char *const method_names[] = {
	[CM_NONE] = "none", [CM_KFUNC] = "kfunc", [CM_CORE] = "core",
	[CM_ITER_ELEM] = "iter_elem", [CM_ITER_SOCK] = "iter_sockmap",
	[CM_SLOTS] = "slots", [CM_KEYWALK] = "keywalk", [CM_FIXED] = "fixed",
	[CM_MMAP] = "mmap",
};

/* ---- state ---------------------------------------------------------- */

static struct mapstat_bpf *skel;
static bool have_kfunc, have_elem_iter, have_sock_iter, have_owner_iter, memcg;
static int worst = EXIT_OK;

struct prev { uint32_t id; uint64_t entries; };
static struct prev *prev;
static int nprev;

/* Maps that are mapstat's own: its skeleton's maps, and the transient maps
 * libbpf and the feature probes created while mapstat started (they linger
 * until the kernel frees them). */
static uint32_t *own_ids;
static int nown_ids;

static void add_own(uint32_t id)
{
	own_ids = xrealloc(own_ids, (nown_ids + 1) * sizeof(uint32_t));
	own_ids[nown_ids++] = id;
}

static bool is_own_map(uint32_t id)
{
	for (int i = 0; i < nown_ids; i++)
		if (own_ids[i] == id)
			return true;
	return false;
}

static uint32_t highest_map_id(void)
{
	uint32_t *ids = NULL, max = 0;
	int n = bpfobj_ids(OBJ_MAP, &ids);
	for (int i = 0; i < n; i++)
		if (ids[i] > max)
			max = ids[i];
	free(ids);
	return max;
}

static void collect_own_maps(uint32_t max_before)
{
	struct bpf_map *m;
	uint32_t *ids = NULL;
	struct owner *own = NULL;
	int nown = 0;

	bpf_object__for_each_map(m, skel->obj) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		if (bpf_map__fd(m) >= 0 && !bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len))
			add_own(info.id);
	}
	if (have_owner_iter) {
		nown = bpfobj_owners(skel->progs.owners_scan, &own);
		if (nown < 0)
			nown = 0;
	}
	int n = bpfobj_ids(OBJ_MAP, &ids);
	for (int i = 0; i < n; i++) {
		bool held = false;
		if (ids[i] <= max_before || is_own_map(ids[i]))
			continue;
		for (int k = 0; k < nown; k++)
			held |= own[k].kind == OBJ_MAP && own[k].id == ids[i] &&
				own[k].pid != (uint32_t)getpid();
		if (!held)
			add_own(ids[i]);
	}
	free(ids);
	free(own);
}

/* Read an iterator to its end; returns bytes read or -errno. */
static long drain_iter(struct bpf_link *link, char **buf)
{
	size_t cap = 0, len = 0;
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	*buf = NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			*buf = xrealloc(*buf, cap);
		}
		ssize_t r = read(fd, *buf + len, cap - len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue; /* EAGAIN: a million objects without output; go on */
		if (r < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	return (long)len;
}

static int iter_on_map(struct bpf_program *prog, int map_fd)
{
	union bpf_iter_link_info li = { .map = { .map_fd = map_fd } };
	LIBBPF_OPTS(bpf_iter_attach_opts, ao, .link_info = &li, .link_info_len = sizeof(li));
	struct bpf_link *link = bpf_program__attach_iter(prog, &ao);
	char *buf = NULL;
	if (!link)
		return -errno;
	long r = drain_iter(link, &buf);
	free(buf);
	bpf_link__destroy(link);
	return r < 0 ? (int)r : 0;
}

static int count_keywalk(int fd, const struct bpf_map_info *info, uint64_t *out)
{
	char *a = xcalloc(1, info->key_size), *b = xcalloc(1, info->key_size);
	uint64_t n = 0;
	int err = bpf_map_get_next_key(fd, NULL, a);
	while (!err) {
		n++;
		err = bpf_map_get_next_key(fd, a, b);
		char *t = a; a = b; b = t;
	}
	err = errno == ENOENT ? 0 : -errno;
	free(a);
	free(b);
	*out = n;
	return err;
}

static int count_slots(int fd, const struct bpf_map_info *info, uint64_t *out)
{
	char *val = xcalloc(1, info->value_size + 8);
	uint64_t n = 0;
	for (uint32_t i = 0; i < info->max_entries; i++) {
		if (!bpf_map_lookup_elem(fd, &i, val)) {
			n++;
			continue;
		}
		if (errno != ENOENT) {
			int err = -errno;
			free(val);
			return err;
		}
	}
	free(val);
	*out = n;
	return 0;
}

/* Ring buffer positions from user space: the consumer and producer pages
 * map read-only without disturbing the owner. */
static int count_ringbuf_mmap(int fd, uint64_t *out)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	unsigned long cons = *(volatile unsigned long *)p;
	unsigned long prod = *(volatile unsigned long *)((char *)p + page);
	munmap(p, 2 * page);
	*out = prod - cons;
	return 0;
}

static bool is_hash(uint32_t t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Decide a count for maps the bpf_map iterator left open. */
static enum count_method count_other(int fd, const struct bpf_map_info *info, uint64_t *n)
{
	uint32_t t = info->type;
	if (t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY) {
		*n = info->max_entries;
		return CM_FIXED;
	}
	if (is_hash(t) && have_elem_iter && o.method != PREF_WALK) {
		skel->bss->elem_count = 0;
		if (!iter_on_map(skel->progs.count_elems, fd)) {
			*n = skel->bss->elem_count;
			return CM_ITER_ELEM;
		}
	}
	if (t == BPF_MAP_TYPE_SOCKMAP && have_sock_iter && o.method != PREF_WALK) {
		skel->bss->sock_count = 0;
		if (!iter_on_map(skel->progs.count_socks, fd)) {
			*n = skel->bss->sock_count;
			return CM_ITER_SOCK;
		}
	}
	switch (t) {
	case BPF_MAP_TYPE_HASH: case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH: case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS: case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_SOCKHASH: case BPF_MAP_TYPE_DEVMAP_HASH:
	case BPF_MAP_TYPE_CGROUP_STORAGE: case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return count_keywalk(fd, info, n) ? CM_NONE : CM_KEYWALK;
	case BPF_MAP_TYPE_RINGBUF:
		return count_ringbuf_mmap(fd, n) ? CM_NONE : CM_MMAP;
	case BPF_MAP_TYPE_PROG_ARRAY: case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_DEVMAP: case BPF_MAP_TYPE_CPUMAP: case BPF_MAP_TYPE_SOCKMAP:
		return count_slots(fd, info, n) ? CM_NONE : CM_SLOTS;
	default:
		return CM_NONE;
	}
}

struct map_row {
	struct bpf_map_info info;
	uint64_t entries, memlock;
	enum count_method method;
	bool have_mem;
};

/* ---- one snapshot --------------------------------------------------- */

/* Memory charged to a map, read from a holder's own fdinfo: no map is opened
 * (a prog array must never be: common/maplist.h).  The fd number is checked
 * against the map id in case the holder reused it meanwhile. */
static int holder_memlock(const struct owner *ow, uint64_t *bytes)
{
	uint64_t id;
	if (proc_fdinfo_u64((int)ow->pid, (int)ow->fd, "map_id", &id) || id != ow->id)
		return -ENOENT;
	return proc_fdinfo_u64((int)ow->pid, (int)ow->fd, "memlock", bytes);
}

static struct map_count *run_map_iter(int *n)
{
	struct bpf_program *p = have_kfunc && o.method == PREF_AUTO ? skel->progs.maps_kfunc
								  : skel->progs.maps_core;
	struct bpf_link *link = bpf_program__attach_iter(p, NULL);
	char *buf = NULL;
	if (!link)
		die(EXIT_FAIL, "cannot attach the bpf_map iterator: %s", errno_name(errno));
	long len = drain_iter(link, &buf);
	bpf_link__destroy(link);
	if (len < 0)
		die(EXIT_FAIL, "cannot read the bpf_map iterator: %s", errno_name((int)-len));
	*n = (int)(len / sizeof(struct map_count));
	return (struct map_count *)buf;
}

static bool selected_static(const struct bpf_map_info *info)
{
	if (o.nids) {
		bool hit = false;
		for (int i = 0; i < o.nids; i++)
			hit |= o.ids[i] == info->id;
		if (!hit)
			return false;
	}
	if (o.name && fnmatch(o.name, info->name, 0))
		return false;
	if (o.type >= 0 && (uint32_t)o.type != info->type)
		return false;
	return true;
}

static bool path_under(const char *path, const char *root)
{
	size_t l = strlen(root);
	while (l > 1 && root[l - 1] == '/')
		l--;
	return !strncmp(path, root, l) && (path[l] == '\0' || path[l] == '/');
}

static int snapshot(double dt, bool interval_mode)
{
	struct maplist ml;
	int lerr = maplist_read(&ml);
	int nids = ml.n;
	int nmc = 0;
	struct map_count *mc;
	struct owner *own = NULL;
	int nown = 0;
	struct pin *pins = NULL;
	int npins;
	uint32_t *prog_ids = NULL;
	int nprogs;
	struct { uint32_t map, prog; } *uses = NULL;
	int nuses = 0;
	struct prev *next_prev;
	int nnext = 0;

	if (lerr)
		die(EXIT_FAIL, "cannot list BPF maps with a map iterator: %s", errno_name(-lerr));
	mc = o.method == PREF_WALK ? NULL : run_map_iter(&nmc);
	if (!o.no_owners && have_owner_iter) {
		nown = bpfobj_owners(skel->progs.owners_scan, &own);
		if (nown < 0) {
			note("owner scan failed: %s", errno_name(-nown));
			nown = 0;
		}
	}
	npins = bpfobj_pins(&pins);
	if (npins < 0)
		npins = 0;
	nprogs = bpfobj_ids(OBJ_PROG, &prog_ids);
	for (int i = 0; i < nprogs; i++) {
		struct bpf_prog_info pi;
		int pfd = bpfobj_prog_open(prog_ids[i], &pi);
		uint32_t *mids = NULL;
		if (pfd < 0)
			continue;
		int nm = bpfobj_prog_map_ids(pfd, &mids);
		for (int j = 0; j < nm; j++) {
			uses = xrealloc(uses, (nuses + 1) * sizeof(*uses));
			uses[nuses].map = mids[j];
			uses[nuses].prog = prog_ids[i];
			nuses++;
		}
		free(mids);
		close(pfd);
	}

	struct snapshot *sn = snap_begin(&map_schema);
	snap_meta(sn, "counting", "%s", o.method == PREF_WALK ? "walk"
				 : have_kfunc && o.method == PREF_AUTO ? "kfunc" : "iter");
	snap_meta(sn, "memory_accounting", "%s", memcg ? "memcg" : "memlock");
	next_prev = xcalloc(nids ? nids : 1, sizeof(*next_prev));

	for (int i = 0; i < nids; i++) {
		const struct maplist_ent *e = &ml.v[i];
		struct map_row row = {};
		int fd = -1;
		row.info.id = e->id;
		row.info.type = e->type;
		row.info.key_size = e->key_size;
		row.info.value_size = e->value_size;
		row.info.max_entries = e->max_entries;
		row.info.map_flags = e->flags;
		memcpy(row.info.name, e->name, sizeof(row.info.name));
		if (is_own_map(row.info.id) || !selected_static(&row.info))
			goto next;
		if (o.pid) {
			bool held = false;
			for (int k = 0; k < nown; k++)
				held |= own[k].kind == OBJ_MAP && own[k].id == row.info.id &&
					(int)own[k].pid == o.pid;
			if (!held)
				goto next;
		}
		if (o.pinned) {
			bool hit = false;
			for (int k = 0; k < npins; k++)
				hit |= pins[k].kind == OBJ_MAP && pins[k].id == row.info.id &&
				       path_under(pins[k].path, o.pinned);
			if (!hit)
				goto next;
		}
		row.method = CM_NONE;
		for (int k = 0; k < nmc; k++) {
			if (mc[k].id == row.info.id && mc[k].method != CM_NONE) {
				row.method = mc[k].method;
				row.entries = mc[k].entries;
			}
		}
		if (e->type == BPF_MAP_TYPE_PROG_ARRAY) {
			/* slots from the iterator; memory from a holder's fdinfo */
			if (row.method == CM_NONE && e->slots_known) {
				row.method = CM_SLOTS;
				row.entries = e->nslots;
			}
			for (int k = 0; k < nown && !row.have_mem; k++)
				row.have_mem = own[k].kind == OBJ_MAP && own[k].id == e->id &&
					       !holder_memlock(&own[k], &row.memlock);
		} else {
			fd = maplist_open(e, &row.info);
			if (fd < 0)
				continue; /* deleted meanwhile */
			if (row.method == CM_NONE)
				row.method = count_other(fd, &row.info, &row.entries);
			row.have_mem = !fdinfo_u64(fd, "memlock", &row.memlock);
		}

		struct record *r = snap_add(sn);
		rec_u64(r, F_ID, row.info.id);
		rec_str(r, F_NAME, row.info.name);
		rec_str(r, F_MTYPE, map_type_name(row.info.type));
		rec_u64(r, F_KEY, row.info.key_size);
		rec_u64(r, F_VALUE, row.info.value_size);
		rec_u64(r, F_FLAGS, row.info.map_flags);
		rec_u64(r, F_MAX, row.info.max_entries);
		rec_str(r, F_METHOD, method_names[row.method]);
		if (row.have_mem)
			rec_u64(r, F_MEM, row.memlock);
		if (row.method != CM_NONE) {
			rec_u64(r, F_ENTRIES, row.entries);
			if (row.info.max_entries)
				rec_dbl(r, F_USE, (double)row.entries / row.info.max_entries);
			next_prev[nnext].id = row.info.id;
			next_prev[nnext].entries = row.entries;
			nnext++;
			for (int k = 0; interval_mode && k < nprev; k++) {
				if (prev[k].id != row.info.id || dt <= 0)
					continue;
				double rate = ((double)row.entries - (double)prev[k].entries) / dt;
				rec_dbl(r, F_RATE, rate);
				if (rate > 0 && row.info.max_entries > row.entries)
					rec_dbl(r, F_FULL, (row.info.max_entries - row.entries) / rate);
			}
		}
		/* owners: one per pid */
		char otext[512] = "";
		size_t olen = 0;
		for (int k = 0; k < nown; k++) {
			if (own[k].kind != OBJ_MAP || own[k].id != row.info.id ||
			    own[k].pid == (uint32_t)getpid())
				continue;
			bool dup = false;
			for (int q = 0; q < k; q++)
				dup |= own[q].kind == OBJ_MAP && own[q].id == row.info.id &&
				       own[q].pid == own[k].pid;
			if (dup)
				continue;
			rec_list_u64(r, F_OWNER_PIDS, own[k].pid);
			rec_list_str(r, F_OWNER_COMMS, own[k].comm);
			if (olen < sizeof(otext))
				olen += snprintf(otext + olen, sizeof(otext) - olen, "%s%u/%s",
						 olen ? "," : "", own[k].pid, own[k].comm);
		}
		rec_str(r, F_OWNERS, olen ? otext : NULL);
		for (int k = 0; k < npins; k++)
			if (pins[k].kind == OBJ_MAP && pins[k].id == row.info.id)
				rec_list_str(r, F_PINNED, pins[k].path);
		for (int k = 0; k < nuses; k++)
			if (uses[k].map == row.info.id)
				rec_list_u64(r, F_PROGS, uses[k].prog);

		const char *level = "ok";
		bool thresholded = row.method != CM_NONE && row.method != CM_FIXED && row.info.max_entries;
		double use = thresholded ? 100.0 * row.entries / row.info.max_entries : 0;
		if (thresholded && o.crit && use >= o.crit) {
			level = "crit";
			worst = EXIT_CRIT;
		} else if (thresholded && o.warn && use >= o.warn) {
			level = "warn";
			if (worst != EXIT_CRIT)
				worst = EXIT_WARN;
		}
		if (o.warn || o.crit)
			rec_str(r, F_LEVEL, level);
next:
		if (fd >= 0)
			close(fd);
	}

	/* memlock-charged kernels: warn when an owner nears RLIMIT_MEMLOCK */
	for (int k = 0; !memcg && k < nown; k++) {
		bool seen = false;
		for (int q = 0; q < k; q++)
			seen |= own[q].pid == own[k].pid;
		if (seen || own[k].pid == (uint32_t)getpid())
			continue;
		uint64_t held = 0, limit;
		for (int q = 0; q < nown; q++) {
			uint64_t bytes;
			if (own[q].pid == own[k].pid && own[q].kind == OBJ_MAP && !holder_memlock(&own[q], &bytes))
				held += bytes;
		}
		if (!proc_memlock_limit(own[k].pid, &limit) && limit != UINT64_MAX && held * 10 >= limit * 9)
			warnx_("pid %u (%s) holds %" PRIu64 " bytes of BPF maps, %.0f%% of its RLIMIT_MEMLOCK (%" PRIu64 ")",
			       own[k].pid, own[k].comm, held, 100.0 * held / limit, limit);
	}

	free(prev);
	prev = next_prev;
	nprev = nnext;
	free(mc);
	free(own);
	bpfobj_pins_free(pins, npins);
	free(prog_ids);
	free(uses);
	maplist_free(&ml);
	return snap_end(sn);
}

/* ---- --owners ------------------------------------------------------- */

static int owners_view(void)
{
	struct owner *own = NULL;
	int nown = bpfobj_owners(skel->progs.owners_scan, &own);
	if (nown < 0)
		die(EXIT_FAIL, "cannot scan open files for BPF maps: %s", errno_name(-nown));
	struct snapshot *sn = snap_begin(&owner_schema);
	snap_meta(sn, "memory_accounting", "%s", memcg ? "memcg" : "memlock");
	for (int k = 0; k < nown; k++) {
		bool seen = false;
		for (int q = 0; q < k; q++)
			seen |= own[q].pid == own[k].pid;
		if (seen || own[k].pid == (uint32_t)getpid() || (o.pid && (int)own[k].pid != o.pid))
			continue;
		uint64_t held = 0, nmaps = 0, limit;
		for (int q = 0; q < nown; q++) {
			uint64_t bytes;
			bool dup = false;
			if (own[q].pid != own[k].pid || own[q].kind != OBJ_MAP)
				continue;
			for (int d = 0; d < q; d++) /* one map held through several fds */
				dup |= own[d].pid == own[q].pid && own[d].kind == OBJ_MAP && own[d].id == own[q].id;
			if (dup)
				continue;
			if (holder_memlock(&own[q], &bytes))
				continue; /* closed meanwhile */
			nmaps++;
			held += bytes;
		}
		if (!nmaps)
			continue;
		struct record *r = snap_add(sn);
		rec_u64(r, O_PID, own[k].pid);
		rec_str(r, O_COMM, own[k].comm);
		rec_u64(r, O_MAPS, nmaps);
		rec_u64(r, O_MEM, held);
		if (!proc_memlock_limit(own[k].pid, &limit) && limit != UINT64_MAX) {
			rec_u64(r, O_LIMIT, limit);
			if (limit)
				rec_dbl(r, O_LIMIT_RATIO, (double)held / limit);
		}
		rec_str(r, O_ACCOUNTING, memcg ? "memcg" : "memlock");
	}
	free(own);
	return snap_end(sn);
}

/* ---- --prefixes ----------------------------------------------------- */

static int prefixes(void)
{
	struct bpf_map_info info;
	struct maplist ml;
	int err = maplist_read(&ml);
	if (err)
		die(EXIT_FAIL, "cannot list BPF maps with a map iterator: %s", errno_name(-err));
	const struct maplist_ent *e = maplist_find(&ml, o.prefixes_id);
	if (!e)
		die(EXIT_NOTFOUND, "no BPF map with id %u (list maps with: mapstat)", o.prefixes_id);
	if (e->type != BPF_MAP_TYPE_LPM_TRIE)
		die(EXIT_USAGE, "map %u is a %s, --prefixes needs an lpm_trie", e->id, map_type_name(e->type));
	int fd = maplist_open(e, &info);
	maplist_free(&ml);
	if (fd < 0)
		die(EXIT_NOTFOUND, "no BPF map with id %u (list maps with: mapstat)", o.prefixes_id);
	uint32_t maxlen = (info.key_size - 4) * 8;
	uint64_t *hist = xcalloc(maxlen + 1, sizeof(uint64_t));
	char *a = xcalloc(1, info.key_size), *b = xcalloc(1, info.key_size);
	err = bpf_map_get_next_key(fd, NULL, a);
	while (!err) {
		uint32_t plen;
		memcpy(&plen, a, 4);
		if (plen <= maxlen)
			hist[plen]++;
		err = bpf_map_get_next_key(fd, a, b);
		char *t = a; a = b; b = t;
	}
	if (errno != ENOENT)
		die(EXIT_FAIL, "cannot walk map %u: %s", info.id, errno_name(errno));
	struct snapshot *sn = snap_begin(&prefix_schema);
	for (uint32_t p = 0; p <= maxlen; p++) {
		if (!hist[p])
			continue;
		struct record *r = snap_add(sn);
		rec_u64(r, P_MAP, info.id);
		rec_str(r, P_MAP_NAME, info.name);
		rec_u64(r, P_PREFIXLEN, p);
		rec_u64(r, P_ENTRIES, hist[p]);
	}
	free(a);
	free(b);
	free(hist);
	close(fd);
	return snap_end(sn);
}

/* ---- main ----------------------------------------------------------- */

int main(int argc, char **argv)
{
	int err;

	opts_parse(&argp, argc, argv, NULL);
	if (o.owners && o.no_owners)
		die(EXIT_USAGE, "--owners and --no-owners exclude each other (see --help)");
	if (o.warn && o.crit && o.crit < o.warn)
		die(EXIT_USAGE, "--crit %g is below --warn %g (see --help)", o.crit, o.warn);
	require_bpf_privileges();
	probe_require_btf();

	if (o.prefixes) {
		err = prefixes();
		return err ? EXIT_FAIL : EXIT_OK;
	}
	if (!probe_iter("bpf_map"))
		die(EXIT_NOFEATURE, "kernel lacks BPF map iterators (iter/bpf_map, Linux 5.8+)");
	struct maplist ml;
	err = maplist_read(&ml);
	if (err)
		die(err == -EPERM || err == -EACCES ? EXIT_PERM : EXIT_FAIL,
		    "cannot list BPF maps with a map iterator: %s", errno_name(-err));
	for (int i = 0; i < o.nids; i++)
		if (!maplist_find(&ml, o.ids[i]))
			die(EXIT_NOTFOUND, "no BPF map with id %u (list maps with: mapstat)", o.ids[i]);
	maplist_free(&ml);
	if (o.pid && !proc_exists(o.pid))
		die(EXIT_NOTFOUND, "no process with pid %d", o.pid);
	if (o.pinned && access(o.pinned, F_OK))
		die(EXIT_NOTFOUND, "pinned path %s does not exist", o.pinned);

	uint32_t max_before = highest_map_id();
	have_kfunc = probe_btf_func("bpf_map_sum_elem_count");
	have_elem_iter = probe_iter("bpf_map_elem");
	have_sock_iter = probe_iter("sockmap");
	have_owner_iter = probe_iter("task_file");
	memcg = probe_memcg_accounting();
	note("counting: kfunc %s, map element iterator %s, sockmap iterator %s; memory accounting: %s",
	     have_kfunc ? "yes" : "no", have_elem_iter ? "yes" : "no", have_sock_iter ? "yes" : "no",
	     memcg ? "memcg" : "memlock");
	if ((o.pid || o.owners) && !have_owner_iter)
		die(EXIT_NOFEATURE, "--pid and --owners need the task_file iterator (Linux 5.8+)");

	probe_release();
	skel = mapstat_bpf__open();
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	/* Load only what this run can use: each program costs CO-RE work. */
	bool kfunc_run = have_kfunc && o.method == PREF_AUTO;
	bpf_program__set_autoload(skel->progs.maps_kfunc, kfunc_run);
	bpf_program__set_autoload(skel->progs.maps_core, !kfunc_run);
	have_elem_iter &= !kfunc_run; /* the kfunc counts the hash family */
	bpf_program__set_autoload(skel->progs.count_elems, have_elem_iter);
	bpf_program__set_autoload(skel->progs.count_socks, have_sock_iter);
	have_owner_iter &= !o.no_owners || o.pid || o.owners;
	bpf_program__set_autoload(skel->progs.owners_scan, have_owner_iter);
	if (!have_kfunc)
		note("bpf_map_sum_elem_count kfunc not in this kernel: maps_kfunc not loaded");
	err = mapstat_bpf__load(skel);
	if (err)
		die_bpf_load(err);

	collect_own_maps(max_before);

	loop_init();
	struct ticker t;
	bool interval_mode = copts.interval_set || copts.count > 1;
	if (interval_mode) {
		fields[F_RATE].flags |= FF_TABLE;
		fields[F_FULL].flags |= FF_TABLE;
	}
	if (o.warn || o.crit)
		fields[F_LEVEL].flags |= FF_TABLE;
	ticker_start(&t, copts.interval, copts.count);
	double dt = 0;
	for (;;) {
		err = o.owners ? owners_view() : snapshot(dt, interval_mode);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		if (!interval_mode || !ticker_tick(&t) || !ticker_wait(&t, NULL, NULL, &dt))
			break;
	}
	mapstat_bpf__destroy(skel);
	free(prev);
	free(o.ids);
	free(own_ids);
	return worst;
}
