// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "util.h"

struct gnode {
	char *id;
	int kind;
	bool alert;
	struct record *rec;
	int *out;        /* indexes into edges, in insertion order */
	int nout;
	int nin;
	int state;       /* tree walk: 0 new, 1 on the path, 2 printed */
};

struct gedge {
	int from, to;
	bool alert;
	struct record *rec;
};

struct gmeta {
	char *key, *val, *help;
	bool num;
	double d;
};

struct graph {
	const char *tool;
	const struct graph_kind *kinds;
	int nkinds;
	const struct schema *edge_schema;
	struct gnode *nodes;
	int nnodes, capnodes;
	struct gedge *edges;
	int nedges, capedges;
	struct gmeta *meta;
	int nmeta;
	/* id lookup: open addressing over node indexes + 1 */
	int *hash;
	int hcap;
};

/* ---- building --------------------------------------------------------- */

struct graph *graph_begin(const char *tool, const struct graph_kind *kinds, int nkinds,
			  const struct schema *edge_schema)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	g->tool = tool;
	g->kinds = kinds;
	g->nkinds = nkinds;
	g->edge_schema = edge_schema;
	return g;
}

static void add_meta(struct graph *g, const char *key, const char *val, const char *help, bool num, double d)
{
	g->meta = xrealloc(g->meta, (g->nmeta + 1) * sizeof(*g->meta));
	g->meta[g->nmeta].key = xstrdup(key);
	g->meta[g->nmeta].val = xstrdup(val);
	g->meta[g->nmeta].help = xstrdup(help ? help : key);
	g->meta[g->nmeta].num = num;
	g->meta[g->nmeta].d = d;
	g->nmeta++;
}

static void number_string(char *buf, size_t len, double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", d);
		return;
	}
	snprintf(buf, len, "%.6f", d);
	char *e = buf + strlen(buf) - 1;
	while (e > buf && *e == '0' && e[-1] != '.')
		*e-- = '\0';
}

void graph_meta(struct graph *g, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_meta(g, key, buf, NULL, false, 0);
}

void graph_meta_num(struct graph *g, const char *key, const char *help, double v)
{
	char buf[64];
	number_string(buf, sizeof(buf), v);
	add_meta(g, key, buf, help, true, v);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int lookup(const struct graph *g, const char *id)
{
	if (!g->hcap)
		return -1;
	for (uint64_t i = hash_str(id) & (g->hcap - 1);; i = (i + 1) & (g->hcap - 1)) {
		int k = g->hash[i];
		if (!k)
			return -1;
		if (!strcmp(g->nodes[k - 1].id, id))
			return k - 1;
	}
}

static void hash_insert(struct graph *g, int idx)
{
	for (uint64_t i = hash_str(g->nodes[idx].id) & (g->hcap - 1);; i = (i + 1) & (g->hcap - 1)) {
		if (!g->hash[i]) {
			g->hash[i] = idx + 1;
			return;
		}
	}
}

static void rehash(struct graph *g)
{
	free(g->hash);
	g->hcap = g->hcap ? g->hcap * 2 : 64;
	g->hash = xcalloc(g->hcap, sizeof(int));
	for (int i = 0; i < g->nnodes; i++)
		hash_insert(g, i);
}

struct record *graph_node(struct graph *g, int kind, const char *id)
{
	int idx = lookup(g, id);
	if (idx >= 0)
		return g->nodes[idx].rec;
	if (kind < 0 || kind >= g->nkinds)
		die(EXIT_FAIL, "internal error: graph node kind %d out of range", kind);
	if (g->nnodes == g->capnodes) {
		g->capnodes = g->capnodes ? g->capnodes * 2 : 32;
		g->nodes = xrealloc(g->nodes, g->capnodes * sizeof(*g->nodes));
	}
	struct gnode *n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->id = xstrdup(id);
	n->kind = kind;
	n->rec = event_new(g->kinds[kind].schema);
	g->nnodes++;
	if (g->nnodes * 2 > g->hcap)
		rehash(g);
	else
		hash_insert(g, g->nnodes - 1);
	return n->rec;
}

struct record *graph_find(const struct graph *g, const char *id)
{
	int idx = lookup(g, id);
	return idx >= 0 ? g->nodes[idx].rec : NULL;
}

void graph_node_alert(struct graph *g, const char *id)
{
	int idx = lookup(g, id);
	if (idx >= 0)
		g->nodes[idx].alert = true;
}

int graph_node_count(const struct graph *g)
{
	return g->nnodes;
}

struct record *graph_edge(struct graph *g, const char *from, const char *to, bool alert)
{
	int a = lookup(g, from), b = lookup(g, to);
	if (a < 0 || b < 0)
		return NULL;
	if (g->nedges == g->capedges) {
		g->capedges = g->capedges ? g->capedges * 2 : 32;
		g->edges = xrealloc(g->edges, g->capedges * sizeof(*g->edges));
	}
	struct gedge *e = &g->edges[g->nedges];
	e->from = a;
	e->to = b;
	e->alert = alert;
	e->rec = event_new(g->edge_schema);
	struct gnode *n = &g->nodes[a];
	n->out = xrealloc(n->out, (n->nout + 1) * sizeof(int));
	n->out[n->nout++] = g->nedges;
	g->nodes[b].nin++;
	g->nedges++;
	return e->rec;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->nnodes; i++) {
		free(g->nodes[i].id);
		free(g->nodes[i].out);
		record_free(g->nodes[i].rec);
	}
	for (int i = 0; i < g->nedges; i++)
		record_free(g->edges[i].rec);
	for (int i = 0; i < g->nmeta; i++) {
		free(g->meta[i].key);
		free(g->meta[i].val);
		free(g->meta[i].help);
	}
	free(g->meta);
	free(g->nodes);
	free(g->edges);
	free(g->hash);
	free(g);
}

/* ---- values as text ----------------------------------------------------- */

static bool is_number(const struct value *v)
{
	return v->t == V_U64 || v->t == V_I64 || v->t == V_DBL;
}

/* The value as the table would show it, into a memstream. */
static void value_text(FILE *f, const struct field *fd, const struct value *v)
{
	switch (v->t) {
	case V_NONE: break;
	case V_STR: fputs(v->s, f); break;
	case V_U64:
		if (fd->table_scale)
			fprintf(f, "%.*f", fd->table_prec, v->u / fd->table_scale);
		else
			fprintf(f, "%" PRIu64, v->u);
		break;
	case V_I64: fprintf(f, "%" PRId64, v->i); break;
	case V_DBL:
		fprintf(f, "%.*f", fd->table_prec, fd->table_scale ? v->d / fd->table_scale : v->d);
		break;
	case V_STRLIST:
	case V_U64LIST:
		for (int i = 0; i < v->n; i++) {
			if (i)
				fputc(',', f);
			if (v->t == V_STRLIST)
				fputs(v->sl[i], f);
			else
				fprintf(f, "%" PRIu64, v->ul[i]);
		}
		break;
	}
}

static bool has_value(const struct value *v)
{
	if (v->t == V_NONE)
		return false;
	if ((v->t == V_STRLIST || v->t == V_U64LIST) && !v->n)
		return false;
	return true;
}

/* One field as shown in the tree and DOT labels (see graph.h). */
static void field_text(FILE *f, const struct field *fd, const struct value *v)
{
	const char *pct = strstr(fd->header, "%s");
	char *val = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&val, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	value_text(m, fd, v);
	fclose(m);
	if (pct) {
		fwrite(fd->header, 1, pct - fd->header, f);
		fputs(val, f);
		fputs(pct + 2, f);
	} else if (fd->kind == FK_LABEL || fd->kind == FK_TEXT) {
		fputs(val, f);
	} else {
		fprintf(f, "%s=%s", fd->header, val);
	}
	free(val);
}

/* The shown fields of a record, separated by sep. */
static void record_text(FILE *f, const struct record *r, const char *sep)
{
	const struct schema *s = r->schema;
	bool first = true;
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		const struct out_config *cfg = out_get_config();
		if (!(fd->flags & FF_TABLE) && !(cfg->wide && (fd->flags & FF_WIDE)))
			continue;
		if (!has_value(&r->v[j]))
			continue;
		if (!first)
			fputs(sep, f);
		first = false;
		field_text(f, fd, &r->v[j]);
	}
}

/* ---- tree ----------------------------------------------------------------- */

static void tree_walk(FILE *f, struct graph *g, int idx, const struct gedge *via, char *prefix,
		      size_t plen, bool last, bool top)
{
	struct gnode *n = &g->nodes[idx];
	fputs(prefix, f);
	if (!top)
		fputs(last ? "`-- " : "|-- ", f);
	if (via) {
		char *el = NULL;
		size_t elen = 0;
		FILE *m = open_memstream(&el, &elen);
		if (!m)
			die(EXIT_FAIL, "out of memory");
		record_text(m, via->rec, " ");
		fclose(m);
		if (elen)
			fprintf(f, "%s ", el);
		free(el);
	}
	if (n->alert || (via && via->alert))
		fputs("! ", f);
	record_text(f, n->rec, "  ");
	if (n->state) { /* on the current path, or printed before */
		fputs(n->nout ? "  (see above)\n" : "\n", f);
		return;
	}
	fputc('\n', f);
	n->state = 1;
	/* children indent under this line */
	size_t nlen = plen;
	char *child = xcalloc(plen + 8, 1);
	memcpy(child, prefix, plen);
	if (!top) {
		memcpy(child + plen, last ? "    " : "|   ", 4);
		nlen += 4;
	}
	child[nlen] = '\0';
	for (int k = 0; k < n->nout; k++) {
		const struct gedge *e = &g->edges[n->out[k]];
		tree_walk(f, g, e->to, e, child, nlen, k == n->nout - 1, false);
	}
	free(child);
	n->state = 2;
}

static void time_string(double ts, char *buf, size_t len)
{
	time_t t = (time_t)ts;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static void render_tree(FILE *f, struct graph *g, double ts)
{
	const struct out_config *cfg = out_get_config();
	if (cfg->timestamp) {
		char tb[32];
		time_string(ts, tb, sizeof(tb));
		fprintf(f, "%s\n", tb);
	}
	for (int i = 0; i < g->nmeta && !cfg->no_header; i++)
		fprintf(f, "# %s: %s\n", g->meta[i].key, g->meta[i].val);
	for (int i = 0; i < g->nnodes; i++)
		g->nodes[i].state = 0;
	char empty[1] = "";
	/* roots first, then whatever only cycles reach */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < g->nnodes; i++)
			if (g->nodes[i].state == 0 && (pass || g->nodes[i].nin == 0))
				tree_walk(f, g, i, NULL, empty, 0, true, true);
	if (!g->nnodes && !cfg->no_header)
		fputs("(nothing to show)\n", f);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_number(FILE *f, double d)
{
	char buf[64];
	number_string(buf, sizeof(buf), d);
	fputs(buf, f);
}

static void json_value(FILE *f, const struct field *fd, const struct value *v)
{
	switch (v->t) {
	case V_NONE: fputs(fd->flags & FF_LIST ? "[]" : "null", f); break;
	case V_STR: json_write_string(f, v->s); break;
	case V_U64: fprintf(f, "%" PRIu64, v->u); break;
	case V_I64: fprintf(f, "%" PRId64, v->i); break;
	case V_DBL: json_number(f, v->d); break;
	case V_STRLIST:
	case V_U64LIST:
		fputc('[', f);
		for (int i = 0; i < v->n; i++) {
			if (i)
				fputc(',', f);
			if (v->t == V_STRLIST)
				json_write_string(f, v->sl[i]);
			else
				fprintf(f, "%" PRIu64, v->ul[i]);
		}
		fputc(']', f);
		break;
	}
}

static void json_fields(FILE *f, const struct record *r)
{
	const struct schema *s = r->schema;
	for (int j = 0; j < s->nfields; j++) {
		if (!(s->fields[j].flags & FF_JSON))
			continue;
		fputc(',', f);
		json_write_string(f, s->fields[j].name);
		fputc(':', f);
		json_value(f, &s->fields[j], &r->v[j]);
	}
}

static void render_json(FILE *f, struct graph *g, double ts)
{
	fprintf(f, "{\"ts\":%.6f,\"tool\":", ts);
	json_write_string(f, g->tool);
	for (int i = 0; i < g->nmeta; i++) {
		fputc(',', f);
		json_write_string(f, g->meta[i].key);
		fputc(':', f);
		if (g->meta[i].num)
			json_number(f, g->meta[i].d);
		else
			json_write_string(f, g->meta[i].val);
	}
	fputs(",\"nodes\":[", f);
	for (int i = 0; i < g->nnodes; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		json_write_string(f, g->nodes[i].id);
		fputs(",\"kind\":", f);
		json_write_string(f, g->kinds[g->nodes[i].kind].name);
		json_fields(f, g->nodes[i].rec);
		fputc('}', f);
	}
	fputs("],\"edges\":[", f);
	for (int i = 0; i < g->nedges; i++) {
		fputs(i ? ",{\"from\":" : "{\"from\":", f);
		json_write_string(f, g->nodes[g->edges[i].from].id);
		fputs(",\"to\":", f);
		json_write_string(f, g->nodes[g->edges[i].to].id);
		json_fields(f, g->edges[i].rec);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

/* ---- Prometheus ------------------------------------------------------------- */

static void prom_labels(FILE *f, const struct gnode *n, const char *kind)
{
	const struct schema *s = n->rec->schema;
	fputs("{kind=", f);
	prom_write_label_value(f, kind);
	for (int j = 0; j < s->nfields; j++) {
		const struct field *fd = &s->fields[j];
		const struct value *v = &n->rec->v[j];
		if (fd->kind != FK_LABEL || !(fd->flags & FF_PROM))
			continue;
		fprintf(f, ",%s=", fd->name);
		if (v->t == V_STR)
			prom_write_label_value(f, v->s);
		else if (v->t == V_U64)
			fprintf(f, "\"%" PRIu64 "\"", v->u);
		else if (v->t == V_I64)
			fprintf(f, "\"%" PRId64 "\"", v->i);
		else
			fputs("\"\"", f);
	}
	fputc('}', f);
}

static int field_index(const struct schema *s, const char *name)
{
	for (int j = 0; j < s->nfields; j++)
		if (!strcmp(s->fields[j].name, name))
			return j;
	return -1;
}

static void render_prom(FILE *f, struct graph *g, double ts)
{
	const char *tool = g->tool;
	fprintf(f, "# HELP bpfscope_%s_info Facts about this %s graph: mechanisms in use.\n", tool, tool);
	fprintf(f, "# TYPE bpfscope_%s_info gauge\n", tool);
	fprintf(f, "bpfscope_%s_info{version=", tool);
	prom_write_label_value(f, BPFSCOPE_VERSION);
	for (int i = 0; i < g->nmeta; i++) {
		if (g->meta[i].num)
			continue;
		fprintf(f, ",%s=", g->meta[i].key);
		prom_write_label_value(f, g->meta[i].val);
	}
	fputs("} 1\n", f);
	fprintf(f, "# HELP bpfscope_%s_snapshot_timestamp_seconds Unix time the graph was taken.\n", tool);
	fprintf(f, "# TYPE bpfscope_%s_snapshot_timestamp_seconds gauge\n", tool);
	fprintf(f, "bpfscope_%s_snapshot_timestamp_seconds %.3f\n", tool, ts);
	for (int i = 0; i < g->nmeta; i++) {
		if (!g->meta[i].num)
			continue;
		fprintf(f, "# HELP bpfscope_%s_%s %s\n", tool, g->meta[i].key, g->meta[i].help);
		fprintf(f, "# TYPE bpfscope_%s_%s gauge\n", tool, g->meta[i].key);
		fprintf(f, "bpfscope_%s_%s ", tool, g->meta[i].key);
		json_number(f, g->meta[i].d);
		fputc('\n', f);
	}
	/* one metric family per field name, whatever kinds carry it */
	for (int k = 0; k < g->nkinds; k++) {
		const struct schema *s = g->kinds[k].schema;
		for (int j = 0; j < s->nfields; j++) {
			const struct field *fd = &s->fields[j];
			if (!(fd->flags & FF_PROM) || (fd->kind != FK_COUNTER && fd->kind != FK_GAUGE))
				continue;
			bool seen = false;
			for (int k2 = 0; k2 < k && !seen; k2++) {
				int j2 = field_index(g->kinds[k2].schema, fd->name);
				seen = j2 >= 0 && (g->kinds[k2].schema->fields[j2].flags & FF_PROM);
			}
			if (seen)
				continue;
			fprintf(f, "# HELP bpfscope_%s_%s %s\n", tool, fd->name, fd->help ? fd->help : fd->name);
			fprintf(f, "# TYPE bpfscope_%s_%s %s\n", tool, fd->name,
				fd->kind == FK_COUNTER ? "counter" : "gauge");
			for (int i = 0; i < g->nnodes; i++) {
				const struct gnode *n = &g->nodes[i];
				int jj = field_index(n->rec->schema, fd->name);
				if (jj < 0 || !(n->rec->schema->fields[jj].flags & FF_PROM))
					continue;
				const struct value *v = &n->rec->v[jj];
				if (!is_number(v))
					continue;
				fprintf(f, "bpfscope_%s_%s", tool, fd->name);
				prom_labels(f, n, g->kinds[n->kind].name);
				fputc(' ', f);
				if (v->t == V_U64)
					fprintf(f, "%" PRIu64, v->u);
				else if (v->t == V_I64)
					fprintf(f, "%" PRId64, v->i);
				else
					json_number(f, v->d);
				fputc('\n', f);
			}
		}
	}
}

/* ---- DOT --------------------------------------------------------------------- */

void dot_write_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fputc(' ', f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void dot_label(FILE *f, const struct record *r, const char *sep)
{
	char *txt = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&txt, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	record_text(m, r, sep);
	fclose(m);
	dot_write_string(f, txt);
	free(txt);
}

static void render_dot(FILE *f, struct graph *g, double ts)
{
	fprintf(f, "digraph bpfscope_%s {\n", g->tool);
	fprintf(f, "\t// ts %.6f\n", ts);
	for (int i = 0; i < g->nmeta; i++) {
		fputs("\t// ", f);
		fputs(g->meta[i].key, f);
		fputs(": ", f);
		for (const char *p = g->meta[i].val; *p; p++)
			fputc(*p == '\n' ? ' ' : *p, f);
		fputc('\n', f);
	}
	fputs("\trankdir=LR;\n\tnode [fontname=\"monospace\", fontsize=10];\n"
	      "\tedge [fontname=\"monospace\", fontsize=9];\n", f);
	for (int i = 0; i < g->nnodes; i++) {
		const struct gnode *n = &g->nodes[i];
		fputc('\t', f);
		dot_write_string(f, n->id);
		fputs(" [label=", f);
		dot_label(f, n->rec, "\n");
		if (g->kinds[n->kind].dot_attrs)
			fprintf(f, ", %s", g->kinds[n->kind].dot_attrs);
		if (n->alert)
			fputs(", color=red, fontcolor=red", f);
		fputs("];\n", f);
	}
	for (int i = 0; i < g->nedges; i++) {
		const struct gedge *e = &g->edges[i];
		fputc('\t', f);
		dot_write_string(f, g->nodes[e->from].id);
		fputs(" -> ", f);
		dot_write_string(f, g->nodes[e->to].id);
		fputs(" [label=", f);
		dot_label(f, e->rec, " ");
		if (e->alert)
			fputs(", color=red, fontcolor=red", f);
		fputs("];\n", f);
	}
	fputs("}\n", f);
}

/* ---- writing ------------------------------------------------------------------- */

void graph_render(FILE *f, struct graph *g, enum out_format fmt, double ts)
{
	switch (fmt) {
	case OUT_TABLE: render_tree(f, g, ts); break;
	case OUT_JSON: render_json(f, g, ts); break;
	case OUT_PROM: render_prom(f, g, ts); break;
	case OUT_DOT: render_dot(f, g, ts); break;
	}
}

int graph_end(struct graph *g)
{
	const struct out_config *cfg = out_get_config();
	static bool printed_before;
	char *buf = NULL;
	size_t len = 0;
	int err = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		die(EXIT_FAIL, "out of memory");
	if (cfg->format == OUT_TABLE && printed_before && !cfg->file)
		fputc('\n', m);
	graph_render(m, g, cfg->format, now_wall());
	fclose(m);
	printed_before = true;
	if (cfg->file) {
		err = write_file_atomic(cfg->file, buf, len);
	} else if ((len && fwrite(buf, 1, len, stdout) != len) || fflush(stdout)) {
		if (errno == EPIPE)
			exit(EXIT_OK); /* reader went away (| head): not an error */
		err = -errno;
	}
	free(buf);
	graph_free(g);
	return err;
}
