// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for common/tcdisc's pure pieces (route and table names, the LWT
 * name match) and the request builders of common/rtnl it uses. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <linux/lwtunnel.h>

#include "rtnl.h"
#include "tcdisc.h"

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(tc_kind_name(TCK_CLS_BPF), "cls_bpf");
	assert_string_equal(tc_kind_name(TCK_TCX), "tcx");
	assert_string_equal(tc_kind_name(TCK_NETKIT), "netkit");
	assert_string_equal(tc_kind_name(TCK_LWT), "lwt");
	const char *dirs[] = { "ingress", "egress", "primary", "peer", "in", "out", "xmit" };
	for (int d = TCD_INGRESS; d <= TCD_LWT_XMIT; d++)
		assert_string_equal(tc_dir_name((enum tc_dir)d), dirs[d]);
	char b[16];
	tcdisc_table_name(254, b, sizeof(b));
	assert_string_equal(b, "main");
	tcdisc_table_name(255, b, sizeof(b));
	assert_string_equal(b, "local");
	tcdisc_table_name(253, b, sizeof(b));
	assert_string_equal(b, "default");
	tcdisc_table_name(1000, b, sizeof(b));
	assert_string_equal(b, "1000");
}

static void test_route_str(void **state)
{
	(void)state;
	char b[160];
	uint8_t v4[4] = { 10, 9, 0, 0 }, host[4] = { 10, 9, 0, 7 };
	struct in6_addr v6;
	inet_pton(AF_INET6, "2001:db8:5::", &v6);
	tcdisc_route_str(AF_INET, v4, 24, 254, b, sizeof(b));
	assert_string_equal(b, "10.9.0.0/24 table main");
	tcdisc_route_str(AF_INET, host, 32, 100, b, sizeof(b));
	assert_string_equal(b, "10.9.0.7 table 100");
	tcdisc_route_str(AF_INET, NULL, 0, 254, b, sizeof(b));
	assert_string_equal(b, "default table main");
	tcdisc_route_str(AF_INET6, &v6, 64, 254, b, sizeof(b));
	assert_string_equal(b, "2001:db8:5::/64 table main");
	tcdisc_route_str(AF_INET6, &v6, 128, 255, b, sizeof(b));
	assert_string_equal(b, "2001:db8:5:: table local");
	tcdisc_route_str(AF_INET6, NULL, 0, 7, b, sizeof(b));
	assert_string_equal(b, "default table 7");
}

static const struct tcdisc_prog progs[] = {
	{ 10, BPF_PROG_TYPE_LWT_XMIT, "tcd_lwt_root" },
	{ 11, BPF_PROG_TYPE_LWT_XMIT, "tcd_lwt_stage" },
	{ 12, BPF_PROG_TYPE_LWT_IN, "tcd_lwt_root" },
	{ 13, BPF_PROG_TYPE_LWT_XMIT, "tcd_lwt_amb_sec" },
	{ 14, BPF_PROG_TYPE_SCHED_CLS, "tcd_lwt_out" },
	{ 15, BPF_PROG_TYPE_LWT_OUT, "tcd_lwt_out" },
	{ 16, BPF_PROG_TYPE_LWT_XMIT, "a_very_long_pr" },
	{ 17, BPF_PROG_TYPE_LWT_XMIT, "a_very_long_pro" },
};
#define NPROGS ((int)(sizeof(progs) / sizeof(progs[0])))

static void test_lwt_match(void **state)
{
	(void)state;
	uint32_t id = 99;
	/* the name itself, of the direction's type only */
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "tcd_lwt_root", &id), 1);
	assert_int_equal(id, 10);
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_IN, "tcd_lwt_root", &id), 1);
	assert_int_equal(id, 12);
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_OUT, "tcd_lwt_out", &id), 1);
	assert_int_equal(id, 15);
	/* longer than the kernel keeps: its first 15 characters */
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "a_very_long_program_name", &id), 1);
	assert_int_equal(id, 17);
	/* iproute2's FILE:[SECTION]: the section, truncated the same way */
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "tcdisc_lwt.bpf.o:[tcd_lwt_amb_section]", &id),
			 1);
	assert_int_equal(id, 13);
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "x.o:[tcd_lwt_stage]", &id), 1);
	assert_int_equal(id, 11);
	/* neither: every program of the type, ambiguous when more than one */
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "x.o:[lwt_xmit]", &id), 5);
	assert_int_equal(id, 0);
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_OUT, "x.o:[lwt_out]", &id), 1);
	assert_int_equal(id, 15);
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "", &id), 5);
	assert_int_equal(id, 0);
	/* not a FILE:[SECTION] form: "]" must end it */
	assert_int_equal(tcdisc_lwt_match(progs, NPROGS, TCD_LWT_XMIT, "x.o:[tcd_lwt_stage]x", &id), 5);
	/* none loaded of that type */
	id = 99;
	assert_int_equal(tcdisc_lwt_match(progs, 3, TCD_LWT_OUT, "tcd_lwt_out", &id), 0);
	assert_int_equal(id, 0);
	/* two of the same name: ambiguous */
	const struct tcdisc_prog two[] = {
		{ 20, BPF_PROG_TYPE_LWT_XMIT, "tcd_lwt_amb_sec" },
		{ 21, BPF_PROG_TYPE_LWT_XMIT, "tcd_lwt_amb_sec" },
		{ 22, BPF_PROG_TYPE_LWT_XMIT, "other" },
	};
	assert_int_equal(tcdisc_lwt_match(two, 3, TCD_LWT_XMIT, "f.o:[tcd_lwt_amb_section]", &id), 2);
	assert_int_equal(id, 0);
}

/* A request built with rtnl_add_attr / rtnl_nest_* parses back with
 * rtnl_msg_attrs / rtnl_attrs, nests covering exactly what they hold. */
static void test_build(void **state)
{
	(void)state;
	struct {
		struct nlmsghdr nh;
		struct rtmsg r;
		char attrs[128];
	} req;
	memset(&req, 0xaa, sizeof(req));
	memset(&req.nh, 0, sizeof(req.nh) + sizeof(req.r));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	uint16_t encap = LWTUNNEL_ENCAP_BPF;
	uint32_t fd = 7;
	const char name[] = "abc"; /* 4 bytes with its NUL: padded to 8 */
	assert_non_null(rtnl_add_attr(&req.nh, sizeof(req), RTA_ENCAP_TYPE, &encap, sizeof(encap)));
	struct rtattr *e = rtnl_nest_begin(&req.nh, sizeof(req), RTA_ENCAP);
	struct rtattr *x = rtnl_nest_begin(&req.nh, sizeof(req), LWT_BPF_XMIT);
	assert_non_null(rtnl_add_attr(&req.nh, sizeof(req), LWT_BPF_PROG_FD, &fd, sizeof(fd)));
	assert_non_null(rtnl_add_attr(&req.nh, sizeof(req), LWT_BPF_PROG_NAME, name, sizeof(name)));
	rtnl_nest_end(&req.nh, x);
	rtnl_nest_end(&req.nh, e);
	assert_int_equal(req.nh.nlmsg_len, NLMSG_LENGTH(sizeof(struct rtmsg)) + 8 + 4 + 4 + 8 + 8);
	/* the padding after the 2-byte type is zero, not what the buffer held */
	struct rtattr *first = (struct rtattr *)((char *)&req.nh + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct rtmsg))));
	const uint8_t *pad = (const uint8_t *)RTA_DATA(first) + sizeof(encap);
	assert_int_equal(pad[0], 0);
	assert_int_equal(pad[1], 0);

	struct rtattr *tb[RTA_MAX + 1], *lb[LWT_BPF_MAX + 1], *pb[LWT_BPF_PROG_MAX + 1];
	rtnl_msg_attrs(tb, RTA_MAX, &req.nh, sizeof(struct rtmsg));
	assert_non_null(tb[RTA_ENCAP_TYPE]);
	assert_int_equal(*(uint16_t *)RTA_DATA(tb[RTA_ENCAP_TYPE]), LWTUNNEL_ENCAP_BPF);
	assert_non_null(tb[RTA_ENCAP]);
	assert_true(e->rta_type & NLA_F_NESTED);
	rtnl_attrs(lb, LWT_BPF_MAX, RTA_DATA(tb[RTA_ENCAP]), (int)RTA_PAYLOAD(tb[RTA_ENCAP]));
	assert_non_null(lb[LWT_BPF_XMIT]);
	assert_null(lb[LWT_BPF_IN]);
	rtnl_attrs(pb, LWT_BPF_PROG_MAX, RTA_DATA(lb[LWT_BPF_XMIT]), (int)RTA_PAYLOAD(lb[LWT_BPF_XMIT]));
	assert_int_equal(*(uint32_t *)RTA_DATA(pb[LWT_BPF_PROG_FD]), 7);
	assert_string_equal((char *)RTA_DATA(pb[LWT_BPF_PROG_NAME]), "abc");

	/* no room: nothing appended */
	uint32_t before = req.nh.nlmsg_len;
	char big[200] = { 0 };
	assert_null(rtnl_add_attr(&req.nh, sizeof(req), RTA_DST, big, sizeof(big)));
	assert_int_equal(req.nh.nlmsg_len, before);
}

/* The real kernel: collect and the mirred dump run in this namespace,
 * and every program found has a kind and direction that belong together. */
static void test_collect_runs(void **state)
{
	(void)state;
	struct tcprog *v = NULL;
	int n = tcdisc_collect(&v);
	if (n < 0)
		skip(); /* not allowed here: the integration tests cover it as root */
	for (int i = 0; i < n; i++) {
		switch (v[i].kind) {
		case TCK_CLS_BPF:
		case TCK_TCX:
			assert_true(v[i].dir == TCD_INGRESS || v[i].dir == TCD_EGRESS);
			break;
		case TCK_NETKIT:
			assert_true(v[i].dir == TCD_PRIMARY || v[i].dir == TCD_PEER);
			break;
		case TCK_LWT:
			assert_true(v[i].dir >= TCD_LWT_IN && v[i].dir <= TCD_LWT_XMIT);
			assert_true(v[i].route[0] != '\0');
			break;
		}
	}
	free(v);
	struct tcmirred *m = NULL;
	n = tcdisc_mirred(&m);
	assert_true(n >= 0 || n == -EPERM);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_route_str),
		cmocka_unit_test(test_lwt_match),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_collect_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
