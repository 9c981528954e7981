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

struct graph {
	const char *tool;
	const struct graph_kind *kinds;
	int nkinds;
	const struct schema *edge_schema;
	struct gnode *nodes;
	int nnodes, capnodes;
	struct gedge *edges;
	int nedges, capedges;
	struct record *meta; /* of the meta schema; NULL when none declared */
	/* id lookup: open addressing over node indexes + 1 */
	int *hash;
	int hcap;
};

/* ---- building --------------------------------------------------------- */

struct graph *graph_begin(const char *tool, const struct graph_kind *kinds, int nkinds,
			  const struct schema *edge_schema, const struct schema *meta)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	g->tool = tool;
	g->kinds = kinds;
	g->nkinds = nkinds;
	g->edge_schema = edge_schema;
	/* the graph's records are checked like a snapshot's */
	for (int i = 0; i < nkinds; i++)
		record_free(event_new(kinds[i].schema));
	record_free(event_new(edge_schema));
	if (meta)
		g->meta = event_new(meta);
	return g;
}

static int meta_index(struct graph *g, const char *key)
{
	for (int i = 0; g->meta && i < g->meta->schema->nfields; i++)
		if (!strcmp(g->meta->schema->fields[i].name, key))
			return i;
	die(EXIT_FAIL, "internal error: %s: graph meta %s not declared", g->tool, key);
}

void graph_meta(struct graph *g, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rec_str(g->meta, meta_index(g, key), buf);
}

void graph_meta_num(struct graph *g, const char *key, double v)
{
	rec_dbl(g->meta, meta_index(g, key), v);
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
	record_free(g->meta);
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
	char *val = out_table_cell(fd, v);
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

/* "# name: value" for each meta value set (tree), or DOT comments */
static void meta_lines(FILE *f, struct graph *g, const char *pre, const char *post, bool skip)
{
	for (int i = 0; !skip && g->meta && i < g->meta->schema->nfields; i++) {
		const struct field *fd = &g->meta->schema->fields[i];
		if (g->meta->v[i].t == V_NONE)
			continue;
		char *c = out_table_cell(fd, &g->meta->v[i]);
		fprintf(f, "%s%s: %s%s", pre, fd->name, c, post);
		free(c);
	}
}

static void render_tree(FILE *f, struct graph *g, double ts)
{
	const struct out_config *cfg = out_get_config();
	if (cfg->timestamp) {
		char tb[32];
		time_string(ts, tb, sizeof(tb));
		fprintf(f, "%s\n", tb);
	}
	meta_lines(f, g, "# ", "\n", cfg->no_header);
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

static void json_fields(FILE *f, const struct record *r)
{
	const struct schema *s = r->schema;
	for (int j = 0; j < s->nfields; j++) {
		if (!(s->fields[j].flags & FF_JSON))
			continue;
		fputc(',', f);
		json_write_string(f, s->fields[j].name);
		fputc(':', f);
		out_json_value(f, &s->fields[j], &r->v[j]);
	}
}

/* every field of a meta record, whatever its flags */
static void json_fields_all(FILE *f, const struct record *r)
{
	for (int j = 0; j < r->schema->nfields; j++) {
		fputc(',', f);
		json_write_string(f, r->schema->fields[j].name);
		fputc(':', f);
		out_json_value(f, &r->schema->fields[j], &r->v[j]);
	}
}

static void render_json(FILE *f, struct graph *g, double ts)
{
	fprintf(f, "{\"ts\":%.6f,\"tool\":", ts);
	json_write_string(f, g->tool);
	if (out_get_config()->instance) {
		fputs(",\"run\":", f);
		json_write_string(f, out_get_config()->instance);
	}
	if (g->meta)
		json_fields_all(f, g->meta);
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

static int field_index(const struct schema *s, const char *name)
{
	for (int j = 0; j < s->nfields; j++)
		if (!strcmp(s->fields[j].name, name))
			return j;
	return -1;
}

static int render_prom(FILE *f, struct graph *g, double ts)
{
	struct prom_writer *pw = prom_begin(f, g->tool, "graph");
	static const char *const kind_key[] = { "kind" };

	prom_standard(pw, g->meta, NULL, NULL, 0, ts);
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
			prom_family(pw, fd->name, fd->kind, fd->help);
			for (int i = 0; i < g->nnodes; i++) {
				const struct gnode *n = &g->nodes[i];
				int jj = field_index(n->rec->schema, fd->name);
				if (jj < 0 || !(n->rec->schema->fields[jj].flags & FF_PROM))
					continue;
				const struct value *v = &n->rec->v[jj];
				if (!is_number(v))
					continue;
				const char *kind_val[] = { g->kinds[n->kind].name };
				prom_sample(pw, n->rec, kind_key, kind_val, 1, v);
			}
		}
	}
	return prom_end(pw);
}

/* ---- DOT --------------------------------------------------------------------- */

void dot_write_string(FILE *f, const char *s)
{
	out_write_string(f, s, ESC_DOT);
}

/* Table text (already escaped: no control bytes) quoted for DOT, with the
 * record's fields on lines of their own. */
static void dot_label(FILE *f, const struct record *r, const char *sep)
{
	char *txt = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&txt, &len);
	if (!m)
		die(EXIT_FAIL, "out of memory");
	record_text(m, r, "\x01"); /* no field text holds a control byte */
	fclose(m);
	fputc('"', f);
	for (const char *p = txt; *p; p++) {
		if (*p == '\x01')
			fputs(sep, f);
		else if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
	free(txt);
}

static void render_dot(FILE *f, struct graph *g, double ts)
{
	fprintf(f, "digraph bpfscope_%s {\n", g->tool);
	fprintf(f, "\t// ts %.6f\n", ts);
	meta_lines(f, g, "\t// ", "\n", false);
	fputs("\trankdir=LR;\n\tnode [fontname=\"monospace\", fontsize=10];\n"
	      "\tedge [fontname=\"monospace\", fontsize=9];\n", f);
	for (int i = 0; i < g->nnodes; i++) {
		const struct gnode *n = &g->nodes[i];
		fputc('\t', f);
		dot_write_string(f, n->id);
		fputs(" [label=", f);
		dot_label(f, n->rec, "\\n");
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

int graph_render(FILE *f, struct graph *g, enum out_format fmt, double ts)
{
	switch (fmt) {
	case OUT_TABLE: render_tree(f, g, ts); break;
	case OUT_JSON: render_json(f, g, ts); break;
	case OUT_PROM: return render_prom(f, g, ts);
	case OUT_DOT: render_dot(f, g, ts); break;
	}
	return 0;
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
	if (cfg->state) {
		for (int i = 0; i < g->nnodes; i++)
			state_apply("graph", g->nodes[i].rec);
		state_apply_meta("graph", g->meta);
	}
	err = graph_render(m, g, cfg->format, now_wall());
	fclose(m);
	printed_before = true;
	if (err) {
		/* an internal error, reported by the renderer */
	} else if (cfg->file) {
		err = write_file_atomic(cfg->file, buf, len);
	} else if ((len && fwrite(buf, 1, len, stdout) != len) || fflush(stdout)) {
		if (errno == EPIPE)
			exit(EXIT_OK); /* reader went away (| head): not an error */
		err = -errno;
	}
	if (!err)
		err = state_save();
	free(buf);
	graph_free(g);
	return err;
}
