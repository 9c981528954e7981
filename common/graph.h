/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Graphs, described once and rendered everywhere, like common/output: nodes
 * of a few kinds, each kind with its own schema of typed fields (struct
 * field from output.h), and edges with one schema.  A tool fills node and
 * edge records with the rec_*() setters of output.h and never branches on
 * the output format:
 *
 *   table  an indented tree from the roots (nodes no edge points to), each
 *          node printed in full once, later references marked "(see above)"
 *   json   one JSON line per graph: {"ts":..,"tool":..,META..,"nodes":[..],
 *          "edges":[..]}; every node has "id" and "kind", every edge "from"
 *          and "to", then the fields of its schema
 *   prom   one sample per node and numeric field (FK_COUNTER / FK_GAUGE with
 *          FF_PROM), labelled with the node's FK_LABEL fields
 *   dot    a Graphviz digraph
 *
 * In the tree and in DOT labels a field shows as its table header used as a
 * template when the header holds "%s" ("[%s]" -> "[3]"), as header=value for
 * numbers otherwise, and as its bare value for labels and text.
 */
#ifndef BPFSCOPE_GRAPH_H
#define BPFSCOPE_GRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"

struct graph_kind {
	const char *name;            /* JSON "kind": "prog" */
	const struct schema *schema; /* the fields of nodes of this kind */
	const char *dot_attrs;       /* Graphviz node attributes: "shape=box" */
};

struct graph;

/* meta: the graph-level facts (fields of its own schema, registered with
 * the kinds' schemas and the edge schema); NULL: none. */
struct graph *graph_begin(const char *tool, const struct graph_kind *kinds, int nkinds,
			  const struct schema *edge_schema, const struct schema *meta);
/* Graph-level facts by meta field name: "# key: value" in the tree,
 * top-level JSON fields, info labels (FK_LABEL) or metrics of their own
 * (FK_COUNTER/FK_GAUGE) in prom, a comment in DOT. */
void graph_meta(struct graph *g, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void graph_meta_num(struct graph *g, const char *key, double v);

/* A node of kinds[kind] with a unique id; an existing node of that id is
 * returned as is.  Nodes render in the order they were added. */
struct record *graph_node(struct graph *g, int kind, const char *id);
struct record *graph_find(const struct graph *g, const char *id);
/* Draw the node in red in DOT and with a '!' in the tree. */
void graph_node_alert(struct graph *g, const char *id);
/* An edge between two existing nodes (NULL if either is missing). */
struct record *graph_edge(struct graph *g, const char *from, const char *to, bool alert);
int graph_node_count(const struct graph *g);

/* Render in the configured format and write (stdout or --file, like
 * snap_end); frees the graph.  Returns 0 or -errno. */
int graph_end(struct graph *g);
void graph_free(struct graph *g);

/* Exposed for unit tests. */
int graph_render(FILE *f, struct graph *g, enum out_format fmt, double ts);
void dot_write_string(FILE *f, const char *s);

#endif
