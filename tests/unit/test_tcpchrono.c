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

static void test_sweep_idle(void **state)
{
	(void)state;
	struct tc_sweeper s;
	tc_sweeper_init(&s, 100.0, 7);
	for (double t = 100.0; t < 200.0; t += 0.1)
		assert_false(tc_sweep_due(&s, t, 7, 7));
	tc_sweeper_init(&s, 100.0, 0);
	for (double t = 100.0; t < 200.0; t += 0.1)
		assert_false(tc_sweep_due(&s, t, 0, 0));
}

/* Short connections that get their owner at once: no sweep. */
static void test_sweep_churn_settled(void **state)
{
	(void)state;
	struct tc_sweeper s;
	__u64 opened = 0;
	tc_sweeper_init(&s, 0, 0);
	for (int i = 1; i <= 1000; i++) {
		double t = i * 0.1;
		opened += 50;
		/* all but the 5 opened in the last few ms are settled */
		assert_false(tc_sweep_due(&s, t, opened, opened - 5));
	}
}

/* One connection without an owner: a sweep once it is old enough. */
static void test_sweep_when_aged(void **state)
{
	(void)state;
	struct tc_sweeper s;
	tc_sweeper_init(&s, 10.0, 0);
	/* opened just after start: not aged at the first mark */
	assert_false(tc_sweep_due(&s, 10.05, 1, 0));
	assert_false(tc_sweep_due(&s, 10.12, 1, 0));   /* mark: aged = 0 (before it) */
	assert_true(tc_sweep_due(&s, 10.24, 1, 0));    /* mark: aged = 1, gap passed */
	tc_sweep_done(&s, 10.24, 10.241, 1);           /* found it: 1 ms sweep */
	assert_true(s.gap >= TC_SWEEP_MIN_GAP && s.gap <= 0.1001);
	assert_false(tc_sweep_due(&s, 10.36, 1, 1));   /* settled */
	/* another one, opened since: not aged yet */
	assert_false(tc_sweep_due(&s, 10.48, 2, 1));
}

/* The gap: 100 x the sweep's cost, doubling while sweeps find nobody, capped. */
static void test_sweep_backoff(void **state)
{
	(void)state;
	struct tc_sweeper s;
	double t = 0;
	tc_sweeper_init(&s, 0, 0);
	/* a stuck count (an entry evicted while pending): sweeps find nobody */
	int sweeps = 0;
	double last = 0, max_gap = 0;
	for (int i = 1; i <= 20000; i++) {
		t = i * 0.1;
		if (tc_sweep_due(&s, t, 1, 0)) {
			if (sweeps && t - last > max_gap)
				max_gap = t - last;
			tc_sweep_done(&s, t, t + 0.002, 0);
			last = t + 0.002;
			sweeps++;
		}
	}
	assert_true(max_gap <= TC_SWEEP_MAX_GAP + 0.2);
	assert_true(max_gap >= TC_SWEEP_MAX_GAP);
	/* ~2000 s: about 200 sweeps at the cap, not 20000 */
	assert_true(sweeps < 2000 / TC_SWEEP_MAX_GAP + 20);
	/* a slow sweep (50 ms) spaces the next by 5 s even when it found someone */
	tc_sweep_done(&s, t, t + 0.05, 1);
	assert_true(s.gap >= 5.0 - 1e-9 && s.gap <= 5.0 + 1e-9);
	/* a sweep that finds someone resets the backoff */
	tc_sweep_done(&s, t, t + 0.001, 1);
	assert_true(s.gap <= TC_SWEEP_MIN_GAP + 1e-9);
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
		cmocka_unit_test(test_sweep_idle),
		cmocka_unit_test(test_sweep_churn_settled),
		cmocka_unit_test(test_sweep_when_aged),
		cmocka_unit_test(test_sweep_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
