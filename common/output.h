/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Describe once, render everywhere.  A tool declares a schema (an array of
 * typed fields) per kind of record, fills records with typed values, and this
 * module renders them as a table, JSON Lines or Prometheus text.  No tool
 * ever branches on the output format.
 */
#ifndef BPFSCOPE_OUTPUT_H
#define BPFSCOPE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_PROM, OUT_DOT /* graphs only: common/graph.h */ };

enum field_kind {
	FK_LABEL,   /* identity: prom label, table column */
	FK_COUNTER, /* monotonically increasing number; prom name gets _total unless it ends so */
	FK_GAUGE,   /* number that goes up and down */
	FK_TEXT,    /* free text / lists: json and table only */
};

/* Where a field appears. */
#define FF_TABLE 0x1 /* default table */
#define FF_WIDE 0x2  /* table with --wide only */
#define FF_JSON 0x4
#define FF_PROM 0x8
#define FF_ALL (FF_TABLE | FF_JSON | FF_PROM)
#define FF_LEFT 0x10 /* left-align in table (labels and text are by default) */
#define FF_LIST 0x20 /* a list: JSON [] when empty, never null */

struct field {
	const char *name;   /* snake_case; JSON key and Prometheus metric suffix */
	const char *header; /* table header, with unit: "MEM(KiB)" */
	enum field_kind kind;
	unsigned flags;
	const char *help;   /* Prometheus HELP text */
	double table_scale; /* table shows value/table_scale when non-zero */
	int table_prec;     /* decimals for doubles in the table */
};

struct schema {
	const char *tool;   /* "mapstat": prom prefix bpfscope_mapstat_ */
	const char *array;  /* JSON key holding a snapshot's records: "maps" */
	const struct field *fields;
	int nfields;
};

#define SCHEMA_NFIELDS(arr) ((int)(sizeof(arr) / sizeof((arr)[0])))

enum value_type { V_NONE, V_STR, V_U64, V_I64, V_DBL, V_STRLIST, V_U64LIST };

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
	int n;          /* list length */
};

struct record {
	const struct schema *schema;
	struct value *v;
};

struct out_config {
	enum out_format format;
	bool timestamp; /* -T */
	bool wide;      /* --wide */
	bool no_header; /* --no-header */
	const char *file; /* --file: atomic replace per snapshot */
};

void out_configure(const struct out_config *cfg);
const struct out_config *out_get_config(void);

/* Snapshots: records buffered, rendered and written in one piece. */
struct snapshot;
struct snapshot *snap_begin(const struct schema *s);
/* Snapshot-level facts (mechanism in use, ...): a "# key: value" line in the
 * table, a top-level JSON field, an info metric label in prom. */
void snap_meta(struct snapshot *sn, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct record *snap_add(struct snapshot *sn);
/* A second kind of record in the same snapshot (devices, then processes):
 * extra (from snap_begin with its own schema) renders after sn's records as
 * another table (omitted when empty), another array in the same JSON
 * object, and more metrics under the same prom info line.  Its own meta is
 * not rendered.  sn takes ownership of extra; metric names must differ. */
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
const struct value *rec_get(const struct record *r, int idx);

/* Events: rendered immediately, one line each.  prom is not a valid format
 * for events (tools refuse it at option time). */
struct record *event_new(const struct schema *s);
int event_emit(struct record *r); /* renders and frees */
/* Stream-level facts (mechanism in use, ...): "# key: value" lines above the
 * table header, top-level string fields of every JSON event.  Call before
 * the first event. */
void event_meta(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void event_meta_free(void);
/* Table: print the meta lines and the header now, before any event arrives
 * (no-op for JSON or when already printed).  Returns 0 or -errno. */
int event_start(const struct schema *s);
void record_free(struct record *r);

/* Exposed for unit tests. */
void json_write_string(FILE *f, const char *s);
void prom_write_label_value(FILE *f, const char *s);
void render_snapshot(FILE *f, struct snapshot *sn, double ts);
void render_event(FILE *f, struct record *r, double ts, bool *header_done);
/* Atomically replace path with data. */
int write_file_atomic(const char *path, const char *data, size_t len);

#endif
