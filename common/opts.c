// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include <net/if.h>
#include <sys/socket.h>

#include "bpfobj.h"
#include "loop.h"
#include "opts.h"
#include "util.h"

struct common_opts copts;

const char *argp_program_version = "bpfscope " BPFSCOPE_VERSION;
const char *argp_program_bug_address = "<https://github.com/bpfscope/bpfscope/issues>";

enum {
	OPT_FILE = 0x1000,
	OPT_WIDE,
	OPT_NOHDR,
	OPT_INSTANCE,
	OPT_STATE,
	OPT_LIST_FIELDS,
};

static const struct argp_option common_options[] = {
	{ NULL, 'h', NULL, 0, "Give this help list (as --help)", -1 },
	{ "interval", 'i', "SEC", 0, "Print a snapshot every SEC seconds (fractions allowed)", 0 },
	{ "count", 'c', "N", 0, "Stop after N snapshots", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a time stamp with each snapshot or event", 0 },
	{ "output", 'o', "FORMAT", 0, "Output format: table (default), json (JSON Lines), prom (Prometheus text)", 0 },
	{ "file", OPT_FILE, "PATH", 0, "Write each snapshot to PATH, replacing it atomically", 0 },
	{ "wide", OPT_WIDE, NULL, 0, "Table: show every column", 0 },
	{ "no-header", OPT_NOHDR, NULL, 0, "Table: omit headers and # lines", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose: libbpf debug output and mechanism notes", 0 },
	{ "instance", OPT_INSTANCE, "NAME", 0, "Name this run: label run=NAME on every Prometheus series, \"run\" in JSON", 0 },
	{ "state", OPT_STATE, "PATH", 0, "Keep counters across runs in PATH, so periodic runs (cron) count on", 0 },
	{ "list-fields", OPT_LIST_FIELDS, NULL, 0, "Print every output field as JSON Lines (bpfscope-output(7)) and exit", 0 },
	{ 0 },
};

void usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	die(EXIT_USAGE, "%s (see --help)", buf);
}

double opt_seconds(const char *optname, const char *arg)
{
	double v;
	if (parse_double(arg, 0.001, 86400 * 365, &v))
		usage_error("invalid %s '%s': expected seconds between 0.001 and 31536000", optname, arg);
	return v;
}

long opt_count(const char *optname, const char *arg)
{
	uint64_t v;
	if (parse_u64(arg, &v) || v < 1 || v > 1000000000)
		usage_error("invalid %s '%s': expected a whole number from 1", optname, arg);
	return (long)v;
}

double opt_percent(const char *optname, const char *arg)
{
	double v;
	if (parse_double(arg, 0, 100, &v) || v <= 0)
		usage_error("invalid %s '%s': expected a percentage above 0 and at most 100", optname, arg);
	return v;
}

int opt_pid(const char *optname, const char *arg)
{
	int pid;
	if (parse_pid(arg, &pid))
		usage_error("invalid %s '%s': expected a process id", optname, arg);
	return pid;
}

unsigned opt_u32(const char *optname, const char *arg, unsigned lo, unsigned hi)
{
	uint64_t v;
	if (parse_u64(arg, &v) || v < lo || v > hi)
		usage_error("invalid %s '%s': expected a whole number from %u to %u", optname, arg, lo, hi);
	return (unsigned)v;
}

static error_t common_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		if (copts.interval_set)
			usage_error("the interval is given twice (-i '%s')", arg);
		copts.interval = opt_seconds("interval", arg);
		copts.interval_set = true;
		break;
	case 'c':
		if (copts.count)
			usage_error("the count is given twice (-c '%s')", arg);
		copts.count = opt_count("count", arg);
		break;
	case 'T':
		copts.timestamp = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		copts.verbose = true;
		break;
	case 'o':
		if (!strcmp(arg, "table"))
			copts.format = OUT_TABLE;
		else if (!strcmp(arg, "json"))
			copts.format = OUT_JSON;
		else if (!strcmp(arg, "prom"))
			copts.format = OUT_PROM;
		else if (!strcmp(arg, "dot") && copts.allow_dot)
			copts.format = OUT_DOT;
		else if (!strcmp(arg, "dot"))
			usage_error("output format dot is only for graph tools: expected table, json or prom");
		else
			usage_error("invalid output format '%s': expected table, json%s", arg,
				    copts.allow_dot ? ", prom or dot" : " or prom");
		break;
	case OPT_FILE:
		if (!*arg)
			usage_error("invalid --file '': expected a path");
		copts.file = arg;
		break;
	case OPT_WIDE:
		copts.wide = true;
		break;
	case OPT_NOHDR:
		copts.no_header = true;
		break;
	case OPT_INSTANCE:
		if (!*arg || strlen(arg) > 64)
			usage_error("invalid --instance '%s': expected a name of 1 to 64 characters", arg);
		for (const char *p = arg; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      *p == '_' || *p == '-' || *p == '.'))
				usage_error("invalid --instance '%s': use letters, digits, '_', '-' and '.'", arg);
		copts.instance = arg;
		break;
	case OPT_STATE:
		if (!*arg)
			usage_error("invalid --state '': expected a path");
		copts.state = arg;
		break;
	case OPT_LIST_FIELDS:
		copts.list_fields = true;
		break;
	case ARGP_KEY_ARG:
		/* BCC style: interval [count] */
		if (copts.npos == 0) {
			if (copts.interval_set)
				usage_error("the interval is given twice (-i and '%s')", arg);
			copts.interval = opt_seconds("interval", arg);
			copts.interval_set = true;
		} else if (copts.npos == 1) {
			if (copts.count)
				usage_error("the count is given twice (-c and '%s')", arg);
			copts.count = opt_count("count", arg);
		} else {
			usage_error("unexpected argument '%s'", arg);
		}
		copts.npos++;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp common_argp = {
	.options = common_options,
	.parser = common_parse,
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!copts.verbose && level != LIBBPF_WARN)
		return 0;
	if (!copts.verbose)
		return 0; /* errors are reported by the tool, in one line */
	return vfprintf(stderr, fmt, ap);
}

void opts_event_stream(const char *how)
{
	if (copts.interval_set)
		usage_error("%s streams events as they happen: an interval is for snapshots (-c counts events)", how);
	if (copts.format == OUT_PROM)
		usage_error("%s streams events: use -o table or -o json, not prom", how);
	if (copts.file)
		usage_error("--file writes snapshots and cannot be used with %s: events go to standard output", how);
	if (copts.state)
		usage_error("--state keeps snapshot counters and cannot be used with %s", how);
}

/* --file and --state are written by replacing them (a temporary file in the
 * same directory, then rename): check at start that this can work, so a
 * cron line with -i 50 does not wait 50 s to fail, and name the path. */
static void check_replaceable(const char *opt, const char *path)
{
	char tmp[4096], dir[4096];
	struct stat st;
	int fd;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		usage_error("cannot write %s %s: it is a directory", opt, path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		usage_error("cannot write %s %s: ENAMETOOLONG", opt, path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		const char *slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1,
			 slash ? path : ".");
		usage_error("cannot write %s %s: cannot create a file in %s: %s", opt, path, dir, errno_name(e));
	}
	close(fd);
	unlink(tmp);
}

void opts_parse(const struct argp *argp, int argc, char **argv, void *input)
{
	/* SIGINT/SIGTERM/SIGHUP ask for a clean stop from here on, loading and
	 * attaching included: a script's background job inherits SIGINT
	 * ignored, and a signal that came before the handlers was lost */
	loop_init();
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
	prog_name = argc > 0 ? (slash ? slash + 1 : argv[0]) : "bpfscope";
	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(argp, argc, argv, 0, NULL, input))
		exit(EXIT_USAGE);
	verbose = copts.verbose;
	libbpf_set_print(libbpf_print);
	struct out_config oc = {
		.format = copts.format,
		.timestamp = copts.timestamp,
		.wide = copts.wide,
		.no_header = copts.no_header,
		.file = copts.file,
		.instance = copts.instance,
		.state = copts.state,
	};
	if (copts.list_fields) {
		out_list_fields(stdout);
		exit(fflush(stdout) ? EXIT_FAIL : EXIT_OK);
	}
	if (copts.file)
		check_replaceable("--file", copts.file);
	if (copts.state)
		check_replaceable("--state", copts.state);
	/* one exposition per output: promtool and node_exporter reject a
	 * stream of them */
	if (copts.format == OUT_PROM && !copts.file) {
		if (copts.count > 1)
			usage_error("-o prom writes one exposition to standard output: use -c 1, or --file PATH");
		copts.count = 1;
	}
	if (copts.events)
		opts_event_stream("--events");
	if (copts.pid && !proc_exists(copts.pid))
		die(EXIT_NOTFOUND, "no process with pid %d", copts.pid);
	out_configure(&oc);
	if (copts.count > 1 && !copts.interval_set)
		copts.interval = 1.0;
}

/* ---- the shared typed options --------------------------------------- */

enum { OPT_PERF_BUFFER = 0x1100, OPT_MECHANISM };

static const struct argp_option pid_options[] = {
	{ "pid", 'p', "PID", 0, "Only process PID", 0 },
	{ 0 },
};
static const struct argp_option iface_options[] = {
	{ "interface", 'I', "IFACE", 0, "Only interface IFACE (within -N's namespace when given)", 0 },
	{ 0 },
};
static const struct argp_option netns_options[] = {
	{ "netns", 'N', "NETNS", 0, "Network namespace NETNS: a name under /run/netns, or a path such as /proc/PID/ns/net", 0 },
	{ 0 },
};
static const struct argp_option family_options[] = {
	{ "ipv4", '4', NULL, 0, "IPv4 only", 0 },
	{ "ipv6", '6', NULL, 0, "IPv6 only", 0 },
	{ 0 },
};
static const struct argp_option events_options[] = {
	{ "events", 'e', NULL, 0, "Stream events as they happen instead of snapshots (-c counts events)", 0 },
	{ "perf-buffer", OPT_PERF_BUFFER, NULL, 0, "Events: use a perf buffer even where the kernel has a ring buffer", 0 },
	{ 0 },
};
static const struct argp_option mechanism_options[] = {
	{ "mechanism", OPT_MECHANISM, "NAME[,NAME]", 0, "Hook the kernel with NAME (fexit, tp_btf, raw_tp, kprobe, ...) where the tool can; see REQUIREMENTS in its man page", 0 },
	{ 0 },
};

static error_t shared_parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'p':
		if (copts.pid)
			usage_error("-p is given twice (-p '%s')", arg);
		copts.pid = opt_pid("--pid", arg);
		break;
	case 'I':
		if (copts.iface)
			usage_error("-I is given twice (-I '%s')", arg);
		if (!*arg || strlen(arg) >= IF_NAMESIZE || strchr(arg, '/') || strpbrk(arg, " \t\n"))
			usage_error("invalid interface name '%s': expected 1 to %d characters, no '/' or spaces", arg,
				    IF_NAMESIZE - 1);
		copts.iface = arg;
		break;
	case 'N':
		if (copts.netns)
			usage_error("-N is given twice (-N '%s')", arg);
		if (!*arg)
			usage_error("invalid --netns '': expected a name under /run/netns or a path");
		copts.netns = arg;
		break;
	case '4':
	case '6':
		if (copts.family && copts.family != (key == '4' ? AF_INET : AF_INET6))
			usage_error("-4 and -6 contradict each other (give neither for both)");
		copts.family = key == '4' ? AF_INET : AF_INET6;
		break;
	case 'e':
		copts.events = true;
		break;
	case OPT_PERF_BUFFER:
		copts.perf_buffer = true;
		break;
	case OPT_MECHANISM:
		if (copts.mechanism)
			usage_error("--mechanism is given twice (give NAME,NAME)");
		if (!*arg || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
			usage_error("invalid --mechanism '%s': expected NAME or NAME,NAME", arg);
		copts.mechanism = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp opt_pid_argp = { .options = pid_options, .parser = shared_parse };
const struct argp opt_iface_argp = { .options = iface_options, .parser = shared_parse };
const struct argp opt_netns_argp = { .options = netns_options, .parser = shared_parse };
const struct argp opt_family_argp = { .options = family_options, .parser = shared_parse };
const struct argp opt_events_argp = { .options = events_options, .parser = shared_parse };
const struct argp opt_mechanism_argp = { .options = mechanism_options, .parser = shared_parse };
