// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the pure logic in common/: escaping, rendering, parsers,
 * histogram math, errno names, atomic file replacement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hist.h"
#include "output.h"
#include "util.h"

static char *render(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	fn(m, arg);
	fclose(m);
	return buf;
}

static void do_json_string(FILE *f, void *s) { json_write_string(f, s); }
static void do_prom_label(FILE *f, void *s) { prom_write_label_value(f, s); }

static void test_json_escaping(void **state)
{
	(void)state;
	char *out = render(do_json_string, "a\"b\\c\nd\te\x01" "f\x7f");
	assert_string_equal(out, "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007f\"");
	free(out);
	out = render(do_json_string, "");
	assert_string_equal(out, "\"\"");
	free(out);
	out = render(do_json_string, "caf\xc3\xa9"); /* UTF-8 passes through */
	assert_string_equal(out, "\"caf\xc3\xa9\"");
	free(out);
}

static void test_prom_escaping(void **state)
{
	(void)state;
	char *out = render(do_prom_label, "x\"y\\z\nw");
	assert_string_equal(out, "\"x\\\"y\\\\z\\nw\"");
	free(out);
}

enum { T_ID, T_NAME, T_VAL, T_RATIO, T_LIST, T_N };
static const struct field tf[T_N] = {
	[T_ID] = { "id", "ID", FK_LABEL, FF_ALL, "id", 0, 0 },
	[T_NAME] = { "name", "NAME", FK_LABEL, FF_ALL, "name", 0, 0 },
	[T_VAL] = { "value_total", "VALUE", FK_COUNTER, FF_ALL, "A counter", 0, 0 },
	[T_RATIO] = { "ratio", "RATIO", FK_GAUGE, FF_ALL, "A gauge", 0, 2 },
	[T_LIST] = { "items", "ITEMS", FK_TEXT, FF_JSON | FF_TABLE | FF_LIST, NULL, 0, 0 },
};
static const struct schema ts = { "unit", "rows", tf, T_N, NULL };

static struct snapshot *sample(void)
{
	struct snapshot *sn = snap_begin(&ts);
	snap_meta(sn, "mechanism", "test");
	struct record *r = snap_add(sn);
	rec_u64(r, T_ID, 7);
	rec_str(r, T_NAME, "a\"b");
	rec_u64(r, T_VAL, 18446744073709551615ULL);
	rec_dbl(r, T_RATIO, 0.5);
	rec_list_str(r, T_LIST, "x");
	rec_list_str(r, T_LIST, "y");
	r = snap_add(sn);
	rec_u64(r, T_ID, 8);
	rec_str(r, T_NAME, "second");
	rec_none(r, T_VAL);
	rec_dbl(r, T_RATIO, 1.0 / 3);
	return sn;
}

static void do_snapshot(FILE *f, void *sn) { render_snapshot(f, sn, 1700000000.25); }

static void test_json_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_JSON };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	assert_string_equal(out,
		"{\"ts\":1700000000.250000,\"tool\":\"unit\",\"mechanism\":\"test\",\"rows\":["
		"{\"id\":7,\"name\":\"a\\\"b\",\"value_total\":18446744073709551615,\"ratio\":0.5,\"items\":[\"x\",\"y\"]},"
		"{\"id\":8,\"name\":\"second\",\"value_total\":null,\"ratio\":0.333333,\"items\":[]}]}\n");
	free(out);
	snap_free(sn);
}

static void test_prom_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_value_total counter\n"
				    "bpfscope_unit_value_total{id=\"7\",name=\"a\\\"b\"} 18446744073709551615\n"
				    "# HELP"));
	/* a missing value is no sample at all, never 0 */
	assert_null(strstr(out, "bpfscope_unit_value_total{id=\"8\""));
	assert_non_null(strstr(out, "bpfscope_unit_ratio{id=\"8\",name=\"second\"} 0.333333\n"));
	assert_non_null(strstr(out, "bpfscope_unit_info{version=\"" BPFSCOPE_VERSION "\",mechanism=\"test\"} 1\n"));
	assert_null(strstr(out, "items"));
	free(out);
	snap_free(sn);
}

/* A counter declared without _total gets it in prom only. */
static void test_prom_counter_suffix(void **state)
{
	(void)state;
	static const struct field f[] = {
		{ "dev", "DEV", FK_LABEL, FF_ALL, "Device", 0, 0 },
		{ "packets", "PKTS", FK_COUNTER, FF_ALL, "Packets", 0, 0 },
	};
	static const struct schema sc = { "unit2", "rows", f, 2, NULL };
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = snap_begin(&sc);
	struct record *r = snap_add(sn);
	rec_str(r, 0, "r1");
	rec_u64(r, 1, 42);
	char *out = render(do_snapshot, sn);
	assert_non_null(strstr(out, "# TYPE bpfscope_unit2_packets_total counter\n"
				    "bpfscope_unit2_packets_total{dev=\"r1\"} 42\n"));
	free(out);
	c.format = OUT_JSON;
	out_configure(&c);
	out = render(do_snapshot, sn);
	assert_non_null(strstr(out, "\"packets\":42"));
	free(out);
	snap_free(sn);
}

static void test_table_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_TABLE };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	assert_string_equal(out,
		"# mechanism: test\n"
		"ID  NAME                   VALUE  RATIO  ITEMS\n"
		" 7  a\"b     18446744073709551615   0.50  x,y\n"
		" 8  second                     -   0.33  -\n");
	free(out);
	snap_free(sn);
}

static void test_parsers(void **state)
{
	(void)state;
	uint64_t u;
	double d;
	int pid;
	assert_int_equal(parse_u64("42", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(parse_u64("18446744073709551615", &u), 0);
	assert_int_equal(parse_u64("18446744073709551616", &u), -1);
	assert_int_equal(parse_u64("-1", &u), -1);
	assert_int_equal(parse_u64("4x", &u), -1);
	assert_int_equal(parse_u64("", &u), -1);
	assert_int_equal(parse_double("0.5", 0, 1, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse_double("1.5", 0, 1, &d), -1);
	assert_int_equal(parse_double("nan", 0, 1, &d), -1);
	assert_int_equal(parse_double("inf", 0, 1e9, &d), -1);
	assert_int_equal(parse_pid("1", &pid), 0);
	assert_int_equal(parse_pid("0", &pid), -1);
	assert_int_equal(parse_pid("99999999", &pid), -1);
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

static void test_errno_names(void **state)
{
	(void)state;
	assert_string_equal(errno_name(ENOENT), "ENOENT");
	assert_string_equal(errno_name(-EINVAL), "EINVAL");
	assert_string_equal(errno_name(524), "ENOTSUPP");
	assert_string_equal(errno_name(4095), "E4095");
}

static void test_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/bs-unit.XXXXXX";
	char path[256], buf[64] = {};
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.prom", dir);
	assert_int_equal(write_file_atomic(path, "first\n", 6), 0);
	assert_int_equal(write_file_atomic(path, "second\n", 7), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 7);
	fclose(f);
	assert_string_equal(buf, "second\n");
	snprintf(buf, sizeof(buf), "%s/nodir/x", dir);
	assert_true(write_file_atomic(buf, "x", 1) < 0);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temp files left behind */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_json_snapshot),
		cmocka_unit_test(test_prom_snapshot),
		cmocka_unit_test(test_prom_counter_suffix),
		cmocka_unit_test(test_table_snapshot),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_atomic_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
