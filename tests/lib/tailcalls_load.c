// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tailcalls: load the tailcalls_*.bpf.o fixtures, fill their
 * prog arrays, attach them, print the ids of everything as one JSON line
 * (the ground truth the tests compare `tailcalls -o json` with), then hold
 * them until SIGINT/SIGTERM.
 *
 *   tailcalls_load [--netns NAME] [--xdp IFACE] [--tc IFACE] [--cycle] [--deep]
 *                  [--cgroup DIR] [--tracepoint] [--copies N] [--fixtures DIR]
 *   tailcalls_load --fentry-check [--repeat N] [--fixtures DIR]
 *
 * --netns enters network namespace /run/netns/NAME first (only the network
 * namespace: unlike `ip netns exec`, /sys and its tracefs stay visible).
 * --xdp attaches xdp_root to IFACE (an XDP bpf_link), --tc attaches tc_root
 * to IFACE's clsact ingress (bpf_tc_hook), in that namespace.  --cgroup attaches cg_root of
 * tailcalls_roots to the cgroup2 directory DIR (cgroup_skb ingress link),
 * --tracepoint attaches tp_root to syscalls:sys_enter_getppid (perf event
 * link).  --copies N loads N more copies
 * of the deep chain, unattached (benchmarks).
 *
 * --fentry-check: load the XDP pipeline, attach fentry programs to xdp_root
 * (entered directly) and xdp_parse (entered by a tail call), run xdp_root N
 * times with BPF_PROG_TEST_RUN and print how often each trampoline fired and
 * how often xdp_parse really ran (its own counter), then exit.  The verdict
 * ("fires", "does not fire" or "unavailable") is computed here, independently
 * of the tool's own self-test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static const char *fixtures;
static FILE *out;
static bool first_field = true;

static void fail(const char *what, int err)
{
	fprintf(stderr, "tailcalls_load: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static struct bpf_object *load(const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tailcalls_%s.bpf.o", fixtures, name);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		fail(path, errno);
	int err = bpf_object__load(obj);
	if (err)
		fail(path, err);
	return obj;
}

static int prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
	if (!p)
		fail(name, ENOENT);
	return bpf_program__fd(p);
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	if (!m)
		fail(name, ENOENT);
	return bpf_map__fd(m);
}

static unsigned prog_id(int fd)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("prog info", errno);
	return info.id;
}

static unsigned map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("map info", errno);
	return info.id;
}

/* Slots go to the "slots" list; printed at the end. */
static char slots[65536];
static size_t slen;

static void put_slot(struct bpf_object *obj, const char *map, unsigned key, const char *prog)
{
	int mfd = map_fd(obj, map), pfd = prog_fd(obj, prog);
	if (bpf_map_update_elem(mfd, &key, &pfd, BPF_ANY))
		fail("prog array update", errno);
	slen += snprintf(slots + slen, sizeof(slots) - slen, "%s{\"map\":%u,\"slot\":%u,\"prog\":%u}",
			 slen ? "," : "", map_id(mfd), key, prog_id(pfd));
}

/* Every program and map of obj as "name":id, into progs / maps. */
static char progs[65536], maps[65536];
static size_t plen, mlen;

static void list_obj(struct bpf_object *obj, const char *suffix)
{
	struct bpf_program *p;
	struct bpf_map *m;
	bpf_object__for_each_program(p, obj)
		plen += snprintf(progs + plen, sizeof(progs) - plen, "%s\"%s%s\":%u", plen ? "," : "",
				 bpf_program__name(p), suffix, prog_id(bpf_program__fd(p)));
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__type(m) != BPF_MAP_TYPE_PROG_ARRAY && bpf_map__type(m) != BPF_MAP_TYPE_ARRAY)
			continue;
		if (strchr(bpf_map__name(m), '.'))
			continue; /* .rodata, .bss */
		mlen += snprintf(maps + mlen, sizeof(maps) - mlen, "%s\"%s%s\":%u", mlen ? "," : "",
				 bpf_map__name(m), suffix, map_id(bpf_map__fd(m)));
	}
}

static void field(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void field(const char *fmt, ...)
{
	va_list ap;
	fputs(first_field ? "{" : ",", out);
	first_field = false;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long netns_ino(void)
{
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		fail("/proc/self/ns/net", errno);
	return (unsigned long)st.st_ino;
}

static int fentry_check(unsigned repeat)
{
	struct bpf_object *x = load("xdp");
	put_slot(x, "stages", 0, "xdp_parse");
	put_slot(x, "stages", 1, "xdp_heavy");
	put_slot(x, "stages", 3, "xdp_rare");

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/tailcalls_fentry.bpf.o", fixtures);
	struct bpf_object *f = bpf_object__open_file(path, NULL);
	if (!f)
		fail(path, errno);
	struct bpf_program *on_root = bpf_object__find_program_by_name(f, "on_root");
	struct bpf_program *on_parse = bpf_object__find_program_by_name(f, "on_parse");
	bpf_program__set_attach_target(on_root, prog_fd(x, "xdp_root"), "xdp_root");
	bpf_program__set_attach_target(on_parse, prog_fd(x, "xdp_parse"), "xdp_parse");
	int err = bpf_object__load(f);
	struct bpf_link *l1 = NULL, *l2 = NULL;
	if (!err) {
		l1 = bpf_program__attach(on_root);
		l2 = l1 ? bpf_program__attach(on_parse) : NULL;
		if (!l2)
			err = -errno;
	}
	if (err) {
		fprintf(out, "{\"fentry\":\"unavailable\",\"error\":\"%s\"}\n", strerror(-err));
		return 0;
	}
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = repeat);
	if (bpf_prog_test_run_opts(prog_fd(x, "xdp_root"), &topts))
		fail("test run", errno);
	struct bpf_map *bss = bpf_object__find_map_by_name(f, ".bss");
	uint64_t cnt[2];
	unsigned zero = 0;
	if (!bss || bpf_map_lookup_elem(bpf_map__fd(bss), &zero, cnt))
		fail("fentry counters", errno);
	uint64_t parse_hits;
	if (bpf_map_lookup_elem(map_fd(x, "hits"), &zero, &parse_hits))
		fail("hits", errno);
	const char *verdict = cnt[0] != repeat ? "broken"
			      : cnt[1] == parse_hits ? "fires"
			      : cnt[1] == 0 ? "does not fire" : "partial";
	fprintf(out, "{\"fentry\":\"%s\",\"runs\":%u,\"root_entries\":%llu,\"parse_entries\":%llu,"
		"\"parse_hits\":%llu}\n", verdict, repeat, (unsigned long long)cnt[0],
		(unsigned long long)cnt[1], (unsigned long long)parse_hits);
	bpf_link__destroy(l1);
	bpf_link__destroy(l2);
	bpf_object__close(f);
	bpf_object__close(x);
	return 0;
}

int main(int argc, char **argv)
{
	const char *xdp_if = NULL, *tc_if = NULL, *cgroup = NULL, *netns = NULL;
	bool cycle = false, deep = false, fcheck = false, tracepoint = false;
	unsigned copies = 0, repeat = 1000;
	static char defdir[PATH_MAX];

	out = stdout;
	/* build/tests/tailcalls_load -> build/fixtures */
	snprintf(defdir, sizeof(defdir), "%s", argv[0]);
	char *slash = strrchr(defdir, '/');
	if (slash)
		snprintf(slash, defdir + sizeof(defdir) - slash, "/../fixtures");
	else
		snprintf(defdir, sizeof(defdir), "../fixtures");
	fixtures = defdir;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--xdp") && v)
			xdp_if = argv[++i];
		else if (!strcmp(a, "--tc") && v)
			tc_if = argv[++i];
		else if (!strcmp(a, "--cycle"))
			cycle = true;
		else if (!strcmp(a, "--deep"))
			deep = true;
		else if (!strcmp(a, "--netns") && v)
			netns = argv[++i];
		else if (!strcmp(a, "--cgroup") && v)
			cgroup = argv[++i];
		else if (!strcmp(a, "--tracepoint"))
			tracepoint = true;
		else if (!strcmp(a, "--copies") && v)
			copies = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--repeat") && v)
			repeat = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--fixtures") && v)
			fixtures = argv[++i];
		else if (!strcmp(a, "--fentry-check"))
			fcheck = true;
		else {
			fprintf(stderr, "usage: tailcalls_load [--netns NAME] [--xdp IFACE] [--tc IFACE] [--cycle] [--deep] "
				"[--cgroup DIR] [--tracepoint] [--copies N] [--fixtures DIR] | --fentry-check [--repeat N]\n");
			return 2;
		}
	}
	if (fcheck)
		return fentry_check(repeat);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (netns) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		int nfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET))
			fail(path, errno);
		close(nfd);
	}

	struct bpf_object *x = load("xdp");
	put_slot(x, "stages", 0, "xdp_parse");
	put_slot(x, "stages", 1, "xdp_heavy");
	put_slot(x, "stages", 3, "xdp_rare");
	list_obj(x, "");
	field("\"pid\":%d", (int)getpid());
	field("\"netns_ino\":%lu", netns_ino());

	struct bpf_link *xl = NULL;
	if (xdp_if) {
		int ifindex = (int)if_nametoindex(xdp_if);
		if (!ifindex)
			fail(xdp_if, errno);
		xl = bpf_program__attach_xdp(bpf_object__find_program_by_name(x, "xdp_root"), ifindex);
		if (!xl)
			fail("attach xdp", errno);
		struct bpf_link_info li = {};
		uint32_t len = sizeof(li);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(xl), &li, &len))
			fail("link info", errno);
		field("\"xdp\":{\"ifname\":\"%s\",\"ifindex\":%d,\"link_id\":%u,\"prog\":%u}", xdp_if,
		      ifindex, li.id, li.prog_id);
	}

	struct bpf_object *t = load("tc");
	put_slot(t, "tc_chain", 0, "tc_stage");
	put_slot(t, "orphan", 0, "tc_stage");
	list_obj(t, "");
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, topts, .handle = 1, .priority = 1);
	bool hook_created = false;
	if (tc_if) {
		hook.ifindex = (int)if_nametoindex(tc_if);
		if (!hook.ifindex)
			fail(tc_if, errno);
		int err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			fail("tc hook", err);
		hook_created = !err;
		topts.prog_fd = prog_fd(t, "tc_root");
		err = bpf_tc_attach(&hook, &topts);
		if (err)
			fail("tc attach", err);
		field("\"tc\":{\"ifname\":\"%s\",\"ifindex\":%d,\"handle\":%u,\"priority\":%u,\"prog\":%u}",
		      tc_if, hook.ifindex, topts.handle, topts.priority, topts.prog_id);
	}

	struct bpf_object *c = NULL, *d = NULL;
	if (cycle) {
		c = load("cycle");
		put_slot(c, "cyc_array", 0, "cyc_a");
		put_slot(c, "cyc_array", 1, "cyc_b");
		list_obj(c, "");
	}
	if (deep) {
		d = load("deep");
		for (unsigned i = 0; i < 36; i++) {
			char name[16];
			snprintf(name, sizeof(name), "deep_%u", i);
			put_slot(d, "deep_arr", i, name);
		}
		list_obj(d, "");
	}
	struct bpf_object *r = NULL;
	struct bpf_link *cgl = NULL, *tpl = NULL;
	if (cgroup || tracepoint) {
		r = load("roots");
		put_slot(r, "cg_chain", 0, "cg_stage");
		put_slot(r, "tp_chain", 0, "tp_stage");
		list_obj(r, "");
	}
	if (cgroup) {
		int cgfd = open(cgroup, O_RDONLY | O_DIRECTORY);
		if (cgfd < 0)
			fail(cgroup, errno);
		cgl = bpf_program__attach_cgroup(bpf_object__find_program_by_name(r, "cg_root"), cgfd);
		if (!cgl)
			fail("attach cgroup", errno);
		close(cgfd);
		struct bpf_link_info li = {};
		uint32_t len = sizeof(li);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(cgl), &li, &len))
			fail("link info", errno);
		field("\"cgroup\":{\"path\":\"%s\",\"cgroup_id\":%llu,\"link_id\":%u,\"prog\":%u}", cgroup,
		      (unsigned long long)li.cgroup.cgroup_id, li.id, li.prog_id);
	}
	if (tracepoint) {
		tpl = bpf_program__attach_tracepoint(bpf_object__find_program_by_name(r, "tp_root"), "syscalls",
						     "sys_enter_getppid");
		if (!tpl)
			fail("attach tracepoint", errno);
		struct bpf_link_info li = {};
		uint32_t len = sizeof(li);
		/* a bpf_link where the kernel has perf-event links (5.15+), else the perf event fd */
		if (bpf_obj_get_info_by_fd(bpf_link__fd(tpl), &li, &len))
			li.id = 0;
		field("\"tracepoint\":{\"name\":\"sys_enter_getppid\",\"link_id\":%u,\"prog\":%u}", li.id,
		      prog_id(prog_fd(r, "tp_root")));
	}
	struct bpf_object **cp = calloc(copies ? copies : 1, sizeof(*cp));
	for (unsigned k = 0; k < copies; k++) {
		cp[k] = load("deep");
		for (unsigned i = 0; i < 36; i++) {
			char name[16];
			int mfd = map_fd(cp[k], "deep_arr");
			snprintf(name, sizeof(name), "deep_%u", i);
			int pfd = prog_fd(cp[k], name);
			if (bpf_map_update_elem(mfd, &i, &pfd, BPF_ANY))
				fail("prog array update", errno);
		}
	}
	if (copies)
		field("\"copies\":%u", copies);
	field("\"progs\":{%s}", progs);
	field("\"maps\":{%s}", maps);
	field("\"slots\":[%s]", slots);
	fputs("}\n", out);
	fflush(out);

	while (!stop)
		pause();

	if (tc_if) {
		topts.prog_fd = topts.prog_id = topts.flags = 0;
		bpf_tc_detach(&hook, &topts);
		if (hook_created) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	bpf_link__destroy(xl);
	bpf_link__destroy(cgl);
	bpf_link__destroy(tpl);
	bpf_object__close(r);
	for (unsigned k = 0; k < copies; k++)
		bpf_object__close(cp[k]);
	free(cp);
	bpf_object__close(d);
	bpf_object__close(c);
	bpf_object__close(t);
	bpf_object__close(x);
	return 0;
}
