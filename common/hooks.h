/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The hook table: for each place a tool observes, the ways to hook it in
 * order of preference (fexit, tp_btf, raw_tp, kprobe, ...), each with its
 * probe.  hooks_select() probes and sets every program's autoload before the
 * object is loaded; hooks_attach() attaches what was chosen, by policy; the
 * mechanism line is generated from what actually attached.  The BPF side
 * writes tp_btf/raw_tp twins once with TP_TWIN (bpf/hooks.bpf.h).
 */
#ifndef BPFSCOPE_HOOKS_H
#define BPFSCOPE_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_program;
struct bpf_link;

enum hook_mech {
	MECH_NONE,
	MECH_FENTRY,     /* BPF trampoline on a kernel function's entry */
	MECH_FEXIT,      /* ... on its return */
	MECH_TP_BTF,     /* BTF-typed tracepoint */
	MECH_RAW_TP,     /* raw tracepoint */
	MECH_KPROBE,
	MECH_KRETPROBE,
	MECH_ITER,       /* BPF iterator, run on demand */
	MECH_OTHER,      /* probed by the alternative's own function only */
};

struct hook_alt;
/* An extra probe of an alternative; false (with *why set) rules it out. */
typedef bool (*hook_probe_fn)(const struct hook_alt *a, const char **why);

struct hook_alt {
	enum hook_mech mech;
	const char *prog;       /* program name in the BPF object */
	const char *target;     /* kernel function, tracepoint or iterator probed */
	const char *name;       /* for --mechanism and the mechanism line; NULL: the mech's name */
	hook_probe_fn probe;    /* optional extra probe */
	bool on_request;        /* only when --mechanism names it (a cost stated in the man page) */
	bool manual;            /* the tool attaches it itself (iterators, perf events) */
	bool clone;             /* loaded only in copies aimed at other BPF programs (bpfclone_load):
				 * chosen, but not autoloaded in the tool's own object */
};

enum hook_policy {
	HOOK_REQUIRED,          /* no alternative available: exit 4 naming what was tried */
	HOOK_OPTIONAL,          /* no alternative: a note saying what is lost */
};

#define HOOK_MAX_ALTS 6

struct hook {
	const char *name;       /* what is observed, e.g. "inet_sock_set_state" */
	enum hook_policy policy;
	const char *lacking;    /* optional hooks: what is missing without it */
	bool off;               /* not wanted in this run (its programs are not loaded) */
	struct hook_alt alt[HOOK_MAX_ALTS];
	/* results */
	int chosen;             /* index into alt[] or -1 */
	struct bpf_program *prog;
	struct bpf_link *link;
	char why[160];          /* why nothing was chosen or attached */
};

/* The usual pair for a tracepoint written with TP_TWIN(NAME, TP, ...);
 * the _X form adds fields to both (e.g. .probe = fn, .manual = true). */
#define HOOK_TP_TWIN(name_, tp_)                                                   \
	{ .mech = MECH_TP_BTF, .prog = "btf_" name_, .target = tp_ },               \
	{ .mech = MECH_RAW_TP, .prog = "raw_" name_, .target = tp_ }
#define HOOK_TP_TWIN_X(name_, tp_, ...)                                            \
	{ .mech = MECH_TP_BTF, .prog = "btf_" name_, .target = tp_, __VA_ARGS__ },  \
	{ .mech = MECH_RAW_TP, .prog = "raw_" name_, .target = tp_, __VA_ARGS__ }

const char *hook_mech_name(enum hook_mech m);  /* "fexit", "tp_btf", ... */
const char *hook_alt_name(const struct hook_alt *a);

/* Probe each hook's alternatives in order; the first available one is
 * chosen and autoloaded, every other program of the table is not.  mech
 * (--mechanism: comma-separated names, may be NULL) forces, in every hook
 * that has one of them, the alternative of that name (the first of that
 * name the kernel offers): exit 2 if a name is no hook's or two names
 * contradict each other for one hook, exit 4 if the kernel lacks it.  A required hook with no
 * alternative exits 4 naming what each one lacked. */
void hooks_select(struct bpf_object *obj, struct hook *h, int n, const char *mech);
/* Attach what was chosen (after load).  A failure of a required hook exits
 * (EPERM/EACCES 3, else 1, naming the hook and mechanism); of an optional
 * one, a note and the hook counts as not attached. */
void hooks_attach(struct hook *h, int n);
void hooks_detach(struct hook *h, int n);
/* The chosen alternative's name, or NULL when the hook is off or has none. */
const char *hook_chosen(const struct hook *h);
bool hook_active(const struct hook *h);
/* The mechanism line: "tp_btf" when every attached hook uses the same one,
 * else "HOOK: MECH, ..." (hooks without one: "HOOK: none").  Returns buf. */
char *hooks_mechanism(const struct hook *h, int n, char *buf, size_t len);

/*
 * A program aimed at another BPF program (fentry/fexit/freplace): load prog
 * of a freshly opened copy of an object, attached to target_fd's function
 * func.  Maps with the same name as one of parent's are shared with parent
 * (the tool's counters); the copy's own .rodata/.data/.bss are its own, so
 * the caller sets them on the opened skeleton first.  Every other program
 * of the copy is not loaded.  0 or -errno; *link set on success.
 */
int bpfclone_load(struct bpf_object *copy, const char *prog, const struct bpf_object *parent, int target_fd,
		  const char *func, struct bpf_link **link);
/* The BTF name of a loaded program's main function (what fentry/fexit on
 * it attach to).  0 or -errno (-ENOENT: no BTF function info). */
int bpf_prog_main_func(int prog_fd, char *name, size_t len);

#endif
