/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Describe once, render everywhere: the output contract (bpfscope-output(7)).
 *
 * A tool declares a schema (an array of typed fields) per kind of record,
 * fills records with typed values, and this module renders them as a table,
 * JSON Lines or Prometheus text.  No tool ever branches on the output
 * format.  Every schema a tool can print is registered (OUT_REGISTER below),
 * so --list-fields prints the whole contract and tests compare it with the
 * man pages.
 *
 * Names carry base units (_seconds, _bytes, _ratio for 0-1 fractions);
 * counters are declared without _total, which the Prometheus name gets.
 * schema_check() refuses abbreviated units, percentages and Prometheus'
 * reserved suffixes, and fields named like a catalogue field (F_PID, ...)
 * that differ from it.
 */
#ifndef BPFSCOPE_OUTPUT_H
#define BPFSCOPE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_PROM, OUT_DOT /* graphs only: common/graph.h */ };

enum field_kind {
	FK_LABEL,   /* identity: prom label, table column; in meta a static fact (an _info label) */
	FK_COUNTER, /* monotonically increasing number; prom name gets _total */
	FK_GAUGE,   /* number that goes up and down */
	FK_TEXT,    /* free text / lists: json and table only */
	FK_HIST,    /* histogram (rec_hist): prom _bucket/_sum/_count, one JSON object */
};

/* Where a field appears. */
#define FF_TABLE 0x1 /* default table */
#define FF_WIDE 0x2  /* table with --wide only */
#define FF_JSON 0x4
#define FF_PROM 0x8
#define FF_ALL (FF_TABLE | FF_JSON | FF_PROM)
#define FF_LEFT 0x10 /* left-align in table (labels and text are by default) */
#define FF_LIST 0x20 /* a list: JSON [] when empty, never null */
#define FF_RIGHT 0x40 /* a label that holds numbers: right-aligned, header included */

struct field {
	const char *name;   /* snake_case with base unit; JSON key and Prometheus metric suffix */
	const char *header; /* table header, with unit: "MEM(KiB)" */
	enum field_kind kind;
	unsigned flags;
	const char *help;   /* what it is: Prometheus HELP, --list-fields; required for numbers */
	double table_scale; /* table shows value/table_scale when non-zero */
	int table_prec;     /* decimals for doubles in the table */
	int width;          /* event tables: column width (0: from the kind) */
};

struct schema {
	const char *tool;   /* "mapstat": prom prefix bpfscope_mapstat_ */
	const char *array;  /* JSON key holding a snapshot's records: "maps"; the
			     * view label of a snapshot begun with this schema;
			     * for events, the default "type" */
	const struct field *fields;
	int nfields;
	const struct schema *meta; /* facts about a whole snapshot, graph or event
				    * stream (snap_meta...); NULL: none */
};

#define SCHEMA_NFIELDS(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

/*
 * The shared field catalogue: the same name, kind and help in every tool
 * (schema_check enforces it).  FL are the FF_* flags.  A graph tool that
 * needs another header template writes the field out with the HELP_ text.
 */
#define HELP_PID "Process ID (thread group)"
#define HELP_TID "Thread ID"
#define HELP_COMM "Process name (the kernel's comm, escaped as in bpfscope-output(7))"
#define HELP_NETNS "Network namespace: its name under /run/netns, ns:INODE for an unnamed one, - for the tool's own"
#define HELP_IFACE "Interface name"
#define HELP_IFINDEX "Interface index"
#define HELP_ERRNO "Error number (positive)"
#define HELP_ERRNO_NAME "Error name (ENOSPC; E123 when unknown)"
#define HELP_PROG_ID "BPF program ID"
#define HELP_PROG_NAME "BPF program name"
#define HELP_MAP_ID "BPF map ID"
#define HELP_MAP_NAME "BPF map name"
#define HELP_DEVICE "Block device name (sda, nvme0n1, loop0)"
#define HELP_TYPE "Kind of event"
/* a fact (meta FK_LABEL, a JSON number) of the tools that convert jiffies */
#define HELP_KERNEL_HZ "The kernel's tick rate (CONFIG_HZ, jiffies per second), which turns jiffies into seconds"
#define HELP_LOST_EVENTS "Event records lost because the ring or perf buffer was full"
#define HELP_MISSED_EVENTS "Runs of the tool's BPF programs the kernel skipped (recursion_misses)"

#define F_PID(FL) { "pid", "PID", FK_LABEL, (FL) | FF_RIGHT, HELP_PID, 0, 0, 7 }
#define F_TID(FL) { "tid", "TID", FK_LABEL, (FL) | FF_RIGHT, HELP_TID, 0, 0, 7 }
#define F_COMM(FL) { "comm", "COMM", FK_LABEL, (FL) | FF_LEFT, HELP_COMM, 0, 0, 16 }
#define F_NETNS(FL) { "netns", "NETNS", FK_LABEL, (FL) | FF_LEFT, HELP_NETNS, 0, 0, 12 }
#define F_IFACE(FL) { "interface", "IFACE", FK_LABEL, (FL) | FF_LEFT, HELP_IFACE, 0, 0, 15 }
#define F_IFINDEX(FL) { "ifindex", "IFINDEX", FK_LABEL, (FL) | FF_RIGHT, HELP_IFINDEX, 0, 0, 7 }
#define F_ERRNO(FL) { "errno", "ERRNO", FK_LABEL, (FL) | FF_RIGHT, HELP_ERRNO, 0, 0, 5 }
#define F_ERRNO_NAME(FL) { "errno_name", "ERROR", FK_LABEL, (FL) | FF_LEFT, HELP_ERRNO_NAME, 0, 0, 15 }
#define F_PROG_ID(FL) { "prog_id", "PROG", FK_LABEL, (FL) | FF_RIGHT, HELP_PROG_ID, 0, 0, 6 }
#define F_PROG_NAME(FL) { "prog_name", "PROG_NAME", FK_LABEL, (FL) | FF_LEFT, HELP_PROG_NAME, 0, 0, 16 }
#define F_MAP_ID(FL) { "map_id", "MAP", FK_LABEL, (FL) | FF_RIGHT, HELP_MAP_ID, 0, 0, 6 }
#define F_MAP_NAME(FL) { "map_name", "MAP_NAME", FK_LABEL, (FL) | FF_LEFT, HELP_MAP_NAME, 0, 0, 16 }
#define F_DEVICE(FL) { "device", "DEVICE", FK_LABEL, (FL) | FF_LEFT, HELP_DEVICE, 0, 0, 10 }
#define F_TYPE(FL) { "type", "TYPE", FK_LABEL, (FL) | FF_LEFT, HELP_TYPE, 0, 0, 10 }
/* The standard lost-event counters: the renderer writes them (tools do not
 * declare them) from out_set_lost() and out_set_missed(). */
#define F_LOST_EVENTS(FL) { "lost_events", "LOST", FK_COUNTER, (FL), HELP_LOST_EVENTS, 0, 0, 8 }
#define F_MISSED_EVENTS(FL) { "missed_events", "MISSED", FK_COUNTER, (FL), HELP_MISSED_EVENTS, 0, 0, 8 }

/* Register every schema a tool prints (top-level, appended, event, graph
 * kinds); their meta schemas are found through them.  Once per tool, at
 * file scope:  OUT_REGISTER(&maps_schema, &owners_schema); */
void out_register(const struct schema *const *s, int n);
#define OUT_REGISTER(...)                                                               \
	static const struct schema *const out_registered_[] = { __VA_ARGS__ };         \
	__attribute__((constructor)) static void out_register_(void)                    \
	{                                                                               \
		out_register(out_registered_, (int)(sizeof(out_registered_) /           \
						   sizeof(out_registered_[0])));         \
	}
/* Check a schema against the naming rules; dies (EXIT_FAIL, "internal
 * error") on a violation.  Run for every registered schema at start. */
void schema_check(const struct schema *s);
/* --list-fields: every registered field as one JSON line; then exit 0. */
void out_list_fields(FILE *f);

enum value_type { V_NONE, V_STR, V_U64, V_I64, V_DBL, V_STRLIST, V_U64LIST, V_HIST };

struct hist_value {
	int n;            /* buckets, the last one may be +Inf */
	double *le;       /* upper bounds, ascending, in the field's base unit */
	uint64_t *counts; /* per bucket, not cumulative */
	double sum;
	uint64_t count;
};

struct value {
	enum value_type t;
	union {
		uint64_t u;
		int64_t i;
		double d;
	};
	char *s;        /* V_STR */
	char **sl;      /* V_STRLIST */
	uint64_t *ul;   /* V_U64LIST */
	struct hist_value *h; /* V_HIST */
	int n;          /* list length */
};

struct record {
	const struct schema *schema;
	struct value *v;
};

struct out_config {
	enum out_format format;
	bool timestamp;       /* -T */
	bool wide;            /* --wide */
	bool no_header;       /* --no-header */
	const char *file;     /* --file: atomic replace per snapshot */
	const char *instance; /* --instance: label run=NAME on every series, JSON "run" */
	const char *state;    /* --state: counters carried across runs */
};

void out_configure(const struct out_config *cfg);
const struct out_config *out_get_config(void);

/* Snapshots: records buffered, rendered and written in one piece. */
struct snapshot;
struct snapshot *snap_begin(const struct schema *s);
/* Facts about the snapshot, by the name of a field of s->meta: a "# name:
 * value" line in the table, a top-level JSON field, and in prom an _info
 * label (FK_LABEL: facts that do not change during a run) or a metric of
 * its own (FK_COUNTER, FK_GAUGE).  A number that never changes during the
 * run may be an FK_LABEL: a JSON number and an _info label. */
void snap_meta(struct snapshot *sn, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void snap_meta_num(struct snapshot *sn, const char *key, double v);
void snap_meta_u64(struct snapshot *sn, const char *key, uint64_t v);
struct record *snap_add(struct snapshot *sn);
/* A second kind of record in the same snapshot (devices, then processes):
 * extra (from snap_begin with its own schema) renders after sn's records as
 * another table (omitted when empty or without a table field), another
 * array in the same JSON object (omitted when its schema has no JSON
 * field), and more metrics under the same info line.  So one metric with a
 * label per verdict (prom) can sit beside one column per verdict (table,
 * JSON): an appended schema with FF_PROM fields only.  Its own meta is not rendered.  sn takes
 * ownership of extra; metric names must differ. */
void snap_append(struct snapshot *sn, struct snapshot *extra);
/* Render and write; frees the snapshot.  Returns 0 or -errno. */
int snap_end(struct snapshot *sn);
void snap_free(struct snapshot *sn);

/* Record values, by field index. */
void rec_str(struct record *r, int idx, const char *s);
void rec_u64(struct record *r, int idx, uint64_t v);
void rec_i64(struct record *r, int idx, int64_t v);
void rec_dbl(struct record *r, int idx, double v);
void rec_none(struct record *r, int idx);
void rec_list_str(struct record *r, int idx, const char *s);
void rec_list_u64(struct record *r, int idx, uint64_t v);
/* A histogram: n buckets with upper bounds le[] (ascending; the last may be
 * INFINITY) and per-bucket counts; sum of all observations. */
void rec_hist(struct record *r, int idx, const double *le, const uint64_t *counts, int n, double sum);
const struct value *rec_get(const struct record *r, int idx);

/* Lost and missed events, the one convention: counters lost_events and
 * missed_events in every snapshot and on every JSON event line once set.
 * The event driver (common/events.c) sets lost; tools with attached
 * programs set missed from their programs' recursion_misses. */
void out_set_lost(uint64_t lost);
void out_set_missed(uint64_t missed);
uint64_t out_missed(void); /* the value last set */

/* Events: rendered immediately, one line each.  prom is not a valid format
 * for events (tools refuse it at option time).  Every JSON event line has
 * ts, tool, type (the record's "type" field, or the schema's array name),
 * the stream's meta, lost_events/missed_events once set, then its fields. */
struct record *event_new(const struct schema *s);
int event_emit(struct record *r); /* renders and frees */
/* At most n events are printed (-c; 0: no limit); event_emit drops the rest,
 * and event_limit_reached() tells the driver to stop. */
void event_set_limit(long n);
bool event_limit_reached(void);
/* Stream-level facts by name of a field of the event schema's meta: "#
 * name: value" lines above the table header, top-level fields of every
 * JSON event.  Call before the first event. */
void event_meta(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void event_meta_num(const char *key, double v); /* a JSON number */
void event_meta_u64(const char *key, uint64_t v);
void event_meta_free(void);
/* Table: print the meta lines and the header now, before any event arrives
 * (no-op for JSON or when already printed).  Returns 0 or -errno. */
int event_start(const struct schema *s);
void record_free(struct record *r);

/*
 * Shared by common/graph.c: one way to write a value, a label set and a
 * string in each format.
 */
enum esc_mode { ESC_TABLE, ESC_JSON, ESC_PROM, ESC_DOT };
/* Write s escaped for mode (quoted for JSON, PROM and DOT).  Invalid UTF-8,
 * control bytes and backslashes become \xHH / \\ the same way in every
 * mode, so the decoded text is identical in every format. */
void out_write_string(FILE *f, const char *s, enum esc_mode mode);
/* The escaped text itself (what a table shows); malloc'ed. */
char *out_escape(const char *s);
/* Shortest text that reads back as d ("0.1", "3.4e-07", "12"). */
void out_format_double(char buf[32], double d);
void out_json_value(FILE *f, const struct field *fd, const struct value *v);
char *out_table_cell(const struct field *fd, const struct value *v);
/* Prometheus: the series of one metric in an exposition are checked for
 * duplicate label sets; a duplicate is an internal error (-EINVAL). */
struct prom_writer;
struct prom_writer *prom_begin(FILE *f, const char *tool, const char *view);
/* The _info, timestamp and start-time series; static_meta: the FK_LABEL
 * facts (may be NULL). */
void prom_standard(struct prom_writer *pw, const struct record *static_meta,
		   const char *const *extra_keys, const char *const *extra_vals, int nextra, double ts);
/* HELP and TYPE of bpfscope_TOOL_NAME[_total]; kind FK_COUNTER/GAUGE/HIST. */
void prom_family(struct prom_writer *pw, const char *name, enum field_kind kind, const char *help);
/* One sample of the current family, labelled with the FK_LABEL fields of r
 * (r may be NULL) and extra label pairs. */
void prom_sample(struct prom_writer *pw, const struct record *r, const char *const *lk,
		 const char *const *lv, int nl, const struct value *v);
int prom_end(struct prom_writer *pw); /* 0, or -EINVAL after a duplicate series */

/* Exposed for unit tests. */
void json_write_string(FILE *f, const char *s);
void prom_write_label_value(FILE *f, const char *s);
int render_snapshot(FILE *f, struct snapshot *sn, double ts);
void render_event(FILE *f, struct record *r, double ts, bool *header_done);
/* Atomically replace path with data. */
int write_file_atomic(const char *path, const char *data, size_t len);
/* --state: apply the carried-over base to a record's counters, keyed by
 * tool, view, field and label values (done by snap_end and graph_end). */
void state_apply(const char *view, struct record *r);
void state_apply_meta(const char *view, struct record *meta);
int state_save(void);
void state_forget(void); /* unit tests */

#endif
