// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fibstat: how ECMP spreads traffic over nexthops (per multipath route and
 * nexthop: flows, packets, bytes, share against the weight-fair share), which
 * nexthop a given flow took, and which routing tables answer lookups.
 */
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "events.h"
#include "loop.h"
#include "netdev.h"
#include "opts.h"
#include "output.h"
#include "probe.h"
#include "rtnl.h"
#include "util.h"
#include "fibstat.h"
#include "fibstat.skel.h"

#define LOOPBACK_IFINDEX 1

/* ---- options -------------------------------------------------------- */

struct flowspec {
	bool set;
	int family;        /* 0: any */
	int proto;         /* -1: any */
	bool has_src, has_dst;
	uint8_t src[16], dst[16];
	int sport, dport;  /* -1: any */
};

static struct {
	const char *netns;
	bool has_route;
	int route_family;
	uint8_t route_prefix[16];
	int route_plen;
	bool only4, only6;
	bool flows_view;
	struct flowspec fs;
	bool tables;
	bool events;
	bool misses;
	unsigned max_flows;
	double flow_timeout;
} o = { .max_flows = 65536, .flow_timeout = 60 };

enum { OPT_FLOWS = 0x2000, OPT_FLOW, OPT_MISSES, OPT_MAX_FLOWS, OPT_FLOW_TIMEOUT };

static const struct argp_option options[] = {
	{ "netns", 'N', "NETNS", 0, "Routes and traffic of network namespace NETNS (name under /run/netns, or a path)", 1 },
	{ "route", 'r', "PREFIX", 0, "Only the route(s) with exactly this prefix (multipath or not)", 1 },
	{ "ipv4", '4', NULL, 0, "Only IPv4", 1 },
	{ "ipv6", '6', NULL, 0, "Only IPv6", 1 },
	{ "flows", OPT_FLOWS, NULL, 0, "One record per flow (5-tuple) with the nexthop it took", 2 },
	{ "flow", OPT_FLOW, "SPEC", 0,
	  "Only flows matching SPEC, one record each: comma-separated proto=, src=, sport=, dst=, dport= "
	  "(omitted keys match anything)", 2 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Flow table size in BPF (default 65536)", 2 },
	{ "flow-timeout", OPT_FLOW_TIMEOUT, "SEC", 0,
	  "Retire flows idle this long from the flow table, keeping their counts (default 60; 0: never)", 2 },
	{ "tables", 't', NULL, 0, "FIB lookups per routing table, result and interface", 3 },
	{ "events", 'e', NULL, 0, "Stream failed lookups (unreachable, prohibit, blackhole, error) as they happen", 3 },
	{ "misses", OPT_MISSES, NULL, 0, "With --events: also lookups that found no route in a table", 3 },
	{ 0 },
};

static const char doc[] =
	"fibstat: how ECMP spreads traffic over the nexthops of multipath routes, which nexthop a "
	"flow took, and which routing tables answer lookups.\v"
	"Examples:\n"
	"  fibstat                        # every multipath route's nexthops, each second\n"
	"  fibstat -N router -r 10.99.0.0/24 5\n"
	"  fibstat --flow proto=udp,dst=10.99.0.1,sport=40001   # which nexthop did it take?\n"
	"  fibstat -t                     # lookups per table (policy routing, VRFs)\n"
	"  fibstat -e                     # failed lookups as they happen\n"
	"  fibstat -o prom -c 1 --file /var/lib/node_exporter/fibstat.prom";

static int parse_addr(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return AF_INET6;
	return 0;
}

static void mask_prefix(uint8_t *a, int plen, int alen)
{
	for (int i = 0; i < alen; i++) {
		int bits = plen - i * 8;
		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static void parse_route(const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	int fam = parse_addr(buf, o.route_prefix);
	if (!fam)
		goto bad;
	int max = fam == AF_INET ? 32 : 128;
	o.route_plen = max;
	if (slash) {
		char *end;
		errno = 0;
		long p = strtol(slash, &end, 10);
		if (errno || end == slash || *end || p < 0 || p > max)
			goto bad;
		o.route_plen = (int)p;
	}
	mask_prefix(o.route_prefix, o.route_plen, fam == AF_INET ? 4 : 16);
	o.route_family = fam;
	o.has_route = true;
	return;
bad:
	die(EXIT_USAGE, "invalid --route '%s': expected PREFIX/LEN such as 10.99.0.0/24 or 2001:db8::/64 (see --help)", arg);
}

static int proto_number(const char *s)
{
	static const struct { const char *n; int p; } names[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 }, { "sctp", 132 }, { "gre", 47 },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].n))
			return names[i].p;
	char *end;
	errno = 0;
	long p = strtol(s, &end, 10);
	if (errno || end == s || *end || p < 0 || p > 255)
		return -1;
	return (int)p;
}

static const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 47: return "gre";
	case 58: return "icmpv6";
	case 132: return "sctp";
	}
	snprintf(buf, len, "%d", p);
	return buf;
}

static void parse_flowspec(const char *arg)
{
	struct flowspec *f = &o.fs;
	memset(f, 0, sizeof(*f));
	f->set = true;
	f->proto = f->sport = f->dport = -1;
	char *copy = xstrdup(arg), *save = NULL;
	const char *bad = NULL;
	char seen[64] = " ";
	for (char *tok = strtok_r(copy, ", ", &save); tok && !bad; tok = strtok_r(NULL, ", ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			bad = tok;
			break;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		/* each key once: dst=A,dst=B is a contradiction, not a filter */
		char key[16];
		snprintf(key, sizeof(key), " %s ", k);
		if (strstr(seen, key)) {
			char name[16];
			snprintf(name, sizeof(name), "%s", k);
			free(copy);
			die(EXIT_USAGE, "invalid --flow '%s': %s= is given twice (see --help)", arg, name);
		}
		if (strlen(seen) + strlen(k) + 2 < sizeof(seen)) {
			strcat(seen, k);
			strcat(seen, " ");
		}
		if (!strcmp(k, "proto")) {
			if ((f->proto = proto_number(v)) < 0)
				bad = v;
		} else if (!strcmp(k, "src") || !strcmp(k, "dst")) {
			bool src = k[0] == 's';
			int fam = parse_addr(v, src ? f->src : f->dst);
			if (!fam || (f->family && f->family != fam))
				bad = v;
			f->family = fam;
			*(src ? &f->has_src : &f->has_dst) = true;
		} else if (!strcmp(k, "sport") || !strcmp(k, "dport")) {
			char *end;
			errno = 0;
			long p = strtol(v, &end, 10);
			if (errno || end == v || *end || p < 0 || p > 65535)
				bad = v;
			*(k[0] == 's' ? &f->sport : &f->dport) = (int)p;
		} else {
			bad = k;
		}
	}
	if (bad || !*arg) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s", bad ? bad : "");
		free(copy);
		die(EXIT_USAGE, "invalid --flow '%s' at '%s': expected proto=P,src=ADDR,sport=N,dst=ADDR,dport=N "
		    "(any subset; see --help)", arg, msg);
	}
	free(copy);
	o.flows_view = true;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'N':
		if (!*arg)
			die(EXIT_USAGE, "invalid --netns '': expected a name under /run/netns or a path (see --help)");
		o.netns = arg;
		break;
	case 'r':
		parse_route(arg);
		break;
	case '4':
		o.only4 = true;
		break;
	case '6':
		o.only6 = true;
		break;
	case OPT_FLOWS:
		o.flows_view = true;
		break;
	case OPT_FLOW:
		parse_flowspec(arg);
		break;
	case OPT_MAX_FLOWS:
		o.max_flows = opt_u32("--max-flows", arg, 16, 1u << 24);
		break;
	case OPT_FLOW_TIMEOUT:
		if (parse_double(arg, 0, 86400 * 365, &o.flow_timeout))
			die(EXIT_USAGE, "invalid --flow-timeout '%s': expected seconds, 0 for never (see --help)", arg);
		break;
	case 't':
		o.tables = true;
		break;
	case 'e':
		o.events = true;
		break;
	case OPT_MISSES:
		o.misses = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

TOOL_ARGP(options, parse, doc);

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
		      "How egress and multipath selections are observed (or why selections are unavailable)", 0, 0, 0 },
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

enum {
	N_NETNS, N_FAMILY, N_TABLE, N_METRIC, N_ROUTE, N_NH, N_GW, N_IFACE, N_WEIGHT, N_FLOWS, N_PACKETS, N_BYTES,
	N_PPS, N_SHARE, N_FAIR, N_IMBAL, N_FLOW_SHARE, N_FLOW_IMBAL, N_SEL, N_NFIELDS
};

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
static const struct schema nh_schema = { "fibstat", "nexthops", nfields, N_NFIELDS, &fmeta_schema };

enum {
	W_NETNS, W_FAMILY, W_PROTO, W_SRC, W_SPORT, W_DST, W_DPORT, W_MAC, W_TABLE, W_ROUTE, W_NH, W_GW, W_IFACE,
	W_PACKETS, W_BYTES, W_PPS, W_NFIELDS
};

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
static const struct schema flow_schema = { "fibstat", "flows", wfields, W_NFIELDS, &fmeta_schema };

/* Facts about a lookup snapshot. */
enum { LM_MECH, LM_UNATTR, LM_DROPPED, LM_NFIELDS };

static const struct field lmfields[LM_NFIELDS] = {
	[LM_MECH] = { "mechanism", "MECHANISM", FK_LABEL, 0, "The tracepoints lookups are counted at", 0, 0, 0 },
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
enum {
	L_NETNS, L_FAMILY, L_TABLE, L_VRF, L_IIF, L_OIF, L_LOOKUPS, L_FOUND, L_MISS, L_UNREACH, L_PROHIBIT,
	L_BLACKHOLE, L_ERROR, L_LPS, L_NFIELDS
};

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
static const struct schema lk_schema = { "fibstat", "lookups", lfields, L_NFIELDS, &lmeta_schema };

enum { R_NETNS, R_FAMILY, R_TABLE, R_VRF, R_IIF, R_OIF, R_RESULT, R_LOOKUPS, R_NFIELDS };

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
static const struct schema lkres_schema = { "fibstat", "lookup_results", rfields, R_NFIELDS, NULL };

/* Facts about the event stream. */
static const struct field emfields[] = {
	{ "mechanism", "MECHANISM", FK_LABEL, 0, "The tracepoints and the buffer events come through", 0, 0, 0 },
};
static const struct schema emeta_schema = { "fibstat", "events", emfields, SCHEMA_NFIELDS(emfields), NULL };

enum {
	E_TYPE, E_FAMILY, E_TABLE, E_VRF, E_ERRNO, E_ERRNO_NAME, E_PROTO, E_SRC, E_SPORT, E_DST, E_DPORT, E_IIF,
	E_OIF, E_MARK, E_NFIELDS
};

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
static const struct schema ev_schema = { "fibstat", "events", efields, E_NFIELDS, &emeta_schema };

OUT_REGISTER(&nh_schema, &flow_schema, &lk_schema, &lkres_schema, &ev_schema);

/* Event types: the lookup results. */
static const char *const result_names[FS_NRESULTS] = {
	"found", "miss", "unreachable", "prohibit", "blackhole", "error",
};

/* ---- the namespace's routing state (rtnetlink) ----------------------- */

struct nhop {
	uint8_t gw_family;   /* 0: no gateway (device route) */
	uint8_t gw[16];
	int ifindex;
	int weight;
	bool has_mac;        /* the gateway's neighbour entry, once known */
	uint8_t mac[6];
	/* this interval's sums */
	uint64_t flows, packets, bytes, selections;
	bool has_sel;
};

struct route {
	int family;
	uint32_t table;
	uint8_t prefix[16];
	int plen;
	uint32_t metric;     /* RTA_PRIORITY */
	uint32_t nh_id;      /* RTA_NH_ID: resolved through nexthop objects */
	int nnh;
	struct nhop *nh;
};

struct link {
	int ifindex;
	char name[IF_NAMESIZE];
	uint32_t vrf_table;  /* a VRF device: its table; else 0 */
};

struct neigh {
	int ifindex;
	int family;
	uint8_t addr[16];
	uint8_t mac[6];
};

struct nhobj {
	uint32_t id;
	int family;
	uint8_t gw[16];
	int ifindex;
	int ngrp;
	uint32_t grp_id[64];
	int grp_w[64];
};

static struct route *routes;
static int nroutes;
static struct link *links;
static int nlinks;
static struct neigh *neighs; /* kept across refreshes: expired entries still name a MAC */
static int nneighs;
static struct nhobj *nhobjs;
static int nnhobjs;
static int rtnl = -1;
static uint32_t target_ino;
static char ns_label[64];

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *fmt_addr(int family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static const char *ifname(int ifindex, char *buf, size_t len)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].ifindex == ifindex)
			return links[i].name;
	snprintf(buf, len, "if%d", ifindex);
	return buf;
}

static const char *vrf_of_table(uint32_t table)
{
	for (int i = 0; i < nlinks; i++)
		if (links[i].vrf_table && links[i].vrf_table == table)
			return links[i].name;
	return NULL;
}

static int on_link(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *tb[IFLA_MAX + 1];
	rtnl_msg_attrs(tb, IFLA_MAX, nh, sizeof(*ifi));
	links = xrealloc(links, (nlinks + 1) * sizeof(*links));
	struct link *l = &links[nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME])
		snprintf(l->name, sizeof(l->name), "%s", (const char *)RTA_DATA(tb[IFLA_IFNAME]));
	else
		snprintf(l->name, sizeof(l->name), "if%d", ifi->ifi_index);
	if (tb[IFLA_LINKINFO]) {
		struct rtattr *li[IFLA_INFO_MAX + 1];
		rtnl_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (li[IFLA_INFO_KIND] && !strcmp(RTA_DATA(li[IFLA_INFO_KIND]), "vrf") && li[IFLA_INFO_DATA]) {
			struct rtattr *vd[IFLA_VRF_MAX + 1];
			rtnl_attrs(vd, IFLA_VRF_MAX, RTA_DATA(li[IFLA_INFO_DATA]), RTA_PAYLOAD(li[IFLA_INFO_DATA]));
			if (vd[IFLA_VRF_TABLE])
				l->vrf_table = *(uint32_t *)RTA_DATA(vd[IFLA_VRF_TABLE]);
		}
	}
	return 0;
}

static int on_neigh(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	const struct ndmsg *nd = NLMSG_DATA(nh);
	if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
		return 0;
	struct rtattr *tb[NDA_MAX + 1];
	rtnl_msg_attrs(tb, NDA_MAX, nh, sizeof(*nd));
	if (!tb[NDA_DST] || !tb[NDA_LLADDR] || RTA_PAYLOAD(tb[NDA_LLADDR]) != 6 ||
	    RTA_PAYLOAD(tb[NDA_DST]) != (unsigned)addr_len(nd->ndm_family))
		return 0;
	uint8_t addr[16] = { 0 };
	memcpy(addr, RTA_DATA(tb[NDA_DST]), addr_len(nd->ndm_family));
	struct neigh *n = NULL;
	for (int i = 0; i < nneighs && !n; i++)
		if (neighs[i].ifindex == nd->ndm_ifindex && neighs[i].family == nd->ndm_family &&
		    !memcmp(neighs[i].addr, addr, 16))
			n = &neighs[i];
	if (!n) {
		neighs = xrealloc(neighs, (nneighs + 1) * sizeof(*neighs));
		n = &neighs[nneighs++];
		n->ifindex = nd->ndm_ifindex;
		n->family = nd->ndm_family;
		memcpy(n->addr, addr, 16);
	}
	memcpy(n->mac, RTA_DATA(tb[NDA_LLADDR]), 6);
	return 0;
}

static int on_nexthop(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWNEXTHOP)
		return 0;
	const struct nhmsg *m = NLMSG_DATA(nh);
	struct rtattr *tb[NHA_MAX + 1];
	rtnl_msg_attrs(tb, NHA_MAX, nh, sizeof(*m));
	if (!tb[NHA_ID])
		return 0;
	nhobjs = xrealloc(nhobjs, (nnhobjs + 1) * sizeof(*nhobjs));
	struct nhobj *x = &nhobjs[nnhobjs++];
	memset(x, 0, sizeof(*x));
	x->id = *(uint32_t *)RTA_DATA(tb[NHA_ID]);
	x->family = m->nh_family;
	if (tb[NHA_OIF])
		x->ifindex = *(int *)RTA_DATA(tb[NHA_OIF]);
	if (tb[NHA_GATEWAY] && (RTA_PAYLOAD(tb[NHA_GATEWAY]) == 4 || RTA_PAYLOAD(tb[NHA_GATEWAY]) == 16)) {
		x->family = RTA_PAYLOAD(tb[NHA_GATEWAY]) == 4 ? AF_INET : AF_INET6;
		memcpy(x->gw, RTA_DATA(tb[NHA_GATEWAY]), RTA_PAYLOAD(tb[NHA_GATEWAY]));
	} else {
		x->family = 0;
	}
	if (tb[NHA_GROUP]) {
		const struct nexthop_grp *g = RTA_DATA(tb[NHA_GROUP]);
		int n = RTA_PAYLOAD(tb[NHA_GROUP]) / sizeof(*g);
		for (int i = 0; i < n && x->ngrp < 64; i++) {
			x->grp_id[x->ngrp] = g[i].id;
			/* weight - 1 in 8 bits; newer kernels carry 8 more in the byte after it */
			const uint8_t *raw = (const uint8_t *)&g[i];
			x->grp_w[x->ngrp++] = (raw[4] | raw[5] << 8) + 1;
		}
	}
	return 0;
}

static void route_add_nh(struct route *r, int gw_family, const void *gw, int ifindex, int weight)
{
	r->nh = xrealloc(r->nh, (r->nnh + 1) * sizeof(*r->nh));
	struct nhop *n = &r->nh[r->nnh++];
	memset(n, 0, sizeof(*n));
	n->gw_family = (uint8_t)gw_family;
	if (gw_family)
		memcpy(n->gw, gw, addr_len(gw_family));
	n->ifindex = ifindex;
	n->weight = weight;
}

static void parse_gw(struct rtattr **tb, int family, int *gwf, uint8_t gw[16])
{
	*gwf = 0;
	memset(gw, 0, 16);
	if (tb[RTA_GATEWAY] && RTA_PAYLOAD(tb[RTA_GATEWAY]) == (unsigned)addr_len(family)) {
		*gwf = family;
		memcpy(gw, RTA_DATA(tb[RTA_GATEWAY]), addr_len(family));
	} else if (tb[RTA_VIA] && RTA_PAYLOAD(tb[RTA_VIA]) >= 2) {
		const struct rtvia *v = RTA_DATA(tb[RTA_VIA]);
		int f = v->rtvia_family;
		if ((f == AF_INET || f == AF_INET6) && RTA_PAYLOAD(tb[RTA_VIA]) >= 2 + (unsigned)addr_len(f)) {
			*gwf = f;
			memcpy(gw, v->rtvia_addr, addr_len(f));
		}
	}
}

static bool route_wanted(int family, const uint8_t *prefix, int plen)
{
	if ((o.only4 && family != AF_INET) || (o.only6 && family != AF_INET6))
		return false;
	if (o.has_route)
		return family == o.route_family && plen == o.route_plen && !memcmp(prefix, o.route_prefix, 16);
	return true;
}

static int on_route(const struct nlmsghdr *nh, void *ctx)
{
	(void)ctx;
	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	if ((rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) || rt->rtm_type != RTN_UNICAST ||
	    (rt->rtm_flags & RTM_F_CLONED))
		return 0;
	struct rtattr *tb[RTA_MAX + 1];
	rtnl_msg_attrs(tb, RTA_MAX, nh, sizeof(*rt));
	struct route r = { .family = rt->rtm_family, .plen = rt->rtm_dst_len, .table = rt->rtm_table };
	if (tb[RTA_TABLE])
		r.table = *(uint32_t *)RTA_DATA(tb[RTA_TABLE]);
	if (tb[RTA_PRIORITY])
		r.metric = *(uint32_t *)RTA_DATA(tb[RTA_PRIORITY]);
	if (tb[RTA_DST] && RTA_PAYLOAD(tb[RTA_DST]) == (unsigned)addr_len(r.family))
		memcpy(r.prefix, RTA_DATA(tb[RTA_DST]), addr_len(r.family));
	if (!route_wanted(r.family, r.prefix, r.plen))
		return 0;
	if (tb[RTA_MULTIPATH]) {
		const struct rtnexthop *rtnh = RTA_DATA(tb[RTA_MULTIPATH]);
		int len = RTA_PAYLOAD(tb[RTA_MULTIPATH]);
		while (len >= (int)sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) && rtnh->rtnh_len <= len) {
			struct rtattr *ntb[RTA_MAX + 1];
			rtnl_attrs(ntb, RTA_MAX, RTNH_DATA(rtnh), rtnh->rtnh_len - RTNH_LENGTH(0));
			int gwf;
			uint8_t gw[16];
			parse_gw(ntb, r.family, &gwf, gw);
			route_add_nh(&r, gwf, gw, rtnh->rtnh_ifindex, rtnh->rtnh_hops + 1);
			len -= RTNH_ALIGN(rtnh->rtnh_len);
			rtnh = RTNH_NEXT(rtnh);
		}
	} else if (tb[RTA_NH_ID]) {
		r.nh_id = *(uint32_t *)RTA_DATA(tb[RTA_NH_ID]);
	} else if (tb[RTA_OIF]) {
		int gwf;
		uint8_t gw[16];
		parse_gw(tb, r.family, &gwf, gw);
		route_add_nh(&r, gwf, gw, *(int *)RTA_DATA(tb[RTA_OIF]), 1);
	}
	routes = xrealloc(routes, (nroutes + 1) * sizeof(*routes));
	routes[nroutes++] = r;
	return 0;
}

static struct nhobj *nhobj_find(uint32_t id)
{
	for (int i = 0; i < nnhobjs; i++)
		if (nhobjs[i].id == id)
			return &nhobjs[i];
	return NULL;
}

static void routes_free(void)
{
	for (int i = 0; i < nroutes; i++)
		free(routes[i].nh);
	free(routes);
	routes = NULL;
	nroutes = 0;
}

static int route_cmp(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	int c = memcmp(x->prefix, y->prefix, 16);
	if (c)
		return c;
	if (x->plen != y->plen)
		return x->plen - y->plen;
	/* the lowest metric first: the route the kernel uses (flow_route) */
	return x->metric < y->metric ? -1 : x->metric > y->metric;
}

/* Re-read links, nexthop objects, routes and neighbours of the namespace. */
static void refresh(void)
{
	int err;

	free(links);
	links = NULL;
	nlinks = 0;
	if ((err = rtnl_dump(rtnl, RTM_GETLINK, AF_UNSPEC, on_link, NULL)))
		die(EXIT_FAIL, "cannot list interfaces: %s", errno_name(-err));
	free(nhobjs);
	nhobjs = NULL;
	nnhobjs = 0;
	rtnl_dump(rtnl, RTM_GETNEXTHOP, AF_UNSPEC, on_nexthop, NULL); /* absent before 5.3: fine */
	if ((err = rtnl_dump(rtnl, RTM_GETNEIGH, AF_UNSPEC, on_neigh, NULL)))
		die(EXIT_FAIL, "cannot list neighbours: %s", errno_name(-err));
	if (o.tables || o.events)
		return;
	routes_free();
	if (!o.only6 && (err = rtnl_dump(rtnl, RTM_GETROUTE, AF_INET, on_route, NULL)))
		die(EXIT_FAIL, "cannot list IPv4 routes: %s", errno_name(-err));
	if (!o.only4 && (err = rtnl_dump(rtnl, RTM_GETROUTE, AF_INET6, on_route, NULL)) && err != -EAFNOSUPPORT)
		die(EXIT_FAIL, "cannot list IPv6 routes: %s", errno_name(-err));
	/* resolve nexthop objects; keep multipath routes (any route with -r) */
	int keep = 0;
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		if (r->nh_id) {
			struct nhobj *x = nhobj_find(r->nh_id);
			if (x && x->ngrp) {
				for (int k = 0; k < x->ngrp; k++) {
					struct nhobj *m = nhobj_find(x->grp_id[k]);
					if (m)
						route_add_nh(r, m->family, m->gw, m->ifindex, x->grp_w[k]);
				}
			} else if (x) {
				route_add_nh(r, x->family, x->gw, x->ifindex, 1);
			}
		}
		if (r->nnh >= 2 || (o.has_route && r->nnh >= 1))
			routes[keep++] = *r;
		else
			free(r->nh);
	}
	nroutes = keep;
	qsort(routes, nroutes, sizeof(*routes), route_cmp);
	for (int i = 0; i < nroutes; i++)
		for (int j = 0; j < routes[i].nnh; j++) {
			struct nhop *n = &routes[i].nh[j];
			for (int q = 0; q < nneighs && n->gw_family && !n->has_mac; q++)
				if (neighs[q].ifindex == n->ifindex && neighs[q].family == n->gw_family &&
				    !memcmp(neighs[q].addr, n->gw, 16)) {
					n->has_mac = true;
					memcpy(n->mac, neighs[q].mac, 6);
				}
		}
}

static const char *route_str(const struct route *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	snprintf(buf, len, "%s/%d", fmt_addr(r->family, r->prefix, a, sizeof(a)), r->plen);
	return buf;
}

/* ---- BPF ------------------------------------------------------------- */

static struct fibstat_bpf *skel;
static struct bpf_link **attached;
static int nattached;
static int ncpus;
static bool have_sel4, have_sel6, have_xmit, have_lk4, have_lk6;

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

static uint64_t counter_sum(enum fs_counter c)
{
	uint64_t vals[ncpus], s = 0;
	__u32 k = c;
	memset(vals, 0, sizeof(vals)); /* filled by the kernel; valgrind cannot tell */
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &k, vals))
		return 0;
	for (int i = 0; i < ncpus; i++)
		s += vals[i];
	return s;
}

struct flow {
	struct fs_flow_key k;
	struct fs_flow_val v;
	double last_change;  /* monotonic time its packet count last moved */
};

static struct flow *fl;
static int nfl, capfl;

static int flow_cmp(const void *a, const void *b)
{
	const struct flow *x = a, *y = b;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	int c = memcmp(x->k.dst, y->k.dst, 16);
	if (c)
		return c;
	if ((c = memcmp(x->k.src, y->k.src, 16)))
		return c;
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	if (x->k.sport != y->k.sport)
		return x->k.sport - y->k.sport;
	if (x->k.dport != y->k.dport)
		return x->k.dport - y->k.dport;
	if (x->k.ifindex != y->k.ifindex)
		return (int)x->k.ifindex - (int)y->k.ifindex;
	return memcmp(x->k.mac, y->k.mac, 6);
}

/* Every flow in the BPF table (batched where the kernel can). */
static void read_flows(void)
{
	int fd = bpf_map__fd(skel->maps.flows);
	nfl = 0;
	if (capfl < (int)o.max_flows) {
		capfl = (int)o.max_flows;
		fl = xrealloc(fl, capfl * sizeof(*fl));
	}
	static struct fs_flow_key *keys;
	static struct fs_flow_val *vals;
	static bool no_batch;
	if (!keys) {
		keys = xcalloc(1024, sizeof(*keys));
		vals = xcalloc(1024, sizeof(*vals));
	}
	if (!no_batch) {
		__u32 token = 0, n;
		bool first = true;
		for (;;) {
			n = 1024;
			int err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals, &n, NULL);
			if (err && errno != ENOENT) {
				if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
					no_batch = true;
					break;
				}
				die(EXIT_FAIL, "cannot read the flow table: %s", errno_name(errno));
			}
			for (__u32 i = 0; i < n && nfl < capfl; i++) {
				fl[nfl].k = keys[i];
				fl[nfl++].v = vals[i];
			}
			if (err)
				return; /* ENOENT: the end */
			first = false;
		}
	}
	struct fs_flow_key k, next, *prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, &next) && nfl < capfl) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &fl[nfl].v))
			fl[nfl++].k = k;
	}
}

/* The route and nexthop a flow left by: the longest prefix among the
 * watched routes that holds the destination and has a nexthop on the
 * device, told apart by the neighbour's MAC where several share it. */
static struct route *flow_route(const struct fs_flow_key *k, int *nhi)
{
	int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
	struct route *best = NULL;
	int best_nh = -1;
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		if (r->family != fam || (best && best->plen >= r->plen))
			continue;
		uint8_t d[16] = { 0 };
		memcpy(d, k->dst, addr_len(fam));
		mask_prefix(d, r->plen, addr_len(fam));
		if (memcmp(d, r->prefix, 16))
			continue;
		int on_dev = -1, n_on_dev = 0, exact = -1;
		for (int j = 0; j < r->nnh; j++) {
			struct nhop *n = &r->nh[j];
			if (n->ifindex != (int)k->ifindex)
				continue;
			n_on_dev++;
			on_dev = j;
			if (n->has_mac && !memcmp(n->mac, k->mac, 6))
				exact = j;
		}
		int pick = exact >= 0 ? exact : n_on_dev == 1 ? on_dev : -1;
		if (pick >= 0) {
			best = r;
			best_nh = pick;
		}
	}
	*nhi = best_nh;
	return best;
}

static bool flow_matches(const struct fs_flow_key *k)
{
	const struct flowspec *f = &o.fs;
	int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
	if ((o.only4 && fam != AF_INET) || (o.only6 && fam != AF_INET6))
		return false;
	if (!f->set)
		return true;
	if (f->family && f->family != fam)
		return false;
	if (f->proto >= 0 && f->proto != k->proto)
		return false;
	if (f->has_src && memcmp(f->src, k->src, addr_len(fam)))
		return false;
	if (f->has_dst && memcmp(f->dst, k->dst, addr_len(fam)))
		return false;
	if (f->sport >= 0 && f->sport != k->sport)
		return false;
	if (f->dport >= 0 && f->dport != k->dport)
		return false;
	return true;
}

/* Rates: the previous snapshot's packet count per identity. */
struct prev {
	char *id;
	uint64_t v;
	bool seen;
};
static struct prev *prevs;
static int nprevs;

static double rate_of(const char *id, uint64_t now, double dt)
{
	struct prev *p = NULL;
	for (int i = 0; i < nprevs && !p; i++)
		if (!strcmp(prevs[i].id, id))
			p = &prevs[i];
	if (!p) {
		prevs = xrealloc(prevs, (nprevs + 1) * sizeof(*prevs));
		p = &prevs[nprevs++];
		p->id = xstrdup(id);
		p->v = 0; /* counting started with the tool */
	}
	uint64_t d = now >= p->v ? now - p->v : 0;
	p->v = now;
	p->seen = true;
	return dt > 0 ? d / dt : 0;
}

static void prevs_free(void)
{
	for (int i = 0; i < nprevs; i++)
		free(prevs[i].id);
	free(prevs);
}

static void read_selections(void)
{
	int fd = bpf_map__fd(skel->maps.selections);
	struct fs_sel_key k, next, *prev = NULL;
	uint64_t vals[ncpus];
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		memset(vals, 0, sizeof(vals));
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		uint64_t s = 0;
		for (int i = 0; i < ncpus; i++)
			s += vals[i];
		int fam = k.family == FS_AF_INET ? AF_INET : AF_INET6;
		for (int i = 0; i < nroutes; i++) {
			struct route *r = &routes[i];
			if (r->family != fam || r->table != k.table || r->plen != k.plen || memcmp(r->prefix, k.prefix, 16))
				continue;
			for (int j = 0; j < r->nnh; j++) {
				struct nhop *n = &r->nh[j];
				if (n->ifindex == k.oif && n->gw_family == k.gw_family &&
				    (!n->gw_family || !memcmp(n->gw, k.gw, addr_len(n->gw_family))))
					n->selections += s;
			}
		}
	}
}

/* The policy's name as the label value (kernel: ip-sysctl.rst). */
static const char *policy_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 0: return "L3";
	case 1: return "L4";
	case 2: return "L3_inner";
	case 3: return "custom";
	}
	snprintf(buf, len, "%d", p); /* a policy newer than this tool */
	return buf;
}

/* hash_policy_ipvV and, for the custom policy, hash_fields_ipvV. */
static void hash_policy_meta(struct snapshot *sn, int v)
{
	char path[96], buf[64];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv%d/fib_multipath_hash_policy", v);
	FILE *f = fopen(path, "r");
	int pol = -1;
	if (f) {
		if (fscanf(f, "%d", &pol) != 1)
			pol = -1;
		fclose(f);
	}
	if (pol < 0)
		return;
	snap_meta(sn, v == 4 ? "hash_policy_ipv4" : "hash_policy_ipv6", "%s", policy_name(pol, buf, sizeof(buf)));
	if (pol != 3)
		return;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv%d/fib_multipath_hash_fields", v);
	f = fopen(path, "r");
	if (!f)
		return;
	unsigned long mask = 0;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%li", (long *)&mask) != 1)
		mask = 0;
	fclose(f);
	static const char *const names[] = {
		"src_ip", "dst_ip", "ip_proto", "flowlabel", "src_port", "dst_port", "inner_src_ip",
		"inner_dst_ip", "inner_ip_proto", "inner_flowlabel", "inner_src_port", "inner_dst_port",
	};
	char list[256] = "";
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (mask & (1ul << i))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? "," : "", names[i]);
	snap_meta(sn, v == 4 ? "hash_fields_ipv4" : "hash_fields_ipv6", "%s", list[0] ? list : "none");
}

static const char *mechanism(char *buf, size_t len)
{
	snprintf(buf, len, "egress: tp_btf net_dev_start_xmit; selections: %s",
		 have_sel4 && have_sel6 ? "fexit fib_select_multipath, fib6_select_path"
		 : have_sel4 ? "fexit fib_select_multipath"
		 : have_sel6 ? "fexit fib6_select_path"
		 : "unavailable (no BPF trampolines on this kernel)");
	return buf;
}

static void gw_str(const struct nhop *n, char *buf, size_t len)
{
	if (n->gw_family)
		fmt_addr(n->gw_family, n->gw, buf, len);
	else
		snprintf(buf, len, "-");
}

/* The previous snapshot's flows, sorted: rates and idle times. */
static struct flow *pfl;
static int npfl;

/* Counts of flows retired from the BPF table, per route and nexthop. */
struct retired {
	int family;
	uint32_t table;
	uint8_t prefix[16];
	int plen;
	uint32_t metric;
	uint8_t gw_family;
	uint8_t gw[16];
	int ifindex;
	uint64_t flows, packets, bytes;
};
static struct retired *ret;
static int nret;
static uint64_t retired_total;

static bool same_nh(const struct retired *x, const struct route *r, const struct nhop *n)
{
	return x->family == r->family && x->table == r->table && x->plen == r->plen && x->metric == r->metric &&
	       !memcmp(x->prefix, r->prefix, 16) && x->gw_family == n->gw_family && !memcmp(x->gw, n->gw, 16) &&
	       x->ifindex == n->ifindex;
}

static void retire(const struct flow *f)
{
	int j;
	struct route *r = flow_route(&f->k, &j);
	retired_total++;
	if (!r)
		return;
	struct retired *x = NULL;
	for (int i = 0; i < nret && !x; i++)
		if (same_nh(&ret[i], r, &r->nh[j]))
			x = &ret[i];
	if (!x) {
		ret = xrealloc(ret, (nret + 1) * sizeof(*ret));
		x = &ret[nret++];
		memset(x, 0, sizeof(*x));
		x->family = r->family;
		x->table = r->table;
		memcpy(x->prefix, r->prefix, 16);
		x->plen = r->plen;
		x->metric = r->metric;
		x->gw_family = r->nh[j].gw_family;
		memcpy(x->gw, r->nh[j].gw, 16);
		x->ifindex = r->nh[j].ifindex;
	}
	x->flows++;
	x->packets += f->v.packets;
	x->bytes += f->v.bytes;
}

/* Read the flow table, sorted; note when each flow last moved and retire
 * those idle longer than --flow-timeout (their counts move to the route's
 * nexthop in user space, the BPF entry is freed for new flows). */
static void collect_flows(void)
{
	double now = now_mono();
	int fd = bpf_map__fd(skel->maps.flows);

	read_flows();
	qsort(fl, nfl, sizeof(*fl), flow_cmp);
	int keep = 0;
	for (int i = 0; i < nfl; i++) {
		struct flow *f = &fl[i];
		struct flow *p = npfl ? bsearch(f, pfl, npfl, sizeof(*pfl), flow_cmp) : NULL;
		f->last_change = p && p->v.packets == f->v.packets ? p->last_change : now;
		if (o.flow_timeout > 0 && now - f->last_change > o.flow_timeout && !bpf_map_delete_elem(fd, &f->k)) {
			retire(f);
			continue;
		}
		fl[keep++] = *f;
	}
	nfl = keep;
}

/* The previous packet count of flow f (0 for a new one); then remember all. */
static uint64_t flow_prev_packets(const struct flow *f)
{
	const struct flow *p = npfl ? bsearch(f, pfl, npfl, sizeof(*pfl), flow_cmp) : NULL;
	return p ? p->v.packets : 0;
}

static void remember_flows(void)
{
	pfl = xrealloc(pfl, (nfl ? nfl : 1) * sizeof(*pfl));
	memcpy(pfl, fl, nfl * sizeof(*fl));
	npfl = nfl;
}

/* Facts of the nexthop and flow views. */
static void flow_meta(struct snapshot *sn)
{
	static bool warned;
	char mech[160];

	snap_meta(sn, "mechanism", "%s", mechanism(mech, sizeof(mech)));
	if (!o.only6 && (!o.has_route || o.route_family == AF_INET))
		hash_policy_meta(sn, 4);
	if (!o.only4 && (!o.has_route || o.route_family == AF_INET6))
		hash_policy_meta(sn, 6);
	snap_meta_u64(sn, "routes", (uint64_t)nroutes);
	snap_meta_u64(sn, "flows_tracked", (uint64_t)nfl);
	snap_meta_u64(sn, "flows_retired", retired_total);
	uint64_t dropped = counter_sum(FS_C_FLOWS_DROPPED);
	snap_meta_u64(sn, "flows_dropped", dropped);
	if (dropped && !warned) {
		warnx_("the flow table is full (%u flows): new flows go uncounted (flows_dropped); raise --max-flows",
		       o.max_flows);
		warned = true;
	}
	if (have_sel4 || have_sel6)
		snap_meta_u64(sn, "selections_dropped", counter_sum(FS_C_SELECTIONS_DROPPED));
	out_set_missed(bpfobj_recursion_misses(skel->obj));
}

static int snapshot_nexthops(double dt)
{
	char b1[INET6_ADDRSTRLEN + 8], b2[INET6_ADDRSTRLEN], b3[IF_NAMESIZE + 8], id[256];

	collect_flows();
	for (int i = 0; i < nfl; i++) {
		if (!flow_matches(&fl[i].k))
			continue;
		int j;
		struct route *r = flow_route(&fl[i].k, &j);
		if (!r)
			continue;
		r->nh[j].flows++;
		r->nh[j].packets += fl[i].v.packets;
		r->nh[j].bytes += fl[i].v.bytes;
	}
	for (int i = 0; i < nret; i++)
		for (int q = 0; q < nroutes; q++)
			for (int j = 0; j < routes[q].nnh; j++)
				if (same_nh(&ret[i], &routes[q], &routes[q].nh[j])) {
					routes[q].nh[j].flows += ret[i].flows;
					routes[q].nh[j].packets += ret[i].packets;
					routes[q].nh[j].bytes += ret[i].bytes;
				}
	remember_flows();
	if (have_sel4 || have_sel6)
		read_selections();

	struct snapshot *sn = snap_begin(&nh_schema);
	flow_meta(sn);
	for (int i = 0; i < nroutes; i++) {
		struct route *r = &routes[i];
		uint64_t P = 0, F = 0;
		long W = 0;
		for (int j = 0; j < r->nnh; j++) {
			P += r->nh[j].packets;
			F += r->nh[j].flows;
			W += r->nh[j].weight;
		}
		double imbal = 0, fimbal = 0;
		for (int j = 0; j < r->nnh && W; j++) {
			double fair = (double)r->nh[j].weight / W;
			if (P && (double)r->nh[j].packets / P / fair > imbal)
				imbal = (double)r->nh[j].packets / P / fair;
			if (F && (double)r->nh[j].flows / F / fair > fimbal)
				fimbal = (double)r->nh[j].flows / F / fair;
		}
		route_str(r, b1, sizeof(b1));
		for (int j = 0; j < r->nnh; j++) {
			struct nhop *n = &r->nh[j];
			struct record *rec = snap_add(sn);
			rec_str(rec, N_NETNS, ns_label);
			rec_str(rec, N_FAMILY, r->family == AF_INET ? "ipv4" : "ipv6");
			rec_u64(rec, N_TABLE, r->table);
			rec_u64(rec, N_METRIC, r->metric);
			rec_str(rec, N_ROUTE, b1);
			rec_u64(rec, N_NH, (uint64_t)j);
			gw_str(n, b2, sizeof(b2));
			if (n->gw_family)
				rec_str(rec, N_GW, b2);
			else
				rec_none(rec, N_GW);
			rec_str(rec, N_IFACE, ifname(n->ifindex, b3, sizeof(b3)));
			rec_u64(rec, N_WEIGHT, (uint64_t)n->weight);
			rec_u64(rec, N_FLOWS, n->flows);
			rec_u64(rec, N_PACKETS, n->packets);
			rec_u64(rec, N_BYTES, n->bytes);
			snprintf(id, sizeof(id), "%u %u %s %s %d", r->table, r->metric, b1, b2, n->ifindex);
			rec_dbl(rec, N_PPS, rate_of(id, n->packets, dt));
			if (P)
				rec_dbl(rec, N_SHARE, (double)n->packets / P);
			else
				rec_none(rec, N_SHARE);
			if (W)
				rec_dbl(rec, N_FAIR, (double)n->weight / W);
			else
				rec_none(rec, N_FAIR);
			if (P)
				rec_dbl(rec, N_IMBAL, imbal);
			else
				rec_none(rec, N_IMBAL);
			if (F) {
				rec_dbl(rec, N_FLOW_SHARE, (double)n->flows / F);
				rec_dbl(rec, N_FLOW_IMBAL, fimbal);
			} else {
				rec_none(rec, N_FLOW_SHARE);
				rec_none(rec, N_FLOW_IMBAL);
			}
			if ((r->family == AF_INET && have_sel4) || (r->family == AF_INET6 && have_sel6))
				rec_u64(rec, N_SEL, n->selections);
			else
				rec_none(rec, N_SEL);
		}
	}
	return snap_end(sn);
}

static int snapshot_flows(double dt)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], rb[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN];
	char ifb[IF_NAMESIZE + 8], pb[16], mac[18];
	static const uint8_t nomac[6];

	collect_flows();
	struct snapshot *sn = snap_begin(&flow_schema);
	flow_meta(sn);
	for (int i = 0; i < nfl; i++) {
		const struct fs_flow_key *k = &fl[i].k;
		if (!flow_matches(k))
			continue;
		int j;
		struct route *r = flow_route(k, &j);
		if (o.has_route && !r)
			continue; /* -r: only flows of that route */
		int fam = k->family == FS_AF_INET ? AF_INET : AF_INET6;
		struct record *rec = snap_add(sn);
		rec_str(rec, W_NETNS, ns_label);
		rec_str(rec, W_FAMILY, fam == AF_INET ? "ipv4" : "ipv6");
		rec_str(rec, W_PROTO, proto_name(k->proto, pb, sizeof(pb)));
		rec_str(rec, W_SRC, fmt_addr(fam, k->src, src, sizeof(src)));
		rec_u64(rec, W_SPORT, k->sport);
		rec_str(rec, W_DST, fmt_addr(fam, k->dst, dst, sizeof(dst)));
		rec_u64(rec, W_DPORT, k->dport);
		if (memcmp(k->mac, nomac, 6)) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", k->mac[0], k->mac[1], k->mac[2],
				 k->mac[3], k->mac[4], k->mac[5]);
			rec_str(rec, W_MAC, mac);
		} else {
			rec_none(rec, W_MAC);
		}
		if (r) {
			rec_u64(rec, W_TABLE, r->table);
			rec_str(rec, W_ROUTE, route_str(r, rb, sizeof(rb)));
			rec_u64(rec, W_NH, (uint64_t)j);
			gw_str(&r->nh[j], gw, sizeof(gw));
			if (r->nh[j].gw_family)
				rec_str(rec, W_GW, gw);
			else
				rec_none(rec, W_GW);
		} else {
			rec_none(rec, W_TABLE);
			rec_none(rec, W_ROUTE);
			rec_none(rec, W_NH);
			rec_none(rec, W_GW);
		}
		rec_str(rec, W_IFACE, ifname((int)k->ifindex, ifb, sizeof(ifb)));
		rec_u64(rec, W_PACKETS, fl[i].v.packets);
		rec_u64(rec, W_BYTES, fl[i].v.bytes);
		uint64_t before = flow_prev_packets(&fl[i]);
		rec_dbl(rec, W_PPS, dt > 0 && fl[i].v.packets >= before ? (fl[i].v.packets - before) / dt : 0);
	}
	remember_flows();
	return snap_end(sn);
}

/* ---- table view ------------------------------------------------------ */

struct lkrow {
	int family;
	uint32_t table;
	int iif, oif;
	uint64_t n[FS_NRESULTS];
};

/* Input interface: lo (output lookups) and none read "-". */
static const char *iif_label(int ifindex, char *buf, size_t len)
{
	if (ifindex == 0 || ifindex == LOOPBACK_IFINDEX)
		return "-";
	return ifname(ifindex, buf, len);
}

static const char *oif_label(int ifindex, char *buf, size_t len)
{
	return ifindex ? ifname(ifindex, buf, len) : "-";
}

static int lk_cmp(const void *a, const void *b)
{
	const struct lkrow *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->iif != y->iif)
		return x->iif - y->iif;
	return x->oif - y->oif;
}

static int snapshot_tables(double dt)
{
	int fd = bpf_map__fd(skel->maps.lookups);
	struct fs_lk_key k, next, *prev = NULL;
	uint64_t vals[ncpus];
	struct lkrow *rows = NULL;
	int nrows = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		memset(vals, 0, sizeof(vals));
		if (bpf_map_lookup_elem(fd, &k, vals) || k.result >= FS_NRESULTS)
			continue;
		int fam = k.family == FS_AF_INET ? AF_INET : AF_INET6;
		if ((o.only4 && fam != AF_INET) || (o.only6 && fam != AF_INET6))
			continue;
		/* output lookups: lo and none both mean "locally generated" (a
		 * copy: k is the iteration cursor) */
		int iif = k.iif == LOOPBACK_IFINDEX ? 0 : k.iif;
		uint64_t s = 0;
		for (int i = 0; i < ncpus; i++)
			s += vals[i];
		struct lkrow *r = NULL;
		for (int i = 0; i < nrows && !r; i++)
			if (rows[i].family == fam && rows[i].table == k.table && rows[i].iif == iif && rows[i].oif == k.oif)
				r = &rows[i];
		if (!r) {
			rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
			r = &rows[nrows++];
			memset(r, 0, sizeof(*r));
			r->family = fam;
			r->table = k.table;
			r->iif = iif;
			r->oif = k.oif;
		}
		r->n[k.result] += s;
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), lk_cmp);

	char mech[128], b1[IF_NAMESIZE + 8], b2[IF_NAMESIZE + 8], id[64];
	snprintf(mech, sizeof(mech), "tp_btf%s%s", have_lk4 ? " fib:fib_table_lookup" : "",
		 have_lk6 ? " fib6:fib6_table_lookup" : "");
	struct snapshot *sn = snap_begin(&lk_schema);
	/* Prometheus: one counter with a result label */
	struct snapshot *res = snap_begin(&lkres_schema);
	snap_meta(sn, "mechanism", "%s", mech);
	if (have_lk4)
		snap_meta_u64(sn, "unattributed_ipv4", counter_sum(FS_C_LK_UNATTRIBUTED));
	snap_meta_u64(sn, "lookups_dropped", counter_sum(FS_C_LOOKUPS_DROPPED));
	out_set_missed(bpfobj_recursion_misses(skel->obj));
	for (int i = 0; i < nrows; i++) {
		struct lkrow *r = &rows[i];
		struct record *rec = snap_add(sn);
		uint64_t tot = 0;
		for (int q = 0; q < FS_NRESULTS; q++)
			tot += r->n[q];
		const char *fam = r->family == AF_INET ? "ipv4" : "ipv6";
		const char *vrf = vrf_of_table(r->table);
		rec_str(rec, L_NETNS, ns_label);
		rec_str(rec, L_FAMILY, fam);
		rec_u64(rec, L_TABLE, r->table);
		rec_str(rec, L_VRF, vrf); /* NULL: none */
		rec_str(rec, L_IIF, iif_label(r->iif, b1, sizeof(b1)));
		rec_str(rec, L_OIF, oif_label(r->oif, b2, sizeof(b2)));
		for (int q = 0; q < FS_NRESULTS; q++) {
			struct record *x = snap_add(res);
			rec_str(x, R_NETNS, ns_label);
			rec_str(x, R_FAMILY, fam);
			rec_u64(x, R_TABLE, r->table);
			rec_str(x, R_VRF, vrf);
			rec_str(x, R_IIF, iif_label(r->iif, b1, sizeof(b1)));
			rec_str(x, R_OIF, oif_label(r->oif, b2, sizeof(b2)));
			rec_str(x, R_RESULT, result_names[q]);
			rec_u64(x, R_LOOKUPS, r->n[q]);
		}
		rec_u64(rec, L_LOOKUPS, tot);
		rec_u64(rec, L_FOUND, r->n[FS_FOUND]);
		rec_u64(rec, L_MISS, r->n[FS_MISS]);
		rec_u64(rec, L_UNREACH, r->n[FS_UNREACHABLE]);
		rec_u64(rec, L_PROHIBIT, r->n[FS_PROHIBIT]);
		rec_u64(rec, L_BLACKHOLE, r->n[FS_BLACKHOLE]);
		rec_u64(rec, L_ERROR, r->n[FS_ERROR]);
		snprintf(id, sizeof(id), "lk %d %u %d %d", r->family, r->table, r->iif, r->oif);
		rec_dbl(rec, L_LPS, rate_of(id, tot, dt));
	}
	free(rows);
	snap_append(sn, res);
	return snap_end(sn);
}

/* ---- events ----------------------------------------------------------- */

static long events_left;

static int on_event(void *ctx, const void *data, size_t size)
{
	(void)ctx;
	if (size < sizeof(struct fs_event))
		return 0;
	const struct fs_event *e = data;
	int fam = e->family == FS_AF_INET ? AF_INET : AF_INET6;
	if ((o.only4 && fam != AF_INET) || (o.only6 && fam != AF_INET6))
		return 0;
	char a[INET6_ADDRSTRLEN], b1[IF_NAMESIZE + 8], pb[16];
	struct record *r = event_new(&ev_schema);
	char rb[16];
	snprintf(rb, sizeof(rb), "result_%u", e->result);
	rec_str(r, E_TYPE, e->result < FS_NRESULTS ? result_names[e->result] : rb);
	rec_str(r, E_FAMILY, fam == AF_INET ? "ipv4" : "ipv6");
	rec_u64(r, E_TABLE, e->table);
	rec_str(r, E_VRF, vrf_of_table(e->table)); /* NULL: none */
	if (e->err) {
		rec_u64(r, E_ERRNO, (uint64_t)(e->err < 0 ? -(int64_t)e->err : e->err));
		rec_str(r, E_ERRNO_NAME, errno_name(e->err));
	} else {
		rec_none(r, E_ERRNO);
		rec_none(r, E_ERRNO_NAME);
	}
	rec_str(r, E_PROTO, proto_name(e->proto, pb, sizeof(pb)));
	rec_str(r, E_SRC, fmt_addr(fam, e->src, a, sizeof(a)));
	rec_u64(r, E_SPORT, e->sport);
	rec_str(r, E_DST, fmt_addr(fam, e->dst, a, sizeof(a)));
	rec_u64(r, E_DPORT, e->dport);
	rec_str(r, E_IIF, iif_label(e->iif, b1, sizeof(b1)));
	rec_str(r, E_OIF, oif_label(e->oif, b1, sizeof(b1)));
	rec_u64(r, E_MARK, e->mark);
	int err = event_emit(r);
	if (err)
		die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	if (events_left && --events_left == 0)
		loop_request_stop();
	return 0;
}

/* ---- main ------------------------------------------------------------- */

static bool pick(struct bpf_program *p, bool want, bool ok, const char *what)
{
	bool on = want && ok;
	bpf_program__set_autoload(p, on);
	if (want && !ok)
		note("%s is unavailable on this kernel: not loaded", what);
	return on;
}

/* One interval of a snapshot view (the snapshot driver's callback). */
static int interval_done(void *ctx, double dt)
{
	refresh();
	if (*(bool *)ctx)
		watch_interfaces();
	return o.tables ? snapshot_tables(dt) : o.flows_view ? snapshot_flows(dt) : snapshot_nexthops(dt);
}

int main(int argc, char **argv)
{
	int err;

	opts_parse(&argp, argc, argv, NULL);
	int views = (o.tables ? 1 : 0) + (o.events ? 1 : 0) + (o.flows_view ? 1 : 0);
	if (views > 1)
		die(EXIT_USAGE, "--tables, --events and --flows/--flow are separate views: pick one (see --help)");
	if (o.only4 && o.only6)
		die(EXIT_USAGE, "-4 and -6 exclude each other (see --help)");
	if (o.misses && !o.events)
		die(EXIT_USAGE, "--misses applies to --events (see --help)");
	if (o.events)
		opts_event_stream("--events");
	if (o.has_route && (o.tables || o.events))
		die(EXIT_USAGE, "--route applies to the nexthop and flow views, not to --tables or --events (see --help)");
	if (o.has_route && ((o.only4 && o.route_family != AF_INET) || (o.only6 && o.route_family != AF_INET6)))
		die(EXIT_USAGE, "--route %s contradicts -%c (see --help)", o.route_family == AF_INET ? "is IPv4" : "is IPv6",
		    o.only4 ? '4' : '6');
	require_bpf_privileges();
	probe_require_btf();

	/* the namespace: routes, neighbours and sysctls are read inside it */
	if (o.netns) {
		struct netns ns;
		int fd = netns_require("--netns", o.netns, &ns);
		target_ino = (uint32_t)ns.ino;
		netns_enter_or_die(fd, o.netns);
		close(fd);
		/* the netns label: the name under /run/netns, ns:INODE for a path */
		snprintf(ns_label, sizeof(ns_label), "%s", ns.name);
	} else {
		if ((err = netns_self_inode(&target_ino)))
			die(EXIT_FAIL, "cannot read this process's network namespace: %s", errno_name(-err));
		snprintf(ns_label, sizeof(ns_label), "-"); /* the tool's own */
	}
	if ((rtnl = rtnl_open()) < 0)
		die(EXIT_FAIL, "cannot open a netlink socket: %s", errno_name(-rtnl));
	bool nh_view = !o.tables && !o.events;
	refresh();
	if (nh_view && o.has_route && !nroutes) {
		char b[INET6_ADDRSTRLEN];
		die(EXIT_NOTFOUND, "no route %s/%d%s%s (list them with: ip route show table all)",
		    fmt_addr(o.route_family, o.route_prefix, b, sizeof(b)), o.route_plen,
		    o.netns ? " in network namespace " : "", o.netns ? o.netns : "");
	}

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die(EXIT_FAIL, "cannot count possible CPUs: %s", errno_name(-ncpus));

	/* probe, open, configure, load */
	bool fentry = nh_view && probe_fentry();
	skel = fibstat_bpf__open();
	if (!skel)
		die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
	have_xmit = pick(skel->progs.xmit, nh_view, probe_tp_btf("net_dev_start_xmit"), "tracepoint net_dev_start_xmit");
	if (nh_view && !have_xmit)
		die(EXIT_NOFEATURE, "the kernel has no net_dev_start_xmit tracepoint usable by tp_btf: "
		    "egress per nexthop cannot be observed");
	have_sel4 = pick(skel->progs.sel4, nh_view && !o.only6, fentry && probe_btf_func("fib_select_multipath"),
			 "fexit on fib_select_multipath");
	have_sel6 = pick(skel->progs.sel6, nh_view && !o.only4, fentry && probe_btf_func("fib6_select_path"),
			 "fexit on fib6_select_path");
	bool lk = !nh_view;
	have_lk4 = pick(skel->progs.lk4, lk && !o.only6, probe_tp_btf("fib_table_lookup"), "tracepoint fib:fib_table_lookup");
	have_lk6 = pick(skel->progs.lk6, lk && !o.only4, probe_tp_btf("fib6_table_lookup"), "tracepoint fib6:fib6_table_lookup");
	pick(skel->progs.rx, have_lk4, probe_tp_btf("netif_receive_skb"), "tracepoint net:netif_receive_skb");
	if (lk && !have_lk4 && !have_lk6)
		die(EXIT_NOFEATURE, "the kernel has no fib_table_lookup tracepoint usable by tp_btf: %s is unavailable",
		    o.events ? "--events" : "--tables");
	skel->rodata->target_netns = target_ino;
	skel->rodata->emit_events = o.events;
	skel->rodata->emit_misses = o.misses;
	bpf_map__set_max_entries(skel->maps.flows, nh_view ? o.max_flows : 1);
	evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
	err = fibstat_bpf__load(skel);
	if (err && (have_sel4 || have_sel6)) {
		/* trampolines refused after all: egress alone still answers */
		note("cannot load the fexit programs (%s): counting without selections", errno_name(-err));
		fibstat_bpf__destroy(skel);
		skel = fibstat_bpf__open();
		if (!skel)
			die(EXIT_FAIL, "cannot open BPF object: %s", errno_name(errno));
		bpf_program__set_autoload(skel->progs.sel4, false);
		bpf_program__set_autoload(skel->progs.sel6, false);
		bpf_program__set_autoload(skel->progs.lk4, false);
		bpf_program__set_autoload(skel->progs.lk6, false);
		bpf_program__set_autoload(skel->progs.rx, false);
		have_sel4 = have_sel6 = false;
		skel->rodata->target_netns = target_ino;
		bpf_map__set_max_entries(skel->maps.flows, o.max_flows);
		evbuf_configure(skel->maps.events, false, &skel->rodata->events_use_perf);
		err = fibstat_bpf__load(skel);
	}
	if (err)
		die_bpf_load(err);
	if (nh_view)
		watch_interfaces();
	/* attach one by one: a kernel may refuse fexit on one function (more
	 * arguments than its trampolines take, say) and allow it on the other */
	struct bpf_program *p;
	bpf_object__for_each_program(p, skel->obj) {
		if (!bpf_program__autoload(p))
			continue;
		struct bpf_link *l = bpf_program__attach(p);
		if (l) {
			attached = xrealloc(attached, (nattached + 1) * sizeof(*attached));
			attached[nattached++] = l;
			continue;
		}
		err = -errno;
		if (p == skel->progs.sel4 || p == skel->progs.sel6) {
			note("cannot attach fexit to %s (%s): no selections for %s", p == skel->progs.sel4 ?
			     "fib_select_multipath" : "fib6_select_path", errno_name(-err), p == skel->progs.sel4 ? "IPv4" : "IPv6");
			*(p == skel->progs.sel4 ? &have_sel4 : &have_sel6) = false;
			continue;
		}
		die(EXIT_FAIL, "cannot attach %s: %s", bpf_program__name(p), errno_name(-err));
	}
	loop_init();

	if (o.events) {
		struct evbuf *evb = evbuf_open(skel->maps.events, skel->maps.events_lost, on_event, NULL);
		if (!evb)
			die(EXIT_FAIL, "cannot open the event buffer: %s", errno_name(errno));
		event_meta("mechanism", "tp_btf fib lookup tracepoints, %s", evbuf_mechanism(evb));
		if (o.only4) { /* IPv4 addresses only: their width */
			efields[E_SRC].width = 15;
			efields[E_DST].width = 15;
		}
		out_set_missed(bpfobj_recursion_misses(skel->obj));
		if ((err = event_start(&ev_schema)))
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
		events_left = copts.count;
		double last_refresh = now_mono(), last_missed = last_refresh;
		while (!loop_stopping()) {
			/* the event driver sets lost_events and warns when it grows */
			err = evbuf_poll(evb, 200);
			if (err < 0)
				die(EXIT_FAIL, "cannot read events: %s", errno_name(-err));
			if (now_mono() - last_refresh > 2) { /* names of new interfaces and VRFs */
				refresh();
				last_refresh = now_mono();
			}
			if (now_mono() - last_missed >= 1) {
				out_set_missed(bpfobj_recursion_misses(skel->obj));
				last_missed = now_mono();
			}
		}
		evbuf_free(evb);
	} else {
		if (!copts.interval_set)
			copts.interval = 1.0;
		err = snapshot_run(copts.interval, copts.count, NULL, NULL, interval_done, &nh_view);
		if (err)
			die(EXIT_FAIL, "cannot write output: %s", errno_name(-err));
	}

	for (int i = 0; i < nattached; i++)
		bpf_link__destroy(attached[i]);
	free(attached);
	fibstat_bpf__destroy(skel);
	close(rtnl);
	routes_free();
	free(links);
	free(neighs);
	free(nhobjs);
	free(fl);
	free(pfl);
	free(ret);
	prevs_free();
	event_meta_free();
	return EXIT_OK;
}
