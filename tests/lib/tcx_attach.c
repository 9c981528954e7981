// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper: attach a loaded program (by id) to an interface through tcx
 * (Linux 6.6+: a BPF link of attach type BPF_TCX_INGRESS/EGRESS), print what
 * the kernel says about the link as one JSON line, then hold the link until
 * SIGINT/SIGTERM.
 *
 *   tcx_attach --netns NAME --dev IFACE --prog ID [--egress]
 *
 * Prints {"link_id":N,"prog_id":P,"ifindex":I,"netns_ino":X} (the link's own
 * info, read back with BPF_OBJ_GET_INFO_BY_FD).  Exits 4 with one line when
 * the kernel has no tcx (link_create refuses the attach type), 1 on any other
 * error.  Debian 12's libbpf (1.1) and uapi headers predate tcx: the attach
 * types are passed by number through bpf_link_create().
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
#include <bpf/bpf.h>

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
	fprintf(stderr, "tcx_attach: %s: %s\n", what, strerror(err));
	exit(status);
}

int main(int argc, char **argv)
{
	const char *netns = NULL, *dev = NULL;
	unsigned int prog_id = 0;
	int type = TCX_INGRESS;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--netns") && v)
			netns = argv[++i];
		else if (!strcmp(a, "--dev") && v)
			dev = argv[++i];
		else if (!strcmp(a, "--prog") && v)
			prog_id = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--egress"))
			type = TCX_EGRESS;
		else {
			fprintf(stderr, "usage: tcx_attach [--netns NAME] --dev IFACE --prog ID [--egress]\n");
			return 2;
		}
	}
	if (!dev || !prog_id) {
		fprintf(stderr, "usage: tcx_attach [--netns NAME] --dev IFACE --prog ID [--egress]\n");
		return 2;
	}
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
	int ifindex = (int)if_nametoindex(dev);
	if (!ifindex)
		fail(1, dev, errno);
	int prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		fail(1, "program", errno);

	int link_fd = bpf_link_create(prog_fd, ifindex, (enum bpf_attach_type)type, NULL);
	if (link_fd < 0) {
		int err = errno;
		/* EINVAL: an attach type this kernel does not know */
		if (err == EINVAL)
			fail(4, "the kernel refuses a tcx link (no tcx before Linux 6.6)", err);
		fail(1, "link_create", err);
	}
	struct bpf_link_info info;
	unsigned int len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(link_fd, &info, &len))
		fail(1, "link info", errno);
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		fail(1, "/proc/self/ns/net", errno);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* the link's ifindex is the first word of its type-specific info (tcx and xdp alike) */
	unsigned int link_ifindex;
	memcpy(&link_ifindex, &info.xdp, sizeof(link_ifindex));
	printf("{\"link_id\":%u,\"link_type\":%u,\"prog_id\":%u,\"ifindex\":%u,\"netns_ino\":%lu}\n", info.id,
	       info.type, info.prog_id, link_ifindex, (unsigned long)st.st_ino);
	fflush(stdout);
	while (!stop)
		pause();
	close(link_fd);
	close(prog_fd);
	return 0;
}
