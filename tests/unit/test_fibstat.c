// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* fibstat's own modules (tools/fibstat/): --flow specs, flow matching,
 * prefixes, and which route and nexthop a flow left by. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "fibflows.h"
#include "fibroutes.h"

static void test_flowspec(void **state)
{
	struct flowspec f;
	char err[256];
	uint8_t a[16] = { 0 };
	(void)state;

	assert_int_equal(flowspec_parse("proto=udp,dst=10.99.0.1,sport=40001", &f, err, sizeof(err)), 0);
	assert_true(f.set);
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.family, AF_INET);
	assert_true(f.has_dst);
	assert_false(f.has_src);
	inet_pton(AF_INET, "10.99.0.1", a);
	assert_memory_equal(f.dst, a, 16);
	assert_int_equal(f.sport, 40001);
	assert_int_equal(f.dport, -1);

	/* each key once: two destinations are a contradiction (exit 2 in the tool) */
	assert_int_equal(flowspec_parse("dst=10.0.0.1,dst=10.0.0.2", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dst= is given twice"));
	assert_int_equal(flowspec_parse("color=red", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at 'color'"));
	assert_int_equal(flowspec_parse("sport=99999", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at '99999'"));
	/* one family per spec */
	assert_int_equal(flowspec_parse("src=10.0.0.1,dst=2001:db8::1", &f, err, sizeof(err)), -1);
	assert_int_equal(flowspec_parse("", &f, err, sizeof(err)), -1);
	assert_int_equal(proto_number("TCP"), 6);
	assert_int_equal(proto_number("300"), -1);
}

static struct fs_flow_key key4(const char *src, const char *dst, int proto, int sport, int dport, int ifindex)
{
	struct fs_flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = FS_AF_INET;
	k.proto = (uint8_t)proto;
	inet_pton(AF_INET, src, k.src);
	inet_pton(AF_INET, dst, k.dst);
	k.sport = (uint16_t)sport;
	k.dport = (uint16_t)dport;
	k.ifindex = (uint32_t)ifindex;
	return k;
}

static void test_flow_matches(void **state)
{
	struct flowspec f;
	char err[256];
	struct fs_flow_key k = key4("10.1.0.2", "10.99.0.1", 17, 40001, 5001, 3);
	(void)state;

	assert_true(flow_matches(&k, 0, NULL));
	assert_true(flow_matches(&k, AF_INET, NULL));
	assert_false(flow_matches(&k, AF_INET6, NULL));
	assert_int_equal(flowspec_parse("proto=udp,dst=10.99.0.1,sport=40001", &f, err, sizeof(err)), 0);
	assert_true(flow_matches(&k, 0, &f));
	assert_int_equal(flowspec_parse("proto=tcp", &f, err, sizeof(err)), 0);
	assert_false(flow_matches(&k, 0, &f));
	assert_int_equal(flowspec_parse("dport=5002", &f, err, sizeof(err)), 0);
	assert_false(flow_matches(&k, 0, &f));
	assert_int_equal(flowspec_parse("src=2001:db8::2", &f, err, sizeof(err)), 0);
	assert_false(flow_matches(&k, 0, &f));
}

static void test_mask_prefix(void **state)
{
	uint8_t a[16] = { 0 }, want[16] = { 0 };
	(void)state;
	assert_int_equal(fib_parse_addr("10.99.7.200", a), AF_INET);
	fib_mask_prefix(a, 20, 4);
	inet_pton(AF_INET, "10.99.0.0", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(fib_parse_addr("2001:db8:99::1", a), AF_INET6);
	fib_mask_prefix(a, 48, 16);
	memset(want, 0, 16);
	inet_pton(AF_INET6, "2001:db8:99::", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(fib_parse_addr("nonsense", a), 0);
}

/* Two routes: 10.99.0.0/16 with one nexthop on if 2, 10.99.0.0/24 with two
 * nexthops on if 3 (told apart by MAC) and one on if 4. */
static void test_flow_route(void **state)
{
	static struct nhop nh16[1], nh24[3];
	static struct route rt[2];
	(void)state;

	memset(rt, 0, sizeof(rt));
	rt[0].family = rt[1].family = AF_INET;
	fib_parse_addr("10.99.0.0", rt[0].prefix);
	rt[0].plen = 16;
	rt[0].nnh = 1;
	rt[0].nh = nh16;
	nh16[0] = (struct nhop){ .gw_family = AF_INET, .ifindex = 2 };
	fib_parse_addr("10.99.0.0", rt[1].prefix);
	rt[1].plen = 24;
	rt[1].nnh = 3;
	rt[1].nh = nh24;
	nh24[0] = (struct nhop){ .gw_family = AF_INET, .ifindex = 3, .has_mac = true, .mac = { 2, 0, 0, 0, 0, 1 } };
	nh24[1] = (struct nhop){ .gw_family = AF_INET, .ifindex = 3, .has_mac = true, .mac = { 2, 0, 0, 0, 0, 2 } };
	nh24[2] = (struct nhop){ .gw_family = AF_INET, .ifindex = 4 };
	routes = rt;
	nroutes = 2;

	int nh = -1;
	struct fs_flow_key k = key4("10.1.0.2", "10.99.0.1", 17, 1, 2, 3);
	memcpy(k.mac, (uint8_t[]){ 2, 0, 0, 0, 0, 2 }, 6);
	assert_ptr_equal(flow_route(&k, &nh), &rt[1]); /* the longest prefix, the MAC's nexthop */
	assert_int_equal(nh, 1);
	k.ifindex = 4; /* the only nexthop on its device: no MAC needed */
	assert_ptr_equal(flow_route(&k, &nh), &rt[1]);
	assert_int_equal(nh, 2);
	k.ifindex = 2; /* only the /16 has a nexthop there */
	assert_ptr_equal(flow_route(&k, &nh), &rt[0]);
	assert_int_equal(nh, 0);
	k.ifindex = 3; /* an unknown MAC among two nexthops on the device: no answer from the /24 */
	memcpy(k.mac, (uint8_t[]){ 2, 0, 0, 0, 0, 9 }, 6);
	assert_null(flow_route(&k, &nh));
	k = key4("10.1.0.2", "10.98.0.1", 17, 1, 2, 2); /* outside both */
	assert_null(flow_route(&k, &nh));
	routes = NULL;
	nroutes = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowspec),
		cmocka_unit_test(test_flow_matches),
		cmocka_unit_test(test_mask_prefix),
		cmocka_unit_test(test_flow_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
