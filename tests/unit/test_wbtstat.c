// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* wbtstat's pure helpers (bpf/wbtstat.h) and the output feature it added:
 * snap_append (devices, then processes, in one snapshot). */
#include <setjmp.h>
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

static void test_hz_snap(void **state)
{
	(void)state;
	assert_int_equal(wbt_hz_snap(250.0), 250);
	assert_int_equal(wbt_hz_snap(238.1), 250);   /* a late tick under emulation */
	assert_int_equal(wbt_hz_snap(262.0), 250);
	assert_int_equal(wbt_hz_snap(290.0), 300);   /* 300 and 250 stay apart */
	assert_int_equal(wbt_hz_snap(99.0), 100);
	assert_int_equal(wbt_hz_snap(1012.0), 1000);
	assert_int_equal(wbt_hz_snap(512.4), 512);   /* no known value near: as measured */
	assert_int_equal(wbt_hz_snap(0), 0);
	assert_int_equal(wbt_hz_snap(-4), 0);
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

/* The BPF side's log2 slots of pause lengths are common/hist's. */
static void test_pause_slots(void **state)
{
	(void)state;
	assert_int_equal(hist_log2_slot(4000), 12); /* 1 jiffy at HZ=250 */
	assert_int_equal(hist_slot_low(12), 2048);
	assert_int_equal(hist_slot_high(12), 4095);
	assert_int_equal(hist_log2_slot(200000), 18); /* MAX_PAUSE at any HZ */
	assert_true(hist_log2_slot(60000000) < WBT_PAUSE_SLOTS); /* a minute: never clamped */
}

/* ---- snap_append ---------------------------------------------------- */

enum { A_DEV, A_VAL, A_N };
static const struct field af[A_N] = {
	[A_DEV] = { "device", "DEVICE", FK_LABEL, FF_ALL, "Disk", 0, 0 },
	[A_VAL] = { "steps_total", "STEPS", FK_COUNTER, FF_ALL, "Steps", 0, 0 },
};
static const struct schema as = { "unit", "devices", af, A_N, NULL };

enum { P_PID, P_PAUSED, P_N };
static const struct field pf[P_N] = {
	[P_PID] = { "pid", "PID", FK_LABEL, FF_ALL, "Process", 0, 0 },
	[P_PAUSED] = { "paused_seconds_total", "PAUSED(ms)", FK_COUNTER, FF_ALL, "Paused", 0.001, 0 },
};
static const struct schema ps = { "unit", "processes", pf, P_N, NULL };

static struct snapshot *two_kinds(int nproc)
{
	struct snapshot *sn = snap_begin(&as), *p = snap_begin(&ps);
	snap_meta(sn, "mechanism", "test");
	struct record *r = snap_add(sn);
	rec_str(r, A_DEV, "loop0");
	rec_u64(r, A_VAL, 3);
	for (int i = 0; i < nproc; i++) {
		r = snap_add(p);
		rec_u64(r, P_PID, 100 + i);
		rec_dbl(r, P_PAUSED, 0.25);
	}
	snap_append(sn, p);
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
	assert_string_equal(out,
		"{\"ts\":1700000000.500000,\"tool\":\"unit\",\"mechanism\":\"test\","
		"\"devices\":[{\"device\":\"loop0\",\"steps_total\":3}],"
		"\"processes\":[{\"pid\":100,\"paused_seconds_total\":0.25}]}\n");
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
		"DEVICE  STEPS\n"
		"loop0       3\n"
		"\n"
		"PID  PAUSED(ms)\n"
		"100         250\n"
		"101         250\n");
	free(out);
	snap_free(sn);
	sn = two_kinds(0); /* an empty kind is left out of the table (meta lines print once) */
	out = render_to_string(sn);
	assert_string_equal(out, "DEVICE  STEPS\nloop0       3\n");
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
	first = strstr(out, "# TYPE bpfscope_unit_snapshot_timestamp_seconds");
	assert_non_null(first);
	assert_null(strstr(first + 1, "# TYPE bpfscope_unit_snapshot_timestamp_seconds"));
	assert_non_null(strstr(out, "bpfscope_unit_steps_total{device=\"loop0\"} 3\n"));
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_paused_seconds_total counter\n"
				    "bpfscope_unit_paused_seconds_total{pid=\"100\"} 0.25\n"));
	free(out);
	snap_free(sn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hz_snap),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_interval_mean),
		cmocka_unit_test(test_pause_slots),
		cmocka_unit_test(test_append_json),
		cmocka_unit_test(test_append_table),
		cmocka_unit_test(test_append_prom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
