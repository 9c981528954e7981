// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "tailgraph.h"
#include "util.h"

#ifndef BPF_FUNC_tail_call
#define BPF_FUNC_tail_call 12
#endif

struct tg_prog *tg_add_prog(struct tailgraph *g, uint32_t id)
{
	struct tg_prog *p = tg_prog(g, id);
	if (p)
		return p;
	g->progs = xrealloc(g->progs, (g->nprogs + 1) * sizeof(*g->progs));
	p = &g->progs[g->nprogs++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	return p;
}

struct tg_array *tg_add_array(struct tailgraph *g, uint32_t id, uint32_t max_entries)
{
	struct tg_array *a = tg_array(g, id);
	if (a)
		return a;
	g->arrays = xrealloc(g->arrays, (g->narrays + 1) * sizeof(*g->arrays));
	a = &g->arrays[g->narrays++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->max_entries = max_entries;
	return a;
}

void tg_array_add_slot(struct tg_array *a, uint32_t slot, uint32_t prog)
{
	int i = a->nslots;
	a->slots = xrealloc(a->slots, (a->nslots + 1) * sizeof(*a->slots));
	while (i > 0 && a->slots[i - 1].slot > slot) {
		a->slots[i] = a->slots[i - 1];
		i--;
	}
	a->slots[i].slot = slot;
	a->slots[i].prog = prog;
	a->nslots++;
}

void tg_prog_add_array(struct tg_prog *p, uint32_t map_id)
{
	for (int i = 0; i < p->narrays; i++)
		if (p->arrays[i] == map_id)
			return;
	p->arrays = xrealloc(p->arrays, (p->narrays + 1) * sizeof(uint32_t));
	p->arrays[p->narrays++] = map_id;
}

struct tg_prog *tg_prog(const struct tailgraph *g, uint32_t id)
{
	for (int i = 0; i < g->nprogs; i++)
		if (g->progs[i].id == id)
			return &g->progs[i];
	return NULL;
}

struct tg_array *tg_array(const struct tailgraph *g, uint32_t id)
{
	for (int i = 0; i < g->narrays; i++)
		if (g->arrays[i].id == id)
			return &g->arrays[i];
	return NULL;
}

/* ---- instruction scan ------------------------------------------------- */

enum reg_kind { R_UNKNOWN, R_CONST, R_MAP };

struct reg {
	enum reg_kind kind;
	int64_t val;
};

static void add_call(struct tg_prog *p, uint32_t map_id, int64_t slot)
{
	for (int i = 0; i < p->ncalls; i++)
		if (p->calls[i].map_id == map_id && p->calls[i].slot == slot)
			return;
	p->calls = xrealloc(p->calls, (p->ncalls + 1) * sizeof(*p->calls));
	p->calls[p->ncalls].map_id = map_id;
	p->calls[p->ncalls].slot = slot;
	p->ncalls++;
}

void tg_scan_insns(struct tg_prog *p, const struct bpf_insn *insns, int n)
{
	/* Registers are tracked through straight-line code only: knowledge is
	 * dropped at every jump target, function entry and exit. */
	bool *target = xcalloc(n + 1, sizeof(bool));
	struct reg r[MAX_BPF_REG];

	for (int i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			i++;
			continue;
		}
		if (cls != BPF_JMP && cls != BPF_JMP32)
			continue;
		if (op == BPF_CALL) {
			if (in->src_reg == BPF_PSEUDO_CALL && i + in->imm + 1 >= 0 && i + in->imm + 1 < n)
				target[i + in->imm + 1] = true;
			continue;
		}
		if (op == BPF_EXIT)
			continue;
		long t = i + 1 + (cls == BPF_JMP32 && op == BPF_JA ? in->imm : in->off);
		if (t >= 0 && t <= n)
			target[t] = true;
	}

	memset(r, 0, sizeof(r));
	p->ncalls = 0;
	for (int i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		uint8_t dst = in->dst_reg, src = in->src_reg;

		if (target[i])
			memset(r, 0, sizeof(r));
		if (dst >= MAX_BPF_REG || src >= MAX_BPF_REG)
			continue;
		switch (cls) {
		case BPF_LD:
			if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
				if (src == BPF_PSEUDO_MAP_FD) {
					r[dst].kind = R_MAP;
					r[dst].val = (uint32_t)in->imm;
				} else if (src == 0 && i + 1 < n) {
					r[dst].kind = R_CONST;
					r[dst].val = (int64_t)(((uint64_t)(uint32_t)insns[i + 1].imm << 32) |
							       (uint32_t)in->imm);
				} else {
					r[dst].kind = R_UNKNOWN;
				}
				i++;
			} else {
				r[0].kind = R_UNKNOWN; /* legacy packet loads */
			}
			break;
		case BPF_LDX:
			r[dst].kind = R_UNKNOWN;
			break;
		case BPF_STX:
			if (BPF_MODE(in->code) == BPF_ATOMIC) {
				r[src].kind = R_UNKNOWN; /* fetch variants */
				r[0].kind = R_UNKNOWN;  /* cmpxchg */
			}
			break;
		case BPF_ALU:
		case BPF_ALU64:
			if (op == BPF_MOV && in->off == 0) {
				if (BPF_SRC(in->code) == BPF_K) {
					r[dst].kind = R_CONST;
					r[dst].val = cls == BPF_ALU ? (int64_t)(uint32_t)in->imm : (int64_t)in->imm;
				} else if (cls == BPF_ALU64 || r[src].kind == R_CONST) {
					r[dst] = r[src];
					if (cls == BPF_ALU && r[dst].kind == R_CONST)
						r[dst].val = (uint32_t)r[dst].val;
				} else {
					r[dst].kind = R_UNKNOWN;
				}
			} else if (op == BPF_ADD && BPF_SRC(in->code) == BPF_K && r[dst].kind == R_CONST) {
				r[dst].val += in->imm;
				if (cls == BPF_ALU)
					r[dst].val = (uint32_t)r[dst].val;
			} else {
				r[dst].kind = R_UNKNOWN;
			}
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (op == BPF_CALL) {
				if (src == 0 && in->imm == BPF_FUNC_tail_call)
					add_call(p, r[2].kind == R_MAP ? (uint32_t)r[2].val : 0,
						 r[3].kind == R_CONST && r[3].val >= 0 && r[3].val <= UINT32_MAX
							 ? r[3].val : -1);
				for (int k = 0; k <= 5; k++)
					r[k].kind = R_UNKNOWN;
			} else if (op == BPF_EXIT) {
				memset(r, 0, sizeof(r));
			}
			break;
		default:
			break;
		}
	}
	free(target);
	p->calls_known = true;
}

bool tg_calls_slot(const struct tg_prog *p, uint32_t map_id, uint32_t slot)
{
	bool uses = false;
	for (int i = 0; i < p->narrays; i++)
		uses |= p->arrays[i] == map_id;
	if (!uses)
		return false;
	if (!p->calls_known)
		return true;
	for (int i = 0; i < p->ncalls; i++) {
		const struct tg_call *c = &p->calls[i];
		if ((c->map_id == 0 || c->map_id == map_id) && (c->slot < 0 || c->slot == slot))
			return true;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

bool tg_call_slots(const struct tg_prog *p, uint32_t map_id, uint32_t **slots, int *n)
{
	*slots = NULL;
	*n = 0;
	if (!p->calls_known)
		return false;
	for (int i = 0; i < p->ncalls; i++) {
		const struct tg_call *c = &p->calls[i];
		if (c->map_id != 0 && c->map_id != map_id)
			continue;
		if (c->slot < 0) {
			free(*slots);
			*slots = NULL;
			*n = 0;
			return false;
		}
		bool dup = false;
		for (int k = 0; k < *n; k++)
			dup |= (*slots)[k] == (uint32_t)c->slot;
		if (dup)
			continue;
		*slots = xrealloc(*slots, (*n + 1) * sizeof(uint32_t));
		(*slots)[(*n)++] = (uint32_t)c->slot;
	}
	if (*n)
		qsort(*slots, *n, sizeof(uint32_t), cmp_u32);
	return true;
}

/* ---- analysis ------------------------------------------------------------ */

struct adj {
	int *to;
	int n;
};

struct tarjan {
	struct adj *succ;
	int *index, *low, *stack, *scc;
	bool *on;
	int next, sp, nscc;
};

static void strongconnect(struct tarjan *t, int v)
{
	t->index[v] = t->low[v] = t->next++;
	t->stack[t->sp++] = v;
	t->on[v] = true;
	for (int k = 0; k < t->succ[v].n; k++) {
		int w = t->succ[v].to[k];
		if (t->index[w] < 0) {
			strongconnect(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	if (t->low[v] == t->index[v]) {
		int w;
		do {
			w = t->stack[--t->sp];
			t->on[w] = false;
			t->scc[w] = t->nscc;
		} while (w != v);
		t->nscc++;
	}
}

void tg_analyze(struct tailgraph *g)
{
	int n = g->nprogs;
	struct adj *succ = xcalloc(n ? n : 1, sizeof(*succ));
	bool *self = xcalloc(n ? n : 1, sizeof(bool));

	for (int i = 0; i < g->narrays; i++) {
		struct tg_array *a = &g->arrays[i];
		a->used = false;
		free(a->gaps);
		a->gaps = NULL;
		a->ngaps = 0;
		uint32_t hi = a->nslots ? a->slots[a->nslots - 1].slot : 0;
		for (uint32_t s = 0, k = 0; a->nslots && s < hi; s++) {
			while ((int)k < a->nslots && a->slots[k].slot < s)
				k++;
			if ((int)k < a->nslots && a->slots[k].slot == s)
				continue;
			a->gaps = xrealloc(a->gaps, (a->ngaps + 1) * sizeof(uint32_t));
			a->gaps[a->ngaps++] = s;
		}
	}
	for (int i = 0; i < n; i++) {
		struct tg_prog *p = &g->progs[i];
		p->in_slot = false;
	}
	for (int i = 0; i < g->narrays; i++)
		for (int k = 0; k < g->arrays[i].nslots; k++) {
			struct tg_prog *q = tg_prog(g, g->arrays[i].slots[k].prog);
			if (q)
				q->in_slot = true;
		}
	/* program -> program edges through the slots each program calls */
	for (int i = 0; i < n; i++) {
		struct tg_prog *p = &g->progs[i];
		for (int j = 0; j < p->narrays; j++) {
			struct tg_array *a = tg_array(g, p->arrays[j]);
			if (!a)
				continue;
			a->used = true;
			for (int k = 0; k < a->nslots; k++) {
				if (!tg_calls_slot(p, a->id, a->slots[k].slot))
					continue;
				struct tg_prog *q = tg_prog(g, a->slots[k].prog);
				if (!q)
					continue;
				int qi = (int)(q - g->progs);
				bool dup = false;
				for (int m = 0; m < succ[i].n; m++)
					dup |= succ[i].to[m] == qi;
				if (dup)
					continue;
				succ[i].to = xrealloc(succ[i].to, (succ[i].n + 1) * sizeof(int));
				succ[i].to[succ[i].n++] = qi;
				if (qi == i)
					self[i] = true;
			}
		}
	}

	struct tarjan t = {
		.succ = succ,
		.index = xcalloc(n ? n : 1, sizeof(int)),
		.low = xcalloc(n ? n : 1, sizeof(int)),
		.stack = xcalloc(n ? n : 1, sizeof(int)),
		.scc = xcalloc(n ? n : 1, sizeof(int)),
		.on = xcalloc(n ? n : 1, sizeof(bool)),
	};
	for (int i = 0; i < n; i++)
		t.index[i] = -1;
	for (int i = 0; i < n; i++)
		if (t.index[i] < 0)
			strongconnect(&t, i);

	int *size = xcalloc(t.nscc ? t.nscc : 1, sizeof(int));
	int *depth = xcalloc(t.nscc ? t.nscc : 1, sizeof(int));
	for (int i = 0; i < n; i++)
		size[t.scc[i]]++;
	/* Tarjan numbers components sinks first: highest number = a source.
	 * Longest path over the condensation, in topological order. */
	for (int c = t.nscc - 1; c >= 0; c--)
		for (int i = 0; i < n; i++) {
			if (t.scc[i] != c)
				continue;
			for (int k = 0; k < succ[i].n; k++) {
				int d = t.scc[succ[i].to[k]];
				if (d != c && depth[c] + 1 > depth[d])
					depth[d] = depth[c] + 1;
			}
		}
	for (int i = 0; i < n; i++) {
		struct tg_prog *p = &g->progs[i];
		p->scc = t.scc[i];
		p->cycle = size[t.scc[i]] > 1 || self[i];
		p->depth = depth[t.scc[i]];
		p->too_deep = p->depth > TG_MAX_TAIL_CALLS;
		p->tail_only = p->in_slot && !p->attached;
	}

	for (int i = 0; i < n; i++)
		free(succ[i].to);
	free(succ);
	free(self);
	free(t.index);
	free(t.low);
	free(t.stack);
	free(t.scc);
	free(t.on);
	free(size);
	free(depth);
}

void tg_free(struct tailgraph *g)
{
	for (int i = 0; i < g->nprogs; i++) {
		free(g->progs[i].arrays);
		free(g->progs[i].calls);
	}
	for (int i = 0; i < g->narrays; i++) {
		free(g->arrays[i].slots);
		free(g->arrays[i].gaps);
	}
	free(g->progs);
	free(g->arrays);
	memset(g, 0, sizeof(*g));
}
