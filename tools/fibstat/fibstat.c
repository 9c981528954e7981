// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fibstat: how ECMP spreads traffic over nexthops (per multipath route and
 * nexthop: flows, packets, bytes, share against the weight-fair share), which
 * nexthop a given flow took, and which routing tables answer lookups.
 *
 * Modules: fibroutes.c (the namespace's routes, nexthops, neighbours by
 * rtnetlink), fibflows.c (the BPF flow table, --flow, which nexthop a flow
 * took), fibrender.c (the views as records).
 */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "netns.h"
#include "opts.h"
#include "probe.h"
#include "rtnl.h"
#include "util.h"
#include "fib.h"
#include "fibrender.h"
#include "fibstat.skel.h"

/* ---- options -------------------------------------------------------- */

struct fib_opts fo = { .max_flows = 65536, .flow_timeout = 60 };

enum { OPT_FLOWS = 0x2000, OPT_FLOW, OPT_MISSES, OPT_MAX_FLOWS, OPT_FLOW_TIMEOUT, OPT_TABLES };

static const struct argp_option options[] = {
	{ "route", 'r', "PREFIX", 0, "Only the route(s) with exactly this prefix (multipath or not)", 1 },
	{ "flows", OPT_FLOWS, NULL, 0, "One record per flow (5-tuple) with the nexthop it took", 2 },
	{ "flow", OPT_FLOW, "SPEC", 0,
	  "Only flows matching SPEC, one record each: comma-separated proto=, src=, sport=, dst=, dport= "
	  "(omitted keys match anything)", 2 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Flow table size in BPF (default 65536)", 2 },
	{ "flow-timeout", OPT_FLOW_TIMEOUT, "SEC", 0,
	  "Retire flows idle this long from the flow table, keeping their counts (default 60; 0: never)", 2 },
	{ "tables", OPT_TABLES, NULL, 0, "FIB lookups per routing table, result and interface", 3 },
	{ "misses", OPT_MISSES, NULL, 0, "With --events: also lookups that found no route in a table", 3 },
	{ 0 },
};

static const char doc[] =
	"fibstat: how ECMP spreads traffic over the nexthops of multipath routes, which nexthop a "
	"flow took, and which routing tables answer lookups.\v"
	"--mechanism: tp_btf or raw_tp (the tracepoints), fexit (multipath selections).\n"
	"Examples:\n"
	"  fibstat                        # every multipath route's nexthops, each second\n"
	"  fibstat -N router -r 10.99.0.0/24 5\n"
	"  fibstat --flow proto=udp,dst=10.99.0.1,sport=40001   # which nexthop did it take?\n"
	"  fibstat --tables               # lookups per table (policy routing, VRFs)\n"
	"  fibstat -e                     # failed lookups as they happen\n"
	"  fibstat -o prom -c 1 --file /var/lib/prometheus/node-exporter/fibstat.prom";

static void parse_route(const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct route_filter *f = &fo.rf;
	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	int fam = fib_parse_addr(buf, f->prefix);
	if (!fam)
		goto bad;
	int max = fam == AF_INET ? 32 : 128;
	f->plen = max;
	if (slash) {
		char *end;
		errno = 0;
		long p = strtol(slash, &end, 10);
		if (errno || end == slash || *end || p < 0 || p > max)
			goto bad;
		f->plen = (int)p;
	}
	fib_mask_prefix(f->prefix, f->plen, fib_addr_len(fam));
	f->prefix_family = fam;
	f->has_prefix = true;
	return;
bad:
	die(EXIT_USAGE, "invalid --route '%s': expected PREFIX/LEN such as 10.99.0.0/24 or 2001:db8::/64 (see --help)", arg);
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	char err[256];
	(void)state;
	switch (key) {
	case 'r':
		parse_route(arg);
		break;
	case OPT_FLOWS:
		fo.flows_view = true;
		break;
	case OPT_FLOW:
		if (flowspec_parse(arg, &fo.fs, err, sizeof(err)))
			die(EXIT_USAGE, "%s (see --help)", err);
		fo.flows_view = true;
		break;
	case OPT_MAX_FLOWS:
		fo.max_flows = opt_u32("--max-flows", arg, 16, 1u << 24);
		break;
	case OPT_FLOW_TIMEOUT:
		if (parse_double(arg, 0, 86400 * 365, &fo.flow_timeout))
			die(EXIT_USAGE, "invalid --flow-timeout '%s': expected seconds, 0 for never (see --help)", arg);
		break;
	case OPT_TABLES:
		fo.tables = true;
		break;
	case OPT_MISSES:
		fo.misses = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc, OPTG_NETNS, OPTG_FAMILY, OPTG_EVENTS, OPTG_MECHANISM);

/* Every view but one: --route applies to nexthops and flows only. */
static void check_options(void)
{
	fo.rf.family = copts.family;
	if ((fo.tables ? 1 : 0) + (copts.events ? 1 : 0) + (fo.flows_view ? 1 : 0) > 1)
		die(EXIT_USAGE, "--tables, --events and --flows/--flow are separate views: pick one (see --help)");
	if (fo.misses && !copts.events)
		die(EXIT_USAGE, "--misses applies to --events (see --help)");
	if (fo.rf.has_prefix && (fo.tables || copts.events))
		die(EXIT_USAGE, "--route applies to the nexthop and flow views, not to --tables or --events (see --help)");
	if (fo.rf.has_prefix && copts.family && copts.family != fo.rf.prefix_family)
		die(EXIT_USAGE, "--route %s contradicts -%c (see --help)",
		    fo.rf.prefix_family == AF_INET ? "is IPv4" : "is IPv6", copts.family == AF_INET ? '4' : '6');
}

/* ---- fields: described once ---------------------------------------- */

#define HELP_FAMILY "Address family: ipv4 or ipv6"
#define HELP_TABLE "Routing table id (254: main)"
#define HELP_ROUTE "Route prefix"
#define HELP_NEXTHOP "Nexthop index within the route, in the order the kernel lists them"
#define HELP_GATEWAY "Nexthop gateway (null for a nexthop without one)"

/* Facts about a nexthop or flow snapshot. */
enum { FM_MECH, FM_POL4, FM_FIELDS4, FM_POL6, FM_FIELDS6, FM_ROUTES, FM_TRACKED, FM_RETIRED, FM_DROPPED,
       FM_SEL_DROPPED, FM_NFIELDS };

static const struct field fmfields[FM_NFIELDS] = {
	[FM_MECH] = { "mechanism", "MECHANISM", FK_LABEL, 0,
		      "How egress and multipath selections are observed: per hook (net_dev_start_xmit: tp_btf, "
		      "fib_select_multipath: fexit, fib6_select_path: fexit; none: unavailable), or the one mechanism of all", 0, 0, 0 },
	[FM_POL4] = { "hash_policy_ipv4", "POLICY4", FK_LABEL, 0,
		      "net.ipv4.fib_multipath_hash_policy by name: L3 (0), L4 (1), L3_inner (2), custom (3)", 0, 0, 0 },
	[FM_FIELDS4] = { "hash_fields_ipv4", "FIELDS4", FK_LABEL, 0,
			 "Custom policy only: the fields net.ipv4.fib_multipath_hash_fields selects, comma-separated "
			 "(none for none)", 0, 0, 0 },
	[FM_POL6] = { "hash_policy_ipv6", "POLICY6", FK_LABEL, 0,
		      "net.ipv6.fib_multipath_hash_policy by name: L3 (0), L4 (1), L3_inner (2), custom (3)", 0, 0, 0 },
	[FM_FIELDS6] = { "hash_fields_ipv6", "FIELDS6", FK_LABEL, 0,
			 "Custom policy only: the fields net.ipv6.fib_multipath_hash_fields selects, comma-separated "
			 "(none for none)", 0, 0, 0 },
	[FM_ROUTES] = { "routes", "ROUTES", FK_GAUGE, 0,
			"Routes watched: the multipath routes of every table (with --route: the routes with that prefix)",
			0, 0, 0 },
	[FM_TRACKED] = { "flows_tracked", "TRACKED", FK_GAUGE, 0, "Flows in the BPF flow table", 0, 0, 0 },
	[FM_RETIRED] = { "flows_retired", "RETIRED", FK_COUNTER, 0,
			 "Flows retired from the BPF flow table after --flow-timeout idle seconds (their counts stay "
			 "in the nexthops' totals)", 0, 0, 0 },
	[FM_DROPPED] = { "flows_dropped", "DROPPED", FK_COUNTER, 0,
			 "Packets of new flows not counted because the BPF flow table was full (raise --max-flows)", 0, 0, 0 },
	[FM_SEL_DROPPED] = { "selections_dropped", "SELDROP", FK_COUNTER, 0,
			     "Multipath selections not counted because the BPF selection table was full", 0, 0, 0 },
};
static const struct schema fmeta_schema = { "fibstat", "nexthops", fmfields, FM_NFIELDS, NULL };

static const struct field nfields[N_NFIELDS] = {
	[N_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[N_FAMILY] = { "family", "FAM", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_FAMILY, 0, 0, 4 },
	[N_TABLE] = { "table", "TABLE", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_TABLE, 0, 0, 0 },
	[N_METRIC] = { "metric", "METRIC", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE,
		       "Route metric (priority): of routes with one prefix in one table the kernel uses the lowest", 0, 0, 0 },
	[N_ROUTE] = { "route", "ROUTE", FK_LABEL, FF_ALL, HELP_ROUTE, 0, 0, 0 },
	[N_NH] = { "nexthop", "NH", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_NEXTHOP, 0, 0, 0 },
	[N_GW] = { "gateway", "GATEWAY", FK_LABEL, FF_ALL, HELP_GATEWAY, 0, 0, 0 },
	[N_IFACE] = F_IFACE(FF_ALL),
	[N_WEIGHT] = { "weight", "W", FK_GAUGE, FF_ALL, "Nexthop weight", 0, 0, 0 },
	[N_FLOWS] = { "flows", "FLOWS", FK_GAUGE, FF_ALL,
		      "Distinct flows (5-tuples) that left through the nexthop, retired ones included", 0, 0, 0 },
	[N_PACKETS] = { "packets", "PACKETS", FK_COUNTER, FF_ALL, "Packets that left through the nexthop", 0, 0, 0 },
	[N_BYTES] = { "bytes", "BYTES", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		      "L3 bytes (IP header and payload) that left through the nexthop", 0, 0, 0 },
	[N_PPS] = { "packets_per_second", "PKT/s", FK_GAUGE, FF_TABLE | FF_JSON,
		    "Packets per second that left through the nexthop over the last interval", 0, 0, 0 },
	[N_SHARE] = { "share_ratio", "SHARE%", FK_GAUGE, FF_ALL, "Nexthop's share of the route's packets (0-1)", 0.01, 1, 0 },
	[N_FAIR] = { "fair_ratio", "FAIR%", FK_GAUGE, FF_ALL,
		     "Nexthop's weight-fair share: its weight over the sum of the route's weights (0-1)", 0.01, 1, 0 },
	[N_IMBAL] = { "imbalance", "IMBAL", FK_GAUGE, FF_ALL,
		      "Route's largest packet share over its weight-fair share (1 = even)", 0, 2, 0 },
	[N_FLOW_SHARE] = { "flow_share_ratio", "FLOW%", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			   "Nexthop's share of the route's flows (0-1)", 0.01, 1, 0 },
	[N_FLOW_IMBAL] = { "flow_imbalance", "FIMBAL", FK_GAUGE, FF_JSON | FF_PROM | FF_WIDE,
			   "Route's largest flow share over its weight-fair share (1 = even)", 0, 2, 0 },
	[N_SEL] = { "selections", "SELECT", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		    "Multipath decisions that chose the nexthop (fexit; null without)", 0, 0, 0 },
};
const struct schema nh_schema = { "fibstat", "nexthops", nfields, N_NFIELDS, &fmeta_schema };

static const struct field wfields[W_NFIELDS] = {
	[W_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[W_FAMILY] = { "family", "FAM", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_FAMILY, 0, 0, 4 },
	[W_PROTO] = { "proto", "PROTO", FK_LABEL, FF_ALL, "IP protocol (udp, tcp, icmp, icmpv6, sctp, gre or its number)",
		      0, 0, 6 },
	[W_SRC] = { "src", "SRC", FK_LABEL, FF_ALL, "Source address", 0, 0, 39 },
	[W_SPORT] = { "sport", "SPORT", FK_LABEL, FF_ALL, "Source port (0 without ports)", 0, 0, 5 },
	[W_DST] = { "dst", "DST", FK_LABEL, FF_ALL, "Destination address", 0, 0, 39 },
	[W_DPORT] = { "dport", "DPORT", FK_LABEL, FF_ALL, "Destination port (0 without ports)", 0, 0, 5 },
	[W_MAC] = { "mac", "MAC", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE,
		    "Destination MAC address of the flow's packets: the nexthop's neighbour (null without an "
		    "Ethernet header)", 0, 0, 17 },
	[W_TABLE] = { "table", "TABLE", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_TABLE, 0, 0, 0 },
	[W_ROUTE] = { "route", "ROUTE", FK_LABEL, FF_ALL, "Prefix of the route the flow took (null: no watched route)",
		      0, 0, 0 },
	[W_NH] = { "nexthop", "NH", FK_LABEL, FF_JSON | FF_PROM | FF_WIDE, HELP_NEXTHOP, 0, 0, 0 },
	[W_GW] = { "gateway", "GATEWAY", FK_LABEL, FF_ALL, HELP_GATEWAY, 0, 0, 0 },
	[W_IFACE] = F_IFACE(FF_ALL),
	[W_PACKETS] = { "flow_packets", "PACKETS", FK_COUNTER, FF_ALL, "Packets of the flow", 0, 0, 0 },
	[W_BYTES] = { "flow_bytes", "BYTES", FK_COUNTER, FF_JSON | FF_PROM | FF_WIDE,
		      "L3 bytes (IP header and payload) of the flow", 0, 0, 0 },
	[W_PPS] = { "flow_packets_per_second", "PKT/s", FK_GAUGE, FF_TABLE | FF_JSON,
		    "Packets per second of the flow over the last interval", 0, 0, 0 },
};
const struct schema flow_schema = { "fibstat", "flows", wfields, W_NFIELDS, &fmeta_schema };

/* Facts about a lookup snapshot. */
enum { LM_MECH, LM_UNATTR, LM_DROPPED, LM_NFIELDS };

static const struct field lmfields[LM_NFIELDS] = {
	[LM_MECH] = { "mechanism", "MECHANISM", FK_LABEL, 0, "How the lookup tracepoints are attached: tp_btf or raw_tp, else per tracepoint (fib_table_lookup: "
		      "tp_btf, ...)", 0, 0, 0 },
	[LM_UNATTR] = { "unattributed_ipv4", "UNATTR", FK_COUNTER, 0,
			"IPv4 lookups whose network namespace could not be told (counted in no table)", 0, 0, 0 },
	[LM_DROPPED] = { "lookups_dropped", "DROPPED", FK_COUNTER, 0,
			 "Lookups not counted because the BPF lookup table was full", 0, 0, 0 },
};
static const struct schema lmeta_schema = { "fibstat", "lookups", lmfields, LM_NFIELDS, NULL };

#define HELP_VRF "VRF device the table belongs to (null: none)"
#define HELP_IIF "Input interface (- for locally generated)"
#define HELP_OIF "Output interface the lookup was bound to (- for none)"

/* Table and JSON: one column per result.  Prometheus: lookup_results
 * below, one counter with a result label. */
static const struct field lfields[L_NFIELDS] = {
	[L_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[L_FAMILY] = { "family", "FAM", FK_LABEL, FF_ALL, HELP_FAMILY, 0, 0, 4 },
	[L_TABLE] = { "table", "TABLE", FK_LABEL, FF_ALL, HELP_TABLE, 0, 0, 0 },
	[L_VRF] = { "vrf", "VRF", FK_LABEL, FF_ALL, HELP_VRF, 0, 0, 0 },
	[L_IIF] = { "iif", "IIF", FK_LABEL, FF_ALL, HELP_IIF, 0, 0, 0 },
	[L_OIF] = { "oif", "OIF", FK_LABEL, FF_ALL, HELP_OIF, 0, 0, 0 },
	[L_LOOKUPS] = { "lookups", "LOOKUPS", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups in the table, every result", 0, 0, 0 },
	[L_FOUND] = { "found", "FOUND", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups that found a route", 0, 0, 0 },
	[L_MISS] = { "miss", "MISS", FK_COUNTER, FF_TABLE | FF_JSON,
		     "Lookups that found no route in the table (or a throw route)", 0, 0, 0 },
	[L_UNREACH] = { "unreachable", "UNREACH", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups that hit an unreachable route",
			0, 0, 0 },
	[L_PROHIBIT] = { "prohibit", "PROHIB", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups that hit a prohibit route", 0, 0, 0 },
	[L_BLACKHOLE] = { "blackhole", "BLACKH", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups that hit a blackhole route",
			  0, 0, 0 },
	[L_ERROR] = { "error", "ERR", FK_COUNTER, FF_TABLE | FF_JSON, "Lookups that failed otherwise", 0, 0, 0 },
	[L_LPS] = { "lookups_per_second", "LKP/s", FK_GAUGE, FF_TABLE | FF_JSON,
		    "Lookups per second in the table over the last interval", 0, 0, 0 },
};
const struct schema lk_schema = { "fibstat", "lookups", lfields, L_NFIELDS, &lmeta_schema };

static const struct field rfields[R_NFIELDS] = {
	[R_NETNS] = F_NETNS(FF_PROM),
	[R_FAMILY] = { "family", "FAM", FK_LABEL, FF_PROM, HELP_FAMILY, 0, 0, 0 },
	[R_TABLE] = { "table", "TABLE", FK_LABEL, FF_PROM, HELP_TABLE, 0, 0, 0 },
	[R_VRF] = { "vrf", "VRF", FK_LABEL, FF_PROM, HELP_VRF, 0, 0, 0 },
	[R_IIF] = { "iif", "IIF", FK_LABEL, FF_PROM, HELP_IIF, 0, 0, 0 },
	[R_OIF] = { "oif", "OIF", FK_LABEL, FF_PROM, HELP_OIF, 0, 0, 0 },
	[R_RESULT] = { "result", "RESULT", FK_LABEL, FF_PROM,
		       "Lookup result: found, miss, unreachable, prohibit, blackhole, error", 0, 0, 0 },
	[R_LOOKUPS] = { "lookups", "LOOKUPS", FK_COUNTER, FF_PROM, "Lookups in the table, by result", 0, 0, 0 },
};
const struct schema lkres_schema = { "fibstat", "lookup_results", rfields, R_NFIELDS, NULL };

/* Facts about the event stream. */
static const struct field emfields[] = {
	{ "mechanism", "MECHANISM", FK_LABEL, 0, "How the lookup tracepoints are attached (tp_btf, raw_tp, or per tracepoint) and the buffer "
	  "events come through (ringbuf or perfbuf)", 0, 0, 0 },
};
static const struct schema emeta_schema = { "fibstat", "events", emfields, SCHEMA_NFIELDS(emfields), NULL };

/* Not const: the address columns narrow to IPv4's width with -4. */
static struct field efields[E_NFIELDS] = {
	/* the kind of event is the lookup's result */
	[E_TYPE] = { "type", "RESULT", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT, HELP_TYPE, 0, 0, 11 },
	[E_FAMILY] = { "family", "FAM", FK_LABEL, FF_TABLE | FF_JSON, HELP_FAMILY, 0, 0, 4 },
	[E_TABLE] = { "table", "TABLE", FK_LABEL, FF_TABLE | FF_JSON, HELP_TABLE, 0, 0, 6 },
	[E_VRF] = { "vrf", "VRF", FK_LABEL, FF_JSON | FF_WIDE, HELP_VRF, 0, 0, 15 },
	[E_ERRNO] = F_ERRNO(FF_JSON | FF_WIDE),
	/* F_ERRNO_NAME, 12 wide: this tool's usual EHOSTUNREACH and ENETUNREACH */
	[E_ERRNO_NAME] = { "errno_name", "ERROR", FK_LABEL, FF_JSON | FF_WIDE | FF_LEFT, HELP_ERRNO_NAME, 0, 0, 12 },
	[E_PROTO] = { "proto", "PROTO", FK_LABEL, FF_TABLE | FF_JSON, "IP protocol", 0, 0, 6 },
	[E_SRC] = { "src", "SRC", FK_LABEL, FF_TABLE | FF_JSON, "Source address", 0, 0, 39 },
	[E_SPORT] = { "sport", "SPORT", FK_LABEL, FF_TABLE | FF_JSON, "Source port (0 without ports)", 0, 0, 5 },
	[E_DST] = { "dst", "DST", FK_LABEL, FF_TABLE | FF_JSON, "Destination address", 0, 0, 39 },
	[E_DPORT] = { "dport", "DPORT", FK_LABEL, FF_TABLE | FF_JSON, "Destination port (0 without ports)", 0, 0, 5 },
	[E_IIF] = { "iif", "IIF", FK_LABEL, FF_TABLE | FF_JSON, HELP_IIF, 0, 0, 15 },
	[E_OIF] = { "oif", "OIF", FK_LABEL, FF_JSON | FF_WIDE, HELP_OIF, 0, 0, 15 },
	[E_MARK] = { "mark", "MARK", FK_LABEL, FF_JSON | FF_WIDE, "Firewall mark the lookup carried", 0, 0, 10 },
};
const struct schema ev_schema = { "fibstat", "events", efields, E_NFIELDS, &emeta_schema };

OUT_REGISTER(&nh_schema, &flow_schema, &lk_schema, &lkres_schema, &ev_schema);


/* ---- hooks ---------------------------------------------------------- */

/* A kernel may list the functions and allow trampolines yet refuse these
 * two at load: they are then left out, egress alone still answers. */
static bool fexit_refused;

static bool fexit_loads(const struct hook_alt *a, const char **why)
{
	(void)a;
	*why = "refused at load by this kernel";
	return !fexit_refused;
}

/* The tracepoints are tp_btf/raw_tp twins (TP_TWIN); the multipath
 * selections have no tracepoint: fexit or nothing. */
struct hook hooks[H_N] = {
	[H_XMIT] = { "net_dev_start_xmit", HOOK_REQUIRED, NULL,
		     .alt = { HOOK_TP_TWIN("xmit", "net_dev_start_xmit") } },
	[H_SEL4] = { "fib_select_multipath", HOOK_OPTIONAL, "no multipath selections (selections null) for IPv4",
		     .alt = { { .mech = MECH_FEXIT, .prog = "sel4", .target = "fib_select_multipath",
				.probe = fexit_loads } } },
	[H_SEL6] = { "fib6_select_path", HOOK_OPTIONAL, "no multipath selections (selections null) for IPv6",
		     .alt = { { .mech = MECH_FEXIT, .prog = "sel6", .target = "fib6_select_path",
				.probe = fexit_loads } } },
	[H_LK4] = { "fib_table_lookup", HOOK_OPTIONAL, "no IPv4 lookups",
		    .alt = { HOOK_TP_TWIN("lk4", "fib_table_lookup") } },
	[H_LK6] = { "fib6_table_lookup", HOOK_OPTIONAL, "no IPv6 lookups",
		    .alt = { HOOK_TP_TWIN("lk6", "fib6_table_lookup") } },
	/* the namespace of IPv4 input lookups that find nothing */
	[H_RX] = { "netif_receive_skb", HOOK_OPTIONAL, "IPv4 input lookups that find nothing go unattributed",
		   .alt = { HOOK_TP_TWIN("rx", "netif_receive_skb") } },
};

struct fibstat_bpf *skel;

/* The hooks a view wants. */
static void hooks_for_view(bool nh_view)
{
	bool v4 = copts.family != AF_INET6, v6 = copts.family != AF_INET;
	hooks[H_XMIT].off = !nh_view;
	hooks[H_SEL4].off = !nh_view || !v4;
	hooks[H_SEL6].off = !nh_view || !v6;
	hooks[H_LK4].off = hooks[H_RX].off = nh_view || !v4;
	hooks[H_LK6].off = nh_view || !v6;
	/* one family asked for: its lookups are required */
	hooks[H_LK4].policy = !nh_view && !v6 ? HOOK_REQUIRED : HOOK_OPTIONAL;
	hooks[H_LK6].policy = !nh_view && !v4 ? HOOK_REQUIRED : HOOK_OPTIONAL;
}

/* ---- main ----------------------------------------------------------- */

/* Open, select the hooks, load; once more without the fexit programs if
 * the kernel refuses them at load. */
static void load(bool nh_view, uint32_t target_ino)
{
	for (;;) {
		skel = fibstat_bpf__open();
		if (!skel)
			die_errno(errno, NULL, "cannot open BPF object");
		hooks_select(skel->obj, hooks, H_N, copts.mechanism);
		if (!nh_view && !hook_active(&hooks[H_LK4]) && !hook_active(&hooks[H_LK6]))
			die(EXIT_NOFEATURE, "the kernel has no fib_table_lookup tracepoint: %s is unavailable",
			    copts.events ? "--events" : "--tables");
		skel->rodata->target_netns = target_ino;
		skel->rodata->emit_events = copts.events;
		skel->rodata->emit_misses = fo.misses;
		bpf_map__set_max_entries(skel->maps.flows, nh_view ? fo.max_flows : 1);
		evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
		int err = fibstat_bpf__load(skel);
		if (!err)
			return;
		bool retry = !fexit_refused && (hook_active(&hooks[H_SEL4]) || hook_active(&hooks[H_SEL6]));
		fibstat_bpf__destroy(skel);
		skel = NULL;
		if (!retry)
			die_bpf_load(err);
		note("cannot load the fexit programs (%s): counting without selections", errno_name(-err));
		fexit_refused = true;
	}
}

/* The interfaces a watched route's nexthops use: what xmit counts. */
static void watch_interfaces(void)
{
	int fd = bpf_map__fd(skel->maps.watch_ifs), big = bpf_map__fd(skel->maps.watch_ifs_big);
	uint8_t one = 1;
	for (int i = 0; i < nroutes; i++)
		for (int k = 0; k < routes[i].nnh; k++) {
			__u32 ifindex = (__u32)routes[i].nh[k].ifindex;
			int err = bpf_map_update_elem(ifindex < bpf_map__max_entries(skel->maps.watch_ifs) ? fd : big,
						      &ifindex, &one, BPF_ANY);
			if (err)
				note("cannot watch interface %u: %s", ifindex, errno_name(errno));
		}
}

static int rtnl = -1;

/* One interval of a snapshot view (the snapshot driver's callback). */
static int interval_done(void *ctx, double dt)
{
	bool nh_view = *(bool *)ctx;
	fibroutes_refresh(rtnl, nh_view ? &fo.rf : NULL);
	if (nh_view)
		watch_interfaces();
	return fo.tables ? snapshot_tables(dt) : fo.flows_view ? snapshot_flows(dt) : snapshot_nexthops(dt);
}

/* Events: names of new interfaces and VRFs, every 2 s. */
static int events_idle(void *ctx)
{
	static double last;
	(void)ctx;
	if (now_mono() - last > 2) {
		fibroutes_refresh(rtnl, NULL);
		last = now_mono();
	}
	return 0;
}

static uint64_t misses(void *ctx)
{
	(void)ctx;
	return bpfobj_recursion_misses(skel->obj);
}

static int run_events(void)
{
	char mech[256];
	struct evbuf *evb = evbuf_open(skel->maps.events, skel->maps.events_lost, fib_on_event, NULL);
	if (!evb)
		die_errno(errno, NULL, "cannot open the event buffer");
	evbuf_set_misses(evb, misses, NULL);
	event_meta("mechanism", "%s fib lookup tracepoints, %s", hooks_mechanism(hooks, H_N, mech, sizeof(mech)),
		   evbuf_mechanism(evb));
	if (copts.family == AF_INET) { /* IPv4 addresses only: their width */
		efields[E_SRC].width = 15;
		efields[E_DST].width = 15;
	}
	int err = event_start(&ev_schema);
	if (!err)
		err = event_run(evb, copts.count, 200, events_idle, NULL);
	evbuf_free(evb);
	return err;
}

/* -N: routes, neighbours and sysctls are read inside the namespace. */
static uint32_t enter_netns(void)
{
	uint32_t ino;
	int err;
	if (!copts.netns) {
		if ((err = netns_self_inode(&ino)))
			die_errno(err, NULL, "cannot read this process's network namespace");
		snprintf(fo.ns_label, sizeof(fo.ns_label), "-"); /* the tool's own */
		return ino;
	}
	struct netns ns;
	int fd = netns_require("--netns", copts.netns, &ns);
	netns_enter_or_die(fd, copts.netns);
	close(fd);
	snprintf(fo.ns_label, sizeof(fo.ns_label), "%s", ns.name); /* ns:INODE for a path */
	return (uint32_t)ns.ino;
}

int main(int argc, char **argv)
{
	opts_parse(&argp, argc, argv, NULL);
	check_options();
	require_bpf_privileges();
	probe_require_btf();
	uint32_t target_ino = enter_netns();
	if ((rtnl = rtnl_open()) < 0)
		die_errno(rtnl, NULL, "cannot open a netlink socket");
	bool nh_view = !fo.tables && !copts.events;
	fibroutes_refresh(rtnl, nh_view ? &fo.rf : NULL);
	if (nh_view && fo.rf.has_prefix && !nroutes) {
		char b[INET6_ADDRSTRLEN];
		die(EXIT_NOTFOUND, "no route %s/%d%s%s (list them with: ip route show table all)",
		    fib_fmt_addr(fo.rf.prefix_family, fo.rf.prefix, b, sizeof(b)), fo.rf.plen,
		    copts.netns ? " in network namespace " : "", copts.netns ? copts.netns : "");
	}

	hooks_for_view(nh_view);
	load(nh_view, target_ino);
	if (nh_view)
		watch_interfaces();
	hooks_attach(hooks, H_N);

	int err;
	if (copts.events) {
		err = run_events();
	} else {
		if (!copts.interval_set)
			copts.interval = 1.0;
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, &nh_view);
	}
	if (err)
		die_errno(err, NULL, "cannot write output");

	hooks_detach(hooks, H_N);
	fibstat_bpf__destroy(skel);
	close(rtnl);
	fibroutes_free();
	flows_free();
	fibrender_free();
	event_meta_free();
	return EXIT_OK;
}
