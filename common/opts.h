/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Options every tool shares, parsed and validated in one place. */
#ifndef BPFSCOPE_OPTS_H
#define BPFSCOPE_OPTS_H

#include <argp.h>
#include <stdbool.h>

#include "output.h"

struct common_opts {
	double interval;  /* seconds; 0 = one shot (or tool default) */
	long count;       /* snapshots; 0 = until interrupted */
	bool interval_set;
	bool timestamp;
	bool verbose;
	bool wide;
	bool no_header;
	enum out_format format;
	const char *file;
	const char *instance; /* --instance */
	const char *state;    /* --state */
	bool list_fields;     /* --list-fields */
	int npos;         /* positional interval [count] consumed */
	bool allow_dot;   /* set before opts_parse by tools that draw graphs: accept -o dot */
	/* the shared typed options, for tools that list their group in TOOL_ARGP */
	int pid;               /* -p PID (OPTG_PID): exists, else exit 5; 0 = all */
	const char *iface;     /* -I IFACE (OPTG_IFACE): the tool resolves it (within -N) */
	const char *netns;     /* -N NETNS (OPTG_NETNS): see netns_require() */
	int family;            /* -4 / -6 (OPTG_FAMILY): AF_INET, AF_INET6, or 0 for both */
	bool events;           /* -e (OPTG_EVENTS): stream events, not snapshots */
	bool perf_buffer;      /* --perf-buffer (OPTG_EVENTS): force the perf buffer transport */
	const char *mechanism; /* --mechanism NAME[,NAME] (OPTG_MECHANISM): see hooks_select() */
};

extern struct common_opts copts;

/* The child group of every tool's argp (TOOL_ARGP below adds it).  It also
 * consumes the BCC-style positional arguments "interval [count]". */
extern const struct argp common_argp;

/* The shared typed options, declared by listing their groups after the
 * doc in TOOL_ARGP; each is parsed, checked and reported the same way in
 * every tool, into copts. */
extern const struct argp opt_pid_argp, opt_iface_argp, opt_netns_argp, opt_family_argp, opt_events_argp,
	opt_mechanism_argp;
#define OPTG_PID { &opt_pid_argp, 0, NULL, 1 }             /* -p PID */
#define OPTG_IFACE { &opt_iface_argp, 0, NULL, 1 }         /* -I IFACE */
#define OPTG_NETNS { &opt_netns_argp, 0, NULL, 1 }         /* -N NETNS */
#define OPTG_FAMILY { &opt_family_argp, 0, NULL, 1 }       /* -4, -6 */
#define OPTG_EVENTS { &opt_events_argp, 0, NULL, 2 }       /* -e, --perf-buffer */
#define OPTG_MECHANISM { &opt_mechanism_argp, 0, NULL, 3 } /* --mechanism */

/* Define the tool's `argp`: its options and parser, the shared groups it
 * uses, the common options as a child group, BCC-style positional arguments:
 *   TOOL_ARGP(options, parse, doc, OPTG_PID, OPTG_EVENTS);
 *   then   opts_parse(&argp, argc, argv, NULL); */
#define TOOL_ARGP(opts_, parse_, doc_, ...)                                        \
	static const struct argp_child tool_argp_children_[] = {                   \
		__VA_ARGS__ __VA_OPT__(,)                                           \
		{ &common_argp, 0, "Common options:", 5 },                          \
		{ 0 },                                                              \
	};                                                                          \
	static const struct argp argp = {                                          \
		.options = (opts_),                                                 \
		.parser = (parse_),                                                 \
		.args_doc = "[interval [count]]",                                   \
		.doc = (doc_),                                                      \
		.children = tool_argp_children_,                                    \
	}

/* Parse argv with the tool's argp (ARGP_KEY_ARG left to common), set up
 * logging and output.  Exits with EXIT_USAGE on bad input. */
void opts_parse(const struct argp *argp, int argc, char **argv, void *input);

/* A tool in its event-stream mode (HOW: "--events") calls this after
 * opts_parse (done by opts_parse itself for -e): -o prom, --file, --state
 * and an interval are for snapshots (exit 2). */
void opts_event_stream(const char *how);

/* One line "PROG: MESSAGE (see --help)" and exit EXIT_USAGE: how every bad
 * option or combination is reported. */
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Shared validated parsers for tool-specific options (exit EXIT_USAGE). */
double opt_seconds(const char *optname, const char *arg);
long opt_count(const char *optname, const char *arg);
double opt_percent(const char *optname, const char *arg);
int opt_pid(const char *optname, const char *arg);
unsigned opt_u32(const char *optname, const char *arg, unsigned lo, unsigned hi);

#endif
