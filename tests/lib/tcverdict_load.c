// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tcverdict: load one program of the fixture
 * (tests/fixtures/tcverdict_ports.bpf.c), with its redirect targets, and
 * attach it to an interface's TC hook, either as a cls_bpf filter in
 * direct-action mode on the clsact qdisc (bpf_tc_hook_create/bpf_tc_attach)
 * or through a tcx link (Linux 6.6+).  Prints what the kernel says as one
 * JSON line, then holds the attachment until SIGTERM/SIGINT, and removes it
 * (the cls_bpf filter is deleted, the tcx link closed) before exiting 0.
 *
 *   tcverdict_load [--netns NAME] [--obj PATH] KIND DEV DIR PROG [EGRESS_TARGET [INGRESS_TARGET]]
 *
 * KIND cls_bpf or tcx; DIR ingress or egress; PROG the program's name
 * (tcv_cls, tcv_tcx, tcv_egress); the targets are interface names in that
 * namespace (port 9003 redirects to EGRESS_TARGET's egress, 9006 to
 * INGRESS_TARGET's ingress).  --obj defaults to ../fixtures/ next to this
 * binary.  Output:
 *   {"kind":"cls_bpf","prog_id":N,"prog":"tcv_cls","ifindex":I,"direction":"ingress",
 *    "seen_map_id":M,"egress_target":E,"ingress_target":G,"handle":H,"priority":P,
 *    "link_id":null,"netns_ino":X}
 * (tcx: handle and priority null, link_id the link's id, read back from the
 * kernel.)  Exits 4 with one line when the kernel has no tcx, 2 on bad
 * arguments, 1 on any other failure.  Debian 12's libbpf (1.1) predates
 * bpf_program__attach_tcx: the link is made by attach type number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46 /* enum bpf_attach_type: BPF_TCX_INGRESS */
#define TCX_EGRESS 47  /* BPF_TCX_EGRESS */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(int status, const char *what, int err)
{
	fprintf(stderr, "tcverdict_load: %s: %s\n", what, strerror(err));
	exit(status);
}

static void usage(void)
{
	fprintf(stderr, "usage: tcverdict_load [--netns NAME] [--obj PATH] cls_bpf|tcx|none DEV ingress|egress PROG "
			"[EGRESS_TARGET [INGRESS_TARGET]]\n(a target is an interface name, #INDEX, or - for none)\n");
	exit(2);
}

static unsigned int ifindex_of(const char *name)
{
	unsigned int i;

	if (!name || !strcmp(name, "-"))
		return 0;
	if (name[0] == '#') /* a raw index, e.g. of no interface: the redirect fails */
		return (unsigned int)strtoul(name + 1, NULL, 10);
	i = if_nametoindex(name);
	if (!i)
		fail(1, name, errno);
	return i;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *obj_path = NULL, *pos[6] = { 0 };
	char def_obj[PATH_MAX];
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--netns") && i + 1 < argc)
			netns = argv[++i];
		else if (!strcmp(argv[i], "--obj") && i + 1 < argc)
			obj_path = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			usage();
		else if (npos < 6)
			pos[npos++] = argv[i];
		else
			usage();
	}
	if (npos < 4)
		usage();
	const char *kind = pos[0], *dev = pos[1], *dir = pos[2], *prog_name = pos[3];
	/* none: load and hold the program, attached nowhere (netkit tests attach it) */
	bool tcx = !strcmp(kind, "tcx"), none = !strcmp(kind, "none"), egress = !strcmp(dir, "egress");
	if ((!tcx && !none && strcmp(kind, "cls_bpf")) || (!egress && strcmp(dir, "ingress")))
		usage();
	if (!obj_path) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			fail(1, "/proc/self/exe", errno);
		self[n] = 0;
		snprintf(def_obj, sizeof(def_obj), "%s/../fixtures/tcverdict_ports.bpf.o", dirname(self));
		obj_path = def_obj;
	}
	if (netns) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(1, path, errno);
		if (setns(fd, CLONE_NEWNET))
			fail(1, "setns", errno);
		close(fd);
	}
	int ifindex = (int)ifindex_of(dev);
	struct {
		__u32 egress_target, ingress_target;
	} cfg = { ifindex_of(pos[4]), ifindex_of(pos[5]) };

	libbpf_set_print(libbpf_quiet);
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		fail(1, obj_path, errno);
	struct bpf_map *map, *rodata = NULL, *seen = NULL;
	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t len = strlen(n);
		if (len >= 7 && !strcmp(n + len - 7, ".rodata"))
			rodata = map;
		else if (!strcmp(n, "tv_seen"))
			seen = map;
	}
	if (!rodata || !seen)
		fail(1, "the fixture has no .rodata or tv_seen map", ENOENT);
	/* the configuration is the object's only read-only data */
	if (bpf_map__set_initial_value(rodata, &cfg, sizeof(cfg)))
		fail(1, "setting tcv_cfg (is it the only .rodata variable?)", EINVAL);
	struct bpf_program *p, *prog = NULL;
	bpf_object__for_each_program(p, obj) {
		bool want = !strcmp(bpf_program__name(p), prog_name);
		bpf_program__set_autoload(p, want);
		if (want)
			prog = p;
	}
	if (!prog)
		fail(2, prog_name, ENOENT);
	if (bpf_object__load(obj))
		fail(1, "loading the fixture", errno);
	int prog_fd = bpf_program__fd(prog);

	struct bpf_prog_info pinfo;
	unsigned int plen = sizeof(pinfo);
	memset(&pinfo, 0, sizeof(pinfo));
	if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen))
		fail(1, "program info", errno);
	struct bpf_map_info minfo;
	unsigned int mlen = sizeof(minfo);
	memset(&minfo, 0, sizeof(minfo));
	if (bpf_obj_get_info_by_fd(bpf_map__fd(seen), &minfo, &mlen))
		fail(1, "map info", errno);

	int link_fd = -1;
	unsigned int link_id = 0;
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
	if (none) {
		/* attached by someone else */
	} else if (tcx) {
		link_fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)(egress ? TCX_EGRESS : TCX_INGRESS),
					  NULL);
		if (link_fd < 0) {
			int err = errno;
			if (err == EINVAL)
				fail(4, "the kernel refuses a tcx link (no tcx before Linux 6.6)", err);
			fail(1, "link_create", err);
		}
		struct bpf_link_info linfo;
		unsigned int llen = sizeof(linfo);
		memset(&linfo, 0, sizeof(linfo));
		if (bpf_obj_get_info_by_fd(link_fd, &linfo, &llen))
			fail(1, "link info", errno);
		link_id = linfo.id;
	} else {
		int err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST)
			fail(1, "creating the clsact qdisc", -err);
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			fail(1, "attaching the cls_bpf filter", -err);
	}
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		fail(1, "/proc/self/ns/net", errno);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("{\"kind\":\"%s\",\"prog_id\":%u,\"prog\":\"%s\",\"ifindex\":%d,\"direction\":\"%s\","
	       "\"seen_map_id\":%u,\"egress_target\":%u,\"ingress_target\":%u,",
	       kind, pinfo.id, pinfo.name, ifindex, dir, minfo.id, cfg.egress_target, cfg.ingress_target);
	if (tcx)
		printf("\"handle\":null,\"priority\":null,\"link_id\":%u,", link_id);
	else
		printf("\"handle\":%u,\"priority\":%u,\"link_id\":null,", opts.handle, opts.priority);
	printf("\"netns_ino\":%lu}\n", (unsigned long)st.st_ino);
	fflush(stdout);
	while (!stop)
		pause();
	if (tcx) {
		close(link_fd);
	} else if (!none) {
		/* bpf_tc_detach wants only the filter's address, not the program */
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, del, .handle = opts.handle, .priority = opts.priority);
		int err = bpf_tc_detach(&hook, &del);
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
			fail(1, "detaching the cls_bpf filter", -err);
	}
	bpf_object__close(obj);
	return 0;
}
