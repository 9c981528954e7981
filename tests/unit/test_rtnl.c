// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for common/rtnl: attribute indexing on hand-built messages,
 * and a real link dump checked against if_nameindex(3). */
#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "rtnl.h"

/* Append attribute (type, payload) at *off in buf. */
static void put_attr(char *buf, size_t *off, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(buf + *off);
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	*off += RTA_SPACE(len);
}

static void test_attrs_index(void **state)
{
	(void)state;
	char buf[256] __attribute__((aligned(4))) = { 0 };
	size_t off = 0;
	uint32_t table = 100, oif = 7;
	uint8_t dst[4] = { 10, 99, 0, 0 };
	put_attr(buf, &off, RTA_DST, dst, 4);
	put_attr(buf, &off, RTA_TABLE, &table, 4);
	put_attr(buf, &off, 200, &oif, 4); /* beyond max: skipped */
	put_attr(buf, &off, RTA_OIF, &oif, 4);
	struct rtattr *tb[RTA_MAX + 1];
	rtnl_attrs(tb, RTA_MAX, (struct rtattr *)buf, (int)off);
	assert_non_null(tb[RTA_DST]);
	assert_int_equal(RTA_PAYLOAD(tb[RTA_DST]), 4);
	assert_memory_equal(RTA_DATA(tb[RTA_DST]), dst, 4);
	assert_int_equal(*(uint32_t *)RTA_DATA(tb[RTA_TABLE]), 100);
	assert_int_equal(*(uint32_t *)RTA_DATA(tb[RTA_OIF]), 7);
	assert_null(tb[RTA_GATEWAY]);

	/* a truncated last attribute is not indexed */
	struct rtattr *bad = (struct rtattr *)(buf + off);
	bad->rta_type = RTA_GATEWAY;
	bad->rta_len = 64;
	rtnl_attrs(tb, RTA_MAX, (struct rtattr *)buf, (int)off + 8);
	assert_null(tb[RTA_GATEWAY]);
	assert_non_null(tb[RTA_OIF]);
}

static void test_msg_attrs(void **state)
{
	(void)state;
	char buf[512] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtmsg *rt = NLMSG_DATA(nh);
	rt->rtm_family = 2;
	rt->rtm_dst_len = 24;
	size_t off = NLMSG_LENGTH(sizeof(*rt));
	off = NLMSG_ALIGN(off);
	/* RTA_MULTIPATH with two nexthops, each with a gateway */
	char mp[128] = { 0 };
	size_t mo = 0;
	for (int i = 0; i < 2; i++) {
		struct rtnexthop *n = (struct rtnexthop *)(mp + mo);
		uint8_t gw[4] = { 10, 0, (uint8_t)(i + 1), 2 };
		n->rtnh_ifindex = 10 + i;
		n->rtnh_hops = (unsigned char)i; /* weight - 1 */
		size_t ao = 0;
		put_attr((char *)RTNH_DATA(n), &ao, RTA_GATEWAY, gw, 4);
		n->rtnh_len = (unsigned short)RTNH_LENGTH(ao);
		mo += RTNH_ALIGN(n->rtnh_len);
	}
	put_attr(buf, &off, RTA_MULTIPATH, mp, mo);
	nh->nlmsg_len = (uint32_t)off;
	nh->nlmsg_type = RTM_NEWROUTE;

	struct rtattr *tb[RTA_MAX + 1];
	rtnl_msg_attrs(tb, RTA_MAX, nh, sizeof(*rt));
	assert_non_null(tb[RTA_MULTIPATH]);
	const struct rtnexthop *n = RTA_DATA(tb[RTA_MULTIPATH]);
	int len = RTA_PAYLOAD(tb[RTA_MULTIPATH]), seen = 0;
	while (len >= (int)sizeof(*n) && n->rtnh_len >= sizeof(*n) && n->rtnh_len <= len) {
		struct rtattr *ntb[RTA_MAX + 1];
		rtnl_attrs(ntb, RTA_MAX, RTNH_DATA(n), n->rtnh_len - RTNH_LENGTH(0));
		assert_non_null(ntb[RTA_GATEWAY]);
		assert_int_equal(((uint8_t *)RTA_DATA(ntb[RTA_GATEWAY]))[2], seen + 1);
		assert_int_equal(n->rtnh_ifindex, 10 + seen);
		assert_int_equal(n->rtnh_hops + 1, seen + 1);
		seen++;
		len -= RTNH_ALIGN(n->rtnh_len);
		n = RTNH_NEXT(n);
	}
	assert_int_equal(seen, 2);
}

struct links {
	int n;
	int lo_index;
};

static int on_link(const struct nlmsghdr *nh, void *ctx)
{
	struct links *l = ctx;
	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *tb[IFLA_MAX + 1];
	rtnl_msg_attrs(tb, IFLA_MAX, nh, sizeof(*ifi));
	l->n++;
	if (tb[IFLA_IFNAME] && !strcmp(RTA_DATA(tb[IFLA_IFNAME]), "lo"))
		l->lo_index = ifi->ifi_index;
	return 0;
}

static int stop_at_first(const struct nlmsghdr *nh, void *ctx)
{
	(void)nh;
	(*(int *)ctx)++;
	return 42;
}

/* A real dump: as many links as if_nameindex(3) lists, lo with its index;
 * a callback that stops early leaves the socket usable. */
static void test_link_dump(void **state)
{
	(void)state;
	int fd = rtnl_open();
	assert_true(fd >= 0);
	struct links l = { 0, 0 };
	assert_int_equal(rtnl_dump(fd, RTM_GETLINK, AF_UNSPEC, on_link, &l), 0);
	struct if_nameindex *ni = if_nameindex(), *p;
	int n = 0;
	for (p = ni; p && p->if_index; p++)
		n++;
	if_freenameindex(ni);
	assert_int_equal(l.n, n);
	assert_int_equal(l.lo_index, (int)if_nametoindex("lo"));

	int calls = 0;
	assert_int_equal(rtnl_dump(fd, RTM_GETLINK, AF_UNSPEC, stop_at_first, &calls), 42);
	assert_int_equal(calls, 1);
	struct links again = { 0, 0 };
	assert_int_equal(rtnl_dump(fd, RTM_GETLINK, AF_UNSPEC, on_link, &again), 0);
	assert_int_equal(again.n, n);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attrs_index),
		cmocka_unit_test(test_msg_attrs),
		cmocka_unit_test(test_link_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
