// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
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

struct meta {
	char *key;
	char *val;
};

struct snapshot {
	const struct schema *schema;
	struct record **recs;
	int nrec, cap;
	struct meta *meta;
	int nmeta;
	struct snapshot *next; /* snap_append: more records of another schema */
	bool appended;
};

static struct out_config config = { .format = OUT_TABLE };

void out_configure(const struct out_config *cfg)
{
	config = *cfg;
}

const struct out_config *out_get_config(void)
{
	return &config;
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

const struct value *rec_get(const struct record *r, int idx)
{
	return &r->v[idx];
}

/* ---- snapshots ------------------------------------------------------ */

struct snapshot *snap_begin(const struct schema *s)
{
	struct snapshot *sn = xcalloc(1, sizeof(*sn));
	sn->schema = s;
	return sn;
}

void snap_meta(struct snapshot *sn, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sn->meta = xrealloc(sn->meta, (sn->nmeta + 1) * sizeof(*sn->meta));
	sn->meta[sn->nmeta].key = xstrdup(key);
	sn->meta[sn->nmeta].val = xstrdup(buf);
	sn->nmeta++;
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
	free(sn->recs);
	snap_free(sn->next);
	free(sn);
}

/* ---- escaping ------------------------------------------------------- */

/* Write s between double quotes, replacing each character esc() returns a
 * replacement for.  Runs of plain characters go out in one fwrite: a call
 * per character (locked stdio) dominated the cost of an event. */
static void write_quoted(FILE *f, const char *s, const char *(*esc)(unsigned char c, char buf[8]))
{
	char buf[8];
	fputc_unlocked('"', f);
	const char *p = s, *run = p;
	for (; p && *p; p++) {
		const char *r = esc((unsigned char)*p, buf);
		if (!r)
			continue;
		if (p > run)
			fwrite_unlocked(run, 1, p - run, f);
		fputs_unlocked(r, f);
		run = p + 1;
	}
	if (p && p > run)
		fwrite_unlocked(run, 1, p - run, f);
	fputc_unlocked('"', f);
}

static const char *json_escape(unsigned char c, char buf[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	case '\b': return "\\b";
	case '\f': return "\\f";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
	return NULL;
}

static const char *prom_escape(unsigned char c, char buf[8])
{
	(void)buf;
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

void json_write_string(FILE *f, const char *s)
{
	write_quoted(f, s, json_escape);
}

void prom_write_label_value(FILE *f, const char *s)
{
	write_quoted(f, s, prom_escape);
}

static void write_number(FILE *f, double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		fprintf(f, "%.0f", d);
		return;
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%.6f", d);
	/* trim trailing zeros, keep at least one digit after the point */
	char *e = buf + strlen(buf) - 1;
	while (e > buf && *e == '0' && e[-1] != '.')
		*e-- = '\0';
	fputs_unlocked(buf, f);
}

static bool is_number(const struct value *v)
{
	return v->t == V_U64 || v->t == V_I64 || v->t == V_DBL;
}

static double as_double(const struct value *v)
{
	switch (v->t) {
	case V_U64: return (double)v->u;
	case V_I64: return (double)v->i;
	case V_DBL: return v->d;
	default: return NAN;
	}
}

/* ---- JSON ----------------------------------------------------------- */

static void json_value(FILE *f, const struct value *v)
{
	switch (v->t) {
	case V_NONE: fputs_unlocked("null", f); break;
	case V_STR: json_write_string(f, v->s); break;
	case V_U64: fprintf(f, "%" PRIu64, v->u); break;
	case V_I64: fprintf(f, "%" PRId64, v->i); break;
	case V_DBL: write_number(f, v->d); break;
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
		for (int i = 0; i < v->n; i++)
			fprintf(f, "%s%" PRIu64, i ? "," : "", v->ul[i]);
		fputc_unlocked(']', f);
		break;
	}
}

static void json_field_value(FILE *f, const struct field *fd, const struct value *v)
{
	if (v->t == V_NONE && (fd->flags & FF_LIST))
		fputs_unlocked("[]", f);
	else
		json_value(f, v);
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
		json_field_value(f, &s->fields[i], &r->v[i]);
	}
	fputc_unlocked('}', f);
}

static void json_ts(FILE *f, double ts)
{
	fprintf(f, "\"ts\":%.6f", ts);
}

static void render_json(FILE *f, struct snapshot *sn, double ts)
{
	fputc_unlocked('{', f);
	json_ts(f, ts);
	fputs_unlocked(",\"tool\":", f);
	json_write_string(f, sn->schema->tool);
	for (int i = 0; i < sn->nmeta; i++) {
		fputc_unlocked(',', f);
		json_write_string(f, sn->meta[i].key);
		fputc_unlocked(':', f);
		json_write_string(f, sn->meta[i].val);
	}
	for (struct snapshot *p = sn; p; p = p->next) {
		fputc_unlocked(',', f);
		json_write_string(f, p->schema->array);
		fputs_unlocked(":[", f);
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

static char *table_cell(const struct field *fd, const struct value *v)
{
	char buf[256];
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	switch (v->t) {
	case V_NONE: return xstrdup("-");
	case V_STR: return xstrdup(v->s);
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
				fputs_unlocked(v->sl[i], m);
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
	return is_number(v) || (v->t == V_NONE && fd->kind != FK_TEXT && fd->kind != FK_LABEL);
}

static void time_string(double ts, char *buf, size_t len)
{
	time_t t = (time_t)ts;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
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
	/* the mechanism lines do not change between snapshots: print them once */
	static bool meta_done;
	for (int i = 0; i < sn->nmeta && !config.no_header && !(meta_done && !config.file); i++)
		fprintf(f, "# %s: %s\n", sn->meta[i].key, sn->meta[i].val);
	meta_done = true;

	for (int j = 0; j < nf; j++)
		if (table_visible(&s->fields[j]))
			w[j] = (int)strlen(s->fields[j].header);
	for (int i = 0; i < sn->nrec; i++) {
		cells[i] = xcalloc(nf, sizeof(char *));
		for (int j = 0; j < nf; j++) {
			if (!table_visible(&s->fields[j]))
				continue;
			cells[i][j] = table_cell(&s->fields[j], &sn->recs[i]->v[j]);
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
			bool right = fd->kind == FK_COUNTER || fd->kind == FK_GAUGE;
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
				     fd->kind == FK_COUNTER || fd->kind == FK_GAUGE;
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
		if (!p->nrec)
			continue;
		fputc_unlocked('\n', f);
		render_table(f, p, ts);
	}
}

/* ---- Prometheus ----------------------------------------------------- */

static void prom_labels(FILE *f, const struct record *r)
{
	const struct schema *s = r->schema;
	bool any = false;
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		const struct value *v = &r->v[j];
		if (fd->kind != FK_LABEL || !(fd->flags & FF_PROM))
			continue;
		fputs_unlocked(any ? "," : "{", f);
		any = true;
		fprintf(f, "%s=", fd->name);
		if (v->t == V_STR) {
			prom_write_label_value(f, v->s);
		} else if (v->t == V_U64) {
			fprintf(f, "\"%" PRIu64 "\"", v->u);
		} else if (v->t == V_I64) {
			fprintf(f, "\"%" PRId64 "\"", v->i);
		} else {
			fputs_unlocked("\"\"", f);
		}
	}
	if (any)
		fputc_unlocked('}', f);
}

static void render_prom(FILE *f, struct snapshot *sn, double ts)
{
	const struct schema *s = sn->schema;
	const char *tool = s->tool;

	fprintf(f, "# HELP bpfscope_%s_info Facts about this %s snapshot: mechanisms in use.\n",
		tool, tool);
	fprintf(f, "# TYPE bpfscope_%s_info gauge\n", tool);
	fprintf(f, "bpfscope_%s_info{version=", tool);
	prom_write_label_value(f, BPFSCOPE_VERSION);
	for (int i = 0; i < sn->nmeta; i++) {
		fprintf(f, ",%s=", sn->meta[i].key);
		prom_write_label_value(f, sn->meta[i].val);
	}
	fputs_unlocked("} 1\n", f);
	fprintf(f, "# HELP bpfscope_%s_snapshot_timestamp_seconds Unix time the snapshot was taken.\n", tool);
	fprintf(f, "# TYPE bpfscope_%s_snapshot_timestamp_seconds gauge\n", tool);
	fprintf(f, "bpfscope_%s_snapshot_timestamp_seconds %.3f\n", tool, ts);

	/* the snapshot's records, then those of appended snapshots */
	for (struct snapshot *p = sn; p; p = p->next) {
		s = p->schema;
		for (int j = 0; j < s->nfields; j++) {
			const struct field *fd = &s->fields[j];
			if (!(fd->flags & FF_PROM) || (fd->kind != FK_COUNTER && fd->kind != FK_GAUGE))
				continue;
			/* Prometheus counters end in _total (promtool insists); JSON
			 * keys stay as declared */
			size_t nl = strlen(fd->name);
			const char *sfx = fd->kind == FK_COUNTER && (nl < 6 || strcmp(fd->name + nl - 6, "_total"))
						  ? "_total" : "";
			fprintf(f, "# HELP bpfscope_%s_%s%s %s\n", tool, fd->name, sfx, fd->help ? fd->help : fd->name);
			fprintf(f, "# TYPE bpfscope_%s_%s%s %s\n", tool, fd->name, sfx,
				fd->kind == FK_COUNTER ? "counter" : "gauge");
			for (int i = 0; i < p->nrec; i++) {
				const struct value *v = &p->recs[i]->v[j];
				if (!is_number(v))
					continue;
				fprintf(f, "bpfscope_%s_%s%s", tool, fd->name, sfx);
				prom_labels(f, p->recs[i]);
				fputc_unlocked(' ', f);
				if (v->t == V_U64)
					fprintf(f, "%" PRIu64, v->u);
				else if (v->t == V_I64)
					fprintf(f, "%" PRId64, v->i);
				else
					write_number(f, as_double(v));
				fputc_unlocked('\n', f);
			}
		}
	}
}

void render_snapshot(FILE *f, struct snapshot *sn, double ts)
{
	switch (config.format) {
	case OUT_TABLE: render_table(f, sn, ts); break;
	case OUT_JSON: render_json(f, sn, ts); break;
	case OUT_PROM: render_prom(f, sn, ts); break;
	case OUT_DOT: /* opts refuses dot unless the tool draws graphs (common/graph.c) */
		die(EXIT_USAGE, "output format dot is only for graph tools");
	}
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
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		die(EXIT_FAIL, "out of memory");
	if (config.format == OUT_TABLE && printed_before && !config.file)
		fputc_unlocked('\n', m);
	render_snapshot(m, sn, now_wall());
	fclose(m);
	printed_before = true;
	if (config.file)
		err = write_file_atomic(config.file, buf, len);
	else
		err = write_stdout(buf, len);
	free(buf);
	snap_free(sn);
	return err;
}

/* ---- events --------------------------------------------------------- */

struct record *event_new(const struct schema *s)
{
	return record_new(s);
}

/* Facts about an event stream (mechanism in use, ...): "# key: value" lines
 * above the table header, top-level fields of every JSON event. */
static struct meta *ev_meta;
static int ev_nmeta;
static bool ev_header_done;

void event_meta(const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ev_meta = xrealloc(ev_meta, (ev_nmeta + 1) * sizeof(*ev_meta));
	ev_meta[ev_nmeta].key = xstrdup(key);
	ev_meta[ev_nmeta].val = xstrdup(buf);
	ev_nmeta++;
}

void event_meta_free(void)
{
	for (int i = 0; i < ev_nmeta; i++) {
		free(ev_meta[i].key);
		free(ev_meta[i].val);
	}
	free(ev_meta);
	ev_meta = NULL;
	ev_nmeta = 0;
}

static void event_header(FILE *f, const struct schema *s)
{
	for (int i = 0; i < ev_nmeta; i++)
		fprintf(f, "# %s: %s\n", ev_meta[i].key, ev_meta[i].val);
	if (config.timestamp)
		fprintf(f, "%-8s  ", "TIME");
	bool first = true;
	for (int j = 0; j < s->nfields; j++) {
		if (!table_visible(&s->fields[j]))
			continue;
		fprintf(f, "%s%s", first ? "" : "  ", s->fields[j].header);
		first = false;
	}
	fputc_unlocked('\n', f);
}

void render_event(FILE *f, struct record *r, double ts, bool *header_done)
{
	const struct schema *s = r->schema;

	if (config.format == OUT_JSON) {
		fputc_unlocked('{', f);
		json_ts(f, ts);
		for (int i = 0; i < ev_nmeta; i++) {
			fputc_unlocked(',', f);
			json_write_string(f, ev_meta[i].key);
			fputc_unlocked(':', f);
			json_write_string(f, ev_meta[i].val);
		}
		for (int i = 0; i < s->nfields; i++) {
			if (!(s->fields[i].flags & FF_JSON))
				continue;
			fputc_unlocked(',', f);
			json_write_string(f, s->fields[i].name);
			fputc_unlocked(':', f);
			json_field_value(f, &s->fields[i], &r->v[i]);
		}
		fputs_unlocked("}\n", f);
		return;
	}
	/* table: fixed widths from the header, no buffering across events */
	if (!*header_done && !config.no_header)
		event_header(f, s);
	*header_done = true;
	if (config.timestamp) {
		char tb[32];
		time_string(ts, tb, sizeof(tb));
		fprintf(f, "%-8s  ", tb);
	}
	bool first = true;
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		if (!table_visible(fd))
			continue;
		char *c = table_cell(fd, &r->v[j]);
		int w = (int)strlen(fd->header);
		bool right = right_aligned(fd, &r->v[j]);
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

int event_emit(struct record *r)
{
	char *buf = NULL;
	size_t len = 0;
	int err;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		die(EXIT_FAIL, "out of memory");
	render_event(m, r, now_wall(), &ev_header_done);
	fclose(m);
	err = write_stdout(buf, len);
	free(buf);
	record_free(r);
	return err;
}
