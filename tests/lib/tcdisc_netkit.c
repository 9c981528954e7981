// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper for tcdisc and tailcalls: create a netkit pair (Linux 6.7+;
 * iproute2 before 6.7 cannot) over rtnetlink, attach a loaded program (by
 * id) to it through netkit links, as primary and as peer, print what the
 * kernel says about the device and the links as one JSON line, then hold the
 * links until SIGINT/SIGTERM and delete the pair.
 *
 *   tcdisc_netkit [--netns NAME] --dev NAME --peer NAME --prog ID [--peer-prog ID]
 *
 * Prints {"ifindex":I,"peer_ifindex":J,"primary_link":L,"peer_link":M,
 * "primary_prog":P,"peer_prog":Q,"netns_ino":X}: each link's program as
 * BPF_OBJ_GET_INFO_BY_FD reads it back.  Exits 4 with one line when the
 * kernel has no netkit (RTM_NEWLINK refuses the kind, or link_create the
 * attach type), 1 on any other error.  The attach types are passed by number:
 * Debian 12's libbpf (1.1) and uapi headers predate netkit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>

#include "rtnl.h"

#define NETKIT_PRIMARY 54 /* enum bpf_attach_type: BPF_NETKIT_PRIMARY */
#define NETKIT_PEER 55    /* BPF_NETKIT_PEER */
#define NK_PEER_INFO 1    /* IFLA_NETKIT_PEER_INFO (uapi if_link.h, 6.7) */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void fail(int status, const char *what, int err)
{
	fprintf(stderr, "tcdisc_netkit: %s: %s\n", what, strerror(err));
	exit(status);
}

static int newlink(int nl, const char *dev, const char *peer)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg i;
		char attrs[512];
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.i.ifi_family = AF_UNSPEC;
	rtnl_add_attr(&req.nh, sizeof(req), IFLA_IFNAME, dev, strlen(dev) + 1);
	struct rtattr *li = rtnl_nest_begin(&req.nh, sizeof(req), IFLA_LINKINFO);
	rtnl_add_attr(&req.nh, sizeof(req), IFLA_INFO_KIND, "netkit", 7);
	struct rtattr *data = rtnl_nest_begin(&req.nh, sizeof(req), IFLA_INFO_DATA);
	/* the peer: a struct ifinfomsg, then its own attributes */
	struct ifinfomsg pi;
	memset(&pi, 0, sizeof(pi));
	pi.ifi_family = AF_UNSPEC;
	struct rtattr *p = rtnl_add_attr(&req.nh, sizeof(req), NK_PEER_INFO, &pi, sizeof(pi));
	rtnl_add_attr(&req.nh, sizeof(req), IFLA_IFNAME, peer, strlen(peer) + 1);
	rtnl_nest_end(&req.nh, p);
	rtnl_nest_end(&req.nh, data);
	rtnl_nest_end(&req.nh, li);
	return rtnl_dump_req(nl, &req.nh, NULL, NULL);
}

static void dellink(int nl, int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg i;
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = RTM_DELLINK;
	req.nh.nlmsg_flags = NLM_F_ACK;
	req.i.ifi_family = AF_UNSPEC;
	req.i.ifi_index = ifindex;
	rtnl_dump_req(nl, &req.nh, NULL, NULL);
}

/* A netkit link: fd; *id and *prog from its info.  On failure the pair
 * goes before the exit. */
static int attach(int nl, int prog_fd, int ifindex, int type, unsigned int *id, unsigned int *prog)
{
	int fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)type, NULL);
	if (fd < 0) {
		int err = errno;
		dellink(nl, ifindex);
		if (err == EINVAL)
			fail(4, "the kernel refuses a netkit link (no netkit before Linux 6.7)", err);
		fail(1, "link_create", err);
	}
	struct bpf_link_info info;
	unsigned int len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		fail(1, "link info", errno);
	*id = info.id;
	*prog = info.prog_id;
	return fd;
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *dev = NULL, *peer = NULL;
	unsigned int prog_id = 0, peer_prog_id = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--netns") && v)
			netns = argv[++i];
		else if (!strcmp(a, "--dev") && v)
			dev = argv[++i];
		else if (!strcmp(a, "--peer") && v)
			peer = argv[++i];
		else if (!strcmp(a, "--prog") && v)
			prog_id = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--peer-prog") && v)
			peer_prog_id = (unsigned int)strtoul(argv[++i], NULL, 10);
		else
			dev = NULL, i = argc;
	}
	if (!dev || !peer || !prog_id) {
		fprintf(stderr, "usage: tcdisc_netkit [--netns NAME] --dev NAME --peer NAME --prog ID [--peer-prog ID]\n");
		return 2;
	}
	if (!peer_prog_id)
		peer_prog_id = prog_id;
	if (netns) {
		char path[256];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(1, path, errno);
		if (setns(fd, CLONE_NEWNET))
			fail(1, "setns", errno);
		close(fd);
	}
	int nl = rtnl_open();
	if (nl < 0)
		fail(1, "rtnetlink", -nl);
	int err = newlink(nl, dev, peer);
	if (err == -EOPNOTSUPP || err == -ENOENT)
		fail(4, "the kernel has no netkit devices (Linux 6.7+, CONFIG_NETKIT)", -err);
	if (err)
		fail(1, "RTM_NEWLINK netkit", -err);
	int ifindex = (int)if_nametoindex(dev), peer_ifindex = (int)if_nametoindex(peer);
	if (!ifindex || !peer_ifindex)
		fail(1, dev, errno);

	int prog_fd = bpf_prog_get_fd_by_id(prog_id);
	int peer_prog_fd = bpf_prog_get_fd_by_id(peer_prog_id);
	if (prog_fd < 0 || peer_prog_fd < 0) {
		int e = errno;
		dellink(nl, ifindex);
		fail(1, "program", e);
	}
	/* both are attached on the primary: the kernel takes the peer's
	 * programs there too */
	unsigned int plink, pprog, qlink, qprog;
	int pfd = attach(nl, prog_fd, ifindex, NETKIT_PRIMARY, &plink, &pprog);
	int qfd = attach(nl, peer_prog_fd, ifindex, NETKIT_PEER, &qlink, &qprog);
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		fail(1, "/proc/self/ns/net", errno);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("{\"ifindex\":%d,\"peer_ifindex\":%d,\"primary_link\":%u,\"peer_link\":%u,\"primary_prog\":%u,"
	       "\"peer_prog\":%u,\"netns_ino\":%lu}\n",
	       ifindex, peer_ifindex, plink, qlink, pprog, qprog, (unsigned long)st.st_ino);
	fflush(stdout);
	while (!stop)
		pause();
	close(pfd);
	close(qfd);
	close(prog_fd);
	close(peer_prog_fd);
	dellink(nl, ifindex);
	close(nl);
	return 0;
}
