// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mapstat: how full is every BPF map, who owns it, where is it pinned, and
 * will it hit its limit?
 */
#include <argp.h>
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "hooks.h"
#include "maplist.h"
#include "mapread.h"
#include "loop.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "util.h"
#include "count.h"
#include "refs.h"
#include "mapstat.h"
#include "mapstat.skel.h"

/* Listing maps and opening them by id (BPF_MAP_GET_NEXT_ID,
 * BPF_MAP_GET_FD_BY_ID) is CAP_SYS_ADMIN's alone, CAP_BPF or not. */
#define NEED_LIST "CAP_SYS_ADMIN"

/* ---- options -------------------------------------------------------- */

static struct {
	uint32_t *ids;
	int nids;
	const char *name;
	int type;
	const char *pinned;
	double warn, crit;
	uint32_t prefixes_id;
	bool prefixes;
	bool no_owners;
	bool owners;
	double warn_evict, crit_evict; /* evictions per second; 0: not given */
	bool updates;
} o = { .type = -1 };

enum {
	OPT_PINNED = 0x2000, OPT_WARN, OPT_CRIT, OPT_PREFIXES, OPT_NO_OWNERS, OPT_OWNERS, OPT_WARN_EVICT, OPT_CRIT_EVICT,
	OPT_UPDATES
};

static const struct argp_option options[] = {
	{ "id", 'm', "ID", 0, "Only map ID (repeatable)", 1 },
	{ "name", 'n', "GLOB", 0, "Only maps whose name matches GLOB", 1 },
	{ "type", 't', "TYPE", 0, "Only maps of TYPE (hash, lru_hash, lpm_trie, ringbuf, ...)", 1 },
	{ "pinned", OPT_PINNED, "PATH", 0, "Only maps pinned at PATH or below it", 1 },
	{ "warn", OPT_WARN, "PCT", 0, "Flag maps at or over PCT% full; exit status 6", 2 },
	{ "crit", OPT_CRIT, "PCT", 0, "Flag maps at or over PCT% full; exit status 7", 2 },
	{ "prefixes", OPT_PREFIXES, "ID", 0, "Histogram of prefix lengths in LPM trie map ID", 2 },
	{ "no-owners", OPT_NO_OWNERS, NULL, 0, "Skip the owner-process scan", 2 },
	{ "owners", OPT_OWNERS, NULL, 0, "One row per owner process: maps held, their memory, its RLIMIT_MEMLOCK", 2 },
	{ "warn-evictions", OPT_WARN_EVICT, "RATE", 0,
	  "Flag LRU maps evicting RATE entries per second or more (needs an interval); exit status 6", 2 },
	{ "crit-evictions", OPT_CRIT_EVICT, "RATE", 0,
	  "Flag LRU maps evicting RATE entries per second or more (needs an interval); exit status 7", 2 },
	{ "updates", OPT_UPDATES, NULL, 0,
	  "Also count updates of LRU maps (a hook on every LRU map update: see OVERHEAD in mapstat(8))", 2 },
	{ 0 },
};

static const char doc[] =
	"mapstat: occupancy of every BPF map (entries / max_entries, memory, owners, pins).\v"
	"-p PID: only maps held open by process PID.  --mechanism: kfunc (default where the kernel has "
	"it), iter (no kfunc) or walk (user-space key walks) for entries; fexit or kprobe for LRU evictions "
	"(counted over an interval, with an interval only).\n"
	"Examples:\n"
	"  mapstat                      # every map, once\n"
	"  mapstat -t lru_hash 5        # LRU hashes every 5 s, with fill rate\n"
	"  mapstat --warn 80 --crit 95  # exit 6/7 if any map is that full\n"
	"  mapstat -t lru_hash -i 10 -c 1 --warn-evictions 100  # exit 6 if an LRU evicts 100/s\n"
	"  mapstat -o prom --file /var/lib/prometheus/node-exporter/mapstat.prom\n"
	"  mapstat --prefixes 42        # prefix lengths in LPM trie 42";

/* A rate in events per second, above 0. */
static double opt_rate(const char *optname, const char *arg)
{
	double v;
	if (parse_double(arg, 1e-9, 1e15, &v))
		usage_error("invalid %s '%s': expected a rate per second above 0", optname, arg);
	return v;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'm':
		o.ids = xrealloc(o.ids, (o.nids + 1) * sizeof(uint32_t));
		o.ids[o.nids++] = opt_u32("--id", arg, 1, UINT32_MAX);
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
	case OPT_WARN:
		o.warn = opt_percent("--warn", arg);
		break;
	case OPT_CRIT:
		o.crit = opt_percent("--crit", arg);
		break;
	case OPT_PREFIXES:
		o.prefixes_id = opt_u32("--prefixes", arg, 1, UINT32_MAX);
		o.prefixes = true;
		break;
	case OPT_NO_OWNERS:
		o.no_owners = true;
		break;
	case OPT_OWNERS:
		o.owners = true;
		break;
	case OPT_WARN_EVICT:
		o.warn_evict = opt_rate("--warn-evictions", arg);
		break;
	case OPT_CRIT_EVICT:
		o.crit_evict = opt_rate("--crit-evictions", arg);
		break;
	case OPT_UPDATES:
		o.updates = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_PID, OPTG_MECHANISM);

/* ---- hooks ---------------------------------------------------------- */

static bool have_kfunc(const struct hook_alt *a, const char **why)
{
	(void)a;
	*why = "no bpf_map_sum_elem_count kfunc (Linux 6.6+)";
	return probe_btf_func("bpf_map_sum_elem_count");
}

/* Counting, chosen first (--mechanism names one of these): every map's
 * record from the bpf_map iterator, with the kfunc or with CO-RE counters
 * only; or walk, user-space walks only, which runs no iterator (the engine
 * wants a program for every alternative: walk names maps_core, not loaded). */
enum { H_COUNT, H_EVICT, H_UPDATE, H_PUPDATE, NCOUNTING };
static struct hook counting[NCOUNTING] = {
	[H_COUNT] = { .name = "map entries", .policy = HOOK_REQUIRED, .alt = {
		{ MECH_ITER, "maps_kfunc", "bpf_map", "kfunc", have_kfunc, false, true },
		{ MECH_ITER, "maps_core", "bpf_map", "iter", NULL, false, true },
		{ MECH_OTHER, "maps_core", NULL, "walk", NULL, true, true },
	} },
	/* LRU maps, in interval mode when one is selected at start: the LRU's
	 * reclaim callback (evictions), and on request the update functions
	 * (--updates).  kprobe names the kretprobe; its entry kprobe, which
	 * saves the map id, is attached beside it (lru_attach_entries). */
	[H_EVICT] = { .name = "LRU evictions", .policy = HOOK_OPTIONAL, .lacking = "evictions are unknown (null)",
		      .alt = { { MECH_FEXIT, "lru_evict_fx", "htab_lru_map_delete_node" },
			       { MECH_KRETPROBE, "lru_evict_kr", "htab_lru_map_delete_node", "kprobe" } } },
	[H_UPDATE] = { .name = "LRU updates", .policy = HOOK_OPTIONAL, .lacking = "updates are unknown (null)",
		       .alt = { { MECH_FEXIT, "lru_update_fx", "htab_lru_map_update_elem" },
				{ MECH_KRETPROBE, "lru_update_kr", "htab_lru_map_update_elem", "kprobe" } } },
	[H_PUPDATE] = { .name = "LRU per-CPU updates", .policy = HOOK_OPTIONAL,
			.lacking = "updates of lru_percpu_hash maps are unknown (null)",
			.alt = { { MECH_FEXIT, "lru_pupdate_fx", "__htab_lru_percpu_map_update_elem" },
				 { MECH_KRETPROBE, "lru_pupdate_kr", "__htab_lru_percpu_map_update_elem", "kprobe" } } },
};
/* The entry kprobe of each LRU hook's kretprobe. */
static const char *const lru_entry_prog[NCOUNTING] = {
	[H_EVICT] = "lru_evict_kp", [H_UPDATE] = "lru_update_kp", [H_PUPDATE] = "lru_pupdate_kp",
};
static struct bpf_link *lru_entry_link[NCOUNTING];

/* Then what the choice above leaves to them, all iterators run on demand. */
enum { H_ELEMS, H_SOCKS, H_OWNERS, NHELPERS };
static struct hook helpers[NHELPERS] = {
	[H_ELEMS] = { .name = "hash map elements", .policy = HOOK_OPTIONAL,
		      .lacking = "hash maps are counted with user-space key walks",
		      .alt = { { MECH_ITER, "count_elems", "bpf_map_elem", NULL, NULL, false, true } } },
	[H_SOCKS] = { .name = "sockmap sockets", .policy = HOOK_OPTIONAL,
		      .lacking = "sockmaps are counted with user-space lookups",
		      .alt = { { MECH_ITER, "count_socks", "sockmap", NULL, NULL, false, true } } },
	[H_OWNERS] = { .name = "map owners", .policy = HOOK_OPTIONAL, .lacking = "no owner processes are shown",
		       .alt = { { MECH_ITER, "owners_scan", "task_file", NULL, NULL, false, true } } },
};

/* ---- fields: described once ---------------------------------------- */

/* Facts about a snapshot of the maps: static for the whole run (_info
 * labels in Prometheus). */
enum { M_MECHANISM, M_ACCOUNTING, M_LRU, M_NFIELDS };
static const struct field mfields[M_NFIELDS] = {
	[M_MECHANISM] = { "mechanism", "", FK_LABEL, 0,
			  "How entries are counted (--mechanism): kfunc (bpf_map_sum_elem_count kfunc and CO-RE "
			  "counters), iter (CO-RE counters and map element iterators) or walk (user-space key walks)",
			  0, 0, 0 },
	[M_ACCOUNTING] = { "memory_accounting", "", FK_LABEL, 0,
			   "What the kernel charges BPF map memory to: memcg or memlock (RLIMIT_MEMLOCK)", 0, 0, 0 },
	[M_LRU] = { "lru_mechanism", "", FK_LABEL, 0,
		    "How LRU evictions (and --updates) are counted: fexit, kprobe (kprobe and kretprobe: what BPF "
		    "programs do, not bpf(2) updates) or none (the kernel offers neither: they are null); absent when "
		    "not counted (no interval, no LRU map selected at start)", 0, 0, 0 },
};
static const struct schema maps_meta_schema = { "mapstat", "maps", mfields, M_NFIELDS, NULL };

enum {
	F_ID, F_NAME, F_MTYPE, F_KEY, F_VALUE, F_FLAGS, F_MAX, F_ENTRIES, F_USE,
	F_METHOD, F_MEM, F_RATE, F_FULL, F_EVICT, F_EVICT_RATE, F_UPD, F_UPD_RATE, F_OWNERS, F_OWNER_PIDS, F_OWNER_COMMS,
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
	[F_EVICT] = { "evictions", "EVICTED", FK_COUNTER, FF_JSON | FF_PROM,
		      "LRU maps: elements the kernel removed to make room for new ones, since mapstat started "
		      "(null: not counted)", 0, 0, 0 },
	[F_EVICT_RATE] = { "evictions_per_second", "EVICT/s", FK_GAUGE, FF_JSON | FF_PROM,
			   "LRU maps: evictions per second over the last interval", 0, 1, 0 },
	[F_UPD] = { "updates", "UPDATES", FK_COUNTER, FF_JSON | FF_PROM,
		    "LRU maps, with --updates: successful updates (new keys and existing ones) since mapstat "
		    "started", 0, 0, 0 },
	[F_UPD_RATE] = { "updates_per_second", "UPD/s", FK_GAUGE, FF_JSON | FF_PROM,
			 "LRU maps, with --updates: updates per second over the last interval", 0, 1, 0 },
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
		      "ok, warn or crit against --warn and --crit (fill), --warn-evictions and --crit-evictions "
		      "(eviction rate); null without them", 0, 0, 0 },
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

/* ---- one snapshot --------------------------------------------------- */

static struct mapstat_bpf *skel;
static struct counting how;
static struct bpf_program *map_iter; /* maps_kfunc or maps_core; NULL: walk */
static char mechanism[64];
static bool memcg;
static int worst = EXIT_OK;

struct prev {
	uint32_t id;
	bool have_entries;
	uint64_t entries;
	uint64_t evictions, updates; /* LRU maps: counts since start (0 if not counted) */
};
static struct prev *prev;
static int nprev;

static bool selected(const struct maplist_ent *e, const struct refs *rf)
{
	bool hit = !o.nids;
	for (int i = 0; i < o.nids; i++)
		hit |= o.ids[i] == e->id;
	return hit && !own_map(e->id) && (!o.name || !fnmatch(o.name, e->name, 0)) &&
	       (o.type < 0 || (uint32_t)o.type == e->type) && (!copts.pid || refs_held_by(rf, e->id, copts.pid)) &&
	       (!o.pinned || refs_pinned_under(rf, e->id, o.pinned));
}

static void rec_owners_pins_progs(struct record *r, const struct refs *rf, uint32_t id)
{
	char otext[512] = "";
	size_t olen = 0;
	for (int k = 0; k < rf->nown && !o.no_owners; k++) {
		if (!refs_first_owner(rf, k, id))
			continue;
		rec_list_u64(r, F_OWNER_PIDS, rf->own[k].pid);
		rec_list_str(r, F_OWNER_COMMS, rf->own[k].comm);
		if (olen < sizeof(otext))
			olen += snprintf(otext + olen, sizeof(otext) - olen, "%s%u/%s", olen ? "," : "", rf->own[k].pid,
					 rf->own[k].comm);
	}
	rec_str(r, F_OWNERS, olen ? otext : NULL);
	for (int k = 0; k < rf->npins; k++)
		if (rf->pins[k].id == id)
			rec_list_str(r, F_PINNED, rf->pins[k].path);
	for (int k = 0; k < rf->nuses; k++)
		if (rf->uses[k].map == id)
			rec_list_u64(r, F_PROGS, rf->uses[k].prog);
}

/* The previous snapshot's record of map id, or NULL. */
static const struct prev *prev_of(uint32_t id)
{
	for (int k = 0; k < nprev; k++)
		if (prev[k].id == id)
			return &prev[k];
	return NULL;
}

/* entries, use, rate, time until full and level (with the eviction level
 * elevel: EXIT_OK, EXIT_WARN or EXIT_CRIT) of one map; next: its record for
 * the next snapshot */
static void rec_fill(struct record *r, uint32_t max, enum count_method m, uint64_t n, double dt, int elevel,
		     struct prev *next)
{
	rec_str(r, F_METHOD, count_method_name(m));
	if (m != CM_NONE) {
		rec_u64(r, F_ENTRIES, n);
		if (max)
			rec_dbl(r, F_USE, (double)n / max);
		next->have_entries = true;
		next->entries = n;
		for (int k = 0; dt > 0 && k < nprev; k++) {
			if (prev[k].id != next->id || !prev[k].have_entries)
				continue;
			double rate = ((double)n - (double)prev[k].entries) / dt;
			rec_dbl(r, F_RATE, rate);
			if (rate > 0 && max > n)
				rec_dbl(r, F_FULL, (max - n) / rate);
		}
	}
	const char *level = "ok";
	double use = m != CM_NONE && m != CM_FIXED && max ? 100.0 * n / max : -1;
	if ((o.crit && use >= o.crit) || elevel == EXIT_CRIT) {
		level = "crit";
		worst = EXIT_CRIT;
	} else if ((o.warn && use >= o.warn) || elevel == EXIT_WARN) {
		level = "warn";
		if (worst != EXIT_CRIT)
			worst = EXIT_WARN;
	}
	if (o.warn || o.crit || o.warn_evict || o.crit_evict)
		rec_str(r, F_LEVEL, level);
}

/* ---- LRU maps: evictions and updates ---------------------------------- */

static bool lru_on;          /* LRU hooks wanted: interval mode, an LRU map selected at start */
static char lru_mechanism[16];

struct lru_rec {
	uint32_t id, pad;
	struct lru_count c;
};
static struct lru_rec *lru_recs;
static int nlru_recs;

static bool is_lru(uint32_t type)
{
	return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static void lru_read(void)
{
	nlru_recs = 0;
	if (!hook_active(&counting[H_EVICT]) && !hook_active(&counting[H_UPDATE]) &&
	    !hook_active(&counting[H_PUPDATE]))
		return;
	int n = map_read_percpu_sums(bpf_map__fd(skel->maps.lru_counts), sizeof(struct lru_rec),
				     offsetof(struct lru_rec, c), (void **)&lru_recs);
	if (n < 0)
		die_errno(n, NULL, "cannot read the LRU counters");
	nlru_recs = n;
	uint64_t missed = 0;
	uint32_t zero = 0;
	if (map_lookup_percpu_sum(bpf_map__fd(skel->maps.missed), &zero, 1, &missed))
		missed = 0;
	/* kretprobes without their entry count as skipped runs */
	out_set_missed(bpfobj_recursion_misses(skel->obj) + missed);
}

/* A counter of an LRU map (from a hook that is attached) and its rate over
 * dt; the counts start with mapstat, so a map without a previous record
 * (the first interval, or created during it) started from 0. */
static double rec_lru_counter(struct record *r, int fcount, int frate, uint64_t cur, uint64_t prev, double dt)
{
	rec_u64(r, fcount, cur);
	double rate = counter_rate(cur, prev, dt);
	rec_dbl(r, frate, rate);
	return rate;
}

/* Evictions and updates of an LRU map; returns the eviction level.  At the
 * snapshot taken at start (dt 0) nothing has been counted yet: null. */
static int rec_lru(struct record *r, uint32_t type, double dt, struct prev *next)
{
	if (!lru_on || !is_lru(type))
		return EXIT_OK;
	const struct lru_count *c = NULL;
	static const struct lru_count none;
	for (int k = 0; k < nlru_recs && !c; k++)
		if (lru_recs[k].id == next->id)
			c = &lru_recs[k].c;
	if (!c)
		c = &none; /* hooked, nothing counted yet */
	next->evictions = c->evictions;
	next->updates = c->updates;
	if (dt <= 0)
		return EXIT_OK;
	const struct prev *p = prev_of(next->id);
	int level = EXIT_OK;
	if (hook_active(&counting[H_EVICT])) {
		double rate = rec_lru_counter(r, F_EVICT, F_EVICT_RATE, c->evictions, p ? p->evictions : 0, dt);
		if (o.crit_evict && rate >= o.crit_evict)
			level = EXIT_CRIT;
		else if (o.warn_evict && rate >= o.warn_evict)
			level = EXIT_WARN;
	}
	if (hook_active(&counting[type == BPF_MAP_TYPE_LRU_HASH ? H_UPDATE : H_PUPDATE]))
		rec_lru_counter(r, F_UPD, F_UPD_RATE, c->updates, p ? p->updates : 0, dt);
	return level;
}

static int snapshot(void *ctx, double dt)
{
	struct maplist ml;
	struct map_count *mc = NULL;
	struct refs rf;
	int nmc = 0, nnext = 0, err = maplist_read(&ml);
	(void)ctx;

	if (err)
		die_errno(err, NULL, "cannot list BPF maps with a map iterator");
	if (map_iter && (nmc = count_iter_all(map_iter, &mc)) < 0)
		die_errno(nmc, NULL, "cannot read the bpf_map iterator");
	refs_read(&rf, hook_active(&helpers[H_OWNERS]) ? skel->progs.owners_scan : NULL, true);

	lru_read();
	struct snapshot *sn = snap_begin(&map_schema);
	snap_meta(sn, "mechanism", "%s", mechanism);
	snap_meta(sn, "memory_accounting", "%s", memcg ? "memcg" : "memlock");
	if (lru_on)
		snap_meta(sn, "lru_mechanism", "%s", lru_mechanism);
	struct prev *next = xcalloc(ml.n ? ml.n : 1, sizeof(*next));
	for (int i = 0; i < ml.n; i++) {
		const struct maplist_ent *e = &ml.v[i];
		struct bpf_map_info info = { .id = e->id, .type = e->type, .key_size = e->key_size,
					     .value_size = e->value_size, .max_entries = e->max_entries,
					     .map_flags = e->flags };
		const struct map_count *c = count_find(mc, nmc, e->id);
		enum count_method m = c ? c->method : CM_NONE;
		uint64_t n = c ? c->entries : 0, mem;
		bool have_mem;
		if (!selected(e, &rf))
			continue;
		memcpy(info.name, e->name, sizeof(info.name));
		if (e->type == BPF_MAP_TYPE_PROG_ARRAY) {
			/* slots from the map iterator; memory from a holder's fdinfo */
			if (m == CM_NONE && e->slots_known) {
				m = CM_SLOTS;
				n = e->nslots;
			}
			have_mem = !refs_memlock(&rf, e->id, &mem);
		} else {
			int fd = maplist_open(e, &info);
			if (fd == -ENOENT)
				continue; /* deleted meanwhile */
			if (fd < 0)
				die_errno(fd, NEED_LIST, "cannot open BPF map %u", e->id);
			if (m == CM_NONE)
				m = count_map(&how, fd, &info, &n);
			have_mem = !fdinfo_u64(fd, "memlock", &mem);
			close(fd);
		}
		struct record *r = snap_add(sn);
		rec_u64(r, F_ID, info.id);
		rec_str(r, F_NAME, info.name);
		rec_str(r, F_MTYPE, map_type_name(info.type));
		rec_u64(r, F_KEY, info.key_size);
		rec_u64(r, F_VALUE, info.value_size);
		rec_u64(r, F_FLAGS, info.map_flags);
		rec_u64(r, F_MAX, info.max_entries);
		if (have_mem)
			rec_u64(r, F_MEM, mem);
		struct prev *nx = &next[nnext++];
		nx->id = info.id;
		int elevel = rec_lru(r, info.type, dt, nx);
		rec_fill(r, info.max_entries, m, n, dt, elevel, nx);
		rec_owners_pins_progs(r, &rf, info.id);
	}
	if (!memcg)
		refs_warn_memlock(&rf);
	free(prev);
	prev = next;
	nprev = nnext;
	free(mc);
	refs_free(&rf);
	maplist_free(&ml);
	return snap_end(sn);
}

/* ---- --owners ------------------------------------------------------- */

static int owners_view(void *ctx, double dt)
{
	struct refs rf;
	(void)ctx;
	(void)dt;
	refs_read(&rf, skel->progs.owners_scan, false);
	struct snapshot *sn = snap_begin(&owner_schema);
	snap_meta(sn, "memory_accounting", "%s", memcg ? "memcg" : "memlock");
	for (int k = 0; k < rf.nown; k++) {
		const struct owner *ow = &rf.own[k];
		uint64_t held, limit, nmaps;
		bool known;
		if (!refs_first_of_pid(&rf, k) || (copts.pid && (int)ow->pid != copts.pid))
			continue;
		if (!(nmaps = refs_pid_maps(&rf, ow->pid, &held, &known)))
			continue;
		struct record *r = snap_add(sn);
		rec_u64(r, O_PID, ow->pid);
		rec_str(r, O_COMM, ow->comm);
		rec_u64(r, O_MAPS, nmaps);
		if (known)
			rec_u64(r, O_MEM, held);
		if (!proc_memlock_limit(ow->pid, &limit) && limit != UINT64_MAX) {
			rec_u64(r, O_LIMIT, limit);
			if (limit && known)
				rec_dbl(r, O_LIMIT_RATIO, (double)held / limit);
		}
		rec_str(r, O_ACCOUNTING, memcg ? "memcg" : "memlock");
	}
	refs_free(&rf);
	return snap_end(sn);
}

/* ---- --prefixes ----------------------------------------------------- */

/* Open map id, found with the map iterator (prog arrays are never opened):
 * exit 5 when there is none, 3 naming the capability when not allowed. */
static int open_listed(const struct maplist *ml, uint32_t id, struct bpf_map_info *info, uint32_t *type)
{
	const struct maplist_ent *e = maplist_find(ml, id);
	if (!e)
		die(EXIT_NOTFOUND, "no BPF map with id %u (list maps with: mapstat)", id);
	*type = e->type;
	if (e->type == BPF_MAP_TYPE_PROG_ARRAY)
		return -1;
	int fd = maplist_open(e, info);
	if (fd == -ENOENT)
		die(EXIT_NOTFOUND, "no BPF map with id %u (list maps with: mapstat)", id);
	if (fd < 0)
		die_errno(fd, NEED_LIST, "cannot open BPF map %u", id);
	return fd;
}

static int prefixes(void)
{
	struct bpf_map_info info;
	struct maplist ml;
	uint64_t *hist;
	uint32_t maxlen, type;
	int err = maplist_read(&ml);
	if (err)
		die_errno(err, NULL, "cannot list BPF maps with a map iterator");
	int fd = open_listed(&ml, o.prefixes_id, &info, &type);
	maplist_free(&ml);
	if (type != BPF_MAP_TYPE_LPM_TRIE)
		die(EXIT_USAGE, "map %u is a %s, --prefixes needs an lpm_trie", o.prefixes_id, map_type_name(type));
	err = count_prefixes(fd, &info, &hist, &maxlen);
	if (err)
		die_errno(err, NEED_LIST, "cannot walk map %u", info.id);
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
	free(hist);
	close(fd);
	return snap_end(sn);
}

/* ---- main ----------------------------------------------------------- */

/* Every map is listed by id (EPERM without CAP_SYS_ADMIN, named in the
 * message); the selection must exist.  Returns the highest map id. */
static uint32_t check_start(void)
{
	uint32_t *ids = NULL, max = 0, type;
	int n = bpfobj_ids(OBJ_MAP, &ids);
	struct maplist ml;
	struct bpf_map_info info;

	if (n < 0)
		die_errno(n, NEED_LIST, "cannot list BPF maps");
	for (int i = 0; i < n; i++)
		max = ids[i] > max ? ids[i] : max;
	free(ids);
	int err = o.nids ? maplist_read(&ml) : 0;
	if (err)
		die_errno(err, NULL, "cannot list BPF maps with a map iterator");
	for (int i = 0; i < o.nids; i++) {
		int fd = open_listed(&ml, o.ids[i], &info, &type);
		if (fd >= 0)
			close(fd);
	}
	if (o.nids)
		maplist_free(&ml);
	if (o.pinned && access(o.pinned, F_OK))
		die(EXIT_NOTFOUND, "pinned path %s does not exist", o.pinned);
	return max;
}

static void load(void)
{
	skel = mapstat_bpf__open();
	if (!skel)
		die_errno(errno, NULL, "cannot open BPF object");
	counting[H_COUNT].off = o.owners;
	counting[H_EVICT].off = !lru_on;
	counting[H_UPDATE].off = counting[H_PUPDATE].off = !lru_on || !o.updates;
	/* thresholds on the eviction rate cannot be honoured without it: exit 4 */
	if (o.warn_evict || o.crit_evict)
		counting[H_EVICT].policy = HOOK_REQUIRED;
	hooks_select(skel->obj, counting, NCOUNTING, copts.mechanism);
	for (int k = H_EVICT; k < NCOUNTING; k++) {
		const char *lc = hook_chosen(&counting[k]);
		bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, lru_entry_prog[k]),
					  lc && !strcmp(lc, "kprobe"));
	}
	const char *c = hook_chosen(&counting[0]);
	how.walk = c && !strcmp(c, "walk");
	if (how.walk) /* it runs no program (it names one: the engine wants that) */
		bpf_program__set_autoload(counting[0].prog, false);
	helpers[H_ELEMS].off = !c || strcmp(c, "iter"); /* the kfunc counts the hash family */
	helpers[H_SOCKS].off = !c || how.walk;
	helpers[H_OWNERS].off = o.no_owners && !copts.pid;
	helpers[H_OWNERS].policy = copts.pid || o.owners ? HOOK_REQUIRED : HOOK_OPTIONAL;
	hooks_select(skel->obj, helpers, NHELPERS, NULL);
	int err = mapstat_bpf__load(skel);
	if (err)
		die_bpf_load(err);
	how.skel = skel;
	how.elems = hook_active(&helpers[H_ELEMS]);
	how.socks = hook_active(&helpers[H_SOCKS]);
	map_iter = c && !how.walk ? counting[0].prog : NULL;
	if (c)
		hooks_mechanism(counting, 1, mechanism, sizeof(mechanism));
}

/* The LRU hooks: each kretprobe's entry kprobe first, then the hooks. */
static void lru_attach(void)
{
	for (int k = H_EVICT; k < NCOUNTING; k++) {
		const char *lc = hook_chosen(&counting[k]);
		if (!lc || strcmp(lc, "kprobe"))
			continue;
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, lru_entry_prog[k]);
		lru_entry_link[k] = bpf_program__attach(p);
		if (lru_entry_link[k])
			continue;
		int err = errno;
		if (counting[k].policy == HOOK_REQUIRED)
			die_errno(err, NULL, "cannot attach kprobe to %s", counting[k].name);
		snprintf(counting[k].why, sizeof(counting[k].why), "attaching kprobe failed: %s", errno_name(err));
		counting[k].chosen = -1;
	}
	hooks_attach(counting, NCOUNTING);
	if (!lru_on)
		return;
	const char *ec = hook_chosen(&counting[H_EVICT]);
	snprintf(lru_mechanism, sizeof(lru_mechanism), "%s", ec ? ec : "none");
	/* asked for (--updates, --mechanism fexit|kprobe): a warning; else, as for
	 * every optional hook, a note under -v (lru_mechanism says none) */
	bool asked = o.updates ||
		     (copts.mechanism && (strstr(copts.mechanism, "fexit") || strstr(copts.mechanism, "kprobe")));
	for (int k = H_EVICT; k < NCOUNTING; k++) {
		if (counting[k].off || hook_active(&counting[k]))
			continue;
		if (asked)
			warnx_("%s: not counted (%s): %s", counting[k].name, counting[k].why, counting[k].lacking);
		else
			note("%s: not counted (%s): %s", counting[k].name, counting[k].why, counting[k].lacking);
	}
}

static void lru_detach(void)
{
	hooks_detach(counting, NCOUNTING);
	for (int k = 0; k < NCOUNTING; k++) {
		bpf_link__destroy(lru_entry_link[k]);
		lru_entry_link[k] = NULL;
	}
}

/* Is an LRU map selected at start?  (By id, name and type: -p and --pinned
 * are applied per snapshot; at worst the hooks count maps not shown.) */
static bool lru_selected(void)
{
	struct maplist ml;
	bool any = false;
	int err = maplist_read(&ml);
	if (err)
		die_errno(err, NULL, "cannot list BPF maps with a map iterator");
	for (int i = 0; i < ml.n && !any; i++) {
		const struct maplist_ent *e = &ml.v[i];
		bool hit = !o.nids;
		for (int k = 0; k < o.nids; k++)
			hit |= o.ids[k] == e->id;
		any = hit && is_lru(e->type) && (!o.name || !fnmatch(o.name, e->name, 0)) &&
		      (o.type < 0 || (uint32_t)o.type == e->type);
	}
	maplist_free(&ml);
	return any;
}

int main(int argc, char **argv)
{
	int err;

	opts_parse(&argp, argc, argv, NULL);
	if (o.owners && o.no_owners)
		die(EXIT_USAGE, "--owners and --no-owners exclude each other (see --help)");
	if (o.warn && o.crit && o.crit < o.warn)
		die(EXIT_USAGE, "--crit %g is below --warn %g (see --help)", o.crit, o.warn);
	if (o.warn_evict && o.crit_evict && o.crit_evict < o.warn_evict)
		die(EXIT_USAGE, "--crit-evictions %g is below --warn-evictions %g (see --help)", o.crit_evict,
		    o.warn_evict);
	bool interval_mode = copts.interval_set || copts.count > 1;
	const char *lru_opt = o.warn_evict ? "--warn-evictions" : o.crit_evict ? "--crit-evictions"
			      : o.updates   ? "--updates" : NULL;
	if (lru_opt && !interval_mode)
		die(EXIT_USAGE, "%s needs an interval: LRU maps are counted over one (e.g. -i 60 -c 1) (see --help)",
		    lru_opt);
	if (lru_opt && (o.owners || o.prefixes))
		die(EXIT_USAGE, "%s and %s exclude each other (see --help)", lru_opt,
		    o.owners ? "--owners" : "--prefixes");
	require_bpf_privileges();
	probe_require_btf();
	uint32_t max_before = check_start();
	if (o.prefixes)
		return prefixes() ? EXIT_FAIL : EXIT_OK;
	memcg = probe_memcg_accounting();
	note("memory accounting: %s", memcg ? "memcg" : "memlock");
	lru_on = interval_mode && !o.owners && lru_selected();
	load();
	lru_attach();
	probe_release();
	own_maps_collect(skel->obj, hook_active(&helpers[H_OWNERS]) ? skel->progs.owners_scan : NULL, max_before);

	if (interval_mode) {
		fields[F_RATE].flags |= FF_TABLE;
		fields[F_FULL].flags |= FF_TABLE;
	}
	if (lru_on) {
		fields[F_EVICT].flags |= FF_TABLE;
		fields[F_EVICT_RATE].flags |= FF_TABLE;
	}
	if (lru_on && o.updates) {
		fields[F_UPD].flags |= FF_TABLE;
		fields[F_UPD_RATE].flags |= FF_TABLE;
	}
	if (o.warn || o.crit || o.warn_evict || o.crit_evict)
		fields[F_LEVEL].flags |= FF_TABLE;
	snapshot_fn snap = o.owners ? owners_view : snapshot;
	/* the first snapshot at once, then one per interval; but a single
	 * snapshot that counts LRU evictions closes one interval (-i 60 -c 1
	 * from cron: counts and rates over that minute) */
	if (lru_on && copts.count == 1) {
		err = snapshot_run(copts.interval, 1, NULL, NULL, snap, NULL);
	} else {
		err = snap(NULL, 0);
		if (!err && interval_mode && copts.count != 1)
			err = snapshot_run(copts.interval, copts.count ? copts.count - 1 : 0, NULL, NULL, snap, NULL);
	}
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	lru_detach();
	hooks_detach(helpers, NHELPERS);
	mapstat_bpf__destroy(skel);
	free(prev);
	free(lru_recs);
	free(o.ids);
	own_maps_free();
	return worst;
}
