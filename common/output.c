// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The output contract: see output.h and man/man7/bpfscope-output.7. */
#define _GNU_SOURCE /* fwrite_unlocked, fputs_unlocked */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "util.h"

/* Legacy string meta of a schema that declares no meta schema. */
struct meta {
	char *key;
	char *val;
};

struct snapshot {
	const struct schema *schema;
	struct record **recs;
	int nrec, cap;
	struct record *metarec; /* schema->meta declared */
	struct meta *meta;      /* otherwise: strings, rendered as static facts */
	int nmeta;
	struct snapshot *next; /* snap_append: more records of another schema */
	bool appended;
};

static struct out_config config = { .format = OUT_TABLE };
static double start_time; /* counters count from here (or from --state's start) */

/* ---- registry and naming rules ---------------------------------------- */

static const struct schema **registry;
static int nregistry;

void out_register(const struct schema *const *s, int n)
{
	for (int i = 0; i < n; i++) {
		registry = xrealloc(registry, (nregistry + 1) * sizeof(*registry));
		registry[nregistry++] = s[i];
	}
}

static const struct field catalogue[] = {
	F_PID(0), F_TID(0), F_COMM(0), F_NETNS(0), F_IFACE(0), F_IFINDEX(0), F_ERRNO(0),
	F_ERRNO_NAME(0), F_PROG_ID(0), F_PROG_NAME(0), F_MAP_ID(0), F_MAP_NAME(0), F_DEVICE(0),
	F_TYPE(0), F_LOST_EVENTS(0), F_MISSED_EVENTS(0),
};

/* Names the renderer writes itself. */
static const char *const reserved_names[] = {
	"ts", "tool", "run", "view", "version", "start_time_seconds", "snapshot_timestamp_seconds",
	"lost_events", "missed_events", "le", "info",
};

/* Abbreviated or non-base units, and Prometheus' own suffixes. */
static const char *const banned_tokens[] = {
	"us", "ms", "ns", "usec", "msec", "nsec", "sec", "secs", "kbps", "kb", "kib", "mb", "mib",
	"gb", "gib", "pct", "percent", "pps", "bps", "count", "sum", "bucket", "total", "info",
};

static void schema_die(const struct schema *s, const struct field *fd, const char *why)
{
	die(EXIT_FAIL, "internal error: %s %s field %s: %s", s->tool, s->array ? s->array : "-",
	    fd ? fd->name : "-", why);
}

static bool has_token(const char *name, const char *tok)
{
	size_t tl = strlen(tok);
	for (const char *p = name; (p = strstr(p, tok)); p++) {
		bool start = p == name || p[-1] == '_';
		bool end = p[tl] == '\0' || p[tl] == '_';
		if (start && end)
			return true;
	}
	return false;
}

static bool ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);
	return a >= b && !strcmp(s + a - b, sfx);
}

static void check_fields(const struct schema *s, bool meta)
{
	for (int i = 0; i < s->nfields; i++) {
		const struct field *fd = &s->fields[i];
		const char *n = fd->name;
		if (!n || !*n || !(n[0] >= 'a' && n[0] <= 'z'))
			schema_die(s, fd, "names are snake_case");
		for (const char *p = n; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				schema_die(s, fd, "names are snake_case");
		for (size_t t = 0; t < sizeof(banned_tokens) / sizeof(banned_tokens[0]); t++)
			if (has_token(n, banned_tokens[t]))
				schema_die(s, fd, "abbreviated or non-base unit, or a Prometheus suffix, in the name");
		for (size_t t = 0; t < sizeof(reserved_names) / sizeof(reserved_names[0]); t++)
			if (!strcmp(n, reserved_names[t]) && !(!meta && !strcmp(n, "type")))
				schema_die(s, fd, "name reserved for the renderer");
		bool numeric = fd->kind == FK_COUNTER || fd->kind == FK_GAUGE || fd->kind == FK_HIST;
		if (numeric && (fd->flags & (FF_JSON | FF_PROM)) && (!fd->help || !*fd->help))
			schema_die(s, fd, "numbers need help text");
		if (fd->kind == FK_HIST && !ends_with(n, "_seconds") && !ends_with(n, "_bytes"))
			schema_die(s, fd, "histograms are in seconds or bytes");
		for (int j = 0; j < i; j++)
			if (!strcmp(s->fields[j].name, n))
				schema_die(s, fd, "duplicate name");
		for (size_t c = 0; c < sizeof(catalogue) / sizeof(catalogue[0]); c++) {
			const struct field *cf = &catalogue[c];
			if (strcmp(cf->name, n))
				continue;
			if (cf->kind != fd->kind || !fd->help || strcmp(cf->help, fd->help))
				schema_die(s, fd, "differs from the shared field catalogue (use its F_ macro)");
		}
	}
}

void schema_check(const struct schema *s)
{
	if (!s->tool || !s->array)
		schema_die(s, NULL, "schema without tool or array name");
	check_fields(s, false);
	if (s->meta)
		check_fields(s->meta, true);
}

static bool is_registered(const struct schema *s)
{
	for (int i = 0; i < nregistry; i++)
		if (registry[i] == s || registry[i]->meta == s)
			return true;
	return false;
}

/* Every schema a tool prints is registered (so --list-fields and the
 * man-page test see it) and follows the rules. */
static void schema_use(const struct schema *s)
{
	static const struct schema *checked[64];
	static int nchecked;
	for (int i = 0; i < nchecked; i++)
		if (checked[i] == s)
			return;
	if (!is_registered(s))
		schema_die(s, NULL, "schema not registered (OUT_REGISTER)");
	schema_check(s);
	if (nchecked < 64)
		checked[nchecked++] = s;
}

static const char *kind_name(enum field_kind k)
{
	switch (k) {
	case FK_LABEL: return "label";
	case FK_COUNTER: return "counter";
	case FK_GAUGE: return "gauge";
	case FK_TEXT: return "text";
	case FK_HIST: return "histogram";
	}
	return "?";
}

static void list_schema(FILE *f, const struct schema *s, const char *role)
{
	for (int i = 0; i < s->nfields; i++) {
		const struct field *fd = &s->fields[i];
		fputs("{\"tool\":", f);
		json_write_string(f, s->tool);
		fputs(",\"array\":", f);
		json_write_string(f, s->array);
		fprintf(f, ",\"role\":\"%s\",\"name\":", role);
		json_write_string(f, fd->name);
		fprintf(f, ",\"kind\":\"%s\",\"table\":%s,\"json\":%s,\"prom\":", kind_name(fd->kind),
			fd->flags & FF_TABLE ? "\"default\"" : fd->flags & FF_WIDE ? "\"wide\"" : "null",
			fd->flags & FF_JSON || (!strcmp(role, "meta")) ? "true" : "false");
		bool prom = (fd->flags & FF_PROM) || !strcmp(role, "meta");
		if (!strcmp(role, "meta") && fd->kind == FK_TEXT)
			prom = false;
		if (prom && fd->kind == FK_LABEL) {
			fputs(!strcmp(role, "meta") ? "\"info label\"" : "\"label\"", f);
		} else if (prom && fd->kind != FK_TEXT) {
			fprintf(f, "\"bpfscope_%s_%s%s\"", s->tool, fd->name,
				fd->kind == FK_COUNTER ? "_total" : "");
		} else {
			fputs("null", f);
		}
		fputs(",\"help\":", f);
		if (fd->help)
			json_write_string(f, fd->help);
		else
			fputs("null", f);
		fputs("}\n", f);
	}
}

void out_list_fields(FILE *f)
{
	for (int i = 0; i < nregistry; i++)
		schema_check(registry[i]);
	for (int i = 0; i < nregistry; i++) {
		list_schema(f, registry[i], "record");
		if (registry[i]->meta) {
			bool dup = false; /* several schemas may share one meta schema */
			for (int j = 0; j < i; j++)
				dup |= registry[j]->meta == registry[i]->meta;
			if (!dup)
				list_schema(f, registry[i]->meta, "meta");
		}
	}
}

void out_configure(const struct out_config *cfg)
{
	config = *cfg;
	start_time = now_wall();
}

const struct out_config *out_get_config(void)
{
	return &config;
}

/* ---- lost and missed events -------------------------------------------- */

static uint64_t lost_events, missed_events;
static bool lost_set, missed_set;

void out_set_lost(uint64_t lost)
{
	lost_events = lost;
	lost_set = true;
}

void out_set_missed(uint64_t missed)
{
	missed_events = missed;
	missed_set = true;
}

uint64_t out_missed(void)
{
	return missed_events;
}

/* ---- records -------------------------------------------------------- */

static struct record *record_new(const struct schema *s)
{
	struct record *r = xcalloc(1, sizeof(*r));
	r->schema = s;
	r->v = xcalloc(s->nfields, sizeof(struct value));
	return r;
}

static void value_clear(struct value *v)
{
	free(v->s);
	for (int i = 0; v->t == V_STRLIST && i < v->n; i++)
		free(v->sl[i]);
	free(v->sl);
	free(v->ul);
	if (v->h) {
		free(v->h->le);
		free(v->h->counts);
		free(v->h);
	}
	memset(v, 0, sizeof(*v));
}

void record_free(struct record *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->schema->nfields; i++)
		value_clear(&r->v[i]);
	free(r->v);
	free(r);
}

static struct value *slot(struct record *r, int idx)
{
	if (idx < 0 || idx >= r->schema->nfields)
		die(EXIT_FAIL, "internal error: field %d out of range", idx);
	return &r->v[idx];
}

void rec_str(struct record *r, int idx, const char *s)
{
	struct value *v = slot(r, idx);
	value_clear(v);
	if (!s)
		return;
	v->t = V_STR;
	v->s = xstrdup(s);
}

void rec_u64(struct record *r, int idx, uint64_t x)
{
	struct value *v = slot(r, idx);
	value_clear(v);
	v->t = V_U64;
	v->u = x;
}

void rec_i64(struct record *r, int idx, int64_t x)
{
	struct value *v = slot(r, idx);
	value_clear(v);
	v->t = V_I64;
	v->i = x;
}

void rec_dbl(struct record *r, int idx, double x)
{
	struct value *v = slot(r, idx);
	value_clear(v);
	if (!isfinite(x))
		return;
	v->t = V_DBL;
	v->d = x;
}

void rec_none(struct record *r, int idx)
{
	value_clear(slot(r, idx));
}

void rec_list_str(struct record *r, int idx, const char *s)
{
	struct value *v = slot(r, idx);
	if (v->t != V_STRLIST) {
		value_clear(v);
		v->t = V_STRLIST;
	}
	v->sl = xrealloc(v->sl, (v->n + 1) * sizeof(char *));
	v->sl[v->n++] = xstrdup(s);
}

void rec_list_u64(struct record *r, int idx, uint64_t x)
{
	struct value *v = slot(r, idx);
	if (v->t != V_U64LIST) {
		value_clear(v);
		v->t = V_U64LIST;
	}
	v->ul = xrealloc(v->ul, (v->n + 1) * sizeof(uint64_t));
	v->ul[v->n++] = x;
}

void rec_hist(struct record *r, int idx, const double *le, const uint64_t *counts, int n, double sum)
{
	struct value *v = slot(r, idx);
	value_clear(v);
	v->t = V_HIST;
	v->h = xcalloc(1, sizeof(*v->h));
	v->h->n = n;
	v->h->le = xcalloc(n ? n : 1, sizeof(double));
	v->h->counts = xcalloc(n ? n : 1, sizeof(uint64_t));
	for (int i = 0; i < n; i++) {
		if (i && !(le[i] > le[i - 1]))
			die(EXIT_FAIL, "internal error: histogram bounds not ascending");
		v->h->le[i] = le[i];
		v->h->counts[i] = counts[i];
		v->h->count += counts[i];
	}
	v->h->sum = sum;
}

const struct value *rec_get(const struct record *r, int idx)
{
	return &r->v[idx];
}

static int field_index(const struct schema *s, const char *name)
{
	for (int i = 0; s && i < s->nfields; i++)
		if (!strcmp(s->fields[i].name, name))
			return i;
	return -1;
}

/* ---- snapshots ------------------------------------------------------ */

struct snapshot *snap_begin(const struct schema *s)
{
	struct snapshot *sn = xcalloc(1, sizeof(*sn));
	schema_use(s);
	sn->schema = s;
	if (s->meta)
		sn->metarec = record_new(s->meta);
	return sn;
}

static struct meta *legacy_meta(struct meta **m, int *n, const char *key, const char *val)
{
	*m = xrealloc(*m, (*n + 1) * sizeof(**m));
	(*m)[*n].key = xstrdup(key);
	(*m)[*n].val = xstrdup(val);
	return &(*m)[(*n)++];
}

static int meta_index(struct snapshot *sn, const char *key)
{
	int i = field_index(sn->schema->meta, key);
	if (i < 0)
		die(EXIT_FAIL, "internal error: %s: meta %s not declared", sn->schema->tool, key);
	return i;
}

void snap_meta(struct snapshot *sn, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (sn->metarec)
		rec_str(sn->metarec, meta_index(sn, key), buf);
	else
		legacy_meta(&sn->meta, &sn->nmeta, key, buf);
}

void snap_meta_num(struct snapshot *sn, const char *key, double v)
{
	if (!sn->metarec)
		die(EXIT_FAIL, "internal error: %s: numeric meta %s without a meta schema", sn->schema->tool, key);
	rec_dbl(sn->metarec, meta_index(sn, key), v);
}

void snap_meta_u64(struct snapshot *sn, const char *key, uint64_t v)
{
	if (!sn->metarec)
		die(EXIT_FAIL, "internal error: %s: numeric meta %s without a meta schema", sn->schema->tool, key);
	rec_u64(sn->metarec, meta_index(sn, key), v);
}

void snap_append(struct snapshot *sn, struct snapshot *extra)
{
	while (sn->next)
		sn = sn->next;
	extra->appended = true;
	sn->next = extra;
}

struct record *snap_add(struct snapshot *sn)
{
	if (sn->nrec == sn->cap) {
		sn->cap = sn->cap ? sn->cap * 2 : 16;
		sn->recs = xrealloc(sn->recs, sn->cap * sizeof(*sn->recs));
	}
	return sn->recs[sn->nrec++] = record_new(sn->schema);
}

void snap_free(struct snapshot *sn)
{
	if (!sn)
		return;
	for (int i = 0; i < sn->nrec; i++)
		record_free(sn->recs[i]);
	for (int i = 0; i < sn->nmeta; i++) {
		free(sn->meta[i].key);
		free(sn->meta[i].val);
	}
	free(sn->meta);
	record_free(sn->metarec);
	free(sn->recs);
	snap_free(sn->next);
	free(sn);
}

/* ---- escaping ------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (2..4), or 0 when it is not one
 * (bad lead or continuation byte, overlong form, surrogate, above
 * U+10FFFF) or encodes a C1 control character. */
static int utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	if (c >= 0xc2 && c <= 0xdf) {
		if ((p[1] & 0xc0) != 0x80)
			return 0;
		return c == 0xc2 && p[1] < 0xa0 ? 0 : 2; /* U+0080..U+009F: C1 controls */
	}
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* surrogates */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The one escaping rule.  The text a reader decodes is the same in every
 * format: a backslash becomes "\\", and every control byte, DEL, C1
 * control and byte that is not part of valid UTF-8 becomes "\xHH".  On top
 * of that, each format quotes its own way: JSON and Prometheus escape '"'
 * and '\' again, DOT escapes '"' and '\'.  Runs of plain characters go out
 * in one fwrite: a call per character dominated the cost of an event.
 */
void out_write_string(FILE *f, const char *s, enum esc_mode mode)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;
	bool quoted = mode != ESC_TABLE;
	/* a backslash of the decoded text, as the format writes it */
	const char *bs = mode == ESC_TABLE ? "\\" : "\\\\";

	if (quoted)
		fputc_unlocked('"', f);
	while (*p) {
		unsigned c = *p;
		int adv = 1;
		char esc[16];
		const char *rep = NULL;

		if (c >= 0x20 && c < 0x7f) {
			if (c == '\\')
				rep = mode == ESC_TABLE ? "\\\\" : "\\\\\\\\";
			else if (c == '"' && quoted)
				rep = "\\\"";
		} else if (c >= 0x80 && (adv = utf8_len(p)) > 0) {
			/* valid UTF-8: part of the run */
		} else {
			adv = 1;
			snprintf(esc, sizeof(esc), "%sx%02x", bs, c);
			rep = esc;
		}
		if (!rep) {
			p += adv;
			continue;
		}
		if (p > run)
			fwrite_unlocked(run, 1, p - run, f);
		fputs_unlocked(rep, f);
		p += adv;
		run = p;
	}
	if (p > run)
		fwrite_unlocked(run, 1, p - run, f);
	if (quoted)
		fputc_unlocked('"', f);
}

char *out_escape(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	out_write_string(m, s, ESC_TABLE);
	fclose(m);
	return buf;
}

/* Strings the tool itself wrote (keys, its own prose) need no escaping
 * beyond the format's own; kernel-supplied text goes through the rule
 * above.  Applying the rule everywhere keeps one code path. */
void json_write_string(FILE *f, const char *s)
{
	out_write_string(f, s, ESC_JSON);
}

void prom_write_label_value(FILE *f, const char *s)
{
	out_write_string(f, s, ESC_PROM);
}

/* HELP text: backslash and newline escaped (the tool's own text). */
static void prom_write_help(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs_unlocked("\\\\", f);
		else if (*s == '\n')
			fputs_unlocked("\\n", f);
		else
			fputc_unlocked(*s, f);
	}
}

/* ---- numbers -------------------------------------------------------- */

void out_format_double(char buf[32], double d)
{
	if (!isfinite(d)) {
		snprintf(buf, 32, "%s", isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(buf, 32, "%.0f", d);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, d);
		if (prec == 17 || strtod(buf, NULL) == d)
			return;
	}
}

static void write_double(FILE *f, double d)
{
	char buf[32];
	out_format_double(buf, d);
	fputs_unlocked(buf, f);
}

static void write_u64(FILE *f, uint64_t u)
{
	char buf[24], *p = buf + sizeof(buf);
	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	fputs_unlocked(p, f);
}

static void write_i64(FILE *f, int64_t i)
{
	if (i < 0) {
		fputc_unlocked('-', f);
		write_u64(f, (uint64_t)0 - (uint64_t)i);
	} else {
		write_u64(f, (uint64_t)i);
	}
}

static bool is_number(const struct value *v)
{
	return v->t == V_U64 || v->t == V_I64 || v->t == V_DBL;
}

static void write_num(FILE *f, const struct value *v)
{
	if (v->t == V_U64)
		write_u64(f, v->u);
	else if (v->t == V_I64)
		write_i64(f, v->i);
	else
		write_double(f, v->d);
}

/* ---- JSON ----------------------------------------------------------- */

static void json_hist(FILE *f, const struct hist_value *h)
{
	uint64_t cum = 0;
	fputs_unlocked("{\"count\":", f);
	write_u64(f, h->count);
	fputs_unlocked(",\"sum\":", f);
	write_double(f, h->sum);
	fputs_unlocked(",\"buckets\":[", f);
	bool first = true;
	for (int i = 0; i < h->n; i++) {
		cum += h->counts[i];
		if (isinf(h->le[i]))
			continue; /* +Inf is "count" */
		if (!first)
			fputc_unlocked(',', f);
		first = false;
		fputs_unlocked("{\"le\":", f);
		write_double(f, h->le[i]);
		fputs_unlocked(",\"count\":", f);
		write_u64(f, cum);
		fputc_unlocked('}', f);
	}
	fputs_unlocked("]}", f);
}

static void json_value(FILE *f, const struct value *v)
{
	switch (v->t) {
	case V_NONE: fputs_unlocked("null", f); break;
	case V_STR: json_write_string(f, v->s); break;
	case V_U64:
	case V_I64:
	case V_DBL: write_num(f, v); break;
	case V_STRLIST:
		fputc_unlocked('[', f);
		for (int i = 0; i < v->n; i++) {
			if (i)
				fputc_unlocked(',', f);
			json_write_string(f, v->sl[i]);
		}
		fputc_unlocked(']', f);
		break;
	case V_U64LIST:
		fputc_unlocked('[', f);
		for (int i = 0; i < v->n; i++) {
			if (i)
				fputc_unlocked(',', f);
			write_u64(f, v->ul[i]);
		}
		fputc_unlocked(']', f);
		break;
	case V_HIST: json_hist(f, v->h); break;
	}
}

void out_json_value(FILE *f, const struct field *fd, const struct value *v)
{
	if (v->t == V_NONE && (fd->flags & FF_LIST))
		fputs_unlocked("[]", f);
	else
		json_value(f, v);
}

static void json_key(FILE *f, const char *k)
{
	fputc_unlocked(',', f);
	json_write_string(f, k);
	fputc_unlocked(':', f);
}

static void json_record(FILE *f, const struct record *r)
{
	const struct schema *s = r->schema;
	bool first = true;
	fputc_unlocked('{', f);
	for (int i = 0; i < s->nfields; i++) {
		if (!(s->fields[i].flags & FF_JSON))
			continue;
		if (!first)
			fputc_unlocked(',', f);
		first = false;
		json_write_string(f, s->fields[i].name);
		fputc_unlocked(':', f);
		out_json_value(f, &s->fields[i], &r->v[i]);
	}
	fputc_unlocked('}', f);
}

static void json_ts(FILE *f, double ts)
{
	fprintf(f, "\"ts\":%.6f", ts);
}

/* Meta values as top-level JSON fields (every kind). */
static void json_meta(FILE *f, const struct record *m, const struct meta *lm, int nlm)
{
	for (int i = 0; m && i < m->schema->nfields; i++) {
		json_key(f, m->schema->fields[i].name);
		out_json_value(f, &m->schema->fields[i], &m->v[i]);
	}
	for (int i = 0; i < nlm; i++) {
		json_key(f, lm[i].key);
		json_write_string(f, lm[i].val);
	}
}

static void json_loss(FILE *f)
{
	if (lost_set) {
		fputs_unlocked(",\"lost_events\":", f);
		write_u64(f, lost_events);
	}
	if (missed_set) {
		fputs_unlocked(",\"missed_events\":", f);
		write_u64(f, missed_events);
	}
}

static bool schema_has_json(const struct schema *s)
{
	for (int i = 0; i < s->nfields; i++)
		if (s->fields[i].flags & FF_JSON)
			return true;
	return false;
}

static void render_json(FILE *f, struct snapshot *sn, double ts)
{
	fputc_unlocked('{', f);
	json_ts(f, ts);
	fputs_unlocked(",\"tool\":", f);
	json_write_string(f, sn->schema->tool);
	if (config.instance) {
		fputs_unlocked(",\"run\":", f);
		json_write_string(f, config.instance);
	}
	fputs_unlocked(",\"start_time_seconds\":", f);
	write_double(f, floor(start_time * 1000) / 1000);
	json_meta(f, sn->metarec, sn->meta, sn->nmeta);
	json_loss(f);
	for (struct snapshot *p = sn; p; p = p->next) {
		if (p != sn && !schema_has_json(p->schema))
			continue;
		json_key(f, p->schema->array);
		fputc_unlocked('[', f);
		for (int i = 0; i < p->nrec; i++) {
			if (i)
				fputc_unlocked(',', f);
			json_record(f, p->recs[i]);
		}
		fputc_unlocked(']', f);
	}
	fputs_unlocked("}\n", f);
}

/* ---- table ---------------------------------------------------------- */

static bool table_visible(const struct field *fd)
{
	if (fd->flags & FF_TABLE)
		return true;
	return config.wide && (fd->flags & FF_WIDE);
}

char *out_table_cell(const struct field *fd, const struct value *v)
{
	char buf[256];
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	switch (v->t) {
	case V_NONE: return xstrdup("-");
	case V_STR: return out_escape(v->s);
	case V_U64:
		if (fd->table_scale)
			snprintf(buf, sizeof(buf), "%.*f", fd->table_prec, v->u / fd->table_scale);
		else
			snprintf(buf, sizeof(buf), "%" PRIu64, v->u);
		return xstrdup(buf);
	case V_I64:
		snprintf(buf, sizeof(buf), "%" PRId64, v->i);
		return xstrdup(buf);
	case V_DBL:
		snprintf(buf, sizeof(buf), "%.*f", fd->table_prec,
			 fd->table_scale ? v->d / fd->table_scale : v->d);
		return xstrdup(buf);
	case V_HIST:
		/* a table cell cannot hold a histogram: its count */
		snprintf(buf, sizeof(buf), "%" PRIu64, v->h->count);
		return xstrdup(buf);
	case V_STRLIST:
	case V_U64LIST:
		if (!v->n)
			return xstrdup("-");
		m = open_memstream(&out, &len);
		if (!m)
			die(EXIT_FAIL, "out of memory");
		for (int i = 0; i < v->n; i++) {
			if (i)
				fputc_unlocked(',', m);
			if (v->t == V_STRLIST)
				out_write_string(m, v->sl[i], ESC_TABLE);
			else
				fprintf(m, "%" PRIu64, v->ul[i]);
		}
		fclose(m);
		return out;
	}
	return xstrdup("?");
}

static bool right_aligned(const struct field *fd, const struct value *v)
{
	if (fd->flags & FF_LEFT)
		return false;
	return is_number(v) || v->t == V_HIST ||
	       (v->t == V_NONE && fd->kind != FK_TEXT && fd->kind != FK_LABEL);
}

static void time_string(double ts, char *buf, size_t len)
{
	time_t t = (time_t)ts;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* "# name: value" lines: static facts once per run (every snapshot when
 * writing a file), changing values every snapshot. */
static void table_meta(FILE *f, struct snapshot *sn)
{
	static bool static_done;
	bool show_static = !config.no_header && (!static_done || config.file);
	const struct record *m = sn->metarec;

	for (int i = 0; i < sn->nmeta && show_static; i++)
		fprintf(f, "# %s: %s\n", sn->meta[i].key, sn->meta[i].val);
	for (int i = 0; m && i < m->schema->nfields; i++) {
		const struct field *fd = &m->schema->fields[i];
		if (fd->kind == FK_LABEL ? !show_static : config.no_header)
			continue;
		if (m->v[i].t == V_NONE)
			continue;
		char *c = out_table_cell(fd, &m->v[i]);
		if (m->v[i].t == V_DBL && !fd->table_scale && !fd->table_prec) {
			free(c); /* no display precision declared: the value in full */
			c = xcalloc(1, 32);
			out_format_double(c, m->v[i].d);
		}
		fprintf(f, "# %s: %s\n", fd->name, c);
		free(c);
	}
	if (!config.no_header && lost_set && lost_events)
		fprintf(f, "# lost_events: %" PRIu64 "\n", lost_events);
	if (!config.no_header && missed_set && missed_events)
		fprintf(f, "# missed_events: %" PRIu64 "\n", missed_events);
	static_done = true;
}

static void render_table(FILE *f, struct snapshot *sn, double ts)
{
	const struct schema *s = sn->schema;
	int nf = s->nfields;
	int *w = xcalloc(nf, sizeof(int));
	char ***cells = xcalloc(sn->nrec ? sn->nrec : 1, sizeof(char **));

	if (config.timestamp && !sn->appended) {
		char tb[32];
		time_string(ts, tb, sizeof(tb));
		fprintf(f, "%s\n", tb);
	}
	if (!sn->appended)
		table_meta(f, sn);

	for (int j = 0; j < nf; j++)
		if (table_visible(&s->fields[j]))
			w[j] = (int)strlen(s->fields[j].header);
	for (int i = 0; i < sn->nrec; i++) {
		cells[i] = xcalloc(nf, sizeof(char *));
		for (int j = 0; j < nf; j++) {
			if (!table_visible(&s->fields[j]))
				continue;
			cells[i][j] = out_table_cell(&s->fields[j], &sn->recs[i]->v[j]);
			int l = (int)strlen(cells[i][j]);
			if (l > w[j])
				w[j] = l;
		}
	}
	/* find last visible column so lines carry no trailing blanks */
	int last = -1;
	for (int j = 0; j < nf; j++)
		if (table_visible(&s->fields[j]))
			last = j;
	if (!config.no_header) {
		bool first = true;
		for (int j = 0; j < nf; j++) {
			const struct field *fd = &s->fields[j];
			if (!table_visible(fd))
				continue;
			bool right = (fd->kind == FK_COUNTER || fd->kind == FK_GAUGE || fd->kind == FK_HIST ||
				      (fd->flags & FF_RIGHT)) && !(fd->flags & FF_LEFT);
			if (j == last && !right)
				fprintf(f, "%s%s", first ? "" : "  ", fd->header);
			else
				fprintf(f, "%s%*s", first ? "" : "  ", right ? w[j] : -w[j], fd->header);
			first = false;
		}
		fputc_unlocked('\n', f);
	}
	for (int i = 0; i < sn->nrec; i++) {
		bool first = true;
		for (int j = 0; j < nf; j++) {
			const struct field *fd = &s->fields[j];
			if (!table_visible(fd))
				continue;
			bool right = right_aligned(fd, &sn->recs[i]->v[j]) ||
				     ((fd->kind == FK_COUNTER || fd->kind == FK_GAUGE || fd->kind == FK_HIST) &&
				      !(fd->flags & FF_LEFT));
			if (j == last && !right)
				fprintf(f, "%s%s", first ? "" : "  ", cells[i][j]);
			else
				fprintf(f, "%s%*s", first ? "" : "  ", right ? w[j] : -w[j], cells[i][j]);
			first = false;
			free(cells[i][j]);
		}
		fputc_unlocked('\n', f);
		free(cells[i]);
	}
	free(cells);
	free(w);
	/* appended record kinds: one more table each, when not empty */
	for (struct snapshot *p = sn->next; p && !sn->appended; p = p->next) {
		bool visible = false;
		for (int j = 0; j < p->schema->nfields; j++)
			visible |= table_visible(&p->schema->fields[j]);
		if (!p->nrec || !visible)
			continue; /* empty, or records for JSON/prom only */
		fputc_unlocked('\n', f);
		render_table(f, p, ts);
	}
}

/* ---- Prometheus ----------------------------------------------------- */

struct prom_writer {
	FILE *f;
	const char *tool;
	const char *view;
	char *family;     /* the metric being written */
	enum field_kind kind;
	char **families;  /* every family of this exposition */
	int nfamilies;
	uint64_t *seen;   /* label-set hashes of the current family (open addressing, 0 = empty) */
	int seencap, nseen;
	char *lbuf;       /* the current sample's label text */
	size_t lcap, llen;
	int err;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

struct prom_writer *prom_begin(FILE *f, const char *tool, const char *view)
{
	struct prom_writer *pw = xcalloc(1, sizeof(*pw));
	pw->f = f;
	pw->tool = tool;
	pw->view = view;
	return pw;
}

static void seen_reset(struct prom_writer *pw)
{
	free(pw->seen);
	pw->seen = NULL;
	pw->seencap = pw->nseen = 0;
}

/* True when the label set was already written for this family. */
static bool seen_add(struct prom_writer *pw, uint64_t h)
{
	if (pw->nseen * 2 >= pw->seencap) {
		int ncap = pw->seencap ? pw->seencap * 2 : 64;
		uint64_t *n = xcalloc(ncap, sizeof(*n));
		for (int i = 0; i < pw->seencap; i++) {
			if (!pw->seen[i])
				continue;
			int k = (int)(pw->seen[i] % (uint64_t)ncap);
			while (n[k])
				k = (k + 1) % ncap;
			n[k] = pw->seen[i];
		}
		free(pw->seen);
		pw->seen = n;
		pw->seencap = ncap;
	}
	int k = (int)(h % (uint64_t)pw->seencap);
	while (pw->seen[k]) {
		if (pw->seen[k] == h)
			return true;
		k = (k + 1) % pw->seencap;
	}
	pw->seen[k] = h;
	pw->nseen++;
	return false;
}

void prom_family(struct prom_writer *pw, const char *name, enum field_kind kind, const char *help)
{
	char full[256];
	snprintf(full, sizeof(full), "bpfscope_%s_%s%s", pw->tool, name, kind == FK_COUNTER ? "_total" : "");
	for (int i = 0; i < pw->nfamilies; i++)
		if (!strcmp(pw->families[i], full)) {
			fprintf(stderr, "%s: internal error: metric %s written twice in one exposition\n",
				prog_name, full);
			pw->err = -EINVAL;
		}
	pw->families = xrealloc(pw->families, (pw->nfamilies + 1) * sizeof(char *));
	pw->families[pw->nfamilies++] = xstrdup(full);
	free(pw->family);
	pw->family = xstrdup(full);
	pw->kind = kind;
	seen_reset(pw);
	fprintf(pw->f, "# HELP %s ", full);
	prom_write_help(pw->f, help ? help : name);
	fprintf(pw->f, "\n# TYPE %s %s\n", full,
		kind == FK_COUNTER ? "counter" : kind == FK_HIST ? "histogram" : "gauge");
}

/* Label text into pw->lbuf: {a="x",b="y"} or "" */
static void labels_text(struct prom_writer *pw, const struct record *r, const char *const *lk,
			const char *const *lv, int nl, const char *le)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	bool any = false;
	if (!m)
		die(EXIT_FAIL, "out of memory");
	for (int j = 0; r && j < r->schema->nfields; j++) {
		const struct field *fd = &r->schema->fields[j];
		const struct value *v = &r->v[j];
		if (fd->kind != FK_LABEL || !(fd->flags & FF_PROM))
			continue;
		fputs_unlocked(any ? "," : "{", m);
		any = true;
		fprintf(m, "%s=", fd->name);
		if (v->t == V_STR) {
			prom_write_label_value(m, v->s);
		} else if (is_number(v)) {
			fputc_unlocked('"', m);
			write_num(m, v);
			fputc_unlocked('"', m);
		} else {
			fputs_unlocked("\"\"", m);
		}
	}
	for (int i = 0; i < nl; i++) {
		fputs_unlocked(any ? "," : "{", m);
		any = true;
		fprintf(m, "%s=", lk[i]);
		prom_write_label_value(m, lv[i]);
	}
	if (pw->view) {
		fputs_unlocked(any ? ",view=" : "{view=", m);
		any = true;
		prom_write_label_value(m, pw->view);
	}
	if (config.instance) {
		fputs_unlocked(any ? ",run=" : "{run=", m);
		any = true;
		prom_write_label_value(m, config.instance);
	}
	if (le) {
		fputs_unlocked(any ? ",le=\"" : "{le=\"", m);
		any = true;
		fputs_unlocked(le, m);
		fputc_unlocked('"', m);
	}
	if (any)
		fputc_unlocked('}', m);
	fclose(m);
	free(pw->lbuf);
	pw->lbuf = buf;
	pw->llen = len;
}

static void sample_line(struct prom_writer *pw, const char *suffix, const char *value)
{
	fputs_unlocked(pw->family, pw->f);
	fputs_unlocked(suffix, pw->f);
	fwrite_unlocked(pw->lbuf, 1, pw->llen, pw->f);
	fputc_unlocked(' ', pw->f);
	fputs_unlocked(value, pw->f);
	fputc_unlocked('\n', pw->f);
}

void prom_sample(struct prom_writer *pw, const struct record *r, const char *const *lk,
		 const char *const *lv, int nl, const struct value *v)
{
	char num[32];

	labels_text(pw, r, lk, lv, nl, NULL);
	if (seen_add(pw, hash_bytes(pw->lbuf, pw->llen))) {
		fprintf(stderr, "%s: internal error: duplicate series %s%.*s\n", prog_name, pw->family,
			(int)pw->llen, pw->lbuf);
		pw->err = -EINVAL;
		return;
	}
	if (v->t == V_HIST) {
		uint64_t cum = 0;
		bool inf = false;
		for (int i = 0; i < v->h->n; i++) {
			cum += v->h->counts[i];
			inf |= isinf(v->h->le[i]) != 0;
			out_format_double(num, v->h->le[i]);
			labels_text(pw, r, lk, lv, nl, num);
			snprintf(num, sizeof(num), "%" PRIu64, cum);
			sample_line(pw, "_bucket", num);
		}
		if (!inf) {
			labels_text(pw, r, lk, lv, nl, "+Inf");
			snprintf(num, sizeof(num), "%" PRIu64, v->h->count);
			sample_line(pw, "_bucket", num);
		}
		labels_text(pw, r, lk, lv, nl, NULL);
		out_format_double(num, v->h->sum);
		sample_line(pw, "_sum", num);
		snprintf(num, sizeof(num), "%" PRIu64, v->h->count);
		sample_line(pw, "_count", num);
		return;
	}
	if (v->t == V_U64)
		snprintf(num, sizeof(num), "%" PRIu64, v->u);
	else if (v->t == V_I64)
		snprintf(num, sizeof(num), "%" PRId64, v->i);
	else
		out_format_double(num, v->d);
	sample_line(pw, "", num);
}

static void prom_num_meta(struct prom_writer *pw, const char *name, enum field_kind kind, const char *help,
			  const struct value *v)
{
	prom_family(pw, name, kind, help);
	prom_sample(pw, NULL, NULL, NULL, 0, v);
}

void prom_standard(struct prom_writer *pw, const struct record *meta, const char *const *extra_keys,
		   const char *const *extra_vals, int nextra, double ts)
{
	const char *keys[64], *vals[64];
	int n = 0;
	char help[160];

	keys[n] = "version";
	vals[n++] = BPFSCOPE_VERSION;
	char numbuf[64][32];
	for (int i = 0; meta && i < meta->schema->nfields && n < 64; i++) {
		const struct field *fd = &meta->schema->fields[i];
		const struct value *v = &meta->v[i];
		if (fd->kind != FK_LABEL || (v->t != V_STR && !is_number(v)))
			continue;
		keys[n] = fd->name;
		if (v->t == V_STR) {
			vals[n++] = v->s;
		} else {
			/* a number that does not change during the run (a JSON number too) */
			if (v->t == V_U64)
				snprintf(numbuf[n], sizeof(numbuf[n]), "%" PRIu64, v->u);
			else if (v->t == V_I64)
				snprintf(numbuf[n], sizeof(numbuf[n]), "%" PRId64, v->i);
			else
				out_format_double(numbuf[n], v->d);
			vals[n] = numbuf[n];
			n++;
		}
	}
	for (int i = 0; i < nextra && n < 64; i++) {
		keys[n] = extra_keys[i];
		vals[n++] = extra_vals[i];
	}
	snprintf(help, sizeof(help), "Facts about this %s run that do not change while it runs: version, mechanisms.",
		 pw->tool);
	prom_family(pw, "info", FK_GAUGE, help);
	struct value one = { .t = V_U64, .u = 1 };
	prom_sample(pw, NULL, keys, vals, n, &one);

	struct value t = { .t = V_DBL, .d = floor(ts * 1000) / 1000 };
	prom_num_meta(pw, "snapshot_timestamp_seconds", FK_GAUGE, "Unix time the snapshot was taken.", &t);
	t.d = floor(start_time * 1000) / 1000;
	prom_num_meta(pw, "start_time_seconds", FK_GAUGE,
		      "Unix time since which the counters count (the first run's start with --state).", &t);
	for (int i = 0; meta && i < meta->schema->nfields; i++) {
		const struct field *fd = &meta->schema->fields[i];
		if ((fd->kind != FK_COUNTER && fd->kind != FK_GAUGE && fd->kind != FK_HIST) || meta->v[i].t == V_NONE)
			continue;
		prom_num_meta(pw, fd->name, fd->kind, fd->help, &meta->v[i]);
	}
	static const struct field lf = F_LOST_EVENTS(0), mf = F_MISSED_EVENTS(0);
	if (lost_set) {
		struct value v = { .t = V_U64, .u = lost_events };
		prom_num_meta(pw, lf.name, FK_COUNTER, lf.help, &v);
	}
	if (missed_set) {
		struct value v = { .t = V_U64, .u = missed_events };
		prom_num_meta(pw, mf.name, FK_COUNTER, mf.help, &v);
	}
}

int prom_end(struct prom_writer *pw)
{
	int err = pw->err;
	for (int i = 0; i < pw->nfamilies; i++)
		free(pw->families[i]);
	free(pw->families);
	free(pw->family);
	free(pw->seen);
	free(pw->lbuf);
	free(pw);
	return err;
}

static int render_prom(FILE *f, struct snapshot *sn, double ts)
{
	struct prom_writer *pw = prom_begin(f, sn->schema->tool, sn->schema->array);
	const char **lk = xcalloc(sn->nmeta + 1, sizeof(char *));
	const char **lv = xcalloc(sn->nmeta + 1, sizeof(char *));

	for (int i = 0; i < sn->nmeta; i++) {
		lk[i] = sn->meta[i].key;
		lv[i] = sn->meta[i].val;
	}
	prom_standard(pw, sn->metarec, lk, lv, sn->nmeta, ts);
	free(lk);
	free(lv);

	/* the snapshot's records, then those of appended snapshots */
	for (struct snapshot *p = sn; p; p = p->next) {
		const struct schema *s = p->schema;
		for (int j = 0; j < s->nfields; j++) {
			const struct field *fd = &s->fields[j];
			if (!(fd->flags & FF_PROM) ||
			    (fd->kind != FK_COUNTER && fd->kind != FK_GAUGE && fd->kind != FK_HIST))
				continue;
			/* declared names carry no _total: prom_family adds it
			 * for counters (legacy names ending in _total keep it) */
			char name[200];
			snprintf(name, sizeof(name), "%s", fd->name);
			if (fd->kind == FK_COUNTER && ends_with(name, "_total"))
				name[strlen(name) - 6] = '\0';
			prom_family(pw, name, fd->kind, fd->help);
			for (int i = 0; i < p->nrec; i++) {
				const struct value *v = &p->recs[i]->v[j];
				if (is_number(v) || v->t == V_HIST)
					prom_sample(pw, p->recs[i], NULL, NULL, 0, v);
			}
		}
	}
	return prom_end(pw);
}

int render_snapshot(FILE *f, struct snapshot *sn, double ts)
{
	switch (config.format) {
	case OUT_TABLE: render_table(f, sn, ts); return 0;
	case OUT_JSON: render_json(f, sn, ts); return 0;
	case OUT_PROM: return render_prom(f, sn, ts);
	case OUT_DOT: /* opts refuses dot unless the tool draws graphs (common/graph.c) */
		die(EXIT_USAGE, "output format dot is only for graph tools");
	}
	return 0;
}

/* ---- --state: counters that survive periodic runs --------------------- */

struct state_ent {
	char *key;
	double base;   /* total of earlier runs */
	double cur;    /* base + this run's latest value */
	double seen;   /* Unix time the series was last written */
};

/* Series not written for this long are dropped from the state file, so one
 * of many short-lived series (connections, flows) does not stay forever.
 * One that comes back later counts from 0 again, after a gap Prometheus
 * has already marked stale. */
#define STATE_KEEP_SECONDS 3600

static struct state_ent *st;
static int nst, stcap;
static int *st_hash; /* indexes + 1, open addressing */
static int st_hcap;
static bool st_loaded;
static char *st_header;

static uint64_t str_hash(const char *s)
{
	return hash_bytes(s, strlen(s));
}

static void state_rehash(void)
{
	free(st_hash);
	st_hcap = st_hcap ? st_hcap * 2 : 256;
	st_hash = xcalloc(st_hcap, sizeof(int));
	for (int i = 0; i < nst; i++) {
		int k = (int)(str_hash(st[i].key) % (uint64_t)st_hcap);
		while (st_hash[k])
			k = (k + 1) % st_hcap;
		st_hash[k] = i + 1;
	}
}

static struct state_ent *state_find(const char *key, bool create)
{
	if (st_hcap) {
		int k = (int)(str_hash(key) % (uint64_t)st_hcap);
		for (; st_hash[k]; k = (k + 1) % st_hcap)
			if (!strcmp(st[st_hash[k] - 1].key, key))
				return &st[st_hash[k] - 1];
	}
	if (!create)
		return NULL;
	if (nst == stcap) {
		stcap = stcap ? stcap * 2 : 64;
		st = xrealloc(st, stcap * sizeof(*st));
	}
	memset(&st[nst], 0, sizeof(*st));
	st[nst].key = xstrdup(key);
	nst++;
	if (nst * 2 >= st_hcap) {
		state_rehash();
	} else {
		int k = (int)(str_hash(key) % (uint64_t)st_hcap);
		while (st_hash[k])
			k = (k + 1) % st_hcap;
		st_hash[k] = nst;
	}
	return &st[nst - 1];
}

/* Load once: "bpfscope-state 1 TOOL VIEW", "START start", then
 * "VALUE SEEN KEY" lines.  A file of another tool or view is refused. */
static void state_load(const char *tool, const char *view)
{
	char want[256];
	if (st_loaded || !config.state)
		return;
	st_loaded = true;
	snprintf(want, sizeof(want), "bpfscope-state 1 %s %s", tool, view);
	st_header = xstrdup(want);
	FILE *f = fopen(config.state, "r");
	if (!f) {
		if (errno != ENOENT)
			die(EXIT_FAIL, "cannot read state file %s: %s", config.state, strerror(errno));
		return; /* first run: counting starts now */
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, want))
				die(EXIT_USAGE, "state file %s is not for %s view %s (it starts \"%.80s\")",
				    config.state, tool, view, line);
			continue;
		}
		char *end, *p;
		double v = strtod(line, &end);
		if (end == line || *end != ' ' || !isfinite(v) || v < 0)
			continue;
		p = end + 1;
		if (lineno == 2 && !strcmp(p, "start")) {
			start_time = v;
			continue;
		}
		double seen = strtod(p, &end);
		if (end == p || *end != ' ' || !end[1])
			continue;
		struct state_ent *e = state_find(end + 1, true);
		e->base = e->cur = v;
		e->seen = seen;
	}
	free(line);
	fclose(f);
}

static char *state_key(const char *view, const struct record *r, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	fprintf(m, "%s/%s/%s", view, r->schema->array, name);
	for (int j = 0; j < r->schema->nfields; j++) {
		const struct field *fd = &r->schema->fields[j];
		const struct value *v = &r->v[j];
		if (fd->kind != FK_LABEL)
			continue;
		fprintf(m, "/%s=", fd->name);
		if (v->t == V_STR)
			out_write_string(m, v->s, ESC_PROM); /* no spaces or newlines survive unquoted */
		else if (is_number(v))
			write_num(m, v);
	}
	fclose(m);
	for (char *p = buf; *p; p++)
		if (*p == ' ' || *p == '\n')
			*p = '_';
	return buf;
}

static void state_counter(const char *key, struct value *v)
{
	struct state_ent *e = state_find(key, true);
	double run = v->t == V_U64 ? (double)v->u : v->t == V_I64 ? (double)v->i : v->d;
	e->cur = e->base + run;
	e->seen = now_wall();
	if (v->t == V_U64 && e->base == floor(e->base) && e->base < 9007199254740992.0)
		v->u += (uint64_t)e->base;
	else {
		v->t = V_DBL;
		v->d = e->cur;
	}
}

void state_apply(const char *view, struct record *r)
{
	if (!config.state)
		return;
	state_load(r->schema->tool, view);
	for (int j = 0; j < r->schema->nfields; j++) {
		if (r->schema->fields[j].kind != FK_COUNTER || !is_number(&r->v[j]))
			continue;
		char *key = state_key(view, r, r->schema->fields[j].name);
		state_counter(key, &r->v[j]);
		free(key);
	}
}

void state_apply_meta(const char *view, struct record *meta)
{
	if (!config.state || !meta)
		return;
	state_load(meta->schema->tool, view);
	for (int j = 0; j < meta->schema->nfields; j++) {
		if (meta->schema->fields[j].kind != FK_COUNTER || !is_number(&meta->v[j]))
			continue;
		char key[256];
		snprintf(key, sizeof(key), "%s/meta/%s", view, meta->schema->fields[j].name);
		state_counter(key, &meta->v[j]);
	}
}

static void state_loss(const char *tool, const char *view)
{
	if (!config.state)
		return;
	state_load(tool, view);
	struct value v;
	char key[256];
	if (lost_set) {
		v = (struct value){ .t = V_U64, .u = lost_events };
		snprintf(key, sizeof(key), "%s/meta/lost_events", view);
		state_counter(key, &v);
		lost_events = v.t == V_U64 ? v.u : (uint64_t)v.d;
	}
	if (missed_set) {
		v = (struct value){ .t = V_U64, .u = missed_events };
		snprintf(key, sizeof(key), "%s/meta/missed_events", view);
		state_counter(key, &v);
		missed_events = v.t == V_U64 ? v.u : (uint64_t)v.d;
	}
}

/* Unit tests: forget the loaded state, as a new process would start. */
void state_forget(void)
{
	for (int i = 0; i < nst; i++)
		free(st[i].key);
	free(st);
	free(st_hash);
	st = NULL;
	st_hash = NULL;
	nst = stcap = st_hcap = 0;
	st_loaded = false;
	free(st_header);
	st_header = NULL;
}

int state_save(void)
{
	char *buf = NULL;
	size_t len = 0;
	char num[32];
	if (!config.state || !st_header)
		return 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	fprintf(m, "%s\n", st_header);
	out_format_double(num, floor(start_time * 1000) / 1000);
	fprintf(m, "%s start\n", num);
	double now = now_wall();
	for (int i = 0; i < nst; i++) {
		if (now - st[i].seen > STATE_KEEP_SECONDS)
			continue;
		char seen[32];
		out_format_double(num, st[i].cur);
		out_format_double(seen, floor(st[i].seen));
		fprintf(m, "%s %s %s\n", num, seen, st[i].key);
	}
	fclose(m);
	int err = write_file_atomic(config.state, buf, len);
	free(buf);
	return err;
}

/* ---- writing -------------------------------------------------------- */

int write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += n;
	}
	if (!err && fchmod(fd, 0644))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int write_stdout(const char *data, size_t len)
{
	if (len && fwrite_unlocked(data, 1, len, stdout) != len)
		goto fail;
	if (fflush(stdout))
		goto fail;
	return 0;
fail:
	if (errno == EPIPE)
		exit(EXIT_OK); /* reader went away (| head): not an error */
	return -errno;
}

int snap_end(struct snapshot *sn)
{
	char *buf = NULL;
	size_t len = 0;
	int err;
	static bool printed_before;
	uint64_t lost_run = lost_events, missed_run = missed_events;

	if (config.state) {
		const char *view = sn->schema->array;
		state_load(sn->schema->tool, view);
		for (struct snapshot *p = sn; p; p = p->next)
			for (int i = 0; i < p->nrec; i++)
				state_apply(view, p->recs[i]);
		state_apply_meta(view, sn->metarec);
		state_loss(sn->schema->tool, view);
	}
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	if (config.format == OUT_TABLE && printed_before && !config.file)
		fputc_unlocked('\n', m);
	err = render_snapshot(m, sn, now_wall());
	fclose(m);
	lost_events = lost_run; /* the run's own counts: --state adds the base per snapshot */
	missed_events = missed_run;
	printed_before = true;
	if (!err && config.file)
		err = write_file_atomic(config.file, buf, len);
	else if (!err)
		err = write_stdout(buf, len);
	if (!err)
		err = state_save();
	free(buf);
	snap_free(sn);
	return err;
}

/* ---- events --------------------------------------------------------- */

struct record *event_new(const struct schema *s)
{
	schema_use(s);
	return record_new(s);
}

/* Facts about an event stream (mechanism in use, ...): "# key: value" lines
 * above the table header, top-level fields of every JSON event. */
struct ev_meta_ent {
	char *key;
	struct value v;
};
static struct ev_meta_ent *ev_meta;
static int ev_nmeta;
static bool ev_header_done;
static bool ev_meta_checked;

static struct value *ev_meta_slot(const char *key)
{
	for (int i = 0; i < ev_nmeta; i++)
		if (!strcmp(ev_meta[i].key, key)) {
			value_clear(&ev_meta[i].v);
			return &ev_meta[i].v;
		}
	ev_meta = xrealloc(ev_meta, (ev_nmeta + 1) * sizeof(*ev_meta));
	memset(&ev_meta[ev_nmeta], 0, sizeof(*ev_meta));
	ev_meta[ev_nmeta].key = xstrdup(key);
	return &ev_meta[ev_nmeta++].v;
}

void event_meta(const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	struct value *v = ev_meta_slot(key);
	v->t = V_STR;
	v->s = xstrdup(buf);
}

void event_meta_num(const char *key, double d)
{
	struct value *v = ev_meta_slot(key);
	if (isfinite(d)) {
		v->t = V_DBL;
		v->d = d;
	}
}

void event_meta_u64(const char *key, uint64_t u)
{
	struct value *v = ev_meta_slot(key);
	v->t = V_U64;
	v->u = u;
}

void event_meta_free(void)
{
	for (int i = 0; i < ev_nmeta; i++) {
		free(ev_meta[i].key);
		value_clear(&ev_meta[i].v);
	}
	free(ev_meta);
	ev_meta = NULL;
	ev_nmeta = 0;
}

/* Stream meta keys must be fields of the event schema's meta (when it
 * declares one). */
static void event_meta_check(const struct schema *s)
{
	if (ev_meta_checked || !s->meta)
		return;
	ev_meta_checked = true;
	for (int i = 0; i < ev_nmeta; i++)
		if (field_index(s->meta, ev_meta[i].key) < 0)
			die(EXIT_FAIL, "internal error: %s: event meta %s not declared", s->tool, ev_meta[i].key);
}

static int event_width(const struct field *fd)
{
	int w = fd->width;
	int h = (int)strlen(fd->header);
	if (!w)
		w = fd->kind == FK_COUNTER || fd->kind == FK_GAUGE ? 8 : 12;
	return w > h ? w : h;
}

/* Event tables: a header is right-aligned over numbers (counters, gauges,
 * and labels marked FF_RIGHT: pids, ids, ports). */
static bool event_right(const struct field *fd)
{
	if (fd->flags & FF_LEFT)
		return false;
	return fd->kind == FK_COUNTER || fd->kind == FK_GAUGE || (fd->flags & FF_RIGHT);
}

static int last_visible(const struct schema *s)
{
	int last = -1;
	for (int j = 0; j < s->nfields; j++)
		if (table_visible(&s->fields[j]))
			last = j;
	return last;
}

static void event_header(FILE *f, const struct schema *s)
{
	static const struct field plain = { "", "", FK_TEXT, 0, NULL, 0, 0, 0 };
	for (int i = 0; i < ev_nmeta; i++) {
		char *c;
		if (ev_meta[i].v.t == V_DBL) {
			c = xcalloc(1, 32);
			out_format_double(c, ev_meta[i].v.d);
		} else {
			c = out_table_cell(&plain, &ev_meta[i].v);
		}
		fprintf(f, "# %s: %s\n", ev_meta[i].key, c);
		free(c);
	}
	if (config.timestamp)
		fprintf(f, "%-8s  ", "TIME");
	bool first = true;
	int last = last_visible(s);
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		if (!table_visible(fd))
			continue;
		bool right = event_right(fd);
		int w = event_width(fd);
		if (j == last && !right)
			fprintf(f, "%s%s", first ? "" : "  ", fd->header);
		else
			fprintf(f, "%s%*s", first ? "" : "  ", right ? w : -w, fd->header);
		first = false;
	}
	fputc_unlocked('\n', f);
}

void render_event(FILE *f, struct record *r, double ts, bool *header_done)
{
	const struct schema *s = r->schema;

	event_meta_check(s);
	if (config.format == OUT_JSON) {
		int type_idx = field_index(s, "type");
		fputc_unlocked('{', f);
		json_ts(f, ts);
		fputs_unlocked(",\"tool\":", f);
		json_write_string(f, s->tool);
		fputs_unlocked(",\"type\":", f);
		if (type_idx >= 0 && r->v[type_idx].t == V_STR)
			json_write_string(f, r->v[type_idx].s);
		else
			json_write_string(f, s->array);
		if (config.instance) {
			fputs_unlocked(",\"run\":", f);
			json_write_string(f, config.instance);
		}
		for (int i = 0; i < ev_nmeta; i++) {
			json_key(f, ev_meta[i].key);
			json_value(f, &ev_meta[i].v);
		}
		json_loss(f);
		for (int i = 0; i < s->nfields; i++) {
			if (!(s->fields[i].flags & FF_JSON) || i == type_idx)
				continue;
			json_key(f, s->fields[i].name);
			out_json_value(f, &s->fields[i], &r->v[i]);
		}
		fputs_unlocked("}\n", f);
		return;
	}
	/* table: fixed widths per kind of field, no buffering across events */
	if (!*header_done && !config.no_header)
		event_header(f, s);
	*header_done = true;
	if (config.timestamp) {
		char tb[32];
		time_string(ts, tb, sizeof(tb));
		fprintf(f, "%-8s  ", tb);
	}
	bool first = true;
	int last = last_visible(s);
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		if (!table_visible(fd))
			continue;
		char *c = out_table_cell(fd, &r->v[j]);
		int w = event_width(fd);
		bool right = event_right(fd) || right_aligned(fd, &r->v[j]);
		if (j == last && !right)
			fprintf(f, "%s%s", first ? "" : "  ", c);
		else
			fprintf(f, "%s%*s", first ? "" : "  ", right ? w : -w, c);
		first = false;
		free(c);
	}
	fputc_unlocked('\n', f);
}

int event_start(const struct schema *s)
{
	char *buf = NULL;
	size_t len = 0;
	int err;
	FILE *m;

	schema_use(s);
	event_meta_check(s);
	if (config.format != OUT_TABLE || ev_header_done || config.no_header)
		return 0;
	m = open_memstream(&buf, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	event_header(m, s);
	fclose(m);
	ev_header_done = true;
	err = write_stdout(buf, len);
	free(buf);
	return err;
}

static long ev_limit, ev_emitted;

void event_set_limit(long n)
{
	ev_limit = n;
}

bool event_limit_reached(void)
{
	return ev_limit > 0 && ev_emitted >= ev_limit;
}

int event_emit(struct record *r)
{
	char *buf = NULL;
	size_t len = 0;
	int err;
	FILE *m;

	/* -c N is exact: records already queued past the Nth are not printed */
	if (event_limit_reached()) {
		record_free(r);
		return 0;
	}
	ev_emitted++;
	m = open_memstream(&buf, &len);

	if (!m)
		die(EXIT_FAIL, "out of memory");
	render_event(m, r, now_wall(), &ev_header_done);
	fclose(m);
	err = write_stdout(buf, len);
	free(buf);
	record_free(r);
	return err;
}
