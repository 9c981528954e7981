// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test helper: what common/tcdisc finds in a network namespace (the current
 * one, or NAME under /run/netns), one JSON object per line.
 *
 *   tcdisc_dump [--netns NAME] [progs|mirred]     (default: both)
 *
 * progs:  {"what":"prog","kind":"cls_bpf","dir":"ingress","ifindex":2,"ifname":"x",
 *          "prog_id":7,"prog_name":"n","link_id":0,"direct_action":true,"pref":1,
 *          "handle":1,"route":"","lwt_name":"","candidates":0,"others_on_hook":0}
 * mirred: {"what":"mirred","index":1,"eaction":1,"ifindex":3,"target":"y","action":4,
 *          "packets":0,"bytes":0,"drops":0,"overlimits":0,"refcnt":1,"bindcnt":1}
 * Exits 1 with one line when a dump fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "tcdisc.h"
#include "util.h"

static void str(const char *key, const char *v)
{
	printf(",\"%s\":", key);
	json_write_string(stdout, v);
}

int main(int argc, char **argv)
{
	const char *what = "all";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--netns") && i + 1 < argc) {
			char path[256];
			snprintf(path, sizeof(path), "/run/netns/%s", argv[++i]);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET)) {
				fprintf(stderr, "tcdisc_dump: %s: %s\n", path, strerror(errno));
				return 1;
			}
			close(fd);
		} else {
			what = argv[i];
		}
	}
	bool progs = strcmp(what, "mirred") != 0, mirred = strcmp(what, "progs") != 0;

	if (progs) {
		struct tcprog *v;
		int n = tcdisc_collect(&v);
		if (n < 0) {
			fprintf(stderr, "tcdisc_dump: tcdisc_collect: %s\n", errno_name(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			const struct tcprog *p = &v[i];
			printf("{\"what\":\"prog\"");
			str("kind", tc_kind_name(p->kind));
			str("dir", tc_dir_name(p->dir));
			printf(",\"ifindex\":%d", p->ifindex);
			str("ifname", p->ifname);
			printf(",\"prog_id\":%u", p->prog_id);
			str("prog_name", p->prog_name);
			printf(",\"link_id\":%u,\"direct_action\":%s,\"pref\":%u,\"handle\":%u", p->link_id,
			       p->direct_action ? "true" : "false", p->pref, p->handle);
			str("route", p->route);
			str("lwt_name", p->lwt_name);
			printf(",\"candidates\":%d,\"others_on_hook\":%d}\n", p->candidates, p->others_on_hook);
		}
		free(v);
	}
	if (mirred) {
		struct tcmirred *m;
		int n = tcdisc_mirred(&m);
		if (n < 0) {
			fprintf(stderr, "tcdisc_dump: tcdisc_mirred: %s\n", errno_name(-n));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			printf("{\"what\":\"mirred\",\"index\":%u,\"eaction\":%d,\"ifindex\":%d", m[i].index, m[i].eaction,
			       m[i].ifindex);
			str("target", m[i].target);
			printf(",\"action\":%d,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"drops\":%" PRIu64
			       ",\"overlimits\":%" PRIu64 ",\"refcnt\":%u,\"bindcnt\":%u}\n",
			       m[i].action, m[i].packets, m[i].bytes, m[i].drops, m[i].overlimits, m[i].refcnt, m[i].bindcnt);
		}
		free(m);
	}
	return 0;
}
