// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Chronograph arithmetic shared by tcpchrono's BPF side and front end
 * (bpf/tcpchrono.h), against the kernel's tcp_get_info_chrono_stats(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <linux/types.h>

#include "tcpchrono.h"

/* The kernel's definition, restated: stats[i] = chrono_stat[i-1] (+ the
 * running one), times USEC_PER_SEC / HZ, busy = the sum. */
static void reference(const __u32 stat[3], __u32 type, __u32 start, __u32 now, __u32 hz,
		      __u64 out[3])
{
	__u64 st[4] = { 0 }, total = 0;
	for (int i = 1; i < 4; i++) {
		st[i] = stat[i - 1];
		if ((__u32)i == type)
			st[i] += (__u32)(now - start);
		st[i] *= 1000000 / hz;
		total += st[i];
	}
	out[0] = total;
	out[1] = st[2];
	out[2] = st[3];
}

static void check(const __u32 stat[3], __u32 type, __u32 start, __u32 now, __u32 hz)
{
	__u64 want[3], busy, rwnd, sndbuf;
	reference(stat, type, start, now, hz, want);
	tc_chrono_usecs(stat, type, start, now, hz, &busy, &rwnd, &sndbuf);
	assert_int_equal(busy, want[0]);
	assert_int_equal(rwnd, want[1]);
	assert_int_equal(sndbuf, want[2]);
}

static void test_idle_sums_all_three(void **state)
{
	(void)state;
	const __u32 stat[3] = { 10, 20, 30 };
	__u64 busy, rwnd, sndbuf;
	tc_chrono_usecs(stat, 0, 0, 12345, 250, &busy, &rwnd, &sndbuf);
	assert_int_equal(busy, 60 * 4000);  /* busy time counts every chronograph */
	assert_int_equal(rwnd, 20 * 4000);
	assert_int_equal(sndbuf, 30 * 4000);
}

static void test_running_chrono_goes_to_its_bucket(void **state)
{
	(void)state;
	const __u32 stat[3] = { 1, 2, 3 };
	__u64 busy, rwnd, sndbuf;
	for (__u32 type = 1; type <= 3; type++) {
		tc_chrono_usecs(stat, type, 1000, 1100, 1000, &busy, &rwnd, &sndbuf);
		assert_int_equal(busy, (6 + 100) * 1000);
		assert_int_equal(rwnd, (2 + (type == 2 ? 100 : 0)) * 1000);
		assert_int_equal(sndbuf, (3 + (type == 3 ? 100 : 0)) * 1000);
	}
}

static void test_jiffies_wrap(void **state)
{
	(void)state;
	const __u32 stat[3] = { 0, 0, 0 };
	__u64 busy, rwnd, sndbuf;
	/* chrono started 16 jiffies before tcp_jiffies32 wrapped */
	tc_chrono_usecs(stat, 2, 0xfffffff0u, 0x10, 100, &busy, &rwnd, &sndbuf);
	assert_int_equal(rwnd, 0x20 * 10000);
	assert_int_equal(busy, rwnd);
	assert_int_equal(sndbuf, 0);
}

static void test_hz_scaling_matches_kernel(void **state)
{
	(void)state;
	static const __u32 hzs[] = { 100, 250, 300, 1000, 1024 };
	const __u32 stat[3] = { 7, 0xffffffffu, 12345 };
	for (unsigned i = 0; i < sizeof(hzs) / sizeof(hzs[0]); i++)
		for (__u32 type = 0; type <= 3; type++)
			check(stat, type, 500, 777, hzs[i]);
}

static void test_unknown_type_adds_nothing(void **state)
{
	(void)state;
	const __u32 stat[3] = { 5, 5, 5 };
	check(stat, 0, 1, 99, 250);
}

static void test_limits(void **state)
{
	(void)state;
	/* --min-busy */
	assert_true(tc_pass_limits(1000, 0, 0, 1000, 0));
	assert_false(tc_pass_limits(999, 0, 0, 1000, 0));
	/* --limited 50 (5000 basis points): (rwnd + sndbuf) / busy >= 50% */
	assert_true(tc_pass_limits(1000, 300, 200, 0, 5000));
	assert_false(tc_pass_limits(1000, 300, 199, 0, 5000));
	/* a connection never busy is never "limited" */
	assert_false(tc_pass_limits(0, 0, 0, 0, 1));
	assert_true(tc_pass_limits(0, 0, 0, 0, 0));
	/* fractional percentages: 12.34% */
	assert_true(tc_pass_limits(10000, 1234, 0, 0, 1234));
	assert_false(tc_pass_limits(10000, 1233, 0, 0, 1234));
	/* months of busy time do not overflow */
	assert_true(tc_pass_limits(10ull * 1000000 * 86400 * 120, 10ull * 1000000 * 86400 * 120, 0, 0, 10000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_sums_all_three),
		cmocka_unit_test(test_running_chrono_goes_to_its_bucket),
		cmocka_unit_test(test_jiffies_wrap),
		cmocka_unit_test(test_hz_scaling_matches_kernel),
		cmocka_unit_test(test_unknown_type_adds_nothing),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
