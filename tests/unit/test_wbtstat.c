// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* wbtstat's pure helpers (bpf/wbtstat.h) and the output feature it added:
 * snap_append (devices, then processes, in one snapshot). */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>

#include "hist.h"
#include "output.h"
#include "util.h"
#include "wbtstat.h"

static void test_names(void **state)
{
	(void)state;
	/* the kernel's LAT_* values (block/blk-wbt.c) */
	assert_string_equal(wbt_verdict_name(1), "latency ok");
	assert_string_equal(wbt_verdict_name(2), "too few samples");
	assert_string_equal(wbt_verdict_name(3), "writes only");
	assert_string_equal(wbt_verdict_name(4), "latency exceeded");
	assert_string_equal(wbt_verdict_name(0), "other");
	assert_string_equal(wbt_verdict_name(77), "other");
	/* WBT_STATE_* */
	assert_string_equal(wbt_enable_state_name(1), "on-default");
	assert_string_equal(wbt_enable_state_name(2), "on-manual");
	assert_string_equal(wbt_enable_state_name(3), "off-default");
	assert_string_equal(wbt_enable_state_name(4), "off-manual");
	assert_null(wbt_enable_state_name(0));
	assert_null(wbt_enable_state_name(5));
}

static void test_hist(void **state)
{
	(void)state;
	assert_int_equal(hist_log2_slot(0), 0);
	assert_int_equal(hist_log2_slot(1), 1);
	assert_int_equal(hist_log2_slot(2), 2);
	assert_int_equal(hist_log2_slot(3), 2);
	assert_int_equal(hist_log2_slot(4), 3);
	assert_int_equal(hist_log2_slot(UINT64_MAX), 64);
	for (unsigned s = 1; s < 64; s++) {
		assert_int_equal(hist_log2_slot(hist_slot_low(s)), s);
		assert_int_equal(hist_log2_slot(hist_slot_high(s)), s);
	}
	uint64_t slots[8] = { 0, 10, 0, 80, 10 };
	assert_int_equal(hist_quantile(slots, 8, 0.05), 1);
	assert_int_equal(hist_quantile(slots, 8, 0.5), 7);
	assert_int_equal(hist_quantile(slots, 8, 0.99), 15);
}

static void test_inflight(void **state)
{
	(void)state;
	assert_int_equal(wbt_inflight_sum("0: inflight 3\n1: inflight 0\n2: inflight 12\n"), 15);
	assert_int_equal(wbt_inflight_sum("0: inflight 0\n1: inflight 0\n2: inflight 0"), 0);
	assert_int_equal(wbt_inflight_sum(""), 0);
}

static void test_interval_mean(void **state)
{
	(void)state;
	double us = -1;
	/* windows of 10 samples mean 200 us, then 30 samples mean 100 us */
	unsigned long long sum0 = 10 * 200000ULL, n0 = 10;
	unsigned long long sum1 = sum0 + 30 * 100000ULL, n1 = n0 + 30;
	assert_true(wbt_interval_mean_us(sum1, n1, sum0, n0, &us));
	assert_true(us > 99.999 && us < 100.001);
	assert_true(wbt_interval_mean_us(sum1, n1, 0, 0, &us));
	assert_true(us > 124.999 && us < 125.001);
	us = -1;
	assert_false(wbt_interval_mean_us(sum1, n1, sum1, n1, &us)); /* no new samples */
	assert_false(wbt_interval_mean_us(sum0, n0, sum1, n1, &us)); /* map entry re-created */
	assert_true(us == -1);
}

/* The BPF side's log2 slots of pause lengths are tools/wbtstat/hist's. */
static void test_pause_slots(void **state)
{
	(void)state;
	assert_int_equal(hist_log2_slot(4000), 12); /* 1 jiffy at HZ=250 */
	assert_int_equal(hist_slot_low(12), 2048);
	assert_int_equal(hist_slot_high(12), 4095);
	assert_int_equal(hist_log2_slot(200000), 18); /* MAX_PAUSE at any HZ */
	assert_true(hist_log2_slot(60000000) < WBT_PAUSE_SLOTS); /* a minute: never clamped */
}

/* Every pause lands in a bucket whose le is at least its length, and the
 * bucket before would be too short: the histogram's bounds are exact. */
static void test_pause_le(void **state)
{
	(void)state;
	assert_true(wbt_pause_le(0) == 1e-6);
	assert_true(wbt_pause_le(12) == 4096e-6);
	assert_true(isinf(wbt_pause_le(WBT_PAUSE_SLOTS - 1)));
	for (unsigned s = 1; s < WBT_PAUSE_SLOTS; s++)
		assert_true(wbt_pause_le(s) > wbt_pause_le(s - 1));
	/* pauses of whole jiffies at HZ 100, 250, 300, 1000, up to 1000 jiffies */
	static const uint64_t jiffy_ns[] = { 10000000, 4000000, 3333333, 1000000 };
	for (size_t h = 0; h < sizeof(jiffy_ns) / sizeof(jiffy_ns[0]); h++)
		for (uint64_t j = 1; j <= 1000; j++) {
			uint64_t ns = j * jiffy_ns[h];
			unsigned s = hist_log2_slot(ns / 1000);
			if (s >= WBT_PAUSE_SLOTS)
				s = WBT_PAUSE_SLOTS - 1;
			assert_true(ns / 1e9 <= wbt_pause_le(s));
			assert_true(s == 0 || ns / 1e9 > wbt_pause_le(s - 1));
		}
}

/* ---- snap_append: devices, then processes, in one snapshot ---------- */

enum { MT_MECH, MT_UNTRACKED, MT_N };
static const struct field mf[MT_N] = {
	[MT_MECH] = { "mechanism", "", FK_LABEL, 0, "Hooks", 0, 0, 0 },
	[MT_UNTRACKED] = { "untracked", "", FK_COUNTER, 0, "Hits not counted", 0, 0, 0 },
};
static const struct schema ms = { "unit", "devices", mf, MT_N, NULL };

enum { A_DEV, A_VAL, A_N };
static const struct field af[A_N] = {
	[A_DEV] = F_DEVICE(FF_ALL),
	[A_VAL] = { "steps", "STEPS", FK_COUNTER, FF_ALL, "Steps", 0, 0, 0 },
};
static const struct schema as = { "unit", "devices", af, A_N, &ms };

enum { P_PID, P_PAUSED, P_HIST, P_N };
static const struct field pf[P_N] = {
	[P_PID] = F_PID(FF_ALL),
	[P_PAUSED] = { "paused_seconds", "PAUSED(ms)", FK_COUNTER, FF_ALL, "Paused", 0.001, 0, 0 },
	[P_HIST] = { "pause_seconds", "HIST", FK_HIST, FF_JSON | FF_PROM, "Pauses", 0, 0, 0 },
};
static const struct schema ps = { "unit", "processes", pf, P_N, NULL };

/* the bar chart: table only */
enum { B_PID, B_COUNT, B_N };
static const struct field bf[B_N] = {
	[B_PID] = F_PID(FF_TABLE),
	[B_COUNT] = { "pauses", "COUNT", FK_GAUGE, FF_TABLE, "Pauses", 0, 0, 0 },
};
static const struct schema bs = { "unit", "pause_hist", bf, B_N, NULL };
OUT_REGISTER(&as, &ps, &bs);

static struct snapshot *two_kinds(int nproc)
{
	struct snapshot *sn = snap_begin(&as), *p = snap_begin(&ps), *b = snap_begin(&bs);
	double le[WBT_PAUSE_SLOTS];
	uint64_t counts[WBT_PAUSE_SLOTS] = { 0 };
	for (unsigned s = 0; s < WBT_PAUSE_SLOTS; s++)
		le[s] = wbt_pause_le(s);
	counts[12] = 2; /* two pauses of one jiffy at HZ 250 */
	counts[WBT_PAUSE_SLOTS - 1] = 1;
	snap_meta(sn, "mechanism", "test");
	snap_meta_u64(sn, "untracked", 0);
	struct record *r = snap_add(sn);
	rec_str(r, A_DEV, "loop0");
	rec_u64(r, A_VAL, 3);
	for (int i = 0; i < nproc; i++) {
		r = snap_add(p);
		rec_u64(r, P_PID, 100 + i);
		rec_dbl(r, P_PAUSED, 0.25);
		rec_hist(r, P_HIST, le, counts, WBT_PAUSE_SLOTS, 0.25);
		r = snap_add(b);
		rec_u64(r, B_PID, 100 + i);
		rec_u64(r, B_COUNT, 2);
	}
	snap_append(sn, p);
	snap_append(sn, b);
	return sn;
}

static char *rbuf;
static size_t rlen;

static char *render_to_string(struct snapshot *sn)
{
	FILE *f = open_memstream(&rbuf, &rlen);
	render_snapshot(f, sn, 1700000000.5);
	fclose(f);
	return rbuf;
}

static void test_append_json(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_JSON };
	out_configure(&c);
	struct snapshot *sn = two_kinds(1);
	char *out = render_to_string(sn);
	assert_non_null(strstr(out, "{\"ts\":1700000000.500000,\"tool\":\"unit\",\"start_time_seconds\":"));
	/* meta as numbers, the records, the histogram as one object (cumulative
	 * counts, +Inf left to "count"); the table-only bar chart is not there */
	char *tail = strstr(out, ",\"mechanism\":\"test\",\"untracked\":0,"
				 "\"devices\":[{\"device\":\"loop0\",\"steps\":3}],"
				 "\"processes\":[{\"pid\":100,\"paused_seconds\":0.25,"
				 "\"pause_seconds\":{\"count\":3,\"sum\":0.25,\"buckets\":[{\"le\":1e-06,\"count\":0},");
	assert_non_null(tail);
	assert_non_null(strstr(tail, "{\"le\":0.002048,\"count\":0},{\"le\":0.004096,\"count\":2},"));
	assert_non_null(strstr(tail, "{\"le\":1073.741824,\"count\":2}]}}]}\n"));
	assert_null(strstr(out, "pause_hist"));
	free(out);
	snap_free(sn);
	sn = two_kinds(0); /* an empty kind is still an array */
	out = render_to_string(sn);
	assert_non_null(strstr(out, "\"processes\":[]}\n"));
	free(out);
	snap_free(sn);
}

static void test_append_table(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_TABLE, .timestamp = false };
	out_configure(&c);
	struct snapshot *sn = two_kinds(2);
	char *out = render_to_string(sn);
	assert_string_equal(out,
		"# mechanism: test\n"
		"# untracked: 0\n"
		"DEVICE  STEPS\n"
		"loop0       3\n"
		"\n"
		"PID  PAUSED(ms)\n"
		"100         250\n"
		"101         250\n"
		"\n"
		"PID  COUNT\n"
		"100      2\n"
		"101      2\n");
	free(out);
	snap_free(sn);
	sn = two_kinds(0); /* empty kinds are left out of the table (static facts print once) */
	out = render_to_string(sn);
	assert_string_equal(out, "# untracked: 0\nDEVICE  STEPS\nloop0       3\n");
	free(out);
	snap_free(sn);
}

static void test_append_prom(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = two_kinds(1);
	char *out = render_to_string(sn);
	/* one info line and one timestamp for the whole snapshot */
	char *first = strstr(out, "bpfscope_unit_info{");
	assert_non_null(first);
	assert_null(strstr(first + 1, "bpfscope_unit_info{"));
	assert_non_null(strstr(out, "bpfscope_unit_info{version=\"" BPFSCOPE_VERSION "\",mechanism=\"test\",view=\"devices\"} 1\n"));
	first = strstr(out, "# TYPE bpfscope_unit_snapshot_timestamp_seconds");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE bpfscope_unit_snapshot_timestamp_seconds"));
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_untracked_total counter\n"
				    "bpfscope_unit_untracked_total{view=\"devices\"} 0\n"));
	assert_non_null(strstr(out, "bpfscope_unit_steps_total{device=\"loop0\",view=\"devices\"} 3\n"));
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_paused_seconds_total counter\n"
				    "bpfscope_unit_paused_seconds_total{pid=\"100\",view=\"devices\"} 0.25\n"));
	/* a real histogram: cumulative buckets, the last one +Inf, then sum and count */
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_pause_seconds histogram\n"
				    "bpfscope_unit_pause_seconds_bucket{pid=\"100\",view=\"devices\",le=\"1e-06\"} 0\n"));
	assert_non_null(strstr(out, "bpfscope_unit_pause_seconds_bucket{pid=\"100\",view=\"devices\",le=\"0.004096\"} 2\n"));
	assert_non_null(strstr(out, "bpfscope_unit_pause_seconds_bucket{pid=\"100\",view=\"devices\",le=\"1073.741824\"} 2\n"
				    "bpfscope_unit_pause_seconds_bucket{pid=\"100\",view=\"devices\",le=\"+Inf\"} 3\n"
				    "bpfscope_unit_pause_seconds_sum{pid=\"100\",view=\"devices\"} 0.25\n"
				    "bpfscope_unit_pause_seconds_count{pid=\"100\",view=\"devices\"} 3\n"));
	/* the bar chart is table only */
	assert_null(strstr(out, "bpfscope_unit_pauses"));
	free(out);
	snap_free(sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_interval_mean),
		cmocka_unit_test(test_pause_slots),
		cmocka_unit_test(test_pause_le),
		cmocka_unit_test(test_append_json),
		cmocka_unit_test(test_append_table),
		cmocka_unit_test(test_append_prom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
