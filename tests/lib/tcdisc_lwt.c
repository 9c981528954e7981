// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tcdisc and tailcalls: load tcd_lwt_root and tcd_lwt_stage
 * from tests/fixtures/tcdisc_lwt.bpf.o, put the stage in slot 0 of the
 * root's prog array, and add an IPv4 route whose LWT xmit program is the
 * root, named as a libbpf loader would name it (the program's own name,
 * unless --name says otherwise), over rtnetlink; print one JSON line, then
 * hold the prog array (its slots live as long as a user reference does)
 * until SIGINT/SIGTERM, and delete the route.
 *
 *   tcdisc_lwt --netns NAME --dev IFACE --route A.B.C.D/LEN [--name NAME] [--fixtures DIR]
 *
 * Prints {"root":ID,"stage":ID,"map":ID,"oif":IFINDEX,"name":"..."}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/lwtunnel.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "rtnl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "tcdisc_lwt: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail("program info", errno);
	return info.id;
}

/* RTM_NEWROUTE (prog_fd >= 0) or RTM_DELROUTE of dst/len via oif. */
static int route(int nl, int type, struct in_addr dst, int len, int oif, int prog_fd, const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg r;
		char attrs[512];
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = (unsigned short)type;
	req.nh.nlmsg_flags = NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.r.rtm_family = AF_INET;
	req.r.rtm_dst_len = (unsigned char)len;
	req.r.rtm_table = RT_TABLE_MAIN;
	req.r.rtm_protocol = RTPROT_BOOT;
	req.r.rtm_scope = RT_SCOPE_LINK;
	req.r.rtm_type = RTN_UNICAST;
	rtnl_add_attr(&req.nh, sizeof(req), RTA_DST, &dst, sizeof(dst));
	rtnl_add_attr(&req.nh, sizeof(req), RTA_OIF, &oif, sizeof(oif));
	if (type == RTM_NEWROUTE) {
		uint16_t encap = LWTUNNEL_ENCAP_BPF;
		uint32_t fd = (uint32_t)prog_fd;
		rtnl_add_attr(&req.nh, sizeof(req), RTA_ENCAP_TYPE, &encap, sizeof(encap));
		struct rtattr *e = rtnl_nest_begin(&req.nh, sizeof(req), RTA_ENCAP);
		struct rtattr *x = rtnl_nest_begin(&req.nh, sizeof(req), LWT_BPF_XMIT);
		rtnl_add_attr(&req.nh, sizeof(req), LWT_BPF_PROG_FD, &fd, sizeof(fd));
		rtnl_add_attr(&req.nh, sizeof(req), LWT_BPF_PROG_NAME, name, strlen(name) + 1);
		rtnl_nest_end(&req.nh, x);
		rtnl_nest_end(&req.nh, e);
	}
	return rtnl_dump_req(nl, &req.nh, NULL, NULL);
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *dev = NULL, *prefix = NULL, *name = NULL, *fixtures = NULL;
	char defdir[PATH_MAX];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--netns") && v)
			netns = argv[++i];
		else if (!strcmp(a, "--dev") && v)
			dev = argv[++i];
		else if (!strcmp(a, "--route") && v)
			prefix = argv[++i];
		else if (!strcmp(a, "--name") && v)
			name = argv[++i];
		else if (!strcmp(a, "--fixtures") && v)
			fixtures = argv[++i];
		else
			dev = NULL, i = argc;
	}
	if (!dev || !prefix) {
		fprintf(stderr, "usage: tcdisc_lwt [--netns NAME] --dev IFACE --route A.B.C.D/LEN [--name NAME] "
				"[--fixtures DIR]\n");
		return 2;
	}
	if (!fixtures) {
		/* build/tests/tcdisc_lwt -> build/fixtures */
		ssize_t n = readlink("/proc/self/exe", defdir, sizeof(defdir) - 32);
		char *slash = n > 0 ? (defdir[n] = '\0', strrchr(defdir, '/')) : NULL;
		if (slash)
			snprintf(slash, defdir + sizeof(defdir) - slash, "/../fixtures");
		else
			snprintf(defdir, sizeof(defdir), "../fixtures");
		fixtures = defdir;
	}
	char addr[64];
	int plen = 32;
	struct in_addr dst;
	snprintf(addr, sizeof(addr), "%s", prefix);
	char *sl = strchr(addr, '/');
	if (sl) {
		*sl = '\0';
		plen = atoi(sl + 1);
	}
	if (inet_pton(AF_INET, addr, &dst) != 1 || plen < 0 || plen > 32) {
		fprintf(stderr, "tcdisc_lwt: bad route %s\n", prefix);
		return 2;
	}
	if (netns) {
		char path[256];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(path, errno);
		if (setns(fd, CLONE_NEWNET))
			fail("setns", errno);
		close(fd);
	}
	int oif = (int)if_nametoindex(dev);
	if (!oif)
		fail(dev, errno);

	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/tcdisc_lwt.bpf.o", fixtures);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj)
		fail(path, errno);
	struct bpf_program *root = bpf_object__find_program_by_name(obj, "tcd_lwt_root");
	struct bpf_program *stage = bpf_object__find_program_by_name(obj, "tcd_lwt_stage");
	if (!root || !stage)
		fail("programs in the fixture", ENOENT);
	/* the others are iproute2's, in sections libbpf gives no type */
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
		if (p != root && p != stage)
			bpf_program__set_autoload(p, false);
	if (bpf_object__load(obj))
		fail("load", errno);
	int root_fd = bpf_program__fd(root), stage_fd = bpf_program__fd(stage);
	struct bpf_map *jmp = bpf_object__find_map_by_name(obj, "tcd_lwt_jmp");
	uint32_t slot = 0;
	if (!jmp || bpf_map_update_elem(bpf_map__fd(jmp), &slot, &stage_fd, BPF_ANY))
		fail("prog array slot 0", errno);
	struct bpf_map_info mi;
	uint32_t mlen = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(bpf_map__fd(jmp), &mi, &mlen))
		fail("map info", errno);

	if (!name)
		name = bpf_program__name(root);
	int nl = rtnl_open();
	if (nl < 0)
		fail("rtnetlink", -nl);
	int err = route(nl, RTM_NEWROUTE, dst, plen, oif, root_fd, name);
	if (err)
		fail("RTM_NEWROUTE", -err);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("{\"root\":%u,\"stage\":%u,\"map\":%u,\"oif\":%d,\"name\":\"%s\"}\n", prog_id(root_fd),
	       prog_id(stage_fd), mi.id, oif, name);
	fflush(stdout);
	while (!stop)
		pause();
	route(nl, RTM_DELROUTE, dst, plen, oif, -1, NULL);
	close(nl);
	bpf_object__close(obj);
	return 0;
}
