// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for tailcalls' pure logic: the graph renderer (common/graph),
 * JIT image lookup (tools/tailcalls/ksyms) and the tail-call graph analysis and
 * instruction scan (tools/tailcalls/tailgraph). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graph.h"
#include "ksyms.h"
#include "output.h"
#include "tailgraph.h"
#include "util.h"

/* ---- graph rendering ------------------------------------------------- */

enum { N_ID, N_NAME, N_N, N_FLAGS, NN };
static const struct field nf[NN] = {
	[N_ID] = { "node_id", "node %s", FK_LABEL, FF_ALL, "id", 0, 0 },
	[N_NAME] = { "name", "%s", FK_LABEL, FF_ALL, "name", 0, 0 },
	[N_N] = { "samples", "samples=%s", FK_GAUGE, FF_ALL, "Samples", 0, 0 },
	[N_FLAGS] = { "flags", "!%s", FK_TEXT, FF_TABLE | FF_JSON | FF_LIST, NULL, 0, 0 },
};
static const struct schema ns = { "t", "nodes", nf, NN, NULL };
enum { E_SLOT, EN };
static const struct field ef[EN] = {
	[E_SLOT] = { "slot", "[%s]", FK_GAUGE, FF_JSON | FF_TABLE, "Slot", 0, 0, 0 },
};
enum { G_MECH, G_SAMPLES, GN };
static const struct field gf[GN] = {
	[G_MECH] = { "mechanism", "", FK_LABEL, 0, "Mechanism", 0, 0, 0 },
	[G_SAMPLES] = { "samples_all", "", FK_GAUGE, 0, "All samples", 0, 0, 0 },
};
static const struct schema gms = { "t", "graph", gf, GN, NULL };
static const struct schema es = { "t", "edges", ef, EN, &gms };
static const struct graph_kind gk[] = { { "thing", &ns, "shape=box" } };
OUT_REGISTER(&ns, &es);

static struct graph *sample_graph(void)
{
	struct graph *g = graph_begin("t", gk, 1, &es, &gms);
	graph_meta(g, "mechanism", "unit \"test\"");
	graph_meta_num(g, "samples_all", 10);
	struct record *r = graph_node(g, 0, "a");
	rec_u64(r, N_ID, 1);
	rec_str(r, N_NAME, "root \"x\"");
	rec_u64(r, N_N, 7);
	r = graph_node(g, 0, "b");
	rec_u64(r, N_ID, 2);
	rec_str(r, N_NAME, "leaf");
	rec_list_str(r, N_FLAGS, "cycle");
	graph_node_alert(g, "b");
	assert_ptr_equal(graph_node(g, 0, "a"), graph_find(g, "a")); /* same id: same node */
	rec_u64(graph_edge(g, "a", "b", false), E_SLOT, 3);
	rec_u64(graph_edge(g, "b", "b", true), E_SLOT, 0);
	assert_null(graph_edge(g, "a", "missing", false));
	assert_int_equal(graph_node_count(g), 2);
	return g;
}

static char *render(struct graph *g, enum out_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	graph_render(m, g, fmt, 1700000000.5);
	fclose(m);
	return buf;
}

static void test_graph_json(void **state)
{
	(void)state;
	struct graph *g = sample_graph();
	char *out = render(g, OUT_JSON);
	assert_string_equal(out,
		"{\"ts\":1700000000.500000,\"tool\":\"t\",\"mechanism\":\"unit \\\"test\\\"\",\"samples_all\":10,"
		"\"nodes\":[{\"id\":\"a\",\"kind\":\"thing\",\"node_id\":1,\"name\":\"root \\\"x\\\"\",\"samples\":7,\"flags\":[]},"
		"{\"id\":\"b\",\"kind\":\"thing\",\"node_id\":2,\"name\":\"leaf\",\"samples\":null,\"flags\":[\"cycle\"]}],"
		"\"edges\":[{\"from\":\"a\",\"to\":\"b\",\"slot\":3},{\"from\":\"b\",\"to\":\"b\",\"slot\":0}]}\n");
	free(out);
	graph_free(g);
}

static void test_graph_tree(void **state)
{
	(void)state;
	struct out_config oc = { .format = OUT_TABLE };
	out_configure(&oc);
	struct graph *g = sample_graph();
	char *out = render(g, OUT_TABLE);
	assert_string_equal(out,
		"# mechanism: unit \"test\"\n"
		"# samples_all: 10\n"
		"node 1  root \"x\"  samples=7\n"
		"`-- [3] ! node 2  leaf  !cycle\n"
		"    `-- [0] ! node 2  leaf  !cycle  (see above)\n");
	free(out);
	graph_free(g);
}

static void test_graph_tree_cycle_only(void **state)
{
	(void)state;
	/* nodes no root reaches (a pure cycle) are still printed */
	struct graph *g = graph_begin("t", gk, 1, &es, &gms);
	rec_u64(graph_node(g, 0, "x"), N_ID, 1);
	rec_u64(graph_node(g, 0, "y"), N_ID, 2);
	graph_edge(g, "x", "y", false);
	graph_edge(g, "y", "x", false);
	char *out = render(g, OUT_TABLE);
	assert_string_equal(out, "node 1\n`-- node 2\n    `-- node 1  (see above)\n");
	free(out);
	graph_free(g);
}

static void test_graph_dot(void **state)
{
	(void)state;
	struct graph *g = sample_graph();
	char *out = render(g, OUT_DOT);
	assert_non_null(strstr(out, "digraph bpfscope_t {\n"));
	assert_non_null(strstr(out, "\t\"a\" [label=\"node 1\\nroot \\\"x\\\"\\nsamples=7\", shape=box];\n"));
	assert_non_null(strstr(out, "\t\"b\" [label=\"node 2\\nleaf\\n!cycle\", shape=box, color=red, fontcolor=red];\n"));
	assert_non_null(strstr(out, "\t\"a\" -> \"b\" [label=\"[3]\"];\n"));
	assert_non_null(strstr(out, "\t\"b\" -> \"b\" [label=\"[0]\", color=red, fontcolor=red];\n"));
	assert_non_null(strstr(out, "\t// mechanism: unit \"test\"\n"));
	assert_string_equal(out + strlen(out) - 2, "}\n");
	free(out);
	graph_free(g);
}

static void test_graph_prom(void **state)
{
	(void)state;
	struct graph *g = sample_graph();
	char *out = render(g, OUT_PROM);
	assert_non_null(strstr(out, "bpfscope_t_info{version=\"" BPFSCOPE_VERSION "\",mechanism=\"unit \\\"test\\\"\",view=\"graph\"} 1\n"));
	assert_non_null(strstr(out, "# HELP bpfscope_t_samples_all All samples\n# TYPE bpfscope_t_samples_all gauge\nbpfscope_t_samples_all{view=\"graph\"} 10\n"));
	assert_non_null(strstr(out, "# TYPE bpfscope_t_samples gauge\n"));
	assert_non_null(strstr(out, "bpfscope_t_samples{node_id=\"1\",name=\"root \\\"x\\\"\",kind=\"thing\",view=\"graph\"} 7\n"));
	assert_null(strstr(out, "node_id=\"2\"")); /* no value, no sample */
	free(out);
	graph_free(g);
}

static void test_dot_escaping(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	dot_write_string(m, "a\"b\\c\nd\x01");
	fclose(m);
	/* the one escaping rule (bpfscope-output(7)), quoted for DOT */
	assert_string_equal(buf, "\"a\\\"b\\\\\\\\c\\\\x0ad\\\\x01\"");
	free(buf);
}

static void test_graph_many_nodes(void **state)
{
	(void)state;
	struct graph *g = graph_begin("t", gk, 1, &es, &gms);
	char id[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		rec_u64(graph_node(g, 0, id), N_ID, (uint64_t)i);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		const struct value *v = rec_get(graph_find(g, id), N_ID);
		assert_int_equal(v->u, (uint64_t)i);
	}
	assert_null(graph_find(g, "n5000"));
	graph_free(g);
}

/* ---- ksyms ------------------------------------------------------------- */

static void test_ksyms_lookup(void **state)
{
	(void)state;
	struct ksyms ks = { 0 };
	uint64_t lo, hi;
	assert_false(ksyms_hull(&ks, &lo, &hi));
	assert_null(ksyms_find(&ks, 0x1000));
	ksyms_add(&ks, 0xffffffffa0003000ULL, 0x100, 7, 1);
	ksyms_add(&ks, 0xffffffffa0001000ULL, 0x80, 7, 0);
	ksyms_add(&ks, 0xffffffffa0002000ULL, 0x40, 9, 0);
	ksyms_add(&ks, 0xffffffffa0004000ULL, 0, 11, 0); /* empty: ignored */
	const struct ksym *s = ksyms_find(&ks, 0xffffffffa0001000ULL);
	assert_non_null(s);
	assert_int_equal(s->prog_id, 7);
	assert_int_equal(s->func, 0);
	s = ksyms_find(&ks, 0xffffffffa000307fULL);
	assert_non_null(s);
	assert_int_equal(s->prog_id, 7);
	assert_int_equal(s->func, 1);
	assert_null(ksyms_find(&ks, 0xffffffffa0001080ULL)); /* end is exclusive */
	assert_null(ksyms_find(&ks, 0xffffffffa0000fffULL));
	assert_int_equal(ksyms_find(&ks, 0xffffffffa000203fULL)->prog_id, 9);
	assert_null(ksyms_find(&ks, 0xffffffffa0004000ULL));
	assert_true(ksyms_hull(&ks, &lo, &hi));
	assert_true(lo == 0xffffffffa0001000ULL);
	assert_true(hi == 0xffffffffa0003100ULL);
	ksyms_clear(&ks);
	assert_int_equal(ks.n, 0);
}

/* ---- instruction scan ------------------------------------------------------ */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LD_MAP(reg, id) INSN(BPF_LD | BPF_IMM | BPF_DW, reg, BPF_PSEUDO_MAP_FD, 0, id), INSN(0, 0, 0, 0, 0)
#define MOV32_K(reg, k) INSN(BPF_ALU | BPF_MOV | BPF_K, reg, 0, 0, k)
#define MOV64_K(reg, k) INSN(BPF_ALU64 | BPF_MOV | BPF_K, reg, 0, 0, k)
#define MOV64_X(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define LDX(d, s) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, 0, 0)
#define TAIL_CALL INSN(BPF_JMP | BPF_CALL, 0, 0, 0, 12)
#define HELPER(n) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, n)
#define JEQ_K(reg, k, off) INSN(BPF_JMP | BPF_JEQ | BPF_K, reg, 0, off, k)
#define EXIT INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static void test_scan_constant_slot(void **state)
{
	(void)state;
	struct tg_prog p = { .id = 1 };
	struct bpf_insn insns[] = {
		LD_MAP(2, 42), MOV32_K(3, 5), TAIL_CALL, /* slot 5 of map 42 */
		MOV64_K(6, 7), LD_MAP(2, 43), MOV64_X(3, 6), TAIL_CALL, /* slot 7 of 43, via a copy */
		MOV64_K(0, 2), EXIT,
	};
	tg_scan_insns(&p, insns, sizeof(insns) / sizeof(insns[0]));
	assert_true(p.calls_known);
	assert_int_equal(p.ncalls, 2);
	assert_int_equal(p.calls[0].map_id, 42);
	assert_int_equal(p.calls[0].slot, 5);
	assert_int_equal(p.calls[1].map_id, 43);
	assert_int_equal(p.calls[1].slot, 7);
	free(p.calls);
}

static void test_scan_dynamic_slot(void **state)
{
	(void)state;
	struct tg_prog p = { .id = 1 };
	struct bpf_insn insns[] = {
		LDX(3, 1), LD_MAP(2, 42), TAIL_CALL,   /* index loaded from memory */
		MOV32_K(3, 1), HELPER(1), LD_MAP(2, 42), TAIL_CALL, /* r3 clobbered by a call */
		MOV32_K(3, 1), JEQ_K(1, 0, 0), LD_MAP(2, 42), TAIL_CALL, /* jump target: forgotten */
		EXIT,
	};
	tg_scan_insns(&p, insns, sizeof(insns) / sizeof(insns[0]));
	assert_int_equal(p.ncalls, 1); /* all three are "map 42, any slot" */
	assert_int_equal(p.calls[0].map_id, 42);
	assert_int_equal(p.calls[0].slot, -1);
	free(p.calls);
}

/* ---- analysis -------------------------------------------------------------------- */

static void call(struct tg_prog *p, uint32_t map, int64_t slot)
{
	p->calls = realloc(p->calls, (p->ncalls + 1) * sizeof(*p->calls));
	p->calls[p->ncalls].map_id = map;
	p->calls[p->ncalls].slot = slot;
	p->ncalls++;
	p->calls_known = true;
}

static void test_analyze_pipeline(void **state)
{
	(void)state;
	/* root -> A[0]=parse -> A[1]=heavy, A[3]=rare, slot 2 empty; cycle x <-> y
	 * through B; orphan C holds rare. */
	struct tailgraph g = { 0 };
	struct tg_array *a = tg_add_array(&g, 100, 8);
	tg_array_add_slot(a, 3, 4);
	tg_array_add_slot(a, 0, 2);
	tg_array_add_slot(a, 1, 3);
	struct tg_array *b = tg_add_array(&g, 200, 2);
	tg_array_add_slot(b, 0, 10);
	tg_array_add_slot(b, 1, 11);
	tg_array_add_slot(tg_add_array(&g, 300, 4), 0, 4);
	struct tg_prog *p = tg_add_prog(&g, 1);
	p->attached = true;
	tg_prog_add_array(p, 100); /* calls any slot: calls_known false */
	p = tg_add_prog(&g, 2);
	tg_prog_add_array(p, 100);
	call(p, 100, 1);
	tg_add_prog(&g, 3);
	tg_add_prog(&g, 4);
	p = tg_add_prog(&g, 10);
	tg_prog_add_array(p, 200);
	call(p, 200, 1);
	p = tg_add_prog(&g, 11);
	tg_prog_add_array(p, 200);
	call(p, 200, 0);
	tg_analyze(&g);

	a = tg_array(&g, 100);
	assert_int_equal(a->slots[0].slot, 0);
	assert_int_equal(a->slots[2].slot, 3);
	assert_int_equal(a->ngaps, 1);
	assert_int_equal(a->gaps[0], 2);
	assert_true(a->used);
	assert_false(tg_array(&g, 300)->used);
	assert_int_equal(tg_array(&g, 300)->ngaps, 0);
	assert_int_equal(tg_array(&g, 200)->ngaps, 0);

	assert_int_equal(tg_prog(&g, 1)->depth, 0);
	assert_int_equal(tg_prog(&g, 2)->depth, 1);
	assert_int_equal(tg_prog(&g, 3)->depth, 2);
	assert_int_equal(tg_prog(&g, 4)->depth, 1);
	for (int id = 1; id <= 4; id++)
		assert_false(tg_prog(&g, id)->cycle);
	assert_false(tg_prog(&g, 1)->tail_only);
	assert_true(tg_prog(&g, 2)->tail_only);
	assert_true(tg_prog(&g, 10)->cycle);
	assert_true(tg_prog(&g, 11)->cycle);
	assert_int_equal(tg_prog(&g, 10)->scc, tg_prog(&g, 11)->scc);
	assert_true(tg_calls_slot(tg_prog(&g, 1), 100, 3));
	assert_false(tg_calls_slot(tg_prog(&g, 2), 100, 3));
	assert_false(tg_calls_slot(tg_prog(&g, 2), 200, 1)); /* does not use 200 */

	uint32_t *slots;
	int n;
	assert_false(tg_call_slots(tg_prog(&g, 1), 100, &slots, &n));
	assert_true(tg_call_slots(tg_prog(&g, 2), 100, &slots, &n));
	assert_int_equal(n, 1);
	assert_int_equal(slots[0], 1);
	free(slots);
	tg_free(&g);
}

static void test_analyze_depth_limit(void **state)
{
	(void)state;
	/* a chain of 36 programs: 0 .. 35 tail calls deep */
	struct tailgraph g = { 0 };
	struct tg_array *a = tg_add_array(&g, 1, 40);
	for (uint32_t i = 0; i < 36; i++)
		tg_array_add_slot(a, i, 1000 + i);
	for (uint32_t i = 0; i < 36; i++) {
		struct tg_prog *p = tg_add_prog(&g, 1000 + i);
		tg_prog_add_array(p, 1);
		call(p, 1, i + 1);
	}
	tg_analyze(&g);
	for (uint32_t i = 0; i < 36; i++) {
		struct tg_prog *p = tg_prog(&g, 1000 + i);
		assert_int_equal(p->depth, (int)i);
		assert_int_equal(p->too_deep, i > TG_MAX_TAIL_CALLS);
		assert_false(p->cycle);
	}
	tg_free(&g);
}

static void test_analyze_self_loop(void **state)
{
	(void)state;
	struct tailgraph g = { 0 };
	tg_array_add_slot(tg_add_array(&g, 1, 1), 0, 5);
	struct tg_prog *p = tg_add_prog(&g, 5);
	tg_prog_add_array(p, 1);
	tg_analyze(&g); /* calls not known: any slot, itself included */
	assert_true(tg_prog(&g, 5)->cycle);
	tg_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graph_json),
		cmocka_unit_test(test_graph_tree),
		cmocka_unit_test(test_graph_tree_cycle_only),
		cmocka_unit_test(test_graph_dot),
		cmocka_unit_test(test_graph_prom),
		cmocka_unit_test(test_dot_escaping),
		cmocka_unit_test(test_graph_many_nodes),
		cmocka_unit_test(test_ksyms_lookup),
		cmocka_unit_test(test_scan_constant_slot),
		cmocka_unit_test(test_scan_dynamic_slot),
		cmocka_unit_test(test_analyze_pipeline),
		cmocka_unit_test(test_analyze_depth_limit),
		cmocka_unit_test(test_analyze_self_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
