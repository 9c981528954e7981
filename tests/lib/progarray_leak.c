// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * progarray_leak: the smallest sequence of bpf(2) calls that leaks a prog
 * array in the kernel (seen on 6.1 and 6.18), kept as evidence for the rule
 * in common/maplist.h: never open a prog array by id.
 *
 *   1. BPF_MAP_CREATE a prog array; BPF_PROG_LOAD a program that tail-calls
 *      through it (the program now holds a map reference).
 *   2. close(map fd): user references 1 -> 0.  The kernel takes a map
 *      reference and queues a work item that empties the slots and drops it.
 *   3. BPF_MAP_GET_FD_BY_ID + close, before that work has run (what any
 *      observability tool does when it lists maps): user references 0 -> 1
 *      -> 0 again.  The kernel takes another reference and queues the same
 *      work item, which is still pending, so it is queued once only.
 *   4. close(prog fd): the program goes; one map reference is never dropped.
 *
 * The map then stays, empty, held by nothing, until reboot.  With --wait,
 * step 3 waits 100 ms (the work has run by then) and nothing leaks.
 *
 * Steps 2-3 race with the system workqueue.  To make the race certain, the
 * process runs on one CPU under SCHED_FIFO: the work is queued on that CPU's
 * pool, and its normal-priority worker cannot run there until we sleep.  (A
 * tool racing with an exiting program hits it by chance; tailcalls -i did in
 * about half of its back-to-back runs on 6.18.)
 *
 *   progarray_leak [--wait] [ROUNDS]   prints "leaked N of M" and the ids;
 *   exit 0 when nothing leaked, 1 when something did, 2 on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

static int load_caller(int map)
{
	struct bpf_insn insns[] = {
		/* r2 = map; r3 = 0; tail_call(r1, r2, r3); return XDP_PASS */
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = 2, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	return bpf_prog_load(BPF_PROG_TYPE_XDP, "pa_leak_caller", "GPL", insns, sizeof(insns) / sizeof(insns[0]),
			     NULL);
}

int main(int argc, char **argv)
{
	int rounds = 1, leaked = 0, wait = 0;
	uint32_t ids[64];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wait"))
			wait = 1;
		else
			rounds = atoi(argv[i]);
	}
	if (rounds < 1 || rounds > 64) {
		fprintf(stderr, "progarray_leak: ROUNDS must be 1..64\n");
		return 2;
	}
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	struct sched_param sp = { .sched_priority = 1 };
	if (sched_setaffinity(0, sizeof(one), &one) || sched_setscheduler(0, SCHED_FIFO, &sp))
		fprintf(stderr, "progarray_leak: cannot pin to one CPU under SCHED_FIFO (%s): the race may be missed\n",
			strerror(errno));
	for (int r = 0; r < rounds; r++) {
		int map = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "pa_leak", 4, 4, 1, NULL);
		if (map < 0) {
			fprintf(stderr, "progarray_leak: map create: %s\n", strerror(errno));
			return 2;
		}
		int prog = load_caller(map);
		if (prog < 0) {
			fprintf(stderr, "progarray_leak: prog load: %s\n", strerror(errno));
			return 2;
		}
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(map, &info, &len)) {
			fprintf(stderr, "progarray_leak: map info: %s\n", strerror(errno));
			return 2;
		}
		close(map);                                /* step 2 */
		if (wait)
			usleep(100000);
		int again = bpf_map_get_fd_by_id(info.id); /* step 3 */
		if (again >= 0)
			close(again);
		close(prog);                               /* step 4 */
		ids[r] = info.id;
	}
	/* freeing a program and then its maps is deferred (RCU, work items) */
	usleep(500000);
	printf("leaked");
	for (int r = 0; r < rounds; r++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		/* reopening a leaked map cannot make it worse: its clear work has run */
		int fd = bpf_map_get_fd_by_id(ids[r]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, "pa_leak")) {
			printf(" %u", ids[r]);
			leaked++;
		}
		close(fd);
	}
	printf("\nleaked %d of %d\n", leaked, rounds);
	return leaked ? 1 : 0;
}
